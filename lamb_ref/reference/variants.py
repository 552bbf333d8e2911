"""Named variants, NumPy backend: ``make(name, **hyperparameters)``.

See ``lamb_ref._variant_specs`` for the table (library, defaults, meaning of the exclusion
lists); the optimizers themselves are this package's NumPy transcriptions.
"""

from __future__ import annotations

from typing import Any

from lamb_ref._variant_specs import NAMES, SPECS, resolve
from lamb_ref.reference._common import Optimizer
from lamb_ref.reference.lamb import lamb_family
from lamb_ref.reference.lars import lars, lars_2017, optax_lars

_FAMILIES = {
    "lamb_family": lamb_family,
    "lars": lars,
    "lars_2017": lars_2017,
    "optax_lars": optax_lars,
}

__all__ = ["NAMES", "SPECS", "make"]


def make(name: str, **hyperparameters: Any) -> Optimizer:
    """The NumPy optimizer for variant ``name`` (one of ``NAMES``)."""
    family, kwargs = resolve(name, hyperparameters)
    return _FAMILIES[family](**kwargs)
