"""experiments.validation.sincos: the objectives' float64 cos and sin, against NumPy and mpmath."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import mpmath
import numpy as np
import pytest

from experiments.validation.objectives import cos_sin
from experiments.validation.sincos import LIMIT, cos_sin_f64
from tests.tolerances import SINCOS_NEAR_ZERO_ULPS, SINCOS_ULPS

_jit = jax.jit(cos_sin_f64)


def _ulps(got: np.ndarray, want: np.ndarray) -> np.ndarray:
    return np.abs(got - want) / np.spacing(np.abs(want))


@pytest.mark.parametrize("lo, hi", [(0, 1), (1, 100), (100, 1e6), (1e6, 1e9), (1e9, 1.7e12)])
def test_within_one_ulp_of_numpy(lo, hi):
    rng = np.random.default_rng(int(hi))
    x = rng.uniform(lo, hi, 200_000) * rng.choice([-1.0, 1.0], 200_000)
    c, s = map(np.asarray, _jit(jnp.asarray(x)))
    for got, want in ((c, np.cos(x)), (s, np.sin(x))):
        away = np.abs(want) > 1e-3
        assert _ulps(got, want)[away].max() <= SINCOS_ULPS
        assert np.abs(got - want).max() <= np.spacing(1.0)  # 1 ulp of 1 everywhere
        assert (got == want).mean() > 0.9  # not merely close: mostly the same double


def test_relative_accuracy_near_the_zeros():
    """At the doubles nearest to kπ/2 (the hardest reductions), against 60-digit arithmetic."""
    mpmath.mp.dps = 60
    ks = [1, 2, 3, 7, 355, 710, 100_001, 2**19 + 1, 2**20 + 3, 123_456_789, 2**39 - 1]
    ks += [int(k) for k in np.random.default_rng(7).integers(1, 2**39, 300)]
    xs = np.array([float(mpmath.mpf(k) * mpmath.pi / 2) for k in ks])
    c, s = map(np.asarray, _jit(jnp.asarray(xs)))
    for x, ci, si in zip(xs, c, s, strict=True):
        for got, true in ((ci, mpmath.cos(mpmath.mpf(x))), (si, mpmath.sin(mpmath.mpf(x)))):
            want = float(true)
            assert abs(got - want) <= SINCOS_NEAR_ZERO_ULPS * np.spacing(abs(want)), (x, got, want)


def test_special_values():
    x = jnp.asarray([0.0, -0.0, 1e-300, -1e-20, np.inf, -np.inf, np.nan, LIMIT, -LIMIT * 2, 1e300])
    c, s = map(np.asarray, _jit(x))
    np.testing.assert_array_equal(c[:4], 1.0)
    np.testing.assert_array_equal(s[:4], np.asarray(x[:4]))
    assert np.signbit(s[1]) and not np.signbit(s[0])  # sin(±0) = ±0
    assert np.isnan(c[4:]).all() and np.isnan(s[4:]).all()  # inf, nan, beyond the exact range
    below = np.nextafter(LIMIT, 0.0)
    cb, sb = (float(v[0]) for v in _jit(jnp.asarray([below])))
    assert abs(cb - np.cos(below)) <= np.spacing(1.0)
    assert abs(sb - np.sin(below)) <= np.spacing(1.0)


def test_derivatives_are_the_exact_ones():
    x = jnp.linspace(-20.0, 20.0, 101)
    c, s = cos_sin_f64(x)
    dc = jax.vmap(jax.grad(lambda v: cos_sin_f64(v)[0]))(x)
    ds = jax.vmap(jax.grad(lambda v: cos_sin_f64(v)[1]))(x)
    np.testing.assert_array_equal(dc, -s)
    np.testing.assert_array_equal(ds, c)
    d2s = jax.vmap(jax.grad(jax.grad(lambda v: cos_sin_f64(v)[1])))(x)
    np.testing.assert_array_equal(d2s, -s)


def test_objectives_use_it_for_float64_only():
    x = jnp.linspace(-3.0, 3.0, 7)
    for a, b in zip(cos_sin(x), cos_sin_f64(x), strict=True):
        np.testing.assert_array_equal(a, b)
    c32, s32 = cos_sin(x.astype(jnp.float32))
    assert c32.dtype == s32.dtype == jnp.float32
    with pytest.raises(TypeError, match=r"x\.dtype=float32 is invalid"):
        cos_sin_f64(x.astype(jnp.float32))
