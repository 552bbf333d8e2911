"""Custom optax optimizers in the validation runner: ``OptimizerSpec.custom``, the step check on
the run (``RunResult.step_check``, ``run_violations``) and ``runner.trajectory``.

The step check is judged by its tolerance (``STEP_NORM_REL``, ``SGD_STEP_REL``) on optimizers
that take the claimed step exactly, and against negative controls that do not (Adam; another φ).
"""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

import lamb_ref
import theory
from experiments.validation import runner
from experiments.validation.optimizers import (
    CLAIMS,
    SGD_STEP_REL,
    STEP_NORM_REL,
    OptimizerSpec,
    for_theorem,
    run_violations,
    with_decay,
)
from experiments.validation.spec import InstanceSpec, build
from tests.tolerances import RUNNER_GOLDEN_REL

PHI = (0.25, 4.0)
T, ETAS, SEEDS = 16, [0.05, 0.2], 3


def _spec(**over) -> InstanceSpec:
    fields = {
        "family": "separable_cosine",
        "layer_sizes": (3, 3),
        "L": (1.0, 5.0),
        "sigma": (0.2, 0.1),
        "noise": "gaussian",
        "x1_scale": 1.0,
        "seed": 0,
        "phi": PHI,
        "beta2": 0.5,
        "name": "custom",
    }
    return InstanceSpec(**{**fields, **over})


BUILT = build(_spec())
KEY = jax.random.key(7)


def _run(opt: OptimizerSpec, etas=ETAS, **kw) -> runner.RunResult:
    return runner.simulate(BUILT, opt, T, T, etas, SEEDS, KEY, **kw)


def _rel(got, want) -> float:
    got, want = np.asarray(got, np.float64), np.asarray(want, np.float64)
    return float(np.max(np.abs(got - want) / np.maximum(np.abs(want), 1e-300)))


# Module-level factories: the callable identifies the compiled program, so each test reuses one.
def lars_make(lr):
    return lamb_ref.lars(lr, momentum=0.0, phi=PHI)


def _layerwise(phi_fn, direction):
    """x^(i) ← x^(i) − η φ(‖x^(i)‖) d^(i)/‖d^(i)‖ with d = direction(g): a per-layer normalised
    step written with optax's types only (constant η)."""

    def make(lr):
        def update(grads, state, params):
            def leaf(g, x):
                d = direction(g)
                return -lr * phi_fn(jnp.linalg.norm(x)) * d / jnp.linalg.norm(d)

            return jax.tree.map(leaf, grads, params), state

        return optax.GradientTransformation(lambda params: optax.EmptyState(), update)

    return make


# LAMB with β1 = β2 = ε = 0 normalises sign(g) per layer; φ as declared, and another φ.
sign_clip = _layerwise(lambda z: jnp.clip(z, *PHI), jnp.sign)
sign_sqrt = _layerwise(lambda z: jnp.clip(jnp.sqrt(z), *PHI), jnp.sign)
sign_wide = _layerwise(lambda z: 3 * PHI[1] + 0 * z, jnp.sign)


def test_claims_are_the_theorems():
    assert CLAIMS == tuple(theory.THEOREMS)


def test_custom_lars_equals_the_builtin_and_passes_its_step_check():
    """lamb_ref.lars wrapped as a custom optimizer runs the built-in's program to 1e-12; its
    steps have norm η·φ(‖x‖) to STEP_NORM_REL; the built-in records no step check."""
    custom = OptimizerSpec.custom("my lars", lars_make, claims="lars", settings={"phi": PHI})
    builtin = for_theorem("lars", PHI, 0.5)
    got, want = _run(custom), _run(builtin)
    for name in want.mean:
        if name == "trust_ratio":  # a custom optimizer's state is opaque: unknown
            assert np.all(np.isnan(got.mean[name]))
            continue
        assert _rel(got.mean[name], want.mean[name]) <= RUNNER_GOLDEN_REL, name
    assert _rel(got.final_f, want.final_f) <= RUNNER_GOLDEN_REL
    assert want.step_check is None
    assert got.step_check.shape == (len(ETAS), SEEDS, 2)
    assert np.max(got.step_check) <= STEP_NORM_REL
    assert got.layer_names == ("layer_00", "layer_01")
    assert run_violations(custom, got, "lars") == []
    assert run_violations(custom, got, "sgd") == ["claims lars, validated against sgd"]
    assert custom.label == "my lars" and custom.name == "custom"


def test_layerwise_optimizer_with_phi_inside_the_bounds_passes_and_outside_fails():
    """A LAMB-style step (sign(g) normalised per layer) claiming lars passes the norm check with
    any φ inside the declared [α_l, α_u] (the proofs use only those bounds): clip(z) and
    clip(√z) both pass. The control, φ ≡ 3α_u, moves every layer 3× too far and fails on every
    layer (the check reads the step's norm, not its direction)."""
    for make in (sign_clip, sign_sqrt):
        good = OptimizerSpec.custom("sign", make, claims="lars", settings={"phi": PHI})
        res = _run(good)
        assert np.max(res.step_check) <= STEP_NORM_REL
        assert run_violations(good, res, "lars") == []

    bad = OptimizerSpec.custom("sign wide", sign_wide, claims="lars", settings={"phi": PHI})
    res = _run(bad)
    # ‖u‖ = 3ηα_u: (3ηα_u − ηα_u)/(ηα_l) = 2α_u/α_l
    assert np.allclose(res.step_check, 2 * PHI[1] / PHI[0], rtol=1e-12)
    (line,) = run_violations(bad, res, "lars")
    assert line.startswith("step norm outside [ηα_l, ηα_u]: layer_00 deviates by up to")
    assert "layer_01" in line


def test_adam_claiming_lars_fails_its_step_check():
    """Negative control: Adam's step is not normalised per layer. Declared as LARS with φ ≡ 1
    (α_l = α_u = 1), its steps are near-sign per coordinate, of norm about η√d_i = 1.7η on these
    3-coordinate layers, outside [η, η]. (With the wide PHI bounds, 0.25η ≤ 1.7η ≤ 4η: the norm
    check cannot see a step's direction, which is declared, not measured.)"""
    adam = OptimizerSpec.custom("adam", optax.adam, claims="lars", settings={"phi": (1.0, 1.0)})
    res = _run(adam)
    assert np.all(np.max(res.step_check, axis=(0, 1)) > 0.01)
    (line,) = run_violations(adam, res, "lars")
    assert "layer_00 deviates by up to" in line and "layer_01 deviates by up to" in line
    assert line.endswith("%")


def test_sgd_claiming_sgd_passes_and_no_claim_checks_nothing():
    sgd = OptimizerSpec.custom("optax sgd", optax.sgd, claims="sgd")
    res = _run(sgd)
    assert np.max(res.step_check) <= SGD_STEP_REL
    assert run_violations(sgd, res, "sgd") == []
    # the control: SGD with momentum is not -η g after the first step
    heavy = OptimizerSpec.custom("heavy", lambda lr: optax.sgd(lr, momentum=0.9), claims="sgd")
    (line,) = run_violations(heavy, _run(heavy), "sgd")
    assert line.startswith("step ≠ −η g: layer_00 deviates by up to")

    plain = OptimizerSpec.custom("optax sgd", optax.sgd)
    res = _run(plain)
    assert res.step_check is None
    assert run_violations(plain, res, "sgd") == []
    assert run_violations(plain, res, "lars") == []


def test_a_decaying_step_is_checked_against_eta_t():
    """With with_decay the runner passes make a schedule, and checks every step against η_t."""
    sgd = with_decay(OptimizerSpec.custom("optax sgd", optax.sgd, claims="sgd"), 1.0)
    res = _run(sgd)
    assert np.max(res.step_check) <= SGD_STEP_REL
    assert sgd.make is optax.sgd and sgd.label == "optax sgd"


def test_settings_are_the_declared_ones():
    """A claim declares its theorem's settings unless overridden; undeclared ones of an
    optimizer without a claim are unknown (NaN), so no assumption on them holds."""
    lars = OptimizerSpec.custom("l", lars_make, claims="lars", settings={"phi": [0.5, 2]})
    s = lars.settings(0.1, 8, [3, 3])
    want = {"beta1": 0.0, "beta2": 0.0, "eps": 0.0, "weight_decay": 0.0, "phi": (0.5, 2.0)}
    assert {k: s[k] for k in want} == want
    assert s["optimizer"] == "custom" and s["claims"] == "lars" and s["eta"] == 0.1
    over = OptimizerSpec.custom("l", lars_make, claims="lars", settings={"phi": PHI, "beta1": 0.9})
    assert over.settings(0.1, 8, [3, 3])["beta1"] == 0.9
    pos = OptimizerSpec.custom("p", lars_make, claims="lamb_beta2_pos",
                               settings={"phi": PHI, "beta2": 0.9})  # fmt: skip
    assert pos.settings(0.1, 8, [3, 3])["beta2"] == 0.9
    none = OptimizerSpec.custom("n", optax.adam).settings(0.1, 8, [3, 3])
    assert all(math.isnan(none[k]) for k in ("beta1", "beta2", "eps", "weight_decay"))
    assert none["phi"] is None and none["claims"] is None
    # the assumption checker reads them: β1 = 0 holds as declared, fails when unknown
    (beta1,) = [a for a in theory.THEOREMS["lars"].assumptions if a.name == "beta1 = 0"]
    assert beta1.check({"settings": s}) and not beta1.check({"settings": none})


def test_one_compiled_program_per_custom_optimizer():
    """The same make reuses its program (other φ, other settings); another make compiles its
    own, even with equal settings."""
    runner.clear_cache()
    a = OptimizerSpec.custom("a", sign_clip, claims="lars", settings={"phi": PHI})
    a2 = OptimizerSpec.custom("a again", sign_clip, claims="lars", settings={"phi": (0.5, 2.0)})
    assert a.structure == a2.structure
    _run(a)
    _run(a2)
    assert len(runner._COMPILED) == 1
    (fn,) = [entry[1] for entry in runner._COMPILED.values()]
    assert fn._cache_size() == 1
    b = OptimizerSpec.custom("b", sign_sqrt, claims="lars", settings={"phi": PHI})
    assert b.structure != a.structure
    _run(b)
    assert len(runner._COMPILED) == 2


def test_trajectory_is_seed_zero_of_simulate():
    """f along trajectory's iterates equals the traced f of seed 0 (to RUNNER_GOLDEN_REL), and
    its last iterate advanced once more is the run's x_{T+1}; the control: another key differs."""
    opt = for_theorem("lars", PHI, 0.5)
    n = 12
    xs = runner.trajectory(BUILT, opt, 0.2, 4, n, KEY)
    res = runner.simulate(BUILT, opt, n, 4, [0.2], 2, KEY, trace_every=1)
    assert len(xs) == n and xs[0].keys() == BUILT.x1.keys()
    assert all(v.dtype == np.float64 for v in xs[-1].values())
    for k in BUILT.x1:
        assert np.array_equal(xs[0][k], np.asarray(BUILT.x1[k]))
    obj = BUILT.objective
    with jax.enable_x64(True):
        f = [float(obj.value_fn(obj.params, x)) for x in xs]
        longer = runner.trajectory(BUILT, opt, 0.2, 4, n + 1, KEY, T=n)
        final = float(obj.value_fn(obj.params, longer[-1]))
    assert _rel(f, res.trace["f"][0, 0]) <= RUNNER_GOLDEN_REL
    assert _rel(final, res.final_f[0, 0]) <= RUNNER_GOLDEN_REL
    other = runner.trajectory(BUILT, opt, 0.2, 4, n, jax.random.key(8))
    assert not np.allclose(other[-1]["layer_00"], xs[-1]["layer_00"])


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"claims": "adam"}, r"claims='adam' is invalid: expected None or one of \['sgd'"),
        ({"make": 3}, r"make=3 is invalid: expected a callable"),
        ({"settings": {"phi": (2.0, 1.0)}}, r"settings\['phi'\]=\(2.0, 1.0\) is invalid: .*0 < "),
        ({"settings": {"beta1": 1.0}}, r"settings\['beta1'\]=1.0 is invalid: .*\[0, 1\)"),
        ({"settings": {"momentum": 0.9}}, r"settings=\['momentum'\] are invalid: expected some"),
        ({"claims": "lars", "settings": {}}, r"settings\['phi'\] is missing: claims='lars'"),
        ({"claims": "lamb_beta2_pos", "settings": {"phi": PHI}}, r"settings\['beta2'\] is miss"),
        ({"name": ""}, r"name='' is invalid"),
    ],
)
def test_bad_inputs_fail_with_one_clear_error(kwargs, match):
    args = {"name": "x", "make": optax.sgd} | kwargs
    name, make = args.pop("name"), args.pop("make")
    with pytest.raises(ValueError, match=match):
        OptimizerSpec.custom(name, make, **args)


def test_builtins_refuse_custom_fields_and_run_violations_refuses_unknown_theorems():
    with pytest.raises(ValueError, match=r"only OptimizerSpec.custom sets them"):
        OptimizerSpec("sgd", make=optax.sgd)
    with pytest.raises(ValueError, match=r"optimizer='custom'|name=None"):
        OptimizerSpec("custom")
    sgd = OptimizerSpec.custom("s", optax.sgd, claims="sgd")
    with pytest.raises(ValueError, match=r"theorem='lamb' is invalid"):
        run_violations(sgd, None, "lamb")
