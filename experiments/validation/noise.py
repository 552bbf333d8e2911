"""Stochastic-gradient noise with exactly known per-coordinate scale.

A stochastic gradient is ``g = ∇f(x) + ξ̄`` with ``ξ̄ = (1/b) Σ_{s=1..b} ξ(s)`` the mean of ``b``
independent per-sample noise vectors. Every model fixes the per-sample coordinate std σ̃_j
(``E ξ_j(s) = 0``, ``E ξ_j(s)² = σ̃_j²``), hence the per-layer σ_i = sqrt(Σ_{j∈layer i} σ̃_j²)
of the theorems, and draws ``ξ̄`` *exactly* in law, in O(d) time for any ``b``:

- ``gaussian``: ξ_j(s) ~ N(0, σ̃_j²) iid, so ξ̄_j ~ N(0, σ̃_j²/b) exactly (a sum of independent
  normals is normal); unbounded.
- ``rademacher``: ξ_j(s) = σ̃_j ε_j(s), ε = ±1 with probability 1/2, so |ξ_j| <= σ̃_j.
  Σ_s ε_j(s) = 2B_j - b with B_j ~ Binomial(b, 1/2), so ξ̄_j = σ̃_j (2B_j - b)/b exactly;
  Var ξ̄_j = σ̃_j²/b and |ξ̄_j| <= σ̃_j.
- ``finite_sum``: a fixed table z_1..z_n (Gaussian from ``seed``, then centred and rescaled per
  coordinate so that (1/n) Σ_k z_kj = 0 and (1/n) Σ_k z_kj² = σ̃_j² to float64 rounding);
  ξ̄ is the mean of b distinct rows drawn uniformly without replacement, so E ξ̄ = 0 and
  Var ξ̄_j = (n-b)/(n-1) · σ̃_j²/b; |ξ̄_j| <= max_k |z_kj|.
- ``none``: ξ = 0.

Binomial sampler. ``jax.random.binomial`` (jax 0.10.2) uses inversion for n·p <= 10 and BTRS
(Hörmann 1993, transformed rejection with squeeze) above. BTRS is an exact rejection method,
but jax's ``_stirling_approx_tail`` clamps k to 9 *before* evaluating its Stirling series, so
every log-factorial correction with k >= 10 equals the k = 9 value; the acceptance test is then
wrong and the law is off Binomial(n, 1/2) by a total variation of 1.5e-4 at n = 21..32, 1.6e-5
at n = 100, 1.6e-7 at n = 1000, 2e-11 at n = 10^5 (quadrature over the algorithm's uniforms;
with correct corrections the same quadrature gives the binomial law). This module therefore
draws B ~ Binomial(b, 1/2) itself: for b <= 32 as the popcount of b fair random bits (exact),
above by BTRS with correct corrections (exact table for k <= 9, five Stirling terms for k >= 10,
truncation error < 7e-15), i.e. exact up to float64 rounding.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cached_property

import jax
import jax.numpy as jnp
import numpy as np

Params = dict[str, jax.Array]
NoiseState = dict[str, jax.Array]  # finite_sum: layer -> (n, *shape) table; other kinds: {}

NOISE_KINDS = ("none", "gaussian", "rademacher", "finite_sum")
MAX_TABLE_ENTRIES = 50_000_000  # cap on n_samples * d for the finite_sum table (400 MB float64)
_POPCOUNT_MAX = 32  # Binomial(b, 1/2) for b <= 32 is the popcount of b bits of one uint32


def _is_int(value) -> bool:
    return isinstance(value, int | np.integer) and not isinstance(value, bool)


def _bad(param: str, value, allowed: str) -> ValueError:
    text = repr(value)
    text = text if len(text) <= 120 else text[:117] + "..."
    return ValueError(f"{param}={text} is invalid; allowed: {allowed}")


_LOG_SQRT_2PI = 0.5 * math.log(2.0 * math.pi)
_TAIL_TABLE = np.array(
    [math.lgamma(k + 1) - (k + 0.5) * math.log(k + 1) + k + 1 for k in range(10)]
)
_TAIL_TABLE -= _LOG_SQRT_2PI


def _stirling_tail(k, xp=np):
    """log k! - [(k + 1/2) log(k + 1) - (k + 1) + log(2π)/2] for integer-valued float k >= 0.

    Exact table for k <= 9; for k >= 10 the Stirling series in x = k + 1 up to 1/(1188 x⁹),
    whose truncation error is below 691/(360360 x¹¹) <= 7e-15.
    """
    k = xp.asarray(k, dtype=xp.float64)
    x = k + 1.0
    y = 1.0 / (x * x)
    series = (1 / 12 - y * (1 / 360 - y * (1 / 1260 - y * (1 / 1680 - y / 1188)))) / x
    table = xp.asarray(_TAIL_TABLE)[xp.clip(k, 0, 9).astype(xp.int32)]
    return xp.where(k <= 9, table, series)


def _popcount_binomial(key: jax.Array, n, size: int) -> jax.Array:
    """Binomial(n, 1/2) for 1 <= n <= 32 (n static or traced): popcount of n fair bits."""
    bits = jax.random.bits(key, (size,), jnp.uint32)
    n = jnp.asarray(n, jnp.uint32)
    mask = jnp.where(n >= 32, jnp.uint32(0xFFFFFFFF), (jnp.uint32(1) << jnp.minimum(n, 31)) - 1)
    return jax.lax.population_count(bits & mask).astype(jnp.float64)


def _btrs_binomial(key: jax.Array, n, size: int) -> jax.Array:
    """Binomial(n, 1/2) for n > 32 (n static or traced) by BTRS with exact corrections."""
    n = jnp.asarray(n, jnp.float64)
    sd = jnp.sqrt(n / 4.0)
    bb = 1.15 + 2.53 * sd
    a = -0.0873 + 0.0248 * bb + 0.005
    c = n / 2.0 + 0.5
    v_r = 0.92 - 4.2 / bb
    alpha = (2.83 + 5.1 / bb) * sd
    m = jnp.floor((n + 1) / 2)  # the mode
    h_m = (
        (m + 0.5) * jnp.log((m + 1) / (n - m + 1))
        + _stirling_tail(m, jnp)
        + _stirling_tail(n - m, jnp)
    )

    def body(carry):
        key, out, done = carry
        key, ku, kv = jax.random.split(key, 3)
        u = jax.random.uniform(ku, (size,), jnp.float64) - 0.5
        v = jax.random.uniform(kv, (size,), jnp.float64)
        us = 0.5 - jnp.abs(u)
        k = jnp.floor((2.0 * a / us + bb) * u + c)
        ok = (k >= 0) & (k <= n)
        kc = jnp.clip(k, 0, n)
        log_f = (  # log(f(k)/f(m)) for the Binomial(n, 1/2) pmf f, via Stirling
            h_m
            + (n + 1) * jnp.log((n - m + 1) / (n - kc + 1))
            + (kc + 0.5) * jnp.log((n - kc + 1) / (kc + 1))
            - _stirling_tail(kc, jnp)
            - _stirling_tail(n - kc, jnp)
        )
        squeeze = (us >= 0.07) & (v <= v_r)
        accept = ok & (squeeze | (jnp.log(v * alpha / (a / (us * us) + bb)) <= log_f))
        return key, jnp.where(accept & ~done, k, out), done | accept

    init = (key, jnp.zeros((size,), jnp.float64), jnp.zeros((size,), bool))
    return jax.lax.while_loop(lambda carry: ~jnp.all(carry[2]), body, init)[1]


def _binomial_half(key: jax.Array, n, size: int) -> jax.Array:
    """Exact Binomial(n, 1/2) draws, shape (size,), float64, for n >= 1 (static or traced).

    n <= 32: popcount of the low n bits of a uniform uint32 (a sum of n fair bits). n > 32 (so
    n·p > 10): BTRS, Hörmann, "The generation of binomial random variates", J. Stat. Comput.
    Simul. 46 (1993), with p = 1/2, repeated per coordinate until accepted (first acceptance
    kept), so each coordinate is an independent exact draw and the expected cost is O(size).
    A traced n draws both and selects (BTRS then runs at max(n, 33), where it is valid).
    """
    if _is_int(n):
        if n <= _POPCOUNT_MAX:
            return _popcount_binomial(key, n, size)
        return _btrs_binomial(key, n, size)
    k_pop, k_btrs = jax.random.split(key)
    small = _popcount_binomial(k_pop, jnp.clip(n, 1, _POPCOUNT_MAX), size)
    large = _btrs_binomial(k_btrs, jnp.maximum(n, _POPCOUNT_MAX + 1), size)
    return jnp.where(n <= _POPCOUNT_MAX, small, large)


@dataclass(frozen=True, eq=False)
class Noise:
    """A per-sample noise model over a Params pytree (layer order = sorted names).

    Build it with :func:`make_noise`, which validates every field.

    Attributes:
        kind: one of ``NOISE_KINDS``.
        layer_names: sorted layer names.
        layer_shapes: shape of each layer.
        sigma_coord: per-layer float64 arrays of σ̃_j >= 0 (read-only).
        n_samples: the table size n (``finite_sum`` only, else None).
        seed: seed of the ``finite_sum`` table (numpy ``default_rng``).
    """

    kind: str
    layer_names: tuple[str, ...]
    layer_shapes: tuple[tuple[int, ...], ...]
    sigma_coord: tuple[np.ndarray, ...]
    n_samples: int | None = None
    seed: int = 0

    @property
    def dim(self) -> int:
        """Total number of coordinates d."""
        return sum(c.size for c in self.sigma_coord)

    @cached_property
    def sigma(self) -> np.ndarray:
        """Per-layer σ_i = sqrt(Σ_{j∈i} σ̃_j²), float64 array of length len(layer_names)."""
        return np.array([math.sqrt(math.fsum((c * c).ravel().tolist())) for c in self.sigma_coord])

    @cached_property
    def sigma_coord_flat(self) -> np.ndarray:
        """σ̃ as one float64 vector of length d, layers in order, each raveled C-style."""
        return np.concatenate([c.ravel() for c in self.sigma_coord])

    @property
    def structure(self) -> tuple:
        """What a compiled draw depends on besides σ̃ and the table: kind, layout, table size."""
        return (self.kind, self.layer_names, self.layer_shapes, self.n_samples)

    @property
    def bounded(self) -> bool:
        """Whether every |ξ_j(s)| is bounded (Gaussian noise is not unless σ̃ = 0)."""
        return self.kind != "gaussian" or not np.any(self.sigma_coord_flat > 0)

    @cached_property
    def coord_bound(self) -> tuple[np.ndarray, ...]:
        """Per-layer sup_s |ξ_j(s)|: 0, inf (Gaussian, σ̃_j > 0), σ̃_j, or max_k |z_kj|."""
        if self.kind == "finite_sum":
            return tuple(np.max(np.abs(z), axis=0) for z in self._table())
        if self.kind == "gaussian":
            return tuple(np.where(c > 0, np.inf, 0.0) for c in self.sigma_coord)
        scale = 0.0 if self.kind == "none" else 1.0
        return tuple(scale * c for c in self.sigma_coord)

    def _table(self) -> list[np.ndarray]:
        rng = np.random.default_rng(self.seed)
        out = []
        for shape, s in zip(self.layer_shapes, self.sigma_coord, strict=True):
            z = rng.standard_normal((self.n_samples, *shape))
            z -= z.mean(axis=0)
            rms = np.sqrt(np.mean(z * z, axis=0))
            z *= np.divide(s, rms, out=np.zeros_like(rms), where=rms > 0)
            out.append(z)
        return out

    def init(self) -> NoiseState:
        """The noise state: the (n, *shape) table per layer for ``finite_sum``, else ``{}``."""
        if self.kind != "finite_sum":
            return {}
        return {
            name: jnp.asarray(z) for name, z in zip(self.layer_names, self._table(), strict=True)
        }

    def _unflatten(self, flat: jax.Array) -> Params:
        out, start = {}, 0
        for name, shape, c in zip(
            self.layer_names, self.layer_shapes, self.sigma_coord, strict=True
        ):
            out[name] = flat[start : start + c.size].reshape(shape)
            start += c.size
        return out

    def minibatch_mean(
        self, key: jax.Array, state: NoiseState, batch_size: int, sigma: jax.Array | None = None
    ) -> Params:
        """Draw ξ̄ = (1/b) Σ_{s=1..b} ξ(s) exactly in law (see the module docstring).

        Args:
            key: a JAX PRNG key (vmap over it for independent draws; state is shared).
            state: the value of :meth:`init` (a ``finite_sum`` table must have zero column sums).
            batch_size: b, a Python int >= 1 (<= n_samples for ``finite_sum``), or a traced
                JAX integer (the runner vmaps over b = T); a traced b is not range-checked
                here, the caller validates it.
            sigma: σ̃ as one flat (d,) array (possibly traced) in place of this model's own
                ``sigma_coord_flat``, so that one compiled draw serves every σ̃ of the same
                kind and layout (the runner passes it with a traced b). ``finite_sum`` ignores
                it: its σ̃ lives in the table.

        Returns:
            Params of float64 arrays of the layer shapes. ``finite_sum`` with b > n/2 sums the
            n - b rows left out and negates (the table sums to 0), so b = n gives exactly 0.
        """
        if isinstance(batch_size, jax.Array):
            if batch_size.ndim != 0 or not jnp.issubdtype(batch_size.dtype, jnp.integer):
                raise _bad("batch_size", batch_size, "a scalar integer (Python int or JAX int)")
            return self._traced_mean(key, state, batch_size, sigma)
        max_b = self.n_samples if self.kind == "finite_sum" else math.inf
        if not _is_int(batch_size) or not 1 <= batch_size <= max_b:
            limit = f" and <= n_samples={self.n_samples}" if self.kind == "finite_sum" else ""
            raise _bad("batch_size", batch_size, f"a static Python int >= 1{limit}")
        b = int(batch_size)
        if self.kind == "none":
            return self._unflatten(jnp.zeros((self.dim,), jnp.float64))
        if self.kind == "finite_sum":
            return self._finite_sum_mean(key, state, b)
        sigma = jnp.asarray(self.sigma_coord_flat if sigma is None else sigma)
        if self.kind == "gaussian":
            flat = (sigma / math.sqrt(b)) * jax.random.normal(key, (self.dim,), jnp.float64)
        else:
            ratio = (2.0 * _binomial_half(key, b, self.dim) - b) / b  # in [-1, 1]; the clip
            flat = sigma * jnp.clip(ratio, -1.0, 1.0)  # keeps |ξ̄| <= σ̃ under XLA's rewrites
        return self._unflatten(flat)

    def _traced_mean(
        self, key: jax.Array, state: NoiseState, b: jax.Array, sigma: jax.Array | None
    ) -> Params:
        """The same laws with b a traced integer (same formulas; finite_sum by a rank mask)."""
        bf = jnp.asarray(b, jnp.float64)
        if self.kind == "none":
            return self._unflatten(jnp.zeros((self.dim,), jnp.float64))
        if self.kind == "finite_sum":
            self._check_table(state)
            # the first b entries of a uniform permutation: b distinct rows, uniformly
            perm = jax.random.permutation(key, self.n_samples)
            weight = (jnp.arange(self.n_samples) < b) / bf
            return {
                name: jnp.tensordot(weight, state[name][perm], axes=1) for name in self.layer_names
            }
        sigma = jnp.asarray(self.sigma_coord_flat if sigma is None else sigma)
        if self.kind == "gaussian":
            flat = (sigma / jnp.sqrt(bf)) * jax.random.normal(key, (self.dim,), jnp.float64)
        else:
            ratio = (2.0 * _binomial_half(key, b, self.dim) - bf) / bf
            flat = sigma * jnp.clip(ratio, -1.0, 1.0)
        return self._unflatten(flat)

    def _check_table(self, state: NoiseState) -> None:
        n = self.n_samples
        if not isinstance(state, Mapping) or set(state) != set(self.layer_names):
            raise _bad("state", state, f"the init() table, a dict with keys {self.layer_names}")
        for name, shape in zip(self.layer_names, self.layer_shapes, strict=True):
            if tuple(jnp.shape(state[name])) != (n, *shape):
                raise _bad(f"state[{name!r}].shape", jnp.shape(state[name]), str((n, *shape)))

    def _finite_sum_mean(self, key: jax.Array, state: NoiseState, b: int) -> Params:
        n = self.n_samples
        self._check_table(state)
        taken = min(b, n - b)  # rows gathered: the minibatch, or its complement
        sign = 1.0 if b <= n - b else -1.0
        if taken == 0:
            return self._unflatten(jnp.zeros((self.dim,), jnp.float64))
        idx = jax.random.choice(key, n, (taken,), replace=False)
        return {name: (sign / b) * jnp.sum(state[name][idx], axis=0) for name in self.layer_names}


def _as_float_array(value, param: str) -> np.ndarray:
    try:
        arr = np.array(value, dtype=np.float64)
    except (TypeError, ValueError):
        raise _bad(param, value, "finite non-negative real numbers") from None
    if not np.all(np.isfinite(arr)) or np.any(arr < 0):
        raise _bad(param, value, "finite non-negative real numbers")
    return arr


def _per_layer(value, names: tuple[str, ...], param: str) -> list | None:
    if isinstance(value, Mapping):
        if set(value) != set(names):
            raise _bad(f"{param} keys", list(value), f"exactly the layer names {names}")
        return [value[n] for n in names]
    if isinstance(value, list | tuple) or (isinstance(value, np.ndarray) and value.ndim >= 1):
        return list(value) if len(value) == len(names) else None
    return None


def make_noise(
    kind: str,
    layer_names,
    layer_shapes,
    *,
    sigma=None,
    sigma_coord=None,
    n_samples: int | None = None,
    seed: int = 0,
) -> Noise:
    """Validate the inputs and build a :class:`Noise`.

    Args:
        kind: one of ``NOISE_KINDS``.
        layer_names: unique layer names in sorted order (the Params layer order).
        layer_shapes: one shape per layer (tuples of ints >= 1; ``()`` is one coordinate).
        sigma: per-layer σ_i (sequence, or dict by name), spread evenly: σ̃_j = σ_i/sqrt(d_i).
        sigma_coord: per-layer arrays of σ̃_j of the layer shapes (sequence, or dict by name),
            or one flat sequence of length d in layer order. Exactly one of sigma / sigma_coord
            (kind ``none``: neither, or all zeros).
        n_samples: table size n >= 2, ``finite_sum`` only (n·d <= ``MAX_TABLE_ENTRIES``).
        seed: int >= 0, seed of the ``finite_sum`` table.

    Raises:
        ValueError: naming the parameter, its value and what is allowed.
    """
    if kind not in NOISE_KINDS:
        raise _bad("kind", kind, f"one of {NOISE_KINDS}")
    try:
        names = () if isinstance(layer_names, str) else tuple(layer_names)
    except TypeError:
        names = ()
    if not names or not all(isinstance(n, str) for n in names) or list(names) != sorted(set(names)):
        raise _bad("layer_names", layer_names, "a non-empty list of unique str, sorted")
    try:
        shapes = tuple(tuple(int(x) for x in s) for s in layer_shapes)
        valid = len(shapes) == len(names) and all(x >= 1 for s in shapes for x in s)
    except (TypeError, ValueError):
        valid = False
    if not valid:
        raise _bad("layer_shapes", layer_shapes, f"{len(names)} shapes of ints >= 1")
    sizes = [math.prod(s) for s in shapes]
    if (sigma is None) == (sigma_coord is None) and (kind != "none" or sigma is not None):
        given = "both" if sigma is not None else "neither"
        raise _bad("sigma/sigma_coord", f"{given} given", "exactly one of sigma or sigma_coord")
    if sigma is None and sigma_coord is None:
        coords = [np.zeros(s) for s in shapes]
    elif sigma is not None:
        layers = _per_layer(sigma, names, "sigma")
        arr = _as_float_array(layers if layers is not None else sigma, "sigma")
        if arr.shape != (len(names),):
            raise _bad("sigma", sigma, f"{len(names)} per-layer values")
        coords = [np.full(s, arr[i] / math.sqrt(sizes[i])) for i, s in enumerate(shapes)]
    else:
        layers = _per_layer(sigma_coord, names, "sigma_coord")
        try:
            fits = layers is not None and all(
                np.shape(x) == s for x, s in zip(layers, shapes, strict=True)
            )
        except ValueError:  # ragged nested lists
            fits = False
        if fits:
            coords = [_as_float_array(x, "sigma_coord") for x in layers]
        else:
            flat = _as_float_array(sigma_coord, "sigma_coord")
            if flat.shape != (sum(sizes),):
                allowed = f"arrays of shapes {shapes} or a flat list of d={sum(sizes)}"
                raise _bad("sigma_coord", sigma_coord, allowed)
            parts = np.split(flat, np.cumsum(sizes)[:-1])
            coords = [x.reshape(s) for x, s in zip(parts, shapes, strict=True)]
    if kind == "none" and any(np.any(c != 0) for c in coords):
        raise _bad("sigma" if sigma is not None else "sigma_coord", "nonzero", "zeros for 'none'")
    d = sum(sizes)
    if kind != "finite_sum":
        if n_samples is not None:
            raise _bad("n_samples", n_samples, f"None for kind {kind!r} (only 'finite_sum')")
    elif not _is_int(n_samples) or n_samples < 2:
        raise _bad("n_samples", n_samples, "an int >= 2 for 'finite_sum'")
    elif n_samples * d > MAX_TABLE_ENTRIES:
        cap = f"n_samples * d <= MAX_TABLE_ENTRIES={MAX_TABLE_ENTRIES} (d={d})"
        raise _bad("n_samples", n_samples, f"{cap}; got n_samples * d={n_samples * d}")
    if not _is_int(seed) or seed < 0:
        raise _bad("seed", seed, "an int >= 0")
    for c in coords:
        c.setflags(write=False)
    n = None if n_samples is None else int(n_samples)
    return Noise(kind, names, shapes, tuple(coords), n, int(seed))
