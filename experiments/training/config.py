"""The training run as data: :class:`TrainConfig` (frozen; sweeps by ``dataclasses.replace``).

What is *traced* (changes nothing compiled, so runs differing only there share one compilation
and can be vmapped together by :func:`experiments.training.train_many`): ``seed``,
``learning_rate``, ``warmup_epochs``, ``schedule``, ``power``, ``rewarmup`` and the stages'
learning rates and warmups (the learning rate reaches the step as a per-step array). Everything
else (task, model, data, optimizer and its other hyperparameters, exclusions, clipping, batch
sizes, epochs, evaluation cadence) is static: a different value compiles a new step.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field
from typing import Any

from experiments.training.optimizers import check_optimizer
from experiments.training.tasks import SIZES, TASK_MODELS, DataConfig

SCHEDULES = ("poly", "constant", "step")
# The authors' exclusions (BERT/ALBERT LAMB scripts, CIFAR): no weight decay and no layer
# adaptation for LayerNorm parameters and biases ([C: the authors' public code]).
AUTHORS_EXCLUSIONS = ("LayerNorm", "bias")


@dataclass(frozen=True)
class BatchStage:
    """One stage of mixed-batch training (paper §4.2: 9/10 of the epochs at 64K, 1/10 at 32K).

    Attributes:
        batch_size: B of the stage.
        epochs: epoch budget of the stage; its steps are max(1, round(epochs·N/B)).
        learning_rate: the stage's peak η (None: ``TrainConfig.learning_rate``).
        warmup_epochs: the stage's warmup (with ``rewarmup=False`` only the first stage's).
    """

    batch_size: int
    epochs: float
    learning_rate: float | None = None
    warmup_epochs: float = 0.0


def _fail(name: str, value: Any, allowed: str) -> None:
    raise ValueError(f"{name}={value!r} is invalid: {allowed}")


def _int(name: str, value: Any, minimum: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        _fail(name, value, f"expected an integer >= {minimum}")


def _real(name: str, value: Any, *, positive: bool = False, optional: bool = False) -> None:
    if value is None and optional:
        return
    ok = isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)
    if not ok or value < 0 or (positive and value == 0):
        _fail(name, value, f"expected a finite number {'> 0' if positive else '>= 0'}")


def _patterns(name: str, value: Any) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, str) or not all(isinstance(p, str) for p in value):
        _fail(name, value, "expected a tuple of regex strings (matched with re.search)")
    return tuple(value)


@dataclass(frozen=True)
class TrainConfig:
    """One training run.

    Attributes:
        task: "mlm", "digits" or "teacher" (:mod:`.tasks`).
        model: "bert" (mlm), "mlp" or "cnn" (digits), "mlp" (teacher); None = the task's first.
        size: model size preset, "tiny" (2 CPU cores) or "full".
        data: dataset sizes (:class:`~experiments.training.tasks.DataConfig`).
        optimizer: a ``lamb_ref`` optimizer (lamb, lars, nlamb, nnlamb, sgd, momentum, adam,
            adamw, adagrad) or a named variant of ``lamb_ref.variants.NAMES`` (tfa, timm, …).
        hyper: the optimizer's other hyperparameters (a dict is accepted and stored sorted), e.g.
            ``{"weight_decay": 0.01}``; not the learning rate nor the exclusion lists.
        learning_rate: peak η (of the single stage, or of stages without their own).
        batch_size, epochs: B and the epoch budget; steps = max(1, round(epochs·N/B)).
        warmup_epochs: linear warmup length in epochs (steps = round(warmup_epochs·N/B)).
        schedule: "poly" (warmup then η_0(1 - t/T)^power, paper §4.1), "constant"
            (warmup then η_0) or "step" (warmup then η_0 · 0.1^k after the k-th milestone at
            1/3, 2/3 and 8/9 of the steps: Goyal et al. 2017's 30/60/80 of 90 epochs, the
            recipe of the paper's Table 3; single-stage runs only).
        power: p of the polynomial decay (1 for BERT).
        stages: mixed-batch stages; when given they replace batch_size/epochs/warmup_epochs.
        rewarmup: ramp the learning rate from 0 again at each stage start (paper §4.2).
        max_grad_norm: global-norm gradient clipping before the optimizer (None: off).
        exclude_from_weight_decay, exclude_from_layer_adaptation: regexes on leaf names
            (``re.search``); default the authors' ("LayerNorm", "bias"). The adaptation list
            does not apply to optimizers without a trust ratio (sgd, momentum, adam, adamw,
            adagrad).
        seed: initialisation and data order (same seed → same run).
        eval_every: evaluate every this many steps (None: ``n_evals`` evenly spaced points).
        n_evals: evaluations per run when ``eval_every`` is None (plus one at step 0).
        log_trust_ratios: log per-layer trust ratios at every k-th evaluation (0: never).
        divergence_threshold: a training loss above this also counts as divergence (None: only
            NaN/inf).
        keep_checkpoints: keep the parameters at every evaluation point in the result.
    """

    task: str = "mlm"
    model: str | None = None
    size: str = "tiny"
    data: DataConfig = field(default_factory=DataConfig)
    optimizer: str = "lamb"
    hyper: Any = ()
    learning_rate: float = 1e-2
    batch_size: int = 64
    epochs: float = 2.0
    warmup_epochs: float = 0.0
    schedule: str = "poly"
    power: float = 1.0
    stages: tuple[BatchStage, ...] = ()
    rewarmup: bool = True
    max_grad_norm: float | None = None
    exclude_from_weight_decay: tuple[str, ...] = AUTHORS_EXCLUSIONS
    exclude_from_layer_adaptation: tuple[str, ...] = AUTHORS_EXCLUSIONS
    seed: int = 0
    eval_every: int | None = None
    n_evals: int = 8
    log_trust_ratios: int = 0
    divergence_threshold: float | None = None
    keep_checkpoints: bool = False

    def __post_init__(self) -> None:
        hyper = dict(self.hyper) if not isinstance(self.hyper, dict) else self.hyper
        # lists (e.g. phi=[lo, hi]) become tuples: the config must stay hashable
        hyper = {k: tuple(v) if isinstance(v, list) else v for k, v in hyper.items()}
        object.__setattr__(self, "hyper", tuple(sorted(hyper.items())))
        for name in ("exclude_from_weight_decay", "exclude_from_layer_adaptation"):
            object.__setattr__(self, name, _patterns(name, getattr(self, name)))
        object.__setattr__(self, "stages", tuple(self.stages))
        if self.task not in TASK_MODELS:
            _fail("task", self.task, f"expected one of {sorted(TASK_MODELS)}")
        if self.model is not None and self.model not in TASK_MODELS[self.task]:
            _fail("model", self.model, f"expected one of {TASK_MODELS[self.task]} for {self.task}")
        if self.size not in SIZES:
            _fail("size", self.size, f"expected one of {SIZES}")
        if not isinstance(self.data, DataConfig):
            _fail("data", self.data, "expected a DataConfig")
        _real("learning_rate", self.learning_rate)
        _int("batch_size", self.batch_size, 1)
        _real("epochs", self.epochs, positive=True)
        _real("warmup_epochs", self.warmup_epochs)
        if self.schedule not in SCHEDULES:
            _fail("schedule", self.schedule, f"expected one of {SCHEDULES}")
        if self.schedule == "step" and self.stages:
            _fail("schedule", self.schedule, "'step' applies to single-stage runs (no stages)")
        _real("power", self.power, positive=True)
        if not isinstance(self.rewarmup, bool):
            _fail("rewarmup", self.rewarmup, "expected True or False")
        for k, st in enumerate(self.stages):
            if not isinstance(st, BatchStage):
                _fail(f"stages[{k}]", st, "expected a BatchStage")
            _int(f"stages[{k}].batch_size", st.batch_size, 1)
            _real(f"stages[{k}].epochs", st.epochs, positive=True)
            _real(f"stages[{k}].learning_rate", st.learning_rate, optional=True)
            _real(f"stages[{k}].warmup_epochs", st.warmup_epochs)
            if k > 0 and not self.rewarmup and st.warmup_epochs:
                _fail(
                    f"stages[{k}].warmup_epochs",
                    st.warmup_epochs,
                    "must be 0 with rewarmup=False (only the first stage warms up)",
                )
        _real("max_grad_norm", self.max_grad_norm, positive=True, optional=True)
        _int("seed", self.seed, 0)
        if self.eval_every is not None:
            _int("eval_every", self.eval_every, 1)
        _int("n_evals", self.n_evals, 1)
        _int("log_trust_ratios", self.log_trust_ratios, 0)
        _real("divergence_threshold", self.divergence_threshold, positive=True, optional=True)
        if not isinstance(self.keep_checkpoints, bool):
            _fail("keep_checkpoints", self.keep_checkpoints, "expected True or False")
        check_optimizer(
            self.optimizer,
            dict(self.hyper),
            self.exclude_from_weight_decay,
            self.exclude_from_layer_adaptation,
            self.max_grad_norm,
        )

    @property
    def model_name(self) -> str:
        return self.model or TASK_MODELS[self.task][0]

    def batch_stages(self) -> tuple[BatchStage, ...]:
        """The stages to run: ``stages``, or the single stage of batch_size/epochs/warmup."""
        if self.stages:
            return tuple(
                st
                if st.learning_rate is not None
                else dataclasses.replace(st, learning_rate=self.learning_rate)
                for st in self.stages
            )
        return (BatchStage(self.batch_size, self.epochs, self.learning_rate, self.warmup_epochs),)

    def static_key(self) -> TrainConfig:
        """This config with every traced field neutralised: equal keys share compilations."""
        stages = tuple(
            dataclasses.replace(s, learning_rate=None, warmup_epochs=0.0) for s in self.stages
        )
        return dataclasses.replace(
            self,
            seed=0,
            learning_rate=0.0,
            warmup_epochs=0.0,
            schedule="poly",
            power=1.0,
            rewarmup=True,
            stages=stages,
        )
