"""The lemmas the proofs use, as verified steps (proofs of Theorems 1-3 [D]).

Facts about vectors are proved by sympy for a symbolic dimension n (sympy ``Sum`` over
``IndexedBase`` coordinates): Cauchy–Schwarz by its sum-of-squares certificate, the triangle
inequality and its reverse from it, ‖v/‖v‖‖ = 1, and the normalisation-bias lemma reduced to these
scalar facts. The block descent inequality is proved from Assumption 2 by integrating along the
segment (sympy integrates). Only the statements about expectations over a distribution (Jensen for
the minibatch mean, the sign-disagreement probability) are checked numerically, with expectations
computed *exactly* by enumerating every minibatch of a random finite distribution.
"""

from __future__ import annotations

import numpy as np
import sympy as sp

from theory import problems
from theory.problems import minibatches, worst
from theory.steps import Step

a, c = sp.symbols("a c", real=True)
nonneg = {"nonnegative": True}

# --- vectors of a symbolic dimension n ---------------------------------------------------------

j = sp.Symbol("j", integer=True, positive=True)  # coordinate index
i = sp.Symbol("i", integer=True, positive=True)  # layer index
n = sp.Symbol("n", integer=True, positive=True)  # dimension
h = sp.Symbol("h", integer=True, positive=True)  # number of layers
u_, v_ = sp.IndexedBase("u", real=True), sp.IndexedBase("v", real=True)
U, V, W = sp.symbols("U V W", positive=True)  # ‖u‖, ‖v‖, ‖u + v‖ (nonzero vectors)
eps = sp.Symbol("epsilon", real=True)  # ±1


def norm(x: sp.IndexedBase, dim: sp.Expr = n) -> sp.Expr:
    """‖x‖ = √(Σ_j x_j²) over j = 1..dim."""
    return sp.sqrt(sp.Sum(x[j] ** 2, (j, 1, dim)))


def inner(x: sp.IndexedBase, y: sp.IndexedBase, dim: sp.Expr = n) -> sp.Expr:
    """⟨x, y⟩ = Σ_j x_j y_j over j = 1..dim."""
    return sp.Sum(x[j] * y[j], (j, 1, dim))


NORMS = {U: norm(u_), V: norm(v_)}

CAUCHY_SCHWARZ = Step(
    "Cauchy-Schwarz, |<u, v>| <= ||u|| ||v||",
    eps * inner(u_, v_),
    U * V,
    "<=",
    "for nonzero u, v and ε = ±1: ‖u‖‖v‖ − ε⟨u, v⟩ = (‖u‖‖v‖/2) Σ_j (u_j/‖u‖ − ε v_j/‖v‖)², a "
    "sum of squares (the certificate); for u = 0 or v = 0 both sides are 0",
    substitutions=NORMS,
    certificate=U * V / 2 * sp.Sum((u_[j] / U - eps * v_[j] / V) ** 2, (j, 1, n)),
    cases=(("epsilon = 1", {eps: 1}), ("epsilon = -1", {eps: -1})),
)

x_, y_ = sp.symbols("x y", positive=True)
q_ = sp.Symbol("q", **nonneg)
SQRT_MONOTONE = Step(
    "x^2 <= y^2 with x, y > 0 implies x <= y",
    x_,
    y_,
    "<=",
    "y − x = (y² − x²)/(x + y) with q = y² − x² ≥ 0 (the certificate)",
    substitutions={q_: y_**2 - x_**2},
    certificate=q_ / (x_ + y_),
)

SQUARED_NORM_OF_SUM = Step(
    "||u + v||^2 = ||u||^2 + 2<u, v> + ||v||^2",
    sp.Sum((u_[j] + v_[j]) ** 2, (j, 1, n)),
    sp.Sum(u_[j] ** 2, (j, 1, n)) + 2 * inner(u_, v_) + sp.Sum(v_[j] ** 2, (j, 1, n)),
    "=",
    "expand the square coordinate-wise and sum",
)

P_uv = sp.Symbol("P", real=True)  # ⟨u, v⟩
kappa = sp.Symbol("kappa", **nonneg)
TRIANGLE = Step(
    "triangle inequality, ||u + v|| <= ||u|| + ||v||",
    W,
    U + V,
    "<=",
    "‖u+v‖² = ‖u‖² + 2⟨u,v⟩ + ‖v‖² and ⟨u,v⟩ = ‖u‖‖v‖ − κ (Cauchy–Schwarz, κ ≥ 0) give "
    "(‖u‖+‖v‖)² − ‖u+v‖² = 2κ; then √ is monotone: the certificate 2κ/(‖u‖+‖v‖+‖u+v‖)",
    substitutions={W: sp.sqrt(U**2 + 2 * P_uv + V**2), P_uv: U * V - kappa},
    certificate=2 * kappa / (U + V + W),
    uses=(SQUARED_NORM_OF_SUM, CAUCHY_SCHWARZ, SQRT_MONOTONE),
)

A_, B_, t_ = sp.symbols("A B t", **nonneg)  # ‖a‖, ‖b‖, ‖a − b‖
d_, k1, k2 = sp.symbols("delta kappa_1 kappa_2", **nonneg)
REVERSE_TRIANGLE = Step(
    "reverse triangle inequality, | ||a|| - ||b|| | <= ||a - b||",
    sp.Abs(A_ - B_),
    t_,
    "<=",
    "the triangle inequality for a = (a − b) + b and b = (b − a) + a gives ‖a‖ ≤ ‖b‖ + ‖a − b‖ "
    "and ‖b‖ ≤ ‖a‖ + ‖a − b‖, i.e. ‖a − b‖ ≥ δ, the gap between the norms; cases ‖a‖ ≥ ‖b‖ "
    "and ‖a‖ < ‖b‖",
    uses=(TRIANGLE,),
    cases=(
        (
            "||a|| >= ||b||: ||a|| = ||b|| + delta, ||a - b|| = delta + kappa_1",
            {A_: B_ + d_, t_: d_ + k1},
        ),
        (
            "||a|| < ||b||: ||b|| = ||a|| + delta, ||a - b|| = delta + kappa_2",
            {B_: A_ + d_, t_: d_ + k2},
        ),
    ),
)


a_j, b_j = sp.symbols("a_j b_j", real=True)  # one generic coordinate of a and b
A_pos, B_pos = sp.symbols("A B", positive=True)  # ‖a‖, ‖b‖ of nonzero vectors
BIAS_DECOMPOSITION = Step(
    "(||a||/||b||) b - a = ((||a|| - ||b||)/||b||) b + (b - a)",
    A_pos / B_pos * b_j - a_j,
    (A_pos - B_pos) / B_pos * b_j + (b_j - a_j),
    "=",
    "an identity in a generic coordinate j, hence in every dimension",
)

cst = sp.Symbol("c", real=True)
HOMOGENEITY = Step(
    "||c v|| = |c| ||v||",
    sp.sqrt(sp.Sum((cst * v_[j]) ** 2, (j, 1, n))),
    sp.Abs(cst) * norm(v_),
    "=",
    "√(Σ_j c² v_j²) = √(c²)·√(Σ_j v_j²) with Σ_j v_j² ≥ 0",
)

N_, m_ = sp.Symbol("N", **nonneg), sp.Symbol("m", **nonneg)  # ‖(A/B)b − a‖, |A − B|
NORMALISATION_BIAS = Step(
    "normalisation-bias lemma",
    N_,
    2 * t_,
    "<=",
    "‖a‖·‖b/‖b‖ − a/‖a‖‖ = ‖(‖a‖/‖b‖) b − a‖ =: N (homogeneity); by the decomposition and the "
    "triangle inequality N ≤ |‖a‖ − ‖b‖| + ‖b − a‖ = m + t − κ_1 (norms as nonnegative symbols, "
    "‖((‖a‖−‖b‖)/‖b‖) b‖ = m by homogeneity); the reverse triangle inequality m = t − κ_2",
    substitutions={N_: m_ + t_ - k1, m_: t_ - k2},
    uses=(HOMOGENEITY, BIAS_DECOMPOSITION, TRIANGLE, REVERSE_TRIANGLE),
)

UNIT_DIRECTION = Step(
    "||v/||v|||| = 1",
    sp.Sum((v_[j] / V) ** 2, (j, 1, n)),
    sp.S.One,
    "=",
    "Σ_j v_j²/‖v‖² = 1 for v ≠ 0 (squared norm of the unit direction)",
    substitutions={V: norm(v_)},
)

# --- block descent from Assumption 2 ---------------------------------------------------------

s = sp.Symbol("s", positive=True)  # position on the segment x + s(y − x), s ∈ (0, 1]
phi_f = sp.Function("phi")  # φ(s) = f(x + s(y − x))
p0 = sp.Symbol("<grad f(x), y - x>", real=True)  # φ'(0)
L_ = sp.IndexedBase("L", positive=True)  # per-block constants L_i
nrm = sp.IndexedBase("n", **nonneg)  # ‖y_i − x_i‖
k_ = sp.IndexedBase("k", real=True)  # ⟨∇_i f(x + sΔ) − ∇_i f(x), Δ_i⟩
slack = sp.IndexedBase("kappa", **nonneg)
kb, Db, Lb, nb = sp.Symbol("k_i", real=True), *sp.symbols("D_i L_i n_i", **nonneg)

BLOCK_POINTWISE = Step(
    "block i along the segment, <grad_i f(x+s D) - grad_i f(x), D_i> <= s L_i ||D_i||^2",
    kb,
    s * Lb * nb**2,
    "<=",
    "Cauchy–Schwarz: k_i ≤ ‖∇_i f(x+sΔ) − ∇_i f(x)‖·‖Δ_i‖ = D_i n_i − κ_1; Assumption 2: "
    "D_i ≤ L_i‖sΔ_i‖ = s L_i n_i − κ_2",
    substitutions={kb: Db * nb - k1, Db: s * Lb * nb - k2},
    uses=(CAUCHY_SCHWARZ,),
)

BLOCK_DESCENT = Step(
    "block descent inequality",
    phi_f(1) - phi_f(0) - p0,
    sp.Sum(L_[i] * nrm[i] ** 2 / 2, (i, 1, h)),
    "<=",
    "from Assumption 2 (‖∇_i f(x) − ∇_i f(y)‖ ≤ L_i‖x_i − y_i‖): with φ(s) = f(x + s(y − x)), "
    "f(y) − f(x) − ⟨∇f(x), y − x⟩ = ∫_0^1 (φ'(s) − φ'(0)) ds and φ'(s) − φ'(0) = Σ_i k_i(s) "
    "(chain rule, blocks) ≤ s Σ_i L_i‖y_i − x_i‖² (pointwise lemma); sympy integrates. An "
    "objective certifying only this inequality (smoothness_certified, coupled families) assumes it",
    substitutions={
        sp.Derivative(phi_f(s), s): p0 + sp.Sum(k_[i], (i, 1, h)),
        k_[i]: s * L_[i] * nrm[i] ** 2 - slack[i],
    },
    integral=(
        s,
        sp.Derivative(phi_f(s), s) - p0,
        s * sp.Sum(L_[i] * nrm[i] ** 2, (i, 1, h)),
    ),
    uses=(BLOCK_POINTWISE,),
)

# --- statements about expectations (numeric, exact enumeration) -------------------------------


def _display(text: str) -> sp.Symbol:
    return sp.Symbol(text)


def _jensen_instance(rng: np.random.Generator) -> tuple[float, float]:
    """E‖ḡ_b^(i) − ∇_i‖ ≤ σ_i/√b for every layer i, σ_i² = E‖ζ^(i)‖² (worst layer)."""
    p = problems.draw_problem(rng)
    lhs = np.zeros(len(p.sizes))
    for q, z in minibatches(p.noise, p.probs, p.b):
        lhs += q * np.array([np.linalg.norm(zi) for zi in p.split(z)])
    return worst(lhs, p.layer_sigma() / np.sqrt(p.b))


def _sign_instance(rng: np.random.Generator) -> tuple[float, float]:
    """P(sign ḡ_j ≠ sign ∇_j) ≤ σ̃_j/(√b |∇_j|) for every coordinate with ∇_j ≠ 0 (worst)."""
    p = problems.draw_problem(rng)
    grad, wrong = p.grad, np.zeros(p.x.size)
    for q, g in p.minibatch_grads():
        wrong += q * (np.sign(g) != np.sign(grad))
    keep = grad != 0
    return worst(wrong[keep], (p.coord_sigma() / (np.sqrt(p.b) * abs(grad)))[keep])


JENSEN_MINIBATCH = Step(
    "Jensen for the minibatch mean",
    _display("E||g_b - grad||"),
    _display("sigma / sqrt(b)"),
    "<=",
    "Jensen (E‖X‖ ≤ √E‖X‖²) and Var of the mean of b iid draws = σ²/b; expectations computed "
    "exactly over every minibatch of a random finite distribution, every layer of the instance",
    numeric=_jensen_instance,
)
SIGN_DISAGREEMENT = Step(
    "sign-disagreement probability",
    _display("P(sign g_j != sign grad_j)"),
    _display("sigma_j / (sqrt(b) |grad_j|)"),
    "<=",
    "the event implies |g_j − ∇_j| ≥ |∇_j|; Markov, then Jensen for the minibatch mean "
    "(signSGD, Bernstein et al. 2018); probabilities computed exactly by enumeration, every "
    "coordinate of the instance",
    numeric=_sign_instance,
)
SQUARE_OF_SUM = Step(
    "(a + b)^2 <= 2a^2 + 2b^2",
    (a + c) ** 2,
    2 * a**2 + 2 * c**2,
    "<=",
    "2a² + 2b² − (a + b)² = (a − b)² ≥ 0",
)

LEMMAS: dict[str, Step] = {
    st.name: st
    for st in (
        CAUCHY_SCHWARZ,
        SQRT_MONOTONE,
        SQUARED_NORM_OF_SUM,
        TRIANGLE,
        REVERSE_TRIANGLE,
        BIAS_DECOMPOSITION,
        HOMOGENEITY,
        NORMALISATION_BIAS,
        UNIT_DIRECTION,
        BLOCK_POINTWISE,
        BLOCK_DESCENT,
        JENSEN_MINIBATCH,
        SIGN_DISAGREEMENT,
        SQUARE_OF_SUM,
    )
}
