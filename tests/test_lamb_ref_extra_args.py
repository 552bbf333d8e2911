"""optax's extra-args convention: ``update(grads, state, params, **extra_args)`` ignores extras.

``optax.chain`` (and other ``GradientTransformationExtraArgs`` combinators) pass keyword
arguments such as ``value=loss`` to every member; every optimizer of both backends accepts and
ignores them, so the result is bit for bit the one without them.
"""

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

import lamb_ref
from lamb_ref import reference
from lamb_ref.lars import lars_2017, optax_lars
from lamb_ref.reference.lars import lars_2017 as reference_lars_2017
from lamb_ref.reference.lars import optax_lars as reference_optax_lars
from tests.helpers import OPTIMIZERS, factory, random_tree, to_jax, to_numpy, variant_hp

EXTRA = dict(value=1.0, foo="x")

# (id, JAX builder, NumPy builder): every factory case, lars_2017/optax_lars, every variant
# and the finite_check wrapper.
_LARS_HP = dict(learning_rate=0.1, momentum=0.9, weight_decay=0.01, trust_coefficient=0.01)
CASES = (
    [
        (
            f"opt:{key}",
            lambda key=key: getattr(lamb_ref, factory(key))(**OPTIMIZERS[key]),
            lambda key=key: getattr(reference, factory(key))(**OPTIMIZERS[key]),
        )
        for key in OPTIMIZERS
    ]
    + [
        (
            f"fn:{fast.__name__}",
            lambda fast=fast: fast(**_LARS_HP),
            lambda ref=ref: ref(**_LARS_HP),
        )
        for fast, ref in (
            (lars_2017, reference_lars_2017),
            (optax_lars, reference_optax_lars),
        )
    ]
    + [
        (
            f"variant:{name}",
            lambda name=name: lamb_ref.variants.make(name, **variant_hp(name)),
            lambda name=name: reference.variants.make(name, **variant_hp(name)),
        )
        for name in lamb_ref.variants.NAMES
    ]
    + [
        (
            "finite_check:lamb",
            lambda: lamb_ref.finite_check(lamb_ref.lamb(0.02, weight_decay=0.01)),
            lambda: reference.finite_check(reference.lamb(0.02, weight_decay=0.01)),
        )
    ]
)
IDS = [c[0] for c in CASES]


def _problem():
    rng = np.random.default_rng(0)
    params = random_tree(rng)
    grads = [
        jax.tree.map(lambda x, r=r: (x - 0.3 + r.normal(size=np.shape(x))).astype(x.dtype), params)
        for r in (np.random.default_rng(1), np.random.default_rng(2))
    ]
    return params, grads


def _same(a, b):
    for x, y in zip(jax.tree.leaves(a), jax.tree.leaves(b), strict=True):
        np.testing.assert_array_equal(np.asarray(x), np.asarray(y))
    assert jax.tree.structure(a) == jax.tree.structure(b)


def _steps(tx, params, grads, apply, extra):
    state = tx.init(params)
    out = []
    for g in grads:
        updates, state = tx.update(g, state, params, **extra)
        params = apply(params, updates)
        out.append((updates, state))
    return out


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_jax_update_ignores_extra_args(case):
    _, build, _ = case
    tx = build()
    assert isinstance(tx, optax.GradientTransformationExtraArgs)
    params, grads = _problem()
    params, grads = to_jax(params), [to_jax(g) for g in grads]
    plain = _steps(tx, params, grads, lamb_ref.apply_updates, {})
    extra = _steps(tx, params, grads, lamb_ref.apply_updates, EXTRA)
    _same(plain, extra)


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_numpy_update_ignores_extra_args(case):
    _, _, build = case
    opt = build()
    params, grads = _problem()
    params, grads = to_numpy(params), [to_numpy(g) for g in grads]
    plain = _steps(opt, params, grads, reference.apply_updates, {})
    extra = _steps(opt, params, grads, reference.apply_updates, EXTRA)
    _same(plain, extra)


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_inside_optax_chain_with_extra_args(case):
    """``optax.chain(clip_by_global_norm, tx)`` with extra args equals clip-then-``tx`` by hand,
    jitted, and the extra args reach the chain as a traced value."""
    _, build, _ = case
    tx = build()
    chained = optax.chain(optax.clip_by_global_norm(1.0), tx)
    clip = optax.clip_by_global_norm(1.0)
    params, grads = _problem()
    params, grads = to_jax(params), [to_jax(g) for g in grads]

    @jax.jit
    def chain_step(g, state, p, value):
        return chained.update(g, state, p, value=value, foo=jnp.zeros(()))

    state = chained.init(params)
    manual = tx.init(params)
    p = params
    for g in grads:
        updates, state = chain_step(g, state, p, jnp.asarray(1.0))
        clipped, _ = clip.update(g, clip.init(p), p)
        expected, manual = jax.jit(tx.update)(clipped, manual, p)
        np.testing.assert_allclose(
            np.concatenate([np.ravel(x) for x in jax.tree.leaves(updates)]),
            np.concatenate([np.ravel(x) for x in jax.tree.leaves(expected)]),
            rtol=1e-12,
            atol=1e-14,
        )
        p = lamb_ref.apply_updates(p, updates)


def test_finite_check_passes_extra_args_on_and_tolerates_plain_transformations():
    seen = {}

    def update(grads, state, params=None, **extra):
        seen.update(extra)
        return grads, state

    wrapped = lamb_ref.finite_check(
        optax.GradientTransformationExtraArgs(optax.identity().init, update)
    )
    params = {"w": jnp.ones(2)}
    wrapped.update(params, wrapped.init(params), params, value=2.0)
    assert seen == {"value": 2.0}
    # a plain GradientTransformation (no **extra_args) still works under the wrapper
    plain = lamb_ref.finite_check(optax.scale(-0.1))
    u, _ = plain.update(params, plain.init(params), params, value=2.0)
    np.testing.assert_allclose(np.asarray(u["w"]), -0.1)
