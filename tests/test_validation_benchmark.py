"""``benchmarks/validation_throughput.py --quick --baseline none`` runs its measurements in fresh
processes and writes a JSON report whose rows add up (wall = compile + other) and
whose summary is the ratio of the recorded wall times."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def test_validation_benchmark_quick_mode_writes_json(tmp_path):
    out = tmp_path / "validation.json"
    script = ROOT / "benchmarks" / "validation_throughput.py"
    proc = subprocess.run(
        [sys.executable, str(script), "--quick", "--baseline", "none", "--out", str(out)],
        capture_output=True,
        text=True,
        timeout=600,
        cwd=tmp_path,  # runs from anywhere
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    report = json.loads(out.read_text())
    rows = report["rows"]
    assert set(rows) == {
        "1 instance, lars",
        "16 instances, lars",
        "1 instance, lamb_beta2_pos",
        "16 instances, lamb_beta2_pos",
        "validation experiments (smoke)",
    }
    for by_code in rows.values():
        (samples,) = by_code.values()
        for r in samples:
            assert r["wall_s"] == pytest.approx(r["compile"] + r["other_s"])
            assert r["compiles"] >= 1
    for thm in ("lars", "lamb_beta2_pos"):
        one = rows[f"1 instance, {thm}"]["current"][0]
        many = rows[f"16 instances, {thm}"]["current"][0]
        assert many["n"] == 16 and many["instances_per_s"] == pytest.approx(16 / many["wall_s"])
        # one program for the 16 instances: no more compilations than for one instance (+ the
        # few small helper programs a batch of instances needs)
        assert many["compiles"] <= one["compiles"] + 3
        ratio = many["wall_s"] / one["wall_s"]
        assert report["summary"][f"current, {thm}"] == (
            f"16 instances cost {ratio:.2f}x one instance"
        )
    exp = rows["validation experiments (smoke)"]["current"][0]
    assert set(exp["experiments"]) == {"heterogeneity"}
    assert "| measurement | code | wall (s) |" in proc.stdout
