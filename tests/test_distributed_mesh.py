"""experiments.distributed on an 8-device CPU mesh, against one device; and its argument checks.

The 8 devices are forced host devices (``--xla_force_host_platform_device_count``), which must
be set before JAX starts, so the comparison runs in a subprocess
(``tests/distributed_scripts/mesh_check.py``). Independent check: the same training on a
1-device mesh; the NumPy norm of the split layer. Negative control: the update run per shard
(``shard_map``) moves the trajectory by far more than the tolerance.
"""

from __future__ import annotations

import argparse
import json
import math

import jax
import pytest
from jax.sharding import PartitionSpec as P

from experiments import distributed
from tests.distributed_scripts import launch, model
from tests.tolerances import PER_SHARD_MIN_DIFF, SHARDED_F64_ABS

SCRIPT_TIMEOUT_S = 120


def test_eight_devices_match_one_device(tmp_path):
    out = tmp_path / "mesh.json"
    env = launch.child_env(8)
    launch.run_all(
        [(["-m", "tests.distributed_scripts.mesh_check", str(out)], env)], timeout=SCRIPT_TIMEOUT_S
    )
    r = json.loads(out.read_text())
    assert r["devices"] == 8
    for name in model.OPTIMIZERS:
        m = r[name]
        assert m["movement"] > 1e-2, (name, m)  # the runs really train
        assert m["batch_max_abs_diff"] <= SHARDED_F64_ABS, (name, m)
        assert m["split_max_abs_diff"] <= SHARDED_F64_ABS, (name, m)
        assert m["per_shard_max_abs_diff"] > PER_SHARD_MIN_DIFF, (name, m)
        # the split kernel is really split: 16 x 8 by columns, one (16, 1) block per device,
        # and its optimizer state is split the same way
        assert m["split_spec"] == str(model.SPLIT_SPEC), m
        assert m["split_shape"] == [16, 8] and m["split_shards"] == [[16, 1]], m
        assert m["split_devices"] == 8, m
        assert m["state_split_specs"] and set(m["state_split_specs"]) == {"P(None, 'data')"}, m
    assert r["norm_rel_err"] <= 1e-15, r  # jnp.sum under jit: the whole layer's norm
    assert r["per_shard_norm_max_rel_err"] > 0.1, r  # a shard's norm is not the layer's
    # the runner's seeds axis split over the 8 devices gives the unsplit runner's numbers
    assert r["runner_seed_spec"] == "P(None, 'data')" and r["runner_seed_shards"] == [[1, 1]]
    assert r["runner_spread"] > 1e-3, r  # seeds differ, so a mix-up would show
    assert r["runner_max_abs_diff"] <= SHARDED_F64_ABS, r


# ---- argument checks (in this process: resolve() and the CLI never start JAX's service) ----

ENV = {"LAMB_COORDINATOR": "10.0.0.1:1234", "LAMB_NUM_PROCESSES": "4", "LAMB_PROCESS_ID": "3"}


def test_resolve_from_arguments_and_environment():
    assert distributed.resolve(environ={}) == (None, None)
    got, ids = distributed.resolve(environ=ENV | {"LAMB_LOCAL_DEVICE_IDS": "0,1"})
    assert got == distributed.Settings("10.0.0.1:1234", 4, 3, (0, 1)) and ids == (0, 1)
    got, _ = distributed.resolve("h:1", 2, 0, environ=ENV)  # arguments win
    assert got == distributed.Settings("h:1", 2, 0, None)
    assert distributed.resolve(local_device_ids=2, environ={}) == (None, (2,))


@pytest.mark.parametrize(
    "kwargs, env, match",
    [
        ({"coordinator_address": "h:1"}, {}, "num_processes .*LAMB_NUM_PROCESSES.* missing"),
        ({}, {"LAMB_PROCESS_ID": "0"}, "LAMB_PROCESS_ID='0' given but coordinator_address"),
        ({"coordinator_address": "h", "num_processes": 2, "process_id": 0}, {}, "HOST:PORT"),
        ({"coordinator_address": "h:0", "num_processes": 2, "process_id": 0}, {}, "1..65535"),
        ({"coordinator_address": "h:1", "num_processes": 2, "process_id": 2}, {}, "< 2"),
        ({"coordinator_address": "h:1", "num_processes": 0, "process_id": 0}, {}, ">= 1"),
        ({"coordinator_address": "h:1", "num_processes": True, "process_id": 0}, {}, ">= 1"),
        ({}, ENV | {"LAMB_NUM_PROCESSES": "four"}, "LAMB_NUM_PROCESSES='four' is invalid"),
        ({"local_device_ids": "0,0"}, {}, "local_device_ids='0,0' is invalid: expected distinct"),
        ({}, {"LAMB_LOCAL_DEVICE_IDS": "0,x"}, "LAMB_LOCAL_DEVICE_IDS='0,x' is invalid"),
    ],
)
def test_resolve_rejects_partial_or_invalid_settings(kwargs, env, match):
    with pytest.raises(ValueError, match=match):
        distributed.resolve(**kwargs, environ=env)


def _parse(argv):
    return distributed.add_distributed_args(argparse.ArgumentParser()).parse_args(argv)


def test_cli_flags_reach_jax_distributed_initialize(monkeypatch):
    calls = []
    monkeypatch.setattr(jax.distributed, "initialize", lambda **kw: calls.append(kw))
    monkeypatch.setattr(jax.config, "update", lambda *a: calls.append(a))
    assert distributed.initialize_from_args(_parse([]), environ={}) is False
    assert calls == []  # single process: nothing is initialised
    argv = ["--coordinator", "h:5", "--num-processes", "2", "--process-id", "1"]
    assert distributed.initialize_from_args(_parse([*argv, "--local-device-ids", "3"]), {})
    assert calls[0] == ("jax_cpu_collectives_implementation", "gloo")
    assert calls[1] == dict(
        coordinator_address="h:5",
        num_processes=2,
        process_id=1,
        local_device_ids=[3],
        initialization_timeout=300,
    )
    calls.clear()
    assert distributed.initialize_from_args(_parse([]), environ=ENV)  # LAMB_* alone suffice
    assert calls[1]["coordinator_address"] == "10.0.0.1:1234" and calls[1]["process_id"] == 3
    calls.clear()
    assert distributed.initialize_from_args(_parse(["--distributed"]), environ={})
    assert calls[1] == dict(local_device_ids=None, initialization_timeout=300)  # auto-detect


def test_auto_detection_failure_says_what_to_give(monkeypatch):
    def no_cluster(**kw):
        raise ValueError("coordinator_address should be defined.")

    monkeypatch.setattr(jax.distributed, "initialize", no_cluster)
    monkeypatch.setattr(jax.config, "update", lambda *a: None)
    with pytest.raises(ValueError, match=r"no cluster detected.*LAMB_COORDINATOR"):
        distributed.initialize(environ={})
    with pytest.raises(ValueError, match="cpu_collectives='nccl' is invalid"):
        distributed.initialize(cpu_collectives="nccl", environ={})


def test_mesh_and_spec_checks():
    n = jax.device_count()
    mesh = distributed.make_mesh()
    assert mesh.axis_names == ("data",) and mesh.devices.size == n
    for bad, match in [(0, "n_devices=0"), (n + 1, f"n_devices={n + 1}"), (1.0, "n_devices")]:
        with pytest.raises(ValueError, match=match):
            distributed.make_mesh(bad)
    with pytest.raises(ValueError, match="axis_shapes=None is invalid: required"):
        distributed.make_mesh(axis_names=("data", "model"))
    with pytest.raises(ValueError, match="axis_shapes"):
        distributed.make_mesh(n, ("data", "model"), (n, 2))
    params = model.init_params()
    with pytest.raises(ValueError, match=r"match no parameter.*layer_1/kernel"):
        distributed.param_specs(params, {"layer_9/kernel": P("data")})
    specs = distributed.param_specs(params, {"layer_1/kernel$": P(None, "model")})
    with pytest.raises(ValueError, match=r"param_specs\['layer_1/kernel'\].*mesh axes"):
        distributed.check_specs(params, specs, mesh)
    specs = distributed.param_specs(params, {"bias": P(None, "data")})
    with pytest.raises(ValueError, match="longer than the leaf's rank 1"):
        distributed.check_specs(params, specs, mesh)
    with pytest.raises(ValueError, match="batch_axis='model'"):
        distributed.sharded_train_step(
            model.loss_fn, model.OPTIMIZERS["lamb"](), mesh, batch_axis="model"
        )
    assert math.prod(mesh.devices.shape) == n


def test_cli_check_runs_single_process(capsys):
    from experiments.distributed.__main__ import main

    assert main(["--steps", "2", "--per-device-batch", "4"]) == 0
    out = capsys.readouterr().out
    assert "jax.distributed: False" in out and "step 2/2" in out and "norm check ok" in out
