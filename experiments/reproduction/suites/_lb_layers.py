"""Shared runs of the per-layer training suites (``lb_trust_ratios``, ``lb_appendix_variants``,
``lb_smoothness``): the networks, their base LAMB/LARS configurations and profile sizes.

The three suites train the same small networks with the same base settings, so runs that differ
only in traced fields (learning rate, warmup, seed) share one compiled step (the paper's common
setup of Section 4 in miniature: warmup, then η_t = η_0(1 − t/T); weight decay 0.01 with the
authors' exclusions of biases and LayerNorm from decay and from the trust ratio):

* ``digits/mlp``, ``digits/cnn``: scikit-learn's 8x8 digits at B = 256 (a sixth of the 1437
  training images: a large batch for this data set), 10 epochs in the default profile;
* ``mlm/bert``: the tiny BERT on the masked-LM corpus at B = 64, 2 epochs (it stays near the
  unigram plateau at this budget, so it is judged by its loss, not its accuracy).

Peak learning rates (one per network and optimizer) come from a coarse grid {0.02, 0.05, 0.1,
0.2} (digits) and {0.005 … 0.04} / {0.02 … 0.2} (BERT LAMB / LARS), 1-3 seeds, run once while
writing these suites: the best final accuracy (digits) or eval loss (BERT). They are settings for
the runs whose layers are measured, not tuned for any claim.
"""

from __future__ import annotations

import dataclasses

from experiments.reproduction.protocol import Context, Grid
from experiments.training import TrainConfig

NETS = ("digits/mlp", "digits/cnn", "mlm/bert")
PEAK_LR = {
    ("digits", "lamb"): 0.1,
    ("digits", "lars"): 0.2,
    ("mlm", "lamb"): 0.02,
    ("mlm", "lars"): 0.1,
}
WEIGHT_DECAY = 0.01
DIGITS_BATCH, BERT_BATCH = 256, 64
TAG = "lb_layers"  # run_configs cache tag shared by the three suites (same config → same run)


def split(net: str) -> tuple[str, str]:
    """``"digits/mlp"`` → (task, model); ValueError for an unknown name."""
    if net not in NETS:
        raise ValueError(f"net={net!r} is invalid: expected one of {NETS}")
    task, model = net.split("/")
    return task, model


def net_name(task: str, model: str) -> str:
    return f"{task}/{model}"


# The base configuration's sizes per profile: seeds, epochs per task, evaluations per run.
GRID = Grid(
    smoke={"seeds": 2, "epochs_digits": 3.0, "epochs_mlm": 1.0, "n_evals": 4},
    default={"seeds": 3, "epochs_digits": 10.0, "epochs_mlm": 2.0, "n_evals": 8},
    full={"seeds": 5, "epochs_digits": 30.0, "epochs_mlm": 8.0, "n_evals": 16},
)


def grid_with(**extra: dict) -> Grid:
    """A suite's :class:`Grid`: :data:`GRID` with the suite's own sizes per profile added (or
    replacing a shared name the suite does not use through :func:`base`)."""
    return Grid(**{p: {**getattr(GRID, p), **extra[p]} for p in ("smoke", "default", "full")})


def seeds(ctx: Context) -> tuple[int, ...]:
    return tuple(range(ctx.sizes(GRID).seeds))


def epochs(ctx: Context, task: str) -> float:
    sizes = ctx.sizes(GRID)
    return sizes.epochs_mlm if task == "mlm" else sizes.epochs_digits


def base(ctx: Context, net: str, optimizer: str, seed: int, **changes) -> TrainConfig:
    """The suites' configuration of ``net`` trained by ``optimizer`` (lamb or lars) at its peak
    learning rate; ``changes`` are applied with ``dataclasses.replace`` semantics."""
    task, model = split(net)
    ep = epochs(ctx, task)
    config = TrainConfig(
        task=task,
        model=model,
        optimizer=optimizer,
        hyper={"weight_decay": WEIGHT_DECAY},
        learning_rate=PEAK_LR.get((task, optimizer), PEAK_LR[(task, "lamb")]),
        batch_size=BERT_BATCH if task == "mlm" else DIGITS_BATCH,
        epochs=ep,
        warmup_epochs=ep / 10,  # a tenth of the budget, as the paper's 32K BERT row (Table 4)
        seed=seed,
        n_evals=ctx.sizes(GRID).n_evals,
    )
    return dataclasses.replace(config, **changes) if changes else config
