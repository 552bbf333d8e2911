"""LARS as optax ``GradientTransformation``s: the LAMB paper's Algorithm 1 (Section 3), the 2017
original (You, Gitman & Ginsburg; timm / torch-optimizer) and optax 0.2.x's form.

All three take their trust ratio from :func:`lamb_ref._layers.trust_ratio`. NumPy twins (the
readable specification): ``lamb_ref.reference.lars``.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import optax

from lamb_ref import _checks, _layers
from lamb_ref.tree import check_match, float_inputs, float_tree, resolve_mask


class LarsState(NamedTuple):
    count: jnp.ndarray  # int32, steps taken
    momentum: Any  # momentum buffer


def _transformation(
    leaf_step, weight_decay_mask, trust_ratio_mask, learning_rate, complex_refused=None
):
    """Wrap ``leaf_step(g, x, buf, eta, wd_on, adapt_on) -> (update, new_buf)`` over leaves.

    Complex leaves are taken (the momentum buffer is complex, η real) unless ``complex_refused``
    says why not (:func:`lamb_ref._checks.complex_refusal`).
    """

    def init(params: Any) -> LarsState:
        params = float_tree(params, "params", complex_refused)
        return LarsState(jnp.zeros((), jnp.int32), jax.tree.map(jnp.zeros_like, params))

    def update(
        grads: Any, state: LarsState, params: Any = None, **extra_args: Any
    ) -> tuple[Any, LarsState]:
        grads, params = float_inputs(grads, params, complex_refused)
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

    return optax.GradientTransformationExtraArgs(init, update)


def lars(
    learning_rate: Any,
    momentum: Any = 0.9,
    weight_decay: Any = 0.0,
    *,
    phi: Any = None,
    trust_norm: str = "l2",
    weight_decay_mask: Any = None,
    trust_ratio_mask: Any = None,
) -> optax.GradientTransformationExtraArgs:
    """LARS as the LAMB paper's Algorithm 1 (momentum SGD as the base of the layer-wise rule).

    For t = 1, 2, … and every layer i:

        m_t = β1 m_{t-1} + (1-β1)(g_t + λ x_t)
        x_{t+1}^(i) = x_t^(i) - η_t φ(‖x_t^(i)‖)/‖m_t^(i)‖ · m_t^(i)

    Ratio 1 where ‖x^(i)‖ = 0 or ‖m^(i)‖ = 0 or ``trust_ratio_mask`` is False. No trust
    coefficient (φ carries the scale); the box's unused ε is not taken. A complex leaf has a
    complex m and ‖·‖ = √Σ|·|² (refused with ``trust_norm`` "l1"/"linf").

    Args:
        learning_rate: η, a float or a schedule of the step count.
        momentum: β1 in [0, 1) (dampened momentum, weight decay inside it).
        weight_decay: λ ≥ 0.  phi, trust_norm, masks: as in :func:`lamb_ref.lamb`.
    """
    _checks.lars_hyperparameters(
        learning_rate, momentum, weight_decay, weight_decay_mask, trust_ratio_mask
    )
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

    return _transformation(
        leaf_step,
        weight_decay_mask,
        trust_ratio_mask,
        learning_rate,
        _checks.complex_refusal("lars", trust_norm),
    )


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
) -> optax.GradientTransformationExtraArgs:
    """You, Gitman & Ginsburg 2017 as timm ``Lars`` / torch-optimizer ``LARS`` run it.

    Per layer, with λ_i = λ where weight decay applies and 0 elsewhere:

        τ = c ‖x‖ / (‖g‖ + λ_i ‖x‖ + ε)       (τ = 1 if ‖x‖ = 0 or ‖g‖ = 0; 1 if not adapted)
        d = τ (g + λ_i x)
        b_t = μ b_{t-1} + d,   x_{t+1} = x_t - η_t (d + μ b_t if nesterov else b_t)

    The learning rate multiplies after the momentum buffer (PyTorch SGD). Complex leaves: τ
    real from ‖·‖ = √Σ|·|², d and b complex.
    """
    _checks.lars_hyperparameters(
        learning_rate, momentum, weight_decay, weight_decay_mask, trust_ratio_mask
    )
    _checks.lars_2017_hyperparameters(trust_coefficient, eps, nesterov)

    def leaf_step(g, x, buf, eta, wd_on, adapt_on):
        mu, real = _layers.scalar(momentum, g), _layers.real_dtype(g.dtype)
        lam = _layers.scalar(weight_decay, g) if wd_on else jnp.zeros((), real)
        tau = jnp.ones((), real)
        if adapt_on:
            x_, g_ = _layers.fresh((x, g))
            tau = _layers.trust_ratio(
                x_,
                g_,
                None,
                "l2",
                coefficient=_layers.scalar(trust_coefficient, g),
                weight_decay=lam,
                eps=_layers.scalar(eps, g),
                dtype=jnp.result_type(x, g),
            )
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
) -> optax.GradientTransformationExtraArgs:
    """``optax.lars`` (optax 0.2.x): the trust denominator is the norm of the decayed gradient.

        d = g + λ x                           (where weight decay applies)
        τ = c ‖x‖ / (‖d‖ + ε)                 (τ = 1 if ‖x‖ = 0 or ‖d‖ = 0, or not adapted)
        b_t = μ b_{t-1} - η_t τ d,   x_{t+1} = x_t + (−η_t τ d + μ b_t if nesterov else b_t)

    The learning rate is applied before the momentum buffer. Complex leaves as ``optax.lars``:
    τ real from ‖·‖ = √Σ|·|², d and b complex.
    """
    _checks.lars_hyperparameters(
        learning_rate, momentum, weight_decay, weight_decay_mask, trust_ratio_mask
    )
    _checks.lars_2017_hyperparameters(trust_coefficient, eps, nesterov)

    def leaf_step(g, x, buf, eta, wd_on, adapt_on):
        mu = _layers.scalar(momentum, g)
        decayed = lambda g, x, lam: g + lam * x if wd_on else g  # noqa: E731
        lam = _layers.scalar(weight_decay, g)
        d = decayed(g, x, lam)
        tau = jnp.ones((), _layers.real_dtype(g.dtype))
        if adapt_on:
            # ‖d‖ from its own copy of d (see _layers.fresh): d is never written to memory.
            tau = _layers.trust_ratio(
                _layers.fresh(x),
                decayed(*_layers.fresh((g, x, lam))),
                None,
                "l2",
                coefficient=_layers.scalar(trust_coefficient, g),
                eps=_layers.scalar(eps, g),
                dtype=jnp.result_type(x, d),
            )
        s = -eta * tau * d
        b = s + mu * buf
        return (s + mu * b if nesterov else b), b

    return _transformation(leaf_step, weight_decay_mask, trust_ratio_mask, learning_rate)
