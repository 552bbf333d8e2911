"""The paper's schedules: closed forms, both backends, and the scaling rules' derived facts."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from lamb_ref import HyperparameterError
from lamb_ref.schedules import (
    BERT_TABLE4,
    IMAGENET_TABLE5,
    ScalingRule,
    Stage,
    mixed_batch_schedule,
    warmup_polynomial_decay,
)


def test_warmup_then_linear_decay_closed_form():
    s = warmup_polynomial_decay(1.0, total_steps=100, warmup_steps=10)
    assert s(0) == 0.0 and s(5) == pytest.approx(0.5)
    for t in (10, 40, 99, 100, 150):
        assert s(t) == pytest.approx(max(1 - t / 100, 0.0))


def test_decay_from_warmup_end_and_power_half():
    s = warmup_polynomial_decay(
        2.0, total_steps=110, warmup_steps=10, power=0.5, decay_from="warmup_end", end_value=0.1
    )
    assert s(10) == pytest.approx(2.0)
    assert s(60) == pytest.approx(1.9 * 0.5**0.5 + 0.1)
    assert s(110) == pytest.approx(0.1)


def test_schedule_is_jax_traceable_and_agrees():
    s = warmup_polynomial_decay(1.0, total_steps=50, warmup_steps=7, power=2.0)
    counts = np.arange(0, 60)
    got = jax.jit(jax.vmap(s))(jnp.asarray(counts, jnp.int32))
    np.testing.assert_allclose(np.asarray(got), [s(int(c)) for c in counts], rtol=1e-12)


def test_square_root_rule_and_linear_epoch_warmup():
    """Derived from the rule (Table 4 [D]): ×√2 LR and ×2 warmup per batch doubling;
    for BERT the warmup is a constant 3125 steps at a fixed epoch budget (1M steps at 512)."""
    for b in (512, 1024, 4096, 16384):
        assert BERT_TABLE4.learning_rate(2 * b) == pytest.approx(
            np.sqrt(2) * BERT_TABLE4.learning_rate(b)
        )
        assert IMAGENET_TABLE5.warmup(2 * b) == pytest.approx(2 * IMAGENET_TABLE5.warmup(b))
        steps = 1_000_000 * 512 // b
        assert BERT_TABLE4.warmup(b) * steps == pytest.approx(3125)
    assert BERT_TABLE4.learning_rate(32768) == pytest.approx(5e-3)
    assert IMAGENET_TABLE5.warmup(32768) == pytest.approx(20.0)
    with pytest.raises(HyperparameterError, match=r"batch=0 is invalid"):
        ScalingRule(512, 0.1, 1.0).learning_rate(0)


def test_mixed_batch_rewarmup():
    stages = [
        Stage(steps=90, peak_value=1.0, warmup_steps=10),
        Stage(steps=10, peak_value=0.5, warmup_steps=5),
    ]
    s = mixed_batch_schedule(stages)
    assert s(89) == pytest.approx(1 / 90)
    assert s(90) == 0.0  # ramps from zero again
    assert s(92) == pytest.approx(0.5 * 2 / 5)
    assert s(95) == pytest.approx(0.5 * (1 - 5 / 10))
    assert s(100) == 0.0
    no = mixed_batch_schedule([stages[0], Stage(10, 0.5, 0)], rewarmup=False)
    assert no(90) == pytest.approx(0.5)  # jumps straight to the second peak
    got = jax.jit(jax.vmap(s))(jnp.arange(0, 101, dtype=jnp.int32))
    np.testing.assert_allclose(np.asarray(got), [s(t) for t in range(101)], rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize(
    "kwargs, pattern",
    [
        (dict(peak_value=-1.0, total_steps=10), r"peak_value=-1\.0 is invalid"),
        (
            dict(peak_value=1.0, total_steps=0),
            r"total_steps=0 is invalid: expected an integer >= 1",
        ),
        (
            dict(peak_value=1.0, total_steps=10, warmup_steps=11),
            r"warmup_steps=11 is invalid: must be <= total_steps=10",
        ),
        (dict(peak_value=1.0, total_steps=10, power=0.0), r"power=0\.0 is invalid"),
        (dict(peak_value=1.0, total_steps=10, decay_from="end"), r"decay_from='end' is invalid"),
    ],
)
def test_bad_schedule_arguments(kwargs, pattern):
    with pytest.raises(HyperparameterError, match=pattern):
        warmup_polynomial_decay(**kwargs)


def test_rewarmup_false_refuses_a_warmup_it_would_ignore():
    with pytest.raises(
        HyperparameterError, match=r"stages\[1\]\.warmup_steps=5 is invalid with rewarmup=False"
    ):
        mixed_batch_schedule([Stage(10, 1.0, 2), Stage(10, 0.5, 5)], rewarmup=False)
