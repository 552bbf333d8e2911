"""Trajectory drivers shared by the tests: run an optimizer in either backend."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import jax.numpy as jnp
import numpy as np

import lamb_ref
from lamb_ref import reference
from lamb_ref.schedules import warmup_polynomial_decay


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


# Cases shared by the backend comparisons (tests/test_backends.py in float64 and float32 arrays,
# tests/test_lamb_ref_defaults.py under JAX's default precision).
SCHEDULE = warmup_polynomial_decay(0.05, total_steps=6, warmup_steps=2)

OPTIMIZERS = {
    "lamb": dict(learning_rate=0.02, weight_decay=0.01),
    "lamb_schedule_phi": dict(learning_rate=SCHEDULE, weight_decay=0.01, phi=(0.5, 2.0)),
    "lamb_v3_l1": dict(learning_rate=0.02, bias_correction=False, trust_norm="l1"),
    "lamb_linf_masks": dict(
        learning_rate=0.02,
        weight_decay=0.1,
        trust_norm="linf",
        weight_decay_mask=lamb_ref.masks.exclude("bias"),
        trust_ratio_mask=["kernel"],
    ),
    "lars": dict(learning_rate=0.1, momentum=0.9, weight_decay=0.01),
    "lars_phi_schedule": dict(learning_rate=SCHEDULE, momentum=0.5, phi=(0.1, 1.0)),
    "nlamb": dict(learning_rate=0.02, weight_decay=0.01),
    # Nadam's momentum schedule μ_t = β(1 − ½·0.96^{t/250}) (Dozat 2016)
    "nlamb_schedule": dict(
        learning_rate=0.02, b1_schedule=lambda t: 0.9 * (1 - 0.5 * 0.96 ** (t / 250))
    ),
    "nnlamb": dict(learning_rate=0.02, weight_decay=0.01),
    "sgd": dict(learning_rate=0.1, weight_decay=0.01),
    "momentum": dict(learning_rate=0.1, momentum=0.9),
    "momentum_nesterov": dict(learning_rate=0.1, momentum=0.9, nesterov=True, weight_decay=0.01),
    "adam": dict(learning_rate=0.01),
    "adamw": dict(learning_rate=0.01, weight_decay=0.1, weight_decay_mask=["kernel"]),
    "adagrad": dict(learning_rate=0.1),
}


def factory(key: str) -> str:
    """The optimizer a case id of ``OPTIMIZERS`` names: the part before the first underscore."""
    return key.split("_")[0]


# Hyperparameters for each named variant (``learning_rate`` added by the caller).
VARIANT_HP = {
    "lamb": dict(weight_decay=0.01, exclude_from_layer_adaptation=["bias"]),
    "lamb_v3": dict(weight_decay=0.01, exclude_from_weight_decay=["bias"]),
    "tfa": dict(weight_decay=0.01, exclude_from_weight_decay=["bias"]),
    "optax": dict(weight_decay=0.01, exclude_from_weight_decay=["scale"]),
    "timm": dict(max_grad_norm=1.0, exclude_from_weight_decay=["bias"]),
    "timm_lambc": dict(always_adapt=True),
    "timm_lambw": dict(weight_decay=0.05),
    "torch_optimizer": dict(weight_decay=0.01, clamp_value=1.5),
    "torch_optimizer_debias": dict(weight_decay=0.01),
    "keras3": dict(weight_decay=0.01, exclude_from_weight_decay=["bias"]),
    "lars": dict(weight_decay=0.01, phi=(0.1, 3.0)),
    "lars_2017": dict(momentum=0.9, weight_decay=0.01, nesterov=True, trust_coefficient=0.01),
    "optax_lars": dict(weight_decay=0.01, nesterov=True, exclude_from_layer_adaptation=["bias"]),
}


def variant_hp(name: str) -> dict:
    """The hyperparameters a named variant is tested with: ``VARIANT_HP`` and a learning rate."""
    return dict(learning_rate=0.1 if "lars" in name else 0.02, **VARIANT_HP[name])


def backend_pair(name: str, hp: dict) -> tuple[Any, Any]:
    """Optimizer ``name`` with hyperparameters ``hp`` from the NumPy reference and from JAX."""
    return getattr(reference, name)(**hp), getattr(lamb_ref, name)(**hp)
