"""Cache keys hold the code that computes a unit and the device count; ``--force`` recomputes.

The end-to-end test works on a copy of the package tree in a temporary folder, so it can edit
sources: a change to a module a validation unit depends on (the runner) makes it recompute, a
change to one it does not (the training loop) leaves it cached.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import types
from pathlib import Path

import pandas as pd
import pytest

from experiments import cache as cache_mod
from experiments.cache import Cache, engine_fingerprint, key_hash, unit_key
from experiments.reproduction import sweep
from experiments.reproduction.protocol import Experiment

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("lamb_ref", "theory", "experiments", "figures")

# Runs one tiny validation per line of argv[2:] ("<devices> <force>") against one cache folder
# and prints, per run, the cache's hits and misses, the number of unit files and the engines'
# fingerprints. Two host devices exist in every process; devices=1 passes mesh=None.
PROBE = """
import json, sys
from experiments.distributed import force_host_devices
force_host_devices(2)
from experiments.cache import Cache, engine_fingerprint
from experiments.distributed import make_mesh
from experiments.validation.spec import InstanceSpec, build
from experiments.validation.validate import validate

spec = InstanceSpec(family="separable_cosine", layer_sizes=(3,), L=(2.0,), sigma=(0.3,),
                    noise="gaussian", x1_scale=1.0, seed=1, name="tiny")
built = build(spec)
folder = sys.argv[1]
for run in sys.argv[2:]:
    devices, force = (int(v) for v in run.split(","))
    mesh = None if devices == 1 else make_mesh(devices)
    cache = Cache(folder, refresh=bool(force))
    rows = validate(built, "sgd", [2, 3], 2, cache=cache, mesh=mesh)
    from pathlib import Path
    print(json.dumps({
        "hits": cache.hits, "misses": cache.misses,
        "files": len(list(Path(folder).glob("*.json"))),
        "validation": engine_fingerprint("validation"),
        "training": engine_fingerprint("training"),
        "measure": [float(v) for v in rows["measure"]],
    }))
"""


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    for pkg in PACKAGES:
        shutil.copytree(ROOT / pkg, tmp_path / pkg, ignore=ignore)
    (tmp_path / "probe.py").write_text(PROBE)
    return tmp_path


def _probe(tree: Path, *runs: str) -> list[dict]:
    proc = subprocess.run(
        [sys.executable, "probe.py", str(tree / "cache"), *runs],
        cwd=tree,
        env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(tree), "JAX_PLATFORMS": "cpu"},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    return [json.loads(line) for line in proc.stdout.splitlines() if line.startswith("{")]


def _touch(path: Path) -> None:
    with open(path, "a") as fh:
        fh.write("\n# an edit\n")


def test_units_are_keyed_by_their_code_and_device_count(tree: Path):
    first, again = _probe(tree, "1,0", "1,0")
    assert (first["misses"], first["files"]) == (2, 2)
    assert (again["hits"], again["misses"], again["files"]) == (2, 0, 2)
    assert again["measure"] == first["measure"]

    # a module validation units do not depend on: still cached
    _touch(tree / "experiments" / "training" / "loop.py")
    (other,) = _probe(tree, "1,0")
    assert other["training"] != first["training"]
    assert other["validation"] == first["validation"]
    assert (other["hits"], other["misses"], other["files"]) == (2, 0, 2)

    # a module they do depend on: recomputed, under new keys
    _touch(tree / "experiments" / "validation" / "runner.py")
    unit = sorted((tree / "cache").glob("*.json"))
    changed, cached, two, forced, after = _probe(tree, "1,0", "1,0", "2,0", "1,1", "1,0")
    assert changed["validation"] != first["validation"]
    assert changed["training"] == other["training"]
    assert (changed["hits"], changed["misses"], changed["files"]) == (0, 2, 4)
    assert (cached["hits"], cached["misses"]) == (2, 0)
    assert changed["measure"] == first["measure"]  # a comment changes no number
    # another device count: other keys
    assert (two["hits"], two["misses"], two["files"]) == (0, 2, 6)
    # force: everything recomputed (and stored again: the next plain run hits)
    assert (forced["hits"], forced["misses"], forced["files"]) == (0, 2, 6)
    assert (after["hits"], after["misses"]) == (2, 0)
    assert all(p.exists() for p in unit)  # old units stay; they are simply not looked up


def test_unit_key_device_count_and_engine():
    key = ["validate", "x", 1]
    one = key_hash(unit_key("validation", key, None))
    assert one == key_hash(unit_key("validation", key, None))
    # a mesh of one device is the same unit as no mesh; two devices are another
    import jax

    from experiments.distributed import make_mesh

    assert key_hash(unit_key("validation", key, make_mesh(1))) == one
    fake = types.SimpleNamespace(size=2, devices=[jax.devices()[0]] * 2)
    assert cache_mod.device_count(fake) == 2
    assert key_hash(unit_key("validation", key, fake)) != one
    assert key_hash(unit_key("training", key, None)) != one
    full = unit_key("validation", key, None)
    assert full["code"] == engine_fingerprint("validation") and full["devices"] == 1


def test_training_run_keys_hold_training_code_and_devices():
    from experiments.reproduction.suites import _training
    from experiments.training import TrainConfig

    config = TrainConfig(task="digits", batch_size=64)
    one = _training._key(config, "tag")
    assert one["code"] == engine_fingerprint("training") and one["devices"] == 1
    assert one == _training._key(config, "tag", None)
    fake = types.SimpleNamespace(size=4, devices=[object()] * 4)
    assert key_hash(_training._key(config, "tag", fake)) != key_hash(one)
    assert not hasattr(_training, "TRAINING_CACHE_VERSION")


def test_plain_keys_get_default_engine_and_cache_device_count(tmp_path: Path):
    one, two = Cache(tmp_path), Cache(tmp_path, devices=2)
    assert one.path(["k"]) != two.path(["k"])
    one.store(["k"], {"v": 1})
    stored = json.loads(one.path(["k"]).read_text())["key"]
    assert stored["code"] == engine_fingerprint("default") and stored["key"] == ["k"]
    assert two.lookup(["k"]) is None and one.lookup(["k"]) == {"v": 1}


def test_refresh_cache_recomputes_but_stores(tmp_path: Path):
    Cache(tmp_path).store(["k"], 1)
    fresh = Cache(tmp_path, refresh=True)
    calls = []
    assert fresh.get_or_compute(["k"], lambda: calls.append(1) or 2) == 2 and calls == [1]
    assert fresh.lookup(["k"]) == 2  # what this run stored is reused within the run
    assert Cache(tmp_path).lookup(["k"]) == 2


def _counting_experiment(calls: list) -> Experiment:
    def run(ctx):
        value = ctx.cache.get_or_compute(["unit", 1], lambda: calls.append(1) or 7.0)
        ctx.progress("unit")
        return {"fake_table": pd.DataFrame({"x": [value]})}

    return Experiment("fake_cached", "a fake experiment with one cached unit", run, lambda c: 1)


def test_sweep_force_recomputes_cached_units(tmp_path: Path, monkeypatch):
    calls: list = []
    monkeypatch.setitem(sweep.EXPERIMENTS, "fake_cached", _counting_experiment(calls))
    sweep.run(["fake_cached"], "smoke", tmp_path, show_progress=False)
    assert len(calls) == 1
    done = sweep.run(["fake_cached"], "smoke", tmp_path, show_progress=False)
    assert done["fake_cached"]["cached"] and len(calls) == 1
    # the manifest entry is gone: the unit is still cached
    (tmp_path / "manifest.json").unlink()
    sweep.run(["fake_cached"], "smoke", tmp_path, show_progress=False)
    assert len(calls) == 1
    # force: the unit itself is recomputed
    done = sweep.run(["fake_cached"], "smoke", tmp_path, show_progress=False, force=True)
    assert not done["fake_cached"]["cached"] and len(calls) == 2
    assert sweep.read_manifest(tmp_path)["fake_cached"]["devices"] == 1
    # another device count is not the same finished experiment
    fake = types.SimpleNamespace(size=2, devices=[object()] * 2)
    done = sweep.run(["fake_cached"], "smoke", tmp_path, show_progress=False, mesh=fake)
    assert not done["fake_cached"]["cached"] and len(calls) == 3
