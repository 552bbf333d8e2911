"""Random finite instances for the numeric checks of statements about expectations.

A :class:`Problem` is a separable objective from one of :data:`FAMILIES`, each block exactly
L_i-smooth, at a random iterate x, with a random mean-zero finite distribution of gradient noise.
Expectations over a minibatch are computed *exactly* by enumerating every minibatch of b draws
(no Monte-Carlo error). Every instance has h ≥ 4 layers of d_i ≥ 4 coordinates; the support and
b are kept small so that the enumeration stays cheap.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import numpy as np

Direction = Callable[[np.ndarray], list[np.ndarray]]  # g -> the unit direction of each layer


def _cosine(z: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """1 − cos z and its derivative sin z: second derivative cos z ∈ [−1, 1], sup 1."""
    return 1 - np.cos(z), np.sin(z)


def _logcosh(z: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """log cosh z and its derivative tanh z: second derivative sech² z ∈ (0, 1], sup 1."""
    return np.logaddexp(z, -z) - np.log(2.0), np.tanh(z)


def _quadratic(z: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """z²/2 and its derivative z: second derivative 1 (block descent holds with equality)."""
    return z**2 / 2, z


# f(z) = Σ_j L_j ψ(z_j) with ψ'' ≤ 1 and sup ψ'' = 1: block i is exactly L_i-smooth.
FAMILIES: dict[str, Callable[[np.ndarray], tuple[np.ndarray, np.ndarray]]] = {
    "cosine": _cosine,
    "logcosh": _logcosh,
    "quadratic": _quadratic,
}
MIN_LAYERS = 4
MIN_LAYER_SIZE = 4


def minibatches(
    points: np.ndarray, probs: np.ndarray, b: int
) -> Iterator[tuple[float, np.ndarray]]:
    """Every minibatch of b draws with replacement, with its exact probability and mean."""
    for idx in itertools.product(range(len(points)), repeat=b):
        yield float(np.prod(probs[list(idx)])), points[list(idx)].mean(axis=0)


@dataclass(frozen=True)
class Problem:
    """f(z) = Σ_j L_j ψ(z_j) (ψ from ``family``) at x, with mean-zero finite gradient noise."""

    family: str
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
        return self.coord_L * FAMILIES[self.family](self.x)[1]

    @property
    def phi(self) -> np.ndarray:
        """φ_i = clip(‖x^(i)‖, α_l, α_u)."""
        norms = [np.linalg.norm(xi) for xi in self.split(self.x)]
        return np.clip(norms, self.alpha_l, self.alpha_u)

    def f(self, z: np.ndarray) -> float:
        return float(self.coord_L @ FAMILIES[self.family](z)[0])

    def split(self, v: np.ndarray) -> list[np.ndarray]:
        return np.split(v, np.cumsum(self.sizes)[:-1], axis=-1)

    def minibatch_grads(self) -> Iterator[tuple[float, np.ndarray]]:
        """(probability, g) for every minibatch of b draws."""
        for p, z in minibatches(self.noise, self.probs, self.b):
            yield p, self.grad + z

    def sample_grads(self) -> np.ndarray:
        return self.grad + self.noise

    def coord_sigma(self) -> np.ndarray:
        """σ̃_j = √E ζ_j², exactly."""
        return np.sqrt(self.probs @ self.noise**2)

    def layer_sigma(self) -> np.ndarray:
        """σ_i = √E‖ζ^(i)‖², exactly."""
        return np.array(
            [np.sqrt(self.probs @ np.sum(z**2, axis=1)) for z in self.split(self.noise)]
        )

    def update(self, direction: Direction, g: np.ndarray) -> np.ndarray:
        """x_{t+1} − x_t: −η φ_i u_i in layer i (u_i the layer's unit direction)."""
        units = direction(g)
        return -self.eta * np.concatenate([f * u for f, u in zip(self.phi, units, strict=True)])

    def expected_f(self, direction: Direction) -> float:
        """E f(x_{t+1}) over every minibatch, exactly."""
        moves = ((q, self.update(direction, g)) for q, g in self.minibatch_grads())
        return float(sum(q * self.f(self.x + dx) for q, dx in moves))


def draw_problem(rng: np.random.Generator, equal_sizes: bool = False) -> Problem:
    """A random instance: family, h ≥ 4 layers of d_i ≥ 4 coordinates (equal if asked), L_i,
    x, a 2-3 point noise law, b ≤ 3, α_l ≤ α_u and η."""
    family = list(FAMILIES)[int(rng.integers(len(FAMILIES)))]
    h, k = int(rng.integers(MIN_LAYERS, MIN_LAYERS + 2)), int(rng.integers(MIN_LAYER_SIZE, 6))
    sizes = [k] * h if equal_sizes else [int(rng.integers(MIN_LAYER_SIZE, 6)) for _ in range(h)]
    d, n = sum(sizes), int(rng.integers(2, 4))
    probs = rng.dirichlet(np.ones(n))
    noise = rng.normal(size=(n, d)) * np.exp(rng.uniform(-4, 1))
    alpha_l = float(np.exp(rng.uniform(-2, 1)))
    return Problem(
        family=family,
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


def worst(lhs: np.ndarray, rhs: np.ndarray) -> tuple[float, float]:
    """The (lhs, rhs) pair of the entry with the largest relative violation lhs − rhs."""
    lhs, rhs = np.asarray(lhs, dtype=float), np.asarray(rhs, dtype=float)
    j = int(np.argmax((lhs - rhs) / np.maximum(np.maximum(abs(lhs), abs(rhs)), 1e-300)))
    return float(lhs[j]), float(rhs[j])
