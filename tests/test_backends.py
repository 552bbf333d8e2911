"""NumPy reference vs JAX on random pytrees, every optimizer and every named variant."""

import numpy as np
import pytest

import lamb_ref
from lamb_ref import reference
from tests.helpers import (
    OPTIMIZERS,
    VARIANT_HP,
    backend_pair,
    factory,
    max_abs_diff,
    noisy_quadratic_grad,
    random_tree,
    run,
    variant_hp,
)
from tests.tolerances import BACKENDS_F32_ABS, BACKENDS_F64_ABS


@pytest.mark.parametrize("key", list(OPTIMIZERS))
def test_optimizers_agree_float64(key):
    ref, fast = backend_pair(factory(key), OPTIMIZERS[key])
    params = random_tree(np.random.default_rng(0))
    grad = noisy_quadratic_grad(1)
    a = run(ref, params, grad, 6, "numpy")
    b = run(fast, params, grad, 6, "jax")
    assert max_abs_diff(a, b) <= BACKENDS_F64_ABS


@pytest.mark.parametrize("name", lamb_ref.variants.NAMES)
def test_variants_agree_float64(name):
    hp = variant_hp(name)
    ref = reference.variants.make(name, **hp)
    fast = lamb_ref.variants.make(name, **hp)
    params = random_tree(np.random.default_rng(2))
    grad = noisy_quadratic_grad(3, scale=2.0)
    assert (
        max_abs_diff(run(ref, params, grad, 5, "numpy"), run(fast, params, grad, 5, "jax"))
        <= BACKENDS_F64_ABS
    )


def test_assigned_vocabulary_covers_all_variants():
    assert set(VARIANT_HP) == set(lamb_ref.variants.NAMES)


@pytest.mark.parametrize("key", ["lamb", "lars", "nlamb", "adam", "adamw", "momentum_nesterov"])
def test_optimizers_agree_float32(key):
    ref, fast = backend_pair(factory(key), OPTIMIZERS[key])
    params = random_tree(np.random.default_rng(4), dtype=np.float32)
    grad = noisy_quadratic_grad(5)
    a = run(ref, params, grad, 5, "numpy")
    b = run(fast, params, grad, 5, "jax")
    for tree in (a[-1], b[-1]):
        assert all(
            np.asarray(v).dtype == np.float32
            for v in [tree["scale"], tree["dense"]["kernel"], tree["layers"][0]]
        )
    assert max_abs_diff(a, b) <= BACKENDS_F32_ABS
    # and float32 stays close to the float64 run (the float32 tolerance is not vacuous)
    a64 = run(ref, random_tree(np.random.default_rng(4)), grad, 5, "numpy")
    assert max_abs_diff(a, a64) <= BACKENDS_F32_ABS


def test_tolerance_is_not_vacuous():
    """A one-ulp-scale change of a hyperparameter is visible above BACKENDS_F64_ABS."""
    params = random_tree(np.random.default_rng(0))
    grad = noisy_quadratic_grad(1)
    a = run(reference.lamb(0.02, weight_decay=0.01), params, grad, 3, "numpy")
    b = run(reference.lamb(0.02, weight_decay=0.0101), params, grad, 3, "numpy")
    assert max_abs_diff(a, b) > 10 * BACKENDS_F64_ABS
