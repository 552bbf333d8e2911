"""Baselines as optax ``GradientTransformation``s: SGD, heavy-ball momentum, Adam, AdamW, AdaGrad.

Written here (not aliased to optax) so the live-optax tests compare two implementations;
conventions follow optax, complex leaves included: second moments and AdaGrad's sum accumulate
|g|² = g·conj(g) (real state), first moments and updates stay complex, η and λ stay real.
NumPy twins and update rules: ``lamb_ref.reference.baselines``.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import optax

from lamb_ref import _checks, _layers
from lamb_ref.tree import check_match, float_inputs, float_tree, resolve_mask


class CountState(NamedTuple):
    count: jnp.ndarray


class MomentumState(NamedTuple):
    count: jnp.ndarray
    momentum: Any


class AdamState(NamedTuple):
    count: jnp.ndarray
    mu: Any
    nu: Any


class AdagradState(NamedTuple):
    count: jnp.ndarray
    sum_of_squares: Any


def _zero_count() -> jnp.ndarray:
    return jnp.zeros((), jnp.int32)


def _flat(grads, params, needs_params):
    grads, params = float_inputs(grads, params)
    if params is None and needs_params:
        raise _checks.HyperparameterError("params=None is invalid: weight decay needs the params")
    if params is not None:
        check_match(grads, params)
    gs, treedef = jax.tree.flatten(grads)
    xs = jax.tree.leaves(params) if params is not None else [None] * len(gs)
    return gs, xs, treedef


def sgd(learning_rate: Any, weight_decay: Any = 0.0) -> optax.GradientTransformationExtraArgs:
    """SGD (paper §2.1, sign typo fixed): x_{t+1} = x_t - η_t (g_t + λ x_t)."""
    _checks.learning_rate(learning_rate)
    _checks.nonnegative("weight_decay", weight_decay)
    decay = not (isinstance(weight_decay, int | float) and weight_decay == 0)

    def update(grads, state, params=None, **extra_args):
        gs, xs, treedef = _flat(grads, params, decay)
        eta = _layers.learning_rate_at(learning_rate, state.count)
        ups = [
            -_layers.scalar(eta, g) * (g + _layers.scalar(weight_decay, g) * x if decay else g)
            for g, x in zip(gs, xs, strict=True)
        ]
        return jax.tree.unflatten(treedef, ups), CountState(state.count + 1)

    def init(params):
        float_tree(params, "params")
        return CountState(_zero_count())

    return optax.GradientTransformationExtraArgs(init, update)


def momentum(
    learning_rate: Any, momentum: Any = 0.9, nesterov: bool = False, weight_decay: Any = 0.0
) -> optax.GradientTransformationExtraArgs:
    """Heavy ball: d = g + λx, b_t = μ b_{t-1} + d, x_{t+1} = x_t - η_t (d + μ b_t | b_t)."""
    _checks.learning_rate(learning_rate)
    _checks.beta("momentum", momentum)
    _checks.flag("nesterov", nesterov)
    _checks.nonnegative("weight_decay", weight_decay)
    decay = not (isinstance(weight_decay, int | float) and weight_decay == 0)

    def init(params):
        params = float_tree(params, "params")
        return MomentumState(_zero_count(), jax.tree.map(jnp.zeros_like, params))

    def update(grads, state, params=None, **extra_args):
        gs, xs, treedef = _flat(grads, params, decay)
        eta = _layers.learning_rate_at(learning_rate, state.count)
        bufs, ups, new = jax.tree.leaves(state.momentum), [], []
        for g, x, buf in zip(gs, xs, bufs, strict=True):
            mu = _layers.scalar(momentum, g)
            d = g + _layers.scalar(weight_decay, g) * x if decay else g
            b = mu * buf + d
            new.append(b)
            ups.append(-_layers.scalar(eta, g) * (d + mu * b if nesterov else b))
        return (
            jax.tree.unflatten(treedef, ups),
            MomentumState(state.count + 1, jax.tree.unflatten(treedef, new)),
        )

    return optax.GradientTransformationExtraArgs(init, update)


def _adam_like(learning_rate, b1, b2, eps, weight_decay, weight_decay_mask):
    _checks.learning_rate(learning_rate)
    _checks.beta("b1", b1)
    _checks.beta("b2", b2)
    _checks.nonnegative("eps", eps)
    _checks.nonnegative("weight_decay", weight_decay)
    _checks.mask_spec("weight_decay_mask", weight_decay_mask)
    decay = not (isinstance(weight_decay, int | float) and weight_decay == 0)

    def init(params):
        params = float_tree(params, "params")
        z = jax.tree.map(jnp.zeros_like, params)
        return AdamState(_zero_count(), z, jax.tree.map(_layers.real_full_like, params))

    def update(grads, state, params=None, **extra_args):
        gs, xs, treedef = _flat(grads, params, decay)
        wd_on = (
            resolve_mask(weight_decay_mask, params, check_match(grads, params), "weight_decay_mask")
            if decay
            else [False] * len(gs)
        )
        count = state.count + 1
        eta = _layers.learning_rate_at(learning_rate, state.count)
        mus, nus = jax.tree.leaves(state.mu), jax.tree.leaves(state.nu)
        ms, vs, ups = [], [], []
        for i, (g, x) in enumerate(zip(gs, xs, strict=True)):
            s = lambda v, g=g: _layers.scalar(v, g)  # noqa: E731
            # 1 - β and 1 - β^t in float32 or wider, rounded once: in bfloat16 β2 = 0.999
            # itself rounds to 1, which made v = 0 and the step NaN.
            wide = jnp.promote_types(_layers.real_dtype(g.dtype), jnp.float32)
            w = lambda v, wide=wide: jnp.asarray(v, wide)  # noqa: E731
            t = count.astype(wide)
            c1, c2 = s(1 - w(b1) ** t), s(1 - w(b2) ** t)
            m = s(b1) * mus[i] + s(1 - w(b1)) * g
            v = s(b2) * nus[i] + _layers.scaled_abs_sq(s(1 - w(b2)), g)
            u = (m / c1) / (jnp.sqrt(v / c2) + s(eps))
            if wd_on[i]:
                u = u + s(weight_decay) * x
            ms.append(m)
            vs.append(v)
            ups.append(-s(eta) * u)
        unflat = lambda leaves: jax.tree.unflatten(treedef, leaves)  # noqa: E731
        return unflat(ups), AdamState(count, unflat(ms), unflat(vs))

    return optax.GradientTransformationExtraArgs(init, update)


def adam(
    learning_rate: Any, b1: Any = 0.9, b2: Any = 0.999, eps: Any = 1e-8
) -> optax.GradientTransformationExtraArgs:
    """Adam: x_{t+1} = x_t - η_t m̂_t/(√v̂_t + ε), bias-corrected moments."""
    return _adam_like(learning_rate, b1, b2, eps, 0.0, None)


def adamw(
    learning_rate: Any,
    b1: Any = 0.9,
    b2: Any = 0.999,
    eps: Any = 1e-8,
    weight_decay: Any = 1e-4,
    *,
    weight_decay_mask: Any = None,
) -> optax.GradientTransformationExtraArgs:
    """AdamW: x_{t+1} = x_t - η_t (m̂_t/(√v̂_t + ε) + λ x_t) (optax.adamw, default λ = 1e-4)."""
    return _adam_like(learning_rate, b1, b2, eps, weight_decay, weight_decay_mask)


def adagrad(
    learning_rate: Any, initial_accumulator_value: Any = 0.1, eps: Any = 1e-7
) -> optax.GradientTransformationExtraArgs:
    """AdaGrad (optax's form): G_t = G_{t-1} + |g_t|², x_{t+1} = x_t - η_t g_t/√(G_t + ε)."""
    _checks.learning_rate(learning_rate)
    _checks.nonnegative("initial_accumulator_value", initial_accumulator_value)
    _checks.nonnegative("eps", eps)

    def init(params):
        params = float_tree(params, "params")
        return AdagradState(
            _zero_count(),
            jax.tree.map(lambda x: _layers.real_full_like(x, initial_accumulator_value), params),
        )

    def update(grads, state, params=None, **extra_args):
        gs, _, treedef = _flat(grads, params, False)
        eta = _layers.learning_rate_at(learning_rate, state.count)
        accs, new, ups = jax.tree.leaves(state.sum_of_squares), [], []
        for g, a in zip(gs, accs, strict=True):
            acc = a + _layers.abs_sq(g)
            scale = jnp.where(acc > 0, jax.lax.rsqrt(acc + _layers.scalar(eps, g)), 0)
            new.append(acc)
            ups.append(-_layers.scalar(eta, g) * scale * g)
        return (
            jax.tree.unflatten(treedef, ups),
            AdagradState(state.count + 1, jax.tree.unflatten(treedef, new)),
        )

    return optax.GradientTransformationExtraArgs(init, update)
