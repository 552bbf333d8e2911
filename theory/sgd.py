"""Theorem 1: SGD with large batch (Ghadimi & Lan 2013), with explicit constants [D].

The paper quotes the statement [C]: E‖∇f(x_a)‖² ≤ O((f(x_1) − f*)L_∞/T + ‖σ‖²/T) with b = T.
The constants below are derived here: η = 1/L_∞ gives

    E‖∇f(x_a)‖² ≤ 2 (f(x_1) − f*) L_∞ / T + ‖σ‖² / T.
"""

from __future__ import annotations

import numpy as np
import sympy as sp

from theory import assumptions, symbols
from theory.lemmas import BLOCK_DESCENT
from theory.steps import Step
from theory.theorem import Theorem

N = sp.Symbol("N", nonnegative=True)  # ‖∇f(x_t)‖² at one iterate
SUM_N = sp.Symbol("Sigma_N", nonnegative=True)  # Σ_t E‖∇f(x_t)‖²

ETA = 1 / symbols.L_inf
BOUND = 2 * symbols.f_gap * symbols.L_inf / symbols.T + symbols.sigma_sq / symbols.T


layer = sp.Symbol("i", integer=True, positive=True)
L_layer = sp.IndexedBase("L", positive=True)  # L_i
g_sq = sp.IndexedBase("q", nonnegative=True)  # ‖g_i‖²
gap = sp.IndexedBase("delta", nonnegative=True)  # L_∞ − L_i


def grad_sq_norm(layer_grads) -> float:
    """‖∇f(x)‖² from the per-layer gradients."""
    return float(sum(np.sum(np.square(g)) for g in layer_grads))


eta, b, T, L, D, V = (
    symbols.eta,
    symbols.b,
    symbols.T,
    symbols.L_inf,
    symbols.f_gap,
    symbols.sigma_sq,
)

STEPS = (
    BLOCK_DESCENT,
    Step(
        "curvature term bounded by the worst layer",
        sp.Sum(L_layer[layer] * g_sq[layer], (layer, 1, symbols.h)),
        L * sp.Sum(g_sq[layer], (layer, 1, symbols.h)),
        "<=",
        "L_i = L_∞ − δ_i ≤ L_∞ for every layer, and ‖g‖² = Σ_i ‖g_i‖²; the difference is "
        "Σ_i δ_i‖g_i‖² ≥ 0 for every number of layers h",
        substitutions={L_layer[layer]: L - gap[layer]},
    ),
    Step(
        "one-step descent in expectation at eta = 1/L_inf",
        (-eta * N + L * eta**2 / 2 * (N + V / b)).subs(eta, ETA),
        -N / (2 * L) + V / (2 * L * b),
        "=",
        "E⟨∇f, g⟩ = ‖∇f‖² (unbiased) and E‖g‖² ≤ ‖∇f‖² + ‖σ‖²/b (variance of the mean); "
        "then η = 1/L_∞",
    ),
    Step(
        "telescope over t = 1..T and divide by T*eta/2",
        2 / (T * eta) * (D + T * L * eta**2 * V / (2 * b)),
        2 * D / (T * eta) + L * eta * V / b,
        "=",
        "Σ_t (η/2) E‖∇f(x_t)‖² ≤ f(x_1) − f* + T L_∞ η² ‖σ‖²/(2b)",
    ),
    Step(
        "substitute eta = 1/L_inf and b = T",
        (2 * D / (T * eta) + L * eta * V / b).subs({eta: ETA, b: T}),
        BOUND,
        "=",
        "the prescribed step and batch; E over the uniform x_a is the average over t",
    ),
)

THEOREM = Theorem(
    key="sgd",
    source="Theorem 1 (SGD, Ghadimi & Lan 2013)",
    provenance="statement [C: quoted]; explicit constants and steps [D: derived here]",
    statement="With b = T and η = 1/L_∞, SGD's uniformly chosen iterate satisfies "
    "E‖∇f(x_a)‖² ≤ 2(f(x_1) − f*)L_∞/T + ‖σ‖²/T.",
    statement_latex=r"With $b = T$ and $\eta = 1/L_\infty$, "
    r"$\mathbb{E}\|\nabla f(x_a)\|^2 \le \frac{2(f(x_1)-f^*)L_\infty}{T}"
    r" + \frac{\|\sigma\|^2}{T}$.",
    setting={
        "update": "x_{t+1} = x_t − η g_t (λ = 0)",
        "step": "constant η = 1/L_∞",
        "batch": "b = T",
        "output": "x_a, a uniform on {1, …, T}",
    },
    eta=ETA,
    batch_size=symbols.T,
    lhs_name="E||grad f(x_a)||^2",
    lhs_latex=r"\mathbb{E}\|\nabla f(x_a)\|^2",
    lhs=grad_sq_norm,
    lhs_squared_after_expectation=False,
    bound=BOUND,
    assumptions=(
        assumptions.certified(
            "smoothness_certified", "each block is L_i-smooth (block descent holds)"
        ),
        assumptions.certified("noise_variance_certified", "E‖∇_iℓ − ∇_i f‖² ≤ σ_i² per layer"),
        assumptions.setting_is("weight_decay", 0.0),
        assumptions.batch_equals_T(),
        assumptions.prescribed_eta(lambda inst: 1.0 / max(inst["L"])),
    ),
    steps=STEPS,
)
