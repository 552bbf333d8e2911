"""LAMB on a two-layer linear regression: the loss goes down.

Run ``python -m examples.quickstart``; it prints the loss every 50 steps.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import optax

import lamb_ref


def train(steps: int = 200, seed: int = 0) -> list[float]:
    """Fit y = X A B with LAMB (paper defaults, weight decay on kernels only); return losses."""
    kx, ka, kb, k1, k2 = jax.random.split(jax.random.PRNGKey(seed), 5)
    x = jax.random.normal(kx, (256, 8))
    y = x @ jax.random.normal(ka, (8, 4)) @ jax.random.normal(kb, (4, 2))
    params = {
        "layer1": {"kernel": 0.3 * jax.random.normal(k1, (8, 4)), "bias": jnp.zeros(4)},
        "layer2": {"kernel": 0.3 * jax.random.normal(k2, (4, 2)), "bias": jnp.zeros(2)},
    }

    def loss_fn(p):
        h = x @ p["layer1"]["kernel"] + p["layer1"]["bias"]
        return jnp.mean((h @ p["layer2"]["kernel"] + p["layer2"]["bias"] - y) ** 2)

    tx = lamb_ref.lamb(
        learning_rate=0.02, weight_decay=0.01, weight_decay_mask=lamb_ref.masks.exclude("bias")
    )
    state = tx.init(params)

    @jax.jit
    def step(p, s):
        loss, grads = jax.value_and_grad(loss_fn)(p)
        updates, s = tx.update(grads, s, p)
        return optax.apply_updates(p, updates), s, loss

    losses = []
    for _ in range(steps):
        params, state, loss = step(params, state)
        losses.append(float(loss))
    return losses


if __name__ == "__main__":
    for t, loss in enumerate(train()):
        if t % 50 == 0 or t == 199:
            print(f"step {t:4d}  loss {loss:.5f}")
