"""Named variants, JAX backend: ``make(name, **hp)`` → ``GradientTransformationExtraArgs``.

``NAMES`` lists them; ``SPECS[name]`` gives the library and version each reproduces, its
defaults and how it differs from the paper (docs/variants.md's table is generated from it).
"""

from __future__ import annotations

from typing import Any

import optax

from lamb_ref._variant_specs import NAMES, SPECS, VOCABULARY, resolve
from lamb_ref.lamb import lamb_family
from lamb_ref.lars import lars, lars_2017, optax_lars

_FAMILIES = {
    "lamb_family": lamb_family,
    "lars": lars,
    "lars_2017": lars_2017,
    "optax_lars": optax_lars,
}

__all__ = ["NAMES", "SPECS", "VOCABULARY", "make"]


def make(name: str, **hyperparameters: Any) -> optax.GradientTransformationExtraArgs:
    """The JAX optimizer for variant ``name`` (one of ``NAMES``)."""
    family, kwargs = resolve(name, hyperparameters)
    return _FAMILIES[family](**kwargs)
