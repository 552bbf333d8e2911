"""A teacher-student stream: unlimited (x, y) pairs labelled by a fixed random teacher network.

For batch-scaling studies beyond a dataset's size: the "dataset" is the teacher's input
distribution, so a batch of any size is fresh data and a nominal epoch is ``n_train`` samples.

    x ~ N(0, I_d),   z = W_2 tanh(W_1 x + b_1) + b_2   (teacher: W_1 [d, k], W_2 [k, c])
    classification: y = argmax z (c classes);   regression: y = z + ν, ν ~ N(0, noise² I)

Teacher weights are N(0, 1/fan_in) (so z is O(1)) and drawn from ``teacher_seed``. A training
batch is a function of (data key, step) only — ``batch(key, step, B)`` — so runs with the same
seed see the same stream whatever else changes. The evaluation set is fixed by ``teacher_seed``.
"""

from __future__ import annotations

from dataclasses import dataclass

import jax
import jax.numpy as jnp

from experiments.training.nn import DTYPE, check_positive_int

_EVAL_STREAM = 0x5EED  # fold_in tag of the evaluation set's key


@dataclass(frozen=True)
class TeacherConfig:
    """The teacher and its stream.

    Attributes:
        input_dim: d.  hidden: k, the teacher's width.
        n_classes: c >= 2 for classification, or 0 for regression (then c = 1 output).
        noise: label-noise standard deviation (regression only; must be 0 for classification).
        teacher_seed: seed of the teacher weights and of the evaluation set.
        n_train: the nominal epoch size (samples per "epoch" in epoch budgets).
        n_eval: size of the fixed evaluation set.
    """

    input_dim: int = 32
    hidden: int = 64
    n_classes: int = 10
    noise: float = 0.0
    teacher_seed: int = 0
    n_train: int = 8192
    n_eval: int = 2048

    def __post_init__(self) -> None:
        for name in ("input_dim", "hidden", "n_train", "n_eval"):
            check_positive_int(name, getattr(self, name))
        check_positive_int("n_classes", self.n_classes, minimum=0)
        if self.n_classes == 1:
            raise ValueError("n_classes=1 is invalid: use 0 (regression) or >= 2 (classification)")
        if not self.noise >= 0 or (self.n_classes and self.noise):
            raise ValueError(
                f"noise={self.noise!r} is invalid: expected >= 0, and 0 for classification"
            )

    @property
    def n_outputs(self) -> int:
        return self.n_classes or 1


def teacher_params(cfg: TeacherConfig) -> dict:
    """The fixed teacher's weights (float32)."""
    k1, k2, k3, k4 = jax.random.split(jax.random.PRNGKey(cfg.teacher_seed), 4)
    d, k, c = cfg.input_dim, cfg.hidden, cfg.n_outputs
    return {
        "w1": jax.random.normal(k1, (d, k), DTYPE) / jnp.sqrt(jnp.asarray(d, DTYPE)),
        "b1": 0.1 * jax.random.normal(k2, (k,), DTYPE),
        "w2": jax.random.normal(k3, (k, c), DTYPE) / jnp.sqrt(jnp.asarray(k, DTYPE)),
        "b2": 0.1 * jax.random.normal(k4, (c,), DTYPE),
    }


def teacher_output(teacher: dict, x: jax.Array) -> jax.Array:
    """z = W_2 tanh(W_1 x + b_1) + b_2."""
    return jnp.tanh(x @ teacher["w1"] + teacher["b1"]) @ teacher["w2"] + teacher["b2"]


def sample(cfg: TeacherConfig, teacher: dict, key: jax.Array, batch_size: int) -> dict:
    """``{"x": [B, d] float32, "y": [B] int32 (classes) or [B, 1] float32 (regression)}``."""
    kx, kn = jax.random.split(key)
    x = jax.random.normal(kx, (batch_size, cfg.input_dim), DTYPE)
    z = teacher_output(teacher, x)
    if cfg.n_classes:
        return {"x": x, "y": jnp.argmax(z, axis=-1).astype(jnp.int32)}
    return {"x": x, "y": z + cfg.noise * jax.random.normal(kn, z.shape, DTYPE)}


def batch(cfg: TeacherConfig, teacher: dict, key: jax.Array, step, batch_size: int) -> dict:
    """The training batch of ``step`` in the stream of data key ``key``."""
    return sample(cfg, teacher, jax.random.fold_in(key, step), batch_size)


def eval_set(cfg: TeacherConfig, teacher: dict) -> dict:
    """The fixed evaluation set (``n_eval`` samples, from ``teacher_seed``)."""
    key = jax.random.fold_in(jax.random.PRNGKey(cfg.teacher_seed), _EVAL_STREAM)
    return sample(cfg, teacher, key, cfg.n_eval)
