"""Baseline optimizers in NumPy: SGD, heavy-ball momentum, Adam, AdamW, AdaGrad.

Conventions follow optax (so the live-optax tests are like for like): the learning rate is
applied after the momentum buffer, ε is outside the square root, AdaGrad puts ε inside it.
Complex leaves as in optax: second moments and AdaGrad's sum accumulate |g|² = g·conj(g) (real),
first moments and updates stay complex, η and λ real.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from lamb_ref import _checks
from lamb_ref.reference import _common, _tree


def sgd(learning_rate: Any, weight_decay: float = 0.0) -> _common.Optimizer:
    """SGD, the paper's baseline (§2.1, sign typo fixed).

    x_{t+1} = x_t - η_t (g_t + λ x_t)
    """
    _checks.learning_rate(learning_rate)
    _checks.nonnegative("weight_decay", weight_decay)

    def init(params: Any) -> dict:
        _tree.arrays(params, "params")  # the leaves must be floating, as everywhere
        return {"count": 0}

    def update(grads: Any, state: dict, params: Any, **extra: Any) -> tuple[Any, dict]:
        L = _common.leaves(grads, params, needs_params=weight_decay != 0)
        t = state["count"] + 1
        eta = _common.learning_rate_at(learning_rate, t - 1)
        ups = []
        for g, x in zip(L.grads, L.params, strict=True):
            d = g + weight_decay * x if weight_decay != 0 else g
            ups.append((-eta * d).astype(g.dtype))
        return L.rebuild(ups), {"count": t}

    return _common.Optimizer(init, update)


def momentum(
    learning_rate: Any, momentum: float = 0.9, nesterov: bool = False, weight_decay: float = 0.0
) -> _common.Optimizer:
    """Heavy-ball momentum (optax.sgd with momentum):

    d = g_t + λ x_t,   b_t = μ b_{t-1} + d,   x_{t+1} = x_t - η_t (d + μ b_t if nesterov else b_t)
    """
    _checks.learning_rate(learning_rate)
    _checks.beta("momentum", momentum)
    _checks.flag("nesterov", nesterov)
    _checks.nonnegative("weight_decay", weight_decay)

    def init(params: Any) -> dict:
        return {"count": 0, "momentum": _common.zeros_like_tree(params)}

    def update(grads: Any, state: dict, params: Any, **extra: Any) -> tuple[Any, dict]:
        L = _common.leaves(grads, params, needs_params=weight_decay != 0)
        t = state["count"] + 1
        eta = _common.learning_rate_at(learning_rate, t - 1)
        bufs, new_bufs, ups = _common.flat(state["momentum"]), [], []
        for i, (g, x) in enumerate(zip(L.grads, L.params, strict=True)):
            d = g + weight_decay * x if weight_decay != 0 else g
            b = momentum * bufs[i] + d
            new_bufs.append(b)
            ups.append((-eta * (d + momentum * b if nesterov else b)).astype(g.dtype))
        return L.rebuild(ups), {"count": t, "momentum": L.rebuild(new_bufs)}

    return _common.Optimizer(init, update)


def _adam_like(learning_rate, b1, b2, eps, weight_decay, weight_decay_mask) -> _common.Optimizer:
    _checks.learning_rate(learning_rate)
    _checks.beta("b1", b1)
    _checks.beta("b2", b2)
    _checks.nonnegative("eps", eps)
    _checks.nonnegative("weight_decay", weight_decay)
    _checks.mask_spec("weight_decay_mask", weight_decay_mask)

    def init(params: Any) -> dict:
        return {
            "count": 0,
            "mu": _common.zeros_like_tree(params),
            "nu": _common.real_full_like_tree(params),
        }

    def update(grads: Any, state: dict, params: Any, **extra: Any) -> tuple[Any, dict]:
        L = _common.leaves(grads, params, needs_params=weight_decay != 0)
        wd_on = _tree.resolve_mask(weight_decay_mask, params, L.names, "weight_decay_mask")
        t = state["count"] + 1
        eta = _common.learning_rate_at(learning_rate, t - 1)
        mus, nus = _common.flat(state["mu"]), _common.flat(state["nu"])
        ms, vs, ups = [], [], []
        for i, (g, x) in enumerate(zip(L.grads, L.params, strict=True)):
            m = b1 * mus[i] + (1 - b1) * g
            v = b2 * nus[i] + _common.scaled_abs_sq(1 - b2, g)
            u = (m / (1 - b1**t)) / (np.sqrt(v / (1 - b2**t)) + eps)
            if weight_decay != 0 and wd_on[i]:
                u = u + weight_decay * x
            ms.append(m)
            vs.append(v)
            ups.append((-eta * u).astype(g.dtype))
        return L.rebuild(ups), {"count": t, "mu": L.rebuild(ms), "nu": L.rebuild(vs)}

    return _common.Optimizer(init, update)


def adam(
    learning_rate: Any, b1: float = 0.9, b2: float = 0.999, eps: float = 1e-8
) -> _common.Optimizer:
    """Adam (Kingma & Ba 2015): x_{t+1} = x_t - η_t m̂_t/(√v̂_t + ε) with bias-corrected moments."""
    return _adam_like(learning_rate, b1, b2, eps, 0.0, None)


def adamw(
    learning_rate: Any,
    b1: float = 0.9,
    b2: float = 0.999,
    eps: float = 1e-8,
    weight_decay: float = 1e-4,
    *,
    weight_decay_mask: Any = None,
) -> _common.Optimizer:
    """AdamW (Loshchilov & Hutter 2019): x_{t+1} = x_t - η_t (m̂_t/(√v̂_t + ε) + λ x_t).

    The decay is scaled by the learning rate, as in optax.adamw (default λ = 1e-4).
    """
    return _adam_like(learning_rate, b1, b2, eps, weight_decay, weight_decay_mask)


def adagrad(
    learning_rate: Any, initial_accumulator_value: float = 0.1, eps: float = 1e-7
) -> _common.Optimizer:
    """AdaGrad (Duchi et al. 2011), optax's form.

    G_t = G_{t-1} + |g_t|²,   x_{t+1} = x_t - η_t g_t/√(G_t + ε)   (G_0 = initial value)
    """
    _checks.learning_rate(learning_rate)
    _checks.nonnegative("initial_accumulator_value", initial_accumulator_value)
    _checks.nonnegative("eps", eps)

    def init(params: Any) -> dict:
        return {
            "count": 0,
            "sum_of_squares": _common.real_full_like_tree(params, initial_accumulator_value),
        }

    def update(grads: Any, state: dict, params: Any, **extra: Any) -> tuple[Any, dict]:
        L = _common.leaves(grads, params, needs_params=False)
        t = state["count"] + 1
        eta = _common.learning_rate_at(learning_rate, t - 1)
        accs, new_accs, ups = _common.flat(state["sum_of_squares"]), [], []
        for i, g in enumerate(L.grads):
            acc = accs[i] + _common.abs_sq(g)
            scale = np.where(acc > 0, 1.0 / np.sqrt(acc + eps), 0.0)
            new_accs.append(acc)
            ups.append((-eta * scale * g).astype(g.dtype))
        return L.rebuild(ups), {"count": t, "sum_of_squares": L.rebuild(new_accs)}

    return _common.Optimizer(init, update)
