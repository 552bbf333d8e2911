"""The validation machinery: specs, the runner's exact x_a average, hypotheses, rows, CLI, cache.

Independent checks: a plain NumPy loop with the NumPy reference optimizers (lamb_ref.reference)
reproduces the runner's averages when there is no noise; theory's own lhs functions reproduce
the runner's per-iterate measures; power laws have known log-log slopes.
"""

from __future__ import annotations

import json
import math

import jax
import numpy as np
import pytest

import theory
from experiments.__main__ import main as cli
from experiments.cache import Cache
from experiments.validation import hypotheses, stats
from experiments.validation.optimizers import for_theorem
from experiments.validation.runner import simulate, simulate_many
from experiments.validation.spec import InstanceSpec, build
from experiments.validation.validate import COLUMNS, validate
from lamb_ref import reference
from tests.tolerances import BACKENDS_F64_ABS

THEOREMS = ("sgd", "lars", "lamb_beta2_zero", "lamb_beta2_pos")


def spec(**overrides) -> InstanceSpec:
    fields = dict(
        family="separable_cosine",
        layer_sizes=(3, 3),
        L=(1.0, 4.0),
        sigma=(0.3, 0.6),
        noise="rademacher",
        x1_scale=1.5,
        seed=3,
        phi=(0.5, 2.0),
        beta2=0.9,
        name="unit",
    )
    fields.update(overrides)
    return InstanceSpec(**fields)


# -- the runner against an independent NumPy loop ---------------------------------------------


def _numpy_reference_run(b, theorem, T, eta):
    """x_{t+1} = x_t + update(∇f(x_t)) with lamb_ref.reference, σ = 0: mean_t of the lhs."""
    p = dict(b.spec.to_dict())
    phi = tuple(p["phi"])
    opt = {
        "sgd": lambda: reference.sgd(eta),
        "lars": lambda: reference.lars(eta, momentum=0.0, phi=phi),
        "lamb_beta2_zero": lambda: reference.lamb(eta, 0.0, 0.0, 0.0, 0.0, phi=phi),
        "lamb_beta2_pos": lambda: reference.lamb(eta, 0.0, b.spec.beta2, 0.0, 0.0, phi=phi),
    }[theorem]()
    x = {k: np.asarray(v) for k, v in b.x1.items()}
    state = opt.init(x)
    L = np.asarray(b.objective.L)
    vals = []
    for _ in range(T):
        grad = {k: L[i] * np.sin(x[k]) for i, k in enumerate(sorted(x))}  # separable cosine
        gs = [grad[k] for k in sorted(grad)]
        vals.append(theory.THEOREMS[theorem].lhs(gs))
        upd, state = opt.update(grad, state, x)
        x = reference.apply_updates(x, upd)
    return float(np.mean(vals))


@pytest.mark.parametrize("theorem", THEOREMS)
def test_runner_average_matches_numpy_reference_loop(theorem):
    b = build(spec(noise="none", sigma=None))
    T, eta = 9, 0.07
    opt = for_theorem(theorem, b.spec.phi, b.spec.beta2)
    res = simulate(b, opt, T, T, [eta], 2, jax.random.key(0))
    key = {"sgd": "grad_sq", "lars": "layer_sum_norm"}.get(theorem, None)
    if key is None:
        key = "l1_over_sqrt_d" if theorem == "lamb_beta2_zero" else "grad_sq"
    want = _numpy_reference_run(b, theorem, T, eta)
    got = res.mean[key][0]
    np.testing.assert_allclose(got, want, rtol=0, atol=BACKENDS_F64_ABS)


def test_grouped_runs_equal_separate_runs():
    """Short runs frozen inside a longer scan give exactly the arrays of their own scan."""
    b = build(spec())
    opt = for_theorem("lamb_beta2_pos", b.spec.phi, b.spec.beta2)
    keys = [jax.random.key(1), jax.random.key(2)]
    together = simulate_many(b, opt, [3, 11], [3, 11], [[0.1], [0.05]], 4, keys)
    for k, (T, eta) in enumerate([(3, 0.1), (11, 0.05)]):
        alone = simulate(b, opt, T, T, [eta], 4, keys[k])
        for name in alone.mean:
            np.testing.assert_array_equal(together[k].mean[name], alone.mean[name])
        np.testing.assert_array_equal(together[k].final_f, alone.final_f)


def test_runner_measures_equal_theory_lhs_at_x1():
    """With T = 1 the average is the lhs at x_1 alone (x_2 is not included)."""
    b = build(spec())
    grads = [np.asarray(g) for _, g in sorted(b.objective.grad(b.x1).items())]
    for theorem, key in [("sgd", "grad_sq"), ("lars", "layer_sum_norm")]:
        opt = for_theorem(theorem, b.spec.phi, b.spec.beta2)
        res = simulate(b, opt, 1, 1, [0.3], 3, jax.random.key(0))
        want = theory.THEOREMS[theorem].lhs(grads)
        np.testing.assert_allclose(res.mean[key][0], want, rtol=1e-14)
    res = simulate(b, for_theorem("lamb_beta2_zero", b.spec.phi, 0.9), 1, 1, [0.3], 1,
                   jax.random.key(0))  # fmt: skip
    want = theory.THEOREMS["lamb_beta2_zero"].lhs(grads)
    np.testing.assert_allclose(res.mean["l1_over_sqrt_d"][0], want, rtol=1e-14)


def test_trust_ratio_recorded_is_the_one_used():
    """LARS with β1 = 0: ‖update_i‖ = η·ratio_i·‖g_i‖; with φ ≡ c the ratio is c/‖g_i‖."""
    b = build(spec(phi=(0.7, 0.7), noise="none", sigma=None))
    opt = for_theorem("lars", b.spec.phi, 0.9)
    res = simulate(b, opt, 1, 1, [0.1], 1, jax.random.key(0))
    norms = np.array([np.linalg.norm(g) for _, g in sorted(b.objective.grad(b.x1).items())])
    np.testing.assert_allclose(res.mean["trust_ratio"][0, 0], 0.7 / norms, rtol=1e-14)


def test_same_spec_same_table(tmp_path):
    rows = [validate(build(spec()), "lars", [4, 8], 4) for _ in range(2)]
    cols = list(COLUMNS)
    assert rows[0][cols].equals(rows[1][cols])


# -- hypotheses ---------------------------------------------------------------------------


@pytest.mark.parametrize("theorem", THEOREMS)
def test_prescribed_runs_are_in_hypothesis(theorem):
    df = validate(build(spec()), theorem, [4], 4)
    assert df["in_hypothesis"].all(), df["failed_assumptions"].tolist()
    assert df["holds"].all()


def test_runs_outside_the_hypotheses_are_flagged():
    b = build(spec())
    assert not validate(b, "lars", [4], 2, eta=0.5)["in_hypothesis"].any()  # η not prescribed
    assert not validate(b, "sgd", [4], 2, batch_size=2)["in_hypothesis"].any()  # b ≠ T
    gauss = build(spec(noise="gaussian"))
    row = validate(gauss, "lamb_beta2_pos", [4], 2).iloc[0]
    assert not row["in_hypothesis"] and math.isnan(row["bound"]) and row["holds"] is None
    uneven = build(spec(layer_sizes=(2, 3), sigma=(0.3, 0.6)))
    assert not validate(uneven, "lamb_beta2_zero", [4], 2)["in_hypothesis"].any()
    assert validate(uneven, "lars", [4], 2)["in_hypothesis"].all()  # LARS allows any d_i
    opt = for_theorem("lars", b.spec.phi, 0.9)
    ok, failed = hypotheses.check("sgd", b, opt, 1.0, 4, 4)
    assert not ok and "not the analysed algorithm" in failed[0]


def test_gradient_bound_G():
    b = build(spec())
    # separable cosine: |∂f| ≤ L_i; Rademacher: |ξ_j| ≤ σ̃_j = σ_i/√d_i
    want = max(1.0 + 0.3 / math.sqrt(3), 4.0 + 0.6 / math.sqrt(3))
    assert hypotheses.gradient_bound(b) == pytest.approx(want, rel=1e-14)
    assert hypotheses.gradient_bound(build(spec(noise="gaussian"))) is None


# -- statistics -----------------------------------------------------------------------------


def test_loglog_slope_and_bootstrap():
    T = np.array([8, 16, 32, 64, 128, 256])
    assert stats.loglog_slope(T, 3.0 / T) == pytest.approx(-1.0, abs=1e-12)
    assert stats.loglog_slope(T, 2.0 / np.sqrt(T)) == pytest.approx(-0.5, abs=1e-12)
    x = np.random.default_rng(0).normal(1.0, 0.1, size=64)
    lo, hi = stats.bootstrap_ci(x, True, seed=1)
    assert lo <= stats.criterion(x, True) <= hi
    assert stats.bootstrap_ci(x, False, 1) == stats.bootstrap_ci(x, False, 1)
    assert all(math.isnan(v) for v in stats.bootstrap_ci(x[:1], False, 1))


# -- specs and errors ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("overrides", "name"),
    [
        ({"family": "nope"}, "family"),
        ({"L": (1.0, -2.0)}, "L"),
        ({"L": (1.0,)}, "L"),
        ({"sigma": (0.1, -0.1)}, "sigma"),
        ({"layer_sizes": (3, 0)}, "layer_sizes"),
        ({"x1_scale": None, "x1": ((0.1, 0.2, 0.3), (0.1, 0.2))}, "x1[1]"),
        ({"x1": ((0.1, 0.2, 0.3), (0.1, 0.2, 0.3))}, "x1"),
        ({"phi": (0.0, 1.0)}, "phi"),
        ({"phi": (2.0, 1.0)}, "phi"),
        ({"noise": "laplace"}, "noise"),
        ({"beta2": 1.0}, "beta2"),
        ({"sigma": None}, "sigma"),
    ],
)
def test_bad_instances_are_refused(overrides, name):
    with pytest.raises(ValueError, match=name.replace("[", r"\[").replace("]", r"\]")):
        spec(**overrides)


def test_bad_run_arguments_are_refused():
    b = build(spec())
    with pytest.raises(ValueError, match="T="):
        validate(b, "sgd", [0], 2)
    with pytest.raises(ValueError, match="seeds="):
        validate(b, "sgd", [4], 0)
    with pytest.raises(ValueError, match="theorem="):
        validate(b, "adam", [4], 2)
    with pytest.raises(ValueError, match="phi=None"):
        for_theorem("lars", None, 0.9)
    with pytest.raises(ValueError, match="etas="):
        simulate(b, for_theorem("sgd", None, 0.9), 4, 4, [-1.0], 2, jax.random.key(0))
    with pytest.raises(ValueError, match="f\\(x1\\) - f\\*"):
        validate(build(spec(x1=((0.0,) * 3, (0.0,) * 3), x1_scale=None)), "sgd", [4], 2)


def test_json_schema_roundtrip_and_unknown_keys():
    s = spec(options=(("coupling", 0.3),), family="chain_cosine")
    again = InstanceSpec.from_dict(json.loads(json.dumps(s.to_dict())))
    assert again == s and again.spec_hash == s.spec_hash
    with pytest.raises(ValueError, match="allowed keys"):
        InstanceSpec.from_dict({**s.to_dict(), "sigmas": [1, 2]})


# -- CLI and cache ---------------------------------------------------------------------------


def test_cli_validate_writes_csv_and_resumes(tmp_path, capsys):
    inst = tmp_path / "inst.json"
    inst.write_text(json.dumps({k: v for k, v in spec().to_dict().items() if v is not None}))
    out = tmp_path / "out"
    args = ["validate", "--instance", str(inst), "--theorem", "lars", "--T", "4,8",
            "--seeds", "3", "--out", str(out)]  # fmt: skip
    assert cli(args) == 0
    import pandas as pd

    first = pd.read_csv(out / "theorem_validation.csv")
    assert set(COLUMNS) <= set(first.columns) and len(first) == 2
    assert first["in_hypothesis"].all() and first["holds"].all()
    cached = sorted((out / "cache").glob("*.json"))
    assert len(cached) == 2
    cached[0].unlink()  # an interrupted sweep: one unit missing
    cache = Cache(out / "cache")
    again = validate(build(spec()), "lars", [4, 8], 3, cache=cache)
    assert cache.hits == 1 and cache.misses == 1
    np.testing.assert_array_equal(again["measure"], first["measure"])
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"family": "separable_cosine", "layer_sizes": [2], "L": [-1]}))
    capsys.readouterr()  # the first run's progress lines
    with pytest.raises(SystemExit) as exit_info:
        cli(["validate", "--instance", str(bad), "--theorem", "sgd", "--out", str(out)])
    assert exit_info.value.code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "L[0]=-1" in err[0]
