"""JAX-specific contracts: jit without recompilation, vmap over learning rates through
optax.inject_hyperparams, float32 state, leaf names from key paths."""

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

import lamb_ref
from lamb_ref import reference
from tests.helpers import max_abs_diff, random_tree, run, to_jax
from tests.tolerances import BACKENDS_F64_ABS

FACTORIES = ["lamb", "lars", "nlamb", "nnlamb", "sgd", "momentum", "adam", "adamw", "adagrad"]


@pytest.mark.parametrize("name", FACTORIES)
def test_jit_compiles_once(name):
    traces = []
    tx = getattr(lamb_ref, name)(learning_rate=0.01)

    @jax.jit
    def step(params, state):
        traces.append(1)
        grads = jax.tree.map(lambda x: x - 0.5, params)
        updates, state = tx.update(grads, state, params)
        return optax.apply_updates(params, updates), state

    params = to_jax(random_tree(np.random.default_rng(0)))
    state = tx.init(params)
    for _ in range(3):
        params, state = step(params, state)
    assert len(traces) == 1


@pytest.mark.parametrize("name", ["lamb", "lars", "nlamb", "adamw"])
def test_vmap_over_learning_rates_with_inject_hyperparams(name):
    tx = optax.inject_hyperparams(getattr(lamb_ref, name))
    params = to_jax(random_tree(np.random.default_rng(1)))
    lrs = jnp.array([0.001, 0.01, 0.1])

    def train(lr):
        opt = tx(learning_rate=lr)
        p, state = params, opt.init(params)
        for _ in range(3):
            g = jax.tree.map(lambda x: x - 0.3, p)
            u, state = opt.update(g, state, p)
            p = optax.apply_updates(p, u)
        return p

    batched = jax.jit(jax.vmap(train))(lrs)
    for k, lr in enumerate([0.001, 0.01, 0.1]):
        expected = run(
            getattr(reference, name)(lr),
            params,
            lambda p, t: jax.tree.map(lambda x: np.asarray(x) - 0.3, p),
            3,
            "numpy",
        )
        got = jax.tree.map(lambda x, k=k: np.asarray(x[k]), batched)
        assert max_abs_diff(expected[-1], got) <= BACKENDS_F64_ABS


@pytest.mark.parametrize("name", FACTORIES)
def test_float32_state_stays_float32(name):
    tx = getattr(lamb_ref, name)(learning_rate=0.01)
    params = to_jax(random_tree(np.random.default_rng(3), dtype=np.float32))
    state = tx.init(params)
    step = jax.jit(tx.update)
    for _ in range(2):
        grads = jax.tree.map(lambda x: x - 0.5, params)
        updates, state = step(grads, state, params)
        params = optax.apply_updates(params, updates)
    for leaf in jax.tree.leaves((params, updates, state)):
        if jnp.issubdtype(leaf.dtype, jnp.floating):
            assert leaf.dtype == jnp.float32


def test_leaf_names_are_key_paths():
    tree = {"dense": {"kernel": 1.0, "bias": 2.0}, "layers": [3.0, {"w": 4.0}]}
    assert lamb_ref.leaf_names(tree) == ["dense/bias", "dense/kernel", "layers/0", "layers/1/w"]
    from lamb_ref.reference import _tree

    assert _tree.flatten(tree)[0] == lamb_ref.leaf_names(tree)


def test_example_loss_goes_down():
    """The README example: LAMB on a small least-squares problem lowers the loss."""
    from examples.quickstart import train

    losses = train(steps=200)
    assert losses[-1] < 0.05 * losses[0]
