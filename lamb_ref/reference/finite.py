"""Opt-in NaN/Inf check for the NumPy reference.

Without it, a non-finite gradient entry propagates: the leaf's moments, its norms and its update
become NaN (its trust ratio falls back to 1 because NaN > 0 is false), so the parameter becomes
NaN; with global clipping every leaf does. :func:`finite_check` raises instead.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from lamb_ref.reference import _tree
from lamb_ref.reference._common import Optimizer


class NonFiniteGradientError(FloatingPointError):
    """A gradient leaf holds NaN or Inf."""


def check_finite(grads: Any) -> None:
    """Raise :class:`NonFiniteGradientError` naming every leaf with a NaN or Inf entry."""
    names, leaves, _ = _tree.flatten(grads)
    bad = [n for n, g in zip(names, leaves, strict=True) if not np.all(np.isfinite(g))]
    if bad:
        raise NonFiniteGradientError(f"non-finite gradient (NaN or Inf) in leaf/leaves {bad}")


def finite_check(optimizer: Optimizer) -> Optimizer:
    """Wrap an optimizer so that ``update`` first runs :func:`check_finite` on the gradients."""

    def update(grads: Any, state: Any, params: Any = None) -> tuple[Any, Any]:
        check_finite(grads)
        return optimizer.update(grads, state, params)

    return Optimizer(optimizer.init, update)
