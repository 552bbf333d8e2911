"""Synthetic smooth objectives in float64 with exact per-layer smoothness constants.

Every family is a function f of x = (x_1, …, x_h), one block (layer) per entry of a dict keyed by
layer name (layer order = sorted key order), with a known global minimum f*, a closed-form
gradient and per-layer constants L_i satisfying the *block descent inequality*

    f(y) <= f(x) + <∇f(x), y - x> + Σ_i L_i/2 ‖y_i - x_i‖²      for all x, y,

which for C² functions is equivalent to ∇²f(x) ⪯ D = blockdiag(L_i I) in Loewner order. For the
certified families the block Hessians also satisfy ‖∇²_ii f(x)‖₂ <= L_i everywhere. The separable
families additionally satisfy Assumption 2 of You et al. (ICLR 2020) literally,
‖∇_i f(x) - ∇_i f(y)‖ <= L_i ‖x_i - y_i‖; no coupled function can (that reading forces
∇_i f to depend on x_i only), so the coupled families certify only the block descent inequality.

Families: ``separable_cosine``, ``separable_geman_mcclure``, ``chain_cosine``, ``coupled_cosine``,
``noisy_quadratic`` (Zhang et al. 2019) and ``teacher_student_tanh`` (L estimated, not certified).
"""

from __future__ import annotations

import dataclasses
import functools
import math
import numbers
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from experiments.validation.hessian import block_hessian_norm_lanczos
from experiments.validation.sincos import cos_sin_f64

Params = dict[str, jax.Array]

# Teacher-student L estimate: sampled points (3 scales x 16 random + 16 on the segment from the
# teacher to a random point) and Lanczos steps per point and block; 64 makes the estimate exact
# (to rounding) for blocks of <= 64 coordinates (the default k·p = 64) and cheap (< 1 s).
TS_SCALES = (0.5, 1.0, 2.0)
TS_POINTS_PER_SCALE = 16
TS_SEGMENT_POINTS = 16
TS_LANCZOS_STEPS = 64


@dataclass(frozen=True, eq=False)
class Objective:
    """A smooth objective with per-layer constants; see the module docstring for the contract.

    Attributes:
        family: family name (a key of ``FAMILIES``).
        layer_names: the dict keys, sorted order = layer order.
        layer_shapes: shape of each layer's array.
        L: per-layer block-smoothness constants L_i (block descent inequality).
        L_certified: True if the L_i are proven, False if estimated (teacher-student).
        f_star: exact global minimum value f*.
        grad_bound: per layer, sup_x max_j |∂f/∂x_j| over coordinates j of that layer; None when
            the gradient is unbounded.
        value: f, jittable and vmappable (``value_fn`` with this instance's ``params``).
        grad: closed-form ∇f (not ``jax.grad``), jittable and vmappable.
        info: family parameters (JSON-serialisable) for provenance.
        structure: what the code of ``value_fn``/``grad_fn`` depends on besides ``params``:
            family, layer names and shapes, and the options that fix array shapes (hashable).
            Two objectives with equal ``structure`` share one compiled runner.
        params: the instance's numbers (L_i, couplings, curvatures, data), a pytree of float64
            arrays, passed to the runner as traced arguments.
        value_fn, grad_fn: ``(params, x) ↦ f(x)`` and ``↦ ∇f(x)``, pure in ``params``.
    """

    family: str
    layer_names: tuple[str, ...]
    layer_shapes: tuple[tuple[int, ...], ...]
    L: tuple[float, ...]
    L_certified: bool
    f_star: float
    grad_bound: tuple[float, ...] | None
    value: Callable[[Params], jax.Array]
    grad: Callable[[Params], Params]
    info: Mapping[str, Any]
    structure: tuple = ()
    params: Any = field(default=None, repr=False)
    value_fn: Callable[[Any, Params], jax.Array] | None = field(default=None, repr=False)
    grad_fn: Callable[[Any, Params], Params] | None = field(default=None, repr=False)
    _x_star: tuple[np.ndarray, ...] | None = field(default=None, repr=False)

    @property
    def layer_sizes(self) -> tuple[int, ...]:
        return tuple(math.prod(s) for s in self.layer_shapes)

    @property
    def d(self) -> int:
        return sum(self.layer_sizes)

    @property
    def h(self) -> int:
        return len(self.layer_names)

    def minimizer(self) -> Params:
        """A global minimiser x* (f(x*) = f*): 0, or the teacher for ``teacher_student_tanh``."""
        if self._x_star is None:
            return {
                n: jnp.zeros(s, jnp.float64)
                for n, s in zip(self.layer_names, self.layer_shapes, strict=True)
            }
        return {n: jnp.asarray(v) for n, v in zip(self.layer_names, self._x_star, strict=True)}

    def random_point(self, key: jax.Array, scale: float = 1.0) -> Params:
        """A point with iid N(0, scale²) coordinates drawn from the JAX PRNG ``key``."""
        if isinstance(scale, numbers.Real) and not (math.isfinite(scale) and scale >= 0):
            _fail("scale", scale, "must be a finite number >= 0")
        keys = jax.random.split(key, self.h)
        return {
            n: scale * jax.random.normal(k, s, jnp.float64)
            for n, s, k in zip(self.layer_names, self.layer_shapes, keys, strict=True)
        }

    def from_lists(self, per_layer_lists: Sequence[Any]) -> Params:
        """An explicit point from one nested list (layer shape, or flat of layer size) per layer."""
        if len(per_layer_lists) != self.h:
            _fail("per_layer_lists", f"<{len(per_layer_lists)} layers>", f"needs {self.h} layers")
        out = {}
        for i, (n, s, v) in enumerate(
            zip(self.layer_names, self.layer_shapes, per_layer_lists, strict=True)
        ):
            a = np.asarray(v, dtype=np.float64)
            if a.shape != s and a.shape != (math.prod(s),):
                _fail(f"per_layer_lists[{i}]", f"<shape {a.shape}>", f"needs shape {s}")
            if not np.all(np.isfinite(a)):
                _fail(f"per_layer_lists[{i}]", v, "entries must be finite")
            out[n] = jnp.asarray(a.reshape(s))
        return out

    def to_numpy(self, params: Params) -> list[np.ndarray]:
        """The layers of ``params`` as NumPy arrays, in layer order."""
        if set(params) != set(self.layer_names):
            _fail("params", sorted(params), f"needs the keys {list(self.layer_names)}")
        return [np.asarray(params[n]) for n in self.layer_names]

    def flatten(self, params: Params) -> jax.Array:
        """x as one vector of length d (layers concatenated in order, each raveled row-major)."""
        return jnp.concatenate([jnp.ravel(params[n]) for n in self.layer_names])

    def unflatten(self, vec: jax.Array) -> Params:
        """Inverse of :meth:`flatten`."""
        ends = np.cumsum(self.layer_sizes)[:-1].tolist()
        parts = jnp.split(vec, ends)
        return {
            n: p.reshape(s)
            for n, s, p in zip(self.layer_names, self.layer_shapes, parts, strict=True)
        }


# ----------------------------------------------------------------------------- validation
def _fail(name: str, value: Any, allowed: str) -> None:
    raise ValueError(f"{name}={value!r} is invalid: {allowed}")


def _integer(name: str, v: Any, low: int) -> int:
    if isinstance(v, bool) or not isinstance(v, numbers.Integral) or v < low:
        _fail(name, v, f"must be an integer >= {low}")
    return int(v)


def _real(name: str, v: Any, low: float, high: float, *, low_open: bool, high_open: bool):
    ok = isinstance(v, numbers.Real) and not isinstance(v, bool) and math.isfinite(v)
    if ok:
        ok = (v > low if low_open else v >= low) and (v < high if high_open else v <= high)
    if not ok:
        lo, hi = "(" if low_open else "[", ")" if high_open else "]"
        _fail(name, v, f"must be a finite real number in {lo}{low}, {high}{hi}")
    return float(v)


def _sizes(layer_sizes: Any) -> tuple[int, ...]:
    if isinstance(layer_sizes, str | bytes) or not isinstance(layer_sizes, Sequence | np.ndarray):
        _fail("layer_sizes", layer_sizes, "must be a non-empty sequence of integers >= 1")
    if len(layer_sizes) == 0:
        _fail("layer_sizes", layer_sizes, "must be a non-empty sequence of integers >= 1")
    return tuple(_integer(f"layer_sizes[{i}]", s, 1) for i, s in enumerate(layer_sizes))


def _Ls(family: str, L: Any, h: int) -> tuple[float, ...]:
    if L is None:
        _fail("L", L, f"family {family!r} needs one constant L_i > 0 per layer ({h} values)")
    if isinstance(L, str | bytes) or not isinstance(L, Sequence | np.ndarray) or len(L) != h:
        _fail("L", L, f"must be a sequence of {h} finite numbers > 0 (one per layer)")
    return tuple(
        _real(f"L[{i}]", v, 0.0, math.inf, low_open=True, high_open=True) for i, v in enumerate(L)
    )


def _options(family: str, given: Mapping[str, Any], defaults: Mapping[str, Any]) -> dict:
    unknown = sorted(set(given) - set(defaults))
    if unknown:
        _fail("options", unknown, f"unknown for family {family!r}; allowed: {sorted(defaults)}")
    return {**defaults, **given}


def _layer_names(h: int) -> tuple[str, ...]:
    width = max(2, len(str(h - 1)))
    return tuple(f"layer_{i:0{width}d}" for i in range(h))


def _objective(family, sizes, L, grad_bound, fns, params, info, **kw) -> Objective:
    """An Objective from its pure functions ``fns = (value_fn, grad_fn)`` and ``params``.

    ``structure`` is (family, names, shapes, *kw["static"]): everything the functions' code
    depends on besides ``params``.
    """
    names = kw.pop("names", _layer_names(len(sizes)))
    shapes = kw.pop("shapes", tuple((n,) for n in sizes))
    value_fn, grad_fn = fns
    params = jax.tree.map(lambda a: np.asarray(a, np.float64), params)
    return Objective(
        family=family,
        layer_names=names,
        layer_shapes=shapes,
        L=tuple(float(v) for v in L),
        L_certified=kw.pop("certified", True),
        f_star=0.0,
        grad_bound=None if grad_bound is None else tuple(float(g) for g in grad_bound),
        value=functools.partial(value_fn, params),
        grad=functools.partial(grad_fn, params),
        info=info,
        structure=(family, names, shapes, *kw.pop("static", ())),
        params=params,
        value_fn=value_fn,
        grad_fn=grad_fn,
        **kw,
    )


def cos_sin(x: jax.Array) -> tuple[jax.Array, jax.Array]:
    """(cos x, sin x) of one array, computed together.

    float64 (the validation runs): :func:`experiments.validation.sincos.cos_sin_f64`, vectorisable
    arithmetic within 1 ulp of NumPy's cos and sin (XLA:CPU's own float64 sin and cos are
    scalar calls, 7-11 ns per element); NaN for |x| ≥ 1.7e12, where its reduction is no longer
    exact. Other dtypes: both read off one e^{ix} (XLA evaluates each once and ``value`` and
    ``grad`` share them). Tested in ``tests/test_sincos.py`` and ``tests/test_objectives.py``.
    """
    x = jnp.asarray(x)
    if x.dtype == jnp.float64:
        return cos_sin_f64(x)
    z = jnp.exp(jax.lax.complex(jnp.zeros_like(x), x))
    return z.real, z.imag


def _one_minus_cos(x: jax.Array) -> jax.Array:
    return 1.0 - cos_sin(x)[0]


def _sin(x: jax.Array) -> jax.Array:
    return cos_sin(x)[1]


# ----------------------------------------------------------------------------- separable
def _separable(family, layer_sizes, L, seed, options, phi, dphi, gb_factor) -> Objective:
    sizes = _sizes(layer_sizes)
    Ls = _Ls(family, L, len(sizes))
    _integer("seed", seed, 0), _options(family, options, {})
    names = _layer_names(len(sizes))
    ends = np.cumsum(sizes)[:-1].tolist()

    # φ and φ' of all layers in one call on the concatenated coordinates (elementwise, so the
    # same values): one copy of the float64 cos/sin kernel in the compiled runner, not h
    def value(p, x: Params) -> jax.Array:
        parts = jnp.split(phi(jnp.concatenate([x[n] for n in names])), ends)
        return sum(p["L"][i] * jnp.sum(v) for i, v in enumerate(parts))

    def grad(p, x: Params) -> Params:
        parts = jnp.split(dphi(jnp.concatenate([x[n] for n in names])), ends)
        return {n: p["L"][i] * v for i, (n, v) in enumerate(zip(names, parts, strict=True))}

    gb = [gb_factor * li for li in Ls]
    return _objective(family, sizes, Ls, gb, (value, grad), {"L": np.asarray(Ls)}, {})


def separable_cosine(layer_sizes, L, *, seed: int = 0, **options) -> Objective:
    """f(x) = Σ_i L_i Σ_j (1 - cos x_ij).

    ∇²f = diag(L_i cos x_ij), so ‖∇²_ii f‖₂ <= L_i with equality at x = 0 (L_i exact); f* = 0 at
    x = 0; nonconvex (cos x < 0 for |x| ∈ (π/2, 3π/2)); |∂f/∂x_ij| = L_i |sin x_ij| <= L_i,
    attained at x_ij = π/2, so grad_bound_i = L_i.
    """
    return _separable(
        "separable_cosine", layer_sizes, L, seed, options,
        _one_minus_cos, _sin, 1.0,
    )  # fmt: skip


def separable_geman_mcclure(layer_sizes, L, *, seed: int = 0, **options) -> Objective:
    """f(x) = Σ_i (L_i/2) Σ_j x_ij²/(1 + x_ij²)  (Geman-McClure).

    With g(t) = t²/(1+t²): g'(t) = 2t/(1+t²)², g''(t) = (2 - 6t²)/(1+t²)³, whose range is
    [-1/2, 2] (minimum at t² = 1, maximum at 0), so ‖∇²_ii f‖₂ <= (L_i/2)·2 = L_i, attained at 0.
    Nonconvex for |t| > 1/√3; f* = 0 at 0. ∂f/∂x = L_i t/(1+t²)² is extremal at t = ±1/√3, so
    grad_bound_i = L_i · 9/(16√3).
    """
    return _separable(
        "separable_geman_mcclure", layer_sizes, L, seed, options,
        lambda x: 0.5 * x**2 / (1.0 + x**2), lambda x: x / (1.0 + x**2) ** 2,
        9.0 / (16.0 * math.sqrt(3.0)),
    )  # fmt: skip


# ----------------------------------------------------------------------------- coupled
def chain_cosine(layer_sizes, L, *, seed: int = 0, **options) -> Objective:
    """f(x) = Σ_i a_i Σ_j (1 - cos x_ij) + κ Σ_{i<h} Σ_j (1 - cos(x_ij - x_{i+1,j})).

    Needs equal layer sizes. Option ``coupling`` ∈ [0, 1) (default 0.5). For coordinate j the
    coupling Hessian is κ Σ_edges cos(·)(e_i - e_{i+1})(e_i - e_{i+1})ᵀ ⪯ κ·(chain Laplacian)
    ⪯ 2κ·Deg (since (u - v)² <= 2u² + 2v²), so ∇²f ⪯ diag(a_i + 2κ deg_i) and L_i =
    a_i + 2κ deg_i. With κ = coupling·min L / (2 max deg) and a_i = L_i - 2κ deg_i >=
    (1 - coupling) L_i > 0 the certified L equals the requested one. Also ‖∇²_ii f‖₂ <=
    a_i + κ deg_i <= L_i; grad_bound_i = a_i + κ deg_i; f* = 0 at 0.

    Satisfies the block descent inequality but not Assumption 2 read literally (∇_i f depends on
    the neighbouring layers).
    """
    sizes, _ = _sizes(layer_sizes), _integer("seed", seed, 0)
    Ls, h = _Ls("chain_cosine", L, len(sizes)), len(sizes)
    opts = _options("chain_cosine", options, OPTION_DEFAULTS["chain_cosine"])
    c = _real("coupling", opts["coupling"], 0.0, 1.0, low_open=False, high_open=True)
    if len(set(sizes)) != 1:
        _fail("layer_sizes", layer_sizes, "chain_cosine needs all layer sizes equal")
    deg = np.array([(i > 0) + (i < h - 1) for i in range(h)], dtype=np.float64)
    kappa = c * min(Ls) / (2.0 * deg.max()) if h > 1 else 0.0
    a = np.asarray(Ls) - 2.0 * kappa * deg
    names = _layer_names(h)

    def value(p, x: Params) -> jax.Array:
        X, a_col, kappa = jnp.stack([x[n] for n in names]), p["a"][:, None], p["kappa"]
        return jnp.sum(a_col * _one_minus_cos(X)) + kappa * jnp.sum(_one_minus_cos(X[:-1] - X[1:]))

    def grad(p, x: Params) -> Params:
        X, a_col = jnp.stack([x[n] for n in names]), p["a"][:, None]
        S = p["kappa"] * _sin(X[:-1] - X[1:])
        G = a_col * _sin(X) + jnp.pad(S, ((0, 1), (0, 0))) - jnp.pad(S, ((1, 0), (0, 0)))
        return {n: G[i] for i, n in enumerate(names)}

    info = {"coupling": c, "kappa": kappa, "a": a.tolist(), "deg": deg.tolist()}
    params = {"a": a, "kappa": kappa}
    return _objective("chain_cosine", sizes, Ls, a + kappa * deg, (value, grad), params, info)


def coupled_cosine(layer_sizes, L, *, seed: int = 0, **options) -> Objective:
    """f(x) = Σ_i a_i Σ_j (1 - cos x_ij) + κ Σ_{k=1}^m (1 - cos(w_kᵀ x)).

    W (m x d) has iid N(0, 1) entries from ``seed``, rows normalised to ‖w_k‖ = 1; options ``m``
    (default 8) and ``coupling`` ∈ [0, 1) (default 0.5). The coupling Hessian
    κ Σ_k cos(w_kᵀx) w_k w_kᵀ ⪯ κ M with M = WᵀW, and any symmetric M satisfies
    xᵀMx <= Σ_i (Σ_j ‖M_ij‖₂) ‖x_i‖², so with c_i = κ Σ_j ‖M_ij‖₂ we have ∇²f ⪯ diag(a_i + c_i).
    κ makes max_i c_i/L_i = coupling and a_i = L_i - c_i, so the certified L equals the requested
    one; ‖∇²_ii f‖₂ <= a_i + κ‖M_ii‖₂ <= L_i. grad_bound_i = a_i + κ max_{j ∈ layer i} Σ_k |W_kj|;
    f* = 0 at 0.

    Satisfies the block descent inequality but not Assumption 2 read literally (∇_i f depends on
    all layers through W).
    """
    sizes, seed = _sizes(layer_sizes), _integer("seed", seed, 0)
    Ls, h = _Ls("coupled_cosine", L, len(sizes)), len(sizes)
    opts = _options("coupled_cosine", options, OPTION_DEFAULTS["coupled_cosine"])
    m = _integer("m", opts["m"], 1)
    c = _real("coupling", opts["coupling"], 0.0, 1.0, low_open=False, high_open=True)
    W = np.random.default_rng(seed).standard_normal((m, sum(sizes)))
    W /= np.linalg.norm(W, axis=1, keepdims=True)
    blocks = np.split(W, np.cumsum(sizes)[:-1], axis=1)
    s = np.array([sum(np.linalg.norm(bi.T @ bj, 2) for bj in blocks) for bi in blocks])
    kappa = c / float(np.max(s / np.asarray(Ls)))
    a = np.asarray(Ls) - kappa * s
    names = _layer_names(h)

    def value(p, x: Params) -> jax.Array:
        v, W = jnp.concatenate([x[n] for n in names]), p["W"]
        return jnp.sum(p["a_vec"] * _one_minus_cos(v)) + p["kappa"] * jnp.sum(_one_minus_cos(W @ v))

    def grad(p, x: Params) -> Params:
        v, W = jnp.concatenate([x[n] for n in names]), p["W"]
        g = p["a_vec"] * _sin(v) + p["kappa"] * (W.T @ _sin(W @ v))
        return dict(zip(names, jnp.split(g, np.cumsum(sizes)[:-1].tolist()), strict=True))

    gb = [ai + kappa * np.abs(bi).sum(axis=0).max() for ai, bi in zip(a, blocks, strict=True)]
    info = {"m": m, "coupling": c, "seed": seed, "kappa": kappa, "a": a.tolist(), "W": W.tolist()}
    params = {"a_vec": np.repeat(a, sizes), "kappa": kappa, "W": W}
    return _objective(
        "coupled_cosine", sizes, Ls, gb, (value, grad), params, info, static=(("m", m),)
    )


# ----------------------------------------------------------------------------- NQM
def noisy_quadratic(layer_sizes, L, *, seed: int = 0, **options) -> Objective:
    """Noisy quadratic model (Zhang et al. 2019): f(x) = ½ Σ_j c_j x_j².

    In layer i the curvatures c_j are log-spaced from L_i down to L_i/condition (option
    ``condition`` >= 1, default 100), so L_i is exact (‖∇²_ii f‖₂ = max c_j = L_i); convex, f* = 0
    at 0, gradient unbounded (grad_bound None). ``info["curvatures"]`` lists the c_j per layer; the
    NQM gradient noise has per-coordinate standard deviation scale·√c_j, see
    :func:`nqm_sigma_coord`.
    """
    sizes, _ = _sizes(layer_sizes), _integer("seed", seed, 0)
    Ls = _Ls("noisy_quadratic", L, len(sizes))
    opts = _options("noisy_quadratic", options, OPTION_DEFAULTS["noisy_quadratic"])
    cond = _real("condition", opts["condition"], 1.0, math.inf, low_open=False, high_open=True)
    curv = [np.geomspace(li, li / cond, n) for li, n in zip(Ls, sizes, strict=True)]
    names = _layer_names(len(sizes))

    def value(p, x: Params) -> jax.Array:
        return sum(0.5 * jnp.sum(p["c"][n] * x[n] ** 2) for n in names)

    def grad(p, x: Params) -> Params:
        return {n: p["c"][n] * x[n] for n in names}

    info = {"condition": cond, "curvatures": [c.tolist() for c in curv]}
    params = {"c": dict(zip(names, curv, strict=True))}
    return _objective("noisy_quadratic", sizes, Ls, None, (value, grad), params, info)


def nqm_sigma_coord(objective: Objective, scale: float) -> list[np.ndarray]:
    """Per-coordinate NQM noise standard deviations σ̃_j = scale·√c_j, one array per layer."""
    if objective.family != "noisy_quadratic":
        _fail("objective", objective.family, "needs a 'noisy_quadratic' objective")
    scale = _real("scale", scale, 0.0, math.inf, low_open=False, high_open=True)
    return [scale * np.sqrt(np.asarray(c)) for c in objective.info["curvatures"]]


# ----------------------------------------------------------------------------- teacher-student
def teacher_student_tanh(layer_sizes, L=None, *, seed: int = 0, **options) -> Objective:
    """Realisable two-layer tanh regression f(W1, w2) = (1/2n) Σ_k (w2ᵀ tanh(W1 x_k) - y_k)².

    Options ``inputs`` p (8), ``hidden`` k (8), ``n_samples`` n (256), ``teacher_scale`` s (1.0).
    Layers "layer_0" = W1 (k x p) and "layer_1" = w2 (k,), so layer_sizes must be (k·p, k). From
    ``seed``: X (n x p) iid N(0, 1), teacher W1* iid N(0, s²/p), w2* iid N(0, s²/k), labels
    y = tanh(X W1*ᵀ) w2*; f* = 0 at the teacher (``minimizer()``). With A = tanh(X W1ᵀ) and
    r = A w2 - y: ∇_{w2} f = Aᵀr/n, ∇_{W1} f = ((r w2ᵀ) ⊙ (1 - A²))ᵀ X / n.

    L is ESTIMATED (L_certified False; ``L`` must be None): L_i is the largest estimate of
    ‖∇²_ii f‖₂ over the points of :func:`teacher_student_estimation_points`, each computed from
    block-restricted Hessian-vector products (jvp of grad) by Lanczos with full
    reorthogonalisation (``TS_LANCZOS_STEPS`` steps: exact for blocks of at most that many
    coordinates, otherwise a lower bound that converges much faster than power iteration). A
    maximum over samples, it may underestimate sup_x ‖∇²_ii f(x)‖₂.
    The gradient is unbounded in w2 (grad_bound None).
    """
    family = "teacher_student_tanh"
    opts, seed = _options(family, options, OPTION_DEFAULTS[family]), _integer("seed", seed, 0)
    p, k = _integer("inputs", opts["inputs"], 1), _integer("hidden", opts["hidden"], 1)
    n = _integer("n_samples", opts["n_samples"], 1)
    ts = _real("teacher_scale", opts["teacher_scale"], 0.0, math.inf, low_open=True, high_open=True)
    if _sizes(layer_sizes) != (k * p, k):
        _fail("layer_sizes", layer_sizes, f"needs (hidden*inputs, hidden) = ({k * p}, {k})")
    if L is not None:
        _fail("L", L, f"must be None: {family} constants are estimated, not certified")
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, p))
    W1s = ts * rng.standard_normal((k, p)) / math.sqrt(p)
    w2s = ts * rng.standard_normal(k) / math.sqrt(k)
    Xj = jnp.asarray(X)
    y = _ts_predict(Xj, {"layer_0": jnp.asarray(W1s), "layer_1": jnp.asarray(w2s)})
    info = {**opts, "seed": seed, "teacher_W1": W1s.tolist(), "teacher_w2": w2s.tolist()}
    info["estimation"] = {
        "scales": list(TS_SCALES), "points_per_scale": TS_POINTS_PER_SCALE,
        "segment_points": TS_SEGMENT_POINTS, "lanczos_steps": TS_LANCZOS_STEPS,
    }  # fmt: skip
    obj = _objective(
        family, (k * p, k), (1.0, 1.0), None,
        (_ts_value_p, _ts_grad_p), {"X": X, "y": np.asarray(y)}, info,
        certified=False, names=("layer_0", "layer_1"), shapes=((k, p), (k,)), _x_star=(W1s, w2s),
        static=(("n_samples", n),),
    )  # fmt: skip
    est = _ts_estimate(Xj, y, *_ts_points(obj))
    return dataclasses.replace(obj, L=tuple(float(v) for v in jnp.max(est, axis=0)))


def _ts_predict(X: jax.Array, x: Params) -> jax.Array:
    return jnp.tanh(X @ x["layer_0"].T) @ x["layer_1"]


def _ts_value(X: jax.Array, y: jax.Array, x: Params) -> jax.Array:
    return 0.5 * jnp.mean((_ts_predict(X, x) - y) ** 2)


def _ts_value_p(p, x: Params) -> jax.Array:
    return _ts_value(p["X"], p["y"], x)


def _ts_grad_p(p, x: Params) -> Params:
    return _ts_grad(p["X"], p["y"], x)


def _ts_grad(X: jax.Array, y: jax.Array, x: Params) -> Params:
    A = jnp.tanh(X @ x["layer_0"].T)
    r = A @ x["layer_1"] - y
    G1 = ((r[:, None] * x["layer_1"][None, :]) * (1 - A**2)).T @ X / X.shape[0]
    return {"layer_0": G1, "layer_1": A.T @ r / X.shape[0]}


@jax.jit
def _ts_estimate(X: jax.Array, y: jax.Array, pts: Params, starts: Params) -> jax.Array:
    """Lanczos estimates of ‖∇²_ii f‖₂, shape (points, 2); module-level to reuse the JIT cache."""
    value = functools.partial(_ts_value, X, y)

    def norms(x, v0):
        return jnp.stack(
            [block_hessian_norm_lanczos(value, x, nm, v0[nm], TS_LANCZOS_STEPS) for nm in x]
        )

    return jax.vmap(norms)(pts, starts)


def _ts_points(obj: Objective) -> tuple[Params, Params]:
    """Estimation points (batched, leading axis) and Lanczos start vectors."""
    rng = np.random.default_rng([obj.info["seed"], 1])
    d, star = obj.d, np.concatenate([v.ravel() for v in obj.to_numpy(obj.minimizer())])
    pts = [s * rng.standard_normal((TS_POINTS_PER_SCALE, d)) for s in TS_SCALES]
    t = np.linspace(0.0, 1.0, TS_SEGMENT_POINTS)[:, None]
    pts.append(star + t * (rng.standard_normal(d) - star))
    flat = jnp.asarray(np.concatenate(pts))
    starts = jnp.asarray(rng.standard_normal(flat.shape))
    return jax.vmap(obj.unflatten)(flat), jax.vmap(obj.unflatten)(starts)


def teacher_student_estimation_points(objective: Objective) -> Params:
    """The points (batched along a leading axis) at which the teacher-student L was estimated."""
    if objective.family != "teacher_student_tanh":
        _fail("objective", objective.family, "needs a 'teacher_student_tanh' objective")
    return _ts_points(objective)[0]


# ----------------------------------------------------------------------------- ranges and caps
# The documented numeric range of an instance (docs/validation.md, "Ranges and caps"), enforced
# by ``experiments.validation.spec.InstanceSpec`` before anything is built: inside it every
# family's value and gradient are exact float64 evaluations along the analysed algorithms'
# iterates at the prescribed step sizes, and every bound is a finite float. The objectives
# themselves (``make_objective``) take any finite L. The ranges are conservative, on purpose:
#
# * Cosine families (separable_cosine, chain_cosine, coupled_cosine) take cos/sin of x_ij,
#   x_ij - x_{i+1,j} (|.| <= 2 max|x|) and w_kᵀx (|.| <= ‖x‖₂ <= √d max|x|), exact only below
#   ``sincos.LIMIT`` ≈ 1.7e12 (NaN above). How far the iterates get, at the prescribed η:
#   - SGD (η = 1/L_∞, b = T): the gradient moves a coordinate by η|∂_j f| <= grad_bound_i/L_∞ <= 1
#     per step (grad_bound_i <= L_i in these families), <= T <= T_MAX = 2^20 in all; the noise
#     moves it by Σ_t η ξ̄_tj, a sum of T independent zero-mean terms of variance σ̃_j²/(T L_∞²),
#     of standard deviation σ̃_j/L_∞ <= max_i σ_i/L_∞ <= NOISE_TO_L_MAX = 1e6 whatever T
#     (50 standard deviations: 5e7). L = 1e-13 with σ = 0.5 (σ/L = 5e12), or σ = 1e150, gave
#     NaN measures exactly this way.
#   - LARS/LAMB: a layer moves by ηφ <= ηα_u = √(2Δ/(‖L‖₁T)) per step with Δ <= 2Σ_i L_i d_i <=
#     2d‖L‖₁, so by <= √(4dT) <= 2^22 in all (d <= MAX_DIM = 2^22, T <= 2^20).
#   - x_1: |x1_j| <= X1_MAX = 1e6; a draw with x1_scale <= 1e6 of d <= 2^22 coordinates stays
#     below 7e6 (the largest of 2^22 normals is below 7 standard deviations).
#   So max|x_t| < 7e6 + 1e6 + 4.2e6 + 5e7 < 7e7 and, with coupled_cosine's d <= 2048, every
#   argument is below 7e7·√2048 < 3.2e9, 500x inside LIMIT.
# * separable_geman_mcclure (Δ <= Σ_i L_i d_i/2, so the same displacements): x²/(1+x²) and
#   x/(1+x²)² are exact until x² overflows (|x| > 1e154). noisy_quadratic: SGD contracts
#   (0 < c_j η <= 1); LARS/LAMB move by <= max|x1|·√(dT) < 1.5e13 in all (Δ <= ½L_∞ d max|x1|²),
#   so c_j x² < 1e33 and ‖∇f‖² < 1e46, finite.
# * The bounds: Δ <= ½ L_∞ d max|x1|² <= 1e31 (the quadratic; the others are smaller), times L
#   (<= 1e6) and (α_u/α_l)² (<= 1e24), plus σ² <= 1e12 and G²d/(1 - β2): every term stays below
#   1e80, far from float64's 1.8e308 (where Python's float ** raises OverflowError, as L = 1e300
#   did); the prescribed η (1/L_∞ <= 1e6, √(2Δ/(α_u²‖L‖₁T))) is finite and > 0.
# * Lower ends: L >= 1e-6 keeps Δ ∝ L well above the rounding of f(x_1); x1_scale >= 1e-4 keeps
#   1 - cos x (absolute rounding ~1e-16) accurate to ~1e-8 relative at x ~ 1e-4, so the Δ in every
#   bound is what the run starts from.
# * Sizes: the runner and the rows hold O(d) arrays per seed and Python lists of d floats
#   (``hypotheses.constants``), compile time grows ~1.3 s per layer (2-core CPU; h = 64: 80 s),
#   coupled_cosine forms d_i x d_j blocks of WᵀW and their spectral norms (two 1024-blocks: 4 s),
#   teacher_student_tanh estimates L by Lanczos at 64 points (n·k·p = 2^20: 7 s).
L_RANGE = (1e-6, 1e6)
SIGMA_MAX = 1e6  # per-layer σ_i and per-coordinate σ̃_j
NOISE_TO_L_MAX = 1e6  # max_i σ_i / max_i L_i (SGD's noise displacement, see above)
X1_MAX = 1e6  # |x1_j| and x1_scale
X1_SCALE_MIN = 1e-4
PHI_RANGE = (1e-6, 1e6)  # α_l and α_u
T_MAX = 2**20  # horizon (and b = T) of one run
MAX_LAYERS = 256  # h
MAX_LAYER_SIZE = 2**20  # d_i
MAX_DIM = 2**22  # d
# per-family (max d_i, max d) where tighter than the common caps
FAMILY_SIZE_CAPS = {"coupled_cosine": (1024, 2048), "teacher_student_tanh": (4096, 4096 + 4096)}
# Family options: name -> (kind, low, high, low_open, high_open); defaults in OPTION_DEFAULTS.
OPTION_RANGES: dict[str, dict[str, tuple[type, float, float, bool, bool]]] = {
    "separable_cosine": {},
    "separable_geman_mcclure": {},
    "chain_cosine": {"coupling": (float, 0.0, 1.0, False, True)},
    "coupled_cosine": {
        "m": (int, 1, 1024, False, False),
        "coupling": (float, 0.0, 1.0, False, True),
    },
    "noisy_quadratic": {"condition": (float, 1.0, 1e12, False, False)},
    "teacher_student_tanh": {
        "inputs": (int, 1, 4096, False, False),
        "hidden": (int, 1, 4096, False, False),
        "n_samples": (int, 1, 4096, False, False),
        "teacher_scale": (float, 0.0, 1e3, True, False),
    },
}
OPTION_DEFAULTS: dict[str, dict[str, Any]] = {
    "separable_cosine": {},
    "separable_geman_mcclure": {},
    "chain_cosine": {"coupling": 0.5},
    "coupled_cosine": {"m": 8, "coupling": 0.5},
    "noisy_quadratic": {"condition": 100.0},
    "teacher_student_tanh": {"inputs": 8, "hidden": 8, "n_samples": 256, "teacher_scale": 1.0},
}
COUPLED_MAX_W = 2**22  # m·d entries of coupled_cosine's W
TS_MAX_WORK = 2**20  # n_samples·hidden·inputs of teacher_student_tanh


# ----------------------------------------------------------------------------- registry
FAMILIES: dict[str, Callable[..., Objective]] = {
    "separable_cosine": separable_cosine,
    "separable_geman_mcclure": separable_geman_mcclure,
    "chain_cosine": chain_cosine,
    "coupled_cosine": coupled_cosine,
    "noisy_quadratic": noisy_quadratic,
    "teacher_student_tanh": teacher_student_tanh,
}
# The families defined here; ``experiments.validation.custom.register_family`` adds others to
# FAMILIES (and their options to OPTION_RANGES/OPTION_DEFAULTS) and refuses these names.
BUILTIN_FAMILIES: frozenset[str] = frozenset(FAMILIES)


def make_objective(
    family: str,
    layer_sizes: Sequence[int],
    L: Sequence[float] | None,
    *,
    seed: int = 0,
    **options: Any,
) -> Objective:
    """Build the objective ``family`` (a key of :data:`FAMILIES`) for the given layer sizes and L.

    Raises:
        ValueError: unknown family, bad layer sizes / L / seed, unknown or out-of-range options.
    """
    if family not in FAMILIES:
        _fail("family", family, f"expected one of {sorted(FAMILIES)}")
    return FAMILIES[family](layer_sizes, L, seed=seed, **options)
