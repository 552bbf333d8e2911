"""Opt-in NaN/Inf check for the NumPy reference (gradients and learning rate).

Without it (documented behaviour, tested in ``tests/test_finite.py``):

* a NaN/Inf gradient entry makes that coordinate's moments and update NaN (or Inf) for good;
* the leaf's norm is then NaN, so its trust ratio falls back to 1 (NaN > 0 is false) and the
  leaf's finite coordinates take an un-normalised step η·(r + λx);
* other leaves are untouched - except under a global gradient-norm clip (the ``timm`` variants):
  a NaN makes the global norm NaN and every leaf's update NaN; an Inf makes it Inf, which zeroes
  every other leaf's gradient.

:func:`finite_check` raises instead, naming the offending leaves. It also checks the step's
learning rate: a negative or non-finite η (a schedule's value) raises
:class:`lamb_ref._checks.HyperparameterError` naming the value and the step. Without it a
negative η ascends and a NaN one makes the parameters NaN - the JAX twin's behaviour, which
cannot raise on a value inside ``jit`` unless the check is compiled in.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from lamb_ref._checks import NonFiniteGradientError
from lamb_ref.reference import _common, _tree
from lamb_ref.reference._common import Optimizer


def check_finite(grads: Any) -> None:
    """Raise :class:`NonFiniteGradientError` naming every leaf with a NaN or Inf entry."""
    names, leaves, _ = _tree.flatten(grads)
    bad = [n for n, g in zip(names, leaves, strict=True) if not np.all(np.isfinite(g))]
    if bad:
        raise NonFiniteGradientError(f"non-finite gradient (NaN or Inf) in leaf/leaves {bad}")


def finite_check(optimizer: Optimizer) -> Optimizer:
    """Wrap an optimizer: ``update`` first runs :func:`check_finite` on the gradients, and the
    learning rate the optimizer takes in that update must be finite and >= 0."""

    def update(grads: Any, state: Any, params: Any = None, **extra: Any) -> tuple[Any, Any]:
        check_finite(grads)  # extra keyword arguments (optax's convention) are ignored
        token = _common.CHECK_LEARNING_RATE.set(True)
        try:
            return optimizer.update(grads, state, params)
        finally:
            _common.CHECK_LEARNING_RATE.reset(token)

    return Optimizer(optimizer.init, update)
