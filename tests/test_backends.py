"""NumPy reference vs JAX on random pytrees, every optimizer and every named variant."""

import numpy as np
import pytest

import lamb_ref
from lamb_ref import reference
from lamb_ref.schedules import warmup_polynomial_decay
from tests.helpers import max_abs_diff, noisy_quadratic_grad, random_tree, run
from tests.tolerances import BACKENDS_F32_ABS, BACKENDS_F64_ABS

SCHEDULE = warmup_polynomial_decay(0.05, total_steps=6, warmup_steps=2)

OPTIMIZERS = {
    "lamb": dict(learning_rate=0.02, weight_decay=0.01),
    "lamb_schedule_phi": dict(learning_rate=SCHEDULE, weight_decay=0.01, phi=(0.5, 2.0)),
    "lamb_v3_l1": dict(learning_rate=0.02, bias_correction=False, trust_norm="l1"),
    "lamb_linf_masks": dict(
        learning_rate=0.02,
        weight_decay=0.1,
        trust_norm="linf",
        weight_decay_mask=lamb_ref.masks.exclude("bias"),
        trust_ratio_mask=["kernel"],
    ),
    "lars": dict(learning_rate=0.1, momentum=0.9, weight_decay=0.01),
    "lars_phi_schedule": dict(learning_rate=SCHEDULE, momentum=0.5, phi=(0.1, 1.0)),
    "nlamb": dict(learning_rate=0.02, weight_decay=0.01),
    # Nadam's momentum schedule μ_t = β(1 − ½·0.96^{t/250}) (Dozat 2016)
    "nlamb_schedule": dict(
        learning_rate=0.02, b1_schedule=lambda t: 0.9 * (1 - 0.5 * 0.96 ** (t / 250))
    ),
    "nnlamb": dict(learning_rate=0.02, weight_decay=0.01),
    "sgd": dict(learning_rate=0.1, weight_decay=0.01),
    "momentum": dict(learning_rate=0.1, momentum=0.9),
    "momentum_nesterov": dict(learning_rate=0.1, momentum=0.9, nesterov=True, weight_decay=0.01),
    "adam": dict(learning_rate=0.01),
    "adamw": dict(learning_rate=0.01, weight_decay=0.1, weight_decay_mask=["kernel"]),
    "adagrad": dict(learning_rate=0.1),
}


def _factory(key):
    """The optimizer a case id names: the part before the first underscore."""
    return key.split("_")[0]


VARIANT_HP = {
    "lamb": dict(weight_decay=0.01, exclude_from_layer_adaptation=["bias"]),
    "lamb_v3": dict(weight_decay=0.01, exclude_from_weight_decay=["bias"]),
    "tfa": dict(weight_decay=0.01, exclude_from_weight_decay=["bias"]),
    "optax": dict(weight_decay=0.01, exclude_from_weight_decay=["scale"]),
    "timm": dict(max_grad_norm=1.0, exclude_from_weight_decay=["bias"]),
    "timm_lambc": dict(always_adapt=True),
    "timm_lambw": dict(weight_decay=0.05),
    "torch_optimizer": dict(weight_decay=0.01, clamp_value=1.5),
    "torch_optimizer_debias": dict(weight_decay=0.01),
    "keras3": dict(weight_decay=0.01, exclude_from_weight_decay=["bias"]),
    "lars": dict(weight_decay=0.01, phi=(0.1, 3.0)),
    "lars_2017": dict(momentum=0.9, weight_decay=0.01, nesterov=True, trust_coefficient=0.01),
    "optax_lars": dict(weight_decay=0.01, nesterov=True, exclude_from_layer_adaptation=["bias"]),
}


def _pair(name, hp):
    return getattr(reference, name)(**hp), getattr(lamb_ref, name)(**hp)


@pytest.mark.parametrize("key", list(OPTIMIZERS))
def test_optimizers_agree_float64(key):
    ref, fast = _pair(_factory(key), OPTIMIZERS[key])
    params = random_tree(np.random.default_rng(0))
    grad = noisy_quadratic_grad(1)
    a = run(ref, params, grad, 6, "numpy")
    b = run(fast, params, grad, 6, "jax")
    assert max_abs_diff(a, b) <= BACKENDS_F64_ABS


@pytest.mark.parametrize("name", lamb_ref.variants.NAMES)
def test_variants_agree_float64(name):
    lr = 0.1 if "lars" in name else 0.02
    hp = dict(learning_rate=lr, **VARIANT_HP[name])
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
    ref, fast = _pair(_factory(key), OPTIMIZERS[key])
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
