"""Pytrees for the NumPy reference: nested dicts, lists and tuples of arrays.

Written independently of ``jax.tree_util`` so that the reference shares no tree code with the
JAX implementation. Leaf order and names follow JAX's conventions (dict keys sorted), so both
backends name the same leaf ``dense/kernel``.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

import numpy as np

from lamb_ref import _checks


def _walk(tree: Any, path: tuple[str, ...], out: list[tuple[str, Any]]) -> Any:
    if isinstance(tree, dict):
        keys = sorted(tree)
        return ("dict", keys, [_walk(tree[k], (*path, str(k)), out) for k in keys])
    if isinstance(tree, list | tuple):
        kind = "list" if isinstance(tree, list) else "tuple"
        return (kind, None, [_walk(v, (*path, str(i)), out) for i, v in enumerate(tree)])
    if tree is None:
        return ("none", None, [])
    out.append(("/".join(path), tree))
    return ("leaf", None, [])


def flatten(tree: Any) -> tuple[list[str], list[Any], Callable[[list[Any]], Any]]:
    """Leaf names, leaves (as given), and a function rebuilding the tree from new leaves."""
    out: list[tuple[str, Any]] = []
    skeleton = _walk(tree, (), out)

    def rebuild(leaves: list[Any]) -> Any:
        it = iter(leaves)

        def build(node: Any) -> Any:
            kind, keys, children = node
            if kind == "leaf":
                return next(it)
            if kind == "none":
                return None
            if kind == "dict":
                return {k: build(c) for k, c in zip(keys, children, strict=True)}
            built = [build(c) for c in children]
            return built if kind == "list" else tuple(built)

        return build(skeleton)

    return [n for n, _ in out], [leaf for _, leaf in out], rebuild


def arrays(
    tree: Any, what: str, complex_refused: str | None = None
) -> tuple[list[str], list[np.ndarray], Callable]:
    """Flatten a tree of floating or complex leaves to arrays (a Python float or complex becomes
    a 0-d float64/complex128 array).

    Any other leaf (integer, bool, ...), or a complex one when ``complex_refused`` gives a reason,
    raises :class:`lamb_ref._checks.LeafDtypeError` naming it, with the JAX backend's message
    (:func:`lamb_ref._checks.float_leaves`).
    """
    names, leaves, rebuild = flatten(tree)
    _checks.float_leaves(what, names, leaves, complex_refused)
    return names, [np.asarray(leaf) for leaf in leaves], rebuild


def named_leaves(tree: Any) -> tuple[list[str], list[Any]]:
    """The leaves of a tree and their names, in :func:`flatten` order."""
    names, leaves, _ = flatten(tree)
    return names, leaves


# One bool per leaf from a mask spec (see ``lamb_ref.masks``): the shared
# :func:`lamb_ref._checks.resolve_mask`, reading pytree masks with this module's walker.
resolve_mask = functools.partial(_checks.resolve_mask, flatten=named_leaves)
