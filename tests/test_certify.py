"""The sampled certifier (``experiments.validation.certify``): it passes every built-in family
with its own (proven) constants and rejects them divided by 3 (the negative control), checks a
run's consecutive iterates, the gradient bound and f*, and its verdicts reach the rows through
``hypotheses``."""

from __future__ import annotations

import dataclasses

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from experiments.validation import hypotheses
from experiments.validation.certify import CERTIFY_REL, Certificate, certify
from experiments.validation.objectives import make_objective
from experiments.validation.spec import InstanceSpec, build

BUILTINS = [  # (family, layer sizes, L, options): the proven families
    ("separable_cosine", (3, 5, 2), (1.0, 2.5, 0.3), {}),
    ("separable_geman_mcclure", (3, 5, 2), (1.0, 2.5, 0.3), {}),
    ("chain_cosine", (4, 4, 4), (2.0, 1.0, 3.0), {"coupling": 0.5}),
    ("coupled_cosine", (6, 6), (0.5, 4.0), {"m": 8}),
    ("noisy_quadratic", (3, 5, 2), (1.0, 2.5, 0.3), {"condition": 10.0}),
]
CHECKS = ("block_descent_pairs", "block_hessian", "gradient_bound", "f_star")


def _divided(obj, factor):
    return dataclasses.replace(obj, L=tuple(v / factor for v in obj.L))


@pytest.mark.parametrize("family,sizes,L,opts", BUILTINS, ids=[c[0] for c in BUILTINS])
def test_builtin_constants_pass_and_a_third_of_them_fails(family, sizes, L, opts):
    obj = make_objective(family, sizes, L, seed=1, **opts)
    cert = certify(obj)
    assert isinstance(cert, Certificate)
    assert cert.ok, cert.failed()
    names = [c.name for c in cert.checks]
    assert names == [n for n in CHECKS if n != "gradient_bound" or obj.grad_bound is not None]
    # the exact constants are attained (separable, NQM) or nearly so (coupled): the sampled
    # factor is close to 1 from below, so the check is sharp, not vacuous
    kappa = cert.check("block_descent_pairs").needed
    assert 0.9 <= kappa <= 1 + CERTIFY_REL
    assert np.all(np.asarray(cert.check("block_hessian").needed) <= np.asarray(L) * 1.000001)

    control = certify(_divided(obj, 3.0))
    assert not control.ok
    failed = {c.name for c in control.checks if not c.ok}
    assert {"block_descent_pairs", "block_hessian"} <= failed
    assert control.check("block_descent_pairs").needed > 2.5
    lines = control.failed()
    assert len(lines) == len(failed)
    assert lines[0].startswith("block descent fails: needs ")
    assert "× L (max over 384 pairs and 0 iterate pairs" in lines[0]
    assert any(ln.startswith("block Hessian exceeds L: layer_00 needs ≥ ") for ln in lines)


def test_iterate_pairs_gradient_bound_and_f_star_are_checked():
    obj = make_objective("separable_cosine", (4, 4), (1.0, 2.0))
    # a short gradient-descent trajectory, as a sequence of points and as stacked arrays
    x = {n: jnp.full((4,), 0.3 * (i + 1)) for i, n in enumerate(obj.layer_names)}
    traj = [x]
    for _ in range(5):
        g = obj.grad(traj[-1])
        traj.append({n: traj[-1][n] - 0.4 * g[n] for n in obj.layer_names})
    stacked = {n: jnp.stack([p[n] for p in traj]) for n in obj.layer_names}
    for its in (traj, stacked):
        cert = certify(obj, x1=x, iterates=its, n_pairs=8, n_points=2)
        assert cert.ok and cert.samples["iterate_pairs"] == 5, cert.failed()
        assert "and 5 iterate pairs" in cert.check("block_descent_pairs").detail
    # the trajectory alone can refute a constant the random pairs do not reach: L/3 fails on
    # the iterate pairs too (single scale far out where the random pairs see little curvature)
    far = certify(_divided(obj, 3.0), iterates=traj, n_pairs=1, n_points=0, scales=(1e3,))
    assert "iterates" in far.check("block_descent_pairs").detail
    assert not far.check("block_descent_pairs").ok

    wrong = dataclasses.replace(obj, grad_bound=(0.5, 2.0), f_star=0.25)
    bad = certify(wrong, n_pairs=4, n_points=2)
    assert [c.name for c in bad.checks if not c.ok] == ["gradient_bound", "f_star"]
    g_line, f_line = bad.failed()
    assert g_line.startswith("gradient bound exceeded: layer_00 needs ≥ ")
    assert "(grad_bound = 0.5)" in g_line and "layer_01" not in g_line
    assert f_line.startswith("f_star is not a lower bound: f = 0 < f_star = 0.25")


@pytest.mark.parametrize(
    "kwargs,match",
    [
        ({"n_pairs": 0}, "n_pairs=0 is invalid"),
        ({"lanczos_steps": 1.5}, "lanczos_steps=1.5 is invalid"),
        ({"scales": ()}, r"scales=\(\) is invalid"),
        ({"scales": (1.0, -1.0)}, r"scales\[1\]=-1.0 is invalid"),
        ({"x1": {"other": [0.0]}}, "x1=.* is invalid: expected a dict with the layers"),
        ({"iterates": [{"layer_00": np.zeros(3)}]}, r"iterates\[0\]\['layer_00'\]=.*shape"),
    ],
)
def test_bad_arguments_give_one_line(kwargs, match):
    obj = make_objective("separable_cosine", (2,), (1.0,))
    with pytest.raises(ValueError, match=match) as err:
        certify(obj, **kwargs)
    assert "\n" not in str(err.value)
    with pytest.raises(ValueError, match=r"objective=.* is invalid"):
        certify("separable_cosine")


def test_hypotheses_run_the_certifier_only_for_unproven_constants(monkeypatch):
    spec = InstanceSpec(
        family="separable_cosine", layer_sizes=(2, 2), L=(1.0, 2.0), sigma=(0.1, 0.1),
        x1_scale=1.0, phi=(0.5, 2.0),
    )  # fmt: skip
    built = build(spec)

    def refuse(*args, **kwargs):
        raise AssertionError("the certifier ran on proven constants")

    monkeypatch.setattr(hypotheses, "certify", refuse)
    assert hypotheses.certificate_failures(built) == []
    assert hypotheses.name_certificate_checks(built, ["smoothness_certified"]) == [
        "smoothness_certified"
    ]
    monkeypatch.undo()
    # asked explicitly, the certificate is computed once per built instance, around its x_1
    first = hypotheses.certificate(built)
    assert first.ok and hypotheses.certificate(built) is first
    with jax.enable_x64(True):
        x = jax.tree.map(jnp.asarray, built.x1)
    assert hypotheses.certificate(built, iterates=[x, x]).samples["iterate_pairs"] == 1
