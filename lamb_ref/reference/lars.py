"""LARS in NumPy: the LAMB paper's Algorithm 1 (Section 3), the 2017 original, and optax's form.

All three take their trust ratio from :func:`lamb_ref.reference._common.trust_ratio`.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from lamb_ref import _checks
from lamb_ref.reference import _common, _tree


def _momentum_optimizer(
    layer_step, learning_rate, weight_decay_mask, trust_ratio_mask, complex_refused=None
):
    """Loop ``layer_step(g, x, buf, eta, wd_on, adapt_on) -> (update, new_buf)`` over layers.

    Complex leaves are taken (complex buffer, real η) unless ``complex_refused`` says why not.
    """

    def init(params: Any) -> dict:
        return {"count": 0, "momentum": _common.zeros_like_tree(params, complex_refused)}

    def update(grads: Any, state: dict, params: Any, **extra: Any) -> tuple[Any, dict]:
        L = _common.leaves(grads, params, complex_refused=complex_refused)
        wd_on = _tree.resolve_mask(weight_decay_mask, params, L.names, "weight_decay_mask")
        adapt_on = _tree.resolve_mask(trust_ratio_mask, params, L.names, "trust_ratio_mask")
        t = state["count"] + 1
        eta = _common.learning_rate_at(learning_rate, t - 1)
        bufs = _common.flat(state["momentum"])
        new_bufs, updates = [], []
        for i, (g, x) in enumerate(zip(L.grads, L.params, strict=True)):
            u, b = layer_step(g, x, bufs[i], eta, wd_on[i], adapt_on[i])
            new_bufs.append(b)
            updates.append(np.asarray(u).astype(x.dtype))
        return L.rebuild(updates), {"count": t, "momentum": L.rebuild(new_bufs)}

    return _common.Optimizer(init, update)


def lars(
    learning_rate: Any,
    momentum: float = 0.9,
    weight_decay: float = 0.0,
    *,
    phi: Any = None,
    trust_norm: str = "l2",
    weight_decay_mask: Any = None,
    trust_ratio_mask: Any = None,
) -> _common.Optimizer:
    """LARS as the LAMB paper's Algorithm 1 (momentum SGD as the base of the layer-wise rule).

    For t = 1, 2, … and every layer i:

        m_t = β1 m_{t-1} + (1-β1)(g_t + λ x_t)
        x_{t+1}^(i) = x_t^(i) - η_t φ(‖x_t^(i)‖)/‖m_t^(i)‖ · m_t^(i)

    Ratio 1 where ‖x^(i)‖ = 0 or ‖m^(i)‖ = 0 or the trust-ratio mask is False. There is no
    trust coefficient (φ carries the scale) and the box's unused ε input is not taken.

    Args:
        learning_rate: η, a float or a schedule of the step count.
        momentum: β1 in [0, 1); the momentum is dampened, with weight decay inside it.
        weight_decay: λ ≥ 0.  phi, trust_norm, masks: as in :func:`lamb`.
    """
    _checks.lars_hyperparameters(
        learning_rate, momentum, weight_decay, weight_decay_mask, trust_ratio_mask
    )
    _checks.phi(phi)
    _checks.trust_norm(trust_norm)
    phi_fn = _common.phi_function(phi)
    b1 = momentum

    def layer_step(g, x, buf, eta, wd_on, adapt_on):
        d = g + weight_decay * x if wd_on else g
        m = b1 * buf + (1 - b1) * d
        ratio = 1.0
        if adapt_on:  # φ(‖x‖)/‖m‖
            xn, mn = _common.layer_norm(x, trust_norm), _common.layer_norm(m, trust_norm)
            ratio = _common.trust_ratio(xn, mn, phi_fn)
        return -eta * ratio * m, m

    return _momentum_optimizer(
        layer_step,
        learning_rate,
        weight_decay_mask,
        trust_ratio_mask,
        _checks.complex_refusal("lars", trust_norm),
    )


def lars_2017(
    learning_rate: Any,
    momentum: float = 0.9,
    weight_decay: float = 0.0,
    *,
    trust_coefficient: float = 0.001,
    eps: float = 0.0,
    nesterov: bool = False,
    weight_decay_mask: Any = None,
    trust_ratio_mask: Any = None,
) -> _common.Optimizer:
    """LARS of You, Gitman & Ginsburg 2017 as timm ``Lars`` / torch-optimizer ``LARS`` run it.

    Per layer, with λ_i = λ where weight decay applies and 0 elsewhere:

        τ = c ‖x‖ / (‖g‖ + λ_i ‖x‖ + ε)       (τ = 1 if ‖x‖ = 0 or ‖g‖ = 0; 1 if not adapted)
        d = τ (g + λ_i x)
        b_t = μ b_{t-1} + d,   x_{t+1} = x_t - η_t (d + μ b_t if nesterov else b_t)

    The learning rate multiplies after the momentum buffer (PyTorch SGD).
    """
    _checks.lars_hyperparameters(
        learning_rate, momentum, weight_decay, weight_decay_mask, trust_ratio_mask
    )
    _checks.lars_2017_hyperparameters(trust_coefficient, eps, nesterov)

    def layer_step(g, x, buf, eta, wd_on, adapt_on):
        lam = weight_decay if wd_on else 0.0
        tau = 1.0
        if adapt_on:  # c‖x‖/(‖g‖ + λ_i‖x‖ + ε)
            xn, gn = _common.layer_norm(x, "l2"), _common.layer_norm(g, "l2")
            tau = _common.trust_ratio(
                xn, gn, None, coefficient=trust_coefficient, weight_decay=lam, eps=eps
            )
        d = tau * (g + lam * x)
        b = momentum * buf + d
        return -eta * (d + momentum * b if nesterov else b), b

    return _momentum_optimizer(layer_step, learning_rate, weight_decay_mask, trust_ratio_mask)


def optax_lars(
    learning_rate: Any,
    momentum: float = 0.9,
    weight_decay: float = 0.0,
    *,
    trust_coefficient: float = 0.001,
    eps: float = 0.0,
    nesterov: bool = False,
    weight_decay_mask: Any = None,
    trust_ratio_mask: Any = None,
) -> _common.Optimizer:
    """``optax.lars`` (optax 0.2.x): the trust denominator is the norm of the decayed gradient.

        d = g + λ x                           (where weight decay applies)
        τ = c ‖x‖ / (‖d‖ + ε)                 (τ = 1 if ‖x‖ = 0 or ‖d‖ = 0, or not adapted)
        b_t = μ b_{t-1} - η_t τ d,   x_{t+1} = x_t + (−η_t τ d + μ b_t if nesterov else b_t)

    The learning rate is applied before the momentum buffer.
    """
    _checks.lars_hyperparameters(
        learning_rate, momentum, weight_decay, weight_decay_mask, trust_ratio_mask
    )
    _checks.lars_2017_hyperparameters(trust_coefficient, eps, nesterov)

    def layer_step(g, x, buf, eta, wd_on, adapt_on):
        d = g + weight_decay * x if wd_on else g
        tau = 1.0
        if adapt_on:  # c‖x‖/(‖d‖ + ε)
            xn, dn = _common.layer_norm(x, "l2"), _common.layer_norm(d, "l2")
            tau = _common.trust_ratio(xn, dn, None, coefficient=trust_coefficient, eps=eps)
        s = -eta * tau * d
        b = s + momentum * buf
        return (s + momentum * b if nesterov else b), b

    return _momentum_optimizer(layer_step, learning_rate, weight_decay_mask, trust_ratio_mask)
