"""Block-Hessian spectral norms from Hessian-vector products (HVPs).

For a scalar function f of a parameter dict and a block (layer) name i, the block Hessian
H_ii = ∂²f/∂x_i² is applied to a vector v living in block i as the forward-over-reverse
product H_ii v = [∂/∂ε ∇f(x + ε·(v in block i, 0 elsewhere))]_i, i.e. ``jax.jvp`` of
``jax.grad`` restricted to block i. Power iteration and Lanczos on that operator give ‖H_ii‖₂
from below; Lanczos with full reorthogonalisation is exact (up to rounding) once its number of
steps reaches the block size.
"""

from __future__ import annotations

from collections.abc import Callable

import jax
import jax.numpy as jnp

Params = dict[str, jax.Array]

# Smallest norm divided by during power iteration: keeps H = 0 at 0 instead of NaN.
_TINY = 1e-300
# Lanczos breakdown: a residual below this fraction of the largest |α|, β seen so far means the
# Krylov space is (numerically) invariant; restart with a fresh orthogonal direction (β = 0).
_BREAKDOWN = 1e-12


def block_hvp(value: Callable[[Params], jax.Array], params: Params, name: str, v: jax.Array):
    """H_ii v for block ``name``: forward-over-reverse HVP with the tangent supported on block i.

    Args:
        value: f, a scalar function of the parameter dict.
        params: the point x.
        name: the block i.
        v: a vector with the shape of ``params[name]``.

    Returns:
        H_ii(x) v, with the shape of ``params[name]``.
    """
    tangent = {k: (v if k == name else jnp.zeros_like(p)) for k, p in params.items()}
    _, hv = jax.jvp(jax.grad(value), (params,), (tangent,))
    return hv[name]


def block_hessian_norm(
    value: Callable[[Params], jax.Array],
    params: Params,
    name: str,
    v0: jax.Array,
    iters: int,
) -> jax.Array:
    """‖H_ii(x)‖₂ by ``iters`` steps of power iteration v ← H_ii v / ‖H_ii v‖ from ``v0``.

    The returned estimate is ‖H_ii v‖ for the final unit vector v, a lower bound on the spectral
    norm max|λ(H_ii)| for any v; using ‖H v‖ instead of the Rayleigh quotient vᵀHv also converges
    when the extreme eigenvalues are ±λ. Jittable and vmappable (``iters`` is static).
    """

    def step(_, v):
        w = block_hvp(value, params, name, v)
        return w / jnp.maximum(jnp.linalg.norm(w), _TINY)

    v = v0 / jnp.maximum(jnp.linalg.norm(v0), _TINY)
    v = jax.lax.fori_loop(0, iters, step, v)
    return jnp.linalg.norm(block_hvp(value, params, name, v))


def lanczos_norm(matvec: Callable[[jax.Array], jax.Array], v0: jax.Array, steps: int):
    """max|λ(A)| of a symmetric operator on vectors shaped like ``v0`` by Lanczos.

    Runs m = min(steps, size) Lanczos steps with full reorthogonalisation (Gram-Schmidt twice) and
    returns the largest |Ritz value| of the m x m tridiagonal T = VᵀAV, a lower bound on the
    spectral norm that equals it (to rounding) when m = size. On breakdown (Krylov space
    invariant) the iteration restarts, with β = 0 so that T stays the exact projection, from the
    coordinate vector e_k least represented in the current basis V (smallest Σ_j V_jk²; as
    Σ_k Σ_j V_jk² = rank V < size, e_k - VᵀVe_k has squared norm >= 1 - rank V / size > 0).
    Jittable and vmappable.
    """
    shape, n = v0.shape, v0.size
    m = min(steps, n)

    def orth(V, w):
        w = w - V.T @ (V @ w)
        return w - V.T @ (V @ w)

    def step(j, carry):
        V, alpha, beta, v, scale = carry
        V = V.at[j].set(v)
        w = matvec(v.reshape(shape)).reshape(n)
        a = jnp.vdot(v, w)
        w = orth(V, w)
        b = jnp.linalg.norm(w)
        scale = jnp.maximum(scale, jnp.maximum(jnp.abs(a), b))
        fresh = orth(V, jax.nn.one_hot(jnp.argmin(jnp.sum(V**2, axis=0)), n, dtype=v0.dtype))
        fresh = fresh / jnp.maximum(jnp.linalg.norm(fresh), _TINY)
        broke = b <= _BREAKDOWN * scale
        v = jnp.where(broke, fresh, w / jnp.maximum(b, _TINY))
        return V, alpha.at[j].set(a), beta.at[j].set(jnp.where(broke, 0.0, b)), v, scale

    v = v0.reshape(n) / jnp.maximum(jnp.linalg.norm(v0), _TINY)
    init = (jnp.zeros((m, n), v0.dtype), jnp.zeros(m, v0.dtype), jnp.zeros(m, v0.dtype), v, 0.0)
    _, alpha, beta, _, _ = jax.lax.fori_loop(0, m, step, init)
    T = jnp.diag(alpha) + jnp.diag(beta[:-1], 1) + jnp.diag(beta[:-1], -1)
    return jnp.max(jnp.abs(jnp.linalg.eigvalsh(T)))


def block_hessian_norm_lanczos(
    value: Callable[[Params], jax.Array], params: Params, name: str, v0: jax.Array, steps: int
) -> jax.Array:
    """‖H_ii(x)‖₂ by :func:`lanczos_norm` on the block HVP; exact when ``steps`` >= block size."""
    return lanczos_norm(lambda v: block_hvp(value, params, name, v), v0, steps)
