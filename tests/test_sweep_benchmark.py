"""``benchmarks/sweep_throughput.py --quick`` runs on one and on two (forced host) devices and
writes a JSON report whose speed-ups are the ratios of the throughputs it records."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def test_sweep_benchmark_quick_mode_writes_json(tmp_path):
    out = tmp_path / "sweep.json"
    script = ROOT / "benchmarks" / "sweep_throughput.py"
    args = ["--quick", "--devices", "2", "--repeats", "1", "--out", str(out)]
    proc = subprocess.run(
        [sys.executable, str(script), *args],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=tmp_path,  # runs from anywhere
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    report = json.loads(out.read_text())
    assert len(report["machine"]["devices"]) == 2  # the host devices were forced
    (row,) = report["rows"]
    assert set(row["jax"]) == {"1", "2"}
    for jx in row["jax"].values():
        assert jx["run_steps_per_s"] == pytest.approx(row["seeds"] * row["T"] / jx["seconds"])
        assert jx["speedup"] == pytest.approx(
            jx["run_steps_per_s"] / row["numpy"]["run_steps_per_s"]
        )
    assert "| sweep | d (layers) |" in proc.stdout
