"""Training schedules against closed forms: warmup + polynomial decay, √-scaling with
linear-epoch warmup (paper Tables 4-5), mixed-batch re-warmup (paper §4.2)."""

import math

import numpy as np
import pytest

from experiments.training import (
    BatchStage,
    TrainConfig,
    learning_rates,
    mixed_batch_stages,
    plan,
    scale_to_batch,
    scaling_rule,
    steps_for,
)

# The per-step η array is float32: relative rounding 6e-8, so 1e-6 relative.
LR_REL = 1e-6
N = 1000  # examples per epoch in these tests


def cfg(**kw):
    return TrainConfig(task="digits", model="mlp", **kw)


def test_steps_for_fixed_epoch_budget():
    assert steps_for(2.0, 1000, 64) == round(2000 / 64)
    assert steps_for(1.0, 1000, 4096) == 1  # at least one step
    with pytest.raises(ValueError, match="epochs=0 is invalid"):
        steps_for(0, 1000, 64)


def test_warmup_then_linear_decay_closed_form():
    # B = 10, 1 epoch of 1000 → T = 100; warmup 0.1 epoch → w = 10.
    lr = learning_rates(cfg(learning_rate=0.5, batch_size=10, epochs=1.0, warmup_epochs=0.1), N)
    assert lr.shape == (100,) and lr.dtype == np.float32
    expected = {0: 0.0, 5: 0.25, 10: 0.5 * (1 - 10 / 100), 50: 0.25, 99: 0.5 * (1 - 99 / 100)}
    for t, v in expected.items():
        assert lr[t] == pytest.approx(v, rel=LR_REL, abs=1e-9)
    half = learning_rates(cfg(learning_rate=0.5, batch_size=10, epochs=1.0, power=0.5), N)
    assert half[75] == pytest.approx(0.5 * math.sqrt(0.25), rel=LR_REL)
    const = learning_rates(
        cfg(learning_rate=0.5, batch_size=10, epochs=1.0, warmup_epochs=0.1, schedule="constant"),
        N,
    )
    assert const[5] == pytest.approx(0.25, rel=LR_REL) and const[10:].min() == const.max() == 0.5


def test_sqrt_scaling_and_linear_epoch_warmup():
    """Paper §4.3 / Tables 4-5: η(B) = η_0 √(B/B_0); warmup epochs ∝ B, so at a fixed epoch
    budget the warmup is the same number of steps at every batch size."""
    rule = scaling_rule(base_batch=16, base_learning_rate=0.01, base_warmup_epochs=0.08)
    base = cfg(epochs=4.0)
    warm_steps = []
    for b in (16, 32, 64, 128):
        c = scale_to_batch(base, b, rule)
        assert c.learning_rate == pytest.approx(0.01 * math.sqrt(b / 16))
        assert c.warmup_epochs == pytest.approx(0.08 * b / 16)
        (st,) = plan(c, N)
        assert st.steps == round(4 * N / b)
        warm_steps.append(st.warmup_steps)
        lr = learning_rates(c, N)
        assert lr[st.warmup_steps] == pytest.approx(
            c.learning_rate * (1 - st.warmup_steps / st.steps), rel=LR_REL
        )
    assert warm_steps == [5, 5, 5, 5]
    assert scale_to_batch(base, 64, rule, "linear").learning_rate == pytest.approx(0.04)
    with pytest.raises(ValueError, match="lr_rule='cubic' is invalid"):
        scale_to_batch(base, 64, rule, "cubic")


def test_mixed_batch_rewarmup_and_without():
    """Stage 1 at B=20 then stage 2 at B=10 (a decrease): with re-warmup η ramps from 0 again."""
    stages = (BatchStage(20, 1.0, 0.4, 0.2), BatchStage(10, 0.5, 0.2, 0.1))
    with_rw = learning_rates(cfg(stages=stages), N)
    s1, s2 = plan(cfg(stages=stages), N)
    assert (s1.steps, s1.warmup_steps, s2.start, s2.steps, s2.warmup_steps) == (50, 10, 50, 50, 10)
    assert with_rw[5] == pytest.approx(0.2, rel=LR_REL)
    assert with_rw[49] == pytest.approx(0.4 * (1 - 49 / 50), rel=LR_REL)
    assert with_rw[50] == 0.0
    assert with_rw[52] == pytest.approx(0.2 * 2 / 10, rel=LR_REL)
    assert with_rw[60] == pytest.approx(0.2 * (1 - 10 / 50), rel=LR_REL)
    flat = (stages[0], BatchStage(10, 0.5, 0.2, 0.0))
    without = learning_rates(cfg(stages=flat, rewarmup=False), N)
    np.testing.assert_array_equal(without[:50], with_rw[:50])
    assert without[50] == pytest.approx(0.2, rel=LR_REL)
    assert without[60] == pytest.approx(0.2 * (1 - 10 / 50), rel=LR_REL)
    with pytest.raises(ValueError, match=r"stages\[1\]\.warmup_epochs=0\.1 is invalid"):
        cfg(stages=stages, rewarmup=False)
    built = mixed_batch_stages(scaling_rule(10, 0.2, 0.1), (20, 10), (1.0, 0.5), rewarmup=False)
    assert built[0].learning_rate == pytest.approx(0.2 * math.sqrt(2))
    assert built[0].warmup_epochs == pytest.approx(0.2) and built[1].warmup_epochs == 0.0


def test_warmup_longer_than_run_is_an_error():
    with pytest.raises(ValueError, match=r"warmup_epochs=3\.0 is invalid"):
        plan(cfg(epochs=1.0, warmup_epochs=3.0), N)
