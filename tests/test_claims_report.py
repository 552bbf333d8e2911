"""claims.csv, the verdict functions, the experiment manifest (skip / resume) and the report."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from experiments.reproduction import claims as claims_api
from experiments.reproduction import registry, report, sweep
from experiments.reproduction.suites import _comparison_claims, _validation_claims


def _validation(rows):
    base = {
        "experiment": "rate",
        "optimizer": "x",
        "instance": "i",
        "T": 8,
        "n_seeds": 4,
        "ratio": 0.5,
        "violation_significant": False,
    }
    return pd.DataFrame([{**base, **r} for r in rows])


RULE, CONTROL = "reproduced if x ≤ 1", "failed: x ≤ 0.5 is rejected"


def test_claim_rejects_unknown_verdict_and_empty_fields():
    with pytest.raises(ValueError, match="verdict='maybe'"):
        claims_api.Claim("a", "s", "t", "maybe", "e", "", RULE, CONTROL)
    with pytest.raises(ValueError, match="evidence"):
        claims_api.Claim("a", "s", "t", "reproduced", " ", "", RULE, CONTROL)
    with pytest.raises(ValueError, match="rule"):
        claims_api.Claim("a", "s", "t", "reproduced", "e", "", " ", CONTROL)
    with pytest.raises(ValueError, match="control"):
        claims_api.Claim("a", "s", "t", "reproduced", "e", "", RULE, "")
    # a control outcome starts with failed:, held: or none:
    with pytest.raises(ValueError, match="must start with"):
        claims_api.Claim("a", "s", "t", "reproduced", "e", "", RULE, "ok: it failed")


def test_to_frame_has_design_columns_and_rejects_duplicate_ids():
    c = claims_api.Claim("a", "s", "t", "reproduced", "e", "fig", RULE, CONTROL)
    df = claims_api.to_frame([c])
    assert tuple(df.columns) == claims_api.COLUMNS
    assert claims_api.COLUMNS[-2:] == ("rule", "control")
    assert df.loc[0, "rule"] == RULE and df.loc[0, "control"] == CONTROL
    claims_api.validate_frame(df)
    with pytest.raises(ValueError, match="duplicate"):
        claims_api.to_frame([c, c])
    with pytest.raises(ValueError, match="columns"):
        claims_api.validate_frame(df.drop(columns=["rule"]))


@pytest.mark.parametrize(
    ("n_ok", "n", "verdict"),
    [(3, 3, "reproduced"), (1, 3, "partially"), (0, 3, "not_reproduced"), (0, 0, "not_applicable")],
)
def test_verdict_from_fraction(n_ok, n, verdict):
    assert claims_api.verdict_from_fraction(n_ok, n) == verdict


def test_rows_outside_the_hypotheses_never_make_a_claim_reproduced():
    # every LARS row holds, but none is inside the hypotheses: no evidence, not "reproduced"
    rows = _validation([{"theorem": "lars", "in_hypothesis": False, "holds": True}] * 3)
    lars = {
        c.claim_id: c
        for c in _validation_claims.bound_holds({"theorem_validation": rows}, "rate", "rate")
    }
    assert lars["rate_lars_bound_holds"].verdict == "not_applicable"


def test_bound_claims_follow_the_rows():
    rows = _validation(
        [
            {"theorem": "sgd", "in_hypothesis": True, "holds": True},
            # tight within 2x: the halved-bound control fails, as a usable check must
            {"theorem": "sgd", "in_hypothesis": True, "holds": True, "ratio": 0.8},
            {"theorem": "lars", "in_hypothesis": True, "holds": True, "ratio": 0.8},
            {
                "theorem": "lars",
                "in_hypothesis": True,
                "holds": False,
                "violation_significant": True,
                "ratio": 1.2,
            },
            # a violation outside the hypotheses does not count against the claim
            {"theorem": "sgd", "in_hypothesis": False, "holds": False},
        ]
    )
    got = {
        c.claim_id: c.verdict
        for c in _validation_claims.bound_holds({"theorem_validation": rows}, "r", "f")
    }
    assert got["r_sgd_bound_holds"] == "reproduced"
    assert got["r_lars_bound_holds"] == "partially"
    assert got["r_lamb_beta2_pos_bound_holds"] == "not_applicable"
    # every row within half the bound: the check cannot fail, so the verdict is withheld
    loose = rows.assign(ratio=0.3, ratio_sharp=0.4)
    got = {
        c.claim_id: c
        for c in _validation_claims.bound_holds({"theorem_validation": loose}, "r", "f")
    }
    assert got["r_sgd_bound_holds"].verdict == "not_applicable"
    assert got["r_sgd_bound_holds"].control.startswith("held:")
    assert "verdict withheld (reproduced by the rule)" in got["r_sgd_bound_holds"].evidence
    # the control halves the sharp bound: a paper-form ratio of 0.5 with sharp 1 fails it
    sharp = rows.assign(ratio=0.5, ratio_sharp=1.0)
    got = {
        c.claim_id: c
        for c in _validation_claims.bound_holds({"theorem_validation": sharp}, "r", "f")
    }
    assert got["r_sgd_bound_holds"].verdict == "reproduced"
    assert got["r_sgd_bound_holds"].control.startswith("failed:")


def test_heterogeneity_claims_read_the_crossover_of_each_bound_form():
    """The paper-form ratio crosses 1 between r_L = 2 and 3, the sharp form before r_L = 2; the
    measured ratio stays flat (no trend), and so does the uniform-curvature control."""
    rows = [
        {
            "family": "separable_cosine",
            "r_L": r,
            "control": control,
            "h": 4,
            "T": 64,
            "method": "lars",
            "measured_ratio": 20.0,
            "bound_ratio_paper": 2.0 / r + 0.1,
            "bound_ratio_sharp": 1.1 / r,
            "bound_ratio_paper_linf": 2.0,
            "bound_ratio_sharp_linf": 1.05,
            "in_hypothesis": True,
        }
        for control in (False, True)
        for r in (1.0, 2.0, 3.0, 4.0)
    ]
    got = {
        c.claim_id: c
        for c in _comparison_claims.heterogeneity_claims({"heterogeneity": pd.DataFrame(rows)})
    }
    cross = got["heterogeneity_bound_crossover"]
    assert cross.verdict == "reproduced" and cross.control.startswith("failed:")
    # paper: 2/r + 0.1 = 1 at r = 2.22 (interpolated in log ratio between 2 and 3)
    assert "paper: ratio 2.1 at r_L = 1 → 0.6 at 4, crosses 1 at r_L 2.2" in cross.evidence
    assert "sharp: ratio 1.1 at r_L = 1 → 0.275 at 4, crosses 1 at r_L 1.1" in cross.evidence
    trend = got["heterogeneity_measured_trend"]
    assert trend.verdict == "not_reproduced" and "slope 0.00" in trend.evidence


FAKE_SPEC = claims_api.ClaimSpec(
    claim_id="fake_claim",
    source="toolkit (test)",
    statement="three rows",
    table="fake_table",
    metric="number of rows",
    rule="reproduced if the table has 3 rows",
    threshold_reason="the fake run writes 3",
    control="none: a test experiment",
)


def _fake_experiment(calls):
    def run(ctx):
        calls.append(ctx.profile)
        ctx.progress("fake unit")
        return {"fake_table": pd.DataFrame({"x": [1, 2, 3]})}

    def claims(tables):
        n = len(tables["fake_table"])
        return [FAKE_SPEC.judge(claims_api.verdict_from_fraction(n, 3), f"{n} rows")]

    return registry.Experiment(
        "fake",
        "a test experiment",
        run,
        lambda ctx: 1,
        claims,
        claim_specs=(FAKE_SPEC,),
        tables=("fake_table",),
    )


def test_manifest_skips_finished_experiments_and_reruns_on_profile_change(tmp_path, monkeypatch):
    calls = []
    monkeypatch.setitem(registry.EXPERIMENTS, "fake", _fake_experiment(calls))
    monkeypatch.setattr(sweep, "EXPERIMENTS", registry.EXPERIMENTS)
    first = sweep.run(["fake"], "smoke", tmp_path, show_progress=False)
    assert not first["fake"]["cached"] and calls == ["smoke"]
    again = sweep.run(["fake"], "smoke", tmp_path, show_progress=False)
    assert again["fake"]["cached"] and calls == ["smoke"]
    (tmp_path / "tables" / "fake_table.csv").unlink()  # a lost table means: run again
    sweep.run(["fake"], "smoke", tmp_path, show_progress=False)
    sweep.run(["fake"], "default", tmp_path, show_progress=False)
    assert calls == ["smoke", "smoke", "default"]
    manifest = json.loads((tmp_path / "manifest.json").read_text())
    assert manifest["fake"]["profile"] == "default"
    assert manifest["fake"]["tables"] == ["fake_table.csv"]
    claims = sweep.collect_claims(tmp_path)
    claims_api.validate_frame(claims)
    row = claims.set_index("claim_id").loc["fake_claim"]
    assert row["verdict"] == "reproduced"
    assert row["rule"] == FAKE_SPEC.rule_text() and row["control"] == "none: a test experiment"


def test_code_fingerprint_is_stable():
    assert sweep.code_fingerprint() == sweep.code_fingerprint()


def test_report_lists_every_claim_and_embeds_figures(tmp_path):
    claims = claims_api.to_frame(
        [
            claims_api.Claim(
                "c1", "Theorem 2", "bound | holds", "reproduced", "3/3 rows", "rate",
                "ratio ≤ 1 | on every row", "failed: 1/3 rows satisfy the halved bound",
            ),
            claims_api.Claim(
                "c2", "Section 3", "advantage", "not_reproduced", "0/8 rows", "",
                "wins on every row", "held: the swapped comparison passes too",
            ),
            claims_api.Claim(
                "c3", "toolkit (golden data)", "agrees", "reproduced", "2/2 cases", "",
                "every case agrees", "none: external recordings",
            ),
        ]
    )  # fmt: skip
    (tmp_path / "figures").mkdir()
    (tmp_path / "figures" / "rate.png").write_bytes(b"\x89PNG fake")
    figs = {
        "rate": {"files": ["rate.png"], "title": "Rate", "caption": "measured vs bound"},
        "other": {"skipped": "missing table other"},
    }
    manifest = {
        "rate": {"profile": "smoke", "seconds": 1.0, "finished": "now", "tables": ["a.csv"]}
    }
    report.write(tmp_path, claims, figs, manifest, "python paper_reproduce.py", tmp_path)
    md = (tmp_path / "REPORT.md").read_text()
    assert "`c1`" in md and "`c2`" in md and "bound \\| holds" in md
    assert "![rate](figures/rate.png)" in md and "missing table other" in md
    assert "python paper_reproduce.py" in md and "| jax |" in md and "| git |" in md
    # the rule and the control of every claim, with the control's outcome in the table
    assert "| claim | source | statement | verdict | evidence | control | figure |" in md
    assert "failed (as required)" in md and "held: cannot discriminate" in md
    assert "  - Rule: ratio ≤ 1 | on every row" in md
    assert "  - Control (held): the swapped comparison passes too" in md
    assert "  - Control (none): external recordings" in md
    assert "Negative controls: 1 failed as required, 1 held" in md
    html = (tmp_path / "report.html").read_text()
    assert "data:image/png;base64," in html and "not_reproduced" in html
    assert "<b>Rule:</b> wins on every row" in html
    assert "<b>Control (failed):</b> 1/3 rows satisfy the halved bound" in html
    assert "<th>control</th>" in html
