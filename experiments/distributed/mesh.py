"""Meshes, partition specs and data placement with ``jax.sharding`` (GSPMD), nothing home-made.

A mesh names axes over all global devices (every process's, after
:func:`experiments.distributed.initialize`). Parameters are replicated (``P()``) unless a rule
shards a leaf along a mesh axis; batches are split along their leading axis (``P("data")``).
Under ``jit`` with ``NamedSharding``s, a reduction such as ``jnp.sum(x * x)`` over a sharded
leaf is the *whole* leaf's (XLA inserts the all-reduce), so LARS/LAMB's per-layer norms stay
per layer, not per shard: ``tests/test_distributed_mesh.py`` checks this against one device.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from typing import Any

import jax
import numpy as np
from jax.experimental import multihost_utils
from jax.sharding import Mesh, NamedSharding
from jax.sharding import PartitionSpec as P

from lamb_ref.tree import leaf_names

DATA = "data"


def _fail(name: str, value: Any, allowed: str) -> None:
    raise ValueError(f"{name}={value!r} is invalid: {allowed}")


def fit_mesh(mesh: Mesh | None, n: int) -> Mesh | None:
    """The mesh ``n`` independent runs are split over: ``mesh`` itself if n is a multiple of its
    size; else (one process, one mesh axis) its first gcd(n, size) devices, so that every device
    holds the same number of runs; None (JAX's default device) when that is one device.

    Raises:
        ValueError: n does not divide over a multi-process or multi-axis mesh.
    """
    if mesh is None or n % mesh.size == 0:
        return mesh
    k = math.gcd(n, mesh.size)
    if jax.process_count() > 1 or len(mesh.axis_names) != 1:
        _fail(
            "runs",
            n,
            f"expected a multiple of the {mesh.size} devices of this mesh "
            f"({jax.process_count()} processes, axes {mesh.axis_names})",
        )
    if k == 1:
        return None
    return Mesh(np.asarray(mesh.devices.flat[:k]), mesh.axis_names)


def make_mesh(
    n_devices: int | None = None,
    axis_names: Sequence[str] = (DATA,),
    axis_shapes: Sequence[int] | None = None,
) -> Mesh:
    """A mesh over the first ``n_devices`` global devices (all by default).

    One axis by default (``("data",)`` of size n_devices); several need ``axis_shapes`` whose
    product is the device count. One device gives a 1-device mesh: the same code path as N.

    The axes are ``AxisType.Auto``: ``jax.make_mesh`` defaults to ``Explicit`` axes (sharding in
    types), under which an op whose output sharding is ambiguous - e.g. ``x @ w`` with the batch
    of x and the columns of w on the same axis - is an error. Auto leaves layouts to GSPMD, so
    any ``loss_fn`` runs unchanged and the values never depend on the layout.

    Raises:
        ValueError: a bad count, names or shapes; or, with several processes, a mesh that does
            not span every process's devices.
    """
    devices = jax.devices()
    names = tuple(axis_names) if not isinstance(axis_names, str) else (axis_names,)
    if not names or len(set(names)) != len(names) or not all(isinstance(a, str) for a in names):
        _fail("axis_names", axis_names, "expected distinct strings")
    if axis_shapes is not None:
        shapes = tuple(axis_shapes)
        if len(shapes) != len(names) or not all(
            isinstance(s, int) and not isinstance(s, bool) and s >= 1 for s in shapes
        ):
            _fail("axis_shapes", axis_shapes, f"expected {len(names)} integers >= 1")
        n_devices = math.prod(shapes) if n_devices is None else n_devices
    if n_devices is None:
        n_devices = len(devices)
    if isinstance(n_devices, bool) or not isinstance(n_devices, int) or n_devices < 1:
        _fail("n_devices", n_devices, f"expected an integer in [1, {len(devices)}]")
    if n_devices > len(devices):
        _fail("n_devices", n_devices, f"expected at most the {len(devices)} devices JAX sees")
    if jax.process_count() > 1 and n_devices != len(devices):
        span = f"expected all {len(devices)} global devices with {jax.process_count()} processes"
        _fail("n_devices", n_devices, span)
    if axis_shapes is None:
        if len(names) != 1:
            _fail("axis_shapes", None, f"required for the {len(names)} axes {names}")
        shapes = (n_devices,)
    elif math.prod(shapes) != n_devices:
        _fail("axis_shapes", axis_shapes, f"expected a product of n_devices={n_devices}")
    auto = (jax.sharding.AxisType.Auto,) * len(names)
    return jax.make_mesh(shapes, names, axis_types=auto, devices=devices[:n_devices])


def _is_spec(x: Any) -> bool:
    return isinstance(x, P)


def param_specs(params: Any, rules: Mapping[str, P] | Sequence[tuple[str, P]] | None = None):
    """One ``PartitionSpec`` per parameter leaf: the first rule whose regex matches, else ``P()``.

    Args:
        params: the parameter pytree (arrays or ``jax.ShapeDtypeStruct``s).
        rules: regex -> spec, matched with ``re.search`` against the leaf's name (its key path
            joined with ``/``, as in ``lamb_ref.leaf_names``), e.g.
            ``{r"layer_1/kernel$": P(None, "data")}`` splits that kernel's columns.

    Raises:
        ValueError: a rule that is not (regex, PartitionSpec), or one that matches no leaf
            (a typo must not silently leave a layer replicated).
    """
    items = list((rules or {}).items()) if isinstance(rules, Mapping | None) else list(rules)
    names = leaf_names(params)
    specs, used = [], set()
    for name in names:
        spec = P()
        for pattern, s in items:
            if not isinstance(pattern, str) or not _is_spec(s):
                _fail("rules", (pattern, s), "expected regex strings mapped to PartitionSpecs")
            if re.search(pattern, name):
                spec = s
                used.add(pattern)
                break
        specs.append(spec)
    unused = [p for p, _ in items if p not in used]
    if unused:
        _fail("rules", unused, f"these patterns match no parameter; the names are {names}")
    return jax.tree.unflatten(jax.tree.structure(params), specs)


def _axis_size(mesh: Mesh, entry: Any) -> int:
    return math.prod(mesh.shape[a] for a in (entry if isinstance(entry, tuple) else (entry,)))


def check_specs(tree: Any, specs: Any, mesh: Mesh, what: str = "param_specs") -> None:
    """Each spec fits its leaf: no longer than its rank, known mesh axes, divisible dimensions."""
    names = leaf_names(tree)
    spec_leaves = jax.tree.leaves(specs, is_leaf=_is_spec)
    if len(spec_leaves) != len(names) or not all(_is_spec(s) for s in spec_leaves):
        _fail(what, specs, f"expected one PartitionSpec per leaf of {names}")
    for name, leaf, spec in zip(names, jax.tree.leaves(tree), spec_leaves, strict=True):
        shape = np.shape(leaf)
        if len(spec) > len(shape):
            _fail(f"{what}[{name!r}]", spec, f"longer than the leaf's rank {len(shape)}")
        for dim, entry in enumerate(spec):
            axes = entry if isinstance(entry, tuple) else (entry,)
            if any(a is not None and a not in mesh.axis_names for a in axes):
                _fail(f"{what}[{name!r}]", spec, f"mesh axes are {mesh.axis_names}")
            k = 1 if entry is None else _axis_size(mesh, entry)
            if shape[dim] % k:
                why = f"dimension {dim} of shape {shape} is not divisible by {k}"
                _fail(f"{what}[{name!r}]", spec, why)


def shardings(mesh: Mesh, specs: Any) -> Any:
    """The ``NamedSharding`` of each ``PartitionSpec`` in a pytree of specs."""
    return jax.tree.map(lambda s: NamedSharding(mesh, s), specs, is_leaf=_is_spec)


def _put(x: Any, sharding: NamedSharding) -> jax.Array:
    """A global array from a value every process holds in full (works with N processes)."""
    if isinstance(x, jax.Array) and not x.is_fully_addressable:
        return jax.jit(lambda a: a, out_shardings=sharding)(x)  # already global: reshard
    if isinstance(x, jax.Array) and jax.dtypes.issubdtype(x.dtype, jax.dtypes.prng_key):
        # Typed keys travel as their raw uint32 data (trailing key axis unsharded).
        data = _put(jax.random.key_data(x), NamedSharding(sharding.mesh, P(*sharding.spec)))
        return jax.random.wrap_key_data(data, impl=jax.random.key_impl(x))
    host = np.asarray(x)
    # make_array_from_callback copies only the shards this process's devices hold, which is
    # what a multi-process job needs (device_put refuses a non-addressable target for a
    # jax.Array input).
    return jax.make_array_from_callback(host.shape, sharding, lambda index: host[index])


def place(tree: Any, mesh: Mesh, specs: Any = None) -> Any:
    """Put a pytree that every process holds in full on the mesh (``specs`` default ``P()``)."""
    if specs is None:
        specs = jax.tree.map(lambda _: P(), tree)
    check_specs(tree, specs, mesh, "specs")
    return jax.tree.map(_put, tree, shardings(mesh, specs))


def place_batch(batch: Any, mesh: Mesh, axis: str = DATA, *, process_local: bool = False) -> Any:
    """Put a batch pytree on the mesh, its leading (example) axis split along mesh ``axis``.

    Args:
        batch: arrays with the same leading size.
        process_local: False: ``batch`` is the global batch, the same on every process. True:
            ``batch`` holds only this process's examples (the rows its devices hold; with
            :func:`make_mesh`, process i holds the i-th contiguous block); the global batch is
            the processes' blocks together. A mean loss does not depend on the row order.

    Raises:
        ValueError: unequal leading sizes, or a global batch size not a multiple of the axis.
    """
    if axis not in mesh.axis_names:
        _fail("axis", axis, f"expected one of the mesh axes {mesh.axis_names}")
    leaves = jax.tree.leaves(batch)
    sizes = {np.shape(x)[0] if np.ndim(x) else None for x in leaves}
    if len(sizes) != 1 or None in sizes:
        _fail("batch", [np.shape(x) for x in leaves], "expected leaves with one leading size")
    n = sizes.pop() * (jax.process_count() if process_local else 1)
    if n % mesh.shape[axis]:
        why = f"expected a multiple of mesh axis {axis!r} of size {mesh.shape[axis]}"
        _fail("batch size", n, why)
    sharding = NamedSharding(mesh, P(axis))
    if process_local:
        return jax.tree.map(
            lambda x: jax.make_array_from_process_local_data(
                sharding, np.asarray(x), (n, *np.shape(x)[1:])
            ),
            batch,
        )
    return jax.tree.map(lambda x: _put(x, sharding), batch)


def gather(tree: Any) -> Any:
    """Every leaf as a NumPy array holding its global value, on every process.

    Arrays that span other processes are all-gathered (``process_allgather``); that is a
    collective, so with several processes every process must call this, in the same order.
    """

    def one(x: Any) -> np.ndarray:
        if isinstance(x, jax.Array) and not x.is_fully_addressable:
            if jax.dtypes.issubdtype(x.dtype, jax.dtypes.prng_key):
                x = jax.random.key_data(x)
            return np.asarray(multihost_utils.process_allgather(x, tiled=True))
        return np.asarray(x)

    return jax.tree.map(one, tree)
