"""theory: every proof step verifies, the checker has teeth, bounds evaluate consistently and
export, assumptions are checkable on instances."""

from __future__ import annotations

import json

import numpy as np
import pytest
import sympy as sp
from hypothesis import given, settings
from hypothesis import strategies as st

from theory import THEOREMS, symbols
from theory.lemmas import LEMMAS
from theory.steps import Step, positive_sampler, verify

REQUIRED = ("sgd", "lars", "lamb_beta2_zero", "lamb_beta2_pos")
INSTANCE = dict(
    f_gap=1.5,
    L=[1.0, 2.0, 3.0, 10.0],
    sigma=[0.1, 0.2, 0.3, 0.4],
    sigma_coord=[0.05] * 8,
    G=2.0,
    d=8,
    h=4,
    T=100,
    alpha_l=0.5,
    alpha_u=2.0,
    beta2=0.9,
)
# sympy at 30 digits vs lambdified float64 of a closed form of a dozen operations
EVAL_REL = 1e-12


def test_required_theorems_present():
    missing = [k for k in REQUIRED if k not in THEOREMS]
    assert not missing, f"theorems not yet implemented: {missing}"


@pytest.mark.parametrize("key", sorted(THEOREMS))
def test_every_step_verifies(key):
    results = THEOREMS[key].verify(samples=500)
    assert results, f"{key} has no proof steps"
    failed = [(s.name, v.detail) for s, v in results if not v.ok]
    assert not failed
    assert all(v.method in {"sympy-identity", "sympy-sign", "numeric-search"} for _, v in results)


@pytest.mark.parametrize("name", sorted(LEMMAS))
def test_lemmas_verify(name):
    assert verify(LEMMAS[name], samples=500).ok


def test_checker_rejects_false_steps():
    x, y = sp.symbols("x y", positive=True)
    assert not verify(Step("false identity", x + y, x * y, "=", "wrong")).ok
    assert not verify(Step("false inequality", x + y, 2 * sp.sqrt(x * y) / 3, "<=", "wrong")).ok
    assert verify(Step("AM-GM", 2 * sp.sqrt(x * y), x + y, "<=", "AM-GM")).ok


def test_checker_rejects_a_too_strong_vector_lemma():
    """The normalisation-bias lemma fails with constant 1/2 instead of 2: the search finds it."""
    from theory.lemmas import _normalisation_bias_instance

    def halved(rng):
        lhs, rhs = _normalisation_bias_instance(rng)
        return lhs, rhs / 4

    res = verify(Step("too strong", sp.Symbol("l"), sp.Symbol("r"), "<=", "false", numeric=halved))
    assert res.status == "failed" and "counterexample" in res.detail


@pytest.mark.parametrize("key", sorted(THEOREMS))
def test_evaluate_agrees_with_sympy(key):
    t = THEOREMS[key]
    fast, exact = t.evaluate(**INSTANCE), t.evaluate_sympy(**INSTANCE)
    assert np.isfinite(fast) and fast > 0
    assert abs(fast - exact) <= EVAL_REL * abs(exact)


@given(
    f_gap=st.floats(1e-3, 1e3),
    T=st.integers(1, 10**6),
    L=st.lists(st.floats(1e-3, 1e3), min_size=1, max_size=6),
    noise=st.floats(0.0, 10.0),
)
@settings(max_examples=60, deadline=None, derandomize=True)
def test_evaluate_agrees_with_sympy_on_random_instances(f_gap, T, L, noise):
    h = len(L)
    inst = dict(
        f_gap=f_gap,
        T=T,
        L=L,
        sigma=[noise] * h,
        sigma_coord=[noise] * (2 * h),
        G=1.0 + noise,
        d=2 * h,
        h=h,
        alpha_l=0.5,
        alpha_u=1.5,
        beta2=0.99,
    )
    for t in THEOREMS.values():
        exact = t.evaluate_sympy(**inst)
        assert abs(t.evaluate(**inst) - exact) <= EVAL_REL * abs(exact)


@pytest.mark.parametrize("key", sorted(THEOREMS))
def test_sharp_bound_is_the_proof_before_its_last_loosening(key):
    """The sharp form is the last step's left side, never above the paper form, equal to it
    exactly where the proof has no (a + b)² ≤ 2a² + 2b² step."""
    t = THEOREMS[key]
    squaring = [s for s in t.steps if s.name.endswith("apply (a+b)^2 <= 2a^2 + 2b^2")]
    if squaring:
        assert sp.simplify(squaring[0].lhs - t.bound_form("sharp")) == 0
        assert sp.simplify(squaring[0].rhs - t.bound_form("paper")) == 0
    else:
        assert t.bound_form("sharp") == t.bound
    rng = np.random.default_rng(3)
    for _ in range(50):
        h = int(rng.integers(1, 5))
        inst = {
            **INSTANCE,
            "L": list(np.exp(rng.uniform(-3, 3, size=h))),
            "sigma": list(np.exp(rng.uniform(-5, 1, size=h))),
            "sigma_coord": list(np.exp(rng.uniform(-5, 1, size=2 * h))),
            "h": h,
            "d": 2 * h,
        }
        sharp, paper = t.evaluate("sharp", **inst), t.evaluate(**inst)
        assert sharp <= paper * (1 + EVAL_REL)
        assert abs(sharp - t.evaluate_sympy("sharp", **inst)) <= EVAL_REL * sharp
    # σ = 0: the squaring step costs exactly its factor 2 (a² vs 2a²)
    quiet = {**INSTANCE, "sigma": [0.0] * 4, "sigma_coord": [0.0] * 8, "d": 8}
    expected = 0.5 if squaring else 1.0
    assert t.evaluate("sharp", **quiet) / t.evaluate(**quiet) == pytest.approx(expected)
    with pytest.raises(ValueError, match=r"form='tight' is invalid: expected one of"):
        t.evaluate("tight", **INSTANCE)


def test_sgd_explicit_bound_and_step():
    t = THEOREMS["sgd"]
    assert (
        sp.simplify(
            t.bound - (2 * symbols.f_gap * symbols.L_inf / symbols.T + symbols.sigma_sq / symbols.T)
        )
        == 0
    )
    value = t.evaluate(**INSTANCE)
    assert value == pytest.approx(2 * 1.5 * 10 / 100 + (0.01 + 0.04 + 0.09 + 0.16) / 100)
    assert t.step_size(**INSTANCE) == pytest.approx(0.1)
    assert t.batch_size == symbols.T


def test_evaluate_reports_missing_constants():
    with pytest.raises(ValueError, match=r"the bound needs"):
        THEOREMS["sgd"].evaluate(f_gap=1.0, T=10)
    with pytest.raises(ValueError, match=r"unknown constant\(s\) \['Lipschitz'\]"):
        THEOREMS["sgd"].evaluate(Lipschitz=[1.0])
    with pytest.raises(ValueError, match=r"h=3 but the per-layer lists have 4 entries"):
        THEOREMS["sgd"].evaluate(**{**INSTANCE, "h": 3})


@pytest.mark.parametrize("key", sorted(THEOREMS))
def test_exports(key):
    t = THEOREMS[key]
    record = json.loads(t.to_json())
    assert record["key"] == key and record["bound"] == str(t.bound)
    assert sp.simplify(sp.sympify(eval(record["bound_srepr"], sp.__dict__)) - t.bound) == 0
    assert set(record["symbols"]) == {s.name for s in t.symbols}
    latex = t.latex()
    assert symbols.latex(t.bound) in latex and t.lhs_latex in latex


def _instance(**settings_overrides):
    L = INSTANCE["L"]
    eta = 1.0 / max(L)
    settings = dict(
        beta1=0.0,
        weight_decay=0.0,
        eps=0.0,
        eta=eta,
        batch_size=100,
        layer_sizes=[2, 2, 2, 2],
        phi=(0.5, 2.0),
    )
    settings.update(settings_overrides)
    return {
        **INSTANCE,
        "settings": settings,
        "smoothness_certified": True,
        "noise_variance_certified": True,
        "noise_bounded": True,
    }


def test_sgd_assumptions_checkable():
    t = THEOREMS["sgd"]
    assert all(t.check_assumptions(_instance()).values())
    verdict = t.check_assumptions(_instance(batch_size=64, eta=0.2))
    assert not verdict["b = T"] and not verdict["prescribed eta"]
    with pytest.raises(KeyError, match="smoothness_certified"):
        t.check_assumptions(INSTANCE)


@pytest.mark.parametrize("key", sorted(THEOREMS))
def test_lhs_functions(key):
    t = THEOREMS[key]
    grads = [np.array([3.0, 4.0]), np.array([0.0, -1.0])]
    value = t.lhs(grads)
    expected = {
        "sgd": 26.0,
        "lamb_beta2_pos": 26.0,
        "lars": (5.0 + 1.0) / np.sqrt(2),
        "lamb_beta2_zero": 8.0 / np.sqrt(4),
    }[key]
    assert value == pytest.approx(expected)


def test_positive_sampler_respects_integer_symbols():
    draw = positive_sampler([symbols.T, symbols.f_gap])
    values = draw(np.random.default_rng(0))
    assert (
        float(values[symbols.T]).is_integer()
        and values[symbols.T] >= 1
        and values[symbols.f_gap] > 0
    )


def _numeric_steps():
    steps = {s.name: s for t in THEOREMS.values() for s in t.steps}
    steps.update(LEMMAS)
    return [s for s in steps.values() if verify(s, samples=50).method == "numeric-search"]


@pytest.mark.parametrize("step", _numeric_steps(), ids=lambda s: s.name)
@given(seed=st.integers(0, 2**32 - 1))
@settings(max_examples=100, deadline=None, derandomize=True)
def test_hypothesis_attacks_numeric_steps(step, seed):
    """A second, hypothesis-driven falsification search on every numerically verified step."""
    from theory.steps import NUMERIC_REL_SLACK

    rng = np.random.default_rng(seed)
    if step.numeric is not None:
        lo, hi = step.numeric(rng)
    else:
        free = sorted((step.lhs - step.rhs).free_symbols, key=lambda s: s.name)
        values = (step.sampler or positive_sampler(free))(rng)
        lo = float(step.lhs.subs(values))
        hi = float(step.rhs.subs(values))
    slack = NUMERIC_REL_SLACK * max(abs(lo), abs(hi), 1e-300)
    if step.relation == "<=":
        assert lo <= hi + slack
    else:
        assert abs(lo - hi) <= slack


def test_derivations_hold():
    """Item 3: η* balances each telescoped bound; rates in T; Theorem 1's constants."""
    from theory.derivations import check_all, rate

    results = check_all()
    assert len(results) >= 20
    assert [k for k, ok in results.items() if not ok] == []
    powers = {k: rate(k).power for k in REQUIRED}
    assert powers == {
        "sgd": 1,
        "lars": 1,
        "lamb_beta2_zero": 1,
        "lamb_beta2_pos": sp.Rational(1, 2),
    }
