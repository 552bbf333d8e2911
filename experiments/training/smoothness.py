"""Per-layer smoothness L_i and gradient noise σ_i of the real models, in the theory's names
(:func:`theory_constants` gives ``theory.THEOREMS[...].evaluate`` its keyword arguments).

Diagonal blocks. For layer (leaf) i, ‖H_ii‖₂ of the block Hessian H_ii = ∂²f/∂x_i² of the
training loss f on a fixed batch, at the current parameters, is estimated by power iteration
v ← H_ii v/‖H_ii v‖, returning ‖H_ii v‖ (a lower bound on max|λ(H_ii)| that converges to it; it
also converges when the extreme eigenvalues are ±λ) and the Rayleigh quotient vᵀH_ii v (its
sign tells a dominant negative eigenvalue). H_ii v is the forward-over-reverse product
``jax.jvp(jax.grad(f))`` with the tangent supported on block i (as
:func:`experiments.validation.hessian.block_hvp`), here with the block index traced so that one
compiled HVP serves every layer.

Block descent. The proofs of Theorems 1-3 use the block descent inequality

    f(y) ≤ f(x) + ⟨∇f(x), y − x⟩ + Σ_i (L_i/2)‖y_i − x_i‖²,

which for a twice-differentiable f holds on a region iff diag(L_i I) ⪰ ∇²f there (upper side
only). The diagonal blocks do not give it: f = ½xᵀAx with A = [[1, 1], [1, 1]] has ‖A_ii‖ = 1
but needs L_1 = L_2 = 2 for equal constants (``theory.errata``). The block-descent constants keep
a declared profile p and scale it:

    p_i = max(‖H_ii‖, ρ·max_j ‖H_jj‖)   (the diagonal-block norms, floored; ρ = PROFILE_FLOOR_REL),
    D = diag(p_i I_{d_i}),  κ = λ_max(D^{-1/2} ∇²f D^{-1/2}),  L_i^bd = κ p_i,

so diag(L^bd) − ∇²f = D^{1/2}(κI − D^{-1/2}∇²f D^{-1/2})D^{1/2} ⪰ 0, and κ p is the smallest
multiple of p that does it (any smaller multiple leaves the top eigenvector violated). κ is the
largest *algebraic* eigenvalue, found by Lanczos (``lanczos_steps`` steps with full
reorthogonalisation on u ↦ D^{-1/2} H D^{-1/2} u, one full HVP each; the largest Ritz value of
the tridiagonal T converges to λ_max from below whatever the negative spectrum, so no shift is
needed). Every Ritz value, and every Rayleigh quotient, is ≤ κ; the block alone gives one:
u = D^{1/2} e_i(v_i) (v_i the power-iteration vector of block i) has Rayleigh quotient
v_iᵀH_ii v_i/p_i, so κ ≥ max_i v_iᵀH_ii v_i/p_i (= 1 when every block's dominant eigenvalue is
positive and p_i = ‖H_ii‖). The estimate is κ̂ = max(Lanczos, that block bound), both recorded.

These are *local* constants: κ̂ p certifies diag(L) ⪰ ∇²f at the probe point and batch only (and
κ̂ ≤ κ, an estimate from below). The theorems' L_i bound the curvature everywhere (Assumption 2 of
You et al.), so :func:`theory_constants` takes the maximum over the points measured per layer
(e.g. checkpoints along training): diag(max_s L^bd(x_s)) ⪰ diag(L^bd(x_s)) ⪰ ∇²f(x_s) at every
probe x_s, still an estimate from below of the global constants.

Noise. σ_i² = E‖∇_i ℓ(x, s) - ∇_i f(x)‖² per example (the theory's per-sample noise; a batch of
b has σ_i²/b). With a reference gradient ḡ averaged over R examples and K independent
minibatch gradients g_k of size b (i.i.d. sampling assumed),
E‖g_k,i - ḡ_i‖² = σ_i² (1/b + 1/R), so σ̂_i² = mean_k ‖g_k,i - ḡ_i‖² / (1/b + 1/R).
"""

from __future__ import annotations

import dataclasses
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
# The profile's floor, relative to its largest entry. A leaf the loss is flat in (a key bias:
# softmax is shift-invariant) has ‖H_ii‖ ≈ 0 up to rounding and would make D^{-1/2} infinite.
# Why 1e-6: a float32 HVP's rows of a flat block carry rounding of about ε₃₂‖H‖ ≈ 1e-7 max_j p_j;
# divided by p_i >= 1e-6 max_j p_j that is <= 0.1, below the κ >= 1 the blocks give (positive
# dominant block eigenvalues), so rounding cannot decide κ. Any p > 0 gives valid constants
# κ(p)·p; the floor is part of the declared profile, and a larger one is a different (often
# tighter) profile, not a correction: weakly curved but strongly coupled layers (e.g. attention
# value/output kernels, whose product has a cross term ≈ the gradient) set κ, and flooring them
# lowers it (docs/training.md).
PROFILE_FLOOR_REL = 1e-6
# Lanczos steps (full HVPs) per point: the top of a network Hessian is well separated from its
# bulk, so a few tens of steps give θ close to λ_max (the residual is recorded).
LANCZOS_STEPS = 20


@dataclasses.dataclass(frozen=True)
class BlockDescent:
    """Per-layer smoothness constants at one point (module doc), layer names as keys.

    Attributes:
        diag_block: ‖H_ii‖₂ estimates (power iteration).
        rayleigh: v_iᵀH_ii v_i of the final power-iteration vector (signed).
        profile: p_i, the floored diagonal-block norms.
        L: L_i^bd = max(κ̂, 0)·p_i, the block-descent constants.
        kappa: κ̂ = max(kappa_lanczos, kappa_block), an estimate from below of κ.
        kappa_lanczos: the largest Ritz value θ of the Lanczos tridiagonal.
        kappa_block: max_i v_iᵀH_ii v_i/p_i, the block-alone lower bound on κ.
        lanczos_residual: |β_k y_k| / max(|θ|, tiny): an eigenvalue of D^{-1/2}HD^{-1/2} lies
            within this relative distance of θ (the top one once converged).
        lanczos_steps: the Krylov dimension used (fewer than asked after a breakdown).
    """

    diag_block: dict[str, float]
    rayleigh: dict[str, float]
    profile: dict[str, float]
    L: dict[str, float]
    kappa: float
    kappa_lanczos: float
    kappa_block: float
    lanczos_residual: float
    lanczos_steps: int


def layer_smoothness(
    loss: Callable[[Any], jax.Array], params: Any, key: jax.Array, iters: int = 20
) -> dict[str, float]:
    """{leaf name: ‖H_ii‖₂ estimate} by ``iters`` power-iteration steps per layer (module doc).

    These are the diagonal-block norms, *not* constants for the block descent inequality
    (:func:`block_descent` gives those).

    Args:
        loss: f, a scalar function of the parameter tree (close over the batch).
        params: the point x.
        key: start vectors v_0 ~ N(0, I) per layer.
        iters: power-iteration steps (>= 1).
    """
    _check_positive_int("iters", iters)
    estimates, _ = _power(lambda p, _: loss(p), iters)(params, None, key)
    return dict(zip(leaf_names(params), np.asarray(estimates), strict=True))


def block_descent(
    loss: Callable[[Any], jax.Array],
    params: Any,
    key: jax.Array,
    *,
    iters: int = 20,
    lanczos_steps: int = LANCZOS_STEPS,
    floor_rel: float = PROFILE_FLOOR_REL,
) -> BlockDescent:
    """Block-descent constants L_i^bd = κ̂ p_i at ``params`` (module doc: the profile p_i is the
    floored diagonal-block norms, κ̂ ≈ λ_max(D^{-1/2}∇²f D^{-1/2}) by Lanczos).

    Args:
        loss: f, a scalar function of the parameter tree (close over the batch).
        params: the point x.
        key: the power iteration's start vectors and the Lanczos start vector.
        iters: power-iteration steps per layer (>= 1).
        lanczos_steps: Lanczos steps, one full HVP each (>= 1; at most d are taken).
        floor_rel: p_i >= floor_rel · max_j p_j (0 < floor_rel <= 1).
    """
    _check_positive_int("iters", iters)
    _check_positive_int("lanczos_steps", lanczos_steps)
    _check_floor(floor_rel)
    loss2 = lambda p, _: loss(p)  # noqa: E731
    return _block_descent_at(
        _power(loss2, iters), _lanczos(loss2, lanczos_steps), params, None, key, floor_rel
    )


def _check_positive_int(name: str, value: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"{name}={value!r} is invalid: expected an integer >= 1")


def _check_floor(floor_rel: float) -> None:
    if (
        isinstance(floor_rel, bool)
        or not (isinstance(floor_rel, int | float))
        or not (0 < floor_rel <= 1)
    ):
        raise ValueError(f"floor_rel={floor_rel!r} is invalid: expected a number in (0, 1]")


def diagonal_profile(diag_block: np.ndarray, floor_rel: float = PROFILE_FLOOR_REL) -> np.ndarray:
    """p_i = max(‖H_ii‖, floor_rel · max_j ‖H_jj‖); all ones when every block is 0 (then the
    diagonal blocks carry no profile, and the uniform one is declared instead)."""
    _check_floor(floor_rel)
    diag = np.abs(np.asarray(diag_block, np.float64))
    top = float(diag.max()) if diag.size else 0.0
    if not np.isfinite(top):
        raise ValueError(f"diag_block={diag_block!r} is invalid: expected finite values")
    return np.ones_like(diag) if top == 0 else np.maximum(diag, floor_rel * top)


def ritz_max(alpha: np.ndarray, beta: np.ndarray, breakdown_rel: float) -> tuple[float, float, int]:
    """(θ, relative residual, k): the largest eigenvalue θ of the Lanczos tridiagonal T_k
    (diagonal α, off-diagonal β), k the steps before the first β_j <= breakdown_rel · max|T|
    (an invariant subspace: later vectors carry no information), and |β_k y_k|/|θ| with y the
    unit eigenvector of θ (an eigenvalue of the operator lies that close to θ)."""
    alpha, beta = np.asarray(alpha, np.float64), np.asarray(beta, np.float64)
    top = max(float(np.abs(alpha).max()), float(np.abs(beta).max()), _TINY)
    small = np.flatnonzero(beta[:-1] <= breakdown_rel * top)
    k = int(small[0]) + 1 if small.size else len(alpha)
    T = np.diag(alpha[:k]) + np.diag(beta[: k - 1], 1) + np.diag(beta[: k - 1], -1)
    w, y = np.linalg.eigh(T)
    theta = float(w[-1])
    return theta, float(abs(beta[k - 1] * y[-1, -1]) / max(abs(theta), _TINY)), k


def _power(loss: Callable, iters: int):
    """jit(run(params, batch, key) -> ([h] norm estimates, [h] Rayleigh quotients)) for
    ``loss(params, batch)``."""

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
            vs, est, rq = carry
            tangent = [jnp.where(j == i, v, jnp.zeros_like(v)) for j, v in enumerate(vs)]
            hv = jax.jvp(grad, (leaves,), (tangent,))[1]
            norms = jnp.stack([jnp.linalg.norm(w) for w in hv])
            # vᵀH_ii v of the unit input v: its sign tells a dominant negative eigenvalue
            dots = jnp.stack([jnp.vdot(v, w) for v, w in zip(vs, hv, strict=True)])
            vs = [
                jnp.where(j == i, unit(w), v) for j, (w, v) in enumerate(zip(hv, vs, strict=True))
            ]
            return vs, est.at[i].set(norms[i]), rq.at[i].set(dots[i])

        def sweep(_, carry):
            return jax.lax.fori_loop(0, h, layer, carry)

        zero = jnp.zeros(h, leaves[0].dtype)
        _, est, rq = jax.lax.fori_loop(0, iters, sweep, (vs, zero, zero))
        return est, rq

    return run


def _lanczos(loss: Callable, steps: int):
    """jit(run(params, batch, scale, key) -> (α [m], β [m])): m = min(steps, d) Lanczos steps on
    u ↦ S H S u, S = diag(scale_i I_{d_i}) (scale = p^{-1/2}), from u_0 ~ N(0, I) normalised,
    with full reorthogonalisation (twice: float32 loses orthogonality within a few steps once θ
    converges, which would add spurious copies of θ, never a larger value, but would slow it)."""

    @jax.jit
    def run(params, batch, scale, key):
        leaves, treedef = jax.tree.flatten(params)
        grad = jax.grad(lambda ls: loss(jax.tree.unflatten(treedef, ls), batch))
        dtype = leaves[0].dtype
        sizes = [x.size for x in leaves]
        s = jnp.concatenate([jnp.full(n, scale[i], dtype) for i, n in enumerate(sizes)])
        cuts = np.cumsum(sizes)[:-1].tolist()
        m = min(steps, s.size)

        def op(u):
            parts = jnp.split(s * u, cuts)
            tangent = [p.reshape(x.shape) for p, x in zip(parts, leaves, strict=True)]
            hv = jax.jvp(grad, (leaves,), (tangent,))[1]
            return s * jnp.concatenate([w.ravel() for w in hv])

        u0 = jax.random.normal(key, s.shape, dtype)
        V = jnp.zeros((m + 1, s.size), dtype).at[0].set(u0 / jnp.linalg.norm(u0))

        def step(j, carry):
            V, alpha, beta = carry
            u = V[j]
            w = op(u)
            a = jnp.vdot(u, w)
            w = w - a * u - jnp.where(j > 0, beta[j - 1], 0.0) * V[j - 1]
            w = w - V.T @ (V @ w)  # rows after j are still 0
            w = w - V.T @ (V @ w)
            b = jnp.linalg.norm(w)
            V = V.at[j + 1].set(w / jnp.maximum(b, _TINY))
            return V, alpha.at[j].set(a), beta.at[j].set(b)

        zero = jnp.zeros(m, dtype)
        _, alpha, beta = jax.lax.fori_loop(0, m, step, (V, zero, zero))
        return alpha, beta

    return run


def _block_descent_at(power, lanczos, params, batch, key, floor_rel: float) -> BlockDescent:
    """The shared body of :func:`block_descent` and :func:`task_block_descent`: the power
    iteration uses ``key`` itself (so the diagonal-block norms equal :func:`layer_smoothness`'s),
    Lanczos ``fold_in(key, 1)``."""
    names = leaf_names(params)
    norms, rq = (np.asarray(x, np.float64) for x in power(params, batch, key))
    p = diagonal_profile(norms, floor_rel)
    dtype = jax.tree.leaves(params)[0].dtype
    scale = jnp.asarray(1.0 / np.sqrt(p), dtype)
    alpha, beta = lanczos(params, batch, scale, jax.random.fold_in(key, 1))
    breakdown = math.sqrt(float(jnp.finfo(dtype).eps))
    theta, residual, k = ritz_max(np.asarray(alpha), np.asarray(beta), breakdown)
    kappa_block = float(np.max(rq / p))
    kappa = max(theta, kappa_block)  # both are Rayleigh quotients: lower bounds on κ
    as_dict = lambda x: dict(zip(names, map(float, x), strict=True))  # noqa: E731
    return BlockDescent(
        diag_block=as_dict(norms),
        rayleigh=as_dict(rq),
        profile=as_dict(p),
        L=as_dict(max(kappa, 0.0) * p),
        kappa=kappa,
        kappa_lanczos=theta,
        kappa_block=kappa_block,
        lanczos_residual=residual,
        lanczos_steps=k,
    )


@functools.lru_cache(maxsize=32)
def _compiled(task: tasks.Task, iters: int):
    """Per task (tasks are cached objects): the power iteration and the jitted gradient."""
    return _power(task.loss, iters), jax.jit(jax.grad(task.loss))


@functools.lru_cache(maxsize=32)
def _compiled_lanczos(task: tasks.Task, steps: int):
    return _lanczos(task.loss, steps)


def _task_loss(config: TrainConfig, cache_dir, stream: int, batch_size: int, seed: int):
    task = tasks.build(config.task, config.model, config.size, config.data, cache_dir)
    key = jax.random.fold_in(jax.random.PRNGKey(seed), stream)

    def batch(index: int):
        return task.train_batch(
            task.arrays, key, jnp.int32(index), jnp.int32(index * batch_size), batch_size
        )

    return task, batch


def _hessian_key(seed: int) -> jax.Array:
    return jax.random.fold_in(jax.random.PRNGKey(seed), HESSIAN_STREAM + 1)


def task_layer_smoothness(
    config: TrainConfig,
    params: Any,
    *,
    batch_size: int = 256,
    iters: int = 20,
    seed: int = 0,
    cache_dir=None,
) -> dict[str, float]:
    """‖H_ii‖ at ``params`` for ``config``'s task and model, on one fixed batch of
    ``batch_size``: the diagonal-block norms (:func:`task_block_descent` scales them into
    block-descent constants)."""
    _check_positive_int("iters", iters)
    task, batch = _task_loss(config, cache_dir, HESSIAN_STREAM, batch_size, seed)
    params = jax.tree.map(jnp.asarray, params)
    estimates, _ = _compiled(task, iters)[0](params, batch(0), _hessian_key(seed))
    return dict(zip(leaf_names(params), np.asarray(estimates), strict=True))


def task_block_descent(
    config: TrainConfig,
    params: Any,
    *,
    batch_size: int = 256,
    iters: int = 20,
    lanczos_steps: int = LANCZOS_STEPS,
    floor_rel: float = PROFILE_FLOOR_REL,
    seed: int = 0,
    cache_dir=None,
) -> BlockDescent:
    """:func:`block_descent` for ``config``'s task and model on the batch (and power-iteration
    start) of :func:`task_layer_smoothness`, whose ‖H_ii‖ it reproduces as ``diag_block``."""
    _check_positive_int("iters", iters)
    _check_positive_int("lanczos_steps", lanczos_steps)
    _check_floor(floor_rel)
    task, batch = _task_loss(config, cache_dir, HESSIAN_STREAM, batch_size, seed)
    params = jax.tree.map(jnp.asarray, params)
    return _block_descent_at(
        _compiled(task, iters)[0], _compiled_lanczos(task, lanczos_steps), params, batch(0),
        _hessian_key(seed), floor_rel,
    )  # fmt: skip


def certify_inputs(
    config: TrainConfig, *, batch_size: int = 256, seed: int = 0, cache_dir=None
) -> tuple[Callable[[Any, Any], jax.Array], Any]:
    """(loss, batch): ``config``'s task loss and the batch :func:`task_block_descent` measures
    its constants on, for checking those constants elsewhere (the reproduction suites certify
    them with the validation engine's certifier)."""
    task, batch = _task_loss(config, cache_dir, HESSIAN_STREAM, batch_size, seed)
    return task.loss, batch(0)


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
    lanczos_steps: int = LANCZOS_STEPS,
    noise_batch_size: int = 32,
    n_batches: int = 16,
    seed: int = 0,
    cache_dir=None,
) -> pd.DataFrame:
    """One row per (step, layer): ``L`` (L_i^bd = κ̂ p_i, the block-descent constant the
    theorems can use), ``L_diag_block`` (‖H_ii‖, the diagonal-block norm), ``kappa`` (κ̂ at the
    step), ``sigma2``, ``sigma``, ``grad_norm``, ``size``.

    ``checkpoints`` maps steps to parameters (``TrainResult.checkpoints`` of a run with
    ``keep_checkpoints=True``, or ``{step: result.params}``).
    """
    rows = []
    for step in sorted(checkpoints):
        p = checkpoints[step]
        bd = task_block_descent(
            config, p, batch_size=hessian_batch_size, iters=iters, lanczos_steps=lanczos_steps,
            seed=seed, cache_dir=cache_dir,
        )  # fmt: skip
        noise = layer_noise(
            config, p, batch_size=noise_batch_size, n_batches=n_batches, seed=seed,
            cache_dir=cache_dir,
        )  # fmt: skip
        sizes = dict(zip(leaf_names(p), (int(np.size(x)) for x in jax.tree.leaves(p)), strict=True))
        for name in bd.L:
            rows.append(
                {"step": step, "layer": name, "size": sizes[name], "L": bd.L[name],
                 "L_diag_block": bd.diag_block[name], "kappa": bd.kappa, **noise[name]}
            )  # fmt: skip
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
    order as in the table; ``L`` from the table's ``L``, in a :func:`profile` table the
    block-descent constants κ̂ p_i, so the per-layer max satisfies diag(L) ⪰ ∇²f at every
    probe), ``sigma_coord`` (σ̃_j = σ_i/√d_i on the d_i coordinates of layer i: the layer's
    noise spread evenly, the instance JSON's convention; a float64 array of length d), ``h``
    and ``d``. What a table cannot give is left to the caller: ``f_gap``, ``T``,
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
