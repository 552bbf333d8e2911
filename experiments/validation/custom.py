"""Your own objective: an :class:`~experiments.validation.objectives.Objective` from your
functions, and families that instance JSON files can name.

:func:`objective_from_functions` wraps f (and optionally ∇f) with the constants the theorems
read: per-layer L_i of the block descent inequality

    f(y) <= f(x) + <∇f(x), y - x> + Σ_i L_i/2 ‖y_i - x_i‖²      for all x, y,

f* (the minimum, or any lower bound of f: the bounds use Δ = f(x₁) − f*, which a lower bound only
enlarges) and optionally G_i = sup_x max_{j ∈ layer i} |∂_j f(x)| (Theorem 3 with β2 > 0). These
are *claims*: the objective has ``L_certified=False``, and the validation rows trust them only
once :func:`experiments.validation.certify.certify` has failed to refute them
(``experiments.validation.hypotheses.certificate``).

:func:`register_family` adds a factory to ``objectives.FAMILIES`` (with its options' ranges and
defaults), so ``InstanceSpec``/``load_instance`` and ``python -m experiments validate`` accept
its name while the registering module is imported.
"""

from __future__ import annotations

import functools
import math
import numbers
import reprlib
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from experiments.validation import objectives as _obj
from experiments.validation.objectives import Objective, Params

MAX_NAME_CHARS = 200  # as an instance's name (spec.MAX_NAME_CHARS): names go into tables
OPTION_KINDS = (int, float)

_REPR = reprlib.Repr()
_REPR.maxlevel, _REPR.maxlist, _REPR.maxtuple, _REPR.maxdict, _REPR.maxstring = 3, 8, 8, 4, 60


def _fail(name: str, value: Any, allowed: str) -> None:
    """One line: the parameter, its value (shortened) and what is allowed."""
    text = " ".join(_REPR.repr(value).split())
    raise ValueError(f"{name}={text} is invalid: {allowed}")


def _name(name: Any, what: str = "name") -> str:
    if (
        not isinstance(name, str)
        or not name.strip()
        or len(name) > MAX_NAME_CHARS
        or not name.isprintable()
    ):
        _fail(what, name, f"expected printable non-blank text of at most {MAX_NAME_CHARS} chars")
    return name


def _shape(name: str, shape: Any) -> tuple[int, ...]:
    """An int n (the shape (n,)) or a sequence of ints >= 1."""
    allowed = "expected an integer >= 1 or a tuple of integers >= 1"
    dims = (shape,) if isinstance(shape, numbers.Integral) else shape
    if isinstance(dims, str | bytes) or not isinstance(dims, Sequence):
        _fail(name, shape, allowed)
    if not all(
        isinstance(n, numbers.Integral) and not isinstance(n, bool) and n >= 1 for n in dims
    ):
        _fail(name, shape, allowed)
    return tuple(int(n) for n in dims)


def _layers(layer_shapes: Any) -> tuple[tuple[str, ...], tuple[tuple[int, ...], ...]]:
    """(names, shapes): a mapping keeps its names (layer order = sorted names, the Objective
    contract); a sequence gets ``layer_00, layer_01, ...`` as the built-in families."""
    allowed = "expected a non-empty sequence of shapes or a mapping layer name -> shape"
    if isinstance(layer_shapes, Mapping):
        if not layer_shapes or not all(isinstance(k, str) and k for k in layer_shapes):
            _fail("layer_shapes", layer_shapes, allowed + " (names: non-empty strings)")
        names = tuple(sorted(layer_shapes))
        shapes = tuple(_shape(f"layer_shapes[{n!r}]", layer_shapes[n]) for n in names)
        return names, shapes
    if isinstance(layer_shapes, str | bytes) or not isinstance(layer_shapes, Sequence):
        _fail("layer_shapes", layer_shapes, allowed)
    if not layer_shapes:
        _fail("layer_shapes", layer_shapes, allowed)
    shapes = tuple(_shape(f"layer_shapes[{i}]", s) for i, s in enumerate(layer_shapes))
    return _obj._layer_names(len(shapes)), shapes


def _per_layer(name: str, v: Any, names: tuple[str, ...], *, positive: bool) -> tuple[float, ...]:
    """One finite number per layer (> 0, or >= 0), in layer order; a mapping is read by name."""
    h = len(names)
    allowed = f"expected {h} finite numbers {'> 0' if positive else '>= 0'} (one per layer"
    allowed += f" {list(names)}, or a mapping name -> number)"
    if isinstance(v, Mapping):
        if set(v) != set(names):
            _fail(name, v, allowed)
        v = [v[n] for n in names]
    if isinstance(v, str | bytes) or not isinstance(v, Sequence | np.ndarray) or len(v) != h:
        _fail(name, v, allowed)
    out = []
    for i, x in enumerate(v):
        ok = isinstance(x, numbers.Real) and not isinstance(x, bool) and math.isfinite(x)
        if not ok or not (x > 0 if positive else x >= 0):
            _fail(f"{name}[{i}]", x, allowed)
        out.append(float(x))
    return tuple(out)


def _as_params(params: Any) -> Any:
    """Floating leaves as float64 NumPy arrays (the runner's precision), others as arrays."""

    def leaf(a):
        a = np.asarray(a)
        return a.astype(np.float64) if np.issubdtype(a.dtype, np.floating) else a

    try:
        return jax.tree.map(leaf, params)
    except (TypeError, ValueError) as err:
        _fail("params", params, f"expected a pytree of numeric arrays ({err})")


def _probe(value_fn, grad_fn, params, names, shapes, call: str) -> None:
    """Trace value and grad once on abstract float64 inputs: a wrong signature or output shape
    is reported here, naming the function, not deep inside a compiled run."""
    x = {n: jax.ShapeDtypeStruct(s, jnp.float64) for n, s in zip(names, shapes, strict=True)}
    want = {n: s for n, s in zip(names, shapes, strict=True)}
    with jax.enable_x64(True):
        for what, fn in (("value", value_fn), ("grad", grad_fn)):
            try:
                out = jax.eval_shape(fn, params, x)
            except Exception as err:  # the user's code: any error, reported in one line
                msg = " ".join(f"{type(err).__name__}: {err}".split())[:300]
                _fail(what, fn, f"calling {call} with x a dict of float64 arrays {want} "
                      f"raised {msg}")  # fmt: skip
            if what == "value" and getattr(out, "shape", None) != ():
                _fail(what, fn, f"{call} must return a scalar, got {out!r:.120}")
            if what == "grad":
                got = (
                    {k: getattr(v, "shape", None) for k, v in out.items()}
                    if isinstance(out, Mapping)
                    else out
                )
                if got != want:
                    _fail(what, fn, f"must return a dict of arrays shaped {want}, got {got!r:.200}")


def objective_from_functions(
    name: str,
    layer_shapes: Sequence[Any] | Mapping[str, Any],
    value: Callable[..., jax.Array],
    *,
    L: Sequence[float] | Mapping[str, float],
    f_star: float,
    grad: Callable[..., Params] | None = None,
    grad_bound: Sequence[float] | Mapping[str, float] | None = None,
    params: Any = None,
) -> Objective:
    """An :class:`Objective` from your f, with your (uncertified) constants.

    Args:
        name: the family name in tables (``Objective.family``).
        layer_shapes: one shape per layer (an int n means (n,)); layers are named
            ``layer_00, layer_01, ...`` as in the built-in families. Or a mapping name -> shape:
            layer order is then the sorted names.
        value: f. ``value(params, x)`` when ``params`` is given, else ``value(x)``; x is a dict
            layer name -> float64 array. Pure and jittable (the runner jits and vmaps it).
        L: per-layer constants L_i > 0 of the block descent inequality (module docstring), in
            layer order or as a mapping name -> L_i.
        f_star: the minimum of f, or a lower bound on it: the bounds use Δ = f(x₁) − f*, and a
            lower bound makes Δ larger, so every bound stays valid (only looser).
        grad: ∇f with the signature of ``value``, returning a dict like x; default
            ``jax.grad`` of ``value``.
        grad_bound: per layer, sup_x max_{j ∈ layer i} |∂_j f(x)| (needed for Theorem 3 with
            β2 > 0); None when the gradient is unbounded or the bound unknown.
        params: a pytree of arrays ``value``/``grad`` take as first argument (floating leaves
            become float64); the runner passes them as traced arguments, so objectives that
            differ only in ``params`` share one compiled program.

    The result has ``L_certified=False`` (the validation rows certify the constants by sampling,
    ``experiments.validation.certify``) and a ``structure`` that holds ``value`` and ``grad``
    themselves: two objectives share a compiled program only if they run the same functions
    on the same layout.

    Raises:
        ValueError: one line naming the parameter, its value and what is allowed.
    """
    name = _name(name)
    names, shapes = _layers(layer_shapes)
    if not callable(value):
        _fail("value", value, "expected a callable value(params, x) (or value(x) without params)")
    if grad is not None and not callable(grad):
        _fail("grad", grad, "expected None or a callable with the signature of value")
    Ls = _per_layer("L", L, names, positive=True)
    ok = isinstance(f_star, numbers.Real) and not isinstance(f_star, bool)
    if not ok or not math.isfinite(f_star):
        _fail("f_star", f_star, "expected a finite number (the minimum of f or a lower bound)")
    gb = None if grad_bound is None else _per_layer("grad_bound", grad_bound, names, positive=False)
    if params is None:
        p: Any = {}
        call = "value(x)"

        def value_fn(_p, x):
            return value(x)

        grad_fn = (lambda _p, x: grad(x)) if grad is not None else None
    else:
        p, call = _as_params(params), "value(params, x)"
        value_fn, grad_fn = value, grad
    if grad_fn is None:
        grad_fn = jax.grad(value_fn, argnums=1)
    _probe(value_fn, grad_fn, p, names, shapes, call)
    leaves = tuple((np.shape(a), np.asarray(a).dtype.str) for a in jax.tree.leaves(p))
    info = {
        "defined_by": f"{getattr(value, '__module__', '?')}.{getattr(value, '__qualname__', '?')}",
        "params_given": params is not None,
    }
    return Objective(
        family=name,
        layer_names=names,
        layer_shapes=shapes,
        L=Ls,
        L_certified=False,
        f_star=float(f_star),
        grad_bound=gb,
        value=functools.partial(value_fn, p),
        grad=functools.partial(grad_fn, p),
        info=info,
        # the user's own functions (hashable, by identity) keep two objectives from sharing a
        # compiled runner unless they run the same code
        structure=("custom", name, names, shapes, value, grad, jax.tree.structure(p), leaves),
        params=p,
        value_fn=value_fn,
        grad_fn=grad_fn,
    )


# ----------------------------------------------------------------------------- registry
def _option_range(name: str, key: str, rng: Any) -> tuple[type, float, float, bool, bool]:
    allowed = "expected (kind, low, high, low_open, high_open) with kind int or float, low <= high"
    if not isinstance(rng, Sequence) or isinstance(rng, str | bytes) or len(rng) != 5:
        _fail(f"{name}[{key!r}]", rng, allowed)
    kind, lo, hi, lo_open, hi_open = rng
    nums = all(isinstance(v, numbers.Real) and not isinstance(v, bool) for v in (lo, hi))
    if kind not in OPTION_KINDS or not nums or not lo <= hi:
        _fail(f"{name}[{key!r}]", rng, allowed)
    if not all(isinstance(v, bool) for v in (lo_open, hi_open)):
        _fail(f"{name}[{key!r}]", rng, allowed)
    return kind, lo, hi, lo_open, hi_open


def _check_option(name: str, value: Any, rng: tuple[type, float, float, bool, bool]) -> None:
    """``value`` within the option's range (the rule ``spec._check_options`` applies to JSON)."""
    kind, lo, hi, lo_open, hi_open = rng
    left, right = "(["[not lo_open], ")]"[not hi_open]
    allowed = f"expected {'an integer' if kind is int else 'a finite number'} in {left}{lo:g}, "
    allowed += f"{hi:g}{right}"
    ok = isinstance(value, numbers.Real) and not isinstance(value, bool)
    ok = ok and (isinstance(value, numbers.Integral) if kind is int else math.isfinite(value))
    ok = (
        ok and (value > lo if lo_open else value >= lo) and (value < hi if hi_open else value <= hi)
    )
    if not ok:
        _fail(name, value, allowed)


def _registered(name: str, factory: Callable[..., Objective]) -> Callable[..., Objective]:
    """``factory`` with its options completed and checked, and its result checked."""

    @functools.wraps(factory)
    def make(layer_sizes, L=None, *, seed: int = 0, **options: Any) -> Objective:
        ranges, defaults = _obj.OPTION_RANGES[name], _obj.OPTION_DEFAULTS[name]
        for key, v in options.items():
            if key not in ranges:
                _fail("options", sorted(options), f"family {name!r} takes options {sorted(ranges)}")
            _check_option(f"options[{key!r}]", v, ranges[key])
        obj = factory(layer_sizes, L, seed=seed, **{**defaults, **options})
        if not isinstance(obj, Objective):
            _fail("factory", factory, f"family {name!r}: must return an Objective, got {obj!r:.80}")
        if tuple(obj.layer_sizes) != tuple(layer_sizes):
            _fail("factory", factory, f"family {name!r}: made layer sizes {obj.layer_sizes} for "
                  f"layer_sizes={list(layer_sizes)}")  # fmt: skip
        if L is not None and tuple(obj.L) != tuple(float(v) for v in L):
            _fail("factory", factory, f"family {name!r}: its Objective's L {list(obj.L)} must be "
                  f"the L it was given {list(L)} (the tables report the given one)")  # fmt: skip
        return obj

    return make


def register_family(
    name: str,
    factory: Callable[..., Objective],
    *,
    options: Mapping[str, tuple[type, float, float, bool, bool]] | None = None,
    defaults: Mapping[str, Any] | None = None,
) -> None:
    """Make ``name`` a family: ``make_objective``, ``InstanceSpec`` and the instance JSON of
    ``python -m experiments validate`` accept it while this registration stands.

    Args:
        name: the family name; a built-in name (``objectives.BUILTIN_FAMILIES``) is refused,
            a name registered before is replaced.
        factory: ``factory(layer_sizes, L, *, seed, **options) -> Objective``, e.g. a call of
            :func:`objective_from_functions`. It receives every option (defaults filled in) and
            must return an Objective with those layer sizes and that L.
        options: option name -> (kind, low, high, low_open, high_open), kind ``int`` or
            ``float``, as in ``objectives.OPTION_RANGES``.
        defaults: option name -> default, one per option, within its range.

    Raises:
        ValueError: one line naming the parameter, its value and what is allowed.
    """
    name = _name(name)
    if name in _obj.BUILTIN_FAMILIES:
        _fail("name", name, f"a built-in family; choose another name (built-ins: "
              f"{sorted(_obj.BUILTIN_FAMILIES)})")  # fmt: skip
    if not callable(factory):
        _fail("factory", factory, "expected a callable (layer_sizes, L, *, seed, **options)")
    options, defaults = dict(options or {}), dict(defaults or {})
    if not all(isinstance(k, str) and k for k in options):
        _fail("options", options, "expected a mapping option name -> range")
    ranges = {k: _option_range("options", k, r) for k, r in options.items()}
    if set(defaults) != set(ranges):
        _fail("defaults", defaults, f"expected one default per option {sorted(ranges)}")
    for key, v in defaults.items():
        _check_option(f"defaults[{key!r}]", v, ranges[key])
    _obj.OPTION_RANGES[name] = ranges
    _obj.OPTION_DEFAULTS[name] = defaults
    _obj.FAMILIES[name] = _registered(name, factory)


def unregister_family(name: str) -> None:
    """Undo :func:`register_family` (built-in families cannot be removed)."""
    if name in _obj.BUILTIN_FAMILIES:
        _fail("name", name, "a built-in family cannot be unregistered")
    if name not in _obj.FAMILIES:
        registered = sorted(set(_obj.FAMILIES) - _obj.BUILTIN_FAMILIES)
        _fail("name", name, f"not a registered family (registered: {registered})")
    for table in (_obj.FAMILIES, _obj.OPTION_RANGES, _obj.OPTION_DEFAULTS):
        table.pop(name, None)


def registered_families() -> tuple[str, ...]:
    """The names added by :func:`register_family`, sorted."""
    return tuple(sorted(set(_obj.FAMILIES) - _obj.BUILTIN_FAMILIES))
