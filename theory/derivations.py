"""Where the theorems' explicit constants come from, re-derived with sympy [D].

* :func:`eta_optimality`: LARS and LAMB (Theorems 2-3). The prescribed η = √(2Δ/(α_u²‖L‖_1 T))
  is the unique stationary point and the minimiser of the telescoped bound. For each theorem
  that bound is a positive multiple of Δ/(Tηα_l) + ηα_u²‖L‖_1/(2α_l), plus a noise term that does
  not depend on η. At η* the two η-dependent terms are equal (the last step of Theorem 2's proof).
* :func:`rate`: the order in T of every bound. It is 1/T for sgd, lars and lamb_beta2_zero, and
  1/√T for lamb_beta2_pos (the discussion after Theorems 2-3).
* :func:`criteria_steps`: how the criteria compare, e.g. ‖∇f‖/√h ≤ (1/√h)Σ_i‖∇_i f‖ ≤ ‖∇f‖
  (the discussion after Theorems 2-3).
* :func:`sgd_constants`: Theorem 1 in the same framework. The telescoped bound 2Δ/(Tη) + L_∞η‖σ‖²/b
  (valid for η ≤ 1/L_∞) is convex in η, so its minimiser over (0, 1/L_∞] is min(η_u, 1/L_∞).
  With b = T that is 1/L_∞ exactly when ‖σ‖² ≤ 2ΔL_∞. η = 1/L_∞ and b = T give
  2ΔL_∞/T + ‖σ‖²/T, which is :mod:`theory.sgd`'s bound. That value is never below
  2√(2ΔL_∞‖σ‖²)/T, the value at η_u (AM-GM). When ‖σ‖² > 2ΔL_∞, tuning η gives that smaller
  value, so Theorem 1's explicit constants come from choosing η = 1/L_∞, not from optimising η.

Every function returns sympy objects and the booleans it checked. :func:`check_all` collects the
booleans.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import sympy as sp

from theory import lamb, lars, sgd, symbols
from theory.steps import Step, Verification, verify

D, L1, Linf, al, au, T, b, eta = (
    symbols.f_gap,
    symbols.L_1,
    symbols.L_inf,
    symbols.alpha_l,
    symbols.alpha_u,
    symbols.T,
    symbols.b,
    symbols.eta,
)

# theorem key -> (a, noise, scale) of its one-step bound, and sign-revealing substitutions
TAILS = {
    "lars": (lars.TAIL, {}),
    "lamb_beta2_zero": (lamb.TAIL_ZERO, {}),
    "lamb_beta2_pos": (lamb.TAIL_POS, lamb.B2),
}
PRESCRIBED_ETA = {"lars": lars.ETA, "lamb_beta2_zero": lars.ETA, "lamb_beta2_pos": lars.ETA}
BOUNDS = {
    "sgd": sgd.BOUND,
    "lars": lars.BOUND,
    "lamb_beta2_zero": lamb.BOUND0,
    "lamb_beta2_pos": lamb.BOUNDP,
}
# the bound on E[measure] before any squaring, at η* and b = T
BEFORE_SQUARING = {
    "lars": lars.BEFORE,
    "lamb_beta2_zero": lamb.BEFORE0,
    "lamb_beta2_pos": lamb.BOUNDP,
}
GENERIC = D / (T * eta * al) + eta * au**2 * L1 / (2 * al)  # the η-dependent part


def _zero(expr: sp.Expr) -> bool:
    return sp.simplify(expr) == 0


@dataclass(frozen=True)
class EtaOptimality:
    key: str
    objective: sp.Expr  # the telescoped bound as a function of η
    stationary_points: tuple[sp.Expr, ...]  # positive roots of d/dη
    eta_star: sp.Expr
    prescribed: sp.Expr
    matches_prescribed: bool  # η* == the theorem's η
    second_derivative: sp.Expr  # at η*
    is_minimum: bool  # the second derivative is > 0 and η* is the only stationary point
    proportional_to_generic: bool  # objective − const = K·GENERIC with K > 0 free of η
    terms_equal: bool  # Δ/(Tη*α_l) == η*α_u²‖L‖_1/(2α_l)
    value: sp.Expr  # objective at η* and b = T
    value_matches_theorem: bool  # == the theorem's bound before squaring


def eta_optimality(key: str) -> EtaOptimality:
    """Solve d/dη (telescoped bound) = 0 for theorem ``key`` ("lars", "lamb_beta2_*")."""
    (a, noise, scale), subs = TAILS[key]
    before = BEFORE_SQUARING[key]
    objective = lars.telescoped(a, noise, scale)
    work = objective.subs(subs)
    roots = tuple(r for r in sp.solve(sp.diff(work, eta), eta) if r.is_positive is not False)
    eta_star = roots[0] if len(roots) == 1 else sp.nan
    second = sp.simplify(sp.diff(work, eta, 2).subs(eta, eta_star))
    ratio = sp.simplify((work - work.subs(eta, 1)).diff(eta) / GENERIC.diff(eta))
    terms = GENERIC.args  # Δ/(Tηα_l) and ηα_u²‖L‖_1/(2α_l)
    return EtaOptimality(
        key=key,
        objective=objective,
        stationary_points=roots,
        eta_star=eta_star,
        prescribed=PRESCRIBED_ETA[key],
        matches_prescribed=_zero(eta_star - PRESCRIBED_ETA[key]),
        second_derivative=second,
        is_minimum=len(roots) == 1 and bool(second.is_positive),
        proportional_to_generic=bool(ratio.is_positive) and eta not in ratio.free_symbols,
        terms_equal=_zero((terms[0] - terms[1]).subs(eta, eta_star)),
        value=sp.simplify(objective.subs({eta: eta_star, b: T})),
        value_matches_theorem=_zero((objective.subs({eta: eta_star, b: T}) - before).subs(subs)),
    )


@dataclass(frozen=True)
class Rate:
    key: str
    power: sp.Rational  # bound = Θ(T^-power)
    limit: sp.Expr  # lim_{T→∞} bound · T^power, finite and nonzero


def rate(key: str) -> Rate:
    """The order in T of the theorem's bound: the power p with bound·T^p → finite, nonzero."""
    bound = BOUNDS[key]
    for p in (sp.Integer(1), sp.Rational(1, 2)):
        lim = sp.limit(bound * T**p, T, sp.oo)
        if not lim.has(sp.oo, -sp.oo, sp.zoo, sp.nan) and not _zero(lim):
            return Rate(key, p, sp.simplify(lim))
    raise ValueError(f"{key}: the bound is neither Θ(1/T) nor Θ(1/√T)")


EXPECTED_POWERS = {
    "sgd": sp.Integer(1),
    "lars": sp.Integer(1),
    "lamb_beta2_zero": sp.Integer(1),
    "lamb_beta2_pos": sp.Rational(1, 2),
}


@dataclass(frozen=True)
class SGDConstants:
    objective: sp.Expr  # 2Δ/(Tη) + L_∞η‖σ‖²/b, valid for η ≤ 1/L_∞
    eta_unconstrained: sp.Expr  # the stationary point η_u = √(2Δb/(TL_∞‖σ‖²))
    convex: bool  # d²/dη² objective > 0, so the minimiser over (0, 1/L_∞] is min(η_u, 1/L_∞)
    eta_constrained: sp.Expr  # min(η_u, 1/L_∞)
    prescribed_optimal_when: sp.Expr  # with b = T: η_u ≥ 1/L_∞, i.e. 1/L_∞ is the minimiser, iff
    eta_prescribed: sp.Expr  # 1/L_∞ (theory.sgd.ETA)
    bound_at_prescribed: sp.Expr  # objective at η = 1/L_∞, b = T
    matches_theorem: bool  # == theory.sgd.BOUND
    value_unconstrained: sp.Expr  # objective at η_u, b = T (≤ the bound at 1/L_∞, AM-GM)
    steps: tuple[Step, ...]


s = sp.Symbol("s", nonnegative=True)
_x, _y = sp.symbols("x y", nonnegative=True)  # √(2ΔL_∞), ‖σ‖
N, V = sp.Symbol("N", nonnegative=True), symbols.sigma_sq


def sgd_constants() -> SGDConstants:
    """Theorem 1's constants. The one-step bound −ηN + L_∞η²(N + ‖σ‖²/b)/2 is at most
    −ηN/2 + L_∞η²‖σ‖²/(2b) for η ≤ 1/L_∞. Telescoping it gives the objective below."""
    objective = 2 * D / (T * eta) + Linf * eta * V / b
    vp = sp.Symbol("v", positive=True)  # ‖σ‖² > 0 for the stationary point to exist
    roots = sp.solve(sp.diff(objective.subs(V, vp), eta), eta)
    (eta_u,) = [r.subs(vp, V) for r in roots if r.is_positive]
    at_prescribed = objective.subs({eta: 1 / Linf, b: T})
    at_u = sp.simplify(objective.subs(eta, eta_u).subs(b, T))
    steps = (
        Step(
            "SGD: one-step bound with eta <= 1/L_inf",
            -eta * N + Linf * eta**2 / 2 * (N + V / b),
            -eta * N / 2 + Linf * eta**2 * V / (2 * b),
            "<=",
            "η = 1/(L_∞(1+s)), s ≥ 0: the difference is ηN(1 − L_∞η)/2 ≥ 0",
            substitutions={eta: 1 / (Linf * (1 + s))},
        ),
        Step(
            "SGD: telescope and divide by T eta/2",
            2 / (T * eta) * (D + T * Linf * eta**2 * V / (2 * b)),
            objective,
            "=",
            "algebra",
        ),
        Step(
            "SGD: the unconstrained optimum is at most the bound at eta = 1/L_inf (AM-GM)",
            at_u,
            at_prescribed,
            "<=",
            "AM-GM: 2√(2ΔL_∞‖σ‖²) ≤ 2ΔL_∞ + ‖σ‖² (with 2ΔL_∞ = x², ‖σ‖² = y²: (x − y)² ≥ 0)",
            substitutions={D: _x**2 / (2 * Linf), V: _y**2},
        ),
    )
    return SGDConstants(
        objective=objective,
        eta_unconstrained=eta_u,
        convex=bool(sp.diff(objective, eta, 2).is_positive),
        eta_constrained=sp.Min(eta_u, 1 / Linf),
        prescribed_optimal_when=sp.Le(V, 2 * D * Linf),
        eta_prescribed=sgd.ETA,
        bound_at_prescribed=at_prescribed,
        matches_theorem=_zero(at_prescribed - sgd.BOUND) and _zero(sgd.ETA - 1 / Linf),
        value_unconstrained=at_u,
        steps=steps,
    )


def _criteria_instance(kind: str):
    def check(rng: np.random.Generator) -> tuple[float, float]:
        h, k = int(rng.integers(1, 6)), int(rng.integers(1, 4))
        g = rng.normal(size=(h, k)) * np.exp(rng.uniform(-3, 3, size=(h, 1)))
        layer = np.linalg.norm(g, axis=1).sum() / np.sqrt(h)
        full = float(np.linalg.norm(g))
        l1 = float(np.abs(g).sum() / np.sqrt(g.size))
        L = np.exp(rng.uniform(-4, 4, size=h))
        pairs = {
            "layer_low": (full / np.sqrt(h), layer),
            "layer_high": (layer, full),
            "l1_low": (full / np.sqrt(g.size), l1),
            "l1_high": (l1, full),
            "L_avg": (L.mean(), L.max()),
            "L_inf": (L.max(), h * L.mean()),
        }
        return tuple(float(v) for v in pairs[kind])

    return check


def criteria_steps() -> tuple[Step, ...]:
    """[D] how the criteria and constants of Theorems 1-3 compare."""
    rows = (
        ("layer_low", "norm(grad f)/sqrt(h)", "(1/sqrt(h)) sum_i norm(grad_i f)", "‖v‖ ≤ ‖v‖_1"),
        ("layer_high", "(1/sqrt(h)) sum_i norm(grad_i f)", "norm(grad f)", "Cauchy-Schwarz"),
        ("l1_low", "norm(grad f)/sqrt(d)", "norm_1(grad f)/sqrt(d)", "‖v‖ ≤ ‖v‖_1"),
        ("l1_high", "norm_1(grad f)/sqrt(d)", "norm(grad f)", "‖v‖_1 ≤ √d‖v‖"),
        ("L_avg", "L_avg", "L_inf", "an average is at most the maximum"),
        ("L_inf", "L_inf", "h L_avg", "the maximum is at most the sum"),
    )
    steps = []
    for kind, lo, hi, why in rows:
        check = _criteria_instance(kind)
        steps.append(
            Step(f"criteria: {lo} <= {hi}", sp.Symbol(lo), sp.Symbol(hi), "<=", why, numeric=check)
        )
    return tuple(steps)


def check_all() -> dict[str, bool]:
    """Every boolean the derivations establish, by name."""
    out: dict[str, bool] = {}
    for key in TAILS:
        r = eta_optimality(key)
        out[f"{key}: eta* = prescribed eta"] = r.matches_prescribed
        out[f"{key}: eta* is the unique minimiser"] = r.is_minimum
        out[f"{key}: objective = K * generic + const"] = r.proportional_to_generic
        out[f"{key}: terms equal at eta*"] = r.terms_equal
        out[f"{key}: value at eta*, b = T is the bound before squaring"] = r.value_matches_theorem
    for key, power in EXPECTED_POWERS.items():
        out[f"{key}: rate T^-{power}"] = rate(key).power == power
    sgd_result = sgd_constants()
    out["sgd: eta = 1/L_inf, b = T gives theory.sgd.BOUND"] = sgd_result.matches_theorem
    out["sgd: objective convex in eta"] = sgd_result.convex
    # (η_u L_∞)² = 2ΔL_∞/‖σ‖² at b = T, so η_u ≥ 1/L_∞ iff ‖σ‖² ≤ 2ΔL_∞
    eta_u_at_T = sgd_result.eta_unconstrained.subs(b, T)
    out["sgd: eta_u >= 1/L_inf iff sigma^2 <= 2 Delta L_inf"] = _zero(
        (eta_u_at_T * Linf) ** 2 - 2 * D * Linf / V
    )
    for step in (*sgd_result.steps, *criteria_steps()):
        res: Verification = verify(step)
        out[step.name] = res.ok
    return out
