"""The backend-neutral checks both backends import: hyperparameter validation, mask resolution,
error classes.

Only *argument checking* lives here (and the reading of a mask argument): no optimizer math, so
the NumPy reference (:mod:`lamb_ref.reference`) and the JAX implementation (:mod:`lamb_ref`)
stay independent where it matters; neither imports the other. This module imports neither JAX
nor the reference. Every error names the parameter, the value and what is allowed. Values that
are JAX tracers (e.g. a learning rate injected by ``optax.inject_hyperparams`` and vmapped over)
cannot be inspected and are accepted as is.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from lamb_ref.masks import as_name_mask


class HyperparameterError(ValueError):
    """A hyperparameter has a value the optimizer does not accept."""


class NonFiniteGradientError(FloatingPointError):
    """A gradient leaf holds NaN or Inf (raised by both backends' ``finite_check``)."""


class LeafDtypeError(HyperparameterError, TypeError):
    """A params/grads leaf has a dtype the optimizer does not take: integer, bool or another
    non-numeric type everywhere, complex where the optimizer has no complex form (see
    :func:`complex_refusal`). Both backends refuse it with the same message.

    A :class:`HyperparameterError` (so one ``except`` catches every bad-input error) and a
    ``TypeError`` (the leaf's type is what is wrong).
    """


def _concrete(value: Any) -> float | None:
    """The value as a float, or None when it cannot be inspected (a tracer)."""
    if isinstance(value, bool):
        return float(value)
    if isinstance(value, numbers.Real):
        return float(value)
    try:  # numpy / concrete jax arrays
        arr = np.asarray(value)
    except Exception:  # jax tracers refuse conversion
        return None
    if arr.shape != ():
        raise HyperparameterError(f"expected a scalar, got an array of shape {arr.shape}")
    if not np.issubdtype(arr.dtype, np.number):
        return None
    return float(arr)


def _fail(name: str, value: Any, allowed: str) -> None:
    raise HyperparameterError(f"{name}={value!r} is invalid: {allowed}")


def real(
    name: str,
    value: Any,
    *,
    low: float | None = None,
    high: float | None = None,
    low_open: bool = False,
    high_open: bool = False,
) -> None:
    """Check a real scalar lies in the interval described by ``low``/``high``."""
    if isinstance(value, str) or value is None:
        _fail(name, value, "expected a real number")
    try:
        x = _concrete(value)
    except HyperparameterError as err:
        raise HyperparameterError(f"{name}: {err}") from None
    if x is None:
        return
    lo = "(" if low_open else "["
    hi = ")" if high_open else "]"
    interval = f"{lo}{'-inf' if low is None else low}, {'inf' if high is None else high}{hi}"
    if math.isnan(x):
        _fail(name, value, f"must be a number in {interval}, not NaN")
    if low is not None and (x < low or (low_open and x == low)):
        _fail(name, value, f"must lie in {interval}")
    if high is not None and (x > high or (high_open and x == high)):
        _fail(name, value, f"must lie in {interval}")


def beta(name: str, value: Any) -> None:
    """A decay rate: 0 <= beta < 1."""
    real(name, value, low=0.0, high=1.0, high_open=True)


def nonnegative(name: str, value: Any) -> None:
    real(name, value, low=0.0)


def positive(name: str, value: Any) -> None:
    real(name, value, low=0.0, low_open=True)


def learning_rate(value: Any, name: str = "learning_rate") -> None:
    """A learning rate: a non-negative finite number, or a schedule (callable of the step)."""
    if callable(value):
        return
    real(name, value, low=0.0)
    x = _concrete(value)
    if x is not None and math.isinf(x):
        _fail(name, value, "must be finite")


def phi(value: Any, name: str = "phi") -> None:
    """phi: None (identity), a pair (alpha_l, alpha_u), 0 < alpha_l <= alpha_u, or a callable."""
    if value is None or callable(value):
        return
    if isinstance(value, str) or not isinstance(value, Sequence) or len(value) != 2:
        _fail(name, value, "expected None (identity), a pair (alpha_l, alpha_u) or a callable")
    lo, hi = value
    real(f"{name}[0] (alpha_l)", lo, low=0.0, low_open=True)
    real(f"{name}[1] (alpha_u)", hi, low=0.0, low_open=True)
    if float(lo) > float(hi):
        _fail(name, value, f"needs alpha_l <= alpha_u, got alpha_l={lo!r} > alpha_u={hi!r}")


TRUST_NORMS = ("l2", "l1", "linf")


def trust_norm(value: Any, name: str = "trust_norm") -> None:
    if value not in TRUST_NORMS:
        _fail(name, value, f"expected one of {TRUST_NORMS}")


def choice(name: str, value: Any, allowed: Sequence[Any]) -> None:
    if value not in allowed:
        _fail(name, value, f"expected one of {tuple(allowed)}")


def flag(name: str, value: Any) -> None:
    if not isinstance(value, bool | np.bool_):
        _fail(name, value, "expected True or False")


def patterns(name: str, value: Any) -> tuple[str, ...]:
    """A regex exclusion list: None or a sequence of strings. Returns it as a tuple."""
    if value is None:
        return ()
    if isinstance(value, str) or not isinstance(value, Sequence):
        _fail(name, value, "expected None or a list of regex strings (matched with re.search)")
    for p in value:
        if not isinstance(p, str):
            _fail(name, value, "every entry must be a regex string")
    return tuple(value)


def mask_spec(name: str, value: Any) -> None:
    """A mask: None, a bool, a callable, a list of regex strings, or a pytree of bools."""
    if value is None or isinstance(value, bool) or callable(value):
        return
    if isinstance(value, str):
        _fail(name, value, "a single string is ambiguous: pass a list of regex strings")


def same_structure(
    grads_names: Sequence[str],
    params_names: Sequence[str],
    what: str = "grads",
    other: str = "params",
) -> None:
    """The two trees must have the same leaves, by name and order."""
    if list(grads_names) != list(params_names):
        missing = sorted(set(params_names) - set(grads_names))
        extra = sorted(set(grads_names) - set(params_names))
        raise HyperparameterError(
            f"{what} and {other} do not match: {what} lacks {missing or 'nothing'}, "
            f"has extra {extra or 'nothing'} (leaves must correspond one to one, by name)"
        )


def same_shapes(
    names: Sequence[str],
    shapes_a: Sequence[tuple],
    shapes_b: Sequence[tuple],
    what: str = "grads",
    other: str = "params",
) -> None:
    for n, a, b in zip(names, shapes_a, shapes_b, strict=True):
        if tuple(a) != tuple(b):
            raise HyperparameterError(
                f"{what} and {other} do not match at leaf {n!r}: shape {tuple(a)} vs {tuple(b)}"
            )


def unknown_keys(where: str, given: dict[str, Any], accepted: Sequence[str]) -> None:
    bad = sorted(set(given) - set(accepted))
    if bad:
        raise HyperparameterError(
            f"{where} does not take hyperparameter(s) {bad} "
            f"(values {[given[k] for k in bad]!r}); it accepts {sorted(accepted)}"
        )


# --- the leaves of params and grads -------------------------------------------------------------

ALLOWED_LEAVES = (
    "floating-point arrays of any float dtype (float16, bfloat16, float32, float64, ...), "
    "complex64/complex128 arrays (where the optimizer has a complex form), and Python floats "
    "and complexes"
)
_REFUSED = {
    "int": "integer and bool leaves cannot take a gradient step; cast the leaf to a float dtype "
    "or keep it out of the tree given to the optimizer",
    "other": "it is not a floating-point or complex array",
}


def leaf_kind(leaf: Any) -> tuple[str, str]:
    """("float" | "int" | "complex" | "other", a description of the leaf's type).

    Reads only the leaf's ``dtype`` (static under ``jit``) or its Python type: no values. bool
    counts as "int"; ml_dtypes' floats (bfloat16, float8_*) count as "float", its int4s as "int".
    """
    dtype = getattr(leaf, "dtype", None)
    if dtype is None:
        for kind, types in (("int", (bool, int)), ("float", (float,)), ("complex", (complex,))):
            if isinstance(leaf, types):
                return kind, f"Python type {type(leaf).__name__}"
        return "other", f"type {type(leaf).__name__}"
    try:
        dt = np.dtype(dtype)
    except TypeError:
        return "other", f"dtype {dtype}"
    name = dt.name
    if dt.kind == "f" or (dt.kind == "V" and name.startswith(("float", "bfloat"))):
        return "float", f"dtype {name}"
    if dt.kind in "biu" or (dt.kind == "V" and name.startswith(("int", "uint"))):
        return "int", f"dtype {name}"
    if dt.kind == "c":
        return "complex", f"dtype {name}"
    return "other", f"dtype {name}"


def _where(name: str) -> str:
    return repr(name) if name else "'' (the tree is a single leaf)"


def float_leaves(
    what: str, names: Sequence[str], leaves: Sequence[Any], complex_refused: str | None = None
) -> None:
    """Every leaf must be floating or complex; else :class:`LeafDtypeError` naming the leaf.

    ``complex_refused``: None where the optimizer takes complex leaves (optax's convention, see
    ``docs/variants.md``), else why it does not (:func:`complex_refusal`), which the error for a
    complex leaf then gives.
    """
    for n, leaf in zip(names, leaves, strict=True):
        kind, desc = leaf_kind(leaf)
        if kind == "float" or (kind == "complex" and complex_refused is None):
            continue
        reason = complex_refused if kind == "complex" else _REFUSED[kind]
        raise LeafDtypeError(
            f"{what} leaf {_where(n)} has {desc}: {reason}; the optimizers take {ALLOWED_LEAVES}"
        )


def complex_refusal(optimizer: str, trust_norm_: str) -> str | None:
    """Why ``optimizer`` with this trust norm refuses complex leaves, or None if it takes them.

    Every optimizer here has a complex form (optax's: |g|² = g·conj(g) in the second moments,
    ‖x‖ = √Σ|x_j|² in the trust ratio) except for the l1 and l∞ trust norms: for a complex layer
    they are ambiguous (Σ|z_j| and max|z_j| with the modulus, or Σ(|Re z_j| + |Im z_j|) and
    max(|Re z_j|, |Im z_j|) with each entry a pair of reals), and no library settles it.
    """
    if trust_norm_ == "l2":
        return None
    return (
        f"{optimizer} with trust_norm={trust_norm_!r} does not take complex leaves: the "
        f"{trust_norm_} norm of a complex layer is ambiguous (the modulus |z| or each entry as "
        "a pair of reals (Re z, Im z) give different norms) and no reference library defines "
        "it; use trust_norm='l2' (‖x‖ = √Σ|x_j|², optax's convention) or split the parameter "
        "into real and imaginary float leaves"
    )


def learning_rate_value(value: Any, count: Any, schedule: bool) -> None:
    """η at a step must be finite and >= 0 (the opt-in check of every ``finite_check``).

    ``value`` may be an array of learning rates (vmapped); the first bad one is named.
    """
    etas = np.asarray(value, dtype=np.float64).ravel()
    bad = etas[~(np.isfinite(etas) & (etas >= 0))]
    if bad.size:
        shown = repr(float(f"{bad[0]:.6g}"))  # the same text for a float32 and a float64 η
        steps = np.asarray(count).ravel()
        step = int(steps[0]) if steps.size else count
        what = f"learning_rate schedule returned {shown}" if schedule else f"learning_rate={shown}"
        raise HyperparameterError(
            f"{what} at step {step} is invalid: a learning rate must be finite and >= 0 "
            "(checked by finite_check)"
        )


# --- the optimizers' argument sets (one function per family, used by both backends) -----------

# How LAMB applies Adam's bias correction: to the moments (Algorithm 2, arXiv v4/v5), as a
# step-size factor √(1-β2^t)/(1-β1^t) (torch-optimizer ``debias``), or not at all (v3).
BIAS_CORRECTION_MODES = ("moments", "step_size", "none")


def lamb_hyperparameters(
    lr: Any,
    b1: Any,
    b2: Any,
    eps: Any,
    weight_decay: Any,
    phi_: Any,
    norm: Any,
    weight_decay_mask: Any,
    trust_ratio_mask: Any,
) -> None:
    """LAMB's arguments (Algorithm 2 and the Appendix D/F forms): η, β1, β2, ε, λ, φ, the norm."""
    learning_rate(lr)
    beta("b1", b1)
    beta("b2", b2)
    nonnegative("eps", eps)
    nonnegative("weight_decay", weight_decay)
    phi(phi_)
    trust_norm(norm)
    mask_spec("weight_decay_mask", weight_decay_mask)
    mask_spec("trust_ratio_mask", trust_ratio_mask)


def lars_hyperparameters(
    lr: Any, momentum: Any, weight_decay: Any, weight_decay_mask: Any, trust_ratio_mask: Any
) -> None:
    """The arguments every LARS form takes (Algorithm 1, You et al. 2017, optax's)."""
    learning_rate(lr)
    beta("momentum", momentum)
    nonnegative("weight_decay", weight_decay)
    mask_spec("weight_decay_mask", weight_decay_mask)
    mask_spec("trust_ratio_mask", trust_ratio_mask)


def lars_2017_hyperparameters(trust_coefficient: Any, eps: Any, nesterov: Any) -> None:
    """The extra arguments of the 2017 LARS forms (timm / torch-optimizer, optax)."""
    positive("trust_coefficient", trust_coefficient)
    nonnegative("eps", eps)
    flag("nesterov", nesterov)


def nesterov_lamb_hyperparameters(
    lr: Any,
    b1: Any,
    b2: Any,
    eps: Any,
    weight_decay: Any,
    phi_: Any,
    norm: Any,
    b1_schedule: Any,
    b2_schedule: Any,
) -> None:
    """N-LAMB / NN-LAMB's arguments (Appendix D); the masks are checked when first used."""
    learning_rate(lr)
    beta("b1", b1)
    beta("b2", b2)
    nonnegative("eps", eps)
    nonnegative("weight_decay", weight_decay)
    phi(phi_)
    trust_norm(norm)
    for name, schedule in (("b1_schedule", b1_schedule), ("b2_schedule", b2_schedule)):
        if schedule is not None and not callable(schedule):
            raise HyperparameterError(
                f"{name}={schedule!r} is invalid: expected None or a callable step -> beta"
            )


# --- masks --------------------------------------------------------------------------------------


def resolve_mask(
    spec: Any,
    params: Any,
    names: list[str],
    what: str,
    flatten: Callable[[Any], tuple[list[str], list[Any]]],
) -> list[bool]:
    """One static bool per leaf from a mask argument (see :mod:`lamb_ref.masks`).

    ``names`` are the leaves' names (key paths joined with ``/``); ``flatten(tree) -> (names,
    leaves)`` is the backend's pytree flattener (``jax.tree_util`` for JAX, the reference's own
    walker for NumPy), used only for a pytree-of-bools mask. Each backend binds its flattener
    once (``lamb_ref.tree.resolve_mask``, ``lamb_ref.reference._tree.resolve_mask``).
    """
    mask_spec(what, spec)
    if spec is None:
        return [True] * len(names)
    if isinstance(spec, bool | np.bool_):
        return [bool(spec)] * len(names)
    name_mask = as_name_mask(spec)
    if name_mask is not None:
        return [name_mask(n) for n in names]
    if callable(spec):
        spec = spec(params)
    mnames, leaves = flatten(spec)
    same_structure(mnames, names, what=what, other="params")
    out = []
    for n, leaf in zip(mnames, leaves, strict=True):
        if not isinstance(leaf, bool | np.bool_):
            raise HyperparameterError(
                f"{what} leaf {n!r} is {leaf!r}; mask leaves must be Python bools (static)"
            )
        out.append(bool(leaf))
    return out
