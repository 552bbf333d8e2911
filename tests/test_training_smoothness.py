"""Per-layer smoothness (HVP power iteration vs the exact block Hessian) and gradient noise."""

import jax
import jax.numpy as jnp
import numpy as np
import pandas as pd
import pytest
from jax.flatten_util import ravel_pytree

from experiments.training import TrainConfig, nn, smoothness, train, vision
from lamb_ref import leaf_names

# Power iteration for 300 steps on blocks of <= 20 coordinates converges to the top |eigenvalue|
# at rate |λ2/λ1|^300; measured worst relative error 1.6e-6 on this model (float64), so 1e-4
# leaves margin while any wrong block (a different layer's Hessian, a missing cross term, a
# mixed-up eigenvalue) is off by orders more.
POWER_VS_EXACT_REL = 1e-4


def _tiny_problem():
    cfg = vision.MLPConfig(5, (4,), 3)
    params = jax.tree.map(
        lambda x: x.astype(jnp.float64), vision.mlp_init(jax.random.PRNGKey(0), cfg)
    )
    x = jax.random.normal(jax.random.PRNGKey(1), (20, 5), jnp.float64)
    y = jnp.arange(20) % 3

    def loss(p):
        return jnp.mean(nn.cross_entropy(vision.mlp_apply(p, cfg, x), y))

    return params, loss


def test_power_iteration_matches_exact_block_hessian():
    params, loss = _tiny_problem()
    est = smoothness.layer_smoothness(loss, params, jax.random.PRNGKey(2), iters=300)
    # The exact Hessian of the flattened parameters (39 x 39) in one compiled call; block i is
    # the slice of leaf i (ravel_pytree concatenates leaves in tree order).
    flat, unravel = ravel_pytree(params)
    H = np.asarray(jax.jit(jax.hessian(lambda v: loss(unravel(v))))(flat))
    start = 0
    for name, leaf in zip(leaf_names(params), jax.tree.leaves(params), strict=True):
        block = H[start : start + leaf.size, start : start + leaf.size]
        start += leaf.size
        exact = np.abs(np.linalg.eigvalsh(block)).max()
        assert est[name] == pytest.approx(exact, rel=POWER_VS_EXACT_REL), name
    with pytest.raises(ValueError, match="iters=0 is invalid"):
        smoothness.layer_smoothness(loss, params, jax.random.PRNGKey(2), iters=0)


def test_profile_and_theory_constants_on_a_trained_model():
    config = TrainConfig(task="digits", model="mlp", epochs=1.0, n_evals=2, keep_checkpoints=True)
    r = train(config)
    assert sorted(r.checkpoints) == [0, 11, 22]
    points = {0: r.checkpoints[0], 22: r.checkpoints[22]}
    df = smoothness.profile(config, points, iters=5, hessian_batch_size=64, n_batches=4)
    assert len(df) == 2 * 4 and set(df.layer) == set(leaf_names(r.params))
    assert (df.L > 0).all() and (df.sigma2 > 0).all() and np.isfinite(df.grad_norm).all()
    c, summary = smoothness.theory_constants(df), smoothness.constants_summary(df)
    assert c["h"] == 4 and c["d"] == 64 * 64 + 64 + 64 * 10 + 10
    assert summary["L_inf"] == max(c["L"]) and summary["L_avg"] == pytest.approx(np.mean(c["L"]))


def test_theory_constants_closed_form():
    df = pd.DataFrame(
        {
            "step": [0, 0, 5, 5],
            "layer": ["a", "b", "a", "b"],
            "size": [2, 3, 2, 3],
            "L": [1.0, 4.0, 3.0, 2.0],
            "sigma": [0.5, 0.1, 0.2, 0.3],
        }
    )
    c, summary = smoothness.theory_constants(df), smoothness.constants_summary(df)
    assert summary["layers"] == ["a", "b"] and c["L"] == [3.0, 4.0] and c["sigma"] == [0.5, 0.3]
    assert (summary["L_avg"], summary["L_inf"], summary["L_1"], c["d"]) == (3.5, 4.0, 7.0, 5)
    assert summary["sigma_1"] == pytest.approx(0.8)
    assert summary["sigma_2"] == pytest.approx(np.sqrt(0.34))
