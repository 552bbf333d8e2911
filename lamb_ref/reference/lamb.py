"""LAMB in NumPy: a per-layer transcription of the paper's Algorithm 2, and its published variants.

You et al., "Large Batch Optimization for Deep Learning: Training BERT in 76 minutes",
ICLR 2020 (arXiv:1904.00962 v5), Algorithm 2. The variant knobs (global clipping, decoupled
weight decay, bias correction as a step-size factor, a trust-ratio cap, the "adapt only where
weight decay applies" rule) are keyword-only and reached through ``lamb_ref.reference.variants``.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from lamb_ref import _checks
from lamb_ref.reference import _common, _tree


def lamb_family(
    learning_rate: Any,
    b1: float = 0.9,
    b2: float = 0.999,
    eps: float = 1e-6,
    weight_decay: float = 0.0,
    *,
    bias_correction: str = "moments",
    phi: Any = None,
    trust_norm: str = "l2",
    weight_decay_mask: Any = None,
    trust_ratio_mask: Any = None,
    decoupled_weight_decay: bool = False,
    max_trust_ratio: float | None = None,
    max_grad_norm: float | None = None,
) -> _common.Optimizer:
    """Algorithm 2 with the knobs that distinguish the published LAMBs.

    Per step t (1-based) and per layer i, with ĝ the (optionally globally clipped) gradient:

        m_t = β1 m_{t-1} + (1-β1) ĝ_t,     v_t = β2 v_{t-1} + (1-β2) |ĝ_t|²
        bias_correction="moments":   m̂ = m_t/(1-β1^t),  v̂ = v_t/(1-β2^t)   (paper v4/v5)
        otherwise:                   m̂ = m_t,            v̂ = v_t              (paper v3)
        r_t = m̂ / (√v̂ + ε)
        ratio-form decay:   u = r_t + λ x^(i),  x̃ = x^(i)
        decoupled decay:    u = r_t,           x̃ = x^(i) - η_t λ x^(i)       (Keras 3, timm lambw)
        x^(i)_{t+1} = x̃ - s_t · φ(‖x̃‖)/‖u‖ · u,   ratio 1 if ‖x̃‖ = 0 or ‖u‖ = 0
        s_t = η_t, or η_t √(1-β2^t)/(1-β1^t) with bias_correction="step_size"

    Complex leaves (optax's convention): |ĝ|² = ĝ·conj(ĝ) and v real, m, r, u complex, norms
    √Σ|·|² (each entry a pair of reals); refused with ``trust_norm`` "l1"/"linf".

    Args:
        max_trust_ratio: cap on the trust ratio (timm ``trust_clip``: 1).
        max_grad_norm: global-norm clip ĝ = g / max(‖g‖/c, 1) before the moments (timm, apex).
    """
    _checks.lamb_hyperparameters(
        learning_rate,
        b1,
        b2,
        eps,
        weight_decay,
        phi,
        trust_norm,
        weight_decay_mask,
        trust_ratio_mask,
    )
    _checks.choice("bias_correction", bias_correction, _checks.BIAS_CORRECTION_MODES)
    if max_grad_norm is not None:
        _checks.positive("max_grad_norm", max_grad_norm)
    if max_trust_ratio is not None:
        _checks.positive("max_trust_ratio", max_trust_ratio)
    phi_fn = _common.phi_function(phi)
    complex_refused = _checks.complex_refusal("lamb", trust_norm)

    def init(params: Any) -> dict:
        return {
            "count": 0,
            "mu": _common.zeros_like_tree(params, complex_refused),
            "nu": _common.real_full_like_tree(params),
        }

    def update(grads: Any, state: dict, params: Any, **extra: Any) -> tuple[Any, dict]:
        L = _common.leaves(grads, params, complex_refused=complex_refused)
        wd_on = _tree.resolve_mask(weight_decay_mask, params, L.names, "weight_decay_mask")
        adapt_on = _tree.resolve_mask(trust_ratio_mask, params, L.names, "trust_ratio_mask")
        t = state["count"] + 1
        eta = _common.learning_rate_at(learning_rate, t - 1)
        gs = (
            L.grads
            if max_grad_norm is None
            else _common.clip_by_global_norm(L.grads, max_grad_norm)
        )
        step = eta
        if bias_correction == "step_size":
            step = eta * math.sqrt(1 - b2**t) / (1 - b1**t)

        mus, nus = _common.flat(state["mu"]), _common.flat(state["nu"])
        ms, vs, updates = [], [], []
        for i, (g, x) in enumerate(zip(gs, L.params, strict=True)):
            m = b1 * mus[i] + (1 - b1) * g
            v = b2 * nus[i] + _common.scaled_abs_sq(1 - b2, g)
            if bias_correction == "moments":
                m_hat, v_hat = m / (1 - b1**t), v / (1 - b2**t)
            else:
                m_hat, v_hat = m, v
            r = m_hat / (np.sqrt(v_hat) + eps)
            if decoupled_weight_decay:
                x_tilde = x - eta * weight_decay * x if wd_on[i] else x
                u = r
            else:
                x_tilde = x
                u = r + weight_decay * x if wd_on[i] else r
            ratio = 1.0
            if adapt_on[i]:  # φ(‖x̃‖)/‖u‖, capped at max_trust_ratio
                ratio = _common.trust_ratio(
                    _common.layer_norm(x_tilde, trust_norm),
                    _common.layer_norm(u, trust_norm),
                    phi_fn,
                    max_trust_ratio,
                )
            ms.append(m)
            vs.append(v)
            updates.append(((x_tilde - x) - step * ratio * u).astype(x.dtype))
        new_state = {"count": t, "mu": L.rebuild(ms), "nu": L.rebuild(vs)}
        return L.rebuild(updates), new_state

    return _common.Optimizer(init, update)


def lamb(
    learning_rate: Any,
    b1: float = 0.9,
    b2: float = 0.999,
    eps: float = 1e-6,
    weight_decay: float = 0.0,
    *,
    bias_correction: bool = True,
    phi: Any = None,
    trust_norm: str = "l2",
    weight_decay_mask: Any = None,
    trust_ratio_mask: Any = None,
) -> _common.Optimizer:
    """LAMB, the paper's Algorithm 2 (v4/v5; ``bias_correction=False`` gives v3).

    For t = 1, 2, … and every layer i (one pytree leaf):

        m_t = β1 m_{t-1} + (1-β1) g_t
        v_t = β2 v_{t-1} + (1-β2) |g_t|²          (|g|² = g·conj(g) for a complex leaf)
        m̂_t = m_t/(1-β1^t),  v̂_t = v_t/(1-β2^t)          (only if bias_correction)
        r_t = m̂_t / (√v̂_t + ε)
        x_{t+1}^(i) = x_t^(i) - η_t φ(‖x_t^(i)‖)/‖r_t^(i) + λx_t^(i)‖ · (r_t^(i) + λx_t^(i))

    The trust ratio is 1 where ‖x^(i)‖ = 0 or ‖r^(i) + λx^(i)‖ = 0, or where
    ``trust_ratio_mask`` is False; λx is added only where ``weight_decay_mask`` is True.

    Args:
        learning_rate: η, a float or a schedule ``count -> η`` called with the number of steps
            already taken (0 at the first step), as in optax.
        b1, b2: β1, β2 in [0, 1).  eps: ε ≥ 0, outside the square root, after bias correction.
        weight_decay: λ ≥ 0, added to the Adam ratio before the trust ratio.
        bias_correction: Adam's m/(1-β1^t), v/(1-β2^t) (paper v4/v5) or not (v3).
        phi: φ — None (identity, the authors' practice), ``(alpha_l, alpha_u)`` for
            clip(z, α_l, α_u) (the theorems' bounded φ), or a callable.
        trust_norm: the layer norm in the trust ratio, "l2" (paper), "l1" or "linf" (App. F).
        weight_decay_mask, trust_ratio_mask: see ``lamb_ref.masks``.
    """
    _checks.flag("bias_correction", bias_correction)
    return lamb_family(
        learning_rate,
        b1,
        b2,
        eps,
        weight_decay,
        bias_correction="moments" if bias_correction else "none",
        phi=phi,
        trust_norm=trust_norm,
        weight_decay_mask=weight_decay_mask,
        trust_ratio_mask=trust_ratio_mask,
    )
