"""What the optimizers accept as leaves and learning rates, identically in both backends.

* Floating leaves of any float dtype (float16, bfloat16, float32, float64) and Python floats
  (as optax: treated as arrays) are accepted.
* Integer and bool leaves are refused, in ``init`` and in ``update``, with one
  :class:`lamb_ref.LeafDtypeError` (a ``HyperparameterError`` and a ``TypeError``) naming the leaf
  path, its dtype and what is allowed - the same message in both backends, raised from dtypes
  alone (at trace time under ``jit``). Complex leaves are taken (optax's convention) except with
  the l1/l∞ trust norms, which refuse them the same way (``tests/test_lamb_ref_complex.py``).
* A learning rate (a schedule's value) that is negative or non-finite raises under the opt-in
  ``finite_check`` in both backends (under ``jit`` through ``jax.debug.callback``) and is taken
  as is without it, in both backends.
"""

from __future__ import annotations

import importlib
import math
import re
from collections.abc import Callable
from types import SimpleNamespace
from typing import Any

import jax
import jax.numpy as jnp
import ml_dtypes
import numpy as np
import pytest

import lamb_ref
from lamb_ref import HyperparameterError, LeafDtypeError, numpy_inplace, reference
from lamb_ref._variant_specs import NAMES
from tests.helpers import OPTIMIZERS, factory, to_numpy, variant_hp

BACKENDS = {
    "numpy": SimpleNamespace(
        pkg=reference,
        lars=importlib.import_module("lamb_ref.reference.lars"),
        arr=np.asarray,
        apply=reference.apply_updates,
    ),
    "jax": SimpleNamespace(
        pkg=lamb_ref,
        lars=importlib.import_module("lamb_ref.lars"),
        arr=jnp.asarray,
        apply=lamb_ref.apply_updates,
    ),
}

LARS_2017_HP = {
    "lars_2017": dict(learning_rate=0.1, momentum=0.9, weight_decay=0.01, nesterov=True),
    "optax_lars": dict(learning_rate=0.1, momentum=0.9, weight_decay=0.01),
}


def _case(
    build: Callable[[SimpleNamespace, dict], Any], hp: dict
) -> tuple[Callable[[SimpleNamespace, dict], Any], dict]:
    return build, hp


# Every public optimizer: the factories (tests/helpers.OPTIMIZERS), the 2017 LARS forms and every
# named variant. Each case: (build(backend, hp) -> optimizer, hp).
CASES: dict[str, tuple[Callable[[SimpleNamespace, dict], Any], dict]] = {
    **{
        key: _case(lambda b, hp, key=key: getattr(b.pkg, factory(key))(**hp), hp)
        for key, hp in OPTIMIZERS.items()
    },
    **{
        name: _case(lambda b, hp, name=name: getattr(b.lars, name)(**hp), hp)
        for name, hp in LARS_2017_HP.items()
    },
    **{
        f"variant_{name}": _case(
            lambda b, hp, name=name: b.pkg.variants.make(name, **hp), variant_hp(name)
        )
        for name in NAMES
    },
}

BAD_DTYPES = {
    "int32": np.int32,
    "int64": np.int64,
    "bool": np.bool_,
}
FLOAT_DTYPES = {
    "float16": np.float16,
    "bfloat16": ml_dtypes.bfloat16,
    "float32": np.float32,
    "float64": np.float64,
}
BAD_LEAF = "layers/1"


def _tree(arr: Callable, dtype: Any, bad: Any = None) -> dict:
    """A tree of ``dtype`` leaves; leaf ``layers/1`` has dtype ``bad`` if given."""
    rng = np.random.default_rng(0)
    layer = rng.normal(size=3) + 1
    return {
        "dense": {
            "kernel": arr(rng.normal(size=(2, 3)).astype(dtype)),
            "bias": arr(np.zeros(3, dtype)),
        },
        "layers": [
            arr(rng.normal(size=4).astype(dtype)),
            arr(layer.astype(bad) if bad is not None else layer.astype(dtype)),
        ],
    }


def _build(backend: str, case: str, **override: Any) -> Any:
    build, hp = CASES[case]
    return build(BACKENDS[backend], {**hp, **override})


def _error(fn: Callable[[], Any]) -> LeafDtypeError:
    with pytest.raises(LeafDtypeError) as info:
        fn()
    return info.value


def _expected(what: str, dtype_name: str) -> str:
    return re.escape(f"{what} leaf '{BAD_LEAF}' has dtype {dtype_name}: ")


# --- refused leaves -----------------------------------------------------------------------------


def test_the_cases_cover_every_public_optimizer():
    exported = {"lamb", "lars", "nlamb", "nnlamb", "sgd", "momentum", "adam", "adamw", "adagrad"}
    assert exported <= {factory(k) for k in OPTIMIZERS}
    assert {f"variant_{n}" for n in NAMES} <= set(CASES)
    assert {"lars_2017", "optax_lars"} <= set(CASES)


def test_leaf_dtype_error_is_a_hyperparameter_error_and_a_type_error():
    assert issubclass(LeafDtypeError, HyperparameterError)
    assert issubclass(LeafDtypeError, TypeError)


@pytest.mark.parametrize("dtype", BAD_DTYPES)
@pytest.mark.parametrize("case", CASES)
@pytest.mark.parametrize("backend", BACKENDS)
def test_non_float_leaves_are_refused_in_init_and_update(backend, case, dtype):
    b, bad = BACKENDS[backend], BAD_DTYPES[dtype]
    tx = _build(backend, case)
    good = _tree(b.arr, np.float64)
    broken = _tree(b.arr, np.float64, bad=bad)
    state = tx.init(good)
    err = _error(lambda: tx.init(broken))
    assert re.match(_expected("params", dtype), str(err)), err
    assert "floating-point arrays of any float dtype" in str(err)
    err = _error(lambda: tx.update(broken, state, good))
    assert re.match(_expected("grads", dtype), str(err)), err
    err = _error(lambda: tx.update(good, state, broken))
    assert re.match(_expected("params", dtype), str(err)), err


@pytest.mark.parametrize("dtype", BAD_DTYPES)
@pytest.mark.parametrize("case", CASES)
def test_both_backends_give_the_same_message(case, dtype):
    messages = []
    for backend, b in BACKENDS.items():
        tx = _build(backend, case)
        good = _tree(b.arr, np.float64)
        broken = _tree(b.arr, np.float64, bad=BAD_DTYPES[dtype])
        state = tx.init(good)
        messages.append(
            (
                str(_error(lambda tx=tx, broken=broken: tx.init(broken))),
                str(_error(lambda tx=tx, broken=broken, g=good, s=state: tx.update(broken, s, g))),
                str(_error(lambda tx=tx, broken=broken, g=good, s=state: tx.update(g, s, broken))),
            )
        )
    assert messages[0] == messages[1]


@pytest.mark.parametrize("case", CASES)
def test_jax_refuses_at_trace_time(case):
    """Under jit the dtype check runs while tracing: the same error, before any compilation."""
    tx = _build("jax", case)
    good = _tree(jnp.asarray, np.float64)
    broken = _tree(jnp.asarray, np.float64, bad=np.int32)
    state = tx.init(good)
    err = _error(lambda: jax.jit(tx.update)(broken, state, good))
    assert re.match(_expected("grads", "int32"), str(err)), err
    err = _error(lambda: jax.jit(tx.init)(broken))
    assert re.match(_expected("params", "int32"), str(err)), err


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize(
    "leaf, described",
    [(3, "Python type int"), (True, "Python type bool")],
    ids=["int", "bool"],
)
def test_python_scalar_leaves_other_than_float_are_refused(backend, leaf, described):
    tx = BACKENDS[backend].pkg.lamb(0.1)
    with pytest.raises(LeafDtypeError, match=re.escape(f"params leaf 'w' has {described}: ")):
        tx.init({"w": leaf, "b": 1.0})


@pytest.mark.parametrize("backend", BACKENDS)
def test_complex_leaves_are_refused_only_with_an_l1_or_linf_trust_norm(backend):
    b = BACKENDS[backend]
    params = {"w": b.arr(np.ones(2, np.complex64))}
    b.pkg.lamb(0.1).init(params)  # l2: taken, as optax.lamb takes it
    with pytest.raises(LeafDtypeError, match=r"lamb with trust_norm='l1' does not take complex"):
        b.pkg.lamb(0.1, trust_norm="l1").init(params)


def test_in_place_step_refuses_non_float_leaves_as_the_reference():
    opt = numpy_inplace.make("lamb", learning_rate=0.1)
    good = _tree(np.asarray, np.float64)
    state = opt.init(good)
    broken = _tree(np.asarray, np.float64, bad=np.int64)
    err = _error(lambda: opt.step(good, state, broken))
    assert re.match(_expected("grads", "int64"), str(err)), err
    err = _error(lambda: opt.init(broken))
    assert re.match(_expected("params", "int64"), str(err)), err


# --- accepted leaves ----------------------------------------------------------------------------


def _steps(backend: str, case: str, params: Any, steps: int = 2) -> list[Any]:
    b = BACKENDS[backend]
    tx = _build(backend, case)
    state = tx.init(params)
    out = []
    for _ in range(steps):
        grads = jax.tree.map(lambda x: x * 0.5 - 0.1, params) if backend == "jax" else _half(params)
        updates, state = tx.update(grads, state, params)
        out.append(updates)
        params = b.apply(params, updates)
    return out


def _half(tree: Any) -> Any:
    if isinstance(tree, dict):
        return {k: _half(v) for k, v in tree.items()}
    if isinstance(tree, list):
        return [_half(v) for v in tree]
    if isinstance(tree, float):
        return tree * 0.5 - 0.1
    return (np.asarray(tree) * 0.5 - 0.1).astype(np.asarray(tree).dtype)


@pytest.mark.parametrize("dtype", FLOAT_DTYPES)
@pytest.mark.parametrize("case", CASES)
@pytest.mark.parametrize("backend", BACKENDS)
def test_float_leaves_and_python_floats_run(backend, case, dtype):
    b = BACKENDS[backend]
    params = {**_tree(b.arr, FLOAT_DTYPES[dtype]), "scale": 0.75}
    for updates in _steps(backend, case, params):
        for name in ("dense", "layers"):
            for leaf in jax.tree.leaves(updates[name]):
                assert np.asarray(leaf).dtype == np.dtype(FLOAT_DTYPES[dtype])
                assert np.all(np.isfinite(np.asarray(leaf, np.float64))), (name, leaf)
        scale = np.asarray(updates["scale"])
        assert scale.shape == () and np.issubdtype(scale.dtype, np.floating)
        assert np.isfinite(float(scale))


@pytest.mark.parametrize("case", CASES)
def test_python_float_leaves_give_the_same_steps_in_both_backends(case):
    """A Python float leaf is a float64 scalar array in NumPy and (x64 on) in JAX."""
    runs = [
        to_numpy(_steps(backend, case, {**_tree(b.arr, np.float64), "scale": 0.75}, steps=3))
        for backend, b in BACKENDS.items()
    ]
    for ref_step, jax_step in zip(*runs, strict=True):
        np.testing.assert_allclose(
            np.asarray(jax_step["scale"]), np.asarray(ref_step["scale"]), rtol=1e-10, atol=1e-14
        )


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_single_python_float_is_a_tree(backend):
    tx = BACKENDS[backend].pkg.lamb(0.1)
    updates, _ = tx.update(0.5, tx.init(2.0), 2.0)
    assert float(np.asarray(updates)) < 0


@pytest.mark.jax_defaults
@pytest.mark.parametrize("case", ["lamb", "lars", "nlamb", "adam", "variant_timm", "lars_2017"])
def test_jax_defaults_python_float_and_bfloat16_under_jit(case):
    params = {
        "w": jnp.ones((2, 3), jnp.bfloat16),
        "v": jnp.ones(3, jnp.float16),
        "s": 0.5,
    }
    tx = _build("jax", case)
    state = tx.init(params)
    updates, state = jax.jit(tx.update)(params, state, params)
    assert updates["w"].dtype == jnp.bfloat16 and updates["v"].dtype == jnp.float16
    assert updates["s"].dtype == jnp.float32
    for leaf in jax.tree.leaves(updates):
        assert np.all(np.isfinite(np.asarray(leaf, np.float32)))


# --- learning rates -----------------------------------------------------------------------------

BAD_SCHEDULES = {
    "minus_one": (
        lambda count: -1.0,
        r"learning_rate schedule returned -1\.0 at step 0 is invalid",
    ),
    "nan": (lambda count: math.nan, r"learning_rate schedule returned nan at step 0 is invalid"),
    # traced in JAX (a function of the step), negative from the third step on
    "decays_below_zero": (
        lambda count: 0.1 - 0.1 * count,
        r"learning_rate schedule returned -0\.1 at step 2 is invalid",
    ),
}


def _run_schedule(backend: str, case: str, schedule: Callable, checked: bool, jit: bool = False):
    b = BACKENDS[backend]
    tx = _build(backend, case, learning_rate=schedule)
    if checked:
        tx = b.pkg.finite_check(tx)
    params = _tree(b.arr, np.float64)
    state = tx.init(params)
    update = jax.jit(tx.update) if jit else tx.update
    out = []
    for _ in range(3):
        updates, state = update(params, state, params)
        if backend == "jax":
            updates = jax.block_until_ready(updates)
        out.append(to_numpy(updates))
    return out


@pytest.mark.parametrize("schedule", BAD_SCHEDULES)
@pytest.mark.parametrize("case", CASES)
@pytest.mark.parametrize("backend", BACKENDS)
def test_bad_schedule_value_raises_under_finite_check(backend, case, schedule):
    fn, pattern = BAD_SCHEDULES[schedule]
    with pytest.raises(HyperparameterError, match=pattern):
        _run_schedule(backend, case, fn, checked=True)


@pytest.mark.parametrize("schedule", BAD_SCHEDULES)
@pytest.mark.parametrize("case", ["lamb", "lars", "nnlamb", "adagrad", "variant_timm", "lars_2017"])
def test_bad_schedule_value_raises_under_finite_check_and_jit(case, schedule):
    fn, pattern = BAD_SCHEDULES[schedule]
    with pytest.raises(Exception, match=pattern):
        _run_schedule("jax", case, fn, checked=True, jit=True)


@pytest.mark.parametrize("case", ["lamb_schedule_phi", "lars_phi_schedule", "variant_keras3"])
def test_finite_check_passes_a_valid_schedule_and_changes_nothing(case):
    for backend in BACKENDS:
        schedule = CASES[case][1]["learning_rate"]
        plain = _run_schedule(backend, case, schedule, checked=False)
        checked = _run_schedule(backend, case, schedule, checked=True)
        for a, c in zip(plain, checked, strict=True):
            jax.tree.map(np.testing.assert_array_equal, a, c)
    jitted = _run_schedule("jax", case, schedule, checked=True, jit=True)
    assert len(jitted) == 3


@pytest.mark.parametrize("schedule", BAD_SCHEDULES)
@pytest.mark.parametrize("case", CASES)
def test_without_finite_check_both_backends_take_the_value_as_is(case, schedule):
    """Documented: no check without the opt-in (as optax); both backends then agree."""
    fn, _ = BAD_SCHEDULES[schedule]
    with np.errstate(invalid="ignore"):
        runs = [_run_schedule(backend, case, fn, checked=False) for backend in BACKENDS]
    for ref_step, jax_step in zip(*runs, strict=True):
        jax.tree.map(
            lambda r, j: np.testing.assert_allclose(j, r, rtol=1e-9, atol=1e-12),
            ref_step,
            jax_step,
        )


def test_in_place_step_checks_the_schedule_under_its_finite_check():
    params = _tree(np.asarray, np.float64)
    opt = numpy_inplace.finite_check(numpy_inplace.make("lamb", learning_rate=lambda c: -1.0))
    with pytest.raises(HyperparameterError, match=r"schedule returned -1\.0 at step 0"):
        opt.step(params, opt.init(params), params)
