"""Instances as data: a frozen, hashable description of one validation problem.

An :class:`InstanceSpec` names an objective family (``experiments.validation.objectives``), its
per-layer constants, the noise model (``experiments.validation.noise``), the starting point and
the φ bounds. It is read from the JSON schema documented in docs/validation.md (``python -m
experiments validate``), hashed for caching, and built into the objects the runner needs with
:func:`build`. Construction validates every field - types, finiteness, the documented numeric
range and the size caps (docs/validation.md, "Ranges and caps"; derived in objectives.py) - and
raises :class:`InstanceError` with one line naming the key; :func:`check_run` caps a run's T,
seeds and memory (:class:`RunSizeError`).
"""

from __future__ import annotations

import dataclasses
import hashlib
import itertools
import json
import math
import os
import reprlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from experiments.precision import with_x64
from experiments.validation import objectives as _obj
from experiments.validation.noise import MAX_TABLE_ENTRIES, NOISE_KINDS, Noise, make_noise
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
# The numeric range and size caps (why: the comment above them in objectives.py).
L_RANGE, SIGMA_MAX, NOISE_TO_L_MAX = _obj.L_RANGE, _obj.SIGMA_MAX, _obj.NOISE_TO_L_MAX
X1_MAX, X1_SCALE_MIN, PHI_RANGE = _obj.X1_MAX, _obj.X1_SCALE_MIN, _obj.PHI_RANGE
MAX_LAYERS, MAX_LAYER_SIZE, MAX_DIM, T_MAX = (
    _obj.MAX_LAYERS, _obj.MAX_LAYER_SIZE, _obj.MAX_DIM, _obj.T_MAX,
)  # fmt: skip
SEED_LIMIT = 2**32  # seeds are uint32 for jax.random.key (and numpy's default_rng)
MAX_NAME_CHARS = 200
MAX_FILE_BYTES = 2**28  # an instance JSON (a sigma_coord of MAX_DIM numbers is ~90 MB)
# Run caps for ``validate``/the CLI: seeds per T, distinct T's, and the memory estimate
# (distinct T's) × seeds × (d × 8 bytes × MEMORY_FACTOR + max T × 16 bytes of per-step keys),
# which must fit in MEMORY_FRACTION of the available memory (/proc/meminfo MemAvailable). The
# factor counts the per-seed arrays of one step: x, ∇f, ξ̄, g, the update, LAMB's m and v, the
# trust-ratio and measure temporaries and XLA's copies (about a dozen d-vectors).
MAX_SEEDS = 2**14
MAX_T_VALUES = 64
MEMORY_FACTOR = 16
MEMORY_FRACTION = 0.5


class InstanceError(ValueError):
    """An instance outside the schema or the documented ranges (docs/validation.md); the message
    is one line naming the key, the value and what is allowed."""


class RunSizeError(ValueError):
    """Run arguments (T, seeds) beyond the caps or the available memory; one line."""


_REPR = reprlib.Repr()  # short reprs of values that can be huge lists (attributes: Python 3.11)
_REPR.maxlevel, _REPR.maxlist, _REPR.maxtuple, _REPR.maxdict = 3, 8, 8, 4
_REPR.maxstring, _REPR.maxlong, _REPR.maxother = 60, 40, 60


def _show(value: Any) -> str:
    """A short one-line repr (values can be huge lists, or not repr-able at all)."""
    try:
        text = _REPR.repr(value)
    except Exception:  # e.g. an int beyond sys.get_int_max_str_digits
        text = f"<{type(value).__name__}>"
    text = " ".join(text.split())
    return text if len(text) <= 80 else text[:77] + "..."


def _fail(name: str, value: Any, allowed: str) -> None:
    raise InstanceError(" ".join(f"{name}={_show(value)} is invalid: {allowed}".split()))


def _is_int(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _real(
    name: str, v: Any, lo: float, hi: float, *, lo_open: bool = False, hi_open: bool = False
) -> float:
    """v as a float, refused unless a finite int/float in [lo, hi] (ends open as told)."""
    left, right = "(["[not lo_open], ")]"[not hi_open]
    what = f"expected a finite number in {left}{lo:g}, {hi:g}{right}"
    if isinstance(v, bool) or not isinstance(v, int | float):
        _fail(name, v, what)
    try:
        f = float(v)
    except OverflowError:  # an int beyond float
        _fail(name, v, what)
    if not (
        math.isfinite(f) and (f > lo if lo_open else f >= lo) and (f < hi if hi_open else f <= hi)
    ):
        _fail(name, v, what)
    return f


def _int(name: str, v: Any, lo: int, hi: int, limit: str = "") -> int:
    if not _is_int(v) or not lo <= v <= hi:
        _fail(name, v, f"expected an integer in [{lo}, {hi}]{limit}")
    return v


def _seq(name: str, v: Any, what: str, length: int | None = None) -> tuple:
    """A list/tuple (of the given length) as a tuple; ``what`` describes the whole list."""
    if not isinstance(v, list | tuple):
        _fail(name, v, f"expected a list of {what}")
    if length is not None and len(v) != length:
        _fail(name, v, f"expected a list of {what}, got {len(v)} entries")
    return tuple(v)


def _check_options(family: str, options: Any) -> tuple[tuple[str, Any], ...]:
    if options is None:
        return ()
    if isinstance(options, Mapping):
        items = list(options.items())
    elif isinstance(options, list | tuple) and all(
        isinstance(kv, list | tuple) and len(kv) == 2 for kv in options
    ):
        items = [tuple(kv) for kv in options]
    else:
        _fail("options", options, "expected a JSON object of family options")
    allowed = _obj.OPTION_RANGES[family]
    for key, value in items:
        if not isinstance(key, str) or key not in allowed:
            _fail(f"options[{key!r}]", value, f"family {family!r} takes options {sorted(allowed)}")
        kind, lo, hi, lo_open, hi_open = allowed[key]
        if kind is int:
            _int(f"options[{key!r}]", value, int(lo), int(hi))
        else:
            _real(f"options[{key!r}]", value, lo, hi, lo_open=lo_open, hi_open=hi_open)
    if len({k for k, _ in items}) != len(items):
        _fail("options", options, "each option at most once")
    return tuple(sorted(items))


def _check_sizes(family: str, sizes: Any, options: dict[str, Any]) -> tuple[int, ...]:
    sizes = _seq("layer_sizes", sizes, "integers >= 1")
    if not 1 <= len(sizes) <= MAX_LAYERS:
        _fail("layer_sizes", sizes, f"expected 1 to MAX_LAYERS={MAX_LAYERS} layers")
    max_layer, max_dim = _obj.FAMILY_SIZE_CAPS.get(family, (MAX_LAYER_SIZE, MAX_DIM))
    cap = f" (per-layer size cap for {family})"
    for i, n in enumerate(sizes):
        _int(f"layer_sizes[{i}]", n, 1, max_layer, cap)
    if sum(sizes) > max_dim:
        _fail("layer_sizes", sizes, f"total d={sum(sizes)} exceeds the cap {max_dim} for {family}")
    if family == "chain_cosine" and len(set(sizes)) != 1:
        _fail("layer_sizes", sizes, "chain_cosine needs all layer sizes equal")
    if family == "coupled_cosine" and options["m"] * sum(sizes) > _obj.COUPLED_MAX_W:
        _fail("options['m']", options["m"], f"m*d exceeds {_obj.COUPLED_MAX_W} (W is m x d)")
    if family == "teacher_student_tanh":
        k, p, n = options["hidden"], options["inputs"], options["n_samples"]
        if sizes != (k * p, k):
            _fail("layer_sizes", sizes, f"needs (hidden*inputs, hidden) = ({k * p}, {k})")
        if n * k * p > _obj.TS_MAX_WORK:
            _fail("options['n_samples']", n, f"n_samples*hidden*inputs exceeds {_obj.TS_MAX_WORK}")
    return sizes


def _check_sigma(spec: InstanceSpec, sizes: tuple[int, ...]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    h, d = len(sizes), sum(sizes)
    if spec.sigma is not None and spec.sigma_coord is not None:
        _fail("sigma", spec.sigma, "give either sigma (per layer) or sigma_coord, not both")
    per_layer = None
    if spec.sigma is not None:
        out["sigma"] = _seq("sigma", spec.sigma, f"{h} numbers (one per layer)", h)
        per_layer = [_real(f"sigma[{i}]", v, 0.0, SIGMA_MAX) for i, v in enumerate(out["sigma"])]
    if spec.sigma_coord is not None:
        out["sigma_coord"] = _seq("sigma_coord", spec.sigma_coord, f"d = {d} numbers", d)
        flat = [
            _real(f"sigma_coord[{j}]", v, 0.0, SIGMA_MAX) for j, v in enumerate(out["sigma_coord"])
        ]
        ends = itertools.accumulate(sizes, initial=0)
        per_layer = [math.hypot(*flat[a:b]) for a, b in itertools.pairwise(ends)]
    if spec.noise == "none":
        if per_layer is not None and any(per_layer):
            key = "sigma" if spec.sigma is not None else "sigma_coord"
            _fail(key, getattr(spec, key), "noise='none' needs zeros (or no sigma)")
    elif per_layer is None:
        _fail("sigma", None, f"noise={spec.noise!r} needs sigma or sigma_coord")
    if (
        per_layer is not None
        and spec.L is not None
        and max(per_layer) > NOISE_TO_L_MAX * max(spec.L)
    ):
        key = "sigma" if spec.sigma is not None else "sigma_coord"
        _fail(
            key, getattr(spec, key),
            f"max sigma_i / max L_i = {max(per_layer) / max(spec.L):.3g} exceeds "
            f"NOISE_TO_L_MAX={NOISE_TO_L_MAX:g} (SGD's iterates would leave the exact range)",
        )  # fmt: skip
    if spec.noise == "finite_sum":
        _int("n_samples", spec.n_samples, 2, max(2, MAX_TABLE_ENTRIES // d),
             f" (n_samples*d <= MAX_TABLE_ENTRIES={MAX_TABLE_ENTRIES}, d={d})")  # fmt: skip
    elif spec.n_samples is not None:
        _fail("n_samples", spec.n_samples, "only for noise='finite_sum'")
    return out


def _check_x1(spec: InstanceSpec, sizes: tuple[int, ...]) -> dict[str, Any]:
    if (spec.x1 is None) == (spec.x1_scale is None):
        _fail("x1", spec.x1, "give exactly one of x1 (per-layer lists) or x1_scale (+ seed)")
    if spec.x1_scale is not None:
        _real("x1_scale", spec.x1_scale, X1_SCALE_MIN, X1_MAX)
        return {}
    rows = _seq("x1", spec.x1, f"{len(sizes)} per-layer lists", len(sizes))
    out = []
    for i, (row, n) in enumerate(zip(rows, sizes, strict=True)):
        row = _seq(f"x1[{i}]", row, f"{n} numbers (layer_sizes[{i}])", n)
        for j, v in enumerate(row):
            _real(f"x1[{i}][{j}]", v, -X1_MAX, X1_MAX)
        out.append(row)
    return {"x1": tuple(out)}


def _validate(spec: InstanceSpec) -> dict[str, Any]:
    """Check every field (in schema order) and return the normalised ones (lists -> tuples)."""
    fam = spec.family
    if not isinstance(fam, str) or fam not in FAMILIES:
        _fail("family", fam, f"expected one of {sorted(FAMILIES)}")
    out: dict[str, Any] = {"options": _check_options(fam, spec.options)}
    opts = {**_obj.OPTION_DEFAULTS[fam], **dict(out["options"])}
    sizes = out["layer_sizes"] = _check_sizes(fam, spec.layer_sizes, opts)
    h = len(sizes)
    if fam == "teacher_student_tanh":
        if spec.L is not None:
            _fail("L", spec.L, f"must be omitted: {fam} constants are estimated, not certified")
    elif spec.L is None:
        _fail("L", None, f"family {fam!r} needs one constant L_i > 0 per layer ({h} values)")
    else:
        out["L"] = _seq("L", spec.L, f"{h} numbers (one per layer)", h)
        for i, v in enumerate(out["L"]):
            _real(f"L[{i}]", v, *L_RANGE)
    if not isinstance(spec.noise, str) or spec.noise not in NOISE_KINDS:
        _fail("noise", spec.noise, f"expected one of {list(NOISE_KINDS)}")
    out.update(_check_sigma(spec, sizes))
    out.update(_check_x1(spec, sizes))
    _int("seed", spec.seed, 0, SEED_LIMIT - 1)
    if spec.phi is not None:
        phi = out["phi"] = _seq("phi", spec.phi, "2 numbers [alpha_l, alpha_u]", 2)
        lo = _real("phi[0]", phi[0], *PHI_RANGE)
        hi = _real("phi[1]", phi[1], *PHI_RANGE)
        if lo > hi:
            _fail("phi", list(phi), "expected [alpha_l, alpha_u] with 0 < alpha_l <= alpha_u")
    _real("beta2", spec.beta2, 0.0, 1.0, lo_open=True, hi_open=True)
    name = spec.name
    if name is not None and (
        not isinstance(name, str) or len(name) > MAX_NAME_CHARS or not name.isprintable()
    ):
        _fail("name", name, f"expected printable text of at most {MAX_NAME_CHARS} characters")
    return out


@dataclass(frozen=True)
class InstanceSpec:
    """One validation instance (see the "Instance JSON" schema in docs/validation.md).

    Every field is validated on construction (``InstanceError``, a ``ValueError``, naming the
    key), including the documented numeric range and size caps (docs/validation.md, "Ranges and
    caps"); lists are stored as tuples.

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
        for key, value in _validate(self).items():
            object.__setattr__(self, key, value)

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
        """Validate a JSON object against the schema and build the spec.

        Raises:
            InstanceError: one line naming the key, its value and what is allowed.
        """
        if not isinstance(data, Mapping):
            _fail("instance", data, "expected a JSON object")
        if not all(isinstance(k, str) for k in data):
            _fail("instance keys", list(data), "expected string keys")
        unknown = sorted(set(data) - set(JSON_KEYS))
        if unknown:
            _fail("instance keys", unknown, f"allowed keys are {list(JSON_KEYS)}")
        for key in ("family", "layer_sizes"):
            if key not in data:
                _fail(key, None, "this key is required")
        if data.get("options") is not None and not isinstance(data["options"], Mapping):
            _fail("options", data["options"], "expected a JSON object of family options")
        spec = cls(**dict(data))  # validates everything (null = the default only where None is)
        # the JSON form stores x1, phi and beta2 as floats (as it always has: spec hashes)
        return dataclasses.replace(
            spec,
            x1=None if spec.x1 is None else tuple(tuple(float(v) for v in r) for r in spec.x1),
            phi=None if spec.phi is None else (float(spec.phi[0]), float(spec.phi[1])),
            beta2=float(spec.beta2),
        )


def load_instance(path: str | Path) -> InstanceSpec:
    """Read an instance JSON file (schema in docs/validation.md); ``InstanceError`` if bad."""
    try:
        if Path(path).stat().st_size > MAX_FILE_BYTES:
            raise InstanceError(f"instance file {path}: larger than {MAX_FILE_BYTES} bytes")
        data = json.loads(Path(path).read_text())
    except InstanceError:
        raise
    except (OSError, ValueError, RecursionError) as err:  # JSONDecodeError is a ValueError
        what = "cannot be read" if isinstance(err, OSError) else "not valid JSON"
        raise InstanceError(" ".join(f"instance file {path}: {what} ({err})".split())) from err
    return InstanceSpec.from_dict(data)


def available_memory() -> int | None:
    """Bytes of memory available to a new run (MemAvailable), None when unknown."""
    try:
        with open("/proc/meminfo") as fh:
            for line in fh:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    try:
        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):
        return None


def check_run(spec: InstanceSpec, Ts: Sequence[int], n_seeds: int, batch_size=None) -> None:
    """Refuse run sizes beyond the caps (T_MAX, MAX_SEEDS, MAX_T_VALUES), a finite_sum batch
    above n_samples, and runs whose memory estimate exceeds MEMORY_FRACTION of the available
    memory: (distinct T's) × seeds × (d × 8 × MEMORY_FACTOR + max T × 16) bytes.

    Raises:
        RunSizeError: one line naming the argument, its value and the limit.
    """

    def fail(name, value, allowed):
        raise RunSizeError(" ".join(f"{name}={_show(value)} is invalid: {allowed}".split()))

    Ts = list(Ts)
    for t in Ts:
        if not (_is_int(t) or isinstance(t, np.integer)) or not 1 <= t <= T_MAX:
            fail("T", t, f"expected integers in [1, T_MAX={T_MAX}]")
    if not 1 <= len(set(Ts)) <= MAX_T_VALUES:
        fail("T", Ts, f"expected 1 to MAX_T_VALUES={MAX_T_VALUES} values")
    if not _is_int(n_seeds) or not 1 <= n_seeds <= MAX_SEEDS:
        fail("seeds", n_seeds, f"expected an integer in [1, MAX_SEEDS={MAX_SEEDS}]")
    if spec.noise == "finite_sum":
        for b in Ts if batch_size is None else [batch_size]:
            if b > spec.n_samples:
                allowed = f"finite_sum draws b distinct rows: b <= n_samples={spec.n_samples}"
                fail("T" if batch_size is None else "batch_size", b, allowed)
    d = sum(spec.layer_sizes)
    need = len(set(Ts)) * n_seeds * (d * 8 * MEMORY_FACTOR + max(Ts) * 16)
    have = available_memory()
    if have is not None and need > MEMORY_FRACTION * have:
        mib = 2.0**20
        fail(
            "seeds", n_seeds,
            f"the run needs about {need / mib:.4g} MiB ({len(set(Ts))} T values x {n_seeds} seeds"
            f" x (d={d} x 8 B x {MEMORY_FACTOR} + T={max(Ts)} x 16 B)), over the limit "
            f"{MEMORY_FRACTION:g} x available memory = {MEMORY_FRACTION * have / mib:.4g} MiB",
        )  # fmt: skip


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
