"""Laptop-scale large-batch training: real data, small models, the paper's schedules.

* Data, all offline and deterministic: the stdlib-docstring English corpus with a locally
  trained WordPiece vocabulary (:mod:`.corpus`, :mod:`.wordpiece`) and BERT masking
  (:mod:`.masking`); scikit-learn's 8x8 digits (:mod:`.digits`); a teacher-student stream
  (:mod:`.teacher`).
* Models as pure ``init``/``apply`` functions over named parameter trees: a small BERT
  (:mod:`.bert`), an MLP and a CNN (:mod:`.vision`).
* Runs as data: :class:`TrainConfig` → :func:`train` / :func:`train_many` (vmapped groups) →
  :class:`TrainResult` (tidy tables). Schedules and batch-size rules: :mod:`.schedules`.
* Per-layer smoothness L_i and gradient noise σ_i on the real models: :mod:`.smoothness`.

Example:
    >>> from experiments.training import TrainConfig, train
    >>> result = train(TrainConfig(task="digits", model="mlp", optimizer="lamb",
    ...                            learning_rate=0.05, batch_size=64, epochs=10.0,
    ...                            warmup_epochs=0.5, hyper={"weight_decay": 0.01}))
    >>> result.final["final_eval_accuracy"] > 0.9
    True
"""

from experiments.training._compile import enable_compilation_cache
from experiments.training.config import AUTHORS_EXCLUSIONS, BatchStage, TrainConfig
from experiments.training.loop import train, train_many
from experiments.training.optimizers import NAMES as OPTIMIZERS
from experiments.training.results import TrainResult, summary_table
from experiments.training.schedules import (
    learning_rates,
    mixed_batch_stages,
    plan,
    scale_to_batch,
    scaling_rule,
    steps_for,
)
from experiments.training.tasks import DataConfig
from experiments.training.teacher import TeacherConfig
from experiments.training.wordpiece import corpus_stats

__all__ = [
    "AUTHORS_EXCLUSIONS",
    "OPTIMIZERS",
    "BatchStage",
    "DataConfig",
    "TeacherConfig",
    "TrainConfig",
    "TrainResult",
    "corpus_stats",
    "enable_compilation_cache",
    "learning_rates",
    "mixed_batch_stages",
    "plan",
    "scale_to_batch",
    "scaling_rule",
    "steps_for",
    "summary_table",
    "train",
    "train_many",
]
