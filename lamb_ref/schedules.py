"""The paper's learning-rate schedules and batch-size scaling rules.

A schedule is a function ``count -> η`` of the number of steps already taken (0 at the first
step), as optax expects; it works on Python ints (NumPy maths, float result) and on traced
JAX integers (jnp maths), so the same schedule drives both backends.

* :func:`warmup_polynomial_decay` - linear warmup then η_t = η_0 (1 - t/T)^p (paper §4.1,
  p = 1 for BERT; p = 0.5 in the authors' MNIST scripts).
* :class:`ScalingRule` - the square-root learning-rate rule with linear-epoch warmup that the
  paper applies untuned across batch sizes (Tables 4 and 5).
* :func:`mixed_batch_schedule` - stage-wise training (BERT 64K → 32K) with re-warmup after the
  batch-size decrease (§4.2), or without it for the ablation.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from lamb_ref import _checks

Schedule = Callable[[Any], Any]


def _xp(count: Any):
    if isinstance(count, int | float | np.integer | np.floating | np.ndarray):
        return np
    import jax.numpy as jnp

    return jnp


def _out(value: Any, count: Any) -> Any:
    return float(value) if _xp(count) is np and np.ndim(value) == 0 else value


def _check_steps(name: str, value: Any, minimum: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < minimum:
        raise _checks.HyperparameterError(
            f"{name}={value!r} is invalid: expected an integer >= {minimum}"
        )


def warmup_polynomial_decay(
    peak_value: float,
    total_steps: int,
    warmup_steps: int = 0,
    power: float = 1.0,
    end_value: float = 0.0,
    decay_from: str = "start",
) -> Schedule:
    """Linear warmup from 0, then polynomial decay to ``end_value`` (paper §4.1).

        t < w:   η_t = η_0 · t / w
        t ≥ w:   η_t = (η_0 - η_end) (1 - τ)^p + η_end,   τ = min(t/T, 1)     (decay_from="start")
                                                          τ = min((t-w)/(T-w), 1) ("warmup_end")

    ``decay_from="start"`` is the BERT/authors' code (the decay clock runs from step 0 and the
    warmup overrides it); ``"warmup_end"`` starts the decay at η_0 when the warmup ends.

    Args:
        peak_value: η_0 ≥ 0.  total_steps: T ≥ 1.  warmup_steps: w in [0, T].
        power: p > 0 (1 for BERT, 0.5 in the MNIST scripts).  end_value: η_end ≥ 0.
    """
    _checks.real("peak_value", peak_value, low=0.0)
    _check_steps("total_steps", total_steps, 1)
    _check_steps("warmup_steps", warmup_steps, 0)
    if warmup_steps > total_steps:
        raise _checks.HyperparameterError(
            f"warmup_steps={warmup_steps!r} is invalid: must be <= total_steps={total_steps}"
        )
    _checks.positive("power", power)
    _checks.real("end_value", end_value, low=0.0)
    _checks.choice("decay_from", decay_from, ("start", "warmup_end"))
    w, T = warmup_steps, total_steps

    def schedule(count: Any) -> Any:
        xp = _xp(count)
        t = count + 0.0
        if decay_from == "start" or T == w:
            tau = xp.clip(t / T, 0.0, 1.0)
        else:
            tau = xp.clip((t - w) / (T - w), 0.0, 1.0)
        decayed = (peak_value - end_value) * (1.0 - tau) ** power + end_value
        if w == 0:
            return _out(decayed, count)
        return _out(xp.where(t < w, peak_value * t / w, decayed), count)

    return schedule


@dataclass(frozen=True)
class ScalingRule:
    """Square-root learning-rate scaling with linear-epoch warmup (paper Tables 4 and 5).

        η(B) = η_base √(B / B_base),     warmup(B) = warmup_base · B / B_base

    ``warmup`` is in whatever unit ``base_warmup`` is (epochs for ImageNet; for BERT the
    fraction of a fixed-epoch run, 1/320 at 512 - a constant number of warmup *steps*).
    """

    base_batch: int
    base_learning_rate: float
    base_warmup: float

    def __post_init__(self) -> None:
        _check_steps("base_batch", self.base_batch, 1)
        _checks.positive("base_learning_rate", self.base_learning_rate)
        _checks.nonnegative("base_warmup", self.base_warmup)

    def learning_rate(self, batch: int) -> float:
        _check_steps("batch", batch, 1)
        return self.base_learning_rate * math.sqrt(batch / self.base_batch)

    def warmup(self, batch: int) -> float:
        _check_steps("batch", batch, 1)
        return self.base_warmup * batch / self.base_batch


# Recalled, not confirmed, values (the paper's Tables 4 and 5; see docs/paper.md): Table 4 (BERT,
# LR 5/(2^3·10^3) and warmup ratio 1/320 at 512) and Table 5 (ResNet-50, LR 4/(2^3·100) and
# 0.3125 warmup epochs at 512).
BERT_TABLE4 = ScalingRule(base_batch=512, base_learning_rate=5 / (2**3 * 1e3), base_warmup=1 / 320)
IMAGENET_TABLE5 = ScalingRule(
    base_batch=512, base_learning_rate=4 / (2**3 * 100), base_warmup=0.3125
)


@dataclass(frozen=True)
class Stage:
    """One stage of mixed-batch training: its length, peak learning rate and warmup."""

    steps: int
    peak_value: float
    warmup_steps: int


def mixed_batch_schedule(
    stages: Sequence[Stage], power: float = 1.0, rewarmup: bool = True
) -> Schedule:
    """Stage-wise schedule for mixed-batch training (paper §4.2, BERT 64K then 32K).

    Each stage s covers steps [S_s, S_s + n_s). Within it, with local step c = t - S_s:

        rewarmup=True:   η = warmup_polynomial_decay(η_s, n_s, w_s, p)(c)   (ramp from 0 again)
        rewarmup=False:  only the first stage warms up; later stages must have
                         ``warmup_steps=0`` and start at their peak η_s (the ablation).

    Steps past the last stage keep the last stage's end value (0).
    """
    if not stages:
        raise _checks.HyperparameterError("stages=[] is invalid: need at least one Stage")
    _checks.flag("rewarmup", rewarmup)
    if not rewarmup:
        for k, st in enumerate(stages[1:], start=1):
            if st.warmup_steps != 0:
                raise _checks.HyperparameterError(
                    f"stages[{k}].warmup_steps={st.warmup_steps!r} is invalid with "
                    "rewarmup=False: a stage after the first has no warmup; set it to 0"
                )
    parts = [
        warmup_polynomial_decay(st.peak_value, st.steps, st.warmup_steps, power) for st in stages
    ]
    starts = np.cumsum([0] + [st.steps for st in stages])

    def schedule(count: Any) -> Any:
        xp = _xp(count)
        value = parts[-1](count - int(starts[-2]))
        for k in range(len(stages) - 2, -1, -1):
            value = xp.where(count < int(starts[k + 1]), parts[k](count - int(starts[k])), value)
        return _out(value, count)

    return schedule
