"""Opt-in NaN/Inf check for the JAX optimizers (gradients and learning rate).

Without it (documented behaviour, tested in ``tests/test_finite.py``):

* a NaN/Inf gradient entry makes that coordinate's moments and update NaN (or Inf) for good;
* the leaf's norm is then NaN, so its trust ratio falls back to 1 (NaN > 0 is false) and the
  leaf's finite coordinates take an un-normalised step η·(r + λx);
* other leaves are untouched - except under a global gradient-norm clip (the ``timm`` variants):
  a NaN makes the global norm NaN and every leaf's update NaN; an Inf makes it Inf, which zeroes
  every other leaf's gradient.

:func:`finite_check` raises instead, naming the offending leaves. It also checks the step's
learning rate (a schedule's value, or an injected hyperparameter): a negative or non-finite η
raises :class:`lamb_ref.HyperparameterError` naming the value and the step - without it a
negative η ascends and a NaN one makes the parameters NaN, as in optax (jitted code cannot
raise on a value unless a check is compiled in, which is what this opt-in does).
"""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
import optax

from lamb_ref import _layers
from lamb_ref._checks import NonFiniteGradientError
from lamb_ref.tree import leaf_names


def _raise_for(names: list[str], finite: Any) -> None:
    bad = [n for n, ok in zip(names, np.asarray(finite), strict=True) if not ok]
    if bad:
        raise NonFiniteGradientError(f"non-finite gradient (NaN or Inf) in leaf/leaves {bad}")


def check_finite(grads: Any) -> None:
    """Raise :class:`NonFiniteGradientError` naming each leaf with a NaN or Inf entry.

    Works eagerly and under ``jit`` (through ``jax.debug.callback``; the jitted call then fails
    with a runtime error carrying the same message).
    """
    names = leaf_names(grads)
    leaves = jax.tree.leaves(grads)
    if not leaves:
        return
    finite = jnp.stack([jnp.all(jnp.isfinite(g)) for g in leaves])
    if isinstance(finite, jax.core.Tracer):
        jax.debug.callback(lambda f: _raise_for(names, f), finite)
    else:
        _raise_for(names, finite)


def finite_check(tx: optax.GradientTransformation) -> optax.GradientTransformationExtraArgs:
    """Wrap ``tx``: every ``update`` first runs :func:`check_finite` on the gradients, and the
    learning rate ``tx`` takes in that update must be finite and >= 0.

    Both checks run eagerly, or under ``jit`` through ``jax.debug.callback`` (the only per-step
    host round trip, which is why they are opt-in). Extra keyword arguments of ``update`` (optax's
    ``GradientTransformationExtraArgs`` convention) are passed on to ``tx`` when it takes them
    and dropped otherwise, as ``optax.with_extra_args_support`` does.
    """
    inner = optax.with_extra_args_support(tx)

    def update(grads, state, params=None, **extra_args):
        check_finite(grads)
        token = _layers.CHECK_LEARNING_RATE.set(True)
        try:
            return inner.update(grads, state, params, **extra_args)
        finally:
            _layers.CHECK_LEARNING_RATE.reset(token)

    return optax.GradientTransformationExtraArgs(tx.init, update)
