"""NumPy reference implementations: the specification the JAX optimizers are tested against.

Each optimizer is a literal, per-layer transcription of its algorithm box (LARS: the paper's
Algorithm 1; LAMB: Algorithm 2; N-LAMB / NN-LAMB: Appendix D, Algorithms 3 and 4), in float64
unless the parameters are float32. Same names, signatures and ``init``/``update`` protocol as
the JAX versions in :mod:`lamb_ref`, over nested dicts/lists/tuples of ``np.ndarray``. Every
LARS/LAMB form takes its trust ratio from :func:`lamb_ref.reference._common.trust_ratio`. This
package holds only the specification: it imports nothing of JAX's, and the in-place fast path
built on it is :mod:`lamb_ref.numpy_inplace`.
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
