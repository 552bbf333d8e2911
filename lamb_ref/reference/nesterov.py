"""N-LAMB and NN-LAMB in NumPy (the paper's Appendix D, Algorithms 3 and 4).

Provenance: these boxes are **recalled, not confirmed** against the paper (Appendix D; see
``docs/paper.md``). They are transcribed as recorded, including v̂ = β2 v_t/(1-β2^t) in N-LAMB.
β1^t (and β2^t in NN-LAMB) denote a per-step schedule, as in Nadam (Dozat 2016); with a
constant schedule the products Π β1^i reduce to powers.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from lamb_ref import _checks
from lamb_ref.reference import _common, _tree


def _schedule(constant: float, schedule: Callable | None) -> Callable[[int], float]:
    """β^t: the schedule (checked by ``_checks.nesterov_lamb_hyperparameters``) or the constant."""
    if schedule is None:
        return lambda t: constant
    return lambda t: float(np.asarray(schedule(t)))


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
) -> _common.Optimizer:
    _checks.nesterov_lamb_hyperparameters(
        learning_rate, b1, b2, eps, weight_decay, phi, trust_norm, b1_schedule, b2_schedule
    )
    beta1 = _schedule(b1, b1_schedule)
    beta2 = _schedule(b2, b2_schedule)
    phi_fn = _common.phi_function(phi)
    complex_refused = _checks.complex_refusal(
        "nnlamb" if second_moment_nesterov else "nlamb", trust_norm
    )

    def init(params: Any) -> dict:
        return {
            "count": 0,
            "mu": _common.zeros_like_tree(params, complex_refused),
            "nu": _common.real_full_like_tree(params),
            "prod_b1": 1.0,
            "prod_b2": 1.0,
        }

    def update(grads: Any, state: dict, params: Any, **extra: Any) -> tuple[Any, dict]:
        L = _common.leaves(grads, params, complex_refused=complex_refused)
        wd_on = _tree.resolve_mask(weight_decay_mask, params, L.names, "weight_decay_mask")
        adapt_on = _tree.resolve_mask(trust_ratio_mask, params, L.names, "trust_ratio_mask")
        t = state["count"] + 1
        eta = _common.learning_rate_at(learning_rate, t - 1)
        b1_t, b1_next = beta1(t), beta1(t + 1)
        b2_t, b2_next = beta2(t), beta2(t + 1)
        prod1_t = state["prod_b1"] * b1_t  # Π_{i=1}^{t} β1^i
        prod1_next = prod1_t * b1_next  # Π_{i=1}^{t+1} β1^i
        prod2_t = state["prod_b2"] * b2_t
        prod2_next = prod2_t * b2_next
        mus, nus = _common.flat(state["mu"]), _common.flat(state["nu"])
        ms, vs, updates = [], [], []
        for i, (g, x) in enumerate(zip(L.grads, L.params, strict=True)):
            m = b1_t * mus[i] + (1 - b1_t) * g
            m_hat = b1_next * m / (1 - prod1_next) + (1 - b1_t) * g / (1 - prod1_t)
            if second_moment_nesterov:  # NN-LAMB, Algorithm 4
                v = b2_t * nus[i] + _common.scaled_abs_sq(1 - b2_t, g)
                v_hat = b2_next * v / (1 - prod2_next) + _common.scaled_abs_sq(1 - b2_t, g) / (
                    1 - prod2_t
                )
            else:  # N-LAMB, Algorithm 3 (constant β2)
                v = b2 * nus[i] + _common.scaled_abs_sq(1 - b2, g)
                v_hat = b2 * v / (1 - b2**t)
            r = m_hat / (np.sqrt(v_hat) + eps)
            u = r + weight_decay * x if wd_on[i] else r
            ratio = (
                _common.trust_ratio(
                    _common.layer_norm(x, trust_norm), _common.layer_norm(u, trust_norm), phi_fn
                )
                if adapt_on[i]
                else 1.0
            )
            ms.append(m)
            vs.append(v)
            updates.append((-eta * ratio * u).astype(x.dtype))
        new_state = {
            "count": t,
            "mu": L.rebuild(ms),
            "nu": L.rebuild(vs),
            "prod_b1": prod1_t,
            "prod_b2": prod2_t,
        }
        return L.rebuild(updates), new_state

    return _common.Optimizer(init, update)


def nlamb(
    learning_rate: Any,
    b1: float = 0.975,
    b2: float = 0.999,
    eps: float = 1e-8,
    weight_decay: float = 0.0,
    *,
    b1_schedule: Callable | None = None,
    phi: Any = None,
    trust_norm: str = "l2",
    weight_decay_mask: Any = None,
    trust_ratio_mask: Any = None,
) -> _common.Optimizer:
    """N-LAMB (Appendix D, Algorithm 3; **recalled, not confirmed**): Nesterov first moment.

        m_t = β1^t m_{t-1} + (1-β1^t) g_t
        m̂ = β1^{t+1} m_t/(1 - Π_{i≤t+1} β1^i) + (1-β1^t) g_t/(1 - Π_{i≤t} β1^i)
        v_t = β2 v_{t-1} + (1-β2) |g_t|²,   v̂ = β2 v_t/(1-β2^t)
        r_t = m̂/(√v̂ + ε),  x_{t+1}^(i) = x_t^(i) - η_t φ(‖x^(i)‖)/‖r^(i)+λx^(i)‖ (r^(i)+λx^(i))

    β1^t is ``b1_schedule(t)`` (t = 1, 2, …) or the constant ``b1``. Defaults are Nadam's
    (β1 = 0.975, β2 = 0.999, ε = 1e-8), as the appendix is recalled to use.
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
    b1: float = 0.975,
    b2: float = 0.999,
    eps: float = 1e-8,
    weight_decay: float = 0.0,
    *,
    b1_schedule: Callable | None = None,
    b2_schedule: Callable | None = None,
    phi: Any = None,
    trust_norm: str = "l2",
    weight_decay_mask: Any = None,
    trust_ratio_mask: Any = None,
) -> _common.Optimizer:
    """NN-LAMB (Appendix D, Algorithm 4; **recalled, not confirmed**): Nesterov in both moments.

    As :func:`nlamb`, with the second moment also in Nesterov form:

        v_t = β2^t v_{t-1} + (1-β2^t) |g_t|²
        v̂ = β2^{t+1} v_t/(1 - Π_{i≤t+1} β2^i) + (1-β2^t) |g_t|²/(1 - Π_{i≤t} β2^i)
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
