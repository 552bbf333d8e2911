"""lamb_ref: faithful LARS/LAMB and baselines.

JAX/optax ``GradientTransformation``s live here (``lamb_ref.lamb``: Algorithm 2 of You et al.,
ICLR 2020; ``lamb_ref.lars``: Algorithm 1; ``lamb_ref.nlamb``/``nnlamb``: Appendix D, …); their
NumPy twins, the readable specification, live in :mod:`lamb_ref.reference`, which this package
never imports. Both backends share only backend-neutral argument checks (``lamb_ref._checks``,
``lamb_ref._variant_specs``, :mod:`lamb_ref.masks`). Named variants of the published libraries:
:mod:`lamb_ref.variants` (``docs/variants.md``). Paper schedules: :mod:`lamb_ref.schedules`. An
in-place NumPy step, bit for bit the reference's: :mod:`lamb_ref.numpy_inplace`.
"""

from lamb_ref import masks, schedules, variants
from lamb_ref._checks import HyperparameterError, LeafDtypeError, NonFiniteGradientError
from lamb_ref.baselines import adagrad, adam, adamw, momentum, sgd
from lamb_ref.finite import check_finite, finite_check
from lamb_ref.lamb import lamb
from lamb_ref.lars import lars
from lamb_ref.nesterov import nlamb, nnlamb
from lamb_ref.tree import apply_updates, leaf_names

__all__ = [
    "HyperparameterError",
    "LeafDtypeError",
    "NonFiniteGradientError",
    "adagrad",
    "adam",
    "adamw",
    "apply_updates",
    "check_finite",
    "finite_check",
    "lamb",
    "lars",
    "leaf_names",
    "masks",
    "momentum",
    "nlamb",
    "nnlamb",
    "schedules",
    "sgd",
    "variants",
]
