"""Pytree helpers for the JAX optimizers: leaf names, masks, structure checks."""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from jax.tree_util import DictKey, FlattenedIndexKey, GetAttrKey, SequenceKey

from lamb_ref import _checks
from lamb_ref.masks import as_name_mask


def _key_str(key: Any) -> str:
    if isinstance(key, DictKey):
        return str(key.key)
    if isinstance(key, SequenceKey):
        return str(key.idx)
    if isinstance(key, GetAttrKey):
        return key.name
    if isinstance(key, FlattenedIndexKey):
        return str(key.key)
    return str(key)


def leaf_names(tree: Any) -> list[str]:
    """Each leaf's key path joined with ``/`` (``{"dense": {"kernel": w}}`` → ``dense/kernel``)."""
    paths, _ = jax.tree_util.tree_flatten_with_path(tree)
    return ["/".join(_key_str(k) for k in path) for path, _ in paths]


def apply_updates(params: Any, updates: Any) -> Any:
    """x_{t+1} = x_t + u_t leaf by leaf, keeping each parameter's dtype."""
    return jax.tree.map(lambda x, u: (x + u).astype(jnp.asarray(x).dtype), params, updates)


def check_match(grads: Any, params: Any) -> list[str]:
    """Check grads and params have the same leaves (names, shapes); return the leaf names."""
    names = leaf_names(grads)
    _checks.same_structure(names, leaf_names(params))
    gshapes = [jnp.shape(g) for g in jax.tree.leaves(grads)]
    pshapes = [jnp.shape(p) for p in jax.tree.leaves(params)]
    _checks.same_shapes(names, gshapes, pshapes)
    return names


def resolve_mask(spec: Any, params: Any, names: list[str], what: str) -> list[bool]:
    """One static bool per leaf from a mask spec (see :mod:`lamb_ref.masks`)."""
    _checks.mask_spec(what, spec)
    if spec is None:
        return [True] * len(names)
    if isinstance(spec, bool | np.bool_):
        return [bool(spec)] * len(names)
    name_mask = as_name_mask(spec)
    if name_mask is not None:
        return [name_mask(n) for n in names]
    if callable(spec):
        spec = spec(params)
    mnames = leaf_names(spec)
    _checks.same_structure(mnames, names, what=what, other="params")
    out = []
    for n, leaf in zip(mnames, jax.tree.leaves(spec), strict=True):
        if not isinstance(leaf, bool | np.bool_):
            raise _checks.HyperparameterError(
                f"{what} leaf {n!r} is {leaf!r}; mask leaves must be Python bools (static)"
            )
        out.append(bool(leaf))
    return out
