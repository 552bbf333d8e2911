"""Fuzzing the command-line checks in process: any argument list either parses into a valid
namespace or exits with code 2 and ONE line on stderr; no other exception escapes, nothing is
written outside the test's folder, and no write-probe file is left behind."""

from __future__ import annotations

import argparse
import io
import json
from contextlib import redirect_stderr, redirect_stdout
from pathlib import Path

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

import paper_reproduce
import theory
from experiments.__main__ import parse_args as experiments_parse_args
from experiments.reproduction import registry
from figures.__main__ import parse_args as figures_parse_args

ROOT = Path(__file__).resolve().parents[1]
SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
DEMO = {
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


@pytest.fixture(scope="module")
def box(tmp_path_factory) -> Path:
    """A folder with a file, a folder, a valid and an invalid instance and a binary file."""
    base = tmp_path_factory.mktemp("fuzz_cli")
    (base / "a_file.txt").write_text("text\n")
    (base / "a_dir").mkdir()
    (base / "tables").mkdir()
    (base / "tables" / "rate_slopes.csv").write_text("a,b\n1,2\n")
    (base / "good.json").write_text(json.dumps(DEMO))
    (base / "bad.json").write_text(json.dumps({**DEMO, "L": [-1.0, 2.0]}))
    (base / "list.json").write_text("[1, 2]")
    (base / "binary.json").write_bytes(b"\xff\xfe\x00garbage")
    (base / "deep.json").write_text("[" * 100_000 + "]" * 100_000)
    return base


# Garbage tokens: anything, except "/" (so a garbage token taken as a path stays a single
# relative name that is only read, never written: --out values below are absolute) and the
# prefixes of --help and --out/--only (argparse accepts abbreviations).
garbage = st.one_of(
    st.text(max_size=12),
    st.integers(-(10**6), 10**6).map(str),
    st.floats(allow_nan=True).map(str),
    st.sampled_from(["", " ", "-", "--", "-1", "0", "all", "nan", "1e3", "\n", "\x00"]),
).filter(lambda s: "/" not in s and not s.startswith(("-h", "--h", "--o")))


def special_paths(box: Path) -> list[str]:
    """Files and folders an --out or --instance might name (all absolute but "", " " and ".")."""
    return [
        "",
        " ",
        ".",
        str(box / "a_file.txt"),
        str(box / "a_dir"),
        str(box / "good.json"),
        str(box / "bad.json"),
        str(box / "list.json"),
        str(box / "binary.json"),
        str(box / "deep.json"),
        str(box / "missing.json"),
        str(ROOT),
        str(ROOT / "figures"),
        str(ROOT / "lamb_ref" / "sub"),
        str(ROOT / "tests"),
        "/dev/null/x",
        "/proc",
        str(box / "a_file.txt" / "below"),
        str(box / "nul\x00byte"),
        str(box / ("long" * 100)),
    ]


def paths(box: Path) -> st.SearchStrategy[str]:
    component = st.text(min_size=1, max_size=10).filter(lambda s: "/" not in s)
    return st.one_of(
        st.sampled_from(special_paths(box)), component.map(lambda c: str(box / "new" / c))
    )


def _outcome(parse, argv: list[str], record: bool = True):
    """The namespace ``parse(argv)`` returns, or None after asserting a clean exit 2."""
    err, out = io.StringIO(), io.StringIO()
    try:
        with redirect_stderr(err), redirect_stdout(out):
            ns = parse(argv)
    except SystemExit as exc:
        lines = [line for line in err.getvalue().splitlines() if line.strip()]
        assert exc.code == 2, (argv, exc.code, err.getvalue())
        assert len(lines) == 1 and ": error: " in lines[0], (argv, err.getvalue())
        if record:
            event("exit 2")
        return None
    assert isinstance(ns, argparse.Namespace), argv
    assert err.getvalue() == "", (argv, err.getvalue())
    if record:
        event("valid")
    return ns


def _check_out(value: str) -> None:
    out = Path(value).resolve()
    assert out.is_dir() and out != ROOT and ROOT / "figures" not in [out, *out.parents]
    assert not list(out.glob(".write-probe-*")), value


def _flag_tokens(draw, options: dict[str, st.SearchStrategy], n_max: int) -> list[str]:
    """Up to ``n_max`` items, each a known flag with a drawn value, a bare flag or garbage."""
    tokens: list[str] = []
    names = sorted(options)
    for _ in range(draw(st.integers(0, n_max))):
        kind = draw(st.sampled_from(["flag", "flag", "flag", "bare", "garbage"]))
        if kind == "garbage":
            tokens.append(draw(garbage))
            continue
        flag = draw(st.sampled_from(names))
        tokens.append(flag)
        if kind == "flag" and options[flag] is not None:
            tokens += draw(options[flag])
    return tokens


def _one(strategy):
    return strategy.map(lambda v: [v])


@given(data=st.data())
@SETTINGS
def test_paper_reproduce_args(box, data):
    names = list(registry.EXPERIMENTS)
    options = {
        "--profile": _one(st.one_of(st.sampled_from(["smoke", "default", "full"]), garbage)),
        "--only": st.lists(st.one_of(st.sampled_from(names), garbage), min_size=0, max_size=3),
        "--list": None,
        "--force": None,
        "--out": _one(paths(box)),
        "--devices": _one(
            st.one_of(
                st.integers(-3, 2000).map(str),
                st.sampled_from(["all", "ALL", " 2", "+2", "2.0", "0x2", "１"]),
                garbage,
            )
        ),
    }
    # a default --out inside the box first, so the repository's results/ is never created
    argv = ["--out", str(box / "default_out"), *_flag_tokens(data.draw, options, 6)]
    ns = _outcome(paper_reproduce.parse_args, argv)
    if ns is not None:
        assert ns.devices == "all" or (isinstance(ns.devices, int) and ns.devices >= 1)
        assert set(ns.only or []) <= set(names)
        if not ns.list:
            _check_out(ns.out)


@given(data=st.data())
@SETTINGS
def test_experiments_args(box, data):
    validate = {
        "--instance": _one(paths(box)),
        "--theorem": _one(st.one_of(st.sampled_from(sorted(theory.THEOREMS)), garbage)),
        "--T": _one(st.one_of(st.sampled_from(["16,64", "0", "1,,2", ",", "-4", "1e2"]), garbage)),
        "--seeds": _one(st.one_of(st.integers(-2, 3).map(str), garbage)),
        "--out": _one(paths(box)),
    }
    run = {
        "--profile": _one(st.one_of(st.sampled_from(registry.PROFILES), garbage)),
        "--out": _one(paths(box)),
    }
    command = data.draw(st.sampled_from(["validate", "run", "list", "garbage"]), label="command")
    if command == "validate":
        argv = ["validate", "--out", str(box / "default_out")]
        if data.draw(st.booleans(), label="good instance first"):
            argv += ["--instance", str(box / "good.json"), "--theorem", "lars"]
        argv += _flag_tokens(data.draw, validate, 5)
    elif command == "run":
        argv = ["run", "--out", str(box / "default_out")]
        known = st.sampled_from(list(registry.EXPERIMENTS))
        argv += data.draw(st.lists(st.one_of(known, garbage), max_size=3), label="names")
        argv += _flag_tokens(data.draw, run, 3)
    elif command == "list":
        argv = ["list", *data.draw(st.lists(garbage, max_size=1), label="extra")]
    else:
        argv = data.draw(st.lists(garbage, max_size=3), label="argv")
    ns = _outcome(experiments_parse_args, argv)
    if ns is None or ns.command == "list":
        return
    _check_out(ns.out)
    if ns.command == "validate":
        assert ns.seeds >= 1 and ns.T and min(ns.T) >= 1 and ns.theorem in theory.THEOREMS
        assert ns.specs
    else:
        assert set(ns.names) <= set(registry.EXPERIMENTS)


@given(data=st.data())
@SETTINGS
def test_figures_args(box, data):
    tables = data.draw(st.one_of(st.just(str(box / "tables")), paths(box)), label="tables")
    figs = data.draw(paths(box), label="figures")
    known = st.sampled_from(["rate", "lemmas"])
    names = data.draw(st.lists(st.one_of(known, garbage), max_size=2), label="names")
    ns = _outcome(figures_parse_args, [tables, figs, *names])
    if ns is not None:
        assert Path(ns.tables_dir).is_dir()
        _check_out(ns.figures_dir)


@pytest.mark.parametrize("k", range(len(special_paths(Path("/")))))
def test_every_special_path_everywhere(box, k):
    """Each special path, deterministically, as every path argument (the fuzz above draws it
    only now and then)."""
    path = special_paths(box)[k]
    demo = ["--instance", str(box / "good.json"), "--theorem", "lars"]
    out = str(box / "o")
    cases = [
        (paper_reproduce.parse_args, ["--out", path]),
        (experiments_parse_args, ["run", "rate", "--out", path]),
        (experiments_parse_args, ["validate", *demo, "--out", path]),
        (
            experiments_parse_args,
            ["validate", "--instance", path, "--theorem", "lars", "--out", out],
        ),
        (figures_parse_args, [path, str(box / "figs")]),
        (figures_parse_args, [str(box / "tables"), path]),
    ]
    for parse, argv in cases:
        _outcome(parse, argv, record=False)
