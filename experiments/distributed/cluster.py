"""Joining a multi-process job: a validating wrapper around :func:`jax.distributed.initialize`.

Settings come, per parameter, from the function's arguments, else from our environment variables
(``LAMB_COORDINATOR``, ``LAMB_NUM_PROCESSES``, ``LAMB_PROCESS_ID``, ``LAMB_LOCAL_DEVICE_IDS``).
Either all three of coordinator, process count and process id are given, or none is; with none,
JAX's own cluster detection fills them in (SLURM, Open MPI, Cloud TPU). Nothing here talks to the
network itself: JAX's coordination service does.
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import jax

ENV_COORDINATOR = "LAMB_COORDINATOR"
ENV_NUM_PROCESSES = "LAMB_NUM_PROCESSES"
ENV_PROCESS_ID = "LAMB_PROCESS_ID"
ENV_LOCAL_DEVICE_IDS = "LAMB_LOCAL_DEVICE_IDS"
# jax.config "jax_cpu_collectives_implementation": how CPU devices of different processes talk.
# "gloo" (TCP, shipped in jaxlib) is JAX's default since 0.5; it is set explicitly because older
# JAX defaulted to none, and then any computation spanning processes fails on CPU.
CPU_COLLECTIVES = ("gloo", "mpi")


@dataclass(frozen=True)
class Settings:
    """Resolved explicit settings for :func:`jax.distributed.initialize`."""

    coordinator_address: str
    num_processes: int
    process_id: int
    local_device_ids: tuple[int, ...] | None = None


def _fail(name: str, value: Any, allowed: str) -> None:
    raise ValueError(f"{name}={value!r} is invalid: {allowed}")


def _int(name: str, value: Any, low: int) -> int:
    """An int >= low from an int or (environment) string; bools and floats are refused."""
    if isinstance(value, str):
        try:
            value = int(value.strip())
        except ValueError:
            _fail(name, value, f"expected an integer >= {low}")
    if isinstance(value, bool) or not isinstance(value, int) or value < low:
        _fail(name, value, f"expected an integer >= {low}")
    return value


def _address(name: str, value: Any) -> str:
    host, sep, port = value.rpartition(":") if isinstance(value, str) else ("", "", "")
    if not sep or not host or not port.isdigit() or not 1 <= int(port) <= 65535:
        _fail(name, value, "expected 'HOST:PORT' with a port in 1..65535")
    return value


def _device_ids(name: str, value: Any) -> tuple[int, ...]:
    ids = value
    if isinstance(value, str):
        parts = value.split(",")
        ids = [int(p) for p in parts if p.strip().isdigit()] if value.strip() else []
        ids = ids if len(ids) == len(parts) else None
    elif isinstance(value, int) and not isinstance(value, bool):
        ids = [value]
    ok = isinstance(ids, Sequence) and len(ids) > 0 and len(set(ids)) == len(ids)
    if not ok or not all(isinstance(i, int) and not isinstance(i, bool) and i >= 0 for i in ids):
        _fail(name, value, "expected distinct integers >= 0, e.g. '0,1' or [0, 1]")
    return tuple(ids)


HOST_DEVICES_FLAG = "--xla_force_host_platform_device_count"


def force_host_devices(n: int) -> bool:
    """Ask XLA for ``n`` CPU host devices (on a CPU, one per core runs each device's share of
    the runs on its own thread). Returns whether the flag was added.

    XLA reads ``XLA_FLAGS`` when JAX's backend starts, so call this before the first JAX
    computation (importing JAX is fine). Only the CPU platform reads the flag, so on a GPU or TPU
    machine it changes nothing there; n <= 1 or a count already in ``XLA_FLAGS`` is left alone.
    """
    flags = os.environ.get("XLA_FLAGS", "")
    if n <= 1 or HOST_DEVICES_FLAG in flags:
        return False
    os.environ["XLA_FLAGS"] = f"{flags} {HOST_DEVICES_FLAG}={int(n)}".strip()
    return True


def resolve(
    coordinator_address: str | None = None,
    num_processes: int | None = None,
    process_id: int | None = None,
    local_device_ids: int | Sequence[int] | str | None = None,
    environ: Mapping[str, str] | None = None,
) -> tuple[Settings | None, tuple[int, ...] | None]:
    """Arguments, else ``LAMB_*`` variables; ``(None, ids)`` means "let JAX auto-detect".

    Returns:
        ``(settings, local_device_ids)``: explicit settings, or None when none of coordinator,
        process count and process id was given anywhere.

    Raises:
        ValueError: a value is malformed, process_id is not in [0, num_processes), or only some
            of the three were given (the message names which, and where they came from).
    """
    env = os.environ if environ is None else environ
    raw = {
        "coordinator_address": (coordinator_address, ENV_COORDINATOR),
        "num_processes": (num_processes, ENV_NUM_PROCESSES),
        "process_id": (process_id, ENV_PROCESS_ID),
        "local_device_ids": (local_device_ids, ENV_LOCAL_DEVICE_IDS),
    }
    # Which name to quote in an error: the argument's, or the environment variable's.
    got: dict[str, tuple[Any, str]] = {}
    for key, (arg, var) in raw.items():
        if arg is not None:
            got[key] = (arg, key)
        elif env.get(var, "").strip():
            got[key] = (env[var], var)
    ids = None
    if "local_device_ids" in got:
        ids = _device_ids(got["local_device_ids"][1], got["local_device_ids"][0])
    trio = ("coordinator_address", "num_processes", "process_id")
    present = [k for k in trio if k in got]
    if not present:
        return None, ids
    if len(present) < len(trio):
        given = ", ".join(f"{got[k][1]}={got[k][0]!r}" for k in present)
        missing = ", ".join(f"{k} ({raw[k][1]})" for k in trio if k not in got)
        raise ValueError(
            f"incomplete distributed settings: {given} given but {missing} missing; give all "
            "three (arguments, flags or LAMB_* variables) or none (JAX then auto-detects "
            "SLURM, Open MPI and Cloud TPU)"
        )
    address = _address(got["coordinator_address"][1], got["coordinator_address"][0])
    n = _int(got["num_processes"][1], got["num_processes"][0], 1)
    pid = _int(got["process_id"][1], got["process_id"][0], 0)
    if pid >= n:
        _fail(got["process_id"][1], got["process_id"][0], f"expected 0 <= process_id < {n}")
    return Settings(address, n, pid, ids), ids


def initialize(
    coordinator_address: str | None = None,
    num_processes: int | None = None,
    process_id: int | None = None,
    local_device_ids: int | Sequence[int] | str | None = None,
    *,
    cpu_collectives: str | None = "gloo",
    initialization_timeout: int = 300,
    environ: Mapping[str, str] | None = None,
) -> Settings | None:
    """Join the job: :func:`jax.distributed.initialize` with validated settings.

    Must run before any JAX computation in the process (JAX's rule). Afterwards
    ``jax.devices()`` lists every process's devices and :func:`experiments.distributed.make_mesh`
    spans them all.

    Args:
        coordinator_address: ``HOST:PORT`` of process 0's coordination service.
        num_processes: processes in the job (≥ 1).
        process_id: this process's rank, in [0, num_processes).
        local_device_ids: the local accelerators this process uses (e.g. one GPU per process).
        cpu_collectives: ``"gloo"`` or ``"mpi"`` for CPU devices across processes, or None to
            leave JAX's setting alone.
        initialization_timeout: seconds to wait for the other processes.
        environ: the environment to read ``LAMB_*`` from (default ``os.environ``).

    Returns:
        The explicit settings used, or None when JAX auto-detected the cluster.

    Raises:
        ValueError: invalid or partial settings, or none given and no cluster detected.
    """
    settings, ids = resolve(
        coordinator_address, num_processes, process_id, local_device_ids, environ
    )
    if cpu_collectives is not None:
        if cpu_collectives not in CPU_COLLECTIVES:
            _fail("cpu_collectives", cpu_collectives, f"expected one of {CPU_COLLECTIVES} or None")
        jax.config.update("jax_cpu_collectives_implementation", cpu_collectives)
    timeout = _int("initialization_timeout", initialization_timeout, 1)
    if settings is not None:
        jax.distributed.initialize(
            coordinator_address=settings.coordinator_address,
            num_processes=settings.num_processes,
            process_id=settings.process_id,
            local_device_ids=None if ids is None else list(ids),
            initialization_timeout=timeout,
        )
        return settings
    try:
        jax.distributed.initialize(
            local_device_ids=None if ids is None else list(ids), initialization_timeout=timeout
        )
    except ValueError as err:  # JAX found no cluster and has no address: say what to give
        raise ValueError(
            f"no distributed settings given and no cluster detected ({err}): pass "
            "coordinator_address, num_processes and process_id (or --coordinator, "
            f"--num-processes, --process-id; or {ENV_COORDINATOR}, {ENV_NUM_PROCESSES}, "
            f"{ENV_PROCESS_ID}), or run under SLURM, Open MPI or on a Cloud TPU slice"
        ) from err
    return None


def add_distributed_args(parser: argparse.ArgumentParser) -> argparse.ArgumentParser:
    """Add ``--distributed``, ``--coordinator``, ``--num-processes``, ``--process-id``,
    ``--local-device-ids`` and ``--cpu-collectives`` (an argument group) to ``parser``."""
    g = parser.add_argument_group(
        "distributed (jax.distributed)",
        "Multi-process runs. With --distributed alone JAX auto-detects SLURM, Open MPI and "
        f"Cloud TPU; the other flags (or {ENV_COORDINATOR}, {ENV_NUM_PROCESSES}, "
        f"{ENV_PROCESS_ID}, {ENV_LOCAL_DEVICE_IDS}) set the values explicitly.",
    )
    g.add_argument("--distributed", action="store_true", help="join a multi-process job")
    g.add_argument("--coordinator", metavar="HOST:PORT", help="process 0's address and a port")
    g.add_argument("--num-processes", type=int, metavar="N", help="processes in the job")
    g.add_argument("--process-id", type=int, metavar="I", help="this process's rank, 0..N-1")
    g.add_argument("--local-device-ids", metavar="I,J", help="local devices this process uses")
    g.add_argument(
        "--cpu-collectives",
        choices=CPU_COLLECTIVES,
        default="gloo",
        help="CPU cross-process collectives (default: gloo)",
    )
    return parser


def initialize_from_args(
    args: argparse.Namespace, environ: Mapping[str, str] | None = None
) -> bool:
    """Call :func:`initialize` if any distributed flag or ``LAMB_*`` variable is set.

    Returns:
        True when the process joined a multi-process job; False when nothing was set (a
        single-process run: nothing was done).
    """
    env = os.environ if environ is None else environ
    values = (args.coordinator, args.num_processes, args.process_id, args.local_device_ids)
    variables = (ENV_COORDINATOR, ENV_NUM_PROCESSES, ENV_PROCESS_ID, ENV_LOCAL_DEVICE_IDS)
    asked = args.distributed or any(v is not None for v in values)
    if not (asked or any(env.get(v, "").strip() for v in variables)):
        return False
    initialize(*values, cpu_collectives=args.cpu_collectives, environ=env)
    return True
