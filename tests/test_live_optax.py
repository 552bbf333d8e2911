"""Against live optax on random problems: lamb, lars (optax_lars variant), adam, adamw, sgd,
momentum, adagrad - both backends."""

import numpy as np
import optax
import pytest

import lamb_ref
from lamb_ref import reference
from lamb_ref.schedules import warmup_polynomial_decay
from tests.helpers import max_abs_diff, noisy_quadratic_grad, random_tree, run
from tests.tolerances import LIVE_F64_ABS

SCHEDULE = warmup_polynomial_decay(0.05, total_steps=12, warmup_steps=4)


def _wd_mask(params):
    return {
        "scale": False,
        "dense": {"kernel": True, "bias": False},
        "conv": {"kernel": True},
        "layers": [True, True],
    }


CASES = [
    (
        "lamb",
        lambda: optax.lamb(0.02, weight_decay=0.01),
        lambda m: m.lamb(0.02, weight_decay=0.01),
    ),
    (
        "lamb_mask",
        lambda: optax.lamb(0.02, b1=0.8, b2=0.99, eps=1e-4, weight_decay=0.1, mask=_wd_mask),
        lambda m: m.lamb(
            0.02, b1=0.8, b2=0.99, eps=1e-4, weight_decay=0.1, weight_decay_mask=_wd_mask
        ),
    ),
    (
        "optax_variant",
        lambda: optax.lamb(0.02, weight_decay=0.1, mask=_wd_mask),
        lambda m: m.variants.make(
            "optax",
            learning_rate=0.02,
            weight_decay=0.1,
            exclude_from_weight_decay=["bias", "scale"],
        ),
    ),
    (
        "lars",
        lambda: optax.lars(0.1, weight_decay=0.01, trust_coefficient=0.01, eps=1e-9),
        lambda m: m.variants.make(
            "optax_lars", learning_rate=0.1, weight_decay=0.01, trust_coefficient=0.01, eps=1e-9
        ),
    ),
    (
        "lars_nesterov_masks",
        lambda: optax.lars(
            0.1,
            weight_decay=0.01,
            momentum=0.8,
            nesterov=True,
            weight_decay_mask=_wd_mask,
            trust_ratio_mask=_wd_mask,
        ),
        lambda m: m.variants.make(
            "optax_lars",
            learning_rate=0.1,
            weight_decay=0.01,
            momentum=0.8,
            nesterov=True,
            exclude_from_weight_decay=["bias", "scale"],
            exclude_from_layer_adaptation=["bias", "scale"],
        ),
    ),
    (
        "timm_equals_clip_chain",
        lambda: optax.chain(optax.clip_by_global_norm(1.0), optax.lamb(0.02, weight_decay=0.01)),
        lambda m: m.variants.make("timm", learning_rate=0.02, weight_decay=0.01, max_grad_norm=1.0),
    ),
    ("adam", lambda: optax.adam(0.01), lambda m: m.adam(0.01)),
    (
        "adamw",
        lambda: optax.adamw(0.01, weight_decay=0.1, mask=_wd_mask),
        lambda m: m.adamw(0.01, weight_decay=0.1, weight_decay_mask=_wd_mask),
    ),
    ("sgd", lambda: optax.sgd(0.1), lambda m: m.sgd(0.1)),
    ("momentum", lambda: optax.sgd(0.1, momentum=0.9), lambda m: m.momentum(0.1, 0.9)),
    (
        "nesterov",
        lambda: optax.sgd(0.1, momentum=0.9, nesterov=True),
        lambda m: m.momentum(0.1, 0.9, nesterov=True),
    ),
    ("adagrad", lambda: optax.adagrad(0.1), lambda m: m.adagrad(0.1)),
    # Same schedule on both sides: checks the step-count convention (schedule(count), count = 0
    # at the first step). optax's own schedules evaluate in float32, which alone costs 1e-8.
    (
        "lamb_schedule",
        lambda: optax.lamb(SCHEDULE, weight_decay=0.01),
        lambda m: m.lamb(SCHEDULE, weight_decay=0.01),
    ),
]


@pytest.mark.parametrize("backend", ["numpy", "jax"])
@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_against_live_optax(case, backend):
    _, make_optax, make_ours = case
    params = random_tree(np.random.default_rng(10))
    grad = noisy_quadratic_grad(11, scale=3.0)  # scale 3: the global norm exceeds the clip
    theirs = run(make_optax(), params, grad, 12, "jax")
    ours = run(make_ours(reference if backend == "numpy" else lamb_ref), params, grad, 12, backend)
    assert max_abs_diff(theirs, ours) <= LIVE_F64_ABS
