"""Theorem 3: LAMB (You et al. 2020, Theorem 3), both cases, with explicit constants [D].

The statement is [R] (Theorem 3); the constants are derived here [D]. The setting is β1 = λ = 0,
ε = 0, d_i = d/h, η = √(2Δ/(α_u²‖L‖_1 T)), b = T and α_l ≤ φ ≤ α_u, with Δ = f(x_1) − f(x*).

* β2 = 0, where LAMB is per-layer sign descent:

      (E[(1/√d)‖∇f(x_a)‖_1])² ≤ 2(α_u/α_l)² [2 Δ L_avg/T + 4 ‖σ̃‖_1²/(d T)].

* 0 < β2 < 1, with bounded gradients |[∇ℓ(x, s)]_j| ≤ G:

      E‖∇f(x_a)‖² ≤ (α_u/α_l) √(G² d/(h(1 − β2))) [√(2Δ‖L‖_1/T) + ‖σ̃‖_1/√T].

The vector facts are checked numerically on the problems of :mod:`theory.lars`, with equal layer
sizes. Expectations are computed exactly, by enumerating every minibatch. The β2 > 0 checks also
draw a random gradient history with |g| ≤ G, with and without Adam's bias correction.
"""

from __future__ import annotations

import numpy as np
import sympy as sp

from theory import assumptions, symbols
from theory.lars import (
    ETA,
    SIDE,
    Direction,
    Problem,
    _n,
    a_,
    c_,
    curvature_check,
    draw_problem,
    kappa,
    mu,
    nonneg,
    phi,
    prescribed_eta_of,
    rho,
    squaring_steps,
    tail_steps,
)
from theory.lemmas import BLOCK_DESCENT, SIGN_DISAGREEMENT, minibatches
from theory.sgd import grad_sq_norm
from theory.steps import Step
from theory.theorem import Assumption, Theorem

# --- numeric checks --------------------------------------------------------------------------


def _vhat(g, v_prev, beta2: float, t: int, bias_correction: bool) -> np.ndarray:
    """Algorithm 2's v̂_t: v = β2 v_prev + (1 − β2) g², divided by 1 − β2^t if corrected."""
    v = beta2 * v_prev + (1 - beta2) * g**2
    return v / (1 - beta2**t) if bias_correction else v


def _ratio(g, *history) -> np.ndarray:
    """r = m̂/(√v̂ + ε) with β1 = 0 (m̂ = g) and ε = 0."""
    return g / np.sqrt(_vhat(g, *history))


def _sign(rng: np.random.Generator) -> tuple[Problem, Direction]:
    p = draw_problem(rng, equal_sizes=True)
    return p, lambda g: [r / np.linalg.norm(r) for r in p.split(_ratio(g, 0.0, 0.0, 1, False))]


def _adam(rng: np.random.Generator):
    """A problem, its LAMB direction at a random history, (β2, G) and the ratio function."""
    p = draw_problem(rng, equal_sizes=True)
    G = float(np.abs(p.sample_grads()).max() * rng.uniform(1, 1.5))
    beta2 = float(1 - np.exp(rng.uniform(np.log(1e-4), np.log(0.999))))
    t, correct, v = int(rng.integers(1, 6)), bool(rng.integers(2)), np.zeros_like(p.x)
    for _ in range(t - 1):
        v = beta2 * v + (1 - beta2) * rng.uniform(-G, G, size=v.size) ** 2
    vhat = lambda g: _vhat(g, v, beta2, t, correct)  # noqa: E731
    unit = lambda g: [r / np.linalg.norm(r) for r in p.split(g / np.sqrt(vhat(g)))]  # noqa: E731
    return p, unit, beta2, G, vhat


def _sign_norm(rng: np.random.Generator) -> tuple[float, float]:
    p, _ = _sign(rng)
    r = p.split(_ratio(p.sample_grads()[0], 0.0, 0.0, 1, False))[0]
    return float(np.linalg.norm(r)), float(np.sqrt(r.size))


def _worst(lhs: np.ndarray, rhs: np.ndarray) -> tuple[float, float]:
    j = int(np.argmax((lhs - rhs) / np.maximum(np.maximum(abs(lhs), abs(rhs)), 1e-300)))
    return float(lhs[j]), float(rhs[j])


def _sign_split(rng: np.random.Generator) -> tuple[float, float]:
    grad = rng.normal(size=6) * np.exp(rng.uniform(-3, 3))
    g = grad + rng.normal(size=6) * np.exp(rng.uniform(-5, 5))
    r, wrong = _ratio(g, 0.0, 0.0, 1, False), np.sign(g) != np.sign(grad)
    return _worst(-grad * r, -abs(grad) + 2 * abs(grad) * wrong)


def _coord_sigma(p: Problem) -> np.ndarray:
    return np.sqrt(p.probs @ p.noise**2)


def _zero_one_step(rng: np.random.Generator) -> tuple[float, float]:
    p, direction = _sign(rng)
    w = np.sqrt(len(p.sizes) / p.x.size)  # 1/√d_i = √(h/d)
    rhs = p.f(p.x) - p.eta * p.alpha_l * w * np.abs(p.grad).sum()
    rhs += 2 * p.eta * p.alpha_u * w * _coord_sigma(p).sum() / np.sqrt(p.b)
    return p.expected_f(direction), rhs + p.eta**2 * p.alpha_u**2 * float(p.L.sum()) / 2


def _adam_fact(kind: str):
    """Facts about r = g/√v̂ at a random history, for one random minibatch."""

    def check(rng: np.random.Generator) -> tuple[float, float]:
        p, _, beta2, G, vhat = _adam(rng)
        g = p.sample_grads()[rng.integers(len(p.probs))]
        r, grad, di = g / np.sqrt(vhat(g)), p.grad, p.sizes[0]
        norm = np.repeat([np.linalg.norm(ri) for ri in p.split(r)], p.sizes)
        if kind == "vlow":
            return _worst((1 - beta2) * g**2, vhat(g))
        if kind == "ratio":
            return float(np.abs(r).max()), float(1 / np.sqrt(1 - beta2))
        if kind == "norm":
            return float(norm.max()), float(np.sqrt(di / (1 - beta2)))
        if kind == "vhat":
            return float(np.sqrt(vhat(g)).max()), G
        if kind == "agree":
            agree = np.sign(g) == np.sign(grad)
            c = np.sqrt((1 - beta2) / (di * G**2))
            return (
                _worst((c * abs(grad * g))[agree], (grad * r / norm)[agree])
                if agree.any()
                else (0, 0)
            )
        return _worst(abs(grad * r / norm), abs(grad))  # "disagree" (holds for every j)

    return check


def _agree_expectation(rng: np.random.Generator) -> tuple[float, float]:
    """E[∇_j g_j 1(sign g_j = sign ∇_j)] ≥ ∇_j², exactly over minibatches of a finite law."""
    n, b = int(rng.integers(2, 5)), int(rng.integers(1, 5))
    points = rng.normal(size=(n, 1)) * np.exp(rng.uniform(-2, 2)) + rng.normal()
    probs = rng.dirichlet(np.ones(n))
    grad = float(probs @ points[:, 0])
    agree = ((q, g[0]) for q, g in minibatches(points, probs, b) if np.sign(g[0]) == np.sign(grad))
    return grad**2, float(sum(q * grad * g for q, g in agree))


def _together(rng: np.random.Generator) -> tuple[float, float]:
    """E Σ_j ∇_j r_j/‖r^(i)‖ ≥ √((1−β2)/(d_i G²))‖∇^(i)‖² − Σ_j σ̃_j/√b (layer 1)."""
    p, direction, beta2, G, _ = _adam(rng)
    grad = p.split(p.grad)[0]
    lhs = np.sqrt((1 - beta2) / (grad.size * G**2)) * grad @ grad
    lhs -= p.split(_coord_sigma(p))[0].sum() / np.sqrt(p.b)
    return float(lhs), float(sum(q * grad @ direction(g)[0] for q, g in p.minibatch_grads()))


def _pos_one_step(rng: np.random.Generator) -> tuple[float, float]:
    p, direction, beta2, G, _ = _adam(rng)
    c = np.sqrt(len(p.sizes) * (1 - beta2) / (p.x.size * G**2))
    rhs = p.f(p.x) - p.eta * p.alpha_l * c * float(p.grad @ p.grad)
    rhs += p.eta * p.alpha_u * _coord_sigma(p).sum() / np.sqrt(p.b)
    return p.expected_f(direction), rhs + p.eta**2 * p.alpha_u**2 * float(p.L.sum()) / 2


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


STEPS_ZERO = (
    BLOCK_DESCENT,
    _n(
        "LAMB0 1: r = g/sqrt(g^2) = sign(g), so norm(r^(i)) = sqrt(d_i)",
        _sign_norm,
        "||r^(i)||",
        "sqrt(d_i)",
        "β1 = β2 = ε = 0: v̂ = g², r_j = ±1 (no coordinate of g is 0 almost surely)",
        "=",
    ),
    _n(
        "LAMB0 1: each layer moves by eta*phi_i, curvature term <= eta^2 alpha_u^2 L_1/2",
        curvature_check(_sign),
        "sum_i L_i/2 (eta phi_i)^2",
        "eta^2 alpha_u^2 L_1/2",
        "the update is ηφ_i r^(i)/‖r^(i)‖, of norm ηφ_i ≤ ηα_u",
    ),
    _n(
        "LAMB0 2: -grad_j r_j = -abs(grad_j) + 2 abs(grad_j) 1[sign g_j != sign grad_j]",
        _sign_split,
        "-grad_j r_j",
        "-|grad_j| + 2|grad_j| 1[wrong sign]",
        "r_j = sign g_j; checked coordinate-wise with r from the algorithm's formula",
        "=",
    ),
    SIGN_DISAGREEMENT,
    Step(
        "LAMB0 3: the abs(grad_j) cancels",
        n_j * P_j,
        s_j / sp.sqrt(b),
        "<=",
        "P_j ≤ σ̃_j/(√b|∇_j|) (sign-disagreement lemma); coordinates with ∇_j = 0 contribute 0",
        substitutions={P_j: s_j / (sp.sqrt(b) * n_j) - rho},
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
    _n(
        "LAMB+ 1: vhat_j >= (1 - beta2) g_j^2",
        _adam_fact("vlow"),
        "(1 - beta2) g_j^2",
        "vhat_j",
        "v_t = β2 v_{t−1} + (1−β2)g_t² with v_{t−1} ≥ 0; bias correction only enlarges v̂",
    ),
    _n(
        "LAMB+ 1: abs(r_j) <= 1/sqrt(1 - beta2)",
        _adam_fact("ratio"),
        "|r_j|",
        "1/sqrt(1 - beta2)",
        "r_j = g_j/√v̂_j and v̂_j ≥ (1−β2)g_j²",
    ),
    _n(
        "LAMB+ 1: norm(r^(i)) <= sqrt(d_i/(1 - beta2))",
        _adam_fact("norm"),
        "||r^(i)||",
        "sqrt(d_i/(1 - beta2))",
        "d_i coordinates, each |r_j| ≤ 1/√(1−β2)",
    ),
    _n(
        "LAMB+ 1: each layer moves by eta*phi_i, curvature term <= eta^2 alpha_u^2 L_1/2",
        curvature_check(lambda rng: _adam(rng)[:2]),
        "sum_i L_i/2 (eta phi_i)^2",
        "eta^2 alpha_u^2 L_1/2",
        "the update is ηφ_i r^(i)/‖r^(i)‖, of norm ηφ_i ≤ ηα_u",
    ),
    _n(
        "LAMB+ 2: sqrt(vhat_j) <= G",
        _adam_fact("vhat"),
        "sqrt(vhat_j)",
        "G",
        "v̂_j is an average (uncorrected: a sub-average) of past g_j² ≤ G²",
    ),
    _n(
        "LAMB+ 3: agreeing coordinates, grad_j r_j/norm(r) >= c_i abs(grad_j g_j)",
        _adam_fact("agree"),
        "sqrt((1 - beta2)/(d_i G^2)) |grad_j||g_j|",
        "grad_j r_j/||r^(i)||",
        "|r_j| ≥ |g_j|/G (step 2) and ‖r^(i)‖ ≤ √(d_i/(1−β2)) (step 1)",
    ),
    _n(
        "LAMB+ 3: E[grad_j g_j 1(agree)] >= grad_j^2 (exact over minibatches)",
        _agree_expectation,
        "grad_j^2",
        "E[grad_j g_j 1(sign g_j = sign grad_j)]",
        "E[∇_j g_j] = ∇_j² and ∇_j g_j ≤ 0 where the signs disagree",
    ),
    _n(
        "LAMB+ 4: disagreeing coordinates, abs(grad_j r_j/norm(r)) <= abs(grad_j)",
        _adam_fact("disagree"),
        "|grad_j r_j/||r^(i)|||",
        "|grad_j|",
        "|r_j| ≤ ‖r^(i)‖",
    ),
    SIGN_DISAGREEMENT,
    _n(
        "LAMB+ 5: E sum_j grad_j r_j/norm(r^(i)) >= c_i norm(grad^(i))^2 - sum_j tsigma_j/sqrt(b)",
        _together,
        "c_i ||grad^(i)||^2 - sum_j tsigma_j/sqrt(b)",
        "E sum_j grad_j r_j/||r^(i)||",
        "steps 3-4 and the sign-disagreement lemma (|∇_j| cancels); exact over minibatches",
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
