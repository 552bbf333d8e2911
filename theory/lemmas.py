"""The lemmas the proofs use, as verified steps (proofs of Theorems 2-3 [D]).

Scalar lemmas are proved by sympy; statements about vectors and expectations are checked
numerically on random admissible instances, with expectations computed *exactly* by enumerating
every minibatch of a random finite distribution (no Monte-Carlo error).
"""

from __future__ import annotations

import itertools

import numpy as np
import sympy as sp

from theory.steps import Step

a, c = sp.symbols("a c", real=True)


def _display(text: str) -> sp.Symbol:
    return sp.Symbol(text)


def _layers(rng: np.random.Generator) -> tuple[list[int], np.ndarray]:
    h = int(rng.integers(1, 5))
    sizes = [int(rng.integers(1, 5)) for _ in range(h)]
    L = np.exp(rng.uniform(np.log(1e-2), np.log(1e2), size=h))
    return sizes, L


def _block_descent_instance(rng: np.random.Generator) -> tuple[float, float]:
    """f(x) = Σ_i L_i Σ_j (1 − cos x_ij): block i is exactly L_i-smooth."""
    sizes, L = _layers(rng)
    scale = float(np.exp(rng.uniform(np.log(1e-3), np.log(10.0))))
    x = [rng.normal(scale=3.0, size=n) for n in sizes]
    y = [xi + scale * rng.normal(size=n) for xi, n in zip(x, sizes, strict=True)]

    def f(z):
        return sum(Li * np.sum(1 - np.cos(zi)) for Li, zi in zip(L, z, strict=True))

    grad = [Li * np.sin(xi) for Li, xi in zip(L, x, strict=True)]
    rhs = f(x) + sum(float(gi @ (yi - xi)) for gi, yi, xi in zip(grad, y, x, strict=True))
    rhs += sum(Li / 2 * float(np.sum((yi - xi) ** 2)) for Li, yi, xi in zip(L, y, x, strict=True))
    return f(y), rhs


def _normalisation_bias_instance(rng: np.random.Generator) -> tuple[float, float]:
    n = int(rng.integers(1, 6))
    u = rng.normal(size=n) * np.exp(rng.uniform(-5, 5))
    v = u * np.exp(rng.uniform(-3, 3)) + rng.normal(size=n) * np.exp(rng.uniform(-8, 3))
    if np.linalg.norm(u) == 0 or np.linalg.norm(v) == 0:
        return 0.0, 0.0
    lhs = np.linalg.norm(u) * np.linalg.norm(v / np.linalg.norm(v) - u / np.linalg.norm(u))
    return float(lhs), float(2 * np.linalg.norm(v - u))


def _finite_distribution(rng: np.random.Generator, dim: int) -> tuple[np.ndarray, np.ndarray]:
    n = int(rng.integers(2, 5))
    points = rng.normal(size=(n, dim)) * np.exp(rng.uniform(-2, 2)) + rng.normal(size=dim)
    probs = rng.dirichlet(np.ones(n))
    return points, probs


def minibatches(points: np.ndarray, probs: np.ndarray, b: int):
    """Every minibatch of b draws with replacement, with its exact probability."""
    for idx in itertools.product(range(len(points)), repeat=b):
        yield float(np.prod(probs[list(idx)])), points[list(idx)].mean(axis=0)


def _jensen_instance(rng: np.random.Generator) -> tuple[float, float]:
    """E‖ḡ_b − ∇‖ ≤ σ/√b with σ² = E‖ζ − ∇‖² (Jensen + variance of an iid mean)."""
    points, probs = _finite_distribution(rng, int(rng.integers(1, 4)))
    mean = probs @ points
    sigma = np.sqrt(probs @ np.sum((points - mean) ** 2, axis=1))
    b = int(rng.integers(1, 4))
    lhs = sum(p * np.linalg.norm(g - mean) for p, g in minibatches(points, probs, b))
    return float(lhs), float(sigma / np.sqrt(b))


def _sign_instance(rng: np.random.Generator) -> tuple[float, float]:
    """P(sign ḡ_j ≠ sign ∇_j) ≤ σ̃_j/(√b |∇_j|) (Markov + Jensen)."""
    points, probs = _finite_distribution(rng, 1)
    mean = float(probs @ points[:, 0])
    if mean == 0:
        return 0.0, 0.0
    sigma = float(np.sqrt(probs @ (points[:, 0] - mean) ** 2))
    b = int(rng.integers(1, 5))
    p_wrong = sum(p for p, g in minibatches(points, probs, b) if np.sign(g[0]) != np.sign(mean))
    return float(p_wrong), sigma / (np.sqrt(b) * abs(mean))


BLOCK_DESCENT = Step(
    "block descent inequality",
    _display("f(y)"),
    _display("f(x) + <grad f(x), y - x> + sum_i L_i/2 ||y^(i) - x^(i)||^2"),
    "<=",
    "each block is L_i-smooth and f is separable (or, beyond Assumption 2's letter, satisfies "
    "this inequality); checked on f = Σ_i L_i Σ_j (1 − cos x_ij) at random x, y",
    numeric=_block_descent_instance,
)
NORMALISATION_BIAS = Step(
    "normalisation-bias lemma",
    _display("||a|| * || b/||b|| - a/||a|| ||"),
    _display("2 ||b - a||"),
    "<=",
    "triangle inequality and | ||a|| - ||b|| | <= ||a - b||",
    numeric=_normalisation_bias_instance,
)
JENSEN_MINIBATCH = Step(
    "Jensen for the minibatch mean",
    _display("E||g_b - grad||"),
    _display("sigma / sqrt(b)"),
    "<=",
    "Jensen (E‖X‖ ≤ √E‖X‖²) and Var of the mean of b iid draws = σ²/b; expectations computed "
    "exactly over every minibatch of a random finite distribution",
    numeric=_jensen_instance,
)
SIGN_DISAGREEMENT = Step(
    "sign-disagreement probability",
    _display("P(sign g_j != sign grad_j)"),
    _display("sigma_j / (sqrt(b) |grad_j|)"),
    "<=",
    "the event implies |g_j − ∇_j| ≥ |∇_j|; Markov, then Jensen for the minibatch mean "
    "(signSGD, Bernstein et al. 2018); probabilities computed exactly by enumeration",
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
    s.name: s
    for s in (BLOCK_DESCENT, NORMALISATION_BIAS, JENSEN_MINIBATCH, SIGN_DISAGREEMENT, SQUARE_OF_SUM)
}
