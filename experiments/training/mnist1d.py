"""MNIST-1D (Greydanus 2020, "Scaling down deep learning"), generated locally with the ``mnist1d``
package's procedural generator; nothing is downloaded.

The generator (``mnist1d.data.make_dataset``) takes ten hand-written 12-point templates, one per
digit, pads, shears, scales and translates each, adds correlated and i.i.d. noise and resamples
to 40 points: every call with the same arguments and seed gives the same examples. We call it
with the package's default transformation arguments and our own sizes and seed (never its
``get_dataset`` path, which fetches a pickle over the network), take the first ``n_train`` of
its shuffled examples for training and the next ``n_test`` for testing, and standardise both with
the training set's mean and standard deviation (two scalars). Signals are float32 [N, 40, 1]
(NWC), labels int32.

The generator seeds Python's and NumPy's global random generators; both are restored after the
call, so building the data changes no global state. Generation is a Python loop (about 13 s
for 110k examples on one core), so :func:`load` keeps the arrays in a ``.npz`` under the cache
directory, keyed by the sizes, the seed, the transformation arguments and the package version.
"""

from __future__ import annotations

import functools
import hashlib
import io
import json
import random
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

import numpy as np

from experiments.cache import atomic_write_bytes

N_CLASSES = 10
LENGTH = 40  # the generator's final_seq_length
# Bump when the split, normalisation or file layout changes: it enters the cache key.
FORMAT_VERSION = 1


@dataclass(frozen=True, eq=False)
class MNIST1D:
    """The generated, split and standardised data (NumPy arrays)."""

    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    seed: int
    package_version: str

    @property
    def n_train(self) -> int:
        return len(self.y_train)


SEED_LIMIT = 2**32  # the generator seeds NumPy's legacy generator, which takes 0 … 2³² − 1


def _check(name: str, value, minimum: int, limit: int | None = None) -> None:
    ok = not isinstance(value, bool) and isinstance(value, int | np.integer) and value >= minimum
    if not ok or (limit is not None and value >= limit):
        bound = f" and < {limit}" if limit is not None else ""
        raise ValueError(f"{name}={value!r} is invalid: expected an integer >= {minimum}{bound}")


def generator_args(n_total: int, seed: int) -> dict:
    """The generator's arguments: the package defaults with our size, seed and no split."""
    from mnist1d.data import get_dataset_args

    args = get_dataset_args(as_dict=True)
    args.pop("url", None)  # the download path is never used
    samples_per_class = -(-n_total // N_CLASSES)
    args.update(num_samples=samples_per_class * N_CLASSES, train_split=1.0, seed=seed)
    return args


def _generate(n_train: int, n_test: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    from mnist1d.data import ObjectView, make_dataset

    args = generator_args(n_train + n_test, seed)
    # the generator seeds the legacy global generators; they are put back as they were
    py_state, np_state = random.getstate(), np.random.get_state()  # noqa: NPY002
    try:
        data = make_dataset(ObjectView(args))
    finally:
        random.setstate(py_state)
        np.random.set_state(np_state)  # noqa: NPY002
    return np.asarray(data["x"]), np.asarray(data["y"])


def cache_key(n_train: int, n_test: int, seed: int) -> str:
    body = {
        "n_train": n_train,
        "n_test": n_test,
        "seed": seed,
        "args": generator_args(n_train + n_test, seed),
        "mnist1d": metadata.version("mnist1d"),
        "format": FORMAT_VERSION,
    }
    return hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()[:16]


@functools.lru_cache(maxsize=4)
def load(
    n_train: int = 100_000, n_test: int = 10_000, seed: int = 0, cache_dir: str | None = None
) -> MNIST1D:
    """``n_train`` training and ``n_test`` test examples of generator seed ``seed`` (cached in
    memory, and on disk under ``cache_dir`` when given)."""
    _check("n_train", n_train, 1)
    _check("n_test", n_test, 1)
    _check("seed", seed, 0, SEED_LIMIT)
    n_train, n_test, seed = int(n_train), int(n_test), int(seed)
    path = None
    if cache_dir is not None:
        path = Path(cache_dir) / f"mnist1d-{cache_key(n_train, n_test, seed)}.npz"
    if path is not None and path.exists():
        with np.load(path) as f:
            x, y = f["x"], f["y"]
    else:
        x, y = _generate(n_train, n_test, seed)
        x, y = x[: n_train + n_test], y[: n_train + n_test]
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
            buf = io.BytesIO()
            np.savez(buf, x=x, y=y)
            atomic_write_bytes(path, buf.getvalue())
    x_tr, x_te = x[:n_train], x[n_train:]
    mean, std = x_tr.mean(), x_tr.std()
    norm = lambda a: ((a - mean) / std).astype(np.float32)[..., None]  # noqa: E731
    return MNIST1D(
        norm(x_tr),
        y[:n_train].astype(np.int32),
        norm(x_te),
        y[n_train:].astype(np.int32),
        seed,
        metadata.version("mnist1d"),
    )


def describe(data: MNIST1D) -> dict:
    """Provenance for a task's ``info``."""
    return {
        "n_train": data.n_train,
        "n_test": len(data.y_test),
        "generator_seed": data.seed,
        "mnist1d_version": data.package_version,
        "length": LENGTH,
    }
