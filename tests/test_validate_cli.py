"""``python -m experiments validate``: rows merged into one table per folder by (instance,
theorem, T), the criterion ``measure`` stands for, the failed assumptions of rows outside the
hypotheses, and ``--help`` with defaults."""

from __future__ import annotations

import json

import pandas as pd
import pytest

import theory
from experiments.__main__ import KEY, TABLE, build_parser, main, merge_rows
from experiments.validation.validate import COLUMNS, criterion

# Gaussian noise: every theorem runs, and lamb_beta2_pos is outside its hypotheses (no G).
INSTANCE = {
    "name": "cli",
    "family": "separable_cosine",
    "layer_sizes": [2, 2],
    "L": [1.0, 3.0],
    "sigma": [0.3, 0.6],
    "noise": "gaussian",
    "x1_scale": 1.5,
    "seed": 3,
    "phi": [0.5, 2.0],
    "beta2": 0.9,
}
THEOREMS = ("sgd", "lars", "lamb_beta2_zero", "lamb_beta2_pos")


def _validate(inst, out, theorem, T="2", seeds="2"):
    argv = ["validate", "--instance", str(inst), "--theorem", theorem, "--T", T,
            "--seeds", seeds, "--out", str(out)]  # fmt: skip
    assert main(argv) == 0


def _keys(df: pd.DataFrame) -> list[tuple]:
    return [tuple(k) for k in df[list(KEY)].itertuples(index=False)]


def test_four_theorems_share_a_table_and_a_rerun_replaces_only_its_rows(tmp_path, capsys):
    inst = tmp_path / "inst.json"
    inst.write_text(json.dumps(INSTANCE))
    out = tmp_path / "out"
    printed = {}
    for thm in THEOREMS:
        _validate(inst, out, thm)
        printed[thm] = capsys.readouterr().out
    table = pd.read_csv(out / TABLE)
    assert _keys(table) == [("cli", thm, 2) for thm in THEOREMS]
    assert set(COLUMNS) <= set(table.columns)

    # the printout names what ``measure`` is for the theorem
    for thm in THEOREMS:
        first = printed[thm].splitlines()[0]
        assert first == criterion(thm)
        assert theory.THEOREMS[thm].source in first
    assert "measure = E‖∇f(x_a)‖²" in printed["sgd"]
    assert "‖∇_i f(x_a)‖" in printed["lars"] and "‖∇f(x_a)‖₁/√d" in printed["lamb_beta2_zero"]

    # the out-of-hypothesis row: its failed assumptions are printed, not only NaN/None
    row = table[table["theorem"] == "lamb_beta2_pos"].iloc[0]
    assert not row["in_hypothesis"] and "noise_bounded" in row["failed_assumptions"]
    notes = [ln for ln in printed["lamb_beta2_pos"].splitlines() if "out of hypothesis" in ln]
    assert len(notes) == 1 and notes[0].startswith("T=2:")
    assert "failed assumptions: noise_bounded (bounded gradients" in notes[0]
    for thm in THEOREMS[:3]:  # rows in hypothesis print no such line
        assert table[table["theorem"] == thm]["in_hypothesis"].all()
        assert "out of hypothesis" not in printed[thm]

    # rerun LARS at T = 2 (new seeds) and 4: its T = 2 row is replaced in place, T = 4 added,
    # every other row is kept as it was
    _validate(inst, out, "lars", T="2,4", seeds="3")
    assert "wrote 2 row(s)" in capsys.readouterr().out
    again = pd.read_csv(out / TABLE)
    assert _keys(again) == [("cli", t, 2) for t in THEOREMS] + [("cli", "lars", 4)]
    lars = again[again["theorem"] == "lars"]
    assert lars["n_seeds"].tolist() == [3, 3]
    others = again["theorem"] != "lars"
    pd.testing.assert_frame_equal(
        again[others].reset_index(drop=True),
        table[table["theorem"] != "lars"].reset_index(drop=True),
    )


def _rows(instance, theorem, Ts, value):
    return pd.DataFrame(
        [{"theorem": theorem, "instance": instance, "T": T, "measure": value} for T in Ts]
    )


def test_merge_rows_keys_and_columns(tmp_path):
    path = tmp_path / TABLE
    merge_rows(path, _rows("1", "sgd", [2, 4], 1.0))  # a numeric-looking instance name
    merge_rows(path, _rows("2", "sgd", [2], 2.0))
    extra = _rows("1", "sgd", [4], 3.0).assign(new_column="x")
    table = merge_rows(path, extra)
    back = pd.read_csv(path, dtype={"instance": str})
    assert _keys(back) == [("1", "sgd", 2), ("1", "sgd", 4), ("2", "sgd", 2)]
    assert back["measure"].tolist() == [1.0, 3.0, 2.0] and len(table) == 3
    assert list(back.columns) == ["theorem", "instance", "T", "measure", "new_column"]
    # a header-only file is an empty table
    path.write_text("theorem,instance,T,measure\n")
    assert len(merge_rows(path, _rows("a", "lars", [8], 1.0))) == 1


def test_an_existing_file_that_is_not_a_validation_table_is_refused(tmp_path, capsys):
    path = tmp_path / TABLE
    path.write_text("a,b\n1,2\n")
    with pytest.raises(SystemExit) as exit_info:
        merge_rows(path, _rows("a", "sgd", [2], 1.0))
    assert exit_info.value.code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "not a validation table" in err[0] and "instance" in err[0]
    assert path.read_text() == "a,b\n1,2\n"  # untouched


def _help(*argv) -> None:
    with pytest.raises(SystemExit):
        build_parser().parse_args([*argv, "--help"])


def test_help_shows_defaults_and_text_for_every_option(capsys):
    for command in ("validate", "run", "list"):
        _help(command)
        text = capsys.readouterr().out
        assert "usage: python -m experiments " + command in text
    _help("validate")
    text = capsys.readouterr().out
    assert "(default: 16,64,256)" in text and "(default: 16)" in text
    assert "(default: None)" not in text
    for flag in ("--instance FILE", "--theorem NAME", "--T T1,T2,...", "--seeds N", "--out DIR"):
        assert flag in text
    for thm in THEOREMS:
        assert thm in text
    assert "merged" in text and "(instance, theorem, T)" in " ".join(text.split())
    _help("run")
    text = capsys.readouterr().out
    assert "(default: default)" in text and "(default: results)" in text
    # every option carries help text
    for action in build_parser()._subparsers._group_actions[0].choices["validate"]._actions:
        assert action.help, action.dest
    # the defaults themselves are unchanged
    args = build_parser().parse_args(["validate", "--instance", "x", "--theorem", "sgd",
                                      "--out", "o"])  # fmt: skip
    assert args.T == [16, 64, 256] and args.seeds == 16


def test_several_instances_in_one_call(tmp_path, capsys):
    """One row per instance and T, labelled by each instance's name, in the order given; the
    same rows as validating each instance alone."""
    files = []
    for k, scale in enumerate((0.5, 1.5, 2.5)):
        f = tmp_path / f"i{k}.json"
        f.write_text(json.dumps({**INSTANCE, "name": f"inst{k}", "x1_scale": scale}))
        files.append(str(f))
    argv = ["validate", "--instance", *files, "--theorem", "lars", "--T", "2,4", "--seeds", "2"]
    assert main([*argv, "--out", str(tmp_path / "all")]) == 0
    table = pd.read_csv(tmp_path / "all" / TABLE)
    assert _keys(table) == [(f"inst{k}", "lars", T) for k in range(3) for T in (2, 4)]
    for f in files:
        _validate(f, tmp_path / "alone", "lars", T="2,4")
    alone = pd.read_csv(tmp_path / "alone" / TABLE)
    pd.testing.assert_series_equal(table["measure"], alone["measure"], rtol=1e-12)
    capsys.readouterr()


def test_two_instances_with_one_label_are_refused(tmp_path, capsys):
    a, b = tmp_path / "a.json", tmp_path / "b.json"
    a.write_text(json.dumps(INSTANCE))
    b.write_text(json.dumps({**INSTANCE, "x1_scale": 0.5}))  # the same name "cli"
    argv = ["validate", "--instance", str(a), str(b), "--theorem", "sgd", "--out", str(tmp_path)]
    with pytest.raises(SystemExit) as exit_info:
        main(argv)
    assert exit_info.value.code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "'cli'" in err[0] and "distinct" in err[0]
