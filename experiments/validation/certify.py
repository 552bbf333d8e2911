"""Sampled certificates of an objective's constants: evidence against wrong L_i, G_i and f*.

:func:`certify` checks the claims the theorems read from an
:class:`~experiments.validation.objectives.Objective` at sampled points:

a. ``block_descent_pairs``: f(y) <= f(x) + <∇f(x), y - x> + Σ_i L_i/2 ‖y_i - x_i‖² on random
   pairs (x = c + s·u around the centre c = x₁ or 0 at each scale s, y = x + s·v with v on all
   layers or on one layer) and on consecutive iterates of a run. ``needed`` is the smallest
   uniform factor κ such that κ·L_i passes every pair seen: max over pairs of
   (f(y) − f(x) − <∇f(x), y − x>) / (Σ_i L_i/2 ‖y_i − x_i‖²); κ <= 1 passes.
b. ``block_hessian``: ‖∇²_ii f(x)‖₂ <= L_i at sampled points (c, and c + s·u at each scale), by
   Lanczos on block Hessian-vector products (jvp of ∇f, :func:`.hessian.lanczos_norm`);
   ``needed`` is the largest norm seen per layer.
c. ``gradient_bound`` (when the objective claims one): max_{j ∈ layer i} |∂_j f(x)| <= G_i at
   every x sampled; ``needed`` is the largest seen per layer.
d. ``f_star``: f(x) >= f* at every point sampled; ``needed`` is the smallest f seen.

Sampling certifies only what it sampled: a failing check proves the constant wrong (up to
rounding, ``CERTIFY_REL``) and names the factor it would need, a passing one proves nothing
about the points not sampled. The built-in families' constants are proven
(``Objective.L_certified``); these checks are what a user-supplied objective gets instead.
"""

from __future__ import annotations

import math
import numbers
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from experiments.precision import with_x64
from experiments.validation.hessian import lanczos_norm
from experiments.validation.objectives import Objective, Params

# Relative slack of every comparison. Each side is a float64 result of O(d) operations (f(x),
# f(y), <∇f, y − x>, the quadratic term; Lanczos' eigvalsh on its tridiagonal), each off by a few
# ulps (2.2e-16) per operation: at an exact constant (the cosine's Hessian at 0 is L_i·I) the two
# sides agree to ~1e-15 relative and could flip on the last bits. 1e-9 leaves 10^4-10^6 x margin
# for that, and is far below any error in a constant worth naming (a wrong L is off by O(1)).
CERTIFY_REL = 1e-9
# Elements of x handled at once (pairs x dimension) before the samples are looped over in
# batches: bounds the memory of one certificate at ~(a few) x 8 x 2^22 bytes.
CHUNK_ELEMENTS = 2**22


@dataclass(frozen=True)
class Check:
    """One check: its ``name``, whether it passed, a one-line ``detail`` and what the samples
    ``needed`` (a factor, per-layer values or the smallest f; see the module docstring)."""

    name: str
    ok: bool
    detail: str
    needed: float | tuple[float, ...]


@dataclass(frozen=True)
class Certificate:
    """The checks of :func:`certify` on one objective; ``ok`` when all pass."""

    family: str
    checks: tuple[Check, ...]
    samples: Mapping[str, int]
    seconds: float

    @property
    def ok(self) -> bool:
        return all(c.ok for c in self.checks)

    def check(self, name: str) -> Check:
        """The check called ``name`` (KeyError if it was not run)."""
        for c in self.checks:
            if c.name == name:
                return c
        raise KeyError(name)

    def failed(self) -> list[str]:
        """One line per failing check, e.g. ``block descent fails: needs 3 × L (...)``."""
        return [c.detail for c in self.checks if not c.ok]


# ----------------------------------------------------------------------------- programs
# Compiled programs per objective structure (what value_fn/grad_fn's code depends on, as for the
# runner), so certifying many instances of one family compiles once.
_PROGRAMS: dict[tuple, Callable] = {}


def _functions(obj: Objective) -> tuple[Callable, Callable, Any]:
    if obj.value_fn is not None and obj.grad_fn is not None:
        return obj.value_fn, obj.grad_fn, obj.params
    return (lambda _p, x: obj.value(x)), (lambda _p, x: obj.grad(x)), {}


def _map(fn: Callable, xs: Any, n: int, d: int) -> Any:
    """``fn`` over the leading axis of ``xs``: one vmap when n·d fits in CHUNK_ELEMENTS (one
    copy of fn to compile), else a loop over vmapped batches."""
    batch = max(1, min(n, CHUNK_ELEMENTS // max(d, 1)))
    if batch >= n:
        return jax.vmap(fn)(xs)
    return jax.lax.map(fn, xs, batch_size=batch)


def _pair_terms(value_fn, grad_fn, names, p, x: Params, y: Params):
    """f(x), f(y), <∇f(x), y − x>, per layer ‖y_i − x_i‖² and max_j |∂_j f(x)| in layer i."""
    g = grad_fn(p, x)
    diff = {n: y[n] - x[n] for n in names}
    inner = sum(jnp.vdot(g[n], diff[n]) for n in names)
    sq = jnp.stack([jnp.sum(diff[n] ** 2) for n in names])
    gmax = jnp.stack([jnp.max(jnp.abs(g[n])) for n in names])
    return value_fn(p, x), value_fn(p, y), inner, sq, gmax


def _normal(key: jax.Array, like: Params, names) -> Params:
    keys = jax.random.split(key, len(names))
    return {
        n: jax.random.normal(k, like[n].shape, jnp.float64)
        for n, k in zip(names, keys, strict=True)
    }


def _programs(obj: Objective, steps: int) -> dict[str, Callable]:
    key = (obj.structure, steps) if obj.structure and obj.value_fn is not None else None
    if key is not None and key in _PROGRAMS:
        return _PROGRAMS[key]
    value_fn, grad_fn, _ = _functions(obj)
    names, d = obj.layer_names, obj.d
    terms = lambda p, x, y: _pair_terms(value_fn, grad_fn, names, p, x, y)  # noqa: E731

    def random_pairs(p, centre, keys, scales, masks):
        """x = c + s·u, y = x + s·(v on the layers where mask is 1)."""

        def one(args):
            k, s, mask = args
            ku, kv = jax.random.split(k)
            u, v = _normal(ku, centre, names), _normal(kv, centre, names)
            x = {n: centre[n] + s * u[n] for n in names}
            y = {n: x[n] + s * mask[i] * v[n] for i, n in enumerate(names)}
            return terms(p, x, y)

        return _map(one, (keys, scales, masks), len(scales), d)

    def iterate_pairs(p, xs, ys):
        return _map(lambda a: terms(p, *a), (xs, ys), len(xs[names[0]]), d)

    def hessian_points(p, centre, keys, scales):
        """Per point c + s·u: ‖∇²_ii f‖₂ by Lanczos (per layer), f and max |∂_j f| per layer."""

        def one(args):
            k, s = args
            ku, kv = jax.random.split(k)
            u, v0 = _normal(ku, centre, names), _normal(kv, centre, names)
            x = {n: centre[n] + s * u[n] for n in names}

            def hvp(name):
                def apply(w):
                    tangent = {m: (w if m == name else jnp.zeros_like(x[m])) for m in names}
                    return jax.jvp(lambda z: grad_fn(p, z), (x,), (tangent,))[1][name]

                return apply

            norms = jnp.stack([lanczos_norm(hvp(n), v0[n], steps) for n in names])
            g = grad_fn(p, x)
            gmax = jnp.stack([jnp.max(jnp.abs(g[n])) for n in names])
            return norms, value_fn(p, x), gmax

        return _map(one, (keys, scales), len(scales), d)

    progs = {
        "random_pairs": jax.jit(random_pairs),
        "iterate_pairs": jax.jit(iterate_pairs),
        "hessian_points": jax.jit(hessian_points),
    }
    if key is not None:
        _PROGRAMS[key] = progs
    return progs


def clear_cache() -> None:
    """Drop the compiled certifier programs."""
    _PROGRAMS.clear()


# ----------------------------------------------------------------------------- inputs
def _fail(name: str, value: Any, allowed: str) -> None:
    raise ValueError(" ".join(f"{name}={value!r:.80} is invalid: {allowed}".split()))


def _int(name: str, v: Any, low: int) -> int:
    if isinstance(v, bool) or not isinstance(v, numbers.Integral) or v < low:
        _fail(name, v, f"expected an integer >= {low}")
    return int(v)


def _point(obj: Objective, name: str, x: Any) -> Params:
    if not isinstance(x, Mapping) or set(x) != set(obj.layer_names):
        _fail(name, x, f"expected a dict with the layers {list(obj.layer_names)}")
    out = {}
    for n, s in zip(obj.layer_names, obj.layer_shapes, strict=True):
        a = jnp.asarray(x[n], jnp.float64)
        if a.shape != s:
            _fail(f"{name}[{n!r}]", f"<shape {a.shape}>", f"expected shape {s}")
        out[n] = a
    return out


def _iterates(obj: Objective, iterates: Any) -> Params | None:
    """Consecutive points stacked along a leading axis (None for fewer than two): a sequence of
    points, or one dict of arrays with a leading time axis."""
    if isinstance(iterates, Mapping):
        allowed = f"expected arrays (time, *layer shape) for the layers {list(obj.layer_names)}"
        if set(iterates) != set(obj.layer_names):
            _fail("iterates", sorted(iterates), allowed)
        pts = {n: jnp.asarray(iterates[n], jnp.float64) for n in obj.layer_names}
        shapes = zip(obj.layer_names, obj.layer_shapes, strict=True)
        if len({len(a) for a in pts.values()}) != 1 or any(
            pts[n].shape[1:] != s for n, s in shapes
        ):
            _fail("iterates", {n: a.shape for n, a in pts.items()}, allowed)
    else:
        seq = [_point(obj, f"iterates[{t}]", x) for t, x in enumerate(iterates)]
        if len(seq) < 2:
            return None
        pts = {n: jnp.stack([x[n] for x in seq]) for n in obj.layer_names}
    return pts if len(pts[obj.layer_names[0]]) >= 2 else None


# ----------------------------------------------------------------------------- checks
def _fmt(v: float) -> str:
    return f"{v:.4g}"


def _descent_check(
    obj: Objective, terms: list[tuple], where: list[str], counts: tuple[int, int]
) -> Check:
    fx, fy, inner, sq = (np.concatenate([t[k] for t in terms]) for k in range(4))
    quad = sq @ (np.asarray(obj.L) / 2.0)
    rest = fy - fx - inner  # what the quadratic term must cover
    tol = CERTIFY_REL * (np.abs(fx) + np.abs(fy) + np.abs(inner) + quad)
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where(quad > 0, rest / quad, np.where(rest > tol, np.inf, -np.inf))
    ok = bool(np.all(rest <= quad + tol)) and bool(np.all(np.isfinite(rest)))
    worst = int(np.nanargmax(np.where(np.isnan(ratio), np.inf, ratio)))
    kappa = float(ratio[worst])
    n_rand, n_iter = counts
    span = f"max over {n_rand} pairs and {n_iter} iterate pairs, worst: {where[worst]}"
    if ok:
        detail = f"block descent holds: needs {_fmt(kappa)} × L ({span})"
    else:
        detail = f"block descent fails: needs {_fmt(kappa)} × L ({span})"
    return Check("block_descent_pairs", ok, detail, kappa)


def _hessian_check(obj: Objective, norms: np.ndarray, steps: int) -> Check:
    top = np.max(norms, axis=0)
    L = np.asarray(obj.L)
    bad = [i for i in range(obj.h) if not top[i] <= L[i] * (1 + CERTIFY_REL)]
    span = f"max over {len(norms)} points, {steps} Lanczos steps"
    if not bad:
        worst = int(np.argmax(top / L))
        detail = (
            f"block Hessian within L: ‖∇²_ii f‖ / L_i <= {_fmt(top[worst] / L[worst])} ({span})"
        )
    else:
        parts = [f"{obj.layer_names[i]} needs ≥ {_fmt(top[i])} (L = {L[i]:g})" for i in bad]
        detail = f"block Hessian exceeds L: {', '.join(parts)} ({span})"
    return Check("block_hessian", not bad, detail, tuple(float(v) for v in top))


def _gradient_check(obj: Objective, gmax: np.ndarray) -> Check:
    top = np.max(gmax, axis=0)
    gb = np.asarray(obj.grad_bound)
    bad = [i for i in range(obj.h) if not top[i] <= gb[i] * (1 + CERTIFY_REL)]
    span = f"max over {len(gmax)} points"
    if not bad:
        detail = f"gradient bound holds ({span})"
    else:
        parts = [
            f"{obj.layer_names[i]} needs ≥ {_fmt(top[i])} (grad_bound = {gb[i]:g})" for i in bad
        ]
        detail = f"gradient bound exceeded: {', '.join(parts)} ({span})"
    return Check("gradient_bound", not bad, detail, tuple(float(v) for v in top))


def _f_star_check(obj: Objective, values: np.ndarray) -> Check:
    finite = bool(np.all(np.isfinite(values)))
    low = float(np.min(values)) if finite else float("nan")
    f_star = float(obj.f_star)
    # f's rounding scales with its terms, not its value (a sum of terms >= 0 can round to
    # -1e-16 near its minimum 0), and a shortfall matters only relative to Δ <= max f − f*:
    # the slack is relative to the largest |f| seen
    top = float(np.max(np.abs(values))) if finite else 0.0
    ok = finite and low >= f_star - CERTIFY_REL * (abs(f_star) + top)
    span = f"smallest over {len(values)} points"
    if ok:
        detail = f"f_star is a lower bound: f >= {_fmt(low)} >= f_star = {f_star:g} ({span})"
    else:
        detail = f"f_star is not a lower bound: f = {_fmt(low)} < f_star = {f_star:g} ({span})"
    return Check("f_star", ok, detail, low)


# ----------------------------------------------------------------------------- certify
def _random_design(obj: Objective, n_pairs: int, scales: tuple[float, ...]):
    """Per scale: n_pairs pairs moving every layer, then n_pairs moving one layer each (layer
    k mod h), so a too small L_i is not masked by the slack of the other layers."""
    s_all, masks, where = [], [], []
    eye = np.eye(obj.h)
    for s in scales:
        for k in range(n_pairs):
            s_all.append(s), masks.append(np.ones(obj.h))
            where.append(f"scale {s:g}, all layers, pair {k}")
        for k in range(n_pairs):
            i = k % obj.h
            s_all.append(s), masks.append(eye[i])
            where.append(f"scale {s:g}, {obj.layer_names[i]} only, pair {k}")
    return np.asarray(s_all), np.asarray(masks), where


@with_x64
def certify(
    objective: Objective,
    *,
    x1: Params | None = None,
    iterates: Sequence[Params] | Params = (),
    n_pairs: int = 64,
    n_points: int = 16,
    lanczos_steps: int = 32,
    scales: Sequence[float] = (0.1, 1.0, 10.0),
    seed: int = 0,
) -> Certificate:
    """Check the objective's L_i (and G_i, f*) at sampled points; see the module docstring.

    Args:
        objective: the objective whose claimed constants are checked.
        x1: the centre of the samples (a run's starting point); default 0.
        iterates: a run's trajectory (points in order, or one dict of arrays with a leading
            time axis): its consecutive pairs are checked for block descent too.
        n_pairs: random pairs per scale that move every layer, and as many moving one layer.
        n_points: points per scale for the Hessian norms (plus the centre itself).
        lanczos_steps: Lanczos steps per point and layer (exact once >= the layer size,
            otherwise a lower bound on the norm).
        scales: the spreads s of x − c and of y − x.
        seed: seeds the samples (the same seed, the same certificate).

    A passing certificate says the constants held wherever they were sampled, no more: it can
    reject constants, not prove them.
    """
    if not isinstance(objective, Objective):
        _fail("objective", objective, "expected an experiments.validation.objectives.Objective")
    n_pairs, n_points = _int("n_pairs", n_pairs, 1), _int("n_points", n_points, 0)
    steps, seed = _int("lanczos_steps", lanczos_steps, 1), _int("seed", seed, 0)
    if isinstance(scales, str | bytes) or not isinstance(scales, Sequence) or not scales:
        _fail("scales", scales, "expected a non-empty sequence of finite numbers > 0")
    for i, s in enumerate(scales):
        if isinstance(s, bool) or not isinstance(s, numbers.Real) or not (0 < s < math.inf):
            _fail(f"scales[{i}]", s, "expected a finite number > 0")
    scales = tuple(float(s) for s in scales)
    if x1 is None:
        centre = {
            n: jnp.zeros(s, jnp.float64)
            for n, s in zip(objective.layer_names, objective.layer_shapes, strict=True)
        }
    else:
        centre = _point(objective, "x1", x1)
    its = _iterates(objective, iterates)
    start = time.perf_counter()
    progs = _programs(objective, steps)
    _, _, p = _functions(objective)
    key = jax.random.key(seed)
    k_pairs, k_points = jax.random.split(key)

    s_pairs, masks, where = _random_design(objective, n_pairs, scales)
    out = progs["random_pairs"](
        p, centre, jax.random.split(k_pairs, len(s_pairs)), jnp.asarray(s_pairs), jnp.asarray(masks)
    )
    terms = [tuple(np.asarray(a) for a in out)]
    n_iter = 0
    if its is not None:
        xs = {n: a[:-1] for n, a in its.items()}
        ys = {n: a[1:] for n, a in its.items()}
        terms.append(tuple(np.asarray(a) for a in progs["iterate_pairs"](p, xs, ys)))
        n_iter = len(terms[-1][0])
        where += [f"iterates {t} → {t + 1}" for t in range(n_iter)]

    s_points = np.asarray([0.0] + [s for s in scales for _ in range(n_points)])
    norms, f_pts, g_pts = (
        np.asarray(a)
        for a in progs["hessian_points"](
            p, centre, jax.random.split(k_points, len(s_points)), jnp.asarray(s_points)
        )
    )
    checks = [
        _descent_check(objective, terms, where, (len(s_pairs), n_iter)),
        _hessian_check(objective, norms, steps),
    ]
    if objective.grad_bound is not None:
        checks.append(_gradient_check(objective, np.concatenate([g_pts, *(t[4] for t in terms)])))
    values = np.concatenate([f_pts, *(np.concatenate([t[0], t[1]]) for t in terms)])
    checks.append(_f_star_check(objective, values))
    samples = {"pairs": len(s_pairs), "iterate_pairs": n_iter, "points": len(s_points)}
    return Certificate(objective.family, tuple(checks), samples, time.perf_counter() - start)
