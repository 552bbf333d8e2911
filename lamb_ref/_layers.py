"""Per-layer quantities for the JAX optimizers: layer norms, φ, the trust ratio, learning rates.

The trust ratio is written once here and used by every LARS/LAMB form.
"""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp

from lamb_ref._variant_specs import UpperClamp


def layer_norm(x: jnp.ndarray, kind: str) -> jnp.ndarray:
    """‖x‖_2, ‖x‖_1 or ‖x‖_∞ of one layer (0 for an empty layer)."""
    if x.size == 0:
        return jnp.zeros((), x.dtype)
    if kind == "l2":
        return jnp.sqrt(jnp.sum(x * x))
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
    x: jnp.ndarray, u: jnp.ndarray, phi, kind: str, max_ratio: float | None = None
) -> jnp.ndarray:
    """φ(‖x‖)/‖u‖, or 1 where either norm is 0 (or NaN); optionally capped at ``max_ratio``."""
    xn, un = layer_norm(x, kind), layer_norm(u, kind)
    ok = (xn > 0) & (un > 0)
    ratio = jnp.where(ok, phi(xn) / jnp.where(ok, un, 1), 1)
    if max_ratio is not None:
        ratio = jnp.minimum(ratio, max_ratio)
    return ratio.astype(x.dtype)


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
    """η for the step after ``count`` steps (schedules are called with ``count``, as in optax)."""
    return learning_rate(count) if callable(learning_rate) else learning_rate


def scalar(value: Any, like: jnp.ndarray) -> jnp.ndarray:
    """A hyperparameter as a scalar of the leaf's dtype (keeps float32 state float32)."""
    return jnp.asarray(value, dtype=like.dtype)
