"""Numeric precision as a scoped setting: JAX's 64-bit types for the length of one call.

The theorem-validation engine compares measured quantities with explicit bounds to many digits
and defines every synthetic objective in float64; the training engine computes in float32 with
explicit dtypes and sorts packed 64-bit integer keys. Both switch JAX's 64-bit types on only for
the duration of their own entry points (``jax.enable_x64`` is a context, restored on exit), so
importing or calling this project never changes ``jax.config`` for the caller.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import ParamSpec, TypeVar

import jax

P = ParamSpec("P")
R = TypeVar("R")


def with_x64(fn: Callable[P, R]) -> Callable[P, R]:
    """``fn`` run with JAX's 64-bit types on (``jax.enable_x64(True)`` around the call)."""

    @functools.wraps(fn)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        with jax.enable_x64(True):
            return fn(*args, **kwargs)

    return wrapper
