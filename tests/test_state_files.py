"""State files heal: an unreadable cache unit or manifest is moved aside with a warning and
treated as absent, a killed run's temporary files are removed at the next start, and concurrent
runs into one folder keep each other's manifest entries."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

from experiments.cache import Cache, CorruptFileWarning, atomic_write_text, clean_temp_files
from experiments.reproduction import sweep
from experiments.reproduction.protocol import Experiment

ROOT = Path(__file__).resolve().parents[1]


def _aside(folder: Path, name: str) -> list[Path]:
    return sorted(folder.glob(f"{name}.corrupt-*"))


@pytest.mark.parametrize("text", ['{"key": ["k"], "value": {"a": 1', "", "\xff\xfe", "[1, 2]"])
def test_corrupt_cache_unit_is_moved_aside_and_recomputed(tmp_path: Path, text: str):
    cache = Cache(tmp_path)
    cache.store(["k"], {"a": 1})
    path = cache.path(["k"])
    path.write_text(text, encoding="latin-1")
    with pytest.warns(CorruptFileWarning, match=path.name):
        value = cache.get_or_compute(["k"], lambda: {"a": 2})
    assert value == {"a": 2} and cache.misses == 1
    assert len(_aside(tmp_path, path.name)) == 1
    assert Cache(tmp_path).lookup(["k"]) == {"a": 2}  # healed: stored again


def test_corrupt_manifest_is_moved_aside_and_read_as_empty(tmp_path: Path):
    (tmp_path / "manifest.json").write_text('{"rate": {"profile": "smo')
    with pytest.warns(CorruptFileWarning, match="manifest.json"):
        assert sweep.read_manifest(tmp_path) == {}
    assert len(_aside(tmp_path, "manifest.json")) == 1
    assert not (tmp_path / "manifest.json").exists()
    sweep.update_manifest(tmp_path, "rate", {"profile": "smoke"})
    assert sweep.read_manifest(tmp_path) == {"rate": {"profile": "smoke"}}
    # valid JSON of the wrong shape is unreadable too
    (tmp_path / "manifest.json").write_text('["rate"]')
    with pytest.warns(CorruptFileWarning):
        manifest = sweep.update_manifest(tmp_path, "other", {"profile": "smoke"})
    assert manifest == {"other": {"profile": "smoke"}}
    assert len(_aside(tmp_path, "manifest.json")) == 2


def _experiment(calls: list) -> Experiment:
    def run(ctx):
        value = ctx.cache.get_or_compute(["unit"], lambda: calls.append(1) or 3.0)
        ctx.progress("unit")
        return {"fake_state": pd.DataFrame({"x": [value]})}

    return Experiment("fake_state", "a fake experiment with one cached unit", run, lambda c: 1)


def _old(path: Path, text: str = "partial") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    past = time.time() - 3600
    os.utime(path, (past, past))
    return path


def test_sweep_heals_manifest_and_units_and_removes_leftover_temp_files(tmp_path, monkeypatch):
    calls: list = []
    monkeypatch.setitem(sweep.EXPERIMENTS, "fake_state", _experiment(calls))
    sweep.run(["fake_state"], "smoke", tmp_path, show_progress=False)
    (unit,) = (tmp_path / "cache").glob("*.json")
    unit.write_text(unit.read_text()[:10])  # half written
    (tmp_path / "manifest.json").write_text("{")
    leftovers = [
        _old(tmp_path / ".manifest.json.abcd1234.tmp"),
        _old(tmp_path / "cache" / f".{unit.name}.x_9y8z7w.tmp"),
        _old(tmp_path / "tables" / ".fake_table.csv.qwertyui.tmp"),
    ]
    kept = [
        _old(tmp_path / "notes.tmp"),  # not our pattern
        _old(tmp_path / ".manifest.json.short.tmp"),  # not mkstemp's 8 characters
        _old(tmp_path / "cache" / "training" / "xla" / ".entry.abcd1234.tmp"),  # JAX's folder
    ]
    young = tmp_path / ".claims.csv.abcd1234.tmp"  # a live writer's file
    young.write_text("partial")
    with pytest.warns(CorruptFileWarning) as record:
        done = sweep.run(["fake_state"], "smoke", tmp_path, show_progress=False)
    named = " ".join(str(w.message) for w in record)
    assert "manifest.json" in named and unit.name in named
    assert not done["fake_state"]["cached"] and len(calls) == 2
    assert not any(p.exists() for p in leftovers)
    assert all(p.exists() for p in kept) and young.exists()
    assert _aside(tmp_path, "manifest.json") and _aside(unit.parent, unit.name)
    assert sweep.read_manifest(tmp_path)["fake_state"]["tables"] == ["fake_state.csv"]


def test_atomic_write_leaves_no_temp_file_and_cleaner_matches_its_names(tmp_path: Path):
    atomic_write_text(tmp_path / "a.json", "{}")
    assert [p.name for p in tmp_path.iterdir()] == ["a.json"]
    import tempfile

    fd, name = tempfile.mkstemp(dir=tmp_path, prefix=".a.json.", suffix=".tmp")
    os.close(fd)
    assert clean_temp_files(tmp_path) == []  # too young
    assert clean_temp_files(tmp_path, older_than=-1) == [Path(name)]
    assert [p.name for p in tmp_path.iterdir()] == ["a.json"]


def test_render_all_removes_leftover_figure_temp_files(tmp_path: Path):
    import figures

    out = tmp_path / "figures"
    stale = _old(out / ".rate.png.k2j4h6g8.tmp")
    young = out / ".rate.pdf.k2j4h6g8.tmp"
    young.write_text("partial")
    other = _old(out / "rate.png")
    result = figures.render_all(tmp_path / "tables", out, ["rate"])
    assert "skipped" in result["rate"]
    assert not stale.exists() and young.exists() and other.exists()


WRITER = """
import sys, time
from pathlib import Path
from experiments.reproduction import sweep

out, tag, n, go = Path(sys.argv[1]), sys.argv[2], int(sys.argv[3]), Path(sys.argv[4])
(out / f"ready-{tag}").touch()
while not go.exists():
    time.sleep(0.005)
for i in range(n):
    sweep.update_manifest(out, f"{tag}-{i}", {"profile": "smoke", "tables": [], "i": i})
"""


def test_concurrent_manifest_updates_lose_no_entry(tmp_path: Path):
    n, tags = 200, ("a", "b", "c")
    script = tmp_path / "writer.py"
    script.write_text(WRITER)
    go = tmp_path / "go"
    env = {**os.environ, "PYTHONPATH": str(ROOT), "JAX_PLATFORMS": "cpu"}
    procs = [
        subprocess.Popen(
            [sys.executable, str(script), str(tmp_path), tag, str(n), str(go)],
            env=env,
            stderr=subprocess.PIPE,
            text=True,
        )
        for tag in tags
    ]
    deadline = time.time() + 60
    while not all((tmp_path / f"ready-{t}").exists() for t in tags):
        assert time.time() < deadline and all(p.poll() is None for p in procs)
        time.sleep(0.01)
    go.touch()  # every writer starts at once
    for p in procs:
        _, err = p.communicate(timeout=60)
        assert p.returncode == 0, err[-2000:]
    manifest = json.loads((tmp_path / "manifest.json").read_text())
    assert set(manifest) == {f"{t}-{i}" for t in tags for i in range(n)}
    assert not list(tmp_path.glob(".*.tmp")) and not list(tmp_path.glob("*.corrupt-*"))
