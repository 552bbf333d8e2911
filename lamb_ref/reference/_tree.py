"""Pytrees for the NumPy reference: nested dicts, lists and tuples of arrays.

Written independently of ``jax.tree_util`` so that the reference shares no tree code with the
JAX implementation. Leaf order and names follow JAX's conventions (dict keys sorted), so both
backends name the same leaf ``dense/kernel``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from lamb_ref import _checks
from lamb_ref.masks import as_name_mask


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


def arrays(tree: Any, what: str) -> tuple[list[str], list[np.ndarray], Callable]:
    """Flatten a tree of array-likes to float arrays (float64 unless already floating)."""
    names, leaves, rebuild = flatten(tree)
    arrs = []
    for n, leaf in zip(names, leaves, strict=True):
        a = np.asarray(leaf)
        if not np.issubdtype(a.dtype, np.floating):
            if not np.issubdtype(a.dtype, np.number):
                raise _checks.HyperparameterError(
                    f"{what} leaf {n!r} has dtype {a.dtype}; expected a floating-point array"
                )
            a = a.astype(np.float64)
        arrs.append(a)
    return names, arrs, rebuild


def resolve_mask(spec: Any, params: Any, names: list[str], what: str) -> list[bool]:
    """Turn a mask spec (see ``lamb_ref.masks``) into one bool per leaf."""
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
    mnames, leaves, _ = flatten(spec)
    _checks.same_structure(mnames, names, what=what, other="params")
    out = []
    for n, leaf in zip(mnames, leaves, strict=True):
        if not isinstance(leaf, bool | np.bool_):
            raise _checks.HyperparameterError(
                f"{what} leaf {n!r} is {leaf!r}; mask leaves must be Python bools"
            )
        out.append(bool(leaf))
    return out
