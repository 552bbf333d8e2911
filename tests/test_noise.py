"""Tests for experiments.validation.noise: exact noise scales and exact laws of the minibatch mean.

Statistical checks use fixed seeds, so they are deterministic; their tolerances are chosen so
that a *correct* sampler would also pass for almost every other seed (see the constants).
"""

import math
import re
import time

import jax
import jax.numpy as jnp
import mpmath
import numpy as np
import pytest
from scipy import stats

from experiments.validation.noise import (
    MAX_TABLE_ENTRIES,
    NOISE_KINDS,
    _stirling_tail,
    make_noise,
)

# Monte-Carlo bounds are Z standard errors: P(|N(0,1)| > 5) = 5.7e-7 per check, so the ~500
# checks below would all pass for a fresh seed with probability > 0.9997, while a wrong scale
# (e.g. sigma^2 instead of sigma^2/b, or a missing (n-b)/(n-1)) is off by many standard errors.
Z = 5.0
# Smallest accepted p-value of a goodness-of-fit test (KS, chi-square); under the null hypothesis
# the p-value is uniform, so a correct sampler fails each such test with probability 1e-5.
P_MIN = 1e-5
# Spreading sigma_i over d_i coordinates: sigma_i/sqrt(d_i) squared and summed d_i times, a few
# float64 roundings (unit roundoff 1.1e-16) relative to sigma_i^2.
SPREAD_REL = 1e-15
# Centring and rescaling the finite-sum table: O(10) roundings per entry over n <= 10^3 rows.
TABLE_REL = 1e-12
# Integrality of the recovered Rademacher sum 2B - b = xi_bar * b / sigma: three roundings of
# numbers <= 10^5 in magnitude.
INTEGER_ABS = 1e-9
# Cost at d = 10^4 of b = 10^5 against a small b on the same O(d) sampler path (Gaussian: b = 1;
# Rademacher: b = 33, the smallest b drawn by BTRS), measured ~1x: generous against timing noise.
COST_RATIO = 20.0
# Rademacher b = 10^5 (BTRS, ~1.5 proposals of two float64 uniforms per coordinate) against b = 1
# (one popcount of random bits per coordinate): measured 10-18x under load. An O(b·d) sampler
# would be ~10^4x slower, so this bound still separates O(d) from O(b·d).
COST_RATIO_FAST_PATH = 60.0

SHAPES = ((3,), (3,), ())  # layers "a", "b", "c": d = 7
NAMES = ("a", "b", "c")
SIGMA_COORD = (np.array([0.1, 1.0, 2.5]), np.array([0.0, 3.0, 1e-3]), np.array(0.7))


def _flat(out, names=NAMES):
    """Params (possibly with a leading vmap axis) -> (M, d) numpy array, layers in order."""
    return np.concatenate([np.asarray(out[n]).reshape(np.shape(out[n])[0], -1) for n in names], 1)


def _draw(noise, b, m, seed, state=None):
    keys = jax.random.split(jax.random.key(seed), m)
    state = noise.init() if state is None else state
    f = jax.jit(jax.vmap(lambda k, s: noise.minibatch_mean(k, s, b), in_axes=(0, None)))
    return _flat(f(keys, state), noise.layer_names)


def _noise(kind, **kw):
    return make_noise(kind, NAMES, SHAPES, sigma_coord=list(SIGMA_COORD), **kw)


# ---- scales -------------------------------------------------------------------------------


def test_sigma_spreading_is_exact():
    shapes = [(3,), (4, 5), (), (7, 11, 13), (1000,)]
    sigma = [0.3, 2.0, 1.5, 1e-3, 7.0]
    noise = make_noise("gaussian", ["a", "b", "c", "d", "e"], shapes, sigma=sigma)
    for s, c, shape in zip(sigma, noise.sigma_coord, shapes, strict=True):
        assert c.shape == shape and c.dtype == np.float64
        np.testing.assert_array_equal(c, s / math.sqrt(max(1, math.prod(shape))))
        assert abs(math.fsum((c * c).ravel().tolist()) - s * s) <= SPREAD_REL * s * s
    np.testing.assert_allclose(noise.sigma, sigma, rtol=SPREAD_REL, atol=0)
    assert noise.sigma_coord_flat.shape == (1 + 3 + 20 + 1001 + 1000,)


def test_sigma_coord_forms_agree():
    flat = np.concatenate([c.ravel() for c in SIGMA_COORD])
    forms = [
        list(SIGMA_COORD),
        [c.tolist() for c in SIGMA_COORD],
        dict(zip(NAMES, SIGMA_COORD, strict=True)),
        flat,
        flat.tolist(),
    ]
    for form in forms:
        noise = make_noise("rademacher", NAMES, SHAPES, sigma_coord=form)
        for c, ref in zip(noise.sigma_coord, SIGMA_COORD, strict=True):
            np.testing.assert_array_equal(c, ref)
        np.testing.assert_array_equal(noise.sigma_coord_flat, flat)
        expect = [math.sqrt(np.sum(c**2)) for c in SIGMA_COORD]
        np.testing.assert_allclose(noise.sigma, expect, rtol=1e-15)
    # multi-dimensional layers, per-layer vs flat
    shapes = [(2, 3), (4,)]
    per_layer = [np.arange(6.0).reshape(2, 3), np.array([9.0, 8.0, 7.0, 6.0])]
    a = make_noise("gaussian", ["x", "y"], shapes, sigma_coord=per_layer)
    b = make_noise("gaussian", ["x", "y"], shapes, sigma_coord=[*range(6), 9, 8, 7, 6])
    for ca, cb in zip(a.sigma_coord, b.sigma_coord, strict=True):
        np.testing.assert_array_equal(ca, cb)


def test_bounded_and_coord_bound():
    gauss, rade = _noise("gaussian"), _noise("rademacher")
    fs = _noise("finite_sum", n_samples=30)
    none = make_noise("none", NAMES, SHAPES)
    assert not gauss.bounded and rade.bounded and fs.bounded and none.bounded
    assert make_noise("gaussian", ["a"], [(2,)], sigma=[0.0]).bounded
    for got, c in zip(gauss.coord_bound, SIGMA_COORD, strict=True):
        np.testing.assert_array_equal(got, np.where(c > 0, np.inf, 0.0))
    for got, c in zip(rade.coord_bound, SIGMA_COORD, strict=True):
        np.testing.assert_array_equal(got, c)
    for got, z in zip(fs.coord_bound, fs.init().values(), strict=True):
        np.testing.assert_array_equal(got, np.max(np.abs(np.asarray(z)), axis=0))
    assert all(np.all(c == 0) for c in none.coord_bound) and none.init() == {}


# ---- gaussian -----------------------------------------------------------------------------


@pytest.mark.parametrize("b", [1, 7, 100_000])
def test_gaussian_batch_mean_law(b):
    m = 10_000
    x = _draw(_noise("gaussian"), b, m, seed=b)
    sig = np.concatenate([c.ravel() for c in SIGMA_COORD])
    assert np.all(x[:, sig == 0] == 0)
    z = x[:, sig > 0] * math.sqrt(b) / sig[sig > 0]  # iid N(0, 1) if the law is exact
    assert np.all(np.abs(z.mean(0)) <= Z / math.sqrt(m))
    assert np.all(np.abs(z.var(0, ddof=1) - 1) <= Z * math.sqrt(2 / (m - 1)))
    assert stats.kstest(z.ravel(), "norm").pvalue > P_MIN


# ---- rademacher ---------------------------------------------------------------------------


def test_stirling_tail_matches_mpmath():
    mpmath.mp.dps = 40
    ks = [*range(60), 99, 1000, 12_345, 50_000, 100_000]
    exact = [
        float(
            mpmath.loggamma(k + 1)
            - (
                (k + mpmath.mpf(1) / 2) * mpmath.log(k + 1)
                - (k + 1)
                + mpmath.log(2 * mpmath.pi) / 2
            )
        )
        for k in ks
    ]
    got = np.asarray(_stirling_tail(jnp.asarray(ks, jnp.float64), jnp))
    np.testing.assert_allclose(got, exact, rtol=0, atol=1e-14)  # series truncation < 7e-15


def test_rademacher_b1_is_plus_minus_sigma():
    x = _draw(_noise("rademacher"), 1, 4000, seed=11)
    sig = np.concatenate([c.ravel() for c in SIGMA_COORD])
    assert np.all(np.abs(x) == sig)
    frac = (x[:, sig > 0] > 0).mean(0)
    assert np.all(np.abs(frac - 0.5) <= Z * 0.5 / math.sqrt(x.shape[0]))


def _chi2_pvalue(values, dist, cells=40):
    """Chi-square p-value of integer draws against a discrete law, on ~equiprobable cells."""
    cuts = np.unique(dist.ppf(np.linspace(0, 1, cells + 1)[1:-1]))
    cdf = np.concatenate([[0.0], dist.cdf(cuts), [1.0]])
    expected = np.diff(cdf) * values.size
    observed = np.bincount(np.searchsorted(cuts, values, side="left"), minlength=expected.size)
    keep = expected > 0
    assert np.all(observed[~keep] == 0) and np.all(expected[keep] >= 5)
    expected = expected[keep] * values.size / expected[keep].sum()
    return stats.chisquare(observed[keep], expected).pvalue


@pytest.mark.parametrize("b", [1, 2, 5, 32, 33, 100, 100_000])
def test_rademacher_batch_mean_law(b):
    m = 5_000
    x = _draw(_noise("rademacher"), b, m, seed=100 + b)
    sig = np.concatenate([c.ravel() for c in SIGMA_COORD])
    assert np.all(np.abs(x) <= sig)
    s = x[:, sig > 0] * b / sig[sig > 0]  # 2B - b
    k = np.rint(s)
    assert np.max(np.abs(s - k)) <= INTEGER_ABS
    assert np.all((k + b) % 2 == 0)
    bins = ((k + b) // 2).astype(np.int64).ravel()  # B ~ Binomial(b, 1/2) iid if exact
    n = bins.size
    dist = stats.binom(b, 0.5)
    # randomised probability integral transform: exactly Uniform(0, 1) under the null
    v = np.random.default_rng(b).random(n)
    assert stats.kstest(dist.cdf(bins - 1) + v * dist.pmf(bins), "uniform").pvalue > P_MIN
    assert _chi2_pvalue(bins, dist) > P_MIN
    if b <= 5:  # every value of the PMF
        p = dist.pmf(np.arange(b + 1))
        freq = np.bincount(bins, minlength=b + 1) / n
        assert freq.size == b + 1
        assert np.all(np.abs(freq - p) <= Z * np.sqrt(p * (1 - p) / n))
    # Var xi_bar = sigma^2/b: (2B-b)^2/b has mean 1 and variance 2 - 2/b (E(2B-b)^4 = 3b^2 - 2b)
    q = s**2 / b
    assert abs(q.mean() - 1) <= Z * math.sqrt((2 - 2 / b) / n) + 1e-12
    assert np.all(np.abs(s.mean(0) / math.sqrt(b)) <= Z / math.sqrt(m))


# ---- finite sum ---------------------------------------------------------------------------


def test_finite_sum_table_is_exact():
    noise = _noise("finite_sum", n_samples=500, seed=3)
    state = noise.init()
    assert list(state) == list(NAMES)
    for name, c, shape in zip(NAMES, SIGMA_COORD, SHAPES, strict=True):
        z = np.asarray(state[name])
        assert z.shape == (500, *shape) and z.dtype == np.float64
        assert np.all(np.abs(z.mean(0)) <= TABLE_REL * c)
        np.testing.assert_allclose(np.mean(z * z, axis=0), c**2, rtol=TABLE_REL, atol=0)
    again = _noise("finite_sum", n_samples=500, seed=3).init()
    other = _noise("finite_sum", n_samples=500, seed=4).init()
    np.testing.assert_array_equal(again["a"], state["a"])
    assert not np.allclose(other["a"], state["a"])


def test_finite_sum_full_batch_is_exactly_zero():
    noise = _noise("finite_sum", n_samples=40)
    out = noise.minibatch_mean(jax.random.key(0), noise.init(), 40)
    assert all(np.all(np.asarray(v) == 0) for v in out.values())


@pytest.mark.parametrize("b", [1, 7, 20, 21, 39])
def test_finite_sum_minibatch_is_without_replacement(b):
    n, m = 40, 2000
    table = np.eye(n) - 1.0 / n  # row k is e_k - 1/n: distinct rows, zero column sums
    noise = make_noise("finite_sum", ["w"], [(n,)], sigma=[1.0], n_samples=n)
    x = _draw(noise, b, m, seed=b, state={"w": jnp.asarray(table)})
    chosen = (x + 1.0 / n) * b  # indicator of the drawn indices (times their multiplicity)
    ind = np.rint(chosen)
    assert np.max(np.abs(chosen - ind)) <= INTEGER_ABS
    assert np.all((ind == 0) | (ind == 1)) and np.all(ind.sum(1) == b)  # b distinct indices
    p = b / n  # each index is included with probability b/n (uniform subsets)
    assert np.all(np.abs(ind.mean(0) - p) <= Z * math.sqrt(p * (1 - p) / m))


@pytest.mark.parametrize("b", [1, 10, 26, 49])
def test_finite_sum_variance_and_mean(b):
    n, m = 50, 20_000
    noise = _noise("finite_sum", n_samples=n, seed=7)
    x = _draw(noise, b, m, seed=b)
    sig = np.concatenate([c.ravel() for c in SIGMA_COORD])
    bound = np.concatenate([c.ravel() for c in noise.coord_bound])
    assert np.all(np.abs(x) <= bound * (1 + 1e-12))
    assert np.all(x[:, sig == 0] == 0)
    z = x[:, sig > 0] / (sig[sig > 0] * math.sqrt((n - b) / (n - 1) / b))  # E z = 0, E z^2 = 1
    assert np.all(np.abs(z.mean(0)) <= Z / math.sqrt(m))
    q = z * z
    assert np.all(np.abs(q.mean(0) - 1) <= Z * q.std(0, ddof=1) / math.sqrt(m))


# ---- cost, jit, vmap ----------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["gaussian", "rademacher"])
def test_cost_does_not_grow_with_batch_size(kind):
    noise = make_noise(kind, ["w"], [(10_000,)], sigma=[1.0])
    keys = jax.random.split(jax.random.key(0), 4)
    sizes = (1, 33, 100_000)
    fns = {b: jax.jit(jax.vmap(lambda k, b=b: noise.minibatch_mean(k, {}, b)["w"])) for b in sizes}
    times = {b: [] for b in sizes}
    for _ in range(8):  # interleaved, so load spikes hit all; the first round compiles
        for b, f in fns.items():
            t0 = time.perf_counter()
            f(keys).block_until_ready()
            times[b].append(time.perf_counter() - t0)
    t = {b: float(np.median(times[b][1:])) for b in sizes}
    # same sampler path: Gaussian always; Rademacher BTRS for b > 32
    assert t[100_000] < COST_RATIO * (t[1] if kind == "gaussian" else t[33]), t
    assert t[100_000] < COST_RATIO_FAST_PATH * t[1], t


@pytest.mark.parametrize("kind", NOISE_KINDS)
def test_jit_and_vmap(kind):
    b = 40  # rademacher: the BTRS path; finite_sum (n = 50): the complement path
    noise = _noise(kind, n_samples=50) if kind == "finite_sum" else None
    noise = noise or (make_noise("none", NAMES, SHAPES) if kind == "none" else _noise(kind))
    state, keys = noise.init(), jax.random.split(jax.random.key(5), 4)
    jitted = jax.jit(noise.minibatch_mean, static_argnames="batch_size")
    batched = jax.jit(jax.vmap(lambda k: noise.minibatch_mean(k, state, b)))(keys)
    for i in range(keys.shape[0]):  # vmap draws what a loop over the keys draws
        one = jitted(keys[i], state, batch_size=b)
        for name, shape in zip(NAMES, SHAPES, strict=True):
            assert one[name].shape == shape and one[name].dtype == jnp.float64
            np.testing.assert_allclose(batched[name][i], one[name], rtol=1e-14, atol=1e-300)
    for name, shape in zip(NAMES, SHAPES, strict=True):
        assert batched[name].shape == (4, *shape) and batched[name].dtype == jnp.float64
    if kind != "none":
        assert len({tuple(r) for r in _flat(batched)}) == 4  # independent draws per key


# ---- bad input ----------------------------------------------------------------------------

GOOD = {"kind": "gaussian", "layer_names": ["a", "b"], "layer_shapes": [(2,), (3,)]}
GOOD["sigma"] = [1.0, 1.0]  # an override of None removes it (None means "not given")
FS = {"kind": "finite_sum"}
BAD_MAKE = [
    ({"kind": "laplace"}, "kind"),
    ({"layer_names": ["b", "a"]}, "layer_names"),
    ({"layer_names": ["a", "a"]}, "layer_names"),
    ({"layer_names": []}, "layer_names"),
    ({"layer_names": "ab"}, "layer_names"),
    ({"layer_names": ["a", 2]}, "layer_names"),
    ({"layer_shapes": [(2,)]}, "layer_shapes"),
    ({"layer_shapes": [(2,), (0,)]}, "layer_shapes"),
    ({"layer_shapes": [(2,), (-3,)]}, "layer_shapes"),
    ({"layer_shapes": [(2,), ("x",)]}, "layer_shapes"),
    ({"layer_shapes": [(2,), 3]}, "layer_shapes"),
    ({"sigma": [1.0, -1.0]}, "sigma"),
    ({"sigma": [1.0, float("nan")]}, "sigma"),
    ({"sigma": [1.0, float("inf")]}, "sigma"),
    ({"sigma": [1.0]}, "sigma"),
    ({"sigma": [1.0, "x"]}, "sigma"),
    ({"sigma": 1.0}, "sigma"),
    ({"sigma": {"a": 1.0}}, "sigma"),
    ({"sigma_coord": [0.0] * 5}, "sigma_coord"),  # both given
    ({"sigma": None}, "sigma_coord"),  # neither given
    ({"sigma": None, "sigma_coord": [1.0] * 4}, "sigma_coord"),
    ({"sigma": None, "sigma_coord": [[1.0, 1.0], [1.0, 1.0]]}, "sigma_coord"),
    ({"sigma": None, "sigma_coord": [1.0, 1.0, 1.0, 1.0, -1.0]}, "sigma_coord"),
    ({"sigma": None, "sigma_coord": [[1.0, 1.0], [1.0, -1.0, 1.0]]}, "sigma_coord"),
    ({"sigma": None, "sigma_coord": {"a": [1.0, 1.0], "z": [1.0] * 3}}, "sigma_coord"),
    ({"kind": "none"}, "sigma"),  # nonzero sigma
    ({"kind": "none", "sigma": None, "n_samples": 3}, "n_samples"),
    ({**FS}, "n_samples"),
    ({**FS, "n_samples": 1}, "n_samples"),
    ({**FS, "n_samples": 2.5}, "n_samples"),
    ({**FS, "n_samples": True}, "n_samples"),
    ({**FS, "n_samples": 10**8}, "MAX_TABLE_ENTRIES"),
    ({"n_samples": 10}, "n_samples"),
    ({"kind": "rademacher", "seed": -1}, "seed"),
    ({**FS, "n_samples": 5, "seed": 1.5}, "seed"),
]


@pytest.mark.parametrize(("override", "param"), BAD_MAKE)
def test_make_noise_rejects_bad_input(override, param):
    kwargs = {k: v for k, v in {**GOOD, **override}.items() if v is not None}
    with pytest.raises(ValueError, match=re.escape(param)):
        make_noise(**kwargs)


def test_table_cap_message_names_n_d_and_cap():
    with pytest.raises(ValueError) as err:
        make_noise("finite_sum", ["w"], [(1000,)], sigma=[1.0], n_samples=10**6)
    text = str(err.value)
    assert "n_samples" in text and "d=1000" in text and str(MAX_TABLE_ENTRIES) in text


@pytest.mark.parametrize(
    ("kind", "b"),
    [(k, b) for k in NOISE_KINDS for b in (0, -1, 2.5, True, np.float64(3.0), "jax_float64")]
    + [("finite_sum", 21)],  # b > n_samples
)
def test_minibatch_mean_rejects_bad_batch_size(kind, b):
    if b == "jax_float64":  # a JAX float scalar, made inside the test's float64 scope
        b = jnp.float64(3.0)
    kw = {"n_samples": 20} if kind == "finite_sum" else {}
    noise = make_noise(kind, NAMES, SHAPES) if kind == "none" else _noise(kind, **kw)
    with pytest.raises(ValueError, match="batch_size"):
        noise.minibatch_mean(jax.random.key(0), noise.init(), b)


def test_finite_sum_rejects_bad_state():
    noise = _noise("finite_sum", n_samples=20)
    with pytest.raises(ValueError, match="state"):
        noise.minibatch_mean(jax.random.key(0), {}, 3)
    bad = {**noise.init(), "a": jnp.zeros((19, 3))}
    with pytest.raises(ValueError, match="state"):
        noise.minibatch_mean(jax.random.key(0), bad, 3)


# -- traced batch sizes (the runner vmaps over b = T) --------------------------------------


@pytest.mark.parametrize("b", [1, 5, 32, 33, 700])
def test_traced_batch_size_has_the_same_law(b):
    """b as a traced JAX int: Rademacher variance σ̃²/b, values on the lattice σ̃(2k - b)/b."""
    noise = _noise("rademacher")
    draws = 4000
    keys = jax.random.split(jax.random.key(11 + b), draws)
    fn = jax.jit(jax.vmap(lambda k, bb: noise.minibatch_mean(k, {}, bb), in_axes=(0, None)))
    out = fn(keys, jnp.asarray(b))
    sig = noise.sigma_coord_flat
    flat = _flat(out)
    pos = sig > 0
    z = flat[:, pos] / sig[pos]  # (2B - b)/b
    lattice = (z * b + b) / 2
    np.testing.assert_allclose(lattice, np.round(lattice), atol=1e-9)
    assert np.all(np.abs(z) <= 1.0)
    var = z.var(axis=0).mean()
    # the mean over coordinates of per-coordinate variances of ±1-valued means: std error
    # ≈ sqrt(2/draws)/(b·sqrt(#coords)); 5 standard errors
    se = math.sqrt(2.0 / draws) / b / math.sqrt(pos.sum())
    assert abs(var - 1.0 / b) < Z * se + 1e-12
    if b == 5:
        counts = np.bincount(np.round(lattice).astype(int).ravel(), minlength=6)
        expected = stats.binom.pmf(np.arange(6), 5, 0.5) * counts.sum()
        assert stats.chisquare(counts, expected).pvalue > P_MIN


def test_traced_batch_size_gaussian_and_finite_sum():
    g = _noise("gaussian")
    keys = jax.random.split(jax.random.key(3), 4000)
    out = jax.jit(jax.vmap(lambda k: g.minibatch_mean(k, {}, jnp.asarray(16))))(keys)
    flat = _flat(out)
    sig = g.sigma_coord_flat
    pos = sig > 0
    ratio = (flat[:, pos] ** 2).mean(axis=0) / (sig[pos] ** 2 / 16)
    assert abs(ratio.mean() - 1) < Z * math.sqrt(2 / 4000 / pos.sum())
    fs = _noise("finite_sum", n_samples=10)
    state = fs.init()
    for b in (1, 4, 10):
        static = jax.vmap(lambda k, b=b: fs.minibatch_mean(k, state, b))(keys[:2000])
        traced = jax.jit(jax.vmap(lambda k, bb: fs.minibatch_mean(k, state, bb), (0, None)))(
            keys[:2000], jnp.asarray(b)
        )
        for name in static:
            v_static = np.asarray(static[name]).var(axis=0).mean()
            v_traced = np.asarray(traced[name]).var(axis=0).mean()
            assert v_traced == pytest.approx(v_static, rel=0.25, abs=1e-20)
        if b == 10:  # the whole table: exactly zero noise
            assert all(np.allclose(np.asarray(traced[k]), 0, atol=1e-15) for k in traced)
