"""What a training run returns: tidy tables, final metrics, parameters and provenance.

Tables (pandas, one row per observation, with the run's parameter columns repeated so tables of
many runs concatenate):

* ``history`` - one row per evaluation point: ``step, epoch, stage, batch_size, lr,
  train_loss`` (mean over the steps since the previous point; NaN at step 0), ``eval_loss,
  eval_accuracy`` (NaN once diverged), ``diverged``.
* ``trust_ratios`` - one row per (step, layer): ``weight_norm`` ‖x_i‖, ``grad_norm`` ‖g_i‖,
  ``direction_norm`` ‖u_i‖ of the un-adapted update direction, ``update_norm`` ‖Δ_i‖ of the
  optimizer's update, both at η = 1, ``trust_ratio`` = ‖x_i‖/‖u_i‖, or 1 if either norm is 0
  (the paper's ratio with φ = identity and its zero-norm rule: ‖x‖/‖r + λx‖ for LAMB, ‖x‖/‖m‖
  for LARS; for optimizers without a trust ratio, the ratio LAMB would apply to their
  direction), ``applied_ratio`` = ‖Δ_i‖/‖u_i‖, or 1 if ‖u_i‖ = 0 (the factor the optimizer
  actually applied: equal to ``trust_ratio`` where a LAMB/LARS layer is adapted with φ =
  identity, 1 where it is not; for variants with φ, a trust coefficient or a cap, what they
  applied; approximate for decoupled-decay variants), ``adapted``.
"""

from __future__ import annotations

import math
import platform
from dataclasses import dataclass, field
from typing import Any

import jax
import numpy as np
import optax
import pandas as pd

from experiments.training.config import TrainConfig

HISTORY_COLUMNS = (
    "step",
    "epoch",
    "stage",
    "batch_size",
    "lr",
    "train_loss",
    "eval_loss",
    "eval_accuracy",
    "diverged",
)
TRUST_COLUMNS = (
    "step",
    "epoch",
    "layer",
    "weight_norm",
    "grad_norm",
    "direction_norm",
    "update_norm",
    "trust_ratio",
    "applied_ratio",
    "adapted",
)


def config_columns(config: TrainConfig) -> dict[str, Any]:
    """The run's identity as flat columns (stages and hyperparameters as strings)."""
    stages = config.batch_stages()
    return {
        "task": config.task,
        "model": config.model_name,
        "size": config.size,
        "optimizer": config.optimizer,
        "hyper": ";".join(f"{k}={v}" for k, v in config.hyper),
        "peak_lr": config.learning_rate,
        "base_batch_size": stages[0].batch_size,
        "epochs": sum(s.epochs for s in stages),
        "warmup_epochs": stages[0].warmup_epochs,
        "schedule": config.schedule,
        "power": config.power,
        "mixed_batch": ",".join(str(s.batch_size) for s in stages) if config.stages else "",
        "rewarmup": config.rewarmup,
        "max_grad_norm": np.nan if config.max_grad_norm is None else config.max_grad_norm,
        "seed": config.seed,
    }


def provenance() -> dict[str, str]:
    return {
        "python": platform.python_version(),
        "jax": jax.__version__,
        "optax": optax.__version__,
        "backend": jax.default_backend(),
    }


def frame(rows: list[dict], columns: tuple[str, ...], config: TrainConfig) -> pd.DataFrame:
    """Rows → DataFrame with the config's columns prepended."""
    df = pd.DataFrame(rows, columns=list(columns))
    for k, v in reversed(config_columns(config).items()):
        df.insert(0, k, [v] * len(df))
    return df


@dataclass(eq=False)
class TrainResult:
    """One run's outcome (module docstring).

    Attributes:
        config: the run.
        history, trust_ratios: the tables.
        final: ``total_steps, steps_done, epochs_done, final_train_loss, final_eval_loss,
            final_eval_accuracy, best_eval_accuracy, diverged, diverged_step, run_time_s``
            (wall time after compilation, of the whole vmapped group), ``compile_time_s``,
            ``group_size`` (runs trained together), ``n_parameters``.
        params: the final parameters (NumPy; the last finite ones if it diverged).
        checkpoints: step → parameters at each evaluation (only with ``keep_checkpoints``).
        info: task sizes, the stage plan and versions.
    """

    config: TrainConfig
    history: pd.DataFrame
    trust_ratios: pd.DataFrame
    final: dict[str, Any]
    params: Any
    checkpoints: dict[int, Any] = field(default_factory=dict)
    info: dict[str, Any] = field(default_factory=dict)

    @property
    def diverged(self) -> bool:
        return bool(self.final["diverged"])

    def summary(self) -> dict[str, Any]:
        """One flat row: the config's columns and the final metrics."""
        return {**config_columns(self.config), **self.final}


def summary_table(results: list[TrainResult]) -> pd.DataFrame:
    """One row per run (:meth:`TrainResult.summary`)."""
    return pd.DataFrame([r.summary() for r in results])


def history_row(step, epoch, stage, batch_size, lr, train_loss, eval_loss, eval_acc, diverged):
    """One ``history`` row; the evaluation is NaN once the run has diverged."""
    nan_if = (lambda v: math.nan) if diverged else float
    values = (step, epoch, stage, batch_size, float(lr), float(train_loss), nan_if(eval_loss),
              nan_if(eval_acc), bool(diverged))  # fmt: skip
    return dict(zip(HISTORY_COLUMNS, values, strict=True))


def trust_rows(step, epoch, names, wn, gn, dn, un, adapted) -> list[dict]:
    """``trust_ratios`` rows of one run at one step from per-leaf norms (module docstring)."""
    rows = []
    for j, name in enumerate(names):
        w, d, u = float(wn[j]), float(dn[j]), float(un[j])
        trust = w / d if w > 0 and d > 0 else 1.0  # the paper's zero-norm rule
        applied = u / d if d > 0 else 1.0
        values = (step, epoch, name, w, float(gn[j]), d, u, trust, applied, bool(adapted[j]))
        rows.append(dict(zip(TRUST_COLUMNS, values, strict=True)))
    return rows


def final_metrics(history_rows: list[dict], total_steps: int, steps_done: int, **extra) -> dict:
    """Final metrics from a member's history rows (NaN eval metrics if it diverged)."""
    last = history_rows[-1]
    accs = [r["eval_accuracy"] for r in history_rows if not math.isnan(r["eval_accuracy"])]
    return {
        "total_steps": total_steps,
        "steps_done": steps_done,
        "epochs_done": last["epoch"],
        "final_train_loss": last["train_loss"],
        "final_eval_loss": last["eval_loss"],
        "final_eval_accuracy": last["eval_accuracy"],
        "best_eval_accuracy": max(accs) if accs else math.nan,
        **extra,
    }
