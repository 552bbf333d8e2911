"""Learning-rate plans for training runs, built on :mod:`lamb_ref.schedules`.

The schedule shapes are ``lamb_ref``'s (one implementation, tested against closed forms there):

* warmup + polynomial decay (paper §4.1; power 1 for BERT):
  η_t = η_0 t/w for t < w, then η_0 (1 - t/T)^p — :func:`lamb_ref.schedules.warmup_polynomial_decay`
  (decay clock from step 0, as the BERT/authors' code);
* mixed-batch training with or without re-warmup (paper §4.2):
  :func:`lamb_ref.schedules.mixed_batch_schedule` — with ``rewarmup`` each stage s ramps
  from 0 over its own w_s steps and decays over its own n_s steps; without, stage s > 1 starts
  at its peak η_s (no ramp) and decays;
* warmup + step decay (Goyal et al. 2017, the recipe of the paper's Table 3): η_t = η_0 t/w for
  t < w, then η_0 · γ^k where k counts the milestones ⌊m·T⌋ ≤ t, m ∈ :data:`STEP_MILESTONES`
  (30, 60 and 80 of 90 epochs), γ = :data:`STEP_FACTOR`;
* the batch-size rules of the paper's Section 4.3 (Tables 4-5): square-root learning-rate
  scaling η(B) = η_base √(B/B_base) and linear-epoch warmup w_epochs(B) = w_base · B/B_base —
  :class:`lamb_ref.schedules.ScalingRule`. At a fixed epoch budget the warmup is then a fixed
  number of *steps* (BERT: 3125 at every batch size, Table 4).

This module adds what a run needs: epochs → steps (steps = max(1, round(epochs·N/B))),
:func:`scale_to_batch` (a config rescaled to another batch size) and :func:`learning_rates`, the
per-step η array the loop feeds to the traced optimizer.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np

from experiments.training.config import BatchStage, TrainConfig
from lamb_ref.schedules import ScalingRule, Stage, mixed_batch_schedule, warmup_polynomial_decay

LR_RULES = ("sqrt", "linear", "none")
# Goyal et al. 2017 (ImageNet in 1 hour): η ÷ 10 at epochs 30, 60 and 80 of 90.
STEP_MILESTONES = (1 / 3, 2 / 3, 8 / 9)
STEP_FACTOR = 0.1


@dataclass(frozen=True)
class StagePlan:
    """A stage in steps: batch size, steps, warmup steps, peak η, and its first global step."""

    batch_size: int
    steps: int
    warmup_steps: int
    peak_lr: float
    start: int


def steps_for(epochs: float, n_train: int, batch_size: int) -> int:
    """T = max(1, round(epochs · N / B)): the steps of a fixed epoch budget (paper Table 1)."""
    if not epochs > 0:
        raise ValueError(f"epochs={epochs!r} is invalid: expected > 0")
    if not (isinstance(batch_size, int) and batch_size >= 1):
        raise ValueError(f"batch_size={batch_size!r} is invalid: expected an integer >= 1")
    return max(1, round(epochs * n_train / batch_size))


def plan(config: TrainConfig, n_train: int) -> tuple[StagePlan, ...]:
    """The run's stages in steps (``n_train`` examples per epoch)."""
    out, start = [], 0
    for k, st in enumerate(config.batch_stages()):
        steps = steps_for(st.epochs, n_train, st.batch_size)
        warm = round(st.warmup_epochs * n_train / st.batch_size)
        if warm > steps:
            where = "warmup_epochs" if not config.stages else f"stages[{k}].warmup_epochs"
            raise ValueError(
                f"{where}={st.warmup_epochs!r} is invalid: {warm} warmup steps exceed the "
                f"stage's {steps} steps (epochs={st.epochs})"
            )
        out.append(StagePlan(st.batch_size, steps, warm, float(st.learning_rate), start))
        start += steps
    return tuple(out)


def learning_rates(config: TrainConfig, n_train: int) -> np.ndarray:
    """η_t for every step t = 0 … T-1 of the run (float32), from ``lamb_ref.schedules``."""
    stages = plan(config, n_train)
    t = np.arange(stages[-1].start + stages[-1].steps)
    if config.schedule == "constant":
        out = np.empty(len(t))
        for s in stages:  # (without rewarmup, the config already forces later warmups to 0)
            local = t[s.start : s.start + s.steps] - s.start
            warm = s.warmup_steps
            out[s.start : s.start + s.steps] = s.peak_lr * (
                np.minimum(local / warm, 1.0) if warm else 1.0
            )
        return out.astype(np.float32)
    if config.schedule == "step":
        (s,) = stages
        warm = s.warmup_steps
        ramp = np.minimum(t / warm, 1.0) if warm else np.ones(len(t))
        k = sum((t >= int(m * s.steps)).astype(int) for m in STEP_MILESTONES)
        out = s.peak_lr * np.where(t < warm, ramp, STEP_FACTOR**k)
        return out.astype(np.float32)
    if len(stages) == 1:
        s = stages[0]
        fn = warmup_polynomial_decay(s.peak_lr, s.steps, s.warmup_steps, config.power)
    else:
        fn = mixed_batch_schedule(
            [Stage(s.steps, s.peak_lr, s.warmup_steps) for s in stages],
            power=config.power,
            rewarmup=config.rewarmup,
        )
    return np.asarray(fn(t), np.float32)


def scaling_rule(base_batch: int, base_learning_rate: float, base_warmup_epochs: float = 0.0):
    """The paper's rule (Tables 4-5): η(B) = η_base √(B/B_base), warmup ∝ B (in epochs)."""
    return ScalingRule(base_batch, base_learning_rate, base_warmup_epochs)


def scale_to_batch(
    config: TrainConfig, batch_size: int, rule: ScalingRule, lr_rule: str = "sqrt"
) -> TrainConfig:
    """``config`` at batch ``batch_size``, untuned: η and warmup from ``rule`` (paper §4.3).

    Args:
        config: a single-stage config (its epoch budget is kept: fixed epochs, fewer steps).
        batch_size: the new B.
        rule: base batch, base η and base warmup epochs (:func:`scaling_rule`).
        lr_rule: "sqrt" (the paper's, η_base √(B/B_base)), "linear" (Goyal et al.,
            η_base B/B_base) or "none" (η_base); the warmup is linear-epoch in all three.
    """
    if lr_rule not in LR_RULES:
        raise ValueError(f"lr_rule={lr_rule!r} is invalid: expected one of {LR_RULES}")
    if config.stages:
        raise ValueError(
            f"config.stages={config.stages!r} is invalid here: scale_to_batch rescales a "
            "single-stage config; build BatchStage(…) lists with scaling_rule() instead"
        )
    ratio = batch_size / rule.base_batch
    lr = {
        "sqrt": rule.learning_rate(batch_size),
        "linear": rule.base_learning_rate * ratio,
        "none": rule.base_learning_rate,
    }[lr_rule]
    return dataclasses.replace(
        config, batch_size=batch_size, learning_rate=lr, warmup_epochs=rule.warmup(batch_size)
    )


def mixed_batch_stages(
    rule: ScalingRule,
    batches: tuple[int, ...],
    epochs: tuple[float, ...],
    rewarmup: bool = True,
) -> tuple[BatchStage, ...]:
    """Stages at the given batch sizes with the rule's η(B) and linear-epoch warmup each
    (paper §4.2: 64K for 9/10 of the epochs, then 32K with re-warmup). With
    ``rewarmup=False`` only the first stage warms up (pass the same flag to the config)."""
    if len(batches) != len(epochs) or not batches:
        raise ValueError(
            f"batches={batches!r}, epochs={epochs!r} are invalid: need equal, non-zero lengths"
        )
    return tuple(
        BatchStage(b, e, rule.learning_rate(b), rule.warmup(b) if (k == 0 or rewarmup) else 0.0)
        for k, (b, e) in enumerate(zip(batches, epochs, strict=True))
    )
