"""The training loop on an 8-device CPU mesh (its runs axis split) gives the single-device runs.

Runs in a subprocess (the device count is fixed when JAX starts): 8 digits-MLP LAMB runs (two
learning rates x four seeds, one vmapped group) trained without a mesh and with the group split
one run per device. Every run's arithmetic is the same, only its device differs.
"""

from __future__ import annotations

import json

from tests.distributed_scripts import launch
from tests.tolerances import SHARDED_F32_ABS

SCRIPT_TIMEOUT_S = 180


def test_training_runs_split_over_eight_devices_match_one_device(tmp_path):
    out = tmp_path / "train.json"
    launch.run_all(
        [(["-m", "tests.distributed_scripts.train_check", str(out)], launch.child_env(8))],
        timeout=SCRIPT_TIMEOUT_S,
    )
    r = json.loads(out.read_text())
    assert r["devices"] == 8
    assert r["final_loss_spread"] > 1e-3, r  # the runs differ, so a mix-up would show
    assert r["param_max_abs_diff"] <= SHARDED_F32_ABS, r
    assert r["eval_loss_max_abs_diff"] <= SHARDED_F32_ABS, r
    assert "group size=3" in r["group_error"] and "multiple" in r["group_error"], r
