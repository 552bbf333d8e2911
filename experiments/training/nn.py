"""Small neural-network building blocks over named parameter trees (plain ``jax.numpy``).

Parameters are nested dicts, so a leaf's key path reads like a TF/Flax variable name
(``encoder/layer_0/attention/query/kernel``, ``…/LayerNorm/scale``, ``…/bias``); the optimizers'
regex exclusion lists (:mod:`lamb_ref.masks`) match those names. Every array is created in
float32 explicitly, so a model computes in float32 whether or not the caller has JAX's 64-bit
types on (the training entry points switch them on for their call, for 64-bit integer sorting).
"""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

Params = dict[str, Any]
DTYPE = jnp.float32


def check_positive_int(name: str, value: Any, minimum: int = 1) -> None:
    """Raise ValueError naming ``name`` unless ``value`` is an int >= ``minimum``."""
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < minimum:
        raise ValueError(f"{name}={value!r} is invalid: expected an integer >= {minimum}")


def truncated_normal(key: jax.Array, shape: tuple[int, ...], stddev: float) -> jax.Array:
    """N(0, σ²) truncated to ±2σ (BERT's ``initializer_range`` initialiser), float32."""
    sample = jax.random.truncated_normal(key, -2.0, 2.0, shape, DTYPE)
    return sample * jnp.asarray(stddev, DTYPE)  # a NumPy float64 σ would promote to float64


def dense_init(key: jax.Array, n_in: int, n_out: int, stddev: float | None = None) -> Params:
    """``{"kernel": [n_in, n_out], "bias": [n_out]}``; σ = 1/√n_in (LeCun) unless given."""
    std = 1.0 / np.sqrt(n_in) if stddev is None else stddev
    return {"kernel": truncated_normal(key, (n_in, n_out), std), "bias": jnp.zeros(n_out, DTYPE)}


def dense(p: Params, x: jax.Array) -> jax.Array:
    """x W + b over the last axis."""
    return x @ p["kernel"] + p["bias"]


def layer_norm_init(width: int) -> Params:
    """``{"scale": 1, "bias": 0}`` of size ``width``."""
    return {"scale": jnp.ones(width, DTYPE), "bias": jnp.zeros(width, DTYPE)}


def layer_norm(p: Params, x: jax.Array, eps: float = 1e-12) -> jax.Array:
    """LayerNorm over the last axis: (x - μ)/√(σ² + ε) · scale + bias (BERT's ε = 1e-12)."""
    mu = jnp.mean(x, axis=-1, keepdims=True)
    var = jnp.mean(jnp.square(x - mu), axis=-1, keepdims=True)
    return (x - mu) * jax.lax.rsqrt(var + eps) * p["scale"] + p["bias"]


def gelu(x: jax.Array) -> jax.Array:
    """GELU, tanh approximation (as in the public BERT/ALBERT TF code; cheaper than erf on CPU)."""
    return jax.nn.gelu(x, approximate=True)


def cross_entropy(logits: jax.Array, labels: jax.Array) -> jax.Array:
    """Per-example −log softmax(logits)[label] over the last axis (labels are int class ids)."""
    logp = jax.nn.log_softmax(logits, axis=-1)
    return -jnp.take_along_axis(logp, labels[..., None], axis=-1)[..., 0]


def count_parameters(params: Params) -> int:
    """Total number of scalars in a parameter tree."""
    return int(sum(np.prod(np.shape(x)) for x in jax.tree.leaves(params)))
