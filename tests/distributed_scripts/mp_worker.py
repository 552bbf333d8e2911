"""One process of tests/test_distributed_multiprocess.py: joins the job, trains, saves results.

Usage: python -m tests.distributed_scripts.mp_worker OUT.npz [distributed flags]

The job's settings come from the flags or the LAMB_* variables (``initialize_from_args``),
before any JAX computation. The mesh spans both processes' CPU devices (gloo collectives).
Every process saves the global values (``gather``); the test compares them with one device.
"""

from __future__ import annotations

import argparse
import time

import jax
import numpy as np

from experiments import distributed
from experiments.validation.runner import simulate
from tests.distributed_scripts import model
from tests.distributed_scripts.mesh_check import runner_inputs


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("out")
    args = distributed.add_distributed_args(parser).parse_args()
    t0 = time.perf_counter()
    # first, before any JAX computation (importing JAX and this package computes nothing)
    assert distributed.initialize_from_args(args), "no distributed settings reached the worker"
    mesh = distributed.make_mesh()
    out: dict[str, np.ndarray] = {
        "process_index": np.array(jax.process_index()),
        "process_count": np.array(jax.process_count()),
        "device_count": np.array(jax.device_count()),
        "local_device_count": np.array(jax.local_device_count()),
        "collectives": np.array(jax.config.jax_cpu_collectives_implementation),
    }
    runs = {
        # the global batch split across processes: each passes only its own rows
        "lamb_batch": ("lamb", False, True),
        "lamb_split": ("lamb", True, True),
        # every process passes the whole batch; each device takes its rows
        "lars_split": ("lars", True, False),
    }
    for name, (opt, split, local) in runs.items():
        traj, _, placed = model.train(
            model.OPTIMIZERS[opt](), mesh, model.specs(split), process_local=local
        )
        out[name] = traj
        kernel = placed["layer_1"]["kernel"]
        out[name + "_spec"] = np.array(str(kernel.sharding.spec))
        out[name + "_local_shards"] = np.array([s.data.shape for s in kernel.addressable_shards])
        out[name + "_fully_addressable"] = np.array(kernel.is_fully_addressable)
    built, opt, key = runner_inputs()
    res = simulate(built, opt, 12, 4, [0.05, 0.1], 4, key, mesh=mesh)
    out |= {"runner_" + k: v for k, v in res.mean.items()} | {"runner_final_f": res.final_f}
    out["seconds"] = np.array(time.perf_counter() - t0)
    np.savez(args.out, **out)


if __name__ == "__main__":
    main()
