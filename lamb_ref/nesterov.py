"""N-LAMB and NN-LAMB as optax ``GradientTransformation``s (Appendix D, Algorithms 3 and 4).

Provenance: **recalled, not confirmed** against the paper (Appendix D; see ``docs/paper.md``);
transcribed as recorded, including v̂ = β2 v_t/(1-β2^t) in N-LAMB. The trust ratio is
:func:`lamb_ref._layers.trust_ratio`; the NumPy twins (``lamb_ref.reference.nesterov``) are the
readable specification.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import optax

from lamb_ref import _checks, _layers
from lamb_ref.tree import check_match, float_inputs, float_tree, resolve_mask


class NesterovLambState(NamedTuple):
    count: jnp.ndarray  # int32, steps taken
    mu: Any
    nu: Any
    prod_b1: jnp.ndarray  # Π_{i≤t} β1^i
    prod_b2: jnp.ndarray  # Π_{i≤t} β2^i


def _schedule(constant: Any, schedule: Callable | None) -> Callable:
    """β^t: the schedule (checked by ``_checks.nesterov_lamb_hyperparameters``) or the constant."""
    return (lambda t: constant) if schedule is None else schedule


def _nesterov_lamb(
    learning_rate,
    b1,
    b2,
    eps,
    weight_decay,
    *,
    second_moment_nesterov,
    b1_schedule,
    b2_schedule,
    phi,
    trust_norm,
    weight_decay_mask,
    trust_ratio_mask,
) -> optax.GradientTransformationExtraArgs:
    _checks.nesterov_lamb_hyperparameters(
        learning_rate, b1, b2, eps, weight_decay, phi, trust_norm, b1_schedule, b2_schedule
    )
    beta1 = _schedule(b1, b1_schedule)
    beta2 = _schedule(b2, b2_schedule)
    phi_fn = _layers.phi_function(phi)
    complex_refused = _checks.complex_refusal(
        "nnlamb" if second_moment_nesterov else "nlamb", trust_norm
    )

    def init(params: Any) -> NesterovLambState:
        params = float_tree(params, "params", complex_refused)
        leaves = jax.tree.leaves(params)
        # the products Π β^i, real, in float32 or wider (in bfloat16, β2 = 0.999 rounds to 1)
        dtype = (
            jnp.promote_types(_layers.real_dtype(leaves[0].dtype), jnp.float32)
            if leaves
            else jnp.float32
        )
        one = jnp.ones((), dtype)
        return NesterovLambState(
            jnp.zeros((), jnp.int32),
            jax.tree.map(jnp.zeros_like, params),
            jax.tree.map(_layers.real_full_like, params),
            one,
            one,
        )

    def update(grads, state, params=None, **extra_args):
        grads, params = float_inputs(grads, params, complex_refused)
        if params is None:
            raise _checks.HyperparameterError("params=None is invalid: N-LAMB needs the parameters")
        names = check_match(grads, params)
        wd_on = resolve_mask(weight_decay_mask, params, names, "weight_decay_mask")
        adapt_on = resolve_mask(trust_ratio_mask, params, names, "trust_ratio_mask")
        gs, treedef = jax.tree.flatten(grads)
        xs, mus, nus = jax.tree.leaves(params), jax.tree.leaves(state.mu), jax.tree.leaves(state.nu)
        t = state.count + 1
        eta = _layers.learning_rate_at(learning_rate, state.count)
        pdt = state.prod_b1.dtype
        tf = t.astype(pdt)  # schedules see a float step so their maths runs in the state dtype
        b1_t, b1_next = jnp.asarray(beta1(tf), pdt), jnp.asarray(beta1(tf + 1), pdt)
        b2_t, b2_next = jnp.asarray(beta2(tf), pdt), jnp.asarray(beta2(tf + 1), pdt)
        prod1_t = state.prod_b1 * b1_t
        prod1_next = prod1_t * b1_next
        prod2_t = state.prod_b2 * b2_t
        prod2_next = prod2_t * b2_next
        ms, vs, ups = [], [], []
        for i, (g, x) in enumerate(zip(gs, xs, strict=True)):
            s = lambda v, g=g: _layers.scalar(v, g)  # noqa: E731
            # 1 - a in float32 or wider, rounded once to the leaf's dtype: for a float32/float64
            # leaf exactly 1 - s(a); in bfloat16, β2 = 0.999 itself rounds to 1 and 1 - β2 to 0.
            wide = jnp.promote_types(_layers.real_dtype(g.dtype), jnp.float32)
            c = lambda a, g=g, wide=wide: _layers.scalar(1 - jnp.asarray(a, wide), g)  # noqa: E731
            m = s(b1_t) * mus[i] + c(b1_t) * g
            m_hat = s(b1_next) * m / c(prod1_next) + c(b1_t) * g / c(prod1_t)
            if second_moment_nesterov:
                v = s(b2_t) * nus[i] + _layers.scaled_abs_sq(c(b2_t), g)
                v_hat = s(b2_next) * v / c(prod2_next) + _layers.scaled_abs_sq(c(b2_t), g) / c(
                    prod2_t
                )
            else:
                v = s(b2) * nus[i] + _layers.scaled_abs_sq(c(b2), g)
                v_hat = s(b2) * v / c(jnp.asarray(b2, wide) ** t.astype(wide))
            r = m_hat / (jnp.sqrt(v_hat) + s(eps))
            u = r + s(weight_decay) * x if wd_on[i] else r
            ratio = _layers.trust_ratio(x, u, phi_fn, trust_norm) if adapt_on[i] else 1
            ms.append(m)
            vs.append(v)
            ups.append(-s(eta) * ratio * u)
        unflat = lambda leaves: jax.tree.unflatten(treedef, leaves)  # noqa: E731
        return unflat(ups), NesterovLambState(t, unflat(ms), unflat(vs), prod1_t, prod2_t)

    return optax.GradientTransformationExtraArgs(init, update)


def nlamb(
    learning_rate: Any,
    b1: Any = 0.975,
    b2: Any = 0.999,
    eps: Any = 1e-8,
    weight_decay: Any = 0.0,
    *,
    b1_schedule: Callable | None = None,
    phi: Any = None,
    trust_norm: str = "l2",
    weight_decay_mask: Any = None,
    trust_ratio_mask: Any = None,
) -> optax.GradientTransformationExtraArgs:
    """N-LAMB (Appendix D, Algorithm 3; **recalled, not confirmed**): Nesterov first moment.

        m_t = β1^t m_{t-1} + (1-β1^t) g_t
        m̂ = β1^{t+1} m_t/(1 - Π_{i≤t+1} β1^i) + (1-β1^t) g_t/(1 - Π_{i≤t} β1^i)
        v_t = β2 v_{t-1} + (1-β2) |g_t|²,   v̂ = β2 v_t/(1-β2^t)
        r_t = m̂/(√v̂ + ε),  x_{t+1}^(i) = x_t^(i) - η_t φ(‖x^(i)‖)/‖r^(i)+λx^(i)‖ (r^(i)+λx^(i))

    β1^t is ``b1_schedule(t)`` (t = 1, 2, … as a float array; must be jnp-traceable) or the
    constant ``b1``. Complex leaves: |g|² = g·conj(g), ‖·‖ = √Σ|·|² (as :func:`lamb_ref.lamb`).
    Defaults are Nadam's (β1 = 0.975, β2 = 0.999, ε = 1e-8).
    """
    return _nesterov_lamb(
        learning_rate,
        b1,
        b2,
        eps,
        weight_decay,
        second_moment_nesterov=False,
        b1_schedule=b1_schedule,
        b2_schedule=None,
        phi=phi,
        trust_norm=trust_norm,
        weight_decay_mask=weight_decay_mask,
        trust_ratio_mask=trust_ratio_mask,
    )


def nnlamb(
    learning_rate: Any,
    b1: Any = 0.975,
    b2: Any = 0.999,
    eps: Any = 1e-8,
    weight_decay: Any = 0.0,
    *,
    b1_schedule: Callable | None = None,
    b2_schedule: Callable | None = None,
    phi: Any = None,
    trust_norm: str = "l2",
    weight_decay_mask: Any = None,
    trust_ratio_mask: Any = None,
) -> optax.GradientTransformationExtraArgs:
    """NN-LAMB (Appendix D, Algorithm 4; **recalled, not confirmed**): Nesterov in both moments.

        v_t = β2^t v_{t-1} + (1-β2^t) |g_t|²
        v̂ = β2^{t+1} v_t/(1 - Π_{i≤t+1} β2^i) + (1-β2^t) |g_t|²/(1 - Π_{i≤t} β2^i)

    and the rest as :func:`nlamb`.
    """
    return _nesterov_lamb(
        learning_rate,
        b1,
        b2,
        eps,
        weight_decay,
        second_moment_nesterov=True,
        b1_schedule=b1_schedule,
        b2_schedule=b2_schedule,
        phi=phi,
        trust_norm=trust_norm,
        weight_decay_mask=weight_decay_mask,
        trust_ratio_mask=trust_ratio_mask,
    )
