"""LAMB as an optax ``GradientTransformation`` (the paper's Algorithm 2) and its variant knobs.

You et al., "Large Batch Optimization for Deep Learning: Training BERT in 76 minutes", ICLR 2020
(arXiv:1904.00962 v5), Section 3, Algorithm 2. The NumPy twin ``lamb_ref.reference.lamb`` is
the readable specification; this version is jit/vmap-friendly and works under
``optax.inject_hyperparams``. The trust ratio is :func:`lamb_ref._layers.trust_ratio`.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import optax

from lamb_ref import _checks, _layers
from lamb_ref.tree import check_match, float_inputs, float_tree, resolve_mask


class LambState(NamedTuple):
    count: jnp.ndarray  # int32, steps taken
    mu: Any  # first moment m_t
    nu: Any  # second moment v_t


def global_clip_scale(leaves: list[jnp.ndarray], max_norm: Any) -> jnp.ndarray:
    """max(‖g‖_global/c, 1), the norm over all leaves together (timm, apex; |g|² if complex)."""
    total = jnp.sqrt(sum(jnp.sum(_layers.abs_sq(g)) for g in _layers.fresh(list(leaves))))
    return jnp.maximum(total / max_norm, 1.0)


def clip_by_global_norm(leaves: list[jnp.ndarray], max_norm: Any) -> list[jnp.ndarray]:
    """ĝ = g / max(‖g‖_global/c, 1), the norm over all leaves together (timm, apex)."""
    scale = global_clip_scale(leaves, max_norm)
    return [g / scale.astype(_layers.real_dtype(g.dtype)) for g in leaves]


def lamb_family(
    learning_rate: Any,
    b1: Any = 0.9,
    b2: Any = 0.999,
    eps: Any = 1e-6,
    weight_decay: Any = 0.0,
    *,
    bias_correction: str = "moments",
    phi: Any = None,
    trust_norm: str = "l2",
    weight_decay_mask: Any = None,
    trust_ratio_mask: Any = None,
    decoupled_weight_decay: bool = False,
    max_trust_ratio: float | None = None,
    max_grad_norm: Any = None,
) -> optax.GradientTransformationExtraArgs:
    """Algorithm 2 with the knobs that distinguish the published LAMBs (``docs/variants.md``).

    Per step t (1-based) and per layer i, with ĝ the (optionally globally clipped) gradient:

        m_t = β1 m_{t-1} + (1-β1) ĝ_t,     v_t = β2 v_{t-1} + (1-β2) |ĝ_t|²
        bias_correction="moments":   m̂ = m_t/(1-β1^t),  v̂ = v_t/(1-β2^t)   (arXiv v4/v5)
        otherwise:                   m̂ = m_t,            v̂ = v_t              (arXiv v3)
        r_t = m̂ / (√v̂ + ε)
        ratio-form decay:   u = r_t + λ x^(i),  x̃ = x^(i)
        decoupled decay:    u = r_t,           x̃ = x^(i) - η_t λ x^(i)       (Keras 3, timm lambw)
        x^(i)_{t+1} = x̃ - s_t · min(φ(‖x̃‖)/‖u‖, max_trust_ratio) · u,  ratio 1 on a zero norm
        s_t = η_t, or η_t √(1-β2^t)/(1-β1^t) with bias_correction="step_size"
        ĝ = g / max(‖g‖_global/max_grad_norm, 1) if max_grad_norm is given (timm, apex)

    Complex leaves (optax's convention): |ĝ|² = ĝ·conj(ĝ) and v are real, m, r, u complex, and
    the norms are √Σ|·|²; refused with ``trust_norm`` "l1"/"linf" (see ``docs/variants.md``).
    The NumPy twin :func:`lamb_ref.reference.lamb.lamb_family` has the same arguments.
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
    phi_fn = _layers.phi_function(phi)
    complex_refused = _checks.complex_refusal("lamb", trust_norm)

    def init(params: Any) -> LambState:
        params = float_tree(params, "params", complex_refused)
        zeros = jax.tree.map(jnp.zeros_like, params)
        return LambState(
            jnp.zeros((), jnp.int32), zeros, jax.tree.map(_layers.real_full_like, params)
        )

    def update(
        grads: Any, state: LambState, params: Any = None, **extra_args: Any
    ) -> tuple[Any, LambState]:
        grads, params = float_inputs(grads, params, complex_refused)
        if params is None:
            raise _checks.HyperparameterError("params=None is invalid: LAMB needs the parameters")
        names = check_match(grads, params)
        wd_on = resolve_mask(weight_decay_mask, params, names, "weight_decay_mask")
        adapt_on = resolve_mask(trust_ratio_mask, params, names, "trust_ratio_mask")
        gs, treedef = jax.tree.flatten(grads)
        xs, mus, nus = jax.tree.leaves(params), jax.tree.leaves(state.mu), jax.tree.leaves(state.nu)
        count = state.count + 1
        eta = _layers.learning_rate_at(learning_rate, state.count)
        clip = None if max_grad_norm is None else global_clip_scale(gs, max_grad_norm)

        def clipped(g, clip):
            return g if clip is None else g / clip.astype(_layers.real_dtype(g.dtype))

        def point(x, h, wd_on):
            """x̃, the point whose norm the trust ratio takes (x, or x - ηλx if decoupled)."""
            return x - h["eta"] * h["wd"] * x if decoupled_weight_decay and wd_on else x

        def direction(x, m, v, h, wd_on):
            """u = r (+ λx): the Adam ratio of the new moments; ``h`` holds the scalars."""
            m_hat, v_hat = (m / h["c1"], v / h["c2"]) if bias_correction == "moments" else (m, v)
            r = m_hat / (jnp.sqrt(v_hat) + h["eps"])
            return r + h["wd"] * x if wd_on and not decoupled_weight_decay else r

        def scalars(dtype):
            """A layer's scalars, computed in float32 or wider and rounded to its dtype once.

            (For float32/float64 layers that is the layer's dtype; a bfloat16 layer still gets
            1 - β2^t > 0, although β2 = 0.999 itself rounds to 1 in bfloat16.)
            """
            wide = jnp.promote_types(dtype, jnp.float32)
            w = lambda v: jnp.asarray(v, wide)  # noqa: E731
            t = count.astype(wide)
            h = {"b1": w(b1), "b2": w(b2), "1-b1": 1 - w(b1), "1-b2": 1 - w(b2)}
            h |= {"c1": 1 - w(b1) ** t, "c2": 1 - w(b2) ** t}  # bias corrections
            h |= {"eps": w(eps), "wd": w(weight_decay), "eta": w(eta), "step": w(eta)}
            if bias_correction == "step_size":
                h["step"] = h["eta"] * jnp.sqrt(h["c2"]) / h["c1"]
            return {k: a.astype(dtype) for k, a in h.items()}

        ms, vs, ups = [], [], []
        for i, (g, x) in enumerate(zip(gs, xs, strict=True)):
            h = scalars(_layers.real_dtype(g.dtype))
            # ĝ, computed by each moment's pass (the second from fresh inputs) rather than stored
            g, g2 = clipped(g, clip), (g if clip is None else clipped(*_layers.fresh((g, clip))))
            m = h["b1"] * mus[i] + h["1-b1"] * g
            v = h["b2"] * nus[i] + _layers.scaled_abs_sq(h["1-b2"], g2)
            x_tilde, u = point(x, h, wd_on[i]), direction(x, m, v, h, wd_on[i])
            ratio = 1
            if adapt_on[i]:
                # Each norm gets its own copy of its expression, computed from fresh inputs (see
                # _layers.fresh): u is never written to memory; x, m, v are read once more.
                ratio = _layers.trust_ratio(
                    point(*_layers.fresh((x, h)), wd_on[i]),
                    direction(*_layers.fresh((x, m, v, h)), wd_on[i]),
                    phi_fn,
                    trust_norm,
                    max_trust_ratio,
                )
            ms.append(m)
            vs.append(v)
            ups.append((x_tilde - x) - h["step"] * ratio * u)
        unflat = lambda leaves: jax.tree.unflatten(treedef, leaves)  # noqa: E731
        return unflat(ups), LambState(count, unflat(ms), unflat(vs))

    return optax.GradientTransformationExtraArgs(init, update)


def lamb(
    learning_rate: Any,
    b1: Any = 0.9,
    b2: Any = 0.999,
    eps: Any = 1e-6,
    weight_decay: Any = 0.0,
    *,
    bias_correction: bool = True,
    phi: Any = None,
    trust_norm: str = "l2",
    weight_decay_mask: Any = None,
    trust_ratio_mask: Any = None,
) -> optax.GradientTransformationExtraArgs:
    """LAMB, the paper's Algorithm 2 (arXiv v4/v5; ``bias_correction=False`` gives v3).

    For t = 1, 2, … and every layer i (one pytree leaf, named by its key path):

        m_t = β1 m_{t-1} + (1-β1) g_t,       v_t = β2 v_{t-1} + (1-β2) |g_t|²
        m̂_t = m_t/(1-β1^t),  v̂_t = v_t/(1-β2^t)          (only if bias_correction)
        r_t = m̂_t / (√v̂_t + ε)
        x_{t+1}^(i) = x_t^(i) - η_t φ(‖x_t^(i)‖)/‖r_t^(i) + λx_t^(i)‖ · (r_t^(i) + λx_t^(i))

    The trust ratio is 1 where ‖x^(i)‖ = 0 or ‖r^(i) + λx^(i)‖ = 0, or where ``trust_ratio_mask``
    is False; λx is added only where ``weight_decay_mask`` is True (see :mod:`lamb_ref.masks`).
    Complex leaves follow ``optax.lamb``: |g|² = g·conj(g), ‖x‖ = √Σ|x_j|², m and the update
    complex, v real (refused with ``trust_norm`` "l1"/"linf", which are ambiguous for them).

    Args:
        learning_rate: η, a float or a schedule ``count -> η`` (count = steps already taken).
        b1, b2: β1, β2 in [0, 1).  eps: ε ≥ 0, outside the square root, after bias correction.
        weight_decay: λ ≥ 0, added to the Adam ratio before the trust ratio.
        bias_correction: Adam's bias correction of both moments (paper v4/v5) or none (v3).
        phi: None (identity), ``(alpha_l, alpha_u)`` for clip(z, α_l, α_u), or a jnp callable.
        trust_norm: "l2" (paper), "l1" or "linf" (Appendix F).
        weight_decay_mask, trust_ratio_mask: which layers get λx / the trust ratio.

    Example:
        >>> import jax.numpy as jnp, optax, lamb_ref
        >>> params = {"w": jnp.ones(3)}
        >>> tx = lamb_ref.lamb(learning_rate=0.01, weight_decay=0.01)
        >>> state = tx.init(params)
        >>> updates, state = tx.update({"w": jnp.ones(3)}, state, params)
        >>> params = optax.apply_updates(params, updates)
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
