"""The handwritten-digits images bundled with scikit-learn (``load_digits``; nothing downloaded).

1797 grey-scale 8x8 images of the digits 0-9 (UCI "optdigits" test set), pixel values 0..16.
A fixed stratified split (scikit-learn ``train_test_split``, ``random_state=0``) gives 1437
training and 360 test images. Pixels are scaled to [0, 1], then standardised with the training
set's per-pixel mean and the overall standard deviation of the centred pixels (one scalar, so
always-blank pixels stay 0 instead of dividing by 0). Images are float32 [N, 8, 8, 1] (NHWC);
labels int32.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np

TEST_FRACTION = 0.2
SPLIT_SEED = 0
N_CLASSES = 10


@dataclass(frozen=True, eq=False)
class Digits:
    """The split, normalised dataset (NumPy arrays; images NHWC float32, labels int32)."""

    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray

    @property
    def n_train(self) -> int:
        return len(self.y_train)


def split_standardised(x: np.ndarray, y: np.ndarray, test_size: float | int) -> tuple:
    """(x_train, y_train, x_test, y_test): a stratified split (``train_test_split``,
    ``random_state=SPLIT_SEED``) of images ``x`` [N, H, W] in [0, 1], standardised with the
    training set's per-pixel mean and the one standard deviation of the centred training pixels
    (so always-blank pixels stay 0), float32 NHWC; labels as given."""
    from sklearn.model_selection import train_test_split

    x_tr, x_te, y_tr, y_te = train_test_split(
        x, y, test_size=test_size, random_state=SPLIT_SEED, stratify=y
    )
    mean = x_tr.mean(axis=0)
    std = (x_tr - mean).std()
    norm = lambda a: ((a - mean) / std).astype(np.float32)[..., None]  # noqa: E731
    return norm(x_tr), y_tr, norm(x_te), y_te


@functools.cache
def load() -> Digits:
    """The fixed split described in the module docstring (cached in memory)."""
    from sklearn.datasets import load_digits

    bunch = load_digits()
    x = bunch.images.astype(np.float64) / 16.0
    y = bunch.target.astype(np.int32)
    return Digits(*split_standardised(x, y, TEST_FRACTION))
