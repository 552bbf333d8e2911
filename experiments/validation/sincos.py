"""cos x and sin x in float64 as vectorisable arithmetic (XLA:CPU calls a scalar routine for each).

The synthetic objectives evaluate cos and sin of every coordinate at every step of every run.
XLA:CPU lowers float64 ``sin``/``cos`` to one scalar library call per element (7-11 ns each);
here the same functions are plain multiply-adds that XLA vectorises (the validation runner at
d = 64, 256 seeds: 26.5 -> 15.8 ns per coordinate-step, interleaved runs).

Method (the textbook one, cf. Muller, *Elementary Functions*, ch. 11; the kernel coefficients
are the minimax ones of fdlibm's ``__kernel_sin``/``__kernel_cos``, |error| < 2^-58 on
[-π/4, π/4]):

1. k = round(x · 2/π) and the reduced argument y + yy = x - k·π/2 with π/2 in four pieces
   (three of 33 bits, so that every k·piece is exact for |k| < 2^20 and, after splitting
   k = kh + kl with kh a multiple of 2^20, for |k| < 2^40) - Cody and Waite's reduction,
   carried in double-double so the reduction adds almost nothing to the kernel's error;
2. sin(y + yy) ≈ y + (y z S(z) + yy (1 - z/2)) and cos(y + yy) ≈ 1 - z/2 + (z² C(z) - y yy),
   z = y², the cosine written as in fdlibm so that 1 - z/2 loses no bits;
3. the quadrant k mod 4 picks ±sin, ±cos.

Accuracy (``tests/test_sincos.py``): against NumPy's sin and cos, within 1 ulp of the value
away from the zeros and within 1 ulp of 1 everywhere (measured over 12M arguments up to 1.7e12:
97% the same double, the rest 1 ulp apart); against 60-digit mpmath at the doubles nearest to
kπ/2 (the hardest reductions; values down to 6e-17), exact. Defined for |x| < 2^40·π/2 ≈
1.7e12; beyond, the reduction would no longer be exact, and the result is NaN (as for ±inf and
NaN), which marks the run as diverged instead of returning a wrong value: the objectives' scales
are O(1), an iterate that far out has diverged.
Derivatives (custom JVP) are the exact ones, d cos = -sin dx and d sin = cos dx.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

TWO_OVER_PI = 6.36619772367581382433e-01
# π/2 = P1 + P2 + P3 + P3T, P1..P3 with 33 significant bits each (products with |k| < 2^20 exact)
P1 = 1.57079632673412561417e00
P2 = 6.07710050630396597660e-11
P3 = 2.02226624871116645580e-21
P3T = 8.47842766036889956997e-32
K_SPLIT = 2.0**20
TINY = 2.0**-26
LIMIT = 2.0**40 * (P1 + P2)  # |x| below this: |k| < 2^40 and the reduction is exact

S = (
    -1.66666666666666324348e-01,
    8.33333333332248946124e-03,
    -1.98412698298579493134e-04,
    2.75573137070700676789e-06,
    -2.50507602534068634195e-08,
    1.58969099521155010221e-10,
)
C = (
    4.16666666666666019037e-02,
    -1.38888888888741095749e-03,
    2.48015872894767294178e-05,
    -2.75573143513906633035e-07,
    2.08757232129817482790e-09,
    -1.13596475577881948265e-11,
)


def _horner(z: jax.Array, coeffs: tuple[float, ...]) -> jax.Array:
    acc = jnp.full_like(z, coeffs[-1])
    for c in reversed(coeffs[:-1]):
        acc = c + z * acc
    return acc


def _two_diff(a: jax.Array, b: jax.Array) -> tuple[jax.Array, jax.Array]:
    """a - b = s + e exactly (Knuth's TwoSum on a and -b)."""
    s = a - b
    bb = s - a
    e = (a - (s - bb)) - (b + bb)
    return s, e


def _reduce(x: jax.Array) -> tuple[jax.Array, jax.Array, jax.Array]:
    """k, and y + yy = x - k·π/2 as a double-double (|y| ≤ π/4 + tiny)."""
    k = jnp.round(x * TWO_OVER_PI)
    kh = jnp.round(k / K_SPLIT) * K_SPLIT  # ≤ 20 significant bits: kh·P_i exact
    kl = k - kh  # |kl| ≤ 2^19: kl·P_i exact
    # x - k·P1 is exact (Sterbenz, and the low bits of x are those of kh·P1's scale)
    t = (x - kh * P1) - kl * P1
    y, yy = _two_diff(t, kh * P2)
    y, e = _two_diff(y, kl * P2)
    yy = yy + e
    y, e = _two_diff(y, kh * P3)
    yy = yy + e
    y, e = _two_diff(y, kl * P3)
    yy = yy + e - k * P3T
    y, yy = y + yy, yy - ((y + yy) - y)  # renormalise: |yy| ≤ ulp(y)/2
    return k, y, yy


def _kernels(y: jax.Array, yy: jax.Array) -> tuple[jax.Array, jax.Array]:
    """cos(y + yy), sin(y + yy) for |y| ≤ π/4 (+ tiny), |yy| ≤ ulp(y)/2."""
    z = y * y
    sin = y + (y * z * _horner(z, S) + yy * (1.0 - 0.5 * z))
    hz = 0.5 * z
    w = 1.0 - hz
    cos = w + (((1.0 - w) - hz) + (z * z * _horner(z, C) - y * yy))
    return cos, sin


def _cos_sin(x: jax.Array) -> tuple[jax.Array, jax.Array]:
    k, y, yy = _reduce(x)
    c, s = _kernels(y, yy)
    ok = jnp.abs(x) < LIMIT  # False beyond the exact reduction, for ±inf and NaN
    q = jnp.where(ok, k, 0.0).astype(jnp.int64) & 3
    cos = jnp.select([q == 0, q == 1, q == 2], [c, -s, -c], s)
    sin = jnp.select([q == 0, q == 1, q == 2], [s, c, -s], -c)
    # sin x = x exactly rounded for |x| < 2^-26 (x³/6 is below half an ulp); this also keeps
    # the sign of ±0, which the reduction's sums lose
    sin = jnp.where(jnp.abs(x) < TINY, x, sin)
    return jnp.where(ok, cos, jnp.nan), jnp.where(ok, sin, jnp.nan)


@jax.custom_jvp
def _cos_sin_exact_jvp(x: jax.Array) -> tuple[jax.Array, jax.Array]:
    return _cos_sin(x)


@_cos_sin_exact_jvp.defjvp
def _cos_sin_jvp(primals, tangents):
    (x,), (dx,) = primals, tangents
    c, s = cos_sin_f64(x)
    return (c, s), (-s * dx, c * dx)


@jax.jit
def cos_sin_f64(x: jax.Array) -> tuple[jax.Array, jax.Array]:
    """(cos x, sin x) for a float64 array (see the module docstring for method and accuracy).

    Jitted so that the ~90 operations are traced once per shape rather than at every call site
    (the validation runner has 16+ per program; inlined there, tracing took 2-3x longer).
    """
    if x.dtype != jnp.float64:
        raise TypeError(f"x.dtype={x.dtype} is invalid: cos_sin_f64 takes float64 arrays")
    return _cos_sin_exact_jvp(x)
