"""Shared pieces of the NumPy reference: the optimizer protocol, layer norms, the trust ratio."""

from __future__ import annotations

import contextvars
import math
from collections.abc import Callable
from typing import Any, NamedTuple

import numpy as np

from lamb_ref import _checks
from lamb_ref.reference import _tree


class Optimizer(NamedTuple):
    """``init(params) -> state`` and ``update(grads, state, params, **extra) -> (updates, state)``.

    The same protocol as ``optax.GradientTransformationExtraArgs``, over nested dicts/lists of
    ``np.ndarray``: extra keyword arguments of ``update`` (``value=...`` and the like, which
    ``optax.chain`` passes along) are accepted and ignored. ``updates`` are added to the
    parameters by :func:`apply_updates`.
    """

    init: Callable[[Any], dict]
    update: Callable[[Any, dict, Any], tuple[Any, dict]]


def apply_updates(params: Any, updates: Any) -> Any:
    """x_{t+1} = x_t + u_t, leaf by leaf (keeps each parameter's dtype)."""
    names, xs, rebuild = _tree.arrays(params, "params")
    unames, us, _ = _tree.arrays(updates, "updates")
    _checks.same_structure(unames, names, what="updates")
    return rebuild([(x + u).astype(x.dtype) for x, u in zip(xs, us, strict=True)])


# Norms are accumulated block by block (in float64, in block order), so that no float64 copy of
# a layer is ever made and so that the in-place path (``lamb_ref.numpy_inplace``) reproduces them
# exactly.
BLOCK = 1 << 17


def norm_partial(block: np.ndarray, kind: str, out: np.ndarray | None = None) -> float:
    """One block's share of a layer norm: Σx² (l2), Σ|x| (l1) or max|x| (linf), in float64.

    ``out``: optional float64 scratch of the block's size (same values, no allocation). A
    complex block has only the l2 share Σ|x|² = Σ(Re x)² + (Im x)² (each entry a pair of reals).
    """
    if np.iscomplexobj(block):
        if kind != "l2":
            raise ValueError(f"the {kind} norm of a complex layer is not defined here")
        return float(np.sum(abs_sq(block.astype(np.complex128))))
    if block.dtype != np.float64:
        # Widen first (exact), then square in place: the same float64 values as
        # np.square(block, dtype=np.float64), without that ufunc's buffered cast loop, which
        # made the two norms of an in-place LAMB step about 20% slower.
        if out is None:
            out = block.astype(np.float64)
        else:
            np.copyto(out, block)
        block = out
    if kind == "l2":
        return float(np.sum(np.square(block, out=out)))
    if kind == "l1":
        return float(np.sum(np.absolute(block, out=out)))
    return float(np.max(np.absolute(block, out=out)))


def norm_finish(partials: list[float], kind: str) -> float:
    """The layer norm from its blocks' shares, folded in block order (NaN propagates)."""
    if not partials:
        return 0.0
    acc = partials[0]
    for p in partials[1:]:
        acc = float(np.maximum(acc, p)) if kind == "linf" else acc + p
    return math.sqrt(acc) if kind == "l2" else acc


def blocks(size: int) -> list[slice]:
    """The blocks of a raveled layer of ``size`` entries."""
    return [slice(o, min(o + BLOCK, size)) for o in range(0, size, BLOCK)]


def abs_sq(x: np.ndarray) -> np.ndarray:
    """|x|² = x·conj(x) = (Re x)² + (Im x)², real; for a real x the same expression x·x."""
    if np.iscomplexobj(x):
        return x.real * x.real + x.imag * x.imag
    return x * x


def scaled_abs_sq(c: Any, g: np.ndarray) -> np.ndarray:
    """c·|g|², the increment of a second moment (real).

    For a real g it is evaluated as (c·g)·g, the order the real path has always used (same bits).
    """
    if np.iscomplexobj(g):
        return c * abs_sq(g)
    return c * g * g


def real_full_like(x: np.ndarray, value: float = 0.0) -> np.ndarray:
    """A |g|² accumulator filled with ``value``: x's shape, real dtype (float32 for complex64)."""
    return np.full_like(x, value, dtype=x.real.dtype)


def layer_norm(x: np.ndarray, kind: str) -> float:
    """‖x‖_2, ‖x‖_1 or ‖x‖_∞ of one layer (0 for an empty layer), accumulated in float64.

    A complex layer has only ‖x‖_2 = √Σ|x_j|²; the optimizers refuse it with the others
    (:func:`lamb_ref._checks.complex_refusal`).
    """
    flat = np.ravel(x)
    return norm_finish([norm_partial(flat[b], kind) for b in blocks(flat.size)], kind)


def phi_function(phi: Any) -> Callable[[float], float]:
    """φ: identity (None), clip(z, α_l, α_u) (a pair), or the callable itself."""
    if phi is None:
        return lambda z: z
    if callable(phi):
        return phi
    lo, hi = float(phi[0]), float(phi[1])
    return lambda z: min(max(z, lo), hi)


def trust_ratio(
    xn: float,
    un: float,
    phi: Callable[[float], float] | None,
    max_ratio: float | None = None,
    *,
    coefficient: float | None = None,
    weight_decay: float | None = None,
    eps: float | None = None,
) -> float:
    """The layer-wise trust ratio of every LARS/LAMB form, from the layer's two norms.

    With xn = ‖x^(i)‖ and un = ‖u^(i)‖ (:func:`layer_norm`, l2 in the paper, l1/l∞ in Appendix F):

        ratio = c · φ(xn) / (un + λ xn + ε)     if xn > 0 and un > 0
        ratio = 1                               otherwise (a zero norm; NaN > 0 is false too)
        ratio ← min(ratio, max_ratio)           if ``max_ratio`` is given (timm ``trust_clip``)

    The terms not given drop out. Algorithm 1 (LARS, u = m) and Algorithm 2 (LAMB, u = r + λx)
    use φ(‖x‖)/‖u‖; You, Gitman & Ginsburg 2017 (timm ``Lars``, torch-optimizer ``LARS``) use
    c‖x‖/(‖g‖ + λ‖x‖ + ε) and optax 0.2.x ``lars`` c‖x‖/(‖g + λx‖ + ε). ``phi`` None is the
    identity. This is the only trust ratio of the NumPy backend (the reference and
    ``lamb_ref.numpy_inplace``); the JAX twin is ``lamb_ref._layers.trust_ratio``.
    """
    ratio = 1.0
    if xn > 0 and un > 0:
        num = xn if phi is None else float(phi(xn))
        if coefficient is not None:
            num = coefficient * num
        den = un
        if weight_decay is not None:
            den = den + weight_decay * xn
        if eps is not None:
            den = den + eps
        ratio = num / den
    if max_ratio is not None:
        ratio = min(ratio, max_ratio)
    return ratio


# True while ``lamb_ref.reference.finite_check`` runs the wrapped optimizer's ``update``: the
# learning rate of that step is then checked (see :func:`learning_rate_at`).
CHECK_LEARNING_RATE: contextvars.ContextVar[bool] = contextvars.ContextVar(
    "lamb_ref_reference_check_learning_rate", default=False
)


def learning_rate_at(learning_rate: Any, count: int) -> float:
    """η for the step after ``count`` steps (a schedule is called with ``count``, as in optax).

    Unchecked, as in the JAX twin (which cannot raise on a value inside ``jit``): a negative η
    ascends, a NaN one makes the parameters NaN. Under :func:`lamb_ref.reference.finite_check`
    (:data:`CHECK_LEARNING_RATE`) η must be finite and >= 0, else ``HyperparameterError``.
    """
    value = float(np.asarray(learning_rate(count))) if callable(learning_rate) else learning_rate
    if CHECK_LEARNING_RATE.get():
        _checks.learning_rate_value(value, count, callable(learning_rate))
    return float(value)


class Leaves(NamedTuple):
    names: list[str]
    grads: list[np.ndarray]
    params: list[np.ndarray]
    rebuild: Callable[[list[Any]], Any]


def leaves(
    grads: Any, params: Any, needs_params: bool = True, complex_refused: str | None = None
) -> Leaves:
    """Flatten grads and params and check they correspond leaf by leaf.

    Complex leaves are taken unless ``complex_refused`` says why not.
    """
    names, gs, rebuild = _tree.arrays(grads, "grads", complex_refused)
    if params is None:
        if needs_params:
            raise _checks.HyperparameterError(
                "params=None is invalid: this optimizer needs the current parameters"
            )
        return Leaves(names, gs, [None] * len(gs), rebuild)
    pnames, xs, _ = _tree.arrays(params, "params", complex_refused)
    _checks.same_structure(names, pnames)
    _checks.same_shapes(names, [g.shape for g in gs], [x.shape for x in xs])
    return Leaves(names, gs, xs, rebuild)


def zeros_like_tree(params: Any, complex_refused: str | None = None) -> Any:
    """Zeros shaped and typed like every leaf (a first moment, a momentum buffer)."""
    _, xs, rebuild = _tree.arrays(params, "params", complex_refused)
    return rebuild([np.zeros_like(x) for x in xs])


def real_full_like_tree(params: Any, value: float = 0.0) -> Any:
    """:func:`real_full_like` of every leaf (a second moment, AdaGrad's sum of |g|²)."""
    _, xs, rebuild = _tree.arrays(params, "params")
    return rebuild([real_full_like(x, value) for x in xs])


def flat(tree: Any) -> list[np.ndarray]:
    return _tree.arrays(tree, "state")[1]


def sum_of_squares(x: np.ndarray) -> float:
    """Σ|x|² over one layer in float64, block by block (the l2 norm before the square root)."""
    flat = np.ravel(x)
    return sum(norm_partial(flat[b], "l2") for b in blocks(flat.size))


def global_clip_scale(gs: list[np.ndarray], max_norm: float) -> float:
    """max(‖g‖_global / c, 1), the norm taken over every leaf together."""
    total = math.sqrt(sum(sum_of_squares(g) for g in gs))
    return max(total / max_norm, 1.0)


def clip_by_global_norm(gs: list[np.ndarray], max_norm: float) -> list[np.ndarray]:
    """g ← g / max(‖g‖_global / c, 1), the norm taken over every leaf together."""
    scale = global_clip_scale(gs, max_norm)
    return [g / scale for g in gs]
