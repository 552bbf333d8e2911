"""Appendix E suite: the bias-correction factor table against its closed form, the equal-area
warmup against an independent sum, and the claims' verdicts against the table's own numbers."""

from __future__ import annotations

import io

import numpy as np
import pandas as pd
import pytest

from experiments.reproduction.claims import VERDICTS, to_frame
from experiments.reproduction.protocol import Context
from experiments.reproduction.suites import bias_correction
from tests.tolerances import IDENTITY_REL


def _closed_form(t, b1, b2):
    # written independently of bias_correction.factor (which uses expm1): the formula as printed
    return np.sqrt(1.0 - b2 ** np.asarray(t, float)) / (1.0 - b1 ** np.asarray(t, float))


def _roundtrip(df: pd.DataFrame) -> pd.DataFrame:
    buf = io.StringIO()
    df.to_csv(buf, index=False)
    return pd.read_csv(io.StringIO(buf.getvalue()))


@pytest.fixture(scope="module")
def tables():
    calls = []
    ctx = Context("default", progress=calls.append)
    out = bias_correction.run(ctx)
    assert len(calls) == bias_correction.units(ctx) == len(bias_correction.PAIRS)
    return {name: _roundtrip(df) for name, df in out.items()}


def _pair(df, b1, b2):
    return df[(df["beta1"] == b1) & (df["beta2"] == b2)].sort_values("t")


def test_factor_matches_the_closed_form():
    t = np.array([1, 2, 3, 10, 12, 100, 1000, 5000])
    for b1, b2 in bias_correction.PAIRS:
        np.testing.assert_allclose(
            bias_correction.factor(t, b1, b2), _closed_form(t, b1, b2), rtol=IDENTITY_REL
        )
    # the values docs/paper.md derives for Appendix E, to the digits it gives
    assert bias_correction.factor(1, 0.9, 0.999) == pytest.approx(
        np.sqrt(0.001) / 0.1, rel=IDENTITY_REL
    )
    assert float(bias_correction.factor(1, 0.9, 0.999)) == pytest.approx(0.316, abs=5e-4)


def test_table_values_against_the_closed_form(tables):
    df = tables["bias_correction"]
    assert set(map(tuple, df[["beta1", "beta2"]].drop_duplicates().to_numpy())) == set(
        bias_correction.PAIRS
    )
    for b1, b2 in bias_correction.PAIRS:
        g = _pair(df, b1, b2)
        t = g["t"].to_numpy()
        np.testing.assert_allclose(g["factor"], _closed_form(t, b1, b2), rtol=IDENTITY_REL)
        assert t[0] == 1 and np.all(np.diff(t) > 0)
        assert {1, 2, 3, 10, 100, 1000, 5000} <= set(t)
        t_max = int(g["t_max"].iloc[0])
        assert t[-1] == t_max
        # equal area: both schedules withhold the same total learning rate over 1..t_max
        every = np.arange(1, t_max + 1)
        w = 2 * np.sum(1 - _closed_form(every, b1, b2))
        assert g["warmup_steps"].iloc[0] == pytest.approx(w, rel=1e-9)
        np.testing.assert_allclose(g["warmup"], np.minimum(1.0, t / w), rtol=IDENTITY_REL)
        assert g["one_over_1m_beta2"].iloc[0] == pytest.approx(1 / (1 - b2))
    assert _pair(df, *bias_correction.PAPER_BETAS)["paper_betas"].all()


def test_warmup_claim_on_default_sizes_is_partially(tables):
    warm, quoted = bias_correction.claims(tables)
    assert warm.claim_id == "appE_bias_correction_warmup" and warm.figure == "bias_correction"
    g = _pair(tables["bias_correction"], *bias_correction.PAPER_BETAS)
    c, t = g["factor"].to_numpy(), g["t"].to_numpy()
    # the verdict read independently off the table: below 1, reaches 0.99, but dips first
    assert c.max() <= 1 and c[0] < 1 and c[-1] >= 0.99
    assert np.any(np.diff(c) < 0)
    i = int(np.argmin(c))
    assert t[i] == 12 and c[i] == pytest.approx(0.1522, abs=1e-4)
    assert warm.verdict == "partially"
    assert "falls to 0.152 at t = 12" in warm.evidence
    t90 = t[i + np.nonzero(c[i:] >= 0.9)[0][0]]
    assert f"≥ 0.9 by t = {t90}" in warm.evidence
    assert 1650 <= t90 <= 1680  # exact crossing is t = 1660; the grid is 0.5 % apart there
    assert quoted.verdict == "reproduced"
    to_frame([warm, quoted])  # valid ids and verdicts
    bias_correction.EXPERIMENT.check_claims([warm, quoted])  # rows of the declared specs
    # the controls: the factor read backwards is no warmup, and the quoted values set against
    # the wrong checkpoints fall outside the tolerance
    assert warm.control.startswith("failed:") and "not_applicable" in warm.control
    assert quoted.control.startswith("failed:")


def _with_paper_rows(df: pd.DataFrame, rows: pd.DataFrame) -> pd.DataFrame:
    other = df[~((df["beta1"] == 0.9) & (df["beta2"] == 0.999))]
    return pd.concat([other, rows.assign(beta1=0.9, beta2=0.999)], ignore_index=True)


def test_verdicts_follow_the_numbers(tables):
    df = tables["bias_correction"]
    # a monotone ramp (β1 = 0's rows, relabelled) is a warmup: reproduced
    monotone = _with_paper_rows(df, _pair(df, 0.0, 0.999))
    assert bias_correction.claims({"bias_correction": monotone})[0].verdict == "reproduced"
    # a factor above 1 somewhere amplifies the step: not reproduced
    above = _pair(df, 0.9, 0.999).copy()
    above.loc[above.index[-1], "factor"] = 1.2
    assert bias_correction.claims({"bias_correction": _with_paper_rows(df, above)})[0].verdict == (
        "not_reproduced"
    )
    # a horizon too short to see c(t) reach 0.99 cannot judge the ramp
    short = df[df["t"] <= 1000]
    warm, quoted = bias_correction.claims({"bias_correction": short})
    assert warm.verdict == "not_applicable"
    assert quoted.verdict == "reproduced"  # t = 1, 10, 100, 1000 are present and within
    # a quoted value off by more than the tolerance
    off = _pair(df, 0.9, 0.999).copy()
    off.loc[off["t"] == 10, "factor"] = 0.2
    assert (
        bias_correction.claims({"bias_correction": _with_paper_rows(df, off)})[1].verdict
        == "partially"
    )
    # no table at all
    for claim in bias_correction.claims({}):
        assert claim.verdict == "not_applicable" and claim.verdict in VERDICTS


def test_experiment_entry():
    exp = bias_correction.EXPERIMENT
    assert exp.name == "bias_correction" and exp.claims is bias_correction.claims
    assert exp.claim_specs == bias_correction.SPECS and exp.grid is bias_correction.GRID
    assert exp.tables == ("bias_correction",) and exp.figure == "bias_correction"
    smoke = bias_correction.run(Context("smoke"))["bias_correction"]
    assert len(smoke) < 1500  # closed form on a grid: a small table
    assert {c.verdict for c in bias_correction.claims({"bias_correction": _roundtrip(smoke)})} == {
        "partially",
        "reproduced",
    }
