"""Theorem 2: LARS (You et al. 2020, Theorem 2), with explicit constants [D].

The statement is [C: quoted] (Theorem 2). Take β1 = λ = 0, a constant η = √(2Δ/(α_u²‖L‖_1 T)),
b = T and α_l ≤ φ ≤ α_u, where Δ = f(x_1) − f(x*). Then
(E[(1/√h) Σ_i ‖∇_i f(x_a)‖])² ≤ O(Δ L_avg/T + ‖σ‖_1²/(T h)). The constants derived here [D] are

    (E[(1/√h) Σ_i ‖∇_i f(x_a)‖])² ≤ (α_u/α_l)² [4 Δ L_avg/T + 8 ‖σ‖_1²/(T h)].

The proof steps follow the paper's proof of Theorem 2 in seven steps (docs/paper.md). Facts about
one iterate are proved by sympy for any number of layers and coordinates (sympy ``Sum``); the
telescoping is a sympy sum over a symbolic T. Only the steps about expectations over the minibatch
are checked numerically, on the instances of :mod:`theory.problems` (h ≥ 4 layers of d_i ≥ 4
coordinates, several objective families), with expectations computed exactly by enumerating every
minibatch. The symbolic pieces shared with :mod:`theory.lamb` live here.
"""

from __future__ import annotations

import numpy as np
import sympy as sp

from theory import assumptions, problems, symbols
from theory.lemmas import (
    BLOCK_DESCENT,
    HOMOGENEITY,
    JENSEN_MINIBATCH,
    NORMALISATION_BIAS,
    SQUARE_OF_SUM,
    UNIT_DIRECTION,
    norm,
)
from theory.problems import Direction, Problem
from theory.steps import Step
from theory.theorem import Theorem

# --- expectations over the minibatch (numeric, exact enumeration) ---------------------------


def _lars(rng: np.random.Generator) -> tuple[Problem, Direction]:
    p = problems.draw_problem(rng)
    return p, lambda g: [gi / np.linalg.norm(gi) for gi in p.split(g)]


def _lars_parts(p: Problem) -> tuple[float, float, float]:
    """(Σ_i ‖∇_i‖, ‖σ‖_1 with σ_i² = E‖ζ^(i)‖² exact, curvature constant η²α_u²‖L‖_1/2)."""
    s1 = sum(np.linalg.norm(gi) for gi in p.split(p.grad))
    curv = p.eta**2 * p.alpha_u**2 * float(p.L.sum()) / 2
    return float(s1), float(p.layer_sigma().sum()), curv


def _one_step_expected(rng: np.random.Generator) -> tuple[float, float]:
    """E f(x_{t+1}) ≤ f(x_t) − ηα_l Σ‖∇_i‖ + 2ηα_u‖σ‖_1/√b + curvature, E computed exactly."""
    p, direction = _lars(rng)
    s1, sigma_1, curv = _lars_parts(p)
    lhs = p.expected_f(direction)
    rhs = p.f(p.x) - p.eta * p.alpha_l * s1 + 2 * p.eta * p.alpha_u * sigma_1 / np.sqrt(p.b)
    return lhs, rhs + curv


# --- symbols and the proof's shared tail ---------------------------------------------------

D, L1, al, au, sg, h, T, b, eta = (
    symbols.f_gap, symbols.L_1, symbols.alpha_l, symbols.alpha_u, symbols.sigma_1,
    symbols.h, symbols.T, symbols.b, symbols.eta,
)  # fmt: skip
nonneg = {"nonnegative": True}
# one layer at one iterate: ‖∇_i‖, ‖∇_i‖‖Δ^(i)‖, ‖g_i − ∇_i‖, ⟨∇_i, g_i/‖g_i‖⟩, φ_i
n, q, e = sp.symbols("n_i q_i e_i", **nonneg)
c = sp.Symbol("c_i", real=True)
phi = sp.Symbol("phi_i", positive=True)
# slacks of the side conditions, all ≥ 0: φ_i = α_l + δ_1, α_u = φ_i + δ_2, ...
delta1, delta2, kappa, mu, rho, s = sp.symbols("delta_1 delta_2 kappa mu rho s", **nonneg)
S1 = sp.Symbol("S_1", **nonneg)  # Σ_i ‖∇_i f(x_t)‖
E_dev = sp.Symbol("E_dev", **nonneg)  # Σ_i E‖g_t^(i) − ∇_i f(x_t)‖
M = sp.Symbol("M", **nonneg)  # the criterion before squaring, e.g. E[(1/√h) S_1(x_a)]
a_, c_ = sp.symbols("a c", **nonneg)  # the two terms before squaring
SIDE = {phi: al + delta1, au: al + delta1 + delta2}  # α_l ≤ φ_i ≤ α_u

ETA = sp.sqrt(2 * D / (au**2 * L1 * T))
CURV = eta**2 * au**2 * L1 / 2
BEFORE = (au / al) * (sp.sqrt(2 * D * L1 / T) + 2 * sg / sp.sqrt(T)) / sp.sqrt(h)
BOUND = (au / al) ** 2 * (4 * D * symbols.L_avg / T + 8 * sg**2 / (T * h))


# --- one iterate, any number of layers (sympy sums over i = 1..h) ---------------------------

layer = sp.Symbol("i", integer=True, positive=True)
coord = sp.Symbol("j", integer=True, positive=True)
d_i = sp.Symbol("d_i", integer=True, positive=True)  # coordinates in one layer
L_ = sp.IndexedBase("L", positive=True)  # L_i
phi_ = sp.IndexedBase("phi", positive=True)  # φ_i
omega_ = sp.IndexedBase("omega", **nonneg)  # φ_i = α_u/(1 + ω_i) ≤ α_u
w_ = sp.IndexedBase("w", **nonneg)  # ‖u_i‖² of the layer's direction


def layers(expr: sp.Expr) -> sp.Sum:
    """Σ_{i=1}^h expr."""
    return sp.Sum(expr, (layer, 1, h))


def curvature_step(name: str, why: str) -> Step:
    """Σ_i L_i‖ηφ_i u_i‖²/2 ≤ η²α_u²‖L‖_1/2 for unit directions u_i and 0 < φ_i ≤ α_u."""
    return Step(
        name,
        layers(L_[layer] * eta**2 * phi_[layer] ** 2 * w_[layer] / 2),
        CURV,
        "<=",
        f"{why}: ‖ηφ_i u_i‖² = η²φ_i²‖u_i‖² (homogeneity) with ‖u_i‖² = 1 (unit direction), "
        "φ_i = α_u/(1 + ω_i) ≤ α_u and ‖L‖_1 = Σ_i L_i; termwise for every number of layers h",
        substitutions={
            w_[layer]: 1,
            phi_[layer]: au / (1 + omega_[layer]),
            L1: layers(L_[layer]),
        },
        uses=(HOMOGENEITY, UNIT_DIRECTION),
    )


grad_, dev_ = sp.IndexedBase("grad", real=True), sp.IndexedBase("Delta", real=True)
G_norm, D_norm = sp.symbols("||grad_i|| ||Delta_i||", positive=True)
SPLIT = Step(
    "LARS 2: split the direction, -<grad_i, u_i> <= -norm(grad_i) + norm(grad_i) norm(Delta_i)",
    -sp.Sum(grad_[coord] * (grad_[coord] / G_norm + dev_[coord]), (coord, 1, d_i)),
    -G_norm + G_norm * D_norm,
    "<=",
    "u_i = ∇_i/‖∇_i‖ + Δ^(i), so −⟨∇_i, u_i⟩ = −‖∇_i‖ − ⟨∇_i, Δ^(i)⟩; Cauchy–Schwarz with its "
    "sum-of-squares certificate (‖∇_i‖‖Δ^(i)‖/2) Σ_j (∇_j/‖∇_i‖ + Δ_j/‖Δ^(i)‖)², for any d_i",
    substitutions={G_norm: norm(grad_, d_i), D_norm: norm(dev_, d_i)},
    certificate=G_norm
    * D_norm
    / 2
    * sp.Sum((grad_[coord] / G_norm + dev_[coord] / D_norm) ** 2, (coord, 1, d_i)),
)

LAYER_DESCENT = Step(
    "LARS 3: one layer's descent term with alpha_l <= phi_i <= alpha_u",
    -phi * c,
    -al * n + 2 * au * e,
    "<=",
    "c_i ≥ n_i − q_i (step 2), q_i ≤ 2e_i (normalisation bias), α_l ≤ φ_i ≤ α_u; "
    "summed over layers: −ηΣφ_i c_i ≤ −ηα_l S_1 + 2ηα_u Σ_i e_i",
    substitutions={c: n - q + kappa, e: (q + mu) / 2, **SIDE},
    uses=(SPLIT, NORMALISATION_BIAS),
)

F0, F1 = sp.symbols("F_t F_{t+1}", real=True)  # f(x_t), f(x_{t+1})
K = sp.Symbol("K", **nonneg)  # Σ_i L_i‖x_{t+1}^(i) − x_t^(i)‖²/2
kappa0, kappa1 = sp.symbols("kappa_0 kappa_1", **nonneg)
c_i, n_i, e_i = sp.IndexedBase("c", real=True), *(sp.IndexedBase(x, **nonneg) for x in "ne")
kappa_ = sp.IndexedBase("kappa", **nonneg)


def one_step_sample_step(
    name: str, why: str, curvature: Step, layer_step: Step, layer_bound: sp.Expr
) -> Step:
    """f(x_{t+1}) ≤ f(x_t) + η Σ_i layer_bound_i + η²α_u²‖L‖_1/2 for one minibatch: block
    descent at y = x_{t+1} (y_i − x_i = −ηφ_i u_i, c_i = ⟨∇_i, u_i⟩), the curvature step and
    −φ_i c_i ≤ layer_bound_i (the layer step) for every layer, summed over any h."""
    return Step(
        name,
        F1,
        F0 + eta * layers(layer_bound) + CURV,
        "<=",
        why,
        substitutions={
            F1: F0 - eta * layers(phi_[layer] * c_i[layer]) + K - kappa0,
            K: CURV - kappa1,
            c_i[layer]: (-layer_bound + kappa_[layer]) / phi_[layer],
        },
        uses=(BLOCK_DESCENT, curvature, layer_step),
    )


# telescoping: F_t = E f(x_t), S_t = E measure(x_t), r_t ≥ 0 the slack of the one-step bound
it = sp.Symbol("t", integer=True, positive=True)
F_, S_, r_ = (
    sp.IndexedBase("F", real=True),
    sp.IndexedBase("S", real=True),
    sp.IndexedBase("r", **nonneg),
)
a_tel, c_tel = sp.Symbol("a", positive=True), sp.Symbol("c", **nonneg)
f_star, f_gap_end = sp.Symbol("f*", real=True), sp.Symbol("gamma", **nonneg)
# the one-step bound as an equation with its slack: F_{t+1} = F_t − a S_t + c − r_t
PREMISE = sp.Eq(F_[it + 1], F_[it] - a_tel * S_[it] + c_tel - r_[it])


def telescope_step(name: str, a: sp.Expr) -> Step:
    """(1/T) Σ_{t=1}^T S_t ≤ (F_1 − f*)/(Ta) + c/a from :data:`PREMISE` for t = 1..T and
    F_{T+1} = f* + γ, γ ≥ 0: sympy solves the premise for S_t, sums over a symbolic T
    (Σ_t (F_t − F_{t+1}) telescopes to F_1 − F_{T+1}) and decides the sign."""
    return Step(
        name,
        sp.Sum(S_[it], (it, 1, T)) / T,
        (F_[1] - f_star) / (T * a_tel) + c_tel / a_tel,
        "<=",
        f"F_{{t+1}} = F_t − a·S_t + c − r_t with r_t ≥ 0 for t = 1..T (the one-step bound in "
        f"expectation, a = η·{a}, c = η·noise + η²α_u²‖L‖_1/2) and "
        "F_{T+1} = E f(x_{T+1}) ≥ f*; "
        "the difference is (γ + Σ_t r_t)/(Ta) ≥ 0 for every T",
        substitutions={S_[it]: sp.solve(PREMISE, S_[it])[0], F_[T + 1]: f_star + f_gap_end},
    )


def telescoped(a: sp.Expr, noise: sp.Expr, scale: sp.Expr = sp.S.One) -> sp.Expr:
    """scale·[Δ/(Tηa) + noise/a + ηα_u²‖L‖_1/(2a)]: the average of the measure after summing
    E f(x_{t+1}) ≤ f(x_t) − ηa·measure_t + η·noise + η²α_u²‖L‖_1/2 over t and dividing."""
    return scale * (D / (T * eta * a) + noise / a + eta * au**2 * L1 / (2 * a))


def tail_steps(tag: str, a, noise, scale, before, subs=None) -> tuple[Step, ...]:
    """Last steps of Theorems 2-3's proofs: telescope, divide, balance at η*, plug η*, b = T."""
    subs = dict(subs or {})
    tel = telescoped(a, noise, scale)
    first, last = scale * D / (T * eta * a), scale * eta * au**2 * L1 / (2 * a)
    return (
        telescope_step(f"{tag}: telescope the one-step bound over t = 1..T", a),
        Step(
            f"{tag}: divide by T eta a",
            scale * (D + T * (eta * noise + CURV)) / (T * eta * a),
            tel,
            "=",
            "algebra",
            substitutions=subs,
        ),
        Step(
            f"{tag}: first and last terms are equal at eta*",
            first.subs(eta, ETA),
            last.subs(eta, ETA),
            "=",
            "η* = √(2Δ/(α_u²‖L‖_1 T)) balances them (see theory.derivations)",
            substitutions=subs,
        ),
        Step(
            f"{tag}: plug in eta* and b = T",
            tel.subs({eta: ETA, b: T}),
            before,
            "=",
            "the balanced terms add up to scale·(α_u/a)√(2Δ‖L‖_1/T); E over the uniform x_a is the "
            "mean over t",
            substitutions=subs,
        ),
    )


def squaring_steps(tag: str, before, bound, subs) -> tuple[Step, ...]:
    """Square the bound on E[measure]: monotone, then (a+b)² ≤ 2a² + 2b²."""
    return (
        Step(
            f"{tag}: squaring preserves the bound",
            M**2,
            before**2,
            "<=",
            "0 ≤ M ≤ X implies M² ≤ X² (M = X/(1+s), s ≥ 0)",
            substitutions={M: before / (1 + s)},
        ),
        SQUARE_OF_SUM,
        Step(
            f"{tag}: apply (a+b)^2 <= 2a^2 + 2b^2",
            before**2,
            bound,
            "<=",
            "‖L‖_1/h = L_avg; writing the two terms as a, c ≥ 0 ("
            + ", ".join(f"{k} = {v}" for k, v in subs.items())
            + ") turns the difference into a positive multiple of (a − c)²",
            substitutions=subs,
        ),
    )


# (a, noise, scale) of the one-step bound E f(x_{t+1}) ≤ f(x_t) − ηa·S_1 + η·noise + curvature
TAIL = (al, 2 * au * sg / sp.sqrt(b), 1 / sp.sqrt(h))


def prescribed_eta_of(inst) -> float:
    """η = √(2Δ/(α_u²‖L‖_1 T)) on an instance (LARS and LAMB)."""
    return float(np.sqrt(2 * inst["f_gap"] / (inst["alpha_u"] ** 2 * sum(inst["L"]) * inst["T"])))


def layer_sum_norm(layer_grads) -> float:
    """(1/√h) Σ_i ‖∇_i f(x)‖ from the per-layer gradients."""
    return float(sum(np.linalg.norm(np.ravel(g)) for g in layer_grads) / np.sqrt(len(layer_grads)))


def _n(name: str, check, lhs: str, rhs: str, why: str, rel: str = "<=") -> Step:
    """A step about an expectation, checked numerically; lhs and rhs are display names."""
    return Step(name, sp.Symbol(lhs), sp.Symbol(rhs), rel, why, numeric=check)


CURVATURE = curvature_step(
    "LARS 1: each layer moves by eta*phi_i, curvature term <= eta^2 alpha_u^2 L_1/2",
    "the update moves layer i by ηφ_i u_i, u_i = g_i/‖g_i‖",
)

STEPS = (
    BLOCK_DESCENT,
    CURVATURE,
    SPLIT,
    NORMALISATION_BIAS,
    LAYER_DESCENT,
    one_step_sample_step(
        "LARS 3: one-step bound for one minibatch (checked on the update)",
        "steps 1-3 composed, before expectation: block descent at y = x_{t+1}, the curvature "
        "bound, and −φ_i c_i ≤ −α_l‖∇_i‖ + 2α_u‖g_i − ∇_i‖ in every layer, summed over any h",
        CURVATURE,
        LAYER_DESCENT,
        -al * n_i[layer] + 2 * au * e_i[layer],
    ),
    JENSEN_MINIBATCH,
    Step(
        "LARS 4: Jensen in the one-step bound",
        -eta * al * S1 + 2 * eta * au * E_dev + CURV,
        -eta * al * S1 + 2 * eta * au * sg / sp.sqrt(b) + CURV,
        "<=",
        "Σ_i E‖g_i − ∇_i‖ ≤ Σ_i σ_i/√b = ‖σ‖_1/√b",
        substitutions={E_dev: sg / sp.sqrt(b) - rho},
        uses=(JENSEN_MINIBATCH,),
    ),
    _n(
        "LARS 4: one-step bound in expectation (exact over minibatches)",
        _one_step_expected,
        "E f(x_{t+1})",
        "f(x_t) - eta alpha_l S_1 + 2 eta alpha_u ||sigma||_1/sqrt(b) + eta^2 alpha_u^2 L_1/2",
        "steps 1-4 composed; E over every minibatch of a random finite noise distribution",
    ),
    *tail_steps("LARS 5-6", *TAIL, BEFORE),
    *squaring_steps("LARS 7", BEFORE, BOUND, {D: a_**2 * T / (2 * L1), sg: c_ * sp.sqrt(T) / 2}),
)

THEOREM = Theorem(
    key="lars",
    source="Theorem 2 (LARS)",
    provenance="statement [C: quoted]; explicit constants and steps [D: derived here]",
    statement="With β1 = λ = 0, η = √(2Δ/(α_u²‖L‖_1 T)), b = T and α_l ≤ φ ≤ α_u, LARS's "
    "uniformly chosen iterate satisfies (E[(1/√h)Σ_i‖∇_i f(x_a)‖])² ≤ "
    "(α_u/α_l)²[4ΔL_avg/T + 8‖σ‖_1²/(Th)], Δ = f(x_1) − f(x*).",
    statement_latex=r"With $\beta_1 = \lambda = 0$, "
    r"$\eta = \sqrt{2\Delta/(\alpha_u^2\|L\|_1 T)}$, $b = T$ and $\alpha_l \le \phi \le \alpha_u$, "
    r"$\big(\mathbb{E}\big[\tfrac{1}{\sqrt h}\sum_i\|\nabla_i f(x_a)\|\big]\big)^2 \le "
    r"\frac{\alpha_u^2}{\alpha_l^2}\Big[\frac{4\Delta L_{avg}}{T}"
    r" + \frac{8\|\sigma\|_1^2}{Th}\Big]$.",
    setting={
        "update": "x_{t+1}^(i) = x_t^(i) − η φ(‖x_t^(i)‖) g_t^(i)/‖g_t^(i)‖ (β1 = 0, λ = 0)",
        "step": "constant η = √(2Δ/(α_u²‖L‖_1 T))",
        "batch": "b = T",
        "eps": "unused by LARS",
        "output": "x_a, a uniform on {1, …, T}",
    },
    eta=ETA,
    batch_size=symbols.T,
    lhs_name="(E[(1/sqrt(h)) sum_i ||grad_i f(x_a)||])^2",
    lhs_latex=r"\Big(\mathbb{E}\Big[\frac{1}{\sqrt h}\sum_{i=1}^h\|\nabla_i f(x_a)\|\Big]\Big)^2",
    lhs=layer_sum_norm,
    lhs_squared_after_expectation=True,
    bound=BOUND,
    sharp_bound=BEFORE**2,
    assumptions=(
        assumptions.certified(
            "smoothness_certified", "each block is L_i-smooth (block descent holds)"
        ),
        assumptions.certified("noise_variance_certified", "E‖∇_iℓ − ∇_i f‖² ≤ σ_i² per layer"),
        assumptions.setting_is("beta1", 0.0),
        assumptions.setting_is("weight_decay", 0.0),
        assumptions.phi_bounded(),
        assumptions.batch_equals_T(),
        assumptions.prescribed_eta(prescribed_eta_of),
    ),
    steps=STEPS,
    notes=(
        "The O(·) of the paper hides (α_u/α_l)² and the absolute constants 4 and 8 [D].",
        "The 1/√h in the criterion only normalises it: ‖∇f‖/√h ≤ (1/√h)Σ_i‖∇_i f‖ ≤ ‖∇f‖.",
    ),
)
