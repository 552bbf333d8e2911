"""Pytree helpers for the JAX optimizers: leaf names, masks, structure checks."""

from __future__ import annotations

import functools
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from jax.tree_util import DictKey, FlattenedIndexKey, GetAttrKey, SequenceKey

from lamb_ref import _checks


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


def float_tree(tree: Any, what: str, complex_refused: str | None = None) -> Any:
    """``tree`` once every leaf is checked to be floating or complex (refused with the reason
    ``complex_refused`` if given; :func:`lamb_ref._checks.float_leaves`).

    The check reads dtypes only (static under ``jit``, no device work). Python float and complex
    leaves become arrays, as optax treats them; every other leaf is returned as is.
    """
    leaves, treedef = jax.tree.flatten(tree)
    _checks.float_leaves(what, leaf_names(tree), leaves, complex_refused)
    python_scalar = [
        isinstance(x, float | complex) and not isinstance(x, np.generic) for x in leaves
    ]
    if not any(python_scalar):
        return tree
    leaves = [jnp.asarray(x) if p else x for x, p in zip(leaves, python_scalar, strict=True)]
    return jax.tree.unflatten(treedef, leaves)


def float_inputs(grads: Any, params: Any, complex_refused: str | None = None) -> tuple[Any, Any]:
    """:func:`float_tree` of the gradients, then of the parameters (unless None)."""
    grads = float_tree(grads, "grads", complex_refused)
    return grads, (None if params is None else float_tree(params, "params", complex_refused))


def check_match(grads: Any, params: Any) -> list[str]:
    """Check grads and params have the same leaves (names, shapes); return the leaf names."""
    names = leaf_names(grads)
    _checks.same_structure(names, leaf_names(params))
    gshapes = [jnp.shape(g) for g in jax.tree.leaves(grads)]
    pshapes = [jnp.shape(p) for p in jax.tree.leaves(params)]
    _checks.same_shapes(names, gshapes, pshapes)
    return names


def named_leaves(tree: Any) -> tuple[list[str], list[Any]]:
    """The leaves of a JAX pytree and their names, in ``jax.tree.leaves`` order."""
    return leaf_names(tree), jax.tree.leaves(tree)


# One static bool per leaf from a mask spec (see :mod:`lamb_ref.masks`): the shared
# :func:`lamb_ref._checks.resolve_mask`, reading pytree masks with ``jax.tree_util``.
resolve_mask = functools.partial(_checks.resolve_mask, flatten=named_leaves)
