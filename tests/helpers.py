"""Trajectory drivers shared by the tests: run an optimizer in either backend."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import jax.numpy as jnp
import numpy as np

import lamb_ref
from lamb_ref import reference


def to_numpy(tree: Any) -> Any:
    if isinstance(tree, dict):
        return {k: to_numpy(v) for k, v in tree.items()}
    if isinstance(tree, list | tuple):
        return type(tree)(to_numpy(v) for v in tree)
    return np.asarray(tree)


def to_jax(tree: Any) -> Any:
    if isinstance(tree, dict):
        return {k: to_jax(v) for k, v in tree.items()}
    if isinstance(tree, list | tuple):
        return type(tree)(to_jax(v) for v in tree)
    return jnp.asarray(tree)


def tree_map(fn: Callable, *trees: Any) -> Any:
    first = trees[0]
    if isinstance(first, dict):
        return {k: tree_map(fn, *(t[k] for t in trees)) for k in first}
    if isinstance(first, list | tuple):
        return type(first)(tree_map(fn, *parts) for parts in zip(*trees, strict=True))
    return fn(*trees)


def run(
    optimizer: Any, params: Any, grad_fn: Callable[[Any, int], Any], steps: int, backend: str
) -> list[Any]:
    """Parameters after each of ``steps`` steps; ``grad_fn(params, t)`` gives the gradient.

    ``backend`` is "numpy" (optimizer from lamb_ref.reference) or "jax" (from lamb_ref).
    """
    params = to_jax(params) if backend == "jax" else to_numpy(params)
    apply = lamb_ref.apply_updates if backend == "jax" else reference.apply_updates
    state = optimizer.init(params)
    out = []
    for t in range(steps):
        grads = grad_fn(params, t)
        grads = to_jax(grads) if backend == "jax" else to_numpy(grads)
        updates, state = optimizer.update(grads, state, params)
        params = apply(params, updates)
        out.append(to_numpy(params))
    return out


def max_abs_diff(a: Any, b: Any) -> float:
    """Largest absolute difference between two trees (or lists of trees) of arrays."""
    diffs: list[float] = []

    def collect(x, y):
        x, y = np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)
        assert x.shape == y.shape, (x.shape, y.shape)
        diffs.append(float(np.max(np.abs(x - y))) if x.size else 0.0)

    if (
        isinstance(a, list)
        and isinstance(b, list)
        and len(a) == len(b)
        and a
        and isinstance(a[0], dict)
    ):
        for x, y in zip(a, b, strict=True):
            tree_map(collect, x, y)
    else:
        tree_map(collect, a, b)
    return max(diffs) if diffs else 0.0


def random_tree(rng: np.random.Generator, dtype=np.float64) -> dict:
    """A pytree with scalar, 1-D, 2-D and 4-D leaves, one of them zero-initialised."""
    return {
        "scale": np.asarray(rng.normal(), dtype=dtype),
        "dense": {
            "kernel": rng.normal(size=(5, 3)).astype(dtype),
            "bias": np.zeros(3, dtype=dtype),
        },
        "conv": {"kernel": rng.normal(size=(2, 3, 2, 2)).astype(dtype)},
        "layers": [rng.normal(size=(4,)).astype(dtype), rng.normal(size=(3, 3)).astype(dtype)],
    }


def noisy_quadratic_grad(seed: int, scale: float = 1.0) -> Callable[[Any, int], Any]:
    """g = x - c + noise (deterministic per step), a gradient that differs across leaves."""

    def grad(params, t):
        rng = np.random.default_rng(seed * 1000 + t)

        def leaf(x):
            x = np.asarray(x)
            return (x - 0.3 + scale * rng.normal(size=x.shape)).astype(x.dtype)

        return tree_map(leaf, to_numpy(params))

    return grad
