"""Synthetic objectives (experiments.validation.objectives): gradients, certified constants, f*,
bounds, input
checks, jit/vmap.

The per-objective properties run as one table, ``test_property[case-check]``, in case-major order:
every check of a case evaluates f, ∇f, jax.grad f and the exact Hessian through one cached
jit(vmap(...)) compilation on 64 points, and pytest-xdist's default scheduler hands out runs of
consecutive tests, so each case is compiled about once per file run (this keeps the file fast).
"""

from __future__ import annotations

import functools
import itertools
import json
import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from experiments.validation import hessian
from experiments.validation.objectives import (
    FAMILIES,
    Objective,
    cos_sin,
    make_objective,
    nqm_sigma_coord,
    teacher_student_estimation_points,
)
from tests.tolerances import CIS_F32_ABS, CIS_F64_ABS

# Closed-form vs autodiff gradient: the same elementary float64 ops in another order, a few ulps
# (2.2e-16) per op accumulated over sums of <= 256 terms; 1e-12 relative leaves 10^2 x margin.
GRAD_REL = 1e-12
# Certified bounds (block norms, Loewner, descent, grad_bound): eigvalsh and AD rounding is ~1e-15
# relative on these small well-scaled problems, and L_i = a_i + c_i is formed with one rounding.
CERT_REL = 1e-9
# Tightness (L_i or grad_bound attained): the Hessian at 0 is exactly L_i·I up to the ulps of
# forward-over-reverse AD; the separable gradients at π/2, 1/√3 are within ulps of their maxima.
TIGHT_REL = 1e-12
# f(teacher) for teacher-student: y and the prediction are the same float64 expression, evaluated
# eagerly vs under jit; residuals differ by rounding only (<= 1e-15), squared and averaged.
F_STAR_ABS = 1e-25
# Estimated teacher-student L vs exact eigvalsh at the estimation points: Lanczos with as many
# steps as the block size is exact up to rounding (~1e-15 relative).
ESTIMATE_REL = 1e-10
# Number of points per evaluation batch (one compilation per objective).
BATCH = 64

CONFIGS = [  # (layer sizes, L)
    ((3, 5, 2), (1.0, 2.5, 0.3)),
    ((4, 4, 4), (2.0, 2.0, 2.0)),
    ((1,), (7.0,)),
    ((6, 6), (0.5, 4.0)),
]
CASES = [  # (family, layer sizes, L, options); teacher-student first: its build is the costliest
    ("teacher_student_tanh", (64, 8), None, {}),
    *(
        (fam, sizes, L, {})
        for fam in (
            "separable_cosine",
            "separable_geman_mcclure",
            "coupled_cosine",
            "noisy_quadratic",
        )
        for sizes, L in CONFIGS
    ),
    *(("chain_cosine", sizes, L, {}) for sizes, L in CONFIGS if len(set(sizes)) == 1),
    ("chain_cosine", (5, 5, 5, 5), (1.0, 0.2, 3.0, 1.5), {"coupling": 0.9}),
    ("chain_cosine", (6, 6), (0.5, 4.0), {"coupling": 0.0}),
    ("coupled_cosine", (3, 5, 2), (1.0, 2.5, 0.3), {"m": 3, "coupling": 0.95}),
    ("coupled_cosine", (4, 4, 4, 4), (1.0, 0.2, 3.0, 1.5), {"m": 20, "coupling": 0.99}),
    ("noisy_quadratic", (3, 5, 2), (1.0, 2.5, 0.3), {"condition": 1.0}),
]
SEPARABLE = ("separable_cosine", "separable_geman_mcclure")
COUPLED = ("chain_cosine", "coupled_cosine")


def case_id(case) -> str:
    fam, sizes, _, opts = case
    extra = "".join(
        f"-{k}={v}" for k, v in sorted(opts.items()) if case[0] != "teacher_student_tanh"
    )
    return f"{fam}-{'x'.join(map(str, sizes))}{extra}"


@functools.cache
def _build(family, sizes, L, opts_items, seed=0) -> Objective:
    return make_objective(family, sizes, L, seed=seed, **dict(opts_items))


def build(family, sizes, L, opts, seed=0) -> Objective:
    return _build(family, sizes, L, tuple(sorted(opts.items())), seed)


def random_points(obj: Objective, n: int, seed: int, lo: float = 0.1, hi: float = 10.0):
    """(n, d) flat points with iid N(0, s²) coordinates, s log-uniform in [lo, hi] per point."""
    rng = np.random.default_rng(seed)
    scales = np.exp(rng.uniform(math.log(lo), math.log(hi), (n, 1)))
    return scales * rng.standard_normal((n, obj.d))


def structured_points(obj: Objective):
    """(16, d): 0, ±π/2, π, 1/√3 everywhere, 0/π alternating across layers, multiples of π/2."""
    rng = np.random.default_rng(1)
    alt = np.concatenate([np.full(n, math.pi * (i % 2)) for i, n in enumerate(obj.layer_sizes)])
    rows = [np.full(obj.d, v) for v in (0.0, math.pi / 2, -math.pi / 2, math.pi, 3**-0.5)]
    return np.stack([*rows, alt, *(math.pi / 2 * rng.integers(-4, 5, (10, obj.d)))])


ZERO_ROW, HALF_PI_ROW, INV_SQRT3_ROW = 48, 49, 52  # rows of all_points()


def all_points(obj):
    """(64, d): 48 random points at scales 0.1..10, then the 16 structured ones."""
    return np.concatenate([random_points(obj, 48, 0), structured_points(obj)])


def unflat(obj: Objective, P) -> dict:
    """Flat (B, d) NumPy points as a batched parameter dict (no JAX computation)."""
    parts = np.split(np.asarray(P), np.cumsum(obj.layer_sizes)[:-1], axis=1)
    return {
        n: jnp.asarray(a.reshape(len(P), *s))
        for n, s, a in zip(obj.layer_names, obj.layer_shapes, parts, strict=True)
    }


@functools.cache
def _evaluator(obj: Objective):
    def one(v):
        x = obj.unflatten(v)
        flat_f = lambda u: obj.value(obj.unflatten(u))  # noqa: E731
        ad = obj.flatten(jax.grad(obj.value)(x))
        return obj.value(x), obj.flatten(obj.grad(x)), ad, jax.hessian(flat_f)(v)

    return jax.jit(jax.vmap(one))


def evaluate(obj: Objective, P):
    """f, closed-form ∇f, jax.grad f (each flat) and the exact Hessian at flat points P (64, d)."""
    assert len(P) == BATCH  # one batch size: one compilation per objective
    return tuple(np.asarray(a) for a in _evaluator(obj)(jnp.asarray(P)))


def block_norms(obj: Objective, H):
    """max |λ(H_ii)| per block, shape (batch, h)."""
    ends = np.cumsum((0, *obj.layer_sizes))
    out = [
        np.max(np.abs(np.linalg.eigvalsh(H[:, a:b, a:b])), axis=-1)
        for a, b in itertools.pairwise(ends)
    ]
    return np.stack(out, axis=1)


def per_coord(obj, vals):
    """A per-layer tuple broadcast to a flat per-coordinate vector."""
    return np.repeat(np.asarray(vals, dtype=np.float64), obj.layer_sizes)


# ----------------------------------------------------------------------------- per-case checks
def check_grad_autodiff(obj, family, sizes, L, opts):
    """Closed-form ∇f equals jax.grad f at random points."""
    _, g, g_ad, _ = evaluate(obj, random_points(obj, BATCH, 3, lo=0.1, hi=3.0))
    scale = 1.0 + np.max(np.abs(g_ad), axis=1, keepdims=True)
    assert np.all(np.abs(g - g_ad) <= GRAD_REL * scale), np.max(np.abs(g - g_ad) / scale)


def check_jit_vmap(obj, family, sizes, L, opts):
    """jit(vmap(f)) over a batch equals jit(f) point by point (value and gradient)."""
    P = random_points(obj, BATCH, 4)
    vals, grads, _, _ = evaluate(obj, P)
    value, grad = jax.jit(obj.value), jax.jit(obj.grad)
    for b in (0, 17, 63):
        x = obj.unflatten(jnp.asarray(P[b]))
        np.testing.assert_allclose(vals[b], value(x), rtol=GRAD_REL, atol=GRAD_REL)
        np.testing.assert_allclose(grads[b], obj.flatten(grad(x)), rtol=GRAD_REL, atol=GRAD_REL)


def check_hessian_certified(obj, family, sizes, L, opts):
    """‖H_ii‖₂ <= L_i and λ_max(D^{-1/2} H D^{-1/2}) <= 1 at random and structured points."""
    assert obj.L_certified and obj.L == tuple(L)
    H = evaluate(obj, all_points(obj))[3]
    assert np.all(block_norms(obj, H) <= np.asarray(L) * (1 + CERT_REL))
    s = 1.0 / np.sqrt(per_coord(obj, L))
    top = np.max(np.linalg.eigvalsh(H * s[:, None] * s[None, :]), axis=-1)
    assert np.all(top <= 1 + CERT_REL), top.max()


def check_descent(obj, family, sizes, L, opts):
    """f(y) <= f(x) + <∇f(x), y - x> + Σ L_i/2 ‖y_i - x_i‖² on 256 random pairs."""
    Lc = per_coord(obj, L)
    for seed in range(4):
        X = random_points(obj, BATCH, 10 + seed)
        D = random_points(obj, BATCH, 20 + seed, lo=1e-3, hi=10.0)
        fx, gx, _, _ = evaluate(obj, X)
        fy = evaluate(obj, X + D)[0]
        inner, quad = np.sum(gx * D, axis=1), np.sum(Lc / 2 * D**2, axis=1)
        slack = fx + inner + quad - fy
        tol = CERT_REL * (np.abs(fx) + np.abs(fy) + np.abs(inner) + quad)
        assert np.all(slack >= -tol), slack.min()


def check_L_attained(obj, family, sizes, L, opts):
    """Separable families and the NQM: ‖H_ii(0)‖₂ = L_i, so the constants are tight."""
    H = evaluate(obj, all_points(obj))[3]
    np.testing.assert_allclose(block_norms(obj, H)[ZERO_ROW], L, rtol=TIGHT_REL)


def check_f_star(obj, family, sizes, L, opts):
    """f >= f* at sampled points, f(minimizer()) = f* and ∇f(minimizer()) = 0 (under jit; the
    eager teacher-student value at the teacher is checked in check_ts_seed)."""
    star = np.concatenate([a.ravel() for a in obj.to_numpy(obj.minimizer())])
    P = np.concatenate([all_points(obj)[:-1], star[None]])
    vals, grads, _, _ = evaluate(obj, P)
    assert np.all(vals >= obj.f_star)
    assert abs(vals[-1] - obj.f_star) <= F_STAR_ABS
    assert np.max(np.abs(grads[-1])) <= F_STAR_ABS**0.5


def check_grad_bound(obj, family, sizes, L, opts):
    """|∂f/∂x_j| <= grad_bound_i everywhere sampled; attained for the separable families."""
    if family == "noisy_quadratic":
        assert obj.grad_bound is None
        return
    g = np.abs(evaluate(obj, all_points(obj))[1])
    bound = per_coord(obj, obj.grad_bound)
    assert np.all(g <= bound * (1 + CERT_REL))
    if family in SEPARABLE:  # attained at π/2 (cosine) or 1/√3 (Geman-McClure)
        row = HALF_PI_ROW if family == "separable_cosine" else INV_SQRT3_ROW
        np.testing.assert_allclose(g[row], bound, rtol=TIGHT_REL)
        factor = 9 / (16 * math.sqrt(3)) if family == "separable_geman_mcclure" else 1.0
        np.testing.assert_allclose(obj.grad_bound, np.asarray(L) * factor, rtol=1e-15)


def check_separability(obj, family, sizes, L, opts):
    """Changing a neighbouring layer changes ∇_i f for the coupled families, never otherwise."""
    x = random_points(obj, 1, 8, lo=1.0, hi=1.0)[0]
    ends = np.cumsum((0, *obj.layer_sizes))
    rows = np.tile(x, (BATCH, 1))
    for i in range(obj.h):
        j = i + 1 if i + 1 < obj.h else i - 1
        rows[1 + i, ends[j] : ends[j + 1]] += 0.7
    G = evaluate(obj, rows)[1]
    coupled = family in COUPLED and opts.get("coupling", 0.5) > 0
    for i in range(obj.h):
        change = np.max(np.abs(G[1 + i, ends[i] : ends[i + 1]] - G[0, ends[i] : ends[i + 1]]))
        assert (change > 1e-3) if coupled else (change == 0.0), (i, change)


def check_interface(obj, family, sizes, L, opts):
    """Sizes, names, info as JSON, from_lists / to_numpy round trips (nested and flat lists)."""
    assert obj.family == family and obj.h == len(sizes) and obj.layer_sizes == tuple(sizes)
    assert obj.d == sum(sizes) and list(obj.layer_names) == sorted(obj.layer_names)
    assert len(obj.L) == obj.h and isinstance(obj.f_star, float) and obj.f_star == 0.0
    json.dumps(obj.info)
    rng = np.random.default_rng(2)
    arrays = [rng.standard_normal(s) for s in obj.layer_shapes]
    back = obj.to_numpy(obj.from_lists([a.tolist() for a in arrays]))
    flat_lists = obj.to_numpy(obj.from_lists([a.ravel().tolist() for a in arrays]))
    for a, b, c in zip(arrays, back, flat_lists, strict=True):
        assert b.dtype == c.dtype == np.float64
        np.testing.assert_array_equal(b, a)
        np.testing.assert_array_equal(c, a)


def check_ts_estimate(obj, family, sizes, L, opts):
    """Teacher-student: L estimated (not certified), positive, = max block norm at its points."""
    assert not obj.L_certified and obj.grad_bound is None and all(v > 0 for v in obj.L)
    assert obj.layer_names == ("layer_0", "layer_1")
    k, p = obj.info["hidden"], obj.info["inputs"]
    assert obj.layer_shapes == ((k, p), (k,))
    pts = teacher_student_estimation_points(obj)
    assert pts["layer_0"].shape == (64, k, p)
    exact = block_norms(obj, evaluate(obj, jax.vmap(obj.flatten)(pts))[3]).max(axis=0)
    np.testing.assert_allclose(obj.L, exact, rtol=ESTIMATE_REL)
    np.testing.assert_array_equal(obj.minimizer()["layer_1"], obj.info["teacher_w2"])


def check_ts_seed(obj, family, sizes, L, opts):
    """Data, teacher and hence the estimated L depend on the seed; f(teacher) = f* = 0 eagerly."""
    other = build(family, sizes, L, opts, seed=1)
    assert other.L != obj.L and other.info["teacher_w2"] != obj.info["teacher_w2"]
    assert float(other.value(other.minimizer())) <= F_STAR_ABS


def checks_for(case) -> list[str]:
    family, sizes, _, _ = case
    names = ["interface", "grad_autodiff", "f_star"]
    if sizes == CONFIGS[0][0] or family == "teacher_student_tanh":  # one config per family
        names.append("jit_vmap")
    if family == "teacher_student_tanh":
        return [*names, "ts_estimate", "ts_seed"]
    names += ["hessian_certified", "descent", "grad_bound"]
    if family in (*SEPARABLE, "noisy_quadratic"):
        names.append("L_attained")
    if len(sizes) > 1:
        names.append("separability")
    return names


PROPERTY_TABLE = [
    pytest.param(case, name, id=f"{case_id(case)}-{name}")
    for case in CASES
    for name in checks_for(case)
]


@pytest.mark.parametrize("case, check", PROPERTY_TABLE)
def test_property(case, check):
    globals()[f"check_{check}"](build(*case), *case)


# ----------------------------------------------------------------------------- HVP helpers
def test_power_iteration_and_lanczos_on_larger_blocks():
    """d = 50: Lanczos on block HVPs with steps = block size equals eigvalsh of the Hessian block,
    and power iteration (20 steps) stays below it."""
    L = (1.5, 0.7)
    obj = build("coupled_cosine", (20, 30), L, {"m": 30})
    P = random_points(obj, BATCH, 7, lo=0.3, hi=3.0)

    def norms(x):
        lz = [hessian.block_hessian_norm_lanczos(obj.value, x, n, x[n] + 1.0, 30) for n in x]
        pw = [hessian.block_hessian_norm(obj.value, x, n, x[n] + 1.0, 20) for n in x]
        return jnp.stack(lz), jnp.stack(pw)

    lz, pw = jax.jit(jax.vmap(norms))(unflat(obj, P[:4]))
    exact = block_norms(obj, evaluate(obj, P)[3])
    np.testing.assert_allclose(lz, exact[:4], rtol=1e-10)
    assert np.all(pw <= exact[:4] * (1 + CERT_REL))
    assert np.all(exact <= np.asarray(L) * (1 + CERT_REL))


def test_random_point_flatten_and_jit():
    """random_point: iid N(0, scale²), jittable; flatten/unflatten are inverse and jittable."""
    obj = build("coupled_cosine", (20, 30), (1.5, 0.7), {"m": 30})
    random_point = jax.jit(obj.random_point)
    x = random_point(
        jax.random.key(3), 2.0
    )  # typed keys (as experiments.validation.spec uses) work
    v = np.asarray(jax.jit(obj.flatten)(x))
    assert v.shape == (50,) and 1.5 < v.std() < 2.5 and abs(v.mean()) < 0.9
    back = jax.jit(obj.unflatten)(jnp.asarray(v))
    for n, a in zip(obj.layer_names, obj.to_numpy(x), strict=True):
        np.testing.assert_array_equal(back[n], a)
    assert not np.any(obj.flatten(random_point(jax.random.key(3), 0.0)))


@jax.jit
def _dense_norms(A, v0):
    """Lanczos (size steps) and power iteration (300 steps) on a dense symmetric matrix."""
    power = hessian.block_hessian_norm(lambda x: 0.5 * x["a"] @ A @ x["a"], {"a": v0}, "a", v0, 300)
    return hessian.lanczos_norm(lambda v: A @ v, v0, v0.shape[0]), power


@pytest.mark.parametrize("matrix", ["identity", "rank1", "repeated", "pm", "zero", "random"])
def test_lanczos_and_power_iteration_dense(matrix):
    """Lanczos is exact with breakdowns (identity, low rank, repeated, ±λ, 0); power iteration
    never exceeds the norm and converges when the top eigenvalue is separated."""
    rng = np.random.default_rng(0)
    n, Q = 12, np.linalg.qr(np.random.default_rng(0).standard_normal((12, 12)))[0]
    u = rng.standard_normal(n)
    A = {
        "identity": np.eye(n),
        "rank1": np.outer(u, u),
        "repeated": Q @ np.diag([3.0] * 4 + [1.0] * 8) @ Q.T,
        "pm": Q @ np.diag([-2.0, 2.0] + [0.5] * 10) @ Q.T,
        "zero": np.zeros((n, n)),
        "random": (lambda M: M + M.T)(rng.standard_normal((n, n))),
    }[matrix]
    lanczos, power = _dense_norms(jnp.asarray(A), jnp.asarray(rng.standard_normal(n)))
    want = np.max(np.abs(np.linalg.eigvalsh(A)))
    np.testing.assert_allclose(lanczos, want, rtol=1e-12, atol=1e-14)
    assert power <= want * (1 + 1e-12) + 1e-14
    if matrix != "random":  # |λ_1| / |λ_2| >= 1.5 here: 300 power steps converge (|±λ| too)
        np.testing.assert_allclose(power, want, rtol=1e-12, atol=1e-14)


# ----------------------------------------------------------------------------- family constants
@pytest.mark.parametrize("family", COUPLED)
def test_coupled_constants(family):
    L = (1.0, 3.0, 2.0)
    obj = build(family, (4, 4, 4), L, {"coupling": 0.6})
    a, kappa = np.asarray(obj.info["a"]), obj.info["kappa"]
    assert np.all(a > 0) and kappa > 0 and obj.L == L
    if family == "chain_cosine":
        np.testing.assert_allclose(kappa, 0.6 * 1.0 / 4.0, rtol=1e-15)
        np.testing.assert_allclose(a + 2 * kappa * np.array([1, 2, 1]), L, rtol=1e-15)
    else:
        np.testing.assert_allclose(np.max((np.asarray(L) - a) / L), 0.6, rtol=1e-12)
        W = np.asarray(obj.info["W"])
        np.testing.assert_allclose(np.linalg.norm(W, axis=1), 1.0, rtol=1e-14)
    if family == "coupled_cosine":  # W is drawn from the seed
        assert build(family, (4, 4, 4), L, {"coupling": 0.6}, seed=1).info["W"] != obj.info["W"]
    sep = build(family, (4, 4, 4), L, {"coupling": 0.0})
    assert sep.info["kappa"] == 0.0 and sep.info["a"] == list(L)
    assert build(family, (5,), (2.0,), {}).L == (2.0,)


# ----------------------------------------------------------------------------- NQM, teacher-student
def test_nqm_curvatures_and_sigma():
    obj = build("noisy_quadratic", (3, 1, 5), (2.0, 1.0, 10.0), {"condition": 16.0})
    curv = obj.info["curvatures"]
    np.testing.assert_allclose(curv[0], [2.0, 0.5, 0.125], rtol=1e-15)
    assert curv[1] == [1.0] and max(curv[2]) == 10.0
    np.testing.assert_allclose(min(curv[2]), 10.0 / 16.0, rtol=1e-15)
    sig = nqm_sigma_coord(obj, 0.5)
    for s, c in zip(sig, curv, strict=True):
        np.testing.assert_allclose(s, 0.5 * np.sqrt(c), rtol=1e-15)
    with pytest.raises(ValueError, match=r"scale=-1\.0"):
        nqm_sigma_coord(obj, -1.0)
    with pytest.raises(ValueError, match="objective='separable_cosine'"):
        nqm_sigma_coord(build("separable_cosine", (2,), (1.0,), {}), 1.0)


# ----------------------------------------------------------------------------- interface, bad input
def test_layer_name_padding():
    obj = build("separable_cosine", (1,) * 12, (1.0,) * 12, {})
    assert obj.layer_names[0] == "layer_00" and obj.layer_names[-1] == "layer_11"
    assert list(obj.layer_names) == sorted(obj.layer_names)
    many = make_objective("noisy_quadratic", [2] * 101, [1.0] * 101)
    assert many.layer_names[-1] == "layer_100" and list(many.layer_names) == sorted(
        many.layer_names
    )
    assert set(FAMILIES) == {
        "separable_cosine",
        "separable_geman_mcclure",
        "chain_cosine",
        "coupled_cosine",
        "noisy_quadratic",
        "teacher_student_tanh",
    }


# ----------------------------------------------------------------------------- bad input
BAD = [  # (family, layer_sizes, L, kwargs, pattern)
    ("nope", (2,), (1.0,), {}, r"family='nope' is invalid: expected one of \['chain_cosine'"),
    ("separable_cosine", (2, 3), (1.0,), {}, r"L=\(1\.0,\) is invalid: must be a sequence of 2"),
    ("separable_cosine", (2,), (0.0,), {}, r"L\[0\]=0\.0 is invalid: .*\(0\.0, inf\)"),
    ("separable_cosine", (2,), (-1.0,), {}, r"L\[0\]=-1\.0 is invalid"),
    ("separable_cosine", (2,), (math.nan,), {}, r"L\[0\]=nan is invalid"),
    ("separable_cosine", (2,), (math.inf,), {}, r"L\[0\]=inf is invalid"),
    ("separable_cosine", (2,), None, {}, r"L=None is invalid: family 'separable_cosine' needs"),
    ("separable_cosine", (2,), "1", {}, r"L='1' is invalid"),
    ("separable_cosine", (0,), (1.0,), {}, r"layer_sizes\[0\]=0 is invalid: .*integer >= 1"),
    ("separable_cosine", (2.5,), (1.0,), {}, r"layer_sizes\[0\]=2\.5 is invalid"),
    ("separable_cosine", (), (), {}, r"layer_sizes=\(\) is invalid: must be a non-empty"),
    ("separable_cosine", 3, (1.0,), {}, r"layer_sizes=3 is invalid"),
    ("separable_cosine", (2,), (1.0,), {"coupling": 0.5}, r"options=\['coupling'\] is invalid"),
    ("separable_geman_mcclure", (2,), (1.0,), {"seed": -1}, r"seed=-1 is invalid"),
    ("chain_cosine", (2, 3), (1.0, 1.0), {}, r"layer_sizes=\(2, 3\) is invalid: .*all layer"),
    ("chain_cosine", (2, 2), (1.0, 1.0), {"coupling": 1.0}, r"coupling=1\.0 is invalid: .*\[0"),
    ("chain_cosine", (2, 2), (1.0, 1.0), {"coupling": -0.1}, r"coupling=-0\.1 is invalid"),
    ("chain_cosine", (2, 2), (1.0, 1.0), {"m": 3}, r"options=\['m'\] is invalid: .*allowed"),
    ("coupled_cosine", (2, 2), (1.0, 1.0), {"m": 0}, r"m=0 is invalid: must be an integer >= 1"),
    ("coupled_cosine", (2, 2), (1.0, 1.0), {"coupling": math.nan}, r"coupling=nan is invalid"),
    ("coupled_cosine", (2, 2), (1.0, 1.0), {"m": 2.5}, r"m=2\.5 is invalid: must be an integer"),
    ("noisy_quadratic", (2,), (1.0,), {"condition": 0.5}, r"condition=0\.5 is invalid"),
    ("noisy_quadratic", (2,), (1.0,), {"condition": math.inf}, r"condition=inf is invalid"),
    ("teacher_student_tanh", (64, 8), (1.0, 1.0), {}, r"L=\(1\.0, 1\.0\) is invalid: .*estimated"),
    ("teacher_student_tanh", (8, 8), None, {}, r"layer_sizes=\(8, 8\) is invalid: .*\(64, 8\)"),
    ("teacher_student_tanh", (6, 2), None, {"inputs": 3, "hidden": 0}, r"hidden=0 is invalid"),
    ("teacher_student_tanh", (64, 8), None, {"n_samples": 0}, r"n_samples=0 is invalid"),
    ("teacher_student_tanh", (64, 8), None, {"inputs": -2}, r"inputs=-2 is invalid"),
    ("teacher_student_tanh", (64, 8), None, {"teacher_scale": 0.0}, r"teacher_scale=0\.0 is inv"),
    ("teacher_student_tanh", (64, 8), None, {"width": 3}, r"options=\['width'\] is invalid"),
]


@pytest.mark.parametrize("family, sizes, L, kwargs, pattern", BAD)
def test_bad_input(family, sizes, L, kwargs, pattern):
    with pytest.raises(ValueError, match=pattern):
        make_objective(family, sizes, L, **kwargs)


def test_bad_points():
    obj = build("separable_cosine", (2, 3), (1.0, 1.0), {})
    with pytest.raises(ValueError, match=r"per_layer_lists=.* is invalid: needs 2 layers"):
        obj.from_lists([[0.0, 0.0]])
    with pytest.raises(ValueError, match=r"per_layer_lists\[1\]=.*needs shape \(3,\)"):
        obj.from_lists([[0.0, 0.0], [1.0]])
    with pytest.raises(ValueError, match=r"per_layer_lists\[0\]=.*finite"):
        obj.from_lists([[0.0, math.nan], [1.0, 2.0, 3.0]])
    with pytest.raises(ValueError, match=r"scale=-1\.0 is invalid"):
        obj.random_point(jax.random.PRNGKey(0), -1.0)
    with pytest.raises(ValueError, match=r"params=\['a'\] is invalid"):
        obj.to_numpy({"a": jnp.zeros(2)})
    with pytest.raises(ValueError, match="objective='separable_cosine'"):
        teacher_student_estimation_points(obj)


def test_cos_sin_matches_jnp_cos_and_sin():
    """The objectives' shared (cos x, sin x) pair (float64: experiments.validation.sincos; float32:
    e^{ix})
    is jnp's within 2 ulps of 1, eagerly and under jit, for small, large, negative and zero
    arguments (tests/test_sincos.py holds the float64 code to 1 ulp of NumPy)."""
    x = np.concatenate([np.linspace(-40.0, 40.0, 4001), [0.0, -0.0, 1e-300, np.pi / 2, 1e6 + 0.5]])
    for dtype, tol in ((jnp.float64, CIS_F64_ABS), (jnp.float32, CIS_F32_ABS)):
        xs = jnp.asarray(x, dtype)
        for fn in (cos_sin, jax.jit(cos_sin)):
            c, s = fn(xs)
            assert c.dtype == s.dtype == dtype
            np.testing.assert_allclose(c, jnp.cos(xs), rtol=0, atol=tol)
            np.testing.assert_allclose(s, jnp.sin(xs), rtol=0, atol=tol)
