"""Masks that select layers (pytree leaves) by name.

A *layer* is one pytree leaf; its *name* is its key path joined with ``/`` (``dense/kernel``,
``layers/0/bias``). Every ``*_mask`` argument of the optimizers accepts:

* ``None`` - every leaf is selected;
* a bool - all leaves or none;
* a list of regex strings - the leaves whose name matches one pattern (``re.search``);
* :func:`exclude` (``exclude("bias", "LayerNorm")``) - every leaf except those that match;
* :func:`by_name` - a function of the leaf name;
* a callable ``params -> pytree of bools`` (optax's convention);
* a pytree of bools with the parameters' structure.

A mask selects where something is *applied*: ``weight_decay_mask`` is True where weight decay is
added, ``trust_ratio_mask`` is True where the layer-wise trust ratio is used (elsewhere the
ratio is 1).
"""

from __future__ import annotations

import abc
import re
from dataclasses import dataclass


class ByName(abc.ABC):
    """Base of the name-based masks: ``mask(name) -> bool`` decides each leaf from its name."""

    @abc.abstractmethod
    def __call__(self, name: str) -> bool: ...


@dataclass(frozen=True)
class _FunctionMask(ByName):
    fn: object

    def __call__(self, name: str) -> bool:
        return bool(self.fn(name))


def by_name(fn) -> ByName:
    """Mask from a function of the leaf name, e.g. ``by_name(lambda n: n.endswith("kernel"))``."""
    if not callable(fn):
        raise TypeError(f"by_name needs a callable name -> bool, got {fn!r}")
    return _FunctionMask(fn)


@dataclass(frozen=True)
class NameMask(ByName):
    """Select leaves by regex on their name; ``include=False`` selects the complement."""

    patterns: tuple[str, ...]
    include: bool = True

    def __post_init__(self) -> None:
        for p in self.patterns:
            if not isinstance(p, str):
                raise TypeError(f"NameMask pattern {p!r} is not a string")
            re.compile(p)

    def matches(self, name: str) -> bool:
        return any(re.search(p, name) for p in self.patterns)

    def __call__(self, name: str) -> bool:
        return self.matches(name) == self.include


def include(*patterns: str) -> NameMask:
    """Mask selecting the leaves whose name matches any of ``patterns``."""
    return NameMask(tuple(patterns), include=True)


def exclude(*patterns: str) -> NameMask:
    """Mask selecting every leaf except those whose name matches any of ``patterns``."""
    return NameMask(tuple(patterns), include=False)


def as_name_mask(spec: object) -> ByName | None:
    """The name-based mask a spec denotes, or None if the spec is not name-based."""
    if isinstance(spec, ByName):
        return spec
    if isinstance(spec, list | tuple) and spec and all(isinstance(p, str) for p in spec):
        return NameMask(tuple(spec), include=True)
    return None
