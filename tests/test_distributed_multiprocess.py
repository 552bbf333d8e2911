"""Two processes on 127.0.0.1 joined by jax.distributed, CPU collectives over gloo, against one.

Each process (``tests/distributed_scripts/mp_worker.py``) has 2 CPU devices; the mesh spans all
4. Process 0 gets its settings from the CLI flags, process 1 from the LAMB_* variables. Each
trains the MLP with LAMB (batch split across the processes; then also ``layer_1/kernel`` split
over all 4 devices, i.e. across processes) and LARS, runs the validation runner with its seeds
split over the 4 devices, and saves the global values. Independent check: the same training and
runner in this process on one device. Processes are always killed (``launch.run_all``).
"""

from __future__ import annotations

import numpy as np
import pytest

from experiments import distributed
from experiments.validation.runner import simulate
from tests.distributed_scripts import launch, model
from tests.distributed_scripts.mesh_check import runner_inputs
from tests.tolerances import SHARDED_F64_ABS

TIMEOUT_S = 120
RUNS = {"lamb_batch": ("lamb", False), "lamb_split": ("lamb", True), "lars_split": ("lars", True)}


def _launch(tmp_path) -> list[dict]:
    for attempt in range(2):  # the free port can be taken between choosing and binding it
        port = launch.free_port()
        address = f"127.0.0.1:{port}"
        flags = ["--coordinator", address, "--num-processes", "2", "--process-id", "0"]
        env1 = {"LAMB_COORDINATOR": address, "LAMB_NUM_PROCESSES": "2", "LAMB_PROCESS_ID": "1"}
        outs = [tmp_path / f"p{i}.npz" for i in range(2)]
        module = ["-m", "tests.distributed_scripts.mp_worker"]
        commands = [
            ([*module, str(outs[0]), *flags], launch.child_env(2)),
            ([*module, str(outs[1])], launch.child_env(2, env1)),
        ]
        try:
            launch.run_all(commands, timeout=TIMEOUT_S)
        except AssertionError as err:
            if attempt == 0 and "already in use" in str(err).lower():
                continue
            raise
        return [dict(np.load(p)) for p in outs]
    raise AssertionError("unreachable")


@pytest.fixture(scope="module")
def reference():
    """The single-process, single-device trajectories and runner averages."""
    one = distributed.make_mesh(1)
    trajectories = {
        name: model.train(model.OPTIMIZERS[opt](), one, model.specs(split))[0]
        for name, (opt, split) in RUNS.items()
    }
    built, opt, key = runner_inputs()
    return trajectories, simulate(built, opt, 12, 4, [0.05, 0.1], 4, key)


def test_two_processes_match_one(tmp_path, reference):
    trajectories, runner = reference
    results = _launch(tmp_path)
    for pid, r in enumerate(results):
        assert int(r["process_index"]) == pid and int(r["process_count"]) == 2
        assert int(r["device_count"]) == 4 and int(r["local_device_count"]) == 2
        assert str(r["collectives"]) == "gloo"
        for name, (_, split) in RUNS.items():
            diff = float(np.max(np.abs(r[name] - trajectories[name])))
            assert diff <= SHARDED_F64_ABS, (pid, name, diff)
            # the split kernel's columns really are spread over both processes: 2 of 8 columns
            # per device, and no process holds the whole array
            want = [[16, 2]] * 2 if split else [[16, 8]] * 2
            assert r[name + "_local_shards"].tolist() == want, (pid, name)
            assert not bool(r[name + "_fully_addressable"])
        for key, want in runner.mean.items():
            np.testing.assert_allclose(r["runner_" + key], want, rtol=0, atol=SHARDED_F64_ABS)
        np.testing.assert_allclose(
            r["runner_final_f"], runner.final_f, rtol=0, atol=SHARDED_F64_ABS
        )
