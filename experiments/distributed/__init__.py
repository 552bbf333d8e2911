"""Scale-out with JAX's own ``jax.distributed`` and ``jax.sharding`` (docs/scaling.md).

Three small pieces, no engine of our own:

- :mod:`~experiments.distributed.cluster`: :func:`initialize` (``jax.distributed.initialize``
  with validated arguments, ``LAMB_*`` variables or JAX's SLURM/TPU/Open MPI auto-detection)
  the CLI helpers :func:`add_distributed_args` / :func:`initialize_from_args`, and
  :func:`force_host_devices` (N CPU devices, before JAX's first computation);
- :mod:`~experiments.distributed.mesh`: :func:`make_mesh` over all global devices,
  :func:`fit_mesh` (the devices n independent runs are split over), per-leaf
  :func:`param_specs`, :func:`place` / :func:`place_batch` and :func:`gather`;
- :mod:`~experiments.distributed.step`: :func:`sharded_train_step` (one jitted data-parallel
  step for 1 or N devices, any optax optimizer) and :func:`shard_runs` (split a vmapped sweep's
  runs axis, as ``experiments.validation.runner.simulate(..., mesh=...)`` does).

Importing this package computes nothing, so :func:`initialize` can still run first.
"""

from experiments.distributed.cluster import (
    CPU_COLLECTIVES,
    ENV_COORDINATOR,
    ENV_LOCAL_DEVICE_IDS,
    ENV_NUM_PROCESSES,
    ENV_PROCESS_ID,
    Settings,
    add_distributed_args,
    force_host_devices,
    initialize,
    initialize_from_args,
    resolve,
)
from experiments.distributed.mesh import (
    DATA,
    check_specs,
    fit_mesh,
    gather,
    make_mesh,
    param_specs,
    place,
    place_batch,
    shardings,
)
from experiments.distributed.step import TrainStep, shard_runs, sharded_train_step, state_specs

__all__ = [
    "CPU_COLLECTIVES",
    "DATA",
    "ENV_COORDINATOR",
    "ENV_LOCAL_DEVICE_IDS",
    "ENV_NUM_PROCESSES",
    "ENV_PROCESS_ID",
    "Settings",
    "TrainStep",
    "add_distributed_args",
    "check_specs",
    "fit_mesh",
    "force_host_devices",
    "gather",
    "initialize",
    "initialize_from_args",
    "make_mesh",
    "param_specs",
    "place",
    "place_batch",
    "resolve",
    "shard_runs",
    "sharded_train_step",
    "shardings",
    "state_specs",
]
