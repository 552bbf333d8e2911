"""Layer-wise bounds (LARS, LAMB) against SGD's: ratios, winning region, steps to ε (Theorems 1-3).

Explicit bounds (Theorems 1-3, constants [D]; defined here, independent of theory.lars/lamb),
with a = α_u/α_l, all with b = T and x_a uniform over the iterates:

* ``sgd``:             E‖∇f‖² ≤ 2ΔL_∞/T + ‖σ‖²/T
* ``lars``:            (E(1/√h)Σ_i‖∇_i f‖)² ≤ a²[4ΔL_avg/T + 8‖σ‖_1²/(Th)]
* ``lamb_beta2_zero``: (E(1/√d)‖∇f‖_1)² ≤ 2a²[2ΔL_avg/T + 4‖σ̃‖_1²/(dT)]  (derived /(dT), see
  ``theory.errata.lamb_beta2_zero_noise_denominator``)
* ``lamb_beta2_pos``:  E‖∇f‖² ≤ a√(G²d/(h(1−β2)))[√(2Δ‖L‖_1/T) + ‖σ̃‖_1/√T]

Conventions (ours; they differ from Appendix C's normalisation, see below):

* r_L := L_∞/L_avg ∈ [1, h], so ‖L‖_1 = hL_∞/r_L.
* ψ_g := (Σ_i‖∇_i f‖)²/(h‖∇f‖²) ∈ [1/h, 1] (1 iff all layer-gradient norms are equal), taken as
  a lower bound over the iterates; ψ_g_coord := ‖∇f‖_1²/(d‖∇f‖²) ∈ [1/d, 1].
* ψ_σ := ‖σ‖_1²/(h‖σ‖²) ∈ [1/h, 1]; ψ_σ_coord := ‖σ̃‖_1²/(d‖σ̃‖²) ∈ [1/d, 1], where ‖σ̃‖² is
  the symbol ``tilde_sigma_sq``. SGD keeps its own ‖σ‖² (Assumption 4 implies Assumption 3 with
  σ_i² = Σ_{j∈i}σ̃_j², so setting sigma_sq = tilde_sigma_sq is always admissible).
* Appendix C instead uses ψ^C_g = ψ_g h²/d, ψ^C_σ = ψ_σ h²/d and
  ψ^C_L = h⁴/(d² r_L²); in those terms √ψ^C_L/ψ^C_g = 1/(r_L ψ_g) and ψ^C_σ/ψ^C_g = ψ_σ/ψ_g.

Criteria. ``criterion="l2"`` (default) compares bounds on the common criterion (E‖∇f(x_a)‖)²:
(1/√h)Σ_i‖∇_i f‖ = √ψ_g‖∇f‖ gives (E‖∇f‖)² ≤ B_lars/ψ_g (likewise ψ_g_coord for LAMB β2 = 0),
and E‖∇f‖² ≥ (E‖∇f‖)² (Jensen) for SGD and LAMB β2 > 0, whose certificate is thus the stronger.
``criterion="native"`` compares in the layer-wise method's own criterion; SGD's certificate
converts to it for free, since (1/√h)Σ_i‖∇_i f‖ ≤ ‖∇f‖ and (1/√d)‖∇f‖_1 ≤ ‖∇f‖.
"""

from __future__ import annotations

import math
from functools import cache
from typing import Any

import numpy as np
import sympy as sp

from theory import symbols

METHODS = ("sgd", "lars", "lamb_beta2_zero", "lamb_beta2_pos")
LAYERWISE = METHODS[1:]
CRITERIA = ("l2", "native")

R_L = sp.Symbol("r_L", positive=True)
PSI_G = sp.Symbol("psi_g", positive=True)
PSI_SIGMA = sp.Symbol("psi_sigma", positive=True)
PSI_G_COORD = sp.Symbol("psi_g_coord", positive=True)
PSI_SIGMA_COORD = sp.Symbol("psi_sigma_coord", positive=True)
SIGMA_TILDE_SQ = sp.Symbol("tilde_sigma_sq", nonnegative=True)  # ‖σ̃‖² = Σ_j σ̃_j²
EPS = sp.Symbol("epsilon", positive=True)
_T = sp.Symbol("T", positive=True)  # T as a real unknown for solving T(ε)
# 0 < β2 < 1 is a side condition sympy cannot hold; signs are decided with β2 = 1 − q, q > 0
_SIGN_SUBS = {symbols.beta2: 1 - sp.Symbol("q", positive=True)}

_a = symbols.alpha_u / symbols.alpha_l
BOUNDS: dict[str, sp.Expr] = {
    "sgd": 2 * symbols.f_gap * symbols.L_inf / symbols.T + symbols.sigma_sq / symbols.T,
    "lars": _a**2
    * (
        4 * symbols.f_gap * symbols.L_avg / symbols.T
        + 8 * symbols.sigma_1**2 / (symbols.T * symbols.h)
    ),
    "lamb_beta2_zero": 2
    * _a**2
    * (
        2 * symbols.f_gap * symbols.L_avg / symbols.T
        + 4 * symbols.sigma_tilde_1**2 / (symbols.d * symbols.T)
    ),
    "lamb_beta2_pos": _a
    * sp.sqrt(symbols.G**2 * symbols.d / (symbols.h * (1 - symbols.beta2)))
    * (
        sp.sqrt(2 * symbols.f_gap * symbols.L_1 / symbols.T)
        + symbols.sigma_tilde_1 / sp.sqrt(symbols.T)
    ),
}
NATIVE_CRITERION = {
    "sgd": "E||grad f(x_a)||^2",
    "lars": "(E[(1/sqrt(h)) sum_i ||grad_i f(x_a)||])^2",
    "lamb_beta2_zero": "(E[(1/sqrt(d)) ||grad f(x_a)||_1])^2",
    "lamb_beta2_pos": "E||grad f(x_a)||^2",
}
# native criterion >= TO_L2 · (E‖∇f‖)², so a native bound B gives (E‖∇f‖)² ≤ B / TO_L2
TO_L2: dict[str, sp.Expr] = {
    "sgd": sp.Integer(1),
    "lars": PSI_G,
    "lamb_beta2_zero": PSI_G_COORD,
    "lamb_beta2_pos": sp.Integer(1),
}
DENSITY_SUBS = {
    symbols.L_1: symbols.h * symbols.L_inf / R_L,
    symbols.sigma_1: sp.sqrt(PSI_SIGMA * symbols.h * symbols.sigma_sq),
    symbols.sigma_tilde_1: sp.sqrt(PSI_SIGMA_COORD * symbols.d * SIGMA_TILDE_SQ),
}
VALUE_NAMES: dict[str, sp.Symbol] = {
    "r_L": R_L,
    "psi_g": PSI_G,
    "psi_sigma": PSI_SIGMA,
    "psi_g_coord": PSI_G_COORD,
    "psi_sigma_coord": PSI_SIGMA_COORD,
    "f_gap": symbols.f_gap,
    "L_inf": symbols.L_inf,
    "sigma_sq": symbols.sigma_sq,
    "tilde_sigma_sq": SIGMA_TILDE_SQ,
    "alpha_l": symbols.alpha_l,
    "alpha_u": symbols.alpha_u,
    "G": symbols.G,
    "d": symbols.d,
    "h": symbols.h,
    "T": symbols.T,
    "beta2": symbols.beta2,
}


def _check(method: str, criterion: str, allowed: tuple[str, ...] = METHODS) -> None:
    if method not in allowed:
        raise ValueError(f"method={method!r} is invalid: expected one of {list(allowed)}")
    if criterion not in CRITERIA:
        raise ValueError(f"criterion={criterion!r} is invalid: expected one of {list(CRITERIA)}")


@cache
def bound_ratio(method: str, criterion: str = "l2") -> sp.Expr:
    """Layer-wise bound / SGD bound on a common criterion, in r_L and the densities.

    ``l2``: (B_method/TO_L2[method]) / B_sgd, e.g. for LARS
    a²(4ΔL_∞/r_L + 8ψ_σ‖σ‖²)/(ψ_g(2ΔL_∞ + ‖σ‖²)) (T cancels; it does not for LAMB β2 > 0,
    whose bound is O(1/√T)). ``native``: B_method / B_sgd. A ratio < 1 means the layer-wise
    bound certifies more than SGD's for the same T. ``bound_ratio("sgd")`` is 1.
    """
    _check(method, criterion)
    scale = TO_L2[method] if criterion == "l2" else 1
    ratio = BOUNDS[method] / scale / BOUNDS["sgd"]
    return sp.simplify(ratio.subs(DENSITY_SUBS))


@cache
def winning_region(method: str, criterion: str = "l2") -> dict[str, Any]:
    """Where the layer-wise bound is smaller, solved for r_L given the other quantities.

    Returns ``ratio``; ``d_ratio_d_r_L`` and ``decreasing_in_r_L`` (sympy sign: the ratio falls as
    the curvature gets more heterogeneous); ``ratio_as_r_L_to_infinity`` (the ratio's infimum);
    ``threshold`` (the root of ratio = 1 in r_L); ``condition``: r_L > threshold, infimum < 1
    (else no r_L works) and r_L ≤ h (the admissible range of r_L).
    """
    _check(method, criterion, LAYERWISE)
    ratio = bound_ratio(method, criterion)
    slope = sp.simplify(sp.diff(ratio, R_L))
    floor = sp.limit(ratio, R_L, sp.oo)
    roots = sp.solve(sp.Eq(ratio, 1), R_L)
    if len(roots) != 1:
        raise RuntimeError(f"{method}: expected one root of ratio = 1 in r_L, sympy gave {roots}")
    threshold = sp.simplify(roots[0])
    return {
        "ratio": ratio,
        "d_ratio_d_r_L": slope,
        "decreasing_in_r_L": bool(slope.subs(_SIGN_SUBS).is_negative),
        "ratio_as_r_L_to_infinity": floor,
        "threshold": threshold,
        "condition": sp.And(R_L > threshold, floor < 1, R_L <= symbols.h),
    }


def _values(expr: sp.Expr, values: dict[str, Any]) -> dict[sp.Symbol, float]:
    unknown = sorted(set(values) - set(VALUE_NAMES))
    if unknown:
        raise ValueError(f"unknown value name(s) {unknown}; the names are {list(VALUE_NAMES)}")
    out = {VALUE_NAMES[k]: float(v) for k, v in values.items()}
    for k, v in values.items():
        ok = math.isfinite(float(v)) and (float(v) >= 0 if k.endswith("sigma_sq") else float(v) > 0)
        if not ok:
            raise ValueError(f"{k}={v!r} is invalid: expected a finite number > 0 (>= 0 for noise)")
    lo = {"r_L": 1.0, "psi_g": 0.0, "psi_sigma": 0.0, "psi_g_coord": 0.0, "psi_sigma_coord": 0.0}
    hi = {"psi_g": 1.0, "psi_sigma": 1.0, "psi_g_coord": 1.0, "psi_sigma_coord": 1.0}
    if "h" in values:
        hi["r_L"], lo["psi_g"], lo["psi_sigma"] = (
            out[symbols.h],
            1 / out[symbols.h],
            1 / out[symbols.h],
        )
    if "d" in values:
        lo["psi_g_coord"] = lo["psi_sigma_coord"] = 1 / out[symbols.d]
    for k, v in values.items():
        low, high = lo.get(k, -math.inf), hi.get(k, math.inf)
        slack = 1e-12 * max(1.0, abs(float(v)))  # ratios computed in float64 (e.g. r_L = 1)
        if not low - slack <= float(v) <= high + slack:
            raise ValueError(f"{k}={v!r} is invalid: expected a value in [{low}, {high}]")
    if "beta2" in values and out[symbols.beta2] >= 1:
        raise ValueError(f"beta2={values['beta2']!r} is invalid: need 0 < beta2 < 1")
    if "alpha_l" in values and "alpha_u" in values and out[symbols.alpha_l] > out[symbols.alpha_u]:
        raise ValueError(f"alpha_l={values['alpha_l']!r} > alpha_u={values['alpha_u']!r}")
    names = {v: k for k, v in VALUE_NAMES.items()}
    missing = sorted(names[s] for s in expr.free_symbols if s not in out)
    if missing:
        raise ValueError(f"missing value(s) {missing}; the names are {list(VALUE_NAMES)}")
    return out


def ratio_value(method: str, criterion: str = "l2", **values: Any) -> float:
    """``bound_ratio(method, criterion)`` at ``values`` (keys: ``VALUE_NAMES``; extras allowed)."""
    ratio = bound_ratio(method, criterion)
    out = _values(ratio, values)
    return float(ratio.subs({s: out[s] for s in ratio.free_symbols}).evalf(30))


def layerwise_wins(method: str, criterion: str = "l2", **values: Any) -> bool:
    """True iff the layer-wise bound is strictly smaller than SGD's: ``ratio_value(...) < 1``."""
    _check(method, criterion, LAYERWISE)
    return ratio_value(method, criterion, **values) < 1


def ratio_values(**constants: Any) -> dict[str, float]:
    """``VALUE_NAMES`` entries determined by an instance given with the toolkit's constant names.

    r_L, ψ_σ and ‖σ‖² from ``L``/``sigma``; ψ_σ_coord and ‖σ̃‖² from ``sigma_coord``; scalars
    passed through. ψ_g needs gradients: see :func:`gradient_densities`.
    """
    agg = symbols.aggregates(**{k: v for k, v in constants.items() if k != "T"})
    names = {v: k for k, v in VALUE_NAMES.items()}
    out = {names[s]: v for s, v in agg.items() if s in names}
    if symbols.L_1 in agg:
        out["r_L"] = agg[symbols.L_inf] * agg[symbols.h] / agg[symbols.L_1]
    if symbols.sigma_1 in agg and agg[symbols.sigma_sq] > 0:
        out["psi_sigma"] = agg[symbols.sigma_1] ** 2 / (agg[symbols.h] * agg[symbols.sigma_sq])
    if "sigma_coord" in constants:
        st = np.asarray(constants["sigma_coord"], dtype=np.float64).ravel()
        out["tilde_sigma_sq"] = float(st @ st)
        if out["tilde_sigma_sq"] > 0:
            out["psi_sigma_coord"] = float(st.sum() ** 2 / (st.size * out["tilde_sigma_sq"]))
    return out


def gradient_densities(layer_grads) -> dict[str, float]:
    """ψ_g and ψ_g_coord of one gradient given per layer (a list of arrays, not all zero)."""
    norms = np.array([np.linalg.norm(np.ravel(g)) for g in layer_grads])
    flat = np.concatenate([np.ravel(g) for g in layer_grads]).astype(np.float64)
    sq = float(flat @ flat)
    if sq == 0:
        raise ValueError("layer_grads is invalid: the gradient is zero, its density is undefined")
    return {
        "psi_g": float(norms.sum() ** 2 / (norms.size * sq)),
        "psi_g_coord": float(np.abs(flat).sum() ** 2 / (flat.size * sq)),
    }


@cache
def steps_to_epsilon(method: str, criterion: str = "native") -> sp.Expr:
    """T(ε): the T solving bound(T) = ε (sympy), hence the smallest real T with bound ≤ ε.

    Each bound strictly decreases in T (checked: d bound/dT < 0). ``native``: ε bounds the
    method's own criterion; ``l2``: ε bounds (E‖∇f‖)², i.e. bound/TO_L2 ≤ ε (ψ_g appears).
    SGD, LARS, LAMB β2 = 0 give T ∝ 1/ε; LAMB β2 > 0 gives T ∝ 1/ε². Each step uses b = T samples.
    """
    _check(method, criterion)
    bound = (BOUNDS[method] / (TO_L2[method] if criterion == "l2" else 1)).subs(symbols.T, _T)
    if not sp.diff(bound, _T).subs(_SIGN_SUBS).is_negative:
        raise RuntimeError(f"{method}: could not show the bound decreases in T")
    roots = sp.solve(sp.Eq(bound, EPS), _T)
    if len(roots) != 1:
        raise RuntimeError(f"{method}: expected one root of bound(T) = ε, sympy gave {roots}")
    return sp.factor(sp.simplify(roots[0]))


def steps_to_epsilon_value(
    method: str, eps: float, criterion: str = "native", **constants: Any
) -> int:
    """Smallest integer T ≥ 1 whose bound is ≤ ``eps``, on an instance (toolkit's names).

    ``constants``: ``f_gap, L, sigma, sigma_coord, G, d, h, alpha_l, alpha_u, beta2`` (``T`` is
    ignored), plus ``psi_g`` / ``psi_g_coord`` for ``criterion="l2"`` (LARS / LAMB β2 = 0).
    """
    _check(method, criterion)
    if not (math.isfinite(float(eps)) and float(eps) > 0):
        raise ValueError(f"eps={eps!r} is invalid: expected a finite number > 0")
    psis = {k: constants.pop(k) for k in ("psi_g", "psi_g_coord") if k in constants}
    values = symbols.aggregates(**{k: v for k, v in constants.items() if k != "T"})
    values.update(_values(sp.Integer(0), psis))
    expr = steps_to_epsilon(method, criterion).subs(EPS, float(eps))
    bound = (BOUNDS[method] / (TO_L2[method] if criterion == "l2" else 1)).subs(symbols.T, _T)
    missing = sorted(s.name for s in expr.free_symbols if s not in values)
    if missing:
        raise ValueError(
            f"{method}: missing value(s) for {missing}; pass {list(symbols.CONSTANT_NAMES)} "
            "(and psi_g / psi_g_coord for criterion='l2')"
        )
    t_star = float(expr.subs(values).evalf(30))
    n = max(1, math.ceil(t_star))
    # guard the ceiling against rounding when t_star is (nearly) an integer
    if n > 1 and float(bound.subs(values).subs(_T, n - 1).evalf(30)) <= float(eps):
        n -= 1
    return n
