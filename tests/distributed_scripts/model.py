"""The small model, data and training loop shared by the distributed tests and their scripts.

A three-layer tanh MLP in float64 on deterministic data; named layers so that a rule can split
one kernel (``SPLIT``) over the mesh. Imports nothing that computes, so a script can still call
``jax.distributed.initialize`` after importing this module.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
from jax.sharding import PartitionSpec as P

import lamb_ref
from experiments import distributed

BATCH, STEPS = 64, 10
# The kernel the layer-sharded runs split: 16 x 8, its 8 columns over the mesh's devices.
SPLIT = "layer_1/kernel"
SPLIT_SPEC = P(None, "data")
OPTIMIZERS = {
    # weight decay on, so the trust ratio's denominator ‖r + λx‖ mixes the moments and x
    "lamb": lambda: lamb_ref.lamb(learning_rate=0.02, weight_decay=0.01),
    "lars": lambda: lamb_ref.lars(learning_rate=0.05, momentum=0.9, weight_decay=1e-3),
}


def init_params() -> dict:
    rng = np.random.default_rng(20200101)
    sizes = (("layer_0", 4, 16), ("layer_1", 16, 8), ("head", 8, 1))
    return {
        name: {
            "kernel": rng.normal(size=(m, n)) / np.sqrt(m),
            "bias": 0.1 * rng.normal(size=n),
        }
        for name, m, n in sizes
    }


def data() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(7)
    x = rng.normal(size=(BATCH, 4))
    y = np.sin(x @ np.array([1.0, -2.0, 0.5, 1.5]))[:, None]
    return x, y


def loss_fn(params: dict, batch: tuple) -> jax.Array:
    """Mean squared error over the (global) batch."""
    x, y = batch
    for name in ("layer_0", "layer_1"):
        x = jnp.tanh(x @ params[name]["kernel"] + params[name]["bias"])
    pred = x @ params["head"]["kernel"] + params["head"]["bias"]
    return jnp.mean((pred - y) ** 2)


def specs(split: bool) -> dict:
    rules = {SPLIT + "$": SPLIT_SPEC} if split else None
    return distributed.param_specs(init_params(), rules)


def train(
    optimizer,
    mesh,
    param_specs,
    *,
    process_local: bool = False,
    steps: int = STEPS,
) -> tuple[np.ndarray, dict, object]:
    """Train ``steps`` steps; return (trajectory (steps+1, n) of the flattened params, the final
    params as NumPy, the final params as placed arrays). ``process_local``: each process
    passes only its contiguous block of the batch."""
    step = distributed.sharded_train_step(loss_fn, optimizer, mesh, param_specs)
    params, state = step.init(init_params())
    x, y = data()
    if process_local:
        n = BATCH // jax.process_count()
        rows = slice(jax.process_index() * n, (jax.process_index() + 1) * n)
        batch = step.place_batch((x[rows], y[rows]), process_local=True)
    else:
        batch = step.place_batch((x, y))

    def flat(p):
        return np.concatenate([a.ravel() for a in jax.tree.leaves(distributed.gather(p))])

    trajectory = [flat(params)]
    for _ in range(steps):
        params, state, _ = step(params, state, batch)
        trajectory.append(flat(params))
    return np.stack(trajectory), distributed.gather(params), params
