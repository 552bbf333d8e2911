"""Theorem 3: LAMB (You et al. 2020, Theorem 3), both cases, with explicit constants [D].

The statement is [R] (Theorem 3); the constants are derived here [D]. The setting is β1 = λ = 0,
ε = 0, d_i = d/h, η = √(2Δ/(α_u²‖L‖_1 T)), b = T and α_l ≤ φ ≤ α_u, with Δ = f(x_1) − f(x*).

* β2 = 0, where LAMB is per-layer sign descent:

      (E[(1/√d)‖∇f(x_a)‖_1])² ≤ 2(α_u/α_l)² [2 Δ L_avg/T + 4 ‖σ̃‖_1²/(d T)].

* 0 < β2 < 1, with bounded gradients |[∇ℓ(x, s)]_j| ≤ G:

      E‖∇f(x_a)‖² ≤ (α_u/α_l) √(G² d/(h(1 − β2))) [√(2Δ‖L‖_1/T) + ‖σ̃‖_1/√T].

The facts about one coordinate or one layer (r = sign g, the v̂ bounds with and without Adam's
bias correction, the agreeing/disagreeing coordinates) are proved by sympy. The steps about
expectations over the minibatch are checked numerically on the equal-size instances of
:mod:`theory.problems`, with expectations computed exactly by enumerating every minibatch; the
β2 > 0 checks also draw a random gradient history with |g| ≤ G, with and without bias correction.
"""

from __future__ import annotations

import numpy as np
import sympy as sp

from theory import assumptions, problems, symbols
from theory.lars import (
    ETA,
    SIDE,
    _n,
    a_,
    c_,
    curvature_step,
    kappa,
    mu,
    nonneg,
    phi,
    prescribed_eta_of,
    rho,
    squaring_steps,
    tail_steps,
)
from theory.lemmas import BLOCK_DESCENT, SIGN_DISAGREEMENT, SQRT_MONOTONE
from theory.problems import Direction, Problem, worst
from theory.sgd import grad_sq_norm
from theory.steps import Step
from theory.theorem import Assumption, Theorem

# --- expectations over the minibatch (numeric, exact enumeration) ---------------------------


def _vhat(g, v_prev, beta2: float, t: int, bias_correction: bool) -> np.ndarray:
    """Algorithm 2's v̂_t: v = β2 v_prev + (1 − β2) g², divided by 1 − β2^t if corrected."""
    v = beta2 * v_prev + (1 - beta2) * g**2
    return v / (1 - beta2**t) if bias_correction else v


def _sign(rng: np.random.Generator) -> tuple[Problem, Direction]:
    """An equal-size problem and LAMB's direction with β1 = β2 = ε = 0: r = g/√(g²)."""
    p = problems.draw_problem(rng, equal_sizes=True)

    def direction(g: np.ndarray) -> list[np.ndarray]:
        r = g / np.sqrt(_vhat(g, 0.0, 0.0, 1, False))
        return [ri / np.linalg.norm(ri) for ri in p.split(r)]

    return p, direction


def _adam(rng: np.random.Generator):
    """A problem, its LAMB direction at a random history, (β2, G) and v̂ as a function of g."""
    p = problems.draw_problem(rng, equal_sizes=True)
    G = float(np.abs(p.sample_grads()).max() * rng.uniform(1, 1.5))
    beta2 = float(1 - np.exp(rng.uniform(np.log(1e-4), np.log(0.999))))
    t, correct, v = int(rng.integers(1, 6)), bool(rng.integers(2)), np.zeros_like(p.x)
    for _ in range(t - 1):
        v = beta2 * v + (1 - beta2) * rng.uniform(-G, G, size=v.size) ** 2
    vhat = lambda g: _vhat(g, v, beta2, t, correct)  # noqa: E731
    unit = lambda g: [r / np.linalg.norm(r) for r in p.split(g / np.sqrt(vhat(g)))]  # noqa: E731
    return p, unit, beta2, G, vhat


def _curvature(p: Problem) -> float:
    return p.eta**2 * p.alpha_u**2 * float(p.L.sum()) / 2


def _zero_one_step(rng: np.random.Generator) -> tuple[float, float]:
    p, direction = _sign(rng)
    w = np.sqrt(len(p.sizes) / p.x.size)  # 1/√d_i = √(h/d)
    rhs = p.f(p.x) - p.eta * p.alpha_l * w * np.abs(p.grad).sum()
    rhs += 2 * p.eta * p.alpha_u * w * p.coord_sigma().sum() / np.sqrt(p.b)
    return p.expected_f(direction), rhs + _curvature(p)


def _agree_expectation(rng: np.random.Generator) -> tuple[float, float]:
    """E[∇_j ḡ_j 1(sign ḡ_j = sign ∇_j)] ≥ ∇_j² for every coordinate (worst), exactly."""
    p = problems.draw_problem(rng)
    grad, agree = p.grad, np.zeros(p.x.size)
    for q, g in p.minibatch_grads():
        agree += q * grad * g * (np.sign(g) == np.sign(grad))
    return worst(grad**2, agree)


def _together(rng: np.random.Generator) -> tuple[float, float]:
    """E Σ_j ∇_j r_j/‖r^(i)‖ ≥ √((1−β2)/(d_i G²))‖∇^(i)‖² − Σ_j σ̃_j/√b, every layer (worst)."""
    p, direction, beta2, G, _ = _adam(rng)
    grads, sig = p.split(p.grad), p.split(p.coord_sigma())
    c = np.sqrt((1 - beta2) / (p.sizes[0] * G**2))
    lhs = np.array(
        [c * gi @ gi - si.sum() / np.sqrt(p.b) for gi, si in zip(grads, sig, strict=True)]
    )
    rhs = np.zeros(len(p.sizes))
    for q, g in p.minibatch_grads():
        rhs += q * np.array([gi @ ui for gi, ui in zip(grads, direction(g), strict=True)])
    return worst(lhs, rhs)


def _pos_one_step(rng: np.random.Generator) -> tuple[float, float]:
    p, direction, beta2, G, _ = _adam(rng)
    c = np.sqrt(len(p.sizes) * (1 - beta2) / (p.x.size * G**2))
    rhs = p.f(p.x) - p.eta * p.alpha_l * c * float(p.grad @ p.grad)
    rhs += p.eta * p.alpha_u * p.coord_sigma().sum() / np.sqrt(p.b)
    return p.expected_f(direction), rhs + _curvature(p)


# --- symbols ---------------------------------------------------------------------------------

D, L1, al, au, st, h, d, T, b, eta = (
    symbols.f_gap, symbols.L_1, symbols.alpha_l, symbols.alpha_u, symbols.sigma_tilde_1,
    symbols.h, symbols.d, symbols.T, symbols.b, symbols.eta,
)  # fmt: skip
beta2, G = symbols.beta2, symbols.G
n_j = sp.Symbol("n_j", positive=True)  # |∇_j f(x_t)| of one coordinate
P_j, s_j = sp.symbols("P_j tilde_sigma_j", **nonneg)  # P(sign g_j ≠ sign ∇_j), σ̃_j
# one layer: ‖∇^(i)‖_1, ‖∇^(i)‖², Σ_j|∇_j|P_j, Σ_j σ̃_j/√b, E Σ_j ∇_j r_j/‖r^(i)‖
N_i, Q_i, P_i, e_i = sp.symbols("N_i Q_i P_i e_i", **nonneg)
X_i = sp.Symbol("X_i", real=True)
u = sp.Symbol("u", positive=True)  # β2 = u/(1 + u) ∈ (0, 1)
B2 = {beta2: u / (1 + u)}

W = sp.sqrt(h / d)  # 1/√d_i with d_i = d/h
C = sp.sqrt(h * (1 - beta2) / (d * G**2))  # √((1 − β2)/(d_i G²))
# (a, noise, scale) of each one-step bound, as in theory.lars.TAIL
TAIL_ZERO = (al * W, 2 * au * W * st / sp.sqrt(b), 1 / sp.sqrt(d))
TAIL_POS = (al * C, au * st / sp.sqrt(b), sp.S.One)
BEFORE0 = (au / al) * (sp.sqrt(2 * D * symbols.L_avg / T) + 2 * st / sp.sqrt(d * T))
BOUND0 = 2 * (au / al) ** 2 * (2 * D * symbols.L_avg / T + 4 * st**2 / (d * T))
BOUNDP = (au / al) * sp.sqrt(G**2 * d / (h * (1 - beta2)))
BOUNDP *= sp.sqrt(2 * D * L1 / T) + st / sp.sqrt(T)


def l1_over_sqrt_d(layer_grads) -> float:
    """(1/√d)‖∇f(x)‖_1 from the per-layer gradients (d = their total size)."""
    flat = np.concatenate([np.ravel(g) for g in layer_grads])
    return float(np.abs(flat).sum() / np.sqrt(flat.size))


# --- one coordinate / one layer, symbolic ----------------------------------------------------

coord = sp.Symbol("j", integer=True, positive=True)
d_i = sp.Symbol("d_i", integer=True, positive=True)  # coordinates in one layer
g_nz = sp.IndexedBase("g", real=True, nonzero=True)  # g_j ≠ 0 (almost surely)
grad_j, g_j = (
    sp.Symbol("grad_j", real=True, nonzero=True),
    sp.Symbol("g_j", real=True, nonzero=True),
)
k_pos, k1, k2, z, w1, w2 = sp.symbols("k kappa_1 kappa_2 z w_1 w_2", **nonneg)
ind = sp.Symbol("1[wrong sign]", **nonneg)
sgn = sp.Symbol("epsilon", real=True)  # ±1
mag, mag_g = sp.symbols("|grad_j| |g_j|", positive=True)
t_it = sp.Symbol("t", integer=True, positive=True)
k_it = sp.Symbol("k", integer=True, nonnegative=True)
v_prev = sp.Symbol("v_{t-1}", **nonneg)
vhat = sp.Symbol("vhat_j", positive=True)
sqrt_vhat, norm_r = sp.symbols("sqrt(vhat_j) ||r^(i)||", positive=True)
r_ = sp.IndexedBase("r", real=True)
slack_ = sp.IndexedBase("kappa", **nonneg)
C_i = sp.sqrt((1 - beta2) / (d_i * G**2))  # √((1 − β2)/(d_i G²))

SIGN_NORM = Step(
    "LAMB0 1: r = g/sqrt(g^2) = sign(g), so norm(r^(i)) = sqrt(d_i)",
    sp.sqrt(sp.Sum((g_nz[coord] / sp.sqrt(g_nz[coord] ** 2)) ** 2, (coord, 1, d_i))),
    sp.sqrt(d_i),
    "=",
    "β1 = β2 = ε = 0: v̂ = g², r_j = g_j/√(g_j²) and r_j² = 1 for g_j ≠ 0 (almost surely), so "
    "Σ_j r_j² = d_i for every d_i",
)

SIGN_SPLIT = Step(
    "LAMB0 2: -grad_j r_j = -abs(grad_j) + 2 abs(grad_j) 1[sign g_j != sign grad_j]",
    -grad_j * g_j / sp.sqrt(g_j**2),
    -sp.Abs(grad_j) + 2 * sp.Abs(grad_j) * ind,
    "=",
    "r_j = g_j/√(g_j²) with g_j ≠ 0; the cases (signs agree: g_j = k∇_j, disagree: "
    "g_j = −k∇_j, k > 0; or ∇_j = 0) are exhaustive",
    cases=(
        ("signs agree: g_j = k grad_j, k > 0", {g_j: (1 + k_pos) * grad_j, ind: 0}),
        ("signs disagree: g_j = -k grad_j, k > 0", {g_j: -(1 + k_pos) * grad_j, ind: 1}),
        ("grad_j = 0", {grad_j: 0}),
    ),
)

BIAS_FACTOR = Step(
    "bias correction, beta2^t <= 1",
    beta2**t_it,
    sp.S.One,
    "<=",
    "1 − β2^t = (1 − β2) Σ_{k=0}^{t−1} β2^k (geometric sum, the certificate, decided ≥ 0 for "
    "0 < β2 < 1, β2 = u/(1+u)); it is a sum of t ≥ 1 positive terms, so 1 − β2^t ≠ 0 where v̂ "
    "divides by it, and with β2^t > 0: 0 < 1 − β2^t ≤ 1",
    substitutions=B2,
    certificate=(1 - beta2) * sp.Sum(beta2**k_it, (k_it, 0, t_it - 1)),
)

V_LOW = Step(
    "LAMB+ 1: vhat_j >= (1 - beta2) g_j^2",
    (1 - beta2) * g_j**2,
    vhat,
    "<=",
    "v_t = β2 v_{t−1} + (1−β2)g_t² with v_{t−1} ≥ 0; bias correction divides by 1 − β2^t ∈ (0, 1], "
    "i.e. multiplies by 1 + z, z ≥ 0 (bias-correction lemma); 0 < β2 < 1",
    substitutions=B2,
    cases=(
        ("no bias correction", {vhat: beta2 * v_prev + (1 - beta2) * g_j**2}),
        ("bias correction", {vhat: (beta2 * v_prev + (1 - beta2) * g_j**2) * (1 + z)}),
    ),
    uses=(BIAS_FACTOR,),
)

RATIO = Step(
    "LAMB+ 1: abs(r_j) <= 1/sqrt(1 - beta2)",
    (g_j / sp.sqrt(vhat)) ** 2,
    1 / (1 - beta2),
    "<=",
    "checked squared, r_j² = g_j²/v̂_j ≤ 1/(1−β2), from v̂_j = (1−β2)g_j² + k, k ≥ 0 (previous "
    "step); both sides are ≥ 0, so the square root keeps it (√ monotone lemma); g_j = 0 gives "
    "r_j = 0",
    substitutions={vhat: (1 - beta2) * g_j**2 + k_pos, **B2},
    uses=(V_LOW, SQRT_MONOTONE),
)

NORM_R = Step(
    "LAMB+ 1: norm(r^(i)) <= sqrt(d_i/(1 - beta2))",
    sp.Sum(r_[coord] ** 2, (coord, 1, d_i)),
    d_i / (1 - beta2),
    "<=",
    "checked squared, ‖r^(i)‖² = Σ_j r_j² ≤ d_i/(1−β2) termwise from r_j² ≤ 1/(1−β2) (previous "
    "step), for every d_i; then √ monotone",
    substitutions={r_[coord] ** 2: 1 / (1 - beta2) - slack_[coord], **B2},
    uses=(RATIO, SQRT_MONOTONE),
)

V_CLAIM = G**2 * (1 - beta2**t_it)
V_BOUND = Step(
    "v_t <= G^2 (1 - beta2^t) by induction on t",
    beta2 * v_prev + (1 - beta2) * g_j**2,
    V_CLAIM,
    "<=",
    "v_t = β2 v_{t−1} + (1−β2)g_t² with g_t² = G² − m ≤ G² (bounded gradients): the base case "
    "t = 1 (v_0 = 0) and the induction step (v_{t−1} = G²(1 − β2^{t−1}) − k, k ≥ 0)",
    substitutions={g_j**2: G**2 - k1, **B2},
    cases=(
        ("base t = 1, v_0 = 0", {v_prev: 0, t_it: 1}),
        # the induction hypothesis is the claim itself at t − 1, with its slack k ≥ 0
        ("step t - 1 -> t", {v_prev: V_CLAIM.subs(t_it, t_it - 1) - k2}),
    ),
)

VHAT_G = Step(
    "LAMB+ 2: sqrt(vhat_j) <= G",
    vhat,
    G**2,
    "<=",
    "checked squared, v̂_j ≤ G²: v_t = G²(1 − β2^t) − k (previous lemma), uncorrected v̂ = v_t, "
    "corrected v̂ = v_t/(1 − β2^t) with 1 − β2^t = 1/(1 + z) ∈ (0, 1] (bias-correction lemma); "
    "then √ monotone",
    substitutions={beta2**t_it: z / (1 + z), **B2},
    cases=(
        ("no bias correction", {vhat: G**2 * (1 - beta2**t_it) - k1}),
        ("bias correction", {vhat: (G**2 * (1 - beta2**t_it) - k1) / (1 - beta2**t_it)}),
    ),
    uses=(V_BOUND, BIAS_FACTOR, SQRT_MONOTONE),
)

AGREE = Step(
    "LAMB+ 3: agreeing coordinates, grad_j r_j/norm(r) >= c_i abs(grad_j g_j)",
    C_i * mag * mag_g,
    (sgn * mag) * (sgn * mag_g / sqrt_vhat) / norm_r,
    "<=",
    "signs agree: ∇_j = ε|∇_j|, g_j = ε|g_j|, ε = ±1; r_j = g_j/√v̂_j with √v̂_j = G/(1 + w_1) ≤ G "
    "(step 2) and ‖r^(i)‖ = √(d_i/(1−β2))/(1 + w_2) (step 1)",
    substitutions={
        sqrt_vhat: G / (1 + w1),
        norm_r: sp.sqrt(d_i / (1 - beta2)) / (1 + w2),
        **B2,
    },
    cases=(("both positive", {sgn: 1}), ("both negative", {sgn: -1})),
    uses=(VHAT_G, NORM_R),
)


def _disagree(dim: int) -> list[tuple[sp.Expr, sp.Expr, dict]]:
    """(∇_j r_j/‖r‖)² ≤ ∇_j² for every coordinate j of an explicit r ∈ R^dim, r ≠ 0."""
    r = sp.symbols(f"r_1:{dim + 1}", real=True, nonzero=True)
    sq = sum(x**2 for x in r)
    return [(grad_j**2 * r[k] ** 2 / sq, grad_j**2, {}) for k in range(dim)]


DISAGREE = Step(
    "LAMB+ 4: disagreeing coordinates, abs(grad_j r_j/norm(r)) <= abs(grad_j)",
    sp.Symbol("(grad_j r_j/||r^(i)||)^2"),
    sp.Symbol("grad_j^2"),
    "<=",
    "checked squared: r_j² ≤ Σ_k r_k² = ‖r^(i)‖² (every coordinate of every layer size up to 6), "
    "then √ monotone",
    componentwise=_disagree,
    dims=range(1, 7),
    uses=(SQRT_MONOTONE,),
)

STEPS_ZERO = (
    BLOCK_DESCENT,
    SIGN_NORM,
    curvature_step(
        "LAMB0 1: each layer moves by eta*phi_i, curvature term <= eta^2 alpha_u^2 L_1/2",
        "the update moves layer i by ηφ_i u_i, u_i = r^(i)/‖r^(i)‖",
    ),
    SIGN_SPLIT,
    SIGN_DISAGREEMENT,
    Step(
        "LAMB0 3: the abs(grad_j) cancels",
        n_j * P_j,
        s_j / sp.sqrt(b),
        "<=",
        "P_j ≤ σ̃_j/(√b|∇_j|) (sign-disagreement lemma); coordinates with ∇_j = 0 contribute 0",
        substitutions={P_j: s_j / (sp.sqrt(b) * n_j) - rho},
        uses=(SIGN_DISAGREEMENT,),
    ),
    Step(
        "LAMB0 4: one layer's expected descent term with d_i = d/h",
        phi * W * (-N_i + 2 * P_i),
        W * (-al * N_i + 2 * au * e_i),
        "<=",
        "E[−Σ_j ∇_j r_j] = −N_i + 2P_i (step 2), P_i ≤ e_i (step 3), α_l ≤ φ_i ≤ α_u; summed "
        "over layers: −ηα_l√(h/d)‖∇f‖_1 + 2ηα_u√(h/d)‖σ̃‖_1/√b",
        substitutions={e_i: P_i + mu, **SIDE},
    ),
    _n(
        "LAMB0 4: one-step bound in expectation (exact over minibatches)",
        _zero_one_step,
        "E f(x_{t+1})",
        "f(x_t) - eta alpha_l sqrt(h/d)||grad||_1 + 2 eta alpha_u sqrt(h/d)||tsigma||_1/sqrt(b) + "
        "eta^2 alpha_u^2 L_1/2",
        "steps 1-4 composed on random equal-size instances",
    ),
    *tail_steps("LAMB0 5", *TAIL_ZERO, BEFORE0),
    *squaring_steps(
        "LAMB0 6", BEFORE0, BOUND0, {D: a_**2 * T * h / (2 * L1), st: c_ * sp.sqrt(d * T) / 2}
    ),
)

STEPS_POS = (
    BLOCK_DESCENT,
    V_LOW,
    RATIO,
    NORM_R,
    curvature_step(
        "LAMB+ 1: each layer moves by eta*phi_i, curvature term <= eta^2 alpha_u^2 L_1/2",
        "the update moves layer i by ηφ_i u_i, u_i = r^(i)/‖r^(i)‖",
    ),
    VHAT_G,
    AGREE,
    _n(
        "LAMB+ 3: E[grad_j g_j 1(agree)] >= grad_j^2 (exact over minibatches)",
        _agree_expectation,
        "grad_j^2",
        "E[grad_j g_j 1(sign g_j = sign grad_j)]",
        "E[∇_j g_j] = ∇_j² and ∇_j g_j ≤ 0 where the signs disagree; every coordinate",
    ),
    DISAGREE,
    SIGN_DISAGREEMENT,
    _n(
        "LAMB+ 5: E sum_j grad_j r_j/norm(r^(i)) >= c_i norm(grad^(i))^2 - sum_j tsigma_j/sqrt(b)",
        _together,
        "c_i ||grad^(i)||^2 - sum_j tsigma_j/sqrt(b)",
        "E sum_j grad_j r_j/||r^(i)||",
        "steps 3-4 and the sign-disagreement lemma (|∇_j| cancels); exact over minibatches, "
        "every layer",
    ),
    Step(
        "LAMB+ 5: one layer's expected descent term with d_i = d/h",
        -phi * X_i,
        -al * C * Q_i + au * e_i,
        "<=",
        "X_i ≥ C Q_i − P_i (previous step), P_i ≤ e_i, α_l ≤ φ_i ≤ α_u, 0 < β2 < 1 "
        "(β2 = u/(1+u)); summed over layers: −ηα_l C‖∇f‖² + ηα_u‖σ̃‖_1/√b",
        substitutions={X_i: C * Q_i - P_i + kappa, e_i: P_i + mu, **SIDE, **B2},
    ),
    _n(
        "LAMB+ 5: one-step bound in expectation (exact over minibatches)",
        _pos_one_step,
        "E f(x_{t+1})",
        "f(x_t) - eta alpha_l C ||grad||^2 + eta alpha_u ||tsigma||_1/sqrt(b) + "
        "eta^2 alpha_u^2 L_1/2",
        "steps 1-5 composed, at a random gradient history with |g| ≤ G",
    ),
    *tail_steps("LAMB+ 6", *TAIL_POS, BOUNDP, subs=B2),
)


def _beta2(inst) -> float:
    """β2 of the run: ``settings["beta2"]`` if given, else the instance's ``beta2``."""
    settings = inst["settings"]
    return float(settings["beta2"] if "beta2" in settings else inst["beta2"])


def _beta2_in_unit(inst) -> bool:
    return 0 < _beta2(inst) < 1


def _common(*extra: Assumption) -> tuple[Assumption, ...]:
    return (
        assumptions.certified(
            "smoothness_certified", "each block is L_i-smooth (block descent holds)"
        ),
        assumptions.certified(
            "noise_variance_certified", "E|[∇ℓ]_j − [∇f]_j|² ≤ σ̃_j² per coordinate"
        ),
        assumptions.setting_is("beta1", 0.0),
        *extra,
        assumptions.setting_is("weight_decay", 0.0),
        assumptions.setting_is("eps", 0.0),
        assumptions.phi_bounded(),
        assumptions.equal_layer_sizes(),
        assumptions.batch_equals_T(),
        assumptions.prescribed_eta(prescribed_eta_of),
    )


_SETTING = {
    "update": "x_{t+1}^(i) = x_t^(i) − η φ(‖x_t^(i)‖) r_t^(i)/‖r_t^(i)‖, r = m̂/(√v̂ + ε)",
    "moments": "β1 = 0 (m̂ = g), λ = 0, ε = 0; bias correction on or off",
    "step": "constant η = √(2Δ/(α_u²‖L‖_1 T))",
    "batch": "b = T",
    "layers": "equal layer sizes d_i = d/h",
    "output": "x_a, a uniform on {1, …, T}",
}
_STATEMENT = "With β1 = λ = ε = 0, d_i = d/h, η = √(2Δ/(α_u²‖L‖_1 T)), b = T and α_l ≤ φ ≤ α_u"
_STATEMENT_LATEX = (
    r"With $\beta_1 = \lambda = \epsilon = 0$, $d_i = d/h$, "
    r"$\eta = \sqrt{2\Delta/(\alpha_u^2\|L\|_1 T)}$, $b = T$ and $\alpha_l \le \phi \le \alpha_u$"
)

THEOREM_ZERO = Theorem(
    key="lamb_beta2_zero",
    source="Theorem 3 (LAMB), beta2 = 0",
    provenance="statement [R: recalled]; explicit constants and steps [D: derived here]",
    statement=f"{_STATEMENT} and β2 = 0 (per-layer sign descent), LAMB's uniformly chosen iterate "
    "satisfies (E[(1/√d)‖∇f(x_a)‖_1])² ≤ 2(α_u/α_l)²[2ΔL_avg/T + 4‖σ̃‖_1²/(dT)], "
    "Δ = f(x_1) − f(x*).",
    statement_latex=f"{_STATEMENT_LATEX} and $\\beta_2 = 0$, "
    r"$\big(\mathbb{E}\big[\tfrac{1}{\sqrt d}\|\nabla f(x_a)\|_1\big]\big)^2 \le "
    r"2\frac{\alpha_u^2}{\alpha_l^2}\Big[\frac{2\Delta L_{avg}}{T}"
    r" + \frac{4\|\tilde\sigma\|_1^2}{dT}\Big]$.",
    setting={**_SETTING, "moments": "β1 = β2 = 0 (r = sign g), λ = 0, ε = 0"},
    eta=ETA,
    batch_size=symbols.T,
    lhs_name="(E[(1/sqrt(d)) ||grad f(x_a)||_1])^2",
    lhs_latex=r"\Big(\mathbb{E}\Big[\frac{1}{\sqrt d}\|\nabla f(x_a)\|_1\Big]\Big)^2",
    lhs=l1_over_sqrt_d,
    lhs_squared_after_expectation=True,
    bound=BOUND0,
    sharp_bound=BEFORE0**2,
    assumptions=_common(
        Assumption("beta2 = 0", "the analysed LAMB has β2 = 0", lambda i: _beta2(i) == 0.0)
    ),
    steps=STEPS_ZERO,
    notes=(
        "The direct derivation gives ‖σ̃‖_1²/(dT); the recalled statement has ‖σ̃‖_1²/(Th). "
        "Since d ≥ h the derived bound implies the recalled one [D/I]; this "
        "module keeps the sharper /(dT).",
        "ε = 0 is needed for r = sign(g) and ‖r^(i)‖ = √d_i (implicit in the paper [I]).",
    ),
)

THEOREM_POS = Theorem(
    key="lamb_beta2_pos",
    source="Theorem 3 (LAMB), 0 < beta2 < 1",
    provenance="statement [R: recalled]; explicit constants and steps [D: derived here]",
    statement=f"{_STATEMENT}, 0 < β2 < 1 and |[∇ℓ(x, s)]_j| ≤ G, LAMB's uniformly chosen "
    "iterate satisfies E‖∇f(x_a)‖² ≤ (α_u/α_l)√(G²d/(h(1−β2)))[√(2Δ‖L‖_1/T) + ‖σ̃‖_1/√T], "
    "Δ = f(x_1) − f(x*).",
    statement_latex=f"{_STATEMENT_LATEX}, $0 < \\beta_2 < 1$ and "
    r"$|[\nabla\ell(x,s)]_j| \le G$, $\mathbb{E}\|\nabla f(x_a)\|^2 \le "
    r"\frac{\alpha_u}{\alpha_l}\sqrt{\frac{G^2 d}{h(1-\beta_2)}}"
    r"\Big[\sqrt{\frac{2\Delta\|L\|_1}{T}} + \frac{\|\tilde\sigma\|_1}{\sqrt T}\Big]$.",
    setting=_SETTING,
    eta=ETA,
    batch_size=symbols.T,
    lhs_name="E||grad f(x_a)||^2",
    lhs_latex=r"\mathbb{E}\|\nabla f(x_a)\|^2",
    lhs=grad_sq_norm,
    lhs_squared_after_expectation=False,
    bound=BOUNDP,
    assumptions=_common(
        assumptions.certified(
            "noise_bounded", "bounded gradients: |[∇ℓ(x, s)]_j| ≤ G for all x, s, j"
        ),
        Assumption("0 < beta2 < 1", "the analysed LAMB has 0 < β2 < 1", _beta2_in_unit),
    ),
    steps=STEPS_POS,
    notes=(
        "The rate is only O(1/√T) in ‖∇f‖², weaker than the β2 = 0 case; the paper expects the "
        "method to behave better than this bound [R].",
        "With β1 = 0, m̂ = g with or without bias correction; the v̂ facts are checked both ways.",
    ),
)
