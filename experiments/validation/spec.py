"""Instances as data: a frozen, hashable description of one validation problem.

An :class:`InstanceSpec` names an objective family (``experiments.validation.objectives``), its
per-layer constants, the noise model (``experiments.validation.noise``), the starting point and
the φ bounds. It is read from the JSON schema documented in docs/validation.md (``python -m
experiments validate``), hashed for caching, and built into the objects the runner needs with
:func:`build`.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from experiments.precision import with_x64
from experiments.validation.noise import NOISE_KINDS, Noise, make_noise
from experiments.validation.objectives import FAMILIES, Objective, make_objective

# Keys the JSON may carry; anything else is refused so a typo never goes unnoticed.
JSON_KEYS = (
    "name",
    "family",
    "layer_sizes",
    "L",
    "sigma",
    "sigma_coord",
    "noise",
    "n_samples",
    "x1",
    "x1_scale",
    "seed",
    "phi",
    "beta2",
    "options",
)


def _fail(name: str, value: Any, allowed: str) -> None:
    raise ValueError(f"{name}={value!r} is invalid: {allowed}")


def _floats(name: str, value: Any, *, positive: bool) -> tuple[float, ...]:
    if isinstance(value, str | bytes) or not isinstance(value, Sequence) or len(value) == 0:
        _fail(name, value, "expected a non-empty list of numbers")
    out = []
    for v in value:
        if isinstance(v, bool) or not isinstance(v, int | float) or not math.isfinite(v):
            _fail(name, value, "expected finite numbers")
        if v < 0 or (positive and v == 0):
            _fail(name, value, "expected numbers > 0" if positive else "expected numbers >= 0")
        out.append(float(v))
    return tuple(out)


@dataclass(frozen=True)
class InstanceSpec:
    """One validation instance (see the "Instance JSON" schema in docs/validation.md).

    Attributes:
        family: objective family, a key of ``experiments.validation.objectives.FAMILIES``.
        layer_sizes: d_i per layer (h = len).
        L: per-layer smoothness constants L_i > 0 (``None`` for families that estimate them).
        sigma: per-layer noise std σ_i, spread evenly: σ̃_j = σ_i/√d_i. Exclusive with
            ``sigma_coord``.
        sigma_coord: per-coordinate noise std σ̃_j (flat, length d, layer order).
        noise: ``none | gaussian | rademacher | finite_sum``.
        n_samples: table size n for ``finite_sum``.
        x1: explicit starting point, one list per layer; exclusive with ``x1_scale``.
        x1_scale: x_1 has iid N(0, x1_scale²) coordinates drawn from ``seed``.
        seed: seeds the objective's random parts, x_1 and the finite-sum table.
        phi: (α_l, α_u) with 0 < α_l ≤ α_u: LARS/LAMB use φ(z) = clip(z, α_l, α_u).
        beta2: LAMB's β2 for ``lamb_beta2_pos`` (0 < β2 < 1).
        options: family options (e.g. ``coupling``), as sorted (key, value) pairs.
        name: a label for tables (defaults to a short hash).
    """

    family: str
    layer_sizes: tuple[int, ...]
    L: tuple[float, ...] | None = None
    sigma: tuple[float, ...] | None = None
    sigma_coord: tuple[float, ...] | None = None
    noise: str = "gaussian"
    n_samples: int | None = None
    x1: tuple[tuple[float, ...], ...] | None = None
    x1_scale: float | None = None
    seed: int = 0
    phi: tuple[float, float] | None = None
    beta2: float = 0.999
    options: tuple[tuple[str, Any], ...] = field(default_factory=tuple)
    name: str | None = None

    def __post_init__(self) -> None:
        if self.family not in FAMILIES:
            _fail("family", self.family, f"expected one of {sorted(FAMILIES)}")
        sizes = self.layer_sizes
        if (
            not isinstance(sizes, tuple)
            or not sizes
            or any(isinstance(n, bool) or not isinstance(n, int) or n < 1 for n in sizes)
        ):
            _fail("layer_sizes", sizes, "expected a non-empty list of integers >= 1")
        if self.L is not None and len(self.L) != len(sizes):
            _fail("L", self.L, f"expected one value per layer ({len(sizes)} layers)")
        if self.L is not None:
            _floats("L", self.L, positive=True)
        if self.noise not in NOISE_KINDS:
            _fail("noise", self.noise, f"expected one of {list(NOISE_KINDS)}")
        if self.sigma is not None and self.sigma_coord is not None:
            _fail("sigma", self.sigma, "give either sigma (per layer) or sigma_coord, not both")
        if self.sigma is not None:
            _floats("sigma", self.sigma, positive=False)
            if len(self.sigma) != len(sizes):
                _fail("sigma", self.sigma, f"expected one value per layer ({len(sizes)} layers)")
        if self.sigma_coord is not None:
            _floats("sigma_coord", self.sigma_coord, positive=False)
            if len(self.sigma_coord) != sum(sizes):
                _fail("sigma_coord", self.sigma_coord, f"expected d = {sum(sizes)} values")
        if self.noise != "none" and self.sigma is None and self.sigma_coord is None:
            _fail("sigma", None, f"noise={self.noise!r} needs sigma or sigma_coord")
        if (self.x1 is None) == (self.x1_scale is None):
            _fail("x1", self.x1, "give exactly one of x1 (per-layer lists) or x1_scale (+ seed)")
        if self.x1 is not None:
            if len(self.x1) != len(sizes):
                _fail("x1", self.x1, f"expected {len(sizes)} per-layer lists")
            for i, (xi, n) in enumerate(zip(self.x1, sizes, strict=True)):
                if len(xi) != n or not all(math.isfinite(v) for v in xi):
                    _fail(f"x1[{i}]", xi, f"expected {n} finite numbers (layer_sizes[{i}])")
        if self.x1_scale is not None and not (math.isfinite(self.x1_scale) and self.x1_scale > 0):
            _fail("x1_scale", self.x1_scale, "expected a finite number > 0")
        if isinstance(self.seed, bool) or not isinstance(self.seed, int) or self.seed < 0:
            _fail("seed", self.seed, "expected an integer >= 0")
        if self.phi is not None:
            lo, hi = self.phi
            if not (math.isfinite(lo) and math.isfinite(hi) and 0 < lo <= hi):
                _fail(
                    "phi", list(self.phi), "expected [alpha_l, alpha_u] with 0 < alpha_l <= alpha_u"
                )
        if not (0 < self.beta2 < 1):
            _fail("beta2", self.beta2, "expected 0 < beta2 < 1")

    # -- identity ---------------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        """The JSON form (lists, not tuples); :meth:`from_dict` inverts it."""
        out: dict[str, Any] = {}
        for f in dataclasses.fields(self):
            v = getattr(self, f.name)
            if f.name == "options":
                v = dict(v)
            elif f.name == "x1" and v is not None:
                v = [list(row) for row in v]
            elif isinstance(v, tuple):
                v = list(v)
            out[f.name] = v
        return out

    @property
    def spec_hash(self) -> str:
        """SHA-256 (16 hex digits) of the canonical JSON without the display name."""
        body = {k: v for k, v in self.to_dict().items() if k != "name"}
        return hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()[:16]

    @property
    def label(self) -> str:
        return self.name or f"{self.family}-{self.spec_hash[:8]}"

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> InstanceSpec:
        """Validate a JSON object against the schema and build the spec."""
        if not isinstance(data, Mapping):
            _fail("instance", data, "expected a JSON object")
        unknown = sorted(set(data) - set(JSON_KEYS))
        if unknown:
            _fail("instance keys", unknown, f"allowed keys are {list(JSON_KEYS)}")
        for key in ("family", "layer_sizes"):
            if key not in data:
                _fail(key, None, "this key is required")

        def tup(key):
            v = data.get(key)
            if v is None:
                return None
            if isinstance(v, str | bytes) or not isinstance(v, Sequence):
                _fail(key, v, "expected a list")
            return tuple(v)

        x1 = data.get("x1")
        if x1 is not None:
            if isinstance(x1, str) or not isinstance(x1, Sequence):
                _fail("x1", x1, "expected a list of per-layer lists")
            x1 = tuple(tuple(float(v) for v in row) for row in x1)
        options = data.get("options") or {}
        if not isinstance(options, Mapping):
            _fail("options", options, "expected a JSON object of family options")
        phi = tup("phi")
        if phi is not None and len(phi) != 2:
            _fail("phi", list(phi), "expected [alpha_l, alpha_u]")
        return cls(
            family=data["family"],
            layer_sizes=tup("layer_sizes"),
            L=tup("L"),
            sigma=tup("sigma"),
            sigma_coord=tup("sigma_coord"),
            noise=data.get("noise", "gaussian"),
            n_samples=data.get("n_samples"),
            x1=x1,
            x1_scale=data.get("x1_scale"),
            seed=data.get("seed", 0),
            phi=None if phi is None else (float(phi[0]), float(phi[1])),
            beta2=float(data.get("beta2", 0.999)),
            options=tuple(sorted(options.items())),
            name=data.get("name"),
        )


def load_instance(path: str | Path) -> InstanceSpec:
    """Read an instance JSON file (schema in docs/validation.md)."""
    try:
        data = json.loads(Path(path).read_text())
    except json.JSONDecodeError as err:
        raise ValueError(f"instance file {path}: not valid JSON ({err})") from err
    return InstanceSpec.from_dict(data)


@dataclass(frozen=True, eq=False)
class Built:
    """What the runner needs: the objective, the noise model and x_1 (float64)."""

    spec: InstanceSpec
    objective: Objective
    noise: Noise
    x1: dict[str, jax.Array]

    @property
    def f_gap(self) -> float:
        """Δ = f(x_1) − f*, exact up to float64 rounding of f(x_1)."""
        return float(self.objective.value(self.x1)) - float(self.objective.f_star)


@with_x64
def build(spec: InstanceSpec) -> Built:
    """Construct objective, noise and starting point from a spec (deterministic in ``seed``)."""
    obj = make_objective(
        spec.family, spec.layer_sizes, spec.L, seed=spec.seed, **dict(spec.options)
    )
    kwargs: dict[str, Any] = {"seed": spec.seed}
    if spec.sigma is not None:
        kwargs["sigma"] = list(spec.sigma)
    elif spec.sigma_coord is not None:
        kwargs["sigma_coord"] = list(spec.sigma_coord)
    if spec.n_samples is not None:
        kwargs["n_samples"] = spec.n_samples
    noise = make_noise(spec.noise, obj.layer_names, obj.layer_shapes, **kwargs)
    if spec.x1 is not None:
        x1 = obj.from_lists([list(row) for row in spec.x1])
    else:
        # x_1's key is separate from the objective's random parts (fold_in 1) on purpose
        key = jax.random.fold_in(jax.random.key(spec.seed), 1)
        x1 = obj.random_point(key, spec.x1_scale)
    x1 = {k: jnp.asarray(v, jnp.float64) for k, v in x1.items()}
    return Built(spec, obj, noise, x1)


def as_numpy(tree: Mapping[str, Any]) -> list[np.ndarray]:
    """Per-layer NumPy arrays in layer (sorted key) order."""
    return [np.asarray(tree[k]) for k in sorted(tree)]
