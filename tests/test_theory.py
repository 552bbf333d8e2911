"""theory: every proof step verifies, the checker has teeth, bounds evaluate consistently and
export, assumptions are checkable on instances."""

from __future__ import annotations

import dataclasses
import json

import numpy as np
import pytest
import sympy as sp
from hypothesis import given, settings
from hypothesis import strategies as st

from theory import THEOREMS, lamb, lars, lemmas, problems, symbols
from theory.lemmas import LEMMAS
from theory.steps import METHODS, Step, positive_sampler, verify

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
    assert all(v.method in METHODS for _, v in results)


@pytest.mark.parametrize("name", sorted(LEMMAS))
def test_lemmas_verify(name):
    assert verify(LEMMAS[name], samples=500).ok


def test_checker_rejects_false_steps():
    x, y = sp.symbols("x y", positive=True)
    assert not verify(Step("false identity", x + y, x * y, "=", "wrong")).ok
    assert not verify(Step("false inequality", x + y, 2 * sp.sqrt(x * y) / 3, "<=", "wrong")).ok
    assert verify(Step("AM-GM", 2 * sp.sqrt(x * y), x + y, "<=", "AM-GM")).ok


def test_checker_rejects_a_too_strong_vector_lemma():
    """The sign-disagreement bound fails at a quarter of its size: the search finds it."""

    def quartered(rng):
        lhs, rhs = lemmas.SIGN_DISAGREEMENT.numeric(rng)
        return lhs, rhs / 4

    res = verify(Step("too strong", sp.Symbol("l"), sp.Symbol("r"), "<=", "", numeric=quartered))
    assert res.status == "failed" and "counterexample" in res.detail


# The steps verified by numeric search alone: each is about an expectation over the minibatch.
NUMERIC_ONLY = {
    "Jensen for the minibatch mean",
    "LARS 4: one-step bound in expectation (exact over minibatches)",
    "sign-disagreement probability",
    "LAMB0 4: one-step bound in expectation (exact over minibatches)",
    "LAMB+ 3: E[grad_j g_j 1(agree)] >= grad_j^2 (exact over minibatches)",
    "LAMB+ 5: E sum_j grad_j r_j/norm(r^(i)) >= c_i norm(grad^(i))^2 - sum_j tsigma_j/sqrt(b)",
    "LAMB+ 5: one-step bound in expectation (exact over minibatches)",
}
MAX_NUMERIC_STEPS = 10


def test_at_most_ten_steps_rest_on_numeric_search_alone():
    """Counting each theorem's steps (shared lemmas once per theorem): only the distributional
    statements are checked by search; everything else is proved by sympy."""
    numeric = [
        s.name
        for t in THEOREMS.values()
        for s, v in t.verify(samples=20)
        if v.method == "numeric-search"
    ]
    assert len(numeric) <= MAX_NUMERIC_STEPS, numeric
    assert set(numeric) == NUMERIC_ONLY
    assert all(
        s.numeric is not None for t in THEOREMS.values() for s in t.steps if s.name in NUMERIC_ONLY
    )


def _wrong(step: Step, **changes) -> Step:
    return dataclasses.replace(step, name=f"false variant of {step.name}", **changes)


FALSE_VARIANTS = {
    # sympy-sum: the curvature constant halved
    "sympy-sum curvature": lambda: _wrong(lars.CURVATURE, rhs=lars.CURVATURE.rhs / 2),
    # sympy-sum with a certificate: Cauchy-Schwarz with ‖u‖‖v‖/2 (its certificate no longer fits)
    "sympy-sum Cauchy-Schwarz": lambda: _wrong(
        lemmas.CAUCHY_SCHWARZ, rhs=lemmas.CAUCHY_SCHWARZ.rhs / 2, cases=()
    ),
    # sympy-sum telescoping: c/a halved
    "sympy-sum telescope": lambda: _telescope_variant(halve_noise=True),
    # sympy-sum telescoping without the premise r_t ≥ 0 (r_t any real number)
    "sympy-sum telescope, no slack sign": lambda: _telescope_variant(halve_noise=False),
    # sympy-sign: normalisation bias with constant 1
    "sympy-sign normalisation bias": lambda: _wrong(lemmas.NORMALISATION_BIAS, rhs=lemmas.t_),
    # sympy-cases: the sign split without the factor 2
    "sympy-cases sign split": lambda: _wrong(
        lamb.SIGN_SPLIT, rhs=-sp.Abs(lamb.grad_j) + sp.Abs(lamb.grad_j) * lamb.ind
    ),
    # sympy-cases: v̂ ≥ (1 − β2)g² claimed as v̂ ≥ g²
    "sympy-cases vhat": lambda: _wrong(lamb.V_LOW, lhs=lamb.g_j**2),
    # sympy-componentwise: a coordinate of a unit vector claimed ≤ 1/2 in absolute value
    "sympy-componentwise": lambda: _wrong(
        lamb.DISAGREE,
        componentwise=lambda n: [(lo, hi / 2, sub) for lo, hi, sub in lamb._disagree(n)],
    ),
    # sympy-integral: the block descent constant 1/2 replaced by 1/4
    "sympy-integral constant": lambda: _wrong(
        lemmas.BLOCK_DESCENT, rhs=lemmas.BLOCK_DESCENT.rhs / 2
    ),
    # sympy-integral: a pointwise bound s·L/2 that Assumption 2 does not give
    "sympy-integral pointwise": lambda: _wrong(
        lemmas.BLOCK_DESCENT,
        rhs=lemmas.BLOCK_DESCENT.rhs / 2,
        integral=(lemmas.s, lemmas.BLOCK_DESCENT.integral[1], lemmas.BLOCK_DESCENT.integral[2] / 2),
    ),
    # uses: a true scalar step that relies on a false lemma fails with it
    "uses a false lemma": lambda: _wrong(
        lars.LAYER_DESCENT, uses=(_wrong(lemmas.NORMALISATION_BIAS, rhs=lemmas.t_),)
    ),
}


def _telescope_variant(halve_noise: bool) -> Step:
    step = lars.telescope_step("telescope", lars.al)
    if halve_noise:
        return _wrong(step, rhs=step.rhs - lars.c_tel / (2 * lars.a_tel))
    r_any = sp.IndexedBase("r", real=True)
    premise = sp.Eq(
        lars.F_[lars.it + 1],
        lars.F_[lars.it] - lars.a_tel * lars.S_[lars.it] + lars.c_tel - r_any[lars.it],
    )
    subs = {**step.substitutions, lars.S_[lars.it]: sp.solve(premise, lars.S_[lars.it])[0]}
    return _wrong(step, substitutions=subs)


@pytest.mark.parametrize("name", sorted(FALSE_VARIANTS))
def test_symbolic_methods_reject_false_variants(name):
    res = verify(FALSE_VARIANTS[name](), samples=20)
    assert res.status == "failed", (name, res)
    assert res.method != "numeric-search"


def test_symbolic_methods_are_used_and_reported():
    methods = {v.method for t in THEOREMS.values() for _, v in t.verify(samples=20)}
    assert methods == set(METHODS)


def test_numeric_steps_draw_large_instances_of_several_families(monkeypatch):
    """Every numeric step draws h ≥ 4 layers of d_i ≥ 4 coordinates and ≥ 2 objective families."""
    drawn: list = []
    original = problems.draw_problem

    def recording(rng, *args, **kwargs):
        p = original(rng, *args, **kwargs)
        drawn.append(p)
        return p

    monkeypatch.setattr(problems, "draw_problem", recording)
    steps = {s.name: s for t in THEOREMS.values() for s in t.steps if s.name in NUMERIC_ONLY}
    assert set(steps) == NUMERIC_ONLY
    for name, step in steps.items():
        drawn.clear()
        rng = np.random.default_rng(0)
        for _ in range(40):
            step.numeric(rng)
        assert len(drawn) == 40, name
        assert min(len(p.sizes) for p in drawn) >= 4, name
        assert min(min(p.sizes) for p in drawn) >= 4, name
        assert len({p.family for p in drawn}) >= 2, name


@pytest.mark.parametrize("family", sorted(problems.FAMILIES))
def test_families_are_block_smooth_with_their_L(family):
    """Block descent with the per-layer L_i holds on every family, tightly at x = 0."""
    rng = np.random.default_rng(1)
    for _ in range(30):
        p = dataclasses.replace(problems.draw_problem(rng), family=family)
        y = p.x + rng.normal(size=p.x.size) * np.exp(rng.uniform(-6, 0))
        moves = np.array([np.sum(m**2) for m in p.split(y - p.x)])
        linear = p.f(p.x) + p.grad @ (y - p.x)
        assert p.f(y) <= linear + p.L @ moves / 2 + 1e-9 * max(1.0, abs(p.f(y)))
    at_zero = dataclasses.replace(p, x=np.zeros_like(p.x))
    step = 1e-3 * rng.normal(size=p.x.size)
    moves = np.array([np.sum(m**2) for m in p.split(step)])
    assert at_zero.f(step) - at_zero.f(at_zero.x) == pytest.approx(p.L @ moves / 2, rel=1e-5)


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
    # the prescribed η under a decaying schedule is not the constant step the theorem analyses
    assert t.check_assumptions(_instance(decay=0.0))["prescribed eta"]
    assert not t.check_assumptions(_instance(decay=1.0))["prescribed eta"]
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
