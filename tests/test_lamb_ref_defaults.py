"""Every public JAX optimizer and every named variant under JAX's default precision.

A user who never touches ``jax.config`` runs with 64-bit types off: float32 arrays, int32 step
counts. Each optimizer runs a few steps on a small float32 pytree there and must match the NumPy
reference run on the same float32 pytree, step by step, within float32 rounding; its outputs
must stay float32. (``tests/test_backends.py`` does the same comparisons in float64.)
"""

from __future__ import annotations

import inspect

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import lamb_ref
from lamb_ref import reference
from tests.helpers import (
    OPTIMIZERS,
    backend_pair,
    factory,
    max_abs_diff,
    noisy_quadratic_grad,
    random_tree,
    run,
    to_jax,
    variant_hp,
)
from tests.tolerances import JAX_DEFAULTS_F32_REL_PER_STEP

pytestmark = pytest.mark.jax_defaults

STEPS = 5
OPTIMIZER_MODULES = ("lamb_ref.lamb", "lamb_ref.lars", "lamb_ref.nesterov", "lamb_ref.baselines")


def _exported_optimizers() -> set[str]:
    """The optimizer factories ``lamb_ref`` exports (lamb, lars, nlamb, …, adam, sgd, …)."""
    return {
        name
        for name in lamb_ref.__all__
        if inspect.isfunction(obj := getattr(lamb_ref, name))
        and obj.__module__ in OPTIMIZER_MODULES
    }


def _assert_jax_defaults() -> None:
    assert jax.config.jax_enable_x64 is False
    assert jnp.asarray(1.0).dtype == jnp.float32
    assert jnp.asarray(1).dtype == jnp.int32


def _float_leaves(tree) -> list[np.ndarray]:
    leaves = [np.asarray(a) for a in jax.tree.leaves(tree)]
    return [a for a in leaves if np.issubdtype(a.dtype, np.floating)]


def _assert_float32(trajectory) -> None:
    for params in trajectory:
        dtypes = {a.dtype for a in _float_leaves(params)}
        assert dtypes == {np.dtype(np.float32)}, dtypes


def _compare(ref, tx, params, grad) -> None:
    """Run both backends from float32 ``params``; JAX's trajectory is float32 and matches."""
    _assert_jax_defaults()
    a = run(ref, params, grad, STEPS, "numpy")
    b = run(tx, params, grad, STEPS, "jax")
    _assert_float32(a)
    _assert_float32(b)
    for t, (x, y) in enumerate(zip(a, b, strict=True), start=1):
        scale = max(1.0, max(float(np.max(np.abs(v))) for v in _float_leaves(x)))
        assert max_abs_diff(x, y) <= JAX_DEFAULTS_F32_REL_PER_STEP * t * scale, t
    # the updates and the state the JAX optimizer returns are float32 too
    jparams = to_jax(params)
    updates, state = tx.update(to_jax(grad(params, 0)), tx.init(jparams), jparams)
    dtypes = {a.dtype for a in _float_leaves((updates, state))}
    assert dtypes == {np.dtype(np.float32)}, dtypes


def test_runs_under_jax_defaults():
    _assert_jax_defaults()


def test_every_exported_optimizer_is_covered():
    exported = _exported_optimizers()
    assert {"lamb", "lars", "nlamb", "nnlamb", "adam", "adamw", "sgd", "momentum"} <= exported
    assert exported <= {factory(key) for key in OPTIMIZERS}


@pytest.mark.parametrize("key", list(OPTIMIZERS))
def test_optimizer_matches_reference_in_float32(key):
    ref, tx = backend_pair(factory(key), OPTIMIZERS[key])
    params = random_tree(np.random.default_rng(4), dtype=np.float32)
    _compare(ref, tx, params, noisy_quadratic_grad(5))


@pytest.mark.parametrize("name", lamb_ref.variants.NAMES)
def test_variant_matches_reference_in_float32(name):
    hp = variant_hp(name)
    ref, tx = reference.variants.make(name, **hp), lamb_ref.variants.make(name, **hp)
    params = random_tree(np.random.default_rng(2), dtype=np.float32)
    _compare(ref, tx, params, noisy_quadratic_grad(3, scale=2.0))


def test_tolerance_is_not_vacuous():
    """A 1% change of λ already exceeds the tolerance; a 10% change exceeds it tenfold."""
    params = random_tree(np.random.default_rng(4), dtype=np.float32)
    grad = noisy_quadratic_grad(5)
    a = run(lamb_ref.lamb(0.02, weight_decay=0.01), params, grad, STEPS, "jax")
    scale = max(1.0, max(float(np.max(np.abs(v))) for v in _float_leaves(a[-1])))
    allowed = JAX_DEFAULTS_F32_REL_PER_STEP * STEPS * scale
    for wd, factor in ((0.0101, 1), (0.011, 10)):
        b = run(lamb_ref.lamb(0.02, weight_decay=wd), params, grad, STEPS, "jax")
        assert max_abs_diff(a, b) > factor * allowed
