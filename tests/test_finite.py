"""NaN/Inf gradients: documented propagation, and the opt-in check naming the leaf."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import lamb_ref
from lamb_ref import reference
from lamb_ref.finite import NonFiniteGradientError
from lamb_ref.reference.finite import NonFiniteGradientError as RefNonFinite


@pytest.mark.parametrize(
    "m, arr", [(reference, np.asarray), (lamb_ref, jnp.asarray)], ids=["numpy", "jax"]
)
def test_nan_propagates_to_its_coordinate_and_unnormalises_its_leaf(m, arr):
    params = {"a": arr(np.ones(3)), "b": arr(np.ones(3))}
    grads = {"a": arr(np.array([1.0, np.nan, 1.0])), "b": arr(np.ones(3))}
    tx = m.lamb(0.1, weight_decay=0.01)
    updates, _ = tx.update(grads, tx.init(params), params)
    a = np.asarray(updates["a"])
    assert np.isnan(a[1])
    # ratio 1 on the NaN-norm leaf: r = m̂/(√v̂+ε) = 1/(1+1e-6) at step 1, plus λx
    np.testing.assert_allclose(a[[0, 2]], -0.1 * (1 / (1 + 1e-6) + 0.01), rtol=1e-12)
    assert np.all(np.isfinite(np.asarray(updates["b"])))


@pytest.mark.parametrize(
    "m, arr", [(reference, np.asarray), (lamb_ref, jnp.asarray)], ids=["numpy", "jax"]
)
def test_global_clip_spreads_nan_and_inf_zeroes_other_leaves(m, arr):
    params = {"a": arr(np.ones(3)), "b": arr(np.ones(3))}
    tx = m.variants.make("timm", learning_rate=0.1)
    with np.errstate(invalid="ignore"):
        nan = {"a": arr(np.array([1.0, np.nan, 1.0])), "b": arr(np.ones(3))}
        updates, _ = tx.update(nan, tx.init(params), params)
        assert np.all(np.isnan(np.asarray(updates["b"])))
        inf = {"a": arr(np.array([1.0, np.inf, 1.0])), "b": arr(np.ones(3))}
        updates, _ = tx.update(inf, tx.init(params), params)
    # b's gradient became 0, so its update is the pure decay step -η·ratio·λx with ratio ‖x‖/‖λx‖
    np.testing.assert_allclose(np.asarray(updates["b"]), -0.1 * np.ones(3), rtol=1e-12)


def test_reference_check_names_the_leaf():
    tx = reference.finite_check(reference.lamb(0.1))
    params = {"dense": {"kernel": np.ones(2), "bias": np.ones(2)}}
    grads = {"dense": {"kernel": np.ones(2), "bias": np.array([np.nan, 1.0])}}
    with pytest.raises(
        RefNonFinite, match=r"non-finite gradient .* in leaf/leaves \['dense/bias'\]"
    ):
        tx.update(grads, tx.init(params), params)
    tx.update(params, tx.init(params), params)  # finite gradients pass


def test_jax_check_names_the_leaf_eagerly_and_under_jit():
    tx = lamb_ref.finite_check(lamb_ref.lamb(0.1))
    params = {"dense": {"kernel": jnp.ones(2), "bias": jnp.ones(2)}}
    grads = {"dense": {"kernel": jnp.array([jnp.inf, 1.0]), "bias": jnp.ones(2)}}
    state = tx.init(params)
    with pytest.raises(NonFiniteGradientError, match=r"\['dense/kernel'\]"):
        tx.update(grads, state, params)
    step = jax.jit(tx.update)
    with pytest.raises(Exception, match=r"non-finite gradient .*\['dense/kernel'\]"):
        jax.block_until_ready(step(grads, state, params))
    jax.block_until_ready(step(params, state, params))  # finite gradients pass under jit


def test_the_error_is_exported_at_the_top_level():
    """``except lamb_ref.NonFiniteGradientError`` catches what both backends raise."""
    import lamb_ref

    assert lamb_ref.NonFiniteGradientError is NonFiniteGradientError is RefNonFinite
    assert "NonFiniteGradientError" in lamb_ref.__all__
