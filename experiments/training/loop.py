"""The training loop: ``train(config)`` and ``train_many(configs)``.

Runs whose configs differ only in traced fields (seed, learning rate, warmup, schedule shape;
see :mod:`.config`) form a *group*: one compiled step, ``vmap``-ed over the group's members, so
an LR grid × seeds costs one compilation and runs as one batched computation. Compiled
functions are kept (by the group's static key, batch size and group size) for later calls.

Per stage, steps run in chunks under ``jit(vmap(lax.scan(step)))``; a chunk ends at each
evaluation point (every ``eval_every`` global steps, and at each stage end) and is padded to a
fixed length with inactive steps (skipped by ``lax.cond``), so every chunk of a stage reuses one
executable. The learning rate of every step is an input array (:func:`.schedules.learning_rates`),
so the optimizer is built inside the step with a traced η.

Each step: batch = task.train_batch(data key, step, sample offset); (loss, g) = value_and_grad;
(Δ, state) = optimizer.update(g, state, x); x ← x + Δ. If the loss or Δ is not finite (or the
loss exceeds ``divergence_threshold``) the member is marked diverged at that step: its
parameters stay at the last finite values, later evaluations report NaN, and the loop stops
early once every member has diverged. Nothing raises.

Trust ratios (when logged) are computed explicitly at an evaluation point from the gradient of
the next training batch: the optimizer's update Δ and its un-adapted twin's update u
(:func:`.optimizers.build` with ``adapt=False``), both at η = 1, i.e. the update divided by the
learning rate (exact for every optimizer here except decoupled-decay variants, whose ηλx term
is then λx). The optimizer state is not advanced by this probe.
"""

from __future__ import annotations

import dataclasses
import math
import time
from collections.abc import Callable, Sequence

import jax
import jax.numpy as jnp
import numpy as np

import lamb_ref
from experiments.precision import with_x64
from experiments.training import optimizers, schedules, tasks
from experiments.training._compile import cached as _cached
from experiments.training.config import TrainConfig
from experiments.training.nn import count_parameters
from experiments.training.results import (
    HISTORY_COLUMNS,
    TRUST_COLUMNS,
    TrainResult,
    final_metrics,
    frame,
    history_row,
    provenance,
    trust_rows,
)

INIT_STREAM, DATA_STREAM = 0, 1  # fold_in tags of the run key


def _optimizer(config: TrainConfig, learning_rate, adapt: bool = True):
    return optimizers.build(
        config.optimizer,
        dict(config.hyper),
        config.exclude_from_weight_decay,
        config.exclude_from_layer_adaptation,
        config.max_grad_norm,
        learning_rate,
        adapt=adapt,
    )


def _where(pred, a, b):
    return jax.tree.map(lambda x, y: jnp.where(pred, x, y), a, b)


def _norms(tree) -> jax.Array:
    return jnp.stack([jnp.sqrt(jnp.sum(jnp.square(x))) for x in jax.tree.leaves(tree)])


def _jit(fn, n_runs_args: int, n_args: int, mesh):
    """jit; with a mesh, the first ``n_runs_args`` arguments and every output are split along
    their leading (runs) axis and the rest replicated, so chunk after chunk keeps one layout."""
    if mesh is None:
        return jax.jit(fn)
    from jax.sharding import NamedSharding
    from jax.sharding import PartitionSpec as P

    runs, rep = NamedSharding(mesh, P(mesh.axis_names)), NamedSharding(mesh, P())
    ins = (runs,) * n_runs_args + (rep,) * (n_args - n_runs_args)
    return jax.jit(fn, in_shardings=ins, out_shardings=runs)


def _make_chunk(config: TrainConfig, task: tasks.Task, batch_size: int, mesh=None):
    threshold = config.divergence_threshold

    def member(carry, key, lrs, steps, offsets, active, arrays):
        data_key = jax.random.fold_in(key, DATA_STREAM)

        def live(c, lr, step, offset):
            params, state, alive, div_step, loss_sum, count = c
            batch = task.train_batch(arrays, data_key, step, offset, batch_size)
            loss, grads = jax.value_and_grad(task.loss)(params, batch)
            updates, new_state = _optimizer(config, lr).update(grads, state, params)
            finite = jnp.isfinite(loss) & jnp.all(jnp.isfinite(_norms(updates)))
            if threshold is not None:
                finite = finite & (loss <= threshold)
            ok = alive & finite
            params = _where(ok, lamb_ref.apply_updates(params, updates), params)
            state = _where(ok, new_state, state)
            div_step = jnp.where(alive & ~finite, step, div_step)
            loss_sum = loss_sum + jnp.where(ok, loss, 0.0).astype(jnp.float32)
            return params, state, ok, div_step, loss_sum, count + ok.astype(jnp.int32)

        def body(c, xs):
            lr, step, offset, act = xs
            return jax.lax.cond(act, lambda c: live(c, lr, step, offset), lambda c: c, c), None

        init = (*carry, jnp.zeros((), jnp.float32), jnp.zeros((), jnp.int32))
        out, _ = jax.lax.scan(body, init, (lrs, steps, offsets, active))
        return out

    return _jit(jax.vmap(member, in_axes=(0, 0, 0, None, None, None, None)), 3, 7, mesh)


def _make_trust(config: TrainConfig, task: tasks.Task, batch_size: int, mesh=None):
    def member(params, state, key, step, offset, arrays):
        batch = task.train_batch(
            arrays, jax.random.fold_in(key, DATA_STREAM), step, offset, batch_size
        )
        grads = jax.grad(task.loss)(params, batch)
        update, _ = _optimizer(config, 1.0).update(grads, state, params)
        direction, _ = _optimizer(config, 1.0, adapt=False).update(grads, state, params)
        return _norms(params), _norms(grads), _norms(direction), _norms(update)

    return _jit(jax.vmap(member, in_axes=(0, 0, 0, None, None, None)), 3, 6, mesh)


def _member(tree, i: int, as_numpy: bool = True):
    return jax.tree.map(lambda x: np.asarray(x[i]) if as_numpy else x[i], tree)


def _stack(trees: list):
    return jax.tree.map(lambda *xs: jnp.stack(xs), *trees)


def _mesh_key(mesh) -> tuple | None:
    return (
        None
        if mesh is None
        else (tuple(mesh.shape.items()), tuple(d.id for d in mesh.devices.flat))
    )


def _fit_mesh(mesh, n: int):
    """The mesh a group of ``n`` runs is split over (:func:`experiments.distributed.fit_mesh`)."""
    from experiments import distributed

    try:
        return distributed.fit_mesh(mesh, n)
    except ValueError as err:
        raise ValueError(
            f"group size={n} is invalid: {err} (configs that differ only in learning rate, "
            "warmup, schedule or seed form one group)"
        ) from err


def _runs_placer(mesh) -> Callable:
    """Place arrays whose leading axis is the group's runs on ``mesh`` (identity without one)."""
    if mesh is None:
        return lambda tree: tree
    from experiments import distributed

    return lambda tree: distributed.shard_runs(tree, mesh, 0)


def _run_group(configs: list[TrainConfig], cache_dir, progress, mesh=None) -> list[TrainResult]:
    c0, n = configs[0], len(configs)
    # With a mesh, the group's runs axis is split over its devices (one code path for 1 and
    # N devices); every run's arithmetic is unchanged, only where it runs.
    mesh = _fit_mesh(mesh, n)
    on_mesh = _runs_placer(mesh)
    task = tasks.build(c0.task, c0.model, c0.size, c0.data, cache_dir)
    stages = schedules.plan(c0, task.n_train)
    lrs = np.stack([schedules.learning_rates(c, task.n_train) for c in configs])
    total = stages[-1].start + stages[-1].steps
    C = c0.eval_every or math.ceil(total / c0.n_evals)
    lrs = np.concatenate([lrs, np.zeros((n, C), np.float32)], axis=1)  # room for padding
    # Compilation key: what the compiled step depends on (the chunk length C and batch size are
    # added per call); evaluation cadence and logging switches are not compiled in.
    key = dataclasses.replace(
        c0.static_key(), eval_every=None, n_evals=1, log_trust_ratios=0, keep_checkpoints=False
    )
    task_key = (c0.task, c0.model_name, c0.size, c0.data)
    keys = jnp.stack([jax.random.PRNGKey(c.seed) for c in configs])
    arrays = task.arrays
    compile_s, t_start = 0.0, time.perf_counter()

    # Initialisation and evaluation are compiled once per task (not per group size) and run
    # member by member.
    init, dt = _cached(
        (task_key, "init"),
        lambda: jax.jit(lambda k: task.init(jax.random.fold_in(k, INIT_STREAM))),
        (keys[0],),
    )
    compile_s += dt
    params = _stack([init(k) for k in keys])
    state = jax.vmap(_optimizer(c0, 1.0).init)(params)  # zeros: cheap without jit
    alive = jnp.ones(n, bool)
    div_step = jnp.full(n, -1, jnp.int32)
    params, state, alive, div_step, keys = on_mesh((params, state, alive, div_step, keys))
    # On a mesh each member lives on its own device; evaluation (one member at a time) takes a
    # host copy so one executable serves them all.
    host = mesh is not None
    evaluate, dt = _cached(
        (task_key, "eval"), lambda: jax.jit(task.evaluate), (_member(params, 0, host), arrays)
    )
    compile_s += dt
    names = lamb_ref.leaf_names(_member(params, 0))
    adapted = optimizers.adapted_leaves(
        c0.optimizer,
        dict(c0.hyper),
        c0.exclude_from_weight_decay,
        c0.exclude_from_layer_adaptation,
        _member(params, 0),
    )
    hist: list[list[dict]] = [[] for _ in range(n)]
    trust: list[list[dict]] = [[] for _ in range(n)]
    ckpts: list[dict] = [{} for _ in range(n)]

    def observe(step, samples, stage, lr_col, train_loss, alive_np, batch_size, n_evals_done):
        nonlocal compile_s
        metrics = [evaluate(_member(params, i, host), arrays) for i in range(n)]
        loss, acc = (np.asarray([m[j] for m in metrics]) for j in (0, 1))
        epoch = samples / task.n_train
        for i in range(n):
            if hist[i] and hist[i][-1]["diverged"]:
                continue  # a diverged member's history has ended
            dead = not alive_np[i]
            hist[i].append(
                history_row(
                    step, epoch, stage, batch_size, lr_col[i], train_loss[i], loss[i], acc[i], dead
                )
            )
            if c0.keep_checkpoints and not dead:
                ckpts[i][step] = _member(params, i)
        k = c0.log_trust_ratios
        if k and n_evals_done % k == 0:
            args = (params, state, keys, jnp.int32(step), jnp.int32(samples), arrays)
            fn, dt = _cached(
                (key, "trust", batch_size, n, _mesh_key(mesh)),
                lambda: _make_trust(c0, task, batch_size),
                args,
            )
            compile_s += dt
            wn, gn, dn, un = (np.asarray(a) for a in fn(*args))
            for i in range(n):
                if alive_np[i]:
                    trust[i] += trust_rows(step, epoch, names, wn[i], gn[i], dn[i], un[i], adapted)

    observe(0, 0, 0, lrs[:, 0], np.full(n, np.nan), np.ones(n, bool), stages[0].batch_size, 0)
    evals, samples, stop = 1, 0, False
    for k, st in enumerate(stages):
        t, end = st.start, st.start + st.steps
        while t < end and not stop:
            seg_end = min((t // C + 1) * C, end)
            steps = np.arange(t, t + C)
            active = steps < seg_end
            offsets = samples + (np.minimum(steps, seg_end) - t) * st.batch_size
            args = (
                (params, state, alive, div_step),
                keys,
                jnp.asarray(lrs[:, t : t + C]),
                jnp.asarray(steps, jnp.int32),
                jnp.asarray(offsets, jnp.int32),
                jnp.asarray(active),
                arrays,
            )
            chunk, dt = _cached(
                (key, "chunk", st.batch_size, C, n, _mesh_key(mesh)),
                lambda b=st.batch_size: _make_chunk(c0, task, b, mesh),
                args,
            )
            compile_s += dt
            params, state, alive, div_step, loss_sum, count = chunk(*args)
            samples += (seg_end - t) * st.batch_size
            t = seg_end
            alive_np, count_np = np.asarray(alive), np.asarray(count)
            train_loss = np.where(
                count_np > 0, np.asarray(loss_sum) / np.maximum(count_np, 1), np.nan
            )
            observe(t, samples, k, lrs[:, t - 1], train_loss, alive_np, st.batch_size, evals)
            evals += 1
            stop = not alive_np.any()
            if progress is not None:
                progress(f"{c0.task}/{c0.optimizer} B={st.batch_size}: step {t}/{total}")
    run_s = time.perf_counter() - t_start - compile_s
    div_np = np.asarray(div_step)
    results = []
    for i, c in enumerate(configs):
        diverged = bool(div_np[i] >= 0)
        p = _member(params, i)
        final = final_metrics(
            hist[i],
            total,
            int(div_np[i]) if diverged else total,
            diverged=diverged,
            diverged_step=int(div_np[i]) if diverged else None,
            run_time_s=run_s,
            compile_time_s=compile_s,
            group_size=n,
            n_parameters=count_parameters(p),
        )
        info = {"task": task.info, "stages": stages, "eval_every": C, **provenance()}
        results.append(
            TrainResult(
                c, frame(hist[i], HISTORY_COLUMNS, c), frame(trust[i], TRUST_COLUMNS, c),
                final, p, ckpts[i], info,
            )
        )  # fmt: skip
    return results


@with_x64
def train_many(
    configs: Sequence[TrainConfig],
    *,
    cache_dir=None,
    progress: Callable[[str], None] | None = None,
    mesh=None,
) -> list[TrainResult]:
    """Train every config; runs differing only in traced fields are vmapped together.

    Args:
        configs: the runs (any mix; grouped by :meth:`TrainConfig.static_key`).
        cache_dir: tokenizer/token-id cache directory (mlm), or None.
        progress: called with a short status line after every chunk.
        mesh: a ``jax.sharding.Mesh`` (:func:`experiments.distributed.make_mesh`) to split each
            group's runs over its devices (a group whose size is not a multiple of the device
            count uses the largest number of them that divides it, in one process), or None for
            the default device. Results do not depend on it.

    Returns:
        One :class:`TrainResult` per config, in order.
    """
    configs = list(configs)
    for i, c in enumerate(configs):
        if not isinstance(c, TrainConfig):
            raise ValueError(f"configs[{i}]={c!r} is invalid: expected a TrainConfig")
    groups: dict = {}
    for i, c in enumerate(configs):
        groups.setdefault(c.static_key(), []).append(i)
    out: list = [None] * len(configs)
    for idx in groups.values():
        for i, r in zip(
            idx, _run_group([configs[i] for i in idx], cache_dir, progress, mesh), strict=True
        ):
            out[i] = r
    return out


@with_x64
def train(config: TrainConfig, *, cache_dir=None) -> TrainResult:
    """Train one run (:func:`train_many` with one config)."""
    return train_many([config], cache_dir=cache_dir)[0]
