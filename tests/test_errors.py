"""Bad input raises an error naming the parameter, the value and what is allowed."""

import math

import jax.numpy as jnp
import numpy as np
import pytest

import lamb_ref
from lamb_ref import HyperparameterError, reference

BACKENDS = [pytest.param(reference, id="numpy"), pytest.param(lamb_ref, id="jax")]


@pytest.mark.parametrize("m", BACKENDS)
@pytest.mark.parametrize(
    "name", ["lamb", "lars", "nlamb", "nnlamb", "sgd", "momentum", "adam", "adamw", "adagrad"]
)
@pytest.mark.parametrize(
    "lr, pattern",
    [
        (-0.1, r"learning_rate=-0\.1 is invalid: must lie in"),
        (math.nan, r"learning_rate=nan is invalid: .*not NaN"),
        (math.inf, r"learning_rate=inf is invalid"),
    ],
)
def test_bad_learning_rate(m, name, lr, pattern):
    with pytest.raises(HyperparameterError, match=pattern):
        getattr(m, name)(lr)


@pytest.mark.parametrize("m", BACKENDS)
@pytest.mark.parametrize("name", ["lamb", "nlamb", "nnlamb", "adam", "adamw"])
@pytest.mark.parametrize("param, value", [("b1", 1.0), ("b1", -0.1), ("b2", 1.5), ("b2", math.nan)])
def test_betas_outside_unit_interval(m, name, param, value):
    with pytest.raises(
        HyperparameterError, match=rf"{param}={value!r} is invalid: .*\[0\.0, 1\.0\)"
    ):
        getattr(m, name)(0.01, **{param: value})


@pytest.mark.parametrize("m", BACKENDS)
def test_momentum_outside_unit_interval(m):
    with pytest.raises(
        HyperparameterError, match=r"momentum=1\.0 is invalid: must lie in \[0\.0, 1\.0\)"
    ):
        m.lars(0.1, momentum=1.0)


@pytest.mark.parametrize("m", BACKENDS)
def test_negative_eps(m):
    with pytest.raises(
        HyperparameterError, match=r"eps=-1e-06 is invalid: must lie in \[0\.0, inf\]"
    ):
        m.lamb(0.01, eps=-1e-6)


@pytest.mark.parametrize("m", BACKENDS)
@pytest.mark.parametrize(
    "phi, pattern",
    [
        ((2.0, 1.0), r"phi=\(2\.0, 1\.0\) is invalid: needs alpha_l <= alpha_u"),
        ((0.0, 1.0), r"phi\[0\] \(alpha_l\)=0\.0 is invalid: must lie in \(0\.0, inf\]"),
        ((-1.0, 1.0), r"phi\[0\] \(alpha_l\)=-1\.0 is invalid"),
        ("clip", r"phi='clip' is invalid: expected None .*a pair"),
    ],
)
def test_bad_phi(m, phi, pattern):
    for name in ("lamb", "lars"):
        with pytest.raises(HyperparameterError, match=pattern):
            getattr(m, name)(0.01, phi=phi)


@pytest.mark.parametrize("m", BACKENDS)
def test_bad_trust_norm(m):
    with pytest.raises(HyperparameterError, match=r"trust_norm='l3' is invalid: expected one of"):
        m.lamb(0.01, trust_norm="l3")


@pytest.mark.parametrize(
    "m, arr", [(reference, np.asarray), (lamb_ref, jnp.asarray)], ids=["numpy", "jax"]
)
def test_mismatched_trees(m, arr):
    tx = m.lamb(0.01)
    params = {"w": arr(np.ones((2, 2))), "b": arr(np.ones(2))}
    state = tx.init(params)
    with pytest.raises(
        HyperparameterError, match=r"grads and params do not match: .*lacks \['b'\]"
    ):
        tx.update({"w": arr(np.ones((2, 2)))}, state, params)
    with pytest.raises(
        HyperparameterError, match=r"do not match at leaf 'w': shape \(2, 3\) vs \(2, 2\)"
    ):
        tx.update({"w": arr(np.ones((2, 3))), "b": arr(np.ones(2))}, state, params)
    with pytest.raises(HyperparameterError, match=r"params=None is invalid"):
        tx.update(params, state, None)


@pytest.mark.parametrize("m", [reference.variants, lamb_ref.variants], ids=["numpy", "jax"])
def test_variant_errors(m):
    with pytest.raises(
        HyperparameterError, match=r"variant='lamb_v9' is unknown; the named variants are \["
    ):
        m.make("lamb_v9", learning_rate=0.1)
    with pytest.raises(
        HyperparameterError,
        match=(
            r"variant 'optax' \(optax 0\.2\.8 lamb\) does not take hyperparameter\(s\) "
            r"\['clamp_value'\] \(values \[10\.0\]\); it accepts"
        ),
    ):
        m.make("optax", learning_rate=0.1, clamp_value=10.0)
    with pytest.raises(
        HyperparameterError, match=r"does not take hyperparameter\(s\) \['momentum'\]"
    ):
        m.make("lamb", learning_rate=0.1, momentum=0.9)
    with pytest.raises(HyperparameterError, match=r"learning_rate is required for variant 'tfa'"):
        m.make("tfa")
    with pytest.raises(HyperparameterError, match=r"eps=0\.0 is invalid for variant 'tfa'"):
        m.make("tfa", learning_rate=0.1, eps=0.0)
    with pytest.raises(
        HyperparameterError,
        match=r"exclude_from_layer_adaptation=\['b'\] is invalid for variant 'keras3'",
    ):
        m.make("keras3", learning_rate=0.1, exclude_from_layer_adaptation=["b"])
    with pytest.raises(HyperparameterError, match=r"b2=1\.0 is invalid"):
        m.make("timm", learning_rate=0.1, b2=1.0)
    with pytest.raises(
        HyperparameterError,
        match=r"exclude_from_weight_decay='bias' is invalid: expected None or a list",
    ):
        m.make("lamb", learning_rate=0.1, exclude_from_weight_decay="bias")


@pytest.mark.parametrize(
    "m, arr", [(reference, np.asarray), (lamb_ref, jnp.asarray)], ids=["numpy", "jax"]
)
def test_timm_adaptation_exclusion_of_a_decayed_tensor_is_refused(m, arr):
    tx = m.variants.make(
        "timm", learning_rate=0.1, weight_decay=0.01, exclude_from_layer_adaptation=["b"]
    )
    params = {"w": arr(np.ones(2)), "b": arr(np.ones(2))}
    with pytest.raises(HyperparameterError, match=r"matches 'b', which has weight_decay=0\.01"):
        tx.update(params, tx.init(params), params)
    # consistent when b is also excluded from decay: b then takes a plain Adam step
    ok = m.variants.make(
        "timm",
        learning_rate=0.1,
        weight_decay=0.01,
        always_adapt=True,
        exclude_from_weight_decay=["b"],
        exclude_from_layer_adaptation=["b"],
    )
    ok.update(params, ok.init(params), params)


@pytest.mark.parametrize("m", BACKENDS)
def test_mask_leaves_must_be_bools(m):
    params = {"w": np.ones(2)}
    tx = m.lamb(0.1, weight_decay=0.1, weight_decay_mask={"w": 1.0})
    with pytest.raises(
        HyperparameterError, match=r"weight_decay_mask leaf 'w' is 1\.0; mask leaves must be"
    ):
        tx.update(params, tx.init(params), params)
    with pytest.raises(HyperparameterError, match=r"a single string is ambiguous"):
        m.lamb(0.1, weight_decay_mask="bias")


@pytest.mark.parametrize(
    "m, arr", [(reference, np.asarray), (lamb_ref, jnp.asarray)], ids=["numpy", "jax"]
)
def test_schedule_returning_negative_is_refused_under_finite_check(m, arr):
    """Both backends check a schedule's value only under the opt-in ``finite_check``."""
    params = {"w": arr(np.ones(2))}
    tx = m.finite_check(m.lamb(lambda count: -1.0))
    with pytest.raises(
        HyperparameterError, match=r"learning_rate schedule returned -1\.0 at step 0 is invalid"
    ):
        tx.update(params, tx.init(params), params)
    unchecked = m.lamb(lambda count: -1.0)  # as optax: η = -1 ascends
    updates, _ = unchecked.update(params, unchecked.init(params), params)
    assert np.all(np.asarray(updates["w"]) > 0)
