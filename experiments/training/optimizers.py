"""The optimizer of a training run: a ``lamb_ref`` optimizer or named variant, with exclusions.

``build(spec, learning_rate)`` returns an optax ``GradientTransformation``:

    [clip_by_global_norm(max_grad_norm)] → [masked L2: g + λx (sgd, momentum)] → optimizer

* ``lamb``, ``lars``, ``nlamb``, ``nnlamb``: ``lamb_ref``'s functions (the paper's algorithms),
  with ``weight_decay_mask = exclude(*exclude_from_weight_decay)`` and
  ``trust_ratio_mask = exclude(*exclude_from_layer_adaptation)``.
* ``adamw``: ``weight_decay_mask`` from the weight-decay list.
* ``sgd``, ``momentum``: ``lamb_ref`` applies their weight decay to every leaf, so a non-zero
  ``weight_decay`` is instead added to the gradient where the list allows (g + λx is exactly
  how both use it) and the optimizer gets λ = 0.
* ``adam``, ``adagrad``: no weight decay.
* any other name of ``lamb_ref.variants.NAMES`` (``tfa``, ``timm``, ``lars_2017``, …):
  ``lamb_ref.variants.make`` with the two lists as ``exclude_from_weight_decay`` /
  ``exclude_from_layer_adaptation`` (each library's own rules apply, and its own errors).

The learning rate may be a traced scalar: the loop builds the optimizer inside the step with the
step's η, so learning-rate grids share one compilation. ``adapt=False`` builds the same
optimizer with every trust ratio switched off (``trust_ratio_mask=False``, no trust cap): the
"un-adapted twin" used to measure the trust ratio actually applied (:mod:`.loop`).
"""

from __future__ import annotations

import inspect
import re
from typing import Any

import jax
import optax

import lamb_ref
from lamb_ref import masks, variants
from lamb_ref._variant_specs import resolve
from lamb_ref.lamb import lamb_family
from lamb_ref.lars import lars_2017, optax_lars
from lamb_ref.tree import leaf_names, resolve_mask

CORE = {
    "lamb": lamb_ref.lamb,
    "lars": lamb_ref.lars,
    "nlamb": lamb_ref.nlamb,
    "nnlamb": lamb_ref.nnlamb,
    "sgd": lamb_ref.sgd,
    "momentum": lamb_ref.momentum,
    "adam": lamb_ref.adam,
    "adamw": lamb_ref.adamw,
    "adagrad": lamb_ref.adagrad,
}
LAYERWISE_CORE = ("lamb", "lars", "nlamb", "nnlamb")
L2_BY_GRADIENT = ("sgd", "momentum")
NAMES: tuple[str, ...] = (*CORE, *(n for n in variants.NAMES if n not in CORE))
_FAMILIES = {"lamb_family": lamb_family, "lars": lamb_ref.lars, "lars_2017": lars_2017}
_FAMILIES["optax_lars"] = optax_lars
# Set by the config's own fields, never through ``hyper``.
_RESERVED = (
    "learning_rate",
    "weight_decay_mask",
    "trust_ratio_mask",
    "exclude_from_weight_decay",
    "exclude_from_layer_adaptation",
)


def is_layerwise(name: str) -> bool:
    """True for optimizers with a per-layer trust ratio (LARS/LAMB forms and their variants)."""
    return name in LAYERWISE_CORE or name not in CORE


def check_optimizer(
    name: str,
    hyper: dict,
    wd_exclude: tuple[str, ...] = (),
    ad_exclude: tuple[str, ...] = (),
    max_grad_norm: Any = None,
) -> None:
    """Raise ValueError if ``name`` or ``hyper`` is not accepted (built once with η = 1e-3)."""
    if name not in NAMES:
        raise ValueError(f"optimizer={name!r} is invalid: expected one of {list(NAMES)}")
    for key in hyper:
        if key in _RESERVED:
            raise ValueError(
                f"hyper[{key!r}]={hyper[key]!r} is invalid: set it through the TrainConfig field "
                "(learning_rate, exclude_from_weight_decay, exclude_from_layer_adaptation)"
            )
    if name in CORE:
        accepted = set(inspect.signature(CORE[name]).parameters) - set(_RESERVED)
        unknown = sorted(set(hyper) - accepted)
        if unknown:
            raise ValueError(
                f"hyper={hyper!r} is invalid for optimizer {name!r}: it does not take "
                f"{unknown}; it accepts {sorted(accepted)}"
            )
    build(name, hyper, wd_exclude, ad_exclude, max_grad_norm, 1e-3)


def _masked_l2(weight_decay: Any, exclude: tuple[str, ...]) -> optax.GradientTransformation:
    """g ← g + λx on the leaves whose name matches none of ``exclude``."""

    def update(grads, state, params=None):
        names = leaf_names(params)
        leaves, treedef = jax.tree.flatten(grads)
        out = [
            g if any(re.search(p, n) for p in exclude) else g + weight_decay * x
            for g, x, n in zip(leaves, jax.tree.leaves(params), names, strict=True)
        ]
        return jax.tree.unflatten(treedef, out), state

    return optax.GradientTransformation(lambda params: optax.EmptyState(), update)


def _core(name, hyper, wd_exclude, ad_exclude, learning_rate, adapt):
    hp = dict(hyper)
    pre = []
    if name in LAYERWISE_CORE:
        hp["weight_decay_mask"] = masks.exclude(*wd_exclude)
        hp["trust_ratio_mask"] = masks.exclude(*ad_exclude) if adapt else False
    elif name == "adamw":
        hp["weight_decay_mask"] = masks.exclude(*wd_exclude)
    elif name in L2_BY_GRADIENT and hp.get("weight_decay", 0.0) != 0.0:
        pre.append(_masked_l2(hp.pop("weight_decay"), wd_exclude))
    return pre, CORE[name](learning_rate=learning_rate, **hp)


def _variant(name, hyper, wd_exclude, ad_exclude, learning_rate, adapt):
    hp = dict(hyper, learning_rate=learning_rate)
    if wd_exclude:
        hp["exclude_from_weight_decay"] = list(wd_exclude)
    if ad_exclude:
        hp["exclude_from_layer_adaptation"] = list(ad_exclude)
    if adapt:
        return variants.make(name, **hp)
    family, kwargs = resolve(name, hp)
    kwargs["trust_ratio_mask"] = False
    kwargs.pop("max_trust_ratio", None)
    return _FAMILIES[family](**kwargs)


def build(
    name: str,
    hyper: dict,
    wd_exclude: tuple[str, ...],
    ad_exclude: tuple[str, ...],
    max_grad_norm: Any,
    learning_rate: Any,
    *,
    adapt: bool = True,
) -> optax.GradientTransformation:
    """The run's optimizer chain (module docstring); ``adapt=False`` gives the un-adapted twin."""
    pre = [] if max_grad_norm is None else [optax.clip_by_global_norm(max_grad_norm)]
    if name in CORE:
        extra, tx = _core(name, hyper, wd_exclude, ad_exclude, learning_rate, adapt)
        pre += extra
    else:
        tx = _variant(name, hyper, wd_exclude, ad_exclude, learning_rate, adapt)
    return optax.chain(*pre, tx)


def adapted_leaves(
    name: str, hyper: dict, wd_exclude: tuple[str, ...], ad_exclude: tuple[str, ...], params: Any
) -> list[bool]:
    """Per leaf, whether the optimizer applies a trust ratio there."""
    names = leaf_names(params)
    if not is_layerwise(name):
        return [False] * len(names)
    if name in LAYERWISE_CORE:
        return [not any(re.search(p, n) for p in ad_exclude) for n in names]
    hp = dict(hyper, learning_rate=1e-3)
    if wd_exclude:
        hp["exclude_from_weight_decay"] = list(wd_exclude)
    if ad_exclude:
        hp["exclude_from_layer_adaptation"] = list(ad_exclude)
    _, kwargs = resolve(name, hp)
    return resolve_mask(kwargs.get("trust_ratio_mask"), params, names, "trust_ratio_mask")
