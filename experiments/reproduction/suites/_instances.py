"""Shared pieces of the validation suites: standard instances and theorem lists."""

from __future__ import annotations

import dataclasses
from functools import cache

from experiments.validation.spec import Built, InstanceSpec, build

THEOREMS = ("sgd", "lars", "lamb_beta2_zero", "lamb_beta2_pos")


@cache
def built(spec: InstanceSpec) -> Built:
    """``spec`` built once per process (objective construction can estimate constants)."""
    return build(spec)


def for_theorem(spec: InstanceSpec, theorem: str) -> InstanceSpec:
    """The instance a theorem runs on: Rademacher noise (bounded, G certified) only where the
    theorem uses G (LAMB, β2 > 0); elsewhere Gaussian noise of the same σ̃, which is inside the
    other theorems' hypotheses and about 6× cheaper to draw exactly."""
    if theorem == "lamb_beta2_pos" or spec.noise != "rademacher":
        return spec
    return dataclasses.replace(spec, noise="gaussian")


def standard(family: str, h: int, width: int, **overrides) -> InstanceSpec:
    """A bounded-noise instance inside every theorem's hypotheses (for certified families).

    Equal layer sizes (Theorem 3), L spread over a decade, Rademacher noise (bounded, so G is
    certified), x_1 of scale 2 (far from the minimizer), φ = clip(·, 0.5, 2).
    """
    L = tuple(float(10.0 ** (i / max(h - 1, 1))) for i in range(h))
    fields = {
        "family": family,
        "layer_sizes": (width,) * h,
        "L": L,
        "sigma": (0.5,) * h,
        "noise": "rademacher",
        "x1_scale": 2.0,
        "seed": 0,
        "phi": (0.5, 2.0),
        "beta2": 0.9,
        "name": f"{family}-h{h}x{width}",
    }
    fields.update(overrides)
    return InstanceSpec(**fields)
