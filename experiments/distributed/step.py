"""A data-parallel training step and a sharded sweep, both plain ``jax.jit`` with shardings.

The step computes, for a global batch B split over the mesh's ``data`` axis,

    g_t = ∇_x (1/|B|) Σ_{b∈B} ℓ(x_t, b),   (u_t, s_{t+1}) = update(g_t, s_t, x_t),
    x_{t+1} = x_t + u_t,

i.e. exactly the single-device step: GSPMD inserts the all-reduces (of the loss's mean, and of
every per-layer norm over a sharded layer), so 1 and N devices run the same code and agree to
rounding (``tests/test_distributed_mesh.py``, ``tests/test_distributed_multiprocess.py``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import jax
import optax
from jax.sharding import Mesh, NamedSharding
from jax.sharding import PartitionSpec as P

from experiments.distributed.mesh import (
    DATA,
    _fail,
    _is_spec,
    check_specs,
    place,
    place_batch,
    shardings,
)


def _path(path: tuple) -> tuple[str, ...]:
    return tuple(jax.tree_util.keystr((k,)) for k in path)


def state_specs(state: Any, params: Any, specs: Any) -> Any:
    """Specs for an optimizer state: a leaf whose key path ends with a parameter's key path and
    has that parameter's shape (moments, momentum buffers) gets its spec; others are ``P()``.

    Works for any optax state (chains, ``inject_hyperparams``, masks) without knowing its
    fields. A state leaf that this misses is replicated: more memory, never a different value.
    """
    spec_leaves = jax.tree.leaves(specs, is_leaf=_is_spec)
    table = {}
    for (path, leaf), spec in zip(
        jax.tree_util.tree_flatten_with_path(params)[0], spec_leaves, strict=True
    ):
        table[_path(path)] = (tuple(jax.numpy.shape(leaf)), spec)

    def one(path, leaf):
        p, shape = _path(path), tuple(jax.numpy.shape(leaf))
        for k in range(len(p) + 1):  # longest suffix first
            hit = table.get(p[k:])
            if hit is not None and hit[0] == shape:
                return hit[1]
        return P()

    return jax.tree_util.tree_map_with_path(one, state)


class TrainStep:
    """``step(params, state, batch) -> (params, state, loss)``, jitted with in/out shardings.

    Built by :func:`sharded_train_step`. ``init(params)`` places the parameters and builds the
    optimizer state sharded like them; ``place_batch(batch)`` splits a batch over the mesh.
    """

    def __init__(self, loss_fn, optimizer, mesh, param_specs, batch_axis, donate):
        self.loss_fn, self.optimizer, self.mesh = loss_fn, optimizer, mesh
        self.param_specs, self.batch_axis, self.donate = param_specs, batch_axis, donate
        self._compiled: dict[Any, Callable] = {}

    def _specs(self, params: Any) -> Any:
        specs = self.param_specs
        if specs is None:
            specs = jax.tree.map(lambda _: P(), params)
        check_specs(params, specs, self.mesh)
        return specs

    def init(self, params: Any) -> tuple[Any, Any]:
        """(params on the mesh, optimizer state on the mesh, sharded like the parameters)."""
        specs = self._specs(params)
        params = place(params, self.mesh, specs)
        sspecs = state_specs(jax.eval_shape(self.optimizer.init, params), params, specs)
        init = jax.jit(self.optimizer.init, out_shardings=shardings(self.mesh, sspecs))
        return params, init(params)

    def place_batch(self, batch: Any, *, process_local: bool = False) -> Any:
        """See :func:`experiments.distributed.place_batch` (split along ``batch_axis``)."""
        return place_batch(batch, self.mesh, self.batch_axis, process_local=process_local)

    def _step_fn(self, params: Any, state: Any) -> Callable:
        key = (jax.tree.structure(params), jax.tree.structure(state))
        if key not in self._compiled:
            specs = self._specs(params)
            p_sh = shardings(self.mesh, specs)
            s_sh = shardings(self.mesh, state_specs(state, params, specs))
            b_sh = NamedSharding(self.mesh, P(self.batch_axis))  # a prefix: every batch leaf
            loss_fn, optimizer = self.loss_fn, self.optimizer

            def step(params, state, batch):
                loss, grads = jax.value_and_grad(loss_fn)(params, batch)
                updates, state = optimizer.update(grads, state, params)
                return optax.apply_updates(params, updates), state, loss

            self._compiled[key] = jax.jit(
                step,
                in_shardings=(p_sh, s_sh, b_sh),
                out_shardings=(p_sh, s_sh, NamedSharding(self.mesh, P())),
                donate_argnums=(0, 1) if self.donate else (),
            )
        return self._compiled[key]

    def __call__(self, params: Any, state: Any, batch: Any) -> tuple[Any, Any, jax.Array]:
        return self._step_fn(params, state)(params, state, batch)


def sharded_train_step(
    loss_fn: Callable[[Any, Any], jax.Array],
    optimizer: optax.GradientTransformation,
    mesh: Mesh,
    param_specs: Any = None,
    *,
    batch_axis: str = DATA,
    donate: bool = False,
) -> TrainStep:
    """A data-parallel (and optionally layer-sharded) training step on ``mesh``.

    Args:
        loss_fn: ``loss_fn(params, batch) -> scalar``, the *mean* loss over the batch given
            (under jit the batch is the global one, whatever its sharding).
        optimizer: any optax ``GradientTransformation`` (``lamb_ref.lamb``, ``lamb_ref.lars``,
            a chain with a schedule, ...); its ``update`` gets ``params``.
        mesh: from :func:`experiments.distributed.make_mesh` (1 device or N; one code path).
        param_specs: a pytree of ``PartitionSpec`` like the parameters
            (:func:`experiments.distributed.param_specs`); None replicates everything.
        batch_axis: the mesh axis the batch's leading axis is split along.
        donate: let XLA reuse the old params/state buffers (they become invalid after a call).

    Example:
        >>> step = sharded_train_step(loss_fn, lamb_ref.lamb(1e-3), make_mesh())  # doctest: +SKIP
        >>> params, state = step.init(params)  # doctest: +SKIP
        >>> params, state, loss = step(params, state, step.place_batch(batch))  # doctest: +SKIP
    """
    if batch_axis not in mesh.axis_names:
        _fail("batch_axis", batch_axis, f"expected one of the mesh axes {mesh.axis_names}")
    return TrainStep(loss_fn, optimizer, mesh, param_specs, batch_axis, bool(donate))


def shard_runs(args: Any, mesh: Mesh, in_axes: Any, mesh_axes: Any = None) -> Any:
    """Put the inputs of a vmapped sweep on ``mesh``, its runs axis split over the devices.

    Like ``vmap``'s ``in_axes``: a pytree prefix of ``args`` holding, per leaf, the axis of
    independent runs (e.g. seeds) to split, or None to replicate. A jitted function of these
    arrays then runs each device's runs there (GSPMD keeps the split through ``vmap`` and
    ``lax.scan``); :func:`experiments.distributed.gather` brings results back to NumPy.

    Args:
        mesh_axes: the mesh axis (or tuple of axes) to split along; default all of them.

    Raises:
        ValueError: a runs axis whose size is not a multiple of the devices it is split over.
    """
    axes = tuple(mesh.axis_names) if mesh_axes is None else mesh_axes
    n = 1
    for a in axes if isinstance(axes, tuple) else (axes,):
        if a not in mesh.axis_names:
            _fail("mesh_axes", mesh_axes, f"expected axes of the mesh {mesh.axis_names}")
        n *= mesh.shape[a]
    entry = axes[0] if isinstance(axes, tuple) and len(axes) == 1 else axes
    is_axis = lambda x: x is None or isinstance(x, int)  # noqa: E731

    def spec(axis: int | None, leaf: Any) -> P:
        if axis is None:
            return P()
        size = jax.numpy.shape(leaf)[axis]
        if size % n:
            _fail("runs", size, f"expected a multiple of the {n} devices it is split over")
        return P(*([None] * axis), entry)

    per_leaf = lambda ax, sub: jax.tree.map(lambda leaf: spec(ax, leaf), sub)  # noqa: E731
    specs = jax.tree.map(per_leaf, in_axes, args, is_leaf=is_axis)
    return place(args, mesh, specs)
