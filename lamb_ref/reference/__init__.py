"""NumPy reference implementations: the specification the JAX optimizers are tested against.

Each optimizer is a literal, per-layer transcription of its algorithm box, in float64 unless
the parameters are float32. Same names, signatures and ``init``/``update`` protocol as the JAX
versions in :mod:`lamb_ref`, over nested dicts/lists/tuples of ``np.ndarray``.
"""

from lamb_ref.reference import variants
from lamb_ref.reference._common import Optimizer, apply_updates
from lamb_ref.reference.baselines import adagrad, adam, adamw, momentum, sgd
from lamb_ref.reference.finite import check_finite, finite_check
from lamb_ref.reference.lamb import lamb
from lamb_ref.reference.lars import lars
from lamb_ref.reference.nesterov import nlamb, nnlamb

__all__ = [
    "Optimizer",
    "adagrad",
    "adam",
    "adamw",
    "apply_updates",
    "check_finite",
    "finite_check",
    "lamb",
    "lars",
    "momentum",
    "nlamb",
    "nnlamb",
    "sgd",
    "variants",
]
