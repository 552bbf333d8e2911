"""Shared pieces of the NumPy reference: the optimizer protocol, layer norms, the trust ratio."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any, NamedTuple

import numpy as np

from lamb_ref import _checks
from lamb_ref.reference import _tree


class Optimizer(NamedTuple):
    """``init(params) -> state`` and ``update(grads, state, params) -> (updates, state)``.

    The same protocol as ``optax.GradientTransformation``, over nested dicts/lists of
    ``np.ndarray``. ``updates`` are added to the parameters by :func:`apply_updates`.
    """

    init: Callable[[Any], dict]
    update: Callable[[Any, dict, Any], tuple[Any, dict]]


def apply_updates(params: Any, updates: Any) -> Any:
    """x_{t+1} = x_t + u_t, leaf by leaf (keeps each parameter's dtype)."""
    names, xs, rebuild = _tree.arrays(params, "params")
    unames, us, _ = _tree.arrays(updates, "updates")
    _checks.same_structure(unames, names, what="updates")
    return rebuild([(x + u).astype(x.dtype) for x, u in zip(xs, us, strict=True)])


def layer_norm(x: np.ndarray, kind: str) -> float:
    """‖x‖_2, ‖x‖_1 or ‖x‖_∞ of one layer (0 for an empty layer)."""
    flat = np.abs(np.ravel(x)).astype(np.float64)
    if flat.size == 0:
        return 0.0
    if kind == "l2":
        return float(np.sqrt(np.sum(flat * flat)))
    if kind == "l1":
        return float(np.sum(flat))
    return float(np.max(flat))


def phi_function(phi: Any) -> Callable[[float], float]:
    """φ: identity (None), clip(z, α_l, α_u) (a pair), or the callable itself."""
    if phi is None:
        return lambda z: z
    if callable(phi):
        return phi
    lo, hi = float(phi[0]), float(phi[1])
    return lambda z: min(max(z, lo), hi)


def trust_ratio(
    x: np.ndarray,
    u: np.ndarray,
    phi: Callable[[float], float],
    kind: str,
    max_ratio: float | None = None,
) -> float:
    """φ(‖x‖)/‖u‖ for one layer; 1 when either norm is 0 (or not a positive number)."""
    xn, un = layer_norm(x, kind), layer_norm(u, kind)
    ratio = float(phi(xn)) / un if (xn > 0 and un > 0) else 1.0
    if max_ratio is not None:
        ratio = min(ratio, max_ratio)
    return ratio


def learning_rate_at(learning_rate: Any, count: int) -> float:
    """η for the step after ``count`` steps (a schedule is called with ``count``, as in optax)."""
    if callable(learning_rate):
        value = float(np.asarray(learning_rate(count)))
        if not (math.isfinite(value) and value >= 0):
            raise _checks.HyperparameterError(
                f"learning_rate schedule returned {value!r} at step {count}: "
                "a learning rate must be finite and >= 0"
            )
        return value
    return float(learning_rate)


class Leaves(NamedTuple):
    names: list[str]
    grads: list[np.ndarray]
    params: list[np.ndarray]
    rebuild: Callable[[list[Any]], Any]


def leaves(grads: Any, params: Any, needs_params: bool = True) -> Leaves:
    """Flatten grads and params and check they correspond leaf by leaf."""
    names, gs, rebuild = _tree.arrays(grads, "grads")
    if params is None:
        if needs_params:
            raise _checks.HyperparameterError(
                "params=None is invalid: this optimizer needs the current parameters"
            )
        return Leaves(names, gs, [None] * len(gs), rebuild)
    pnames, xs, _ = _tree.arrays(params, "params")
    _checks.same_structure(names, pnames)
    _checks.same_shapes(names, [g.shape for g in gs], [x.shape for x in xs])
    return Leaves(names, gs, xs, rebuild)


def zeros_like_tree(params: Any) -> Any:
    _, xs, rebuild = _tree.arrays(params, "params")
    return rebuild([np.zeros_like(x) for x in xs])


def flat(tree: Any) -> list[np.ndarray]:
    return _tree.arrays(tree, "state")[1]


def clip_by_global_norm(gs: list[np.ndarray], max_norm: float) -> list[np.ndarray]:
    """g ← g / max(‖g‖_global / c, 1), the norm taken over every leaf together."""
    total = math.sqrt(sum(float(np.sum(np.square(g, dtype=np.float64))) for g in gs))
    scale = max(total / max_norm, 1.0)
    return [g / scale for g in gs]
