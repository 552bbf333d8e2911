"""Per-layer smoothness L_i and gradient noise σ_i of the real models, in the theory's names
(:func:`theory_constants` gives ``theory.THEOREMS[...].evaluate`` its keyword arguments).

Smoothness. For layer (leaf) i, L_i is estimated as the spectral norm of the block Hessian
H_ii = ∂²f/∂x_i² of the training loss f on a fixed batch, at the current parameters, by power
iteration v ← H_ii v/‖H_ii v‖, returning ‖H_ii v‖ (a lower bound on max|λ(H_ii)| that converges
to it; it also converges when the extreme eigenvalues are ±λ). H_ii v is the forward-over-reverse
product ``jax.jvp(jax.grad(f))`` with the tangent supported on block i (as
:func:`experiments.validation.hessian.block_hvp`), here with the block index traced so that one
compiled HVP
serves every layer. This is a *local* curvature at the point and batch: the theorems' L_i bound
it everywhere (Assumption 2 of You et al.), so :func:`theory_constants` takes the maximum over
the points measured (e.g. checkpoints along training) — an estimate from below.

Noise. σ_i² = E‖∇_i ℓ(x, s) - ∇_i f(x)‖² per example (the theory's per-sample noise; a batch of
b has σ_i²/b). With a reference gradient ḡ averaged over R examples and K independent
minibatch gradients g_k of size b (i.i.d. sampling assumed),
E‖g_k,i - ḡ_i‖² = σ_i² (1/b + 1/R), so σ̂_i² = mean_k ‖g_k,i - ḡ_i‖² / (1/b + 1/R).
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
import pandas as pd

from experiments.training import tasks
from experiments.training.config import TrainConfig
from lamb_ref.tree import leaf_names

_TINY = 1e-30  # keeps v = 0 at 0 (H_ii = 0) instead of NaN
NOISE_STREAM, REFERENCE_STREAM, HESSIAN_STREAM = 11, 12, 13


def layer_smoothness(
    loss: Callable[[Any], jax.Array], params: Any, key: jax.Array, iters: int = 20
) -> dict[str, float]:
    """{leaf name: ‖H_ii‖₂ estimate} by ``iters`` power-iteration steps per layer (module doc).

    Args:
        loss: f, a scalar function of the parameter tree (close over the batch).
        params: the point x.
        key: start vectors v_0 ~ N(0, I) per layer.
        iters: power-iteration steps (>= 1).
    """
    _check_iters(iters)
    estimates = _power(lambda p, _: loss(p), iters)(params, None, key)
    return dict(zip(leaf_names(params), np.asarray(estimates), strict=True))


def _check_iters(iters: int) -> None:
    if isinstance(iters, bool) or not isinstance(iters, int) or iters < 1:
        raise ValueError(f"iters={iters!r} is invalid: expected an integer >= 1")


def _power(loss: Callable, iters: int):
    """jit(run(params, batch, key) -> [h] estimates) for ``loss(params, batch)``."""

    @jax.jit
    def run(params, batch, key):
        leaves, treedef = jax.tree.flatten(params)
        h = len(leaves)
        grad = jax.grad(lambda ls: loss(jax.tree.unflatten(treedef, ls), batch))

        def unit(v):
            return v / jnp.maximum(jnp.linalg.norm(v), _TINY)

        keys = jax.random.split(key, h)
        vs = [
            unit(jax.random.normal(k, x.shape, x.dtype)) for k, x in zip(keys, leaves, strict=True)
        ]

        def layer(i, carry):
            vs, est = carry
            tangent = [jnp.where(j == i, v, jnp.zeros_like(v)) for j, v in enumerate(vs)]
            hv = jax.jvp(grad, (leaves,), (tangent,))[1]
            norms = jnp.stack([jnp.linalg.norm(w) for w in hv])
            vs = [
                jnp.where(j == i, unit(w), v) for j, (w, v) in enumerate(zip(hv, vs, strict=True))
            ]
            return vs, est.at[i].set(norms[i])

        def sweep(_, carry):
            return jax.lax.fori_loop(0, h, layer, carry)

        est = jnp.zeros(h, leaves[0].dtype)
        _, est = jax.lax.fori_loop(0, iters, sweep, (vs, est))
        return est

    return run


@functools.lru_cache(maxsize=32)
def _compiled(task: tasks.Task, iters: int):
    """Per task (tasks are cached objects): the power iteration and the jitted gradient."""
    return _power(task.loss, iters), jax.jit(jax.grad(task.loss))


def _task_loss(config: TrainConfig, cache_dir, stream: int, batch_size: int, seed: int):
    task = tasks.build(config.task, config.model, config.size, config.data, cache_dir)
    key = jax.random.fold_in(jax.random.PRNGKey(seed), stream)

    def batch(index: int):
        return task.train_batch(
            task.arrays, key, jnp.int32(index), jnp.int32(index * batch_size), batch_size
        )

    return task, batch


def task_layer_smoothness(
    config: TrainConfig,
    params: Any,
    *,
    batch_size: int = 256,
    iters: int = 20,
    seed: int = 0,
    cache_dir=None,
) -> dict[str, float]:
    """L_i at ``params`` for ``config``'s task and model, on one fixed batch of ``batch_size``."""
    _check_iters(iters)
    task, batch = _task_loss(config, cache_dir, HESSIAN_STREAM, batch_size, seed)
    key = jax.random.fold_in(jax.random.PRNGKey(seed), HESSIAN_STREAM + 1)
    params = jax.tree.map(jnp.asarray, params)
    estimates = _compiled(task, iters)[0](params, batch(0), key)
    return dict(zip(leaf_names(params), np.asarray(estimates), strict=True))


def layer_noise(
    config: TrainConfig,
    params: Any,
    *,
    batch_size: int = 32,
    n_batches: int = 16,
    reference_batches: int = 8,
    reference_batch_size: int = 512,
    seed: int = 0,
    cache_dir=None,
) -> dict[str, dict[str, float]]:
    """Per layer: ``sigma2`` (σ̂_i², per example), ``sigma`` (σ̂_i), ``grad_norm`` (‖ḡ_i‖)."""
    for name, v in (("batch_size", batch_size), ("n_batches", n_batches)):
        if isinstance(v, bool) or not isinstance(v, int) or v < 1:
            raise ValueError(f"{name}={v!r} is invalid: expected an integer >= 1")
    params = jax.tree.map(jnp.asarray, params)
    task, ref_batch = _task_loss(config, cache_dir, REFERENCE_STREAM, reference_batch_size, seed)
    _, small_batch = _task_loss(config, cache_dir, NOISE_STREAM, batch_size, seed)
    grad = _compiled(task, 1)[1]
    leaves = lambda t: [np.asarray(x, np.float64) for x in jax.tree.leaves(t)]  # noqa: E731
    ref = [np.zeros_like(x) for x in leaves(params)]
    for r in range(reference_batches):
        for acc, g in zip(ref, leaves(grad(params, ref_batch(r))), strict=True):
            acc += g / reference_batches
    dev = np.zeros(len(ref))
    for k in range(n_batches):
        g = leaves(grad(params, small_batch(k)))
        dev += [np.sum((a - b) ** 2) / n_batches for a, b in zip(g, ref, strict=True)]
    sigma2 = dev / (1 / batch_size + 1 / (reference_batches * reference_batch_size))
    names = leaf_names(params)
    return {
        n: {"sigma2": float(s), "sigma": math.sqrt(s), "grad_norm": float(np.linalg.norm(g))}
        for n, s, g in zip(names, sigma2, ref, strict=True)
    }


def profile(
    config: TrainConfig,
    checkpoints: dict[int, Any],
    *,
    hessian_batch_size: int = 256,
    iters: int = 20,
    noise_batch_size: int = 32,
    n_batches: int = 16,
    seed: int = 0,
    cache_dir=None,
) -> pd.DataFrame:
    """One row per (step, layer): ``L`` (L_i), ``sigma2``, ``sigma``, ``grad_norm``, ``size``.

    ``checkpoints`` maps steps to parameters (``TrainResult.checkpoints`` of a run with
    ``keep_checkpoints=True``, or ``{step: result.params}``).
    """
    rows = []
    for step in sorted(checkpoints):
        p = checkpoints[step]
        L = task_layer_smoothness(
            config, p, batch_size=hessian_batch_size, iters=iters, seed=seed, cache_dir=cache_dir
        )
        noise = layer_noise(
            config, p, batch_size=noise_batch_size, n_batches=n_batches, seed=seed,
            cache_dir=cache_dir,
        )  # fmt: skip
        sizes = dict(zip(leaf_names(p), (int(np.size(x)) for x in jax.tree.leaves(p)), strict=True))
        for name in L:
            rows.append(
                {"step": step, "layer": name, "size": sizes[name], "L": L[name], **noise[name]}
            )
    return pd.DataFrame(rows)


# The summary statistics of :func:`constants_summary` and the theory symbols they are the values
# of (``theory.symbols``): evaluate computes these aggregates itself from the per-layer lists.
SUMMARY_SYMBOLS = {
    "h": "h",
    "d": "d",
    "L_1": "L_1",
    "L_inf": "L_infty",
    "sigma_1": "sigma_1",
    "sigma_sq": "sigma_sq",
    "tilde_sigma_1": "tilde_sigma_1",
}
# The entries of :func:`theory_constants`: names of ``theory.symbols.CONSTANT_NAMES``, the
# keyword arguments ``theory.THEOREMS[...].evaluate`` takes.
CONSTANT_KEYS = ("L", "sigma", "sigma_coord", "h", "d")


def theory_constants(table: pd.DataFrame) -> dict[str, Any]:
    """The theorems' constants from a :func:`profile` table (max over steps per layer), ready
    for ``theory.THEOREMS[name].evaluate(**constants, f_gap=..., T=..., ...)``.

    Entries (``theory.symbols.CONSTANT_NAMES``): ``L`` and ``sigma`` (per-layer lists, layer
    order as in the table), ``sigma_coord`` (σ̃_j = σ_i/√d_i on the d_i coordinates of layer i:
    the layer's noise spread evenly, the instance JSON's convention; a float64 array of length
    d), ``h`` and ``d``. What a table cannot give is left to the caller: ``f_gap``, ``T``,
    ``alpha_l``/``alpha_u`` (φ's range), ``G`` and ``beta2`` (Theorem 3 with β2 > 0).

    The summary statistics are :func:`constants_summary`'s (kept apart, so ``**constants``
    carries only names ``evaluate`` knows).
    """
    return _constants_and_summary(table)[0]


def constants_summary(table: pd.DataFrame) -> dict[str, Any]:
    """Summary statistics of a :func:`profile` table (max over steps per layer):

    ``layers``, ``sizes``, ``L_avg`` (mean L_i),
    ``L_inf`` (max L_i), ``L_1`` (‖L‖_1), ``sigma_1`` (‖σ‖_1), ``sigma_2`` (‖σ‖_2),
    ``sigma_sq`` (‖σ‖²), ``tilde_sigma_1`` (‖σ̃‖_1) and ``heterogeneity`` (L_inf/L_avg);
    :data:`SUMMARY_SYMBOLS` names the theory symbol each is the value of.
    """
    return _constants_and_summary(table)[1]


def _constants_and_summary(table: pd.DataFrame) -> tuple[dict[str, Any], dict[str, Any]]:
    per = table.groupby("layer", sort=False).agg(
        L=("L", "max"), sigma=("sigma", "max"), size=("size", "first")
    )
    L, sigma = per["L"].tolist(), per["sigma"].tolist()
    sizes = [int(n) for n in per["size"]]
    coord = np.repeat(np.asarray(sigma, np.float64) / np.sqrt(sizes), sizes)
    L_avg = float(np.mean(L))
    constants = {"L": L, "sigma": sigma, "sigma_coord": coord, "h": len(L), "d": int(sum(sizes))}
    summary = {
        "layers": per.index.tolist(),
        "sizes": sizes,
        "L_avg": L_avg,
        "L_inf": float(np.max(L)),
        "L_1": float(np.sum(L)),
        "sigma_1": float(np.sum(sigma)),
        "sigma_2": float(np.sqrt(np.sum(np.square(sigma)))),
        "sigma_sq": float(np.sum(np.square(sigma))),
        "tilde_sigma_1": float(coord.sum()),
        "heterogeneity": float(np.max(L)) / L_avg if L_avg > 0 else math.nan,
    }
    return constants, summary
