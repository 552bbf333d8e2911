"""The NumPy fast path: in-place twins of the reference steps (``update`` + ``apply_updates``).

Not part of the specification (:mod:`lamb_ref.reference`), which it is tested against. The
reference optimizers are the specification: functional, one expression per line of the
algorithm box, a new array for every intermediate. On a BERT-sized model that is dozens of full
copies of the parameters per step. The steps here do the same arithmetic - the same NumPy
operations on the same operands in the same order, so the results are the same bits - but

* write the new parameters and moments into the arrays they replace (``out=``),
* go through each layer in blocks of ``BLOCK`` entries, so every intermediate is a small
  scratch array that stays in cache and is reused (nothing is allocated per step),
* accumulate the layer norms block by block exactly as :func:`_common.layer_norm` does, and take
  the trust ratio from them with the reference's own :func:`_common.trust_ratio`,
* spread the blocks of a layer over a few threads (NumPy releases the GIL in its loops).

Per step and layer the memory traffic is then what the algorithm needs: LAMB reads g, x, m, v
and writes m, v and u, then reads x, u and writes x. ``tests/test_fast_step.py`` checks that
every step here equals the reference's ``update`` + ``apply_updates`` exactly.

Usage (the arrays of ``params`` and ``state`` are overwritten; none may share memory)::

    from lamb_ref import numpy_inplace

    opt = numpy_inplace.make("lamb", learning_rate=1e-3, weight_decay=0.01)
    state = opt.init(params)
    opt.step(params, state, grads)
"""

from __future__ import annotations

import math
import os
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, NamedTuple

import numpy as np

from lamb_ref import _checks
from lamb_ref._variant_specs import resolve
from lamb_ref.reference import _common, _tree, baselines
from lamb_ref.reference.finite import check_finite as reference_check_finite
from lamb_ref.reference.lamb import lamb_family as reference_lamb_family
from lamb_ref.reference.lars import lars as reference_lars
from lamb_ref.reference.lars import lars_2017 as reference_lars_2017
from lamb_ref.reference.lars import optax_lars as reference_optax_lars

BLOCK = _common.BLOCK


class InplaceOptimizer(NamedTuple):
    """``init(params) -> state`` (the reference's state) and ``step(params, state, grads)``.

    ``step`` overwrites the leaves of ``params`` and of ``state`` with their values after one
    step and increments ``state["count"]``; it returns nothing.
    """

    init: Callable[[Any], dict]
    step: Callable[[Any, dict, Any], None]


# --- execution: blocks, scratch, threads ------------------------------------------------------

_local = threading.local()
_pool: ThreadPoolExecutor | None = None
_pool_lock = threading.Lock()


def _workers() -> int:
    return max(1, min(4, os.cpu_count() or 1))


def _map(fn: Callable[[slice], Any], size: int) -> list[Any]:
    """``fn`` on every block of a layer of ``size`` entries, results in block order.

    Each worker takes one contiguous run of blocks and goes through it in order: one pool task
    per block cost about 20 µs of pool overhead (with the GIL held) per block and interleaved
    the threads' memory streams; on a 110M-entry layer the LAMB step took 0.215 s that way and
    0.180 s with one run per worker (2 cores).
    """
    global _pool
    bs = _common.blocks(size)
    n = min(_workers(), len(bs))
    if n < 2:
        return [fn(b) for b in bs]
    with _pool_lock:
        if _pool is None:
            _pool = ThreadPoolExecutor(_workers(), thread_name_prefix="lamb_ref_inplace")
    runs = [bs[k * len(bs) // n : (k + 1) * len(bs) // n] for k in range(n)]
    done = _pool.map(lambda run: [fn(b) for b in run], runs)
    return [result for run in done for result in run]


def _scratch(dtype: np.dtype, k: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """This thread's three scratch blocks of ``dtype`` and one float64 block, ``k`` long."""
    bufs = getattr(_local, "bufs", None)
    if bufs is None:
        bufs = _local.bufs = {}
    key = np.dtype(dtype).str
    if key not in bufs or bufs[key][0].size < k:
        bufs[key] = (*(np.empty(k, dtype) for _ in range(3)), np.empty(k))
    return tuple(b[:k] for b in bufs[key])  # type: ignore[return-value]


def _flat(a: np.ndarray) -> np.ndarray:
    return a.reshape(-1)


class _Layers(NamedTuple):
    names: list[str]
    grads: list[np.ndarray]
    params: list[np.ndarray]
    states: list[list[np.ndarray]]


def _layers(params: Any, state: dict, grads: Any, keys: tuple[str, ...]) -> _Layers | None:
    """Raveled views of every leaf, or None when the fast path does not apply.

    It applies when every leaf of params, grads and ``state[key]`` is a C-contiguous, writeable
    float32 or float64 ndarray and, per layer, all of them have one dtype.
    """
    names, gs, _ = _tree.flatten(grads)
    pnames, xs, _ = _tree.flatten(params)
    _checks.same_structure(names, pnames)
    sts = [_tree.flatten(state[k])[1] for k in keys]
    for arrs in (gs, xs, *sts):
        if len(arrs) != len(names):
            return None
    for i in range(len(names)):
        group = [gs[i], xs[i], *(s[i] for s in sts)]
        if not all(isinstance(a, np.ndarray) for a in group):
            return None
        dt = group[0].dtype
        if dt not in (np.float32, np.float64):
            return None
        for a in group:
            if a.dtype != dt or a.shape != group[0].shape or not a.flags.c_contiguous:
                return None
        if not all(a.flags.writeable for a in group[1:]):
            return None
    return _Layers(
        names, [_flat(g) for g in gs], [_flat(x) for x in xs], [[_flat(a) for a in s] for s in sts]
    )


def _fallback(optimizer: _common.Optimizer, params: Any, state: dict, grads: Any) -> None:
    """The reference step, copied into the given arrays (trees the fast path does not take)."""
    updates, new_state = optimizer.update(grads, state, params)
    new_params = _common.apply_updates(params, updates)
    for old, new in zip(_tree.flatten(params)[1], _tree.flatten(new_params)[1], strict=True):
        np.copyto(old, new)
    for key, value in new_state.items():
        if isinstance(value, dict | list | tuple):
            for old, new in zip(_tree.flatten(state[key])[1], _tree.flatten(value)[1], strict=True):
                np.copyto(old, new)
        else:
            state[key] = value


def _norms(parts: list[tuple[float, float]], kind: str) -> tuple[float, float]:
    return _common.norm_finish([p[0] for p in parts], kind), _common.norm_finish(
        [p[1] for p in parts], kind
    )


# --- LAMB ---------------------------------------------------------------------------------------


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
) -> InplaceOptimizer:
    """In place, :func:`lamb_ref.reference.lamb.lamb_family` (same arguments, same bits)."""
    ref = reference_lamb_family(
        learning_rate,
        b1,
        b2,
        eps,
        weight_decay,
        bias_correction=bias_correction,
        phi=phi,
        trust_norm=trust_norm,
        weight_decay_mask=weight_decay_mask,
        trust_ratio_mask=trust_ratio_mask,
        decoupled_weight_decay=decoupled_weight_decay,
        max_trust_ratio=max_trust_ratio,
        max_grad_norm=max_grad_norm,
    )
    phi_fn = _common.phi_function(phi)
    workspace: dict[str, np.ndarray] = {}

    def step(params: Any, state: dict, grads: Any) -> None:
        lay = _layers(params, state, grads, ("mu", "nu"))
        if lay is None:
            _fallback(ref, params, state, grads)
            return
        wd_on = _tree.resolve_mask(weight_decay_mask, params, lay.names, "weight_decay_mask")
        adapt_on = _tree.resolve_mask(trust_ratio_mask, params, lay.names, "trust_ratio_mask")
        t = state["count"] + 1
        eta = _common.learning_rate_at(learning_rate, t - 1)
        clip = (
            None if max_grad_norm is None else _common.global_clip_scale(lay.grads, max_grad_norm)
        )
        step_size = eta
        if bias_correction == "step_size":
            step_size = eta * math.sqrt(1 - b2**t) / (1 - b1**t)
        c1, c2 = 1 - b1**t, 1 - b2**t
        decay = eta * weight_decay  # x̃ = x - (η λ) x, as the reference evaluates it
        (mus, nus) = lay.states
        for i, (g, x) in enumerate(zip(lay.grads, lay.params, strict=True)):
            m, v = mus[i], nus[i]
            key = x.dtype.str
            if key not in workspace or workspace[key].size < x.size:
                workspace[key] = np.empty(x.size, x.dtype)
            u_all = workspace[key]

            def first(b: slice, i=i, g=g, x=x, m=m, v=v, u_all=u_all) -> tuple[float, float]:
                gb, xb, mb, vb, ub = g[b], x[b], m[b], v[b], u_all[b]
                a, c, xt, d = _scratch(x.dtype, xb.size)
                if clip is not None:  # ĝ = g / scale
                    gb = np.divide(gb, clip, out=c)
                # m = β1 m + (1-β1) ĝ,   v = β2 v + (1-β2) ĝ ĝ
                np.add(np.multiply(b1, mb, out=mb), np.multiply(1 - b1, gb, out=a), out=mb)
                np.multiply(np.multiply(1 - b2, gb, out=a), gb, out=a)
                np.add(np.multiply(b2, vb, out=vb), a, out=vb)
                # r = m̂ / (√v̂ + ε)
                v_hat = np.divide(vb, c2, out=a) if bias_correction == "moments" else vb
                den = np.add(np.sqrt(v_hat, out=a), eps, out=a)
                m_hat = np.divide(mb, c1, out=ub) if bias_correction == "moments" else mb
                np.divide(m_hat, den, out=ub)
                x_tilde = xb
                if decoupled_weight_decay and wd_on[i]:  # x̃ = x - ηλx,  u = r
                    x_tilde = np.subtract(xb, np.multiply(decay, xb, out=xt), out=xt)
                elif wd_on[i]:  # u = r + λx
                    np.add(ub, np.multiply(weight_decay, xb, out=a), out=ub)
                if not adapt_on[i]:
                    return 0.0, 0.0
                return _common.norm_partial(x_tilde, trust_norm, d), _common.norm_partial(
                    ub, trust_norm, d
                )

            parts = _map(first, x.size)
            ratio = 1.0
            if adapt_on[i]:
                xn, un = _norms(parts, trust_norm)
                ratio = _common.trust_ratio(xn, un, phi_fn, max_trust_ratio)
            scale = step_size * ratio

            def second(b: slice, i=i, x=x, u_all=u_all, scale=scale) -> None:
                xb, ub = x[b], u_all[b]
                a, _, xt, _ = _scratch(x.dtype, xb.size)
                if decoupled_weight_decay and wd_on[i]:
                    x_tilde = np.subtract(xb, np.multiply(decay, xb, out=xt), out=xt)
                else:
                    x_tilde = xb
                # x ← x + ((x̃ - x) - s·ratio·u)
                np.subtract(np.subtract(x_tilde, xb, out=a), np.multiply(scale, ub, out=ub), out=a)
                np.add(xb, a, out=xb)

            _map(second, x.size)
        state["count"] = t

    return InplaceOptimizer(ref.init, step)


# --- LARS ---------------------------------------------------------------------------------------


def lars(
    learning_rate: Any,
    momentum: float = 0.9,
    weight_decay: float = 0.0,
    *,
    phi: Any = None,
    trust_norm: str = "l2",
    weight_decay_mask: Any = None,
    trust_ratio_mask: Any = None,
) -> InplaceOptimizer:
    """In place, :func:`lamb_ref.reference.lars.lars` (Algorithm 1)."""
    ref = reference_lars(
        learning_rate,
        momentum,
        weight_decay,
        phi=phi,
        trust_norm=trust_norm,
        weight_decay_mask=weight_decay_mask,
        trust_ratio_mask=trust_ratio_mask,
    )
    phi_fn = _common.phi_function(phi)
    b1 = momentum

    def step(params: Any, state: dict, grads: Any) -> None:
        lay = _layers(params, state, grads, ("momentum",))
        if lay is None:
            _fallback(ref, params, state, grads)
            return
        wd_on = _tree.resolve_mask(weight_decay_mask, params, lay.names, "weight_decay_mask")
        adapt_on = _tree.resolve_mask(trust_ratio_mask, params, lay.names, "trust_ratio_mask")
        t = state["count"] + 1
        eta = _common.learning_rate_at(learning_rate, t - 1)
        for i, (g, x, buf) in enumerate(zip(lay.grads, lay.params, lay.states[0], strict=True)):

            def first(b: slice, i=i, g=g, x=x, buf=buf) -> tuple[float, float]:
                gb, xb, mb = g[b], x[b], buf[b]
                a, c, _, d = _scratch(x.dtype, xb.size)
                # d = g + λx,   m = β1 m + (1-β1) d
                db = np.add(gb, np.multiply(weight_decay, xb, out=a), out=a) if wd_on[i] else gb
                np.add(np.multiply(b1, mb, out=mb), np.multiply(1 - b1, db, out=c), out=mb)
                if not adapt_on[i]:
                    return 0.0, 0.0
                return _common.norm_partial(xb, trust_norm, d), _common.norm_partial(
                    mb, trust_norm, d
                )

            parts = _map(first, x.size)
            ratio = _common.trust_ratio(*_norms(parts, trust_norm), phi_fn) if adapt_on[i] else 1.0
            scale = -eta * ratio

            def second(b: slice, x=x, buf=buf, scale=scale) -> None:
                xb = x[b]
                a, _, _, _ = _scratch(x.dtype, xb.size)
                np.add(xb, np.multiply(scale, buf[b], out=a), out=xb)  # x ← x - η·ratio·m

            _map(second, x.size)
        state["count"] = t

    return InplaceOptimizer(ref.init, step)


def _momentum_twin(ref, learning_rate, weight_decay_mask, trust_ratio_mask, layer):
    """Shared driver of the 2017 and optax LARS: the norms of x and of n first, then one pass.

    ``layer(g, x, buf, eta, wd_on) -> (n, update)``: ``n(block, scratch)`` gives the block of the
    second normed array (g or g + λx), ``update(block, norms or None)`` does the step there.
    """

    def step(params: Any, state: dict, grads: Any) -> None:
        lay = _layers(params, state, grads, ("momentum",))
        if lay is None:
            _fallback(ref, params, state, grads)
            return
        wd_on = _tree.resolve_mask(weight_decay_mask, params, lay.names, "weight_decay_mask")
        adapt_on = _tree.resolve_mask(trust_ratio_mask, params, lay.names, "trust_ratio_mask")
        t = state["count"] + 1
        eta = _common.learning_rate_at(learning_rate, t - 1)
        for i, (g, x, buf) in enumerate(zip(lay.grads, lay.params, lay.states[0], strict=True)):
            norm_input, update = layer(g, x, buf, eta, wd_on[i])
            norms = None
            if adapt_on[i]:

                def first(b: slice, x=x, norm_input=norm_input) -> tuple[float, float]:
                    a, _, _, d = _scratch(x.dtype, b.stop - b.start)
                    return _common.norm_partial(x[b], "l2", d), _common.norm_partial(
                        norm_input(b, a), "l2", d
                    )

                norms = _norms(_map(first, x.size), "l2")
            _map(lambda b, update=update, norms=norms: update(b, norms), x.size)
        state["count"] = t

    return step


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
) -> InplaceOptimizer:
    """In place, :func:`lamb_ref.reference.lars.lars_2017` (timm / torch-optimizer)."""
    ref = reference_lars_2017(
        learning_rate,
        momentum,
        weight_decay,
        trust_coefficient=trust_coefficient,
        eps=eps,
        nesterov=nesterov,
        weight_decay_mask=weight_decay_mask,
        trust_ratio_mask=trust_ratio_mask,
    )

    def layer(g, x, buf, eta, wd_on):
        lam = weight_decay if wd_on else 0.0

        def update(b: slice, norms) -> None:
            tau = 1.0
            if norms is not None:  # c‖x‖/(‖g‖ + λ_i‖x‖ + ε)
                tau = _common.trust_ratio(
                    *norms, None, coefficient=trust_coefficient, weight_decay=lam, eps=eps
                )
            xb, mb = x[b], buf[b]
            a, c, _, _ = _scratch(x.dtype, xb.size)
            # d = τ (g + λx),   b = μ b + d,   x ← x - η (d + μ b | b)
            db = np.multiply(tau, np.add(g[b], np.multiply(lam, xb, out=a), out=a), out=a)
            np.add(np.multiply(momentum, mb, out=mb), db, out=mb)
            if nesterov:
                step = np.add(db, np.multiply(momentum, mb, out=c), out=c)
            else:
                step = mb
            np.add(xb, np.multiply(-eta, step, out=c), out=xb)

        return (lambda b, a: g[b]), update

    return InplaceOptimizer(
        ref.init, _momentum_twin(ref, learning_rate, weight_decay_mask, trust_ratio_mask, layer)
    )


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
) -> InplaceOptimizer:
    """In place, :func:`lamb_ref.reference.lars.optax_lars`."""
    ref = reference_optax_lars(
        learning_rate,
        momentum,
        weight_decay,
        trust_coefficient=trust_coefficient,
        eps=eps,
        nesterov=nesterov,
        weight_decay_mask=weight_decay_mask,
        trust_ratio_mask=trust_ratio_mask,
    )

    def layer(g, x, buf, eta, wd_on):
        def decayed(b: slice, a: np.ndarray) -> np.ndarray:  # d = g + λx
            return np.add(g[b], np.multiply(weight_decay, x[b], out=a), out=a) if wd_on else g[b]

        def update(b: slice, norms) -> None:
            tau = 1.0
            if norms is not None:  # c‖x‖/(‖d‖ + ε)
                tau = _common.trust_ratio(*norms, None, coefficient=trust_coefficient, eps=eps)
            xb, mb = x[b], buf[b]
            a, c, _, _ = _scratch(x.dtype, xb.size)
            # s = -η τ d,   b = s + μ b,   x ← x + (s + μ b | b)
            s = np.multiply(-eta * tau, decayed(b, a), out=a)
            np.add(s, np.multiply(momentum, mb, out=mb), out=mb)
            step = np.add(s, np.multiply(momentum, mb, out=c), out=c) if nesterov else mb
            np.add(xb, step, out=xb)

        return decayed, update

    return InplaceOptimizer(
        ref.init, _momentum_twin(ref, learning_rate, weight_decay_mask, trust_ratio_mask, layer)
    )


# --- Adam / AdamW -------------------------------------------------------------------------------


def _adam_like(learning_rate, b1, b2, eps, weight_decay, weight_decay_mask, ref):
    def step(params: Any, state: dict, grads: Any) -> None:
        lay = _layers(params, state, grads, ("mu", "nu"))
        if lay is None:
            _fallback(ref, params, state, grads)
            return
        wd_on = _tree.resolve_mask(weight_decay_mask, params, lay.names, "weight_decay_mask")
        t = state["count"] + 1
        eta = _common.learning_rate_at(learning_rate, t - 1)
        c1, c2 = 1 - b1**t, 1 - b2**t
        for i, (g, x) in enumerate(zip(lay.grads, lay.params, strict=True)):
            m, v = lay.states[0][i], lay.states[1][i]

            def one(b: slice, i=i, g=g, x=x, m=m, v=v) -> None:
                gb, xb, mb, vb = g[b], x[b], m[b], v[b]
                a, c, _, _ = _scratch(x.dtype, xb.size)
                np.add(np.multiply(b1, mb, out=mb), np.multiply(1 - b1, gb, out=a), out=mb)
                np.multiply(np.multiply(1 - b2, gb, out=a), gb, out=a)
                np.add(np.multiply(b2, vb, out=vb), a, out=vb)
                # u = (m/(1-β1^t)) / (√(v/(1-β2^t)) + ε) [+ λx],   x ← x - η u
                den = np.add(np.sqrt(np.divide(vb, c2, out=a), out=a), eps, out=a)
                u = np.divide(np.divide(mb, c1, out=c), den, out=c)
                if weight_decay != 0 and wd_on[i]:
                    np.add(u, np.multiply(weight_decay, xb, out=a), out=u)
                np.add(xb, np.multiply(-eta, u, out=u), out=xb)

            _map(one, x.size)
        state["count"] = t

    return InplaceOptimizer(ref.init, step)


def adam(learning_rate: Any, b1: float = 0.9, b2: float = 0.999, eps: float = 1e-8):
    """In place, :func:`lamb_ref.reference.adam`."""
    ref = baselines.adam(learning_rate, b1, b2, eps)
    return _adam_like(learning_rate, b1, b2, eps, 0.0, None, ref)


def adamw(
    learning_rate: Any,
    b1: float = 0.9,
    b2: float = 0.999,
    eps: float = 1e-8,
    weight_decay: float = 1e-4,
    *,
    weight_decay_mask: Any = None,
) -> InplaceOptimizer:
    """In place, :func:`lamb_ref.reference.adamw`."""
    ref = baselines.adamw(
        learning_rate, b1, b2, eps, weight_decay, weight_decay_mask=weight_decay_mask
    )
    return _adam_like(learning_rate, b1, b2, eps, weight_decay, weight_decay_mask, ref)


def finite_check(optimizer: InplaceOptimizer) -> InplaceOptimizer:
    """:func:`lamb_ref.reference.finite_check` for an in-place step: every ``step`` first checks
    the gradients for NaN/Inf, and its learning rate must be finite and >= 0."""

    def step(params: Any, state: dict, grads: Any) -> None:
        reference_check_finite(grads)
        token = _common.CHECK_LEARNING_RATE.set(True)
        try:
            optimizer.step(params, state, grads)
        finally:
            _common.CHECK_LEARNING_RATE.reset(token)

    return InplaceOptimizer(optimizer.init, step)


_FAMILIES = {
    "lamb_family": lamb_family,
    "lars": lars,
    "lars_2017": lars_2017,
    "optax_lars": optax_lars,
}


def make(name: str, **hyperparameters: Any) -> InplaceOptimizer:
    """The in-place step of variant ``name`` (see ``docs/variants.md``)."""
    family, kwargs = resolve(name, hyperparameters)
    return _FAMILIES[family](**kwargs)
