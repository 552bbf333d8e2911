"""Theorem 2: LARS (You et al. 2020, Theorem 2), with explicit constants [D].

The statement is [C: quoted] (Theorem 2). Take β1 = λ = 0, a constant η = √(2Δ/(α_u²‖L‖_1 T)),
b = T and α_l ≤ φ ≤ α_u, where Δ = f(x_1) − f(x*). Then
(E[(1/√h) Σ_i ‖∇_i f(x_a)‖])² ≤ O(Δ L_avg/T + ‖σ‖_1²/(T h)). The constants derived here [D] are

    (E[(1/√h) Σ_i ‖∇_i f(x_a)‖])² ≤ (α_u/α_l)² [4 Δ L_avg/T + 8 ‖σ‖_1²/(T h)].

The proof steps follow the paper's proof of Theorem 2 in seven steps (docs/paper.md). The
vector facts are checked numerically on f(x) = Σ_j L_j (1 − cos x_j), whose block i is exactly
L_i-smooth. Each check draws random iterates, step sizes and φ-clips, plus a random finite
distribution of gradient noise. It computes expectations exactly, by enumerating every
minibatch. The helpers that draw these problems are shared with :mod:`theory.lamb`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import sympy as sp

from theory import assumptions, symbols
from theory.lemmas import (
    BLOCK_DESCENT,
    JENSEN_MINIBATCH,
    NORMALISATION_BIAS,
    SQUARE_OF_SUM,
    minibatches,  # exact enumeration of minibatches
)
from theory.steps import Step
from theory.theorem import Theorem

# --- numeric problems shared with theory.lamb ----------------------------------------------

Direction = Callable[[np.ndarray], list[np.ndarray]]  # g -> the unit direction of each layer


def update(p: Problem, direction: Direction, g: np.ndarray) -> np.ndarray:
    """x_{t+1} − x_t: −η φ_i u_i in layer i (u_i the layer's unit direction)."""
    return -p.eta * np.concatenate([f * u for f, u in zip(p.phi, direction(g), strict=True)])


@dataclass(frozen=True)
class Problem:
    """f(z) = Σ_j L_j(1 − cos z_j) at a random x, with mean-zero finite noise on the gradient."""

    sizes: list[int]
    L: np.ndarray  # per layer
    x: np.ndarray
    noise: np.ndarray  # (n, d) per-sample noise, E = 0 under probs
    probs: np.ndarray
    b: int
    alpha_l: float
    alpha_u: float
    eta: float

    @property
    def coord_L(self) -> np.ndarray:
        return np.repeat(self.L, self.sizes)

    @property
    def grad(self) -> np.ndarray:
        return self.coord_L * np.sin(self.x)

    @property
    def phi(self) -> np.ndarray:
        """φ_i = clip(‖x^(i)‖, α_l, α_u)."""
        norms = [np.linalg.norm(xi) for xi in self.split(self.x)]
        return np.clip(norms, self.alpha_l, self.alpha_u)

    def f(self, z: np.ndarray) -> float:
        return float(self.coord_L @ (1 - np.cos(z)))

    def split(self, v: np.ndarray) -> list[np.ndarray]:
        return np.split(v, np.cumsum(self.sizes)[:-1])

    def minibatch_grads(self):
        """(probability, g) for every minibatch of b draws."""
        for p, z in minibatches(self.noise, self.probs, self.b):
            yield p, self.grad + z

    def sample_grads(self) -> np.ndarray:
        return self.grad + self.noise

    def expected_f(self, direction: Direction) -> float:
        """E f(x_{t+1}) over every minibatch, exactly."""
        moves = ((q, update(self, direction, g)) for q, g in self.minibatch_grads())
        return float(sum(q * self.f(self.x + dx) for q, dx in moves))


def draw_problem(rng: np.random.Generator, equal_sizes: bool = False) -> Problem:
    h, k = int(rng.integers(1, 4)), int(rng.integers(1, 4))
    sizes = [k] * h if equal_sizes else [int(rng.integers(1, 4)) for _ in range(h)]
    d, n = sum(sizes), int(rng.integers(2, 4))
    probs = rng.dirichlet(np.ones(n))
    noise = rng.normal(size=(n, d)) * np.exp(rng.uniform(-4, 1))
    alpha_l = float(np.exp(rng.uniform(-2, 1)))
    return Problem(
        sizes=sizes,
        L=np.exp(rng.uniform(np.log(1e-2), np.log(1e2), size=h)),
        x=rng.normal(scale=2.0, size=d),
        noise=noise - probs @ noise,
        probs=probs,
        b=int(rng.integers(1, 4)),
        alpha_l=alpha_l,
        alpha_u=alpha_l * float(np.exp(rng.uniform(0, 2))),
        eta=float(np.exp(rng.uniform(-5, 0))),
    )


def curvature_check(make: Callable[[np.random.Generator], tuple[Problem, Direction]]):
    """Σ_i L_i/2 ‖x_{t+1}^(i) − x_t^(i)‖² ≤ η²α_u²‖L‖_1/2 for one random minibatch."""

    def check(rng: np.random.Generator) -> tuple[float, float]:
        p, direction = make(rng)
        g = p.sample_grads()[rng.integers(len(p.probs))]
        moves = [np.sum(m**2) for m in p.split(update(p, direction, g))]
        return float(p.L @ moves) / 2, p.eta**2 * p.alpha_u**2 * float(p.L.sum()) / 2

    return check


def telescope_check(rng: np.random.Generator) -> tuple[float, float]:
    """F_{t+1} ≤ F_t − a S_t + c for t ≤ T and F_t ≥ f* imply (1/T)Σ S_t ≤ (F_1 − f*)/(Ta) + c/a."""
    T = int(rng.integers(1, 30))
    a, c = np.exp(rng.uniform(-3, 3, size=2))
    s = np.exp(rng.uniform(-3, 3, size=T))
    F = np.concatenate([[rng.normal()], -a * s + c - np.exp(rng.uniform(-8, 2, size=T))])
    F = np.cumsum(F)
    f_star = F.min() - float(np.exp(rng.uniform(-8, 1)))
    return float(s.mean()), float((F[0] - f_star) / (T * a) + c / a)


def _lars(rng: np.random.Generator) -> tuple[Problem, Direction]:
    p = draw_problem(rng)
    return p, lambda g: [gi / np.linalg.norm(gi) for gi in p.split(g)]


def _split_instance(rng: np.random.Generator) -> tuple[float, float]:
    n = int(rng.integers(1, 6))
    grad = rng.normal(size=n) * np.exp(rng.uniform(-3, 3))
    g = grad + rng.normal(size=n) * np.exp(rng.uniform(-5, 5))
    u, ng = g / np.linalg.norm(g), np.linalg.norm(grad)
    return float(-grad @ u), float(-ng + ng * np.linalg.norm(u - grad / ng))


def _lars_parts(p: Problem) -> tuple[float, float, float]:
    """(Σ_i ‖∇_i‖, ‖σ‖_1 with σ_i² = E‖ζ^(i)‖² exact, curvature constant η²α_u²‖L‖_1/2)."""
    s1 = sum(np.linalg.norm(gi) for gi in p.split(p.grad))
    layers = np.split(p.noise, np.cumsum(p.sizes)[:-1], axis=1)
    sigma = [np.sqrt(p.probs @ np.sum(z**2, axis=1)) for z in layers]
    return float(s1), float(sum(sigma)), p.eta**2 * p.alpha_u**2 * float(p.L.sum()) / 2


def _one_step_sample(rng: np.random.Generator) -> tuple[float, float]:
    """Before expectation: f(x_{t+1}) ≤ f(x_t) − ηα_l Σ‖∇_i‖ + 2ηα_u Σ‖g_i − ∇_i‖ + curvature."""
    p, direction = _lars(rng)
    g = p.sample_grads()[rng.integers(len(p.probs))]
    s1, _, curv = _lars_parts(p)
    dev = sum(np.linalg.norm(e) for e in p.split(g - p.grad))
    rhs = p.f(p.x) - p.eta * p.alpha_l * s1 + 2 * p.eta * p.alpha_u * dev + curv
    return p.f(p.x + update(p, direction, g)), rhs


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
        Step(
            f"{tag}: telescope the one-step bound over t = 1..T",
            sp.Symbol("(1/T) sum_t E measure(x_t)"),
            sp.Symbol("(f(x_1) - f*)/(T a) + c/a"),
            "<=",
            f"sum F_{{t+1}} ≤ F_t − a·measure_t + c, then f(x_{{T+1}}) ≥ f*; a = η·{a}",
            numeric=telescope_check,
        ),
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
    """A numerically checked vector step; lhs and rhs are display names."""
    return Step(name, sp.Symbol(lhs), sp.Symbol(rhs), rel, why, numeric=check)


STEPS = (
    BLOCK_DESCENT,
    _n(
        "LARS 1: each layer moves by eta*phi_i, curvature term <= eta^2 alpha_u^2 L_1/2",
        curvature_check(_lars),
        "sum_i L_i/2 (eta phi_i)^2",
        "eta^2 alpha_u^2 L_1/2",
        "‖ηφ_i g_i/‖g_i‖‖ = ηφ_i ≤ ηα_u; computed from the update",
    ),
    _n(
        "LARS 2: split the direction, -<grad_i, u_i> <= -norm(grad_i) + norm(grad_i) norm(Delta_i)",
        _split_instance,
        "-<grad_i, g_i/||g_i||>",
        "-||grad_i|| + ||grad_i|| ||Delta_i||",
        "u_i = ∇_i/‖∇_i‖ + Δ^(i), then Cauchy-Schwarz on ⟨∇_i, Δ^(i)⟩",
    ),
    NORMALISATION_BIAS,
    Step(
        "LARS 3: one layer's descent term with alpha_l <= phi_i <= alpha_u",
        -phi * c,
        -al * n + 2 * au * e,
        "<=",
        "c_i ≥ n_i − q_i (step 2), q_i ≤ 2e_i (normalisation bias), α_l ≤ φ_i ≤ α_u; "
        "summed over layers: −ηΣφ_i c_i ≤ −ηα_l S_1 + 2ηα_u Σ_i e_i",
        substitutions={c: n - q + kappa, e: (q + mu) / 2, **SIDE},
    ),
    _n(
        "LARS 3: one-step bound for one minibatch (checked on the update)",
        _one_step_sample,
        "f(x_{t+1})",
        "f(x_t) - eta alpha_l S_1 + 2 eta alpha_u sum_i ||g_i - grad_i|| + eta^2 alpha_u^2 L_1/2",
        "steps 1-3 composed, before expectation",
    ),
    JENSEN_MINIBATCH,
    Step(
        "LARS 4: Jensen in the one-step bound",
        -eta * al * S1 + 2 * eta * au * E_dev + CURV,
        -eta * al * S1 + 2 * eta * au * sg / sp.sqrt(b) + CURV,
        "<=",
        "Σ_i E‖g_i − ∇_i‖ ≤ Σ_i σ_i/√b = ‖σ‖_1/√b",
        substitutions={E_dev: sg / sp.sqrt(b) - rho},
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
