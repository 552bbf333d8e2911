"""LARS as optax ``GradientTransformation``s: the LAMB paper's Algorithm 1, the 2017 original
(timm/torch-optimizer) and optax's form. NumPy twins: ``lamb_ref.reference.lars``."""

from __future__ import annotations

from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import optax

from lamb_ref import _checks, _layers
from lamb_ref.tree import check_match, resolve_mask


class LarsState(NamedTuple):
    count: jnp.ndarray  # int32, steps taken
    momentum: Any  # momentum buffer


def _check(learning_rate, momentum, weight_decay, weight_decay_mask, trust_ratio_mask) -> None:
    _checks.learning_rate(learning_rate)
    _checks.beta("momentum", momentum)
    _checks.nonnegative("weight_decay", weight_decay)
    _checks.mask_spec("weight_decay_mask", weight_decay_mask)
    _checks.mask_spec("trust_ratio_mask", trust_ratio_mask)


def _init(params: Any) -> LarsState:
    return LarsState(jnp.zeros((), jnp.int32), jax.tree.map(jnp.zeros_like, params))


def _transformation(leaf_step, weight_decay_mask, trust_ratio_mask, learning_rate):
    """Wrap ``leaf_step(g, x, buf, eta, wd_on, adapt_on) -> (update, new_buf)`` over leaves."""

    def update(grads: Any, state: LarsState, params: Any = None) -> tuple[Any, LarsState]:
        if params is None:
            raise _checks.HyperparameterError("params=None is invalid: LARS needs the parameters")
        names = check_match(grads, params)
        wd_on = resolve_mask(weight_decay_mask, params, names, "weight_decay_mask")
        adapt_on = resolve_mask(trust_ratio_mask, params, names, "trust_ratio_mask")
        gs, treedef = jax.tree.flatten(grads)
        xs, bufs = jax.tree.leaves(params), jax.tree.leaves(state.momentum)
        eta = _layers.learning_rate_at(learning_rate, state.count)
        ups, new_bufs = [], []
        for i, (g, x) in enumerate(zip(gs, xs, strict=True)):
            u, b = leaf_step(g, x, bufs[i], _layers.scalar(eta, g), wd_on[i], adapt_on[i])
            ups.append(u)
            new_bufs.append(b)
        return (
            jax.tree.unflatten(treedef, ups),
            LarsState(state.count + 1, jax.tree.unflatten(treedef, new_bufs)),
        )

    return optax.GradientTransformation(_init, update)


def lars(
    learning_rate: Any,
    momentum: Any = 0.9,
    weight_decay: Any = 0.0,
    *,
    phi: Any = None,
    trust_norm: str = "l2",
    weight_decay_mask: Any = None,
    trust_ratio_mask: Any = None,
) -> optax.GradientTransformation:
    """LARS as the LAMB paper's Algorithm 1.

    For t = 1, 2, … and every layer i:

        m_t = β1 m_{t-1} + (1-β1)(g_t + λ x_t)
        x_{t+1}^(i) = x_t^(i) - η_t φ(‖x_t^(i)‖)/‖m_t^(i)‖ · m_t^(i)

    Ratio 1 where ‖x^(i)‖ = 0 or ‖m^(i)‖ = 0 or ``trust_ratio_mask`` is False. No trust
    coefficient (φ carries the scale); the box's unused ε is not taken.

    Args:
        learning_rate: η, a float or a schedule of the step count.
        momentum: β1 in [0, 1) (dampened momentum, weight decay inside it).
        weight_decay: λ ≥ 0.  phi, trust_norm, masks: as in :func:`lamb_ref.lamb`.
    """
    _check(learning_rate, momentum, weight_decay, weight_decay_mask, trust_ratio_mask)
    _checks.phi(phi)
    _checks.trust_norm(trust_norm)
    phi_fn = _layers.phi_function(phi)

    def leaf_step(g, x, buf, eta, wd_on, adapt_on):
        b1, lam = _layers.scalar(momentum, g), _layers.scalar(weight_decay, g)
        d = g + lam * x if wd_on else g
        m = b1 * buf + (1 - b1) * d
        # fresh: the norms read x and m without sharing a (bf16 -> f32) conversion with the update
        ratio = _layers.trust_ratio(*_layers.fresh((x, m)), phi_fn, trust_norm) if adapt_on else 1
        return -eta * ratio * m, m

    return _transformation(leaf_step, weight_decay_mask, trust_ratio_mask, learning_rate)


def _check_2017(trust_coefficient, eps, nesterov) -> None:
    _checks.positive("trust_coefficient", trust_coefficient)
    _checks.nonnegative("eps", eps)
    _checks.flag("nesterov", nesterov)


def lars_2017(
    learning_rate: Any,
    momentum: Any = 0.9,
    weight_decay: Any = 0.0,
    *,
    trust_coefficient: Any = 0.001,
    eps: Any = 0.0,
    nesterov: bool = False,
    weight_decay_mask: Any = None,
    trust_ratio_mask: Any = None,
) -> optax.GradientTransformation:
    """You, Gitman & Ginsburg 2017 as timm ``Lars`` / torch-optimizer ``LARS`` run it.

    τ = c‖x‖/(‖g‖ + λ_i‖x‖ + ε) (1 on a zero norm or where not adapted),  d = τ(g + λ_i x)
    b_t = μ b_{t-1} + d,   x_{t+1} = x_t - η_t (d + μ b_t if nesterov else b_t)
    """
    _check(learning_rate, momentum, weight_decay, weight_decay_mask, trust_ratio_mask)
    _check_2017(trust_coefficient, eps, nesterov)

    def leaf_step(g, x, buf, eta, wd_on, adapt_on):
        mu = _layers.scalar(momentum, g)
        lam = _layers.scalar(weight_decay, g) if wd_on else jnp.zeros((), g.dtype)
        tau = jnp.ones((), g.dtype)
        if adapt_on:
            xn, gn = (_layers.layer_norm(a, "l2") for a in _layers.fresh((x, g)))
            ok = (xn > 0) & (gn > 0)
            denom = jnp.where(ok, gn + lam * xn + _layers.scalar(eps, g), 1)
            tau = jnp.where(ok, _layers.scalar(trust_coefficient, g) * xn / denom, 1)
        d = tau * (g + lam * x)
        b = mu * buf + d
        return -eta * (d + mu * b if nesterov else b), b

    return _transformation(leaf_step, weight_decay_mask, trust_ratio_mask, learning_rate)


def optax_lars(
    learning_rate: Any,
    momentum: Any = 0.9,
    weight_decay: Any = 0.0,
    *,
    trust_coefficient: Any = 0.001,
    eps: Any = 0.0,
    nesterov: bool = False,
    weight_decay_mask: Any = None,
    trust_ratio_mask: Any = None,
) -> optax.GradientTransformation:
    """``optax.lars``: d = g + λx, τ = c‖x‖/(‖d‖ + ε), b_t = μ b_{t-1} - η_t τ d (η inside)."""
    _check(learning_rate, momentum, weight_decay, weight_decay_mask, trust_ratio_mask)
    _check_2017(trust_coefficient, eps, nesterov)

    def leaf_step(g, x, buf, eta, wd_on, adapt_on):
        mu = _layers.scalar(momentum, g)
        decayed = lambda g, x, lam: g + lam * x if wd_on else g  # noqa: E731
        lam = _layers.scalar(weight_decay, g)
        d = decayed(g, x, lam)
        tau = jnp.ones((), g.dtype)
        if adapt_on:
            # ‖d‖ from its own copy of d (see _layers.fresh): d is never written to memory.
            xn = _layers.layer_norm(_layers.fresh(x), "l2")
            dn = _layers.layer_norm(decayed(*_layers.fresh((g, x, lam))), "l2")
            ok = (xn > 0) & (dn > 0)
            denom = jnp.where(ok, dn + _layers.scalar(eps, g), 1)
            tau = jnp.where(ok, _layers.scalar(trust_coefficient, g) * xn / denom, 1)
        s = -eta * tau * d
        b = s + mu * buf
        return (s + mu * b if nesterov else b), b

    return _transformation(leaf_step, weight_decay_mask, trust_ratio_mask, learning_rate)
