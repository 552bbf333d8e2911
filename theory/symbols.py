"""The sympy symbols of the paper's analysis, with their assumptions (Section 2, Theorems 1-3).

Per-layer vectors enter the bounds only through aggregates, which are symbols here:
‖L‖_1 = h·L_avg, L_∞, ‖σ‖_1, ‖σ‖², ‖σ̃‖_1. ``aggregates`` computes them from an instance.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import sympy as sp

f_gap = sp.Symbol("Delta", positive=True)  # f(x_1) - f(x*)
T = sp.Symbol("T", positive=True, integer=True)  # iterations (= batch size b in the theorems)
b = sp.Symbol("b", positive=True, integer=True)  # batch size
h = sp.Symbol("h", positive=True, integer=True)  # layers
d = sp.Symbol("d", positive=True, integer=True)  # total dimension
eta = sp.Symbol("eta", positive=True)  # constant step size
L_1 = sp.Symbol("L_1", positive=True)  # ‖L‖_1 = Σ_i L_i
L_inf = sp.Symbol("L_infty", positive=True)  # max_i L_i
sigma_1 = sp.Symbol("sigma_1", nonnegative=True)  # ‖σ‖_1 = Σ_i σ_i
sigma_sq = sp.Symbol("sigma_sq", nonnegative=True)  # ‖σ‖² = Σ_i σ_i²
sigma_tilde_1 = sp.Symbol("tilde_sigma_1", nonnegative=True)  # ‖σ̃‖_1 = Σ_j σ̃_j
G = sp.Symbol("G", positive=True)  # coordinate-wise gradient bound
alpha_l = sp.Symbol("alpha_l", positive=True)  # lower bound of φ
alpha_u = sp.Symbol("alpha_u", positive=True)  # upper bound of φ
beta2 = sp.Symbol("beta_2", positive=True)  # 0 < β2 < 1 (the upper bound is a side condition)

L_avg = L_1 / h

DESCRIPTIONS: dict[sp.Symbol, str] = {
    f_gap: "f(x_1) - f(x*), the initial suboptimality",
    T: "number of iterations T",
    b: "minibatch size b",
    h: "number of layers h",
    d: "total dimension d = Σ d_i",
    eta: "constant step size η",
    L_1: "‖L‖_1 = Σ_i L_i = h·L_avg",
    L_inf: "L_∞ = max_i L_i",
    sigma_1: "‖σ‖_1 = Σ_i σ_i (per-layer noise std)",
    sigma_sq: "‖σ‖² = Σ_i σ_i²",
    sigma_tilde_1: "‖σ̃‖_1 = Σ_j σ̃_j (per-coordinate noise std)",
    G: "bound on every gradient coordinate |[∇ℓ(x,s)]_j| ≤ G",
    alpha_l: "α_l ≤ φ(v)",
    alpha_u: "φ(v) ≤ α_u",
    beta2: "second-moment decay β2 (0 < β2 < 1)",
}

# Side conditions sympy assumptions cannot express; numeric searches sample inside them.
SIDE_CONDITIONS = (
    "alpha_l <= alpha_u",
    "beta_2 < 1",
    "h <= d",
    "L_infty <= L_1 <= h*L_infty",
    "sigma_sq <= sigma_1**2 <= h*sigma_sq",
)

CONSTANT_NAMES = (
    "f_gap",
    "L",
    "sigma",
    "sigma_coord",
    "G",
    "d",
    "h",
    "T",
    "alpha_l",
    "alpha_u",
    "beta2",
)


def _vector(name: str, value: Any) -> np.ndarray:
    arr = np.asarray(value, dtype=np.float64).ravel()
    if arr.size == 0 or not np.all(np.isfinite(arr)) or np.any(arr < 0):
        raise ValueError(
            f"{name}={value!r} is invalid: expected a non-empty list of finite numbers >= 0"
        )
    return arr


def aggregates(**constants: Any) -> dict[sp.Symbol, float]:
    """Symbol values from an instance given with the toolkit's constant names.

    Accepts any subset of ``f_gap, L (per-layer list), sigma (per-layer list), sigma_coord
    (per-coordinate list), G, d, h, T, alpha_l, alpha_u, beta2``; returns what they determine.
    ``h`` defaults to len(L) (or len(sigma)), ``d`` to len(sigma_coord); a given h or d must agree
    with the list lengths.
    """
    unknown = sorted(set(constants) - set(CONSTANT_NAMES))
    if unknown:
        raise ValueError(f"unknown constant(s) {unknown}; the names are {list(CONSTANT_NAMES)}")
    out: dict[sp.Symbol, float] = {}
    layers = None
    if "L" in constants:
        L = _vector("L", constants["L"])
        if np.any(L <= 0):
            raise ValueError(f"L={constants['L']!r} is invalid: every L_i must be > 0")
        out[L_1], out[L_inf], layers = float(L.sum()), float(L.max()), L.size
    if "sigma" in constants:
        s = _vector("sigma", constants["sigma"])
        out[sigma_1], out[sigma_sq] = float(s.sum()), float((s * s).sum())
        if layers is not None and s.size != layers:
            raise ValueError(f"sigma has {s.size} entries but L has {layers}: one per layer")
        layers = s.size if layers is None else layers
    if "sigma_coord" in constants:
        st = _vector("sigma_coord", constants["sigma_coord"])
        out[sigma_tilde_1] = float(st.sum())
        if "d" in constants and int(constants["d"]) != st.size:
            raise ValueError(f"d={constants['d']!r} but sigma_coord has {st.size} entries")
        out[d] = float(st.size)
    if "h" in constants:
        if layers is not None and int(constants["h"]) != layers:
            raise ValueError(f"h={constants['h']!r} but the per-layer lists have {layers} entries")
        out[h] = float(constants["h"])
    elif layers is not None:
        out[h] = float(layers)
    scalars = {
        "f_gap": f_gap,
        "G": G,
        "d": d,
        "T": T,
        "alpha_l": alpha_l,
        "alpha_u": alpha_u,
        "beta2": beta2,
    }
    for name, sym in scalars.items():
        if name in constants and not (name == "d" and d in out):
            value = float(constants[name])
            if not np.isfinite(value) or value <= 0:
                raise ValueError(f"{name}={constants[name]!r} is invalid: expected a number > 0")
            out[sym] = value
    if beta2 in out and out[beta2] >= 1:
        raise ValueError(f"beta2={constants['beta2']!r} is invalid: need 0 < beta2 < 1")
    if alpha_l in out and alpha_u in out and out[alpha_l] > out[alpha_u]:
        raise ValueError(
            f"alpha_l={out[alpha_l]} > alpha_u={out[alpha_u]}: need alpha_l <= alpha_u"
        )
    return out


LATEX_NAMES: dict[sp.Symbol, str] = {
    f_gap: r"\Delta",
    L_1: r"\|L\|_1",
    L_inf: r"L_\infty",
    sigma_1: r"\|\sigma\|_1",
    sigma_sq: r"\|\sigma\|^2",
    sigma_tilde_1: r"\|\tilde\sigma\|_1",
    alpha_l: r"\alpha_l",
    alpha_u: r"\alpha_u",
    beta2: r"\beta_2",
}


def latex(expr: sp.Expr) -> str:
    """LaTeX with the aggregate symbols written as norms (Δ = f(x_1) − f*)."""
    return sp.latex(expr, symbol_names=LATEX_NAMES)
