"""Per-layer quantities for the JAX optimizers: layer norms, φ, the trust ratio, learning rates.

The trust ratio (:func:`trust_ratio`) is written once here and used by every LARS/LAMB form of
the JAX package, like optax's ``scale_by_trust_ratio``.
"""

from __future__ import annotations

import contextvars
from typing import Any

import jax
import jax.numpy as jnp

from lamb_ref import _checks
from lamb_ref._variant_specs import UpperClamp

# True while ``lamb_ref.finite_check`` runs (or traces) the wrapped optimizer's ``update``: the
# learning rate of that step is then checked (see :func:`learning_rate_at`).
CHECK_LEARNING_RATE: contextvars.ContextVar[bool] = contextvars.ContextVar(
    "lamb_ref_check_learning_rate", default=False
)


def real_dtype(dtype: Any) -> Any:
    """The real dtype of a leaf's scalars, norms and second moments: the dtype itself for a real
    leaf, float32/float64 for complex64/complex128 (learning rates and norms stay real)."""
    return jnp.finfo(dtype).dtype if jnp.issubdtype(dtype, jnp.complexfloating) else dtype


def abs_sq(x: jnp.ndarray) -> jnp.ndarray:
    """|x|² = x·conj(x) = (Re x)² + (Im x)², real; for a real x the same expression x·x as ever.

    Each complex entry counts as a pair of reals, as in optax (``optax.tree`` moments, norms).
    """
    if jnp.iscomplexobj(x):
        return x.real * x.real + x.imag * x.imag
    return x * x


def scaled_abs_sq(c: Any, g: jnp.ndarray) -> jnp.ndarray:
    """c·|g|², the increment of a second moment (real).

    For a real g it is evaluated as (c·g)·g, the order the real path has always used (same bits).
    """
    if jnp.iscomplexobj(g):
        return c * abs_sq(g)
    return c * g * g


def real_full_like(x: jnp.ndarray, value: Any = 0) -> jnp.ndarray:
    """A |g|² accumulator filled with ``value``: x's shape and real dtype (for a real x exactly
    ``jnp.full_like(x, value)``, weak type and sharding included)."""
    if jnp.iscomplexobj(x):
        return jnp.full_like(x, value, dtype=real_dtype(x.dtype))
    return jnp.full_like(x, value)


def layer_norm(x: jnp.ndarray, kind: str) -> jnp.ndarray:
    """‖x‖_2, ‖x‖_1 or ‖x‖_∞ of one layer (0 for an empty layer), of x's real dtype.

    A complex layer has only the l2 norm √Σ|x_j|² (each entry a pair of reals); the optimizers
    refuse complex leaves with the others (:func:`lamb_ref._checks.complex_refusal`).
    """
    if x.size == 0:
        return jnp.zeros((), real_dtype(x.dtype))
    if kind == "l2":
        return jnp.sqrt(jnp.sum(abs_sq(x)))
    if jnp.iscomplexobj(x):
        raise ValueError(f"the {kind} norm of a complex layer is not defined here")
    if kind == "l1":
        return jnp.sum(jnp.abs(x))
    return jnp.max(jnp.abs(x))


def phi_function(phi: Any):
    """φ: identity (None), clip(z, α_l, α_u) (a pair), min(z, c) (UpperClamp), or a callable."""
    if phi is None:
        return lambda z: z
    if isinstance(phi, UpperClamp):
        return lambda z: jnp.minimum(z, phi.upper)
    if callable(phi):
        return phi
    lo, hi = phi
    return lambda z: jnp.clip(z, lo, hi)


def trust_ratio(
    x: jnp.ndarray,
    u: jnp.ndarray,
    phi: Any,
    kind: str,
    max_ratio: Any = None,
    *,
    coefficient: Any = None,
    weight_decay: Any = None,
    eps: Any = None,
    dtype: Any = None,
) -> jnp.ndarray:
    """The layer-wise trust ratio of every LARS/LAMB form (the only one in the JAX package).

    With ‖·‖ the layer norm ``kind`` ("l2", "l1" or "linf", Appendix F) of one layer:

        ratio = c · φ(‖x‖) / (‖u‖ + λ‖x‖ + ε)     where ‖x‖ > 0 and ‖u‖ > 0
        ratio = 1                                 where either norm is 0 (or NaN: NaN > 0 is false)
        ratio ← min(ratio, max_ratio)             if ``max_ratio`` is given (timm ``trust_clip``)

    and the ratio is returned as a real scalar of ``dtype`` (default: x's; the real dtype of a
    complex one, as the norms are real). The terms not given drop
    out: c (``coefficient``), λ (``weight_decay``) and ε (``eps``) are absent from Algorithm 1
    (LARS, u = m) and Algorithm 2 (LAMB, u = r + λx), which use φ(‖x‖)/‖u‖; You, Gitman &
    Ginsburg 2017 (timm ``Lars``, torch-optimizer ``LARS``) use c‖x‖/(‖g‖ + λ‖x‖ + ε) with u = g,
    and optax 0.2.x ``lars`` c‖x‖/(‖g + λx‖ + ε). ``phi`` is a callable (see :func:`phi_function`)
    or None for the identity. The NumPy twin is ``lamb_ref.reference._common.trust_ratio``.
    """
    xn, un = layer_norm(x, kind), layer_norm(u, kind)
    ok = (xn > 0) & (un > 0)
    num = xn if phi is None else phi(xn)
    if coefficient is not None:
        num = coefficient * num
    den = un
    if weight_decay is not None:
        den = den + weight_decay * xn
    if eps is not None:
        den = den + eps
    ratio = jnp.where(ok, num / jnp.where(ok, den, 1), 1)
    if max_ratio is not None:
        ratio = jnp.minimum(ratio, max_ratio)
    return ratio.astype(real_dtype(x.dtype if dtype is None else dtype))


def fresh(operands: Any) -> Any:
    """The same values, but as new HLO values (``lax.optimization_barrier``; no copy, no work).

    A layer's trust ratio reduces an expression (u = r + λx) that its update uses again. Traced
    once, XLA computes u into a temporary array that both read: on CPU that is an extra write
    and read of the layer plus a fresh allocation (page faults) every step. Computing the norm's
    copy of the expression from ``fresh`` inputs - the layer's arrays *and* its scalars, so that
    nothing is shared with the update or with another layer: not u, not a broadcast scalar, not
    a bf16 -> f32 conversion - lets XLA fuse each copy into its own consumer: the reduction reads
    x, m, v and the update reads them again, and no array the size of a layer is stored.
    ``tests/test_fast_step.py`` checks that the compiled step has no such temporary.
    """
    return jax.lax.optimization_barrier(operands)


def learning_rate_at(learning_rate: Any, count: jnp.ndarray) -> Any:
    """η for the step after ``count`` steps (schedules are called with ``count``, as in optax).

    Unchecked, as optax does it: a schedule may return a negative or non-finite η, and jitted
    code cannot raise on a value. Under ``lamb_ref.finite_check`` (:data:`CHECK_LEARNING_RATE`)
    η must be finite and >= 0: checked at once on concrete values, else through
    ``jax.debug.callback`` (the jitted call then fails with the same message).
    """
    eta = learning_rate(count) if callable(learning_rate) else learning_rate
    if CHECK_LEARNING_RATE.get():
        schedule = callable(learning_rate)
        if isinstance(eta, jax.core.Tracer) or isinstance(count, jax.core.Tracer):
            jax.debug.callback(lambda e, c: _checks.learning_rate_value(e, c, schedule), eta, count)
        else:
            _checks.learning_rate_value(eta, count, schedule)
    return eta


def scalar(value: Any, like: jnp.ndarray) -> jnp.ndarray:
    """A hyperparameter as a scalar of the leaf's real dtype (keeps float32 state float32; a
    complex64 leaf's η, β, λ are float32)."""
    return jnp.asarray(value, dtype=real_dtype(like.dtype))
