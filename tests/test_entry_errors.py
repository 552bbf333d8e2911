"""Every entry point answers a bad argument or path with ONE line on stderr, no traceback, and
exit code 2, before it computes anything (docs/reproduction.md, "Errors")."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
TIMEOUT_S = 120
PAPER = ["paper_reproduce.py"]
EXPERIMENTS = ["-m", "experiments"]
VALIDATE = [*EXPERIMENTS, "validate", "--theorem", "lars"]


@pytest.fixture
def paths(tmp_path):
    (tmp_path / "a_file.txt").write_text("not a folder\n")
    (tmp_path / "a_dir").mkdir()
    # a JSON object the instance schema rejects (a required key is missing)
    (tmp_path / "bad_instance.json").write_text(json.dumps({"family": "separable_cosine"}))
    return tmp_path


# (id, argv with {tmp} for the fixture folder, substrings the error line must contain)
CASES = [
    ("paper-out-empty", [*PAPER, "--out", ""], ["--out=''", "folder path"]),
    ("paper-out-file", [*PAPER, "--out", "{tmp}/a_file.txt"], ["not a folder"]),
    ("paper-out-package", [*PAPER, "--out", "figures"], ["project folder figures/"]),
    ("paper-out-root", [*PAPER, "--out", "."], ["repository root"]),
    ("paper-devices", [*PAPER, "--devices", "-1"], ["positive integer", "'all'"]),
    ("paper-only", [*PAPER, "--only", "nope", "--out", "{tmp}/out"], ["'nope'", "'rate'"]),
    ("paper-out-unwritable", [*PAPER, "--out", "/proc"], ["not writable"]),
    ("validate-missing", [*VALIDATE, "--instance", "{tmp}/nope.json", "--out", "{tmp}/o"], []),
    ("validate-dir", [*VALIDATE, "--instance", "{tmp}/a_dir", "--out", "{tmp}/o"], ["folder"]),
    ("validate-bad", [*VALIDATE, "--instance", "{tmp}/bad_instance.json", "--out", "{tmp}/o"], []),
    ("run-unknown", [*EXPERIMENTS, "run", "nope", "--out", "{tmp}/o"], ["'nope'", "'rate'"]),
    ("run-out-file", [*EXPERIMENTS, "run", "--out", "{tmp}/a_file.txt"], ["not a folder"]),
    ("figures-missing", ["-m", "figures", "{tmp}/nope", "{tmp}/figs"], ["TABLES_DIR"]),
    ("theory-samples", ["-m", "theory", "--samples", "0"], [">= 1"]),
    ("conformance-csv", ["-m", "lamb_ref.conformance", "--csv", "{tmp}/a_dir"], ["folder"]),
    ("distributed-steps", ["-m", "experiments.distributed", "--steps", "0"], ["--steps=0"]),
]


@pytest.mark.parametrize("argv, expected", [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_bad_argument_is_one_line_and_exit_2(paths, argv, expected):
    if "/proc" in argv and not Path("/proc/self").is_dir():
        pytest.skip("needs Linux's /proc (an unwritable folder even for root)")
    argv = [a.replace("{tmp}", str(paths)) for a in argv]
    proc = subprocess.run(
        [sys.executable, *argv], cwd=ROOT, capture_output=True, text=True, timeout=TIMEOUT_S
    )
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert proc.returncode == 2, (proc.returncode, proc.stderr)
    assert "Traceback" not in proc.stderr
    assert len(lines) == 1, proc.stderr
    assert ": error: " in lines[0]
    for text in expected:
        assert text in lines[0], (text, lines[0])
    assert not (paths / "out").exists() and not (paths / "o").exists()  # checked before writing
    assert not (paths / "figs").exists()


def test_paper_reproduce_accepts_and_prepares_a_good_out(tmp_path):
    """In process: a valid command line gives a namespace, the folder exists, no probe is left;
    --devices takes 'all' or a positive integer."""
    import paper_reproduce

    out = tmp_path / "new" / "results"
    args = paper_reproduce.parse_args(["--out", str(out), "--devices", "ALL", "--only", "rate"])
    assert args.devices == "all" and args.only == ["rate"]
    assert out.is_dir() and list(out.iterdir()) == []
    assert paper_reproduce.parse_args(["--out", str(out), "--devices", "2"]).devices == 2


def test_experiments_validate_parses_a_good_instance(tmp_path):
    from experiments.__main__ import parse_args

    instance = tmp_path / "demo.json"
    instance.write_text(
        json.dumps(
            {
                "name": "demo",
                "family": "separable_cosine",
                "layer_sizes": [4, 4],
                "L": [1.0, 2.0],
                "sigma": [0.5, 0.5],
                "noise": "rademacher",
                "x1_scale": 2.0,
                "seed": 0,
                "phi": [0.5, 2.0],
            }
        )
    )
    argv = ["validate", "--instance", str(instance), "--theorem", "lars", "--out", str(tmp_path)]
    args = parse_args(argv)
    assert [s.name for s in args.specs] == ["demo"] and args.T == [16, 64, 256]
