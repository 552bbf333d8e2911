"""lb_steps_to_target against the workload's gradient noise scale (McCandlish et al. 2018): the
closed-form fit of S(B) = S_min (1 + B_crit/B), the claim ``lb_critical_batch_vs_noise`` on
hand-made tables (and its negative control), the profile's batch range, and the figure's
noise-scale band and fitted curves."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import numpy as np
import pandas as pd
import pytest

from experiments.reproduction.protocol import Context
from experiments.reproduction.suites import lb_steps_to_target as stt
from figures import lb_steps_to_target as fig_stt
from tests.claim_helpers import roundtrip

BATCHES = (16, 64, 256, 1024, 4096)


def _roundtrip(df: pd.DataFrame) -> pd.DataFrame:
    return roundtrip({"t": df})["t"]


def _best(b_crit: dict[str, float], b_noise: float, s_min: float = 50.0) -> pd.DataFrame:
    """An S*(B) table with exact S = S_min (1 + B_crit/B) per optimizer and b_noise columns."""
    rows = []
    for opt, bc in b_crit.items():
        for b in BATCHES:
            s = s_min * (1 + bc / b)
            rows.append(
                {
                    "optimizer": opt, "batch_size": b, "target_loss": 0.7, "grid_size": 8,
                    "n_seeds": 3, "eval_every": 1, "total_steps": 10_000, "best_lr": 0.01,
                    "steps_mean": s, "steps_min": s, "steps_max": s, "lr_at_grid_edge": False,
                    "b_noise": b_noise, "b_noise_lo": b_noise / 2, "b_noise_hi": b_noise * 2,
                    "b_over_noise": b / b_noise,
                }
            )  # fmt: skip
    return _roundtrip(pd.DataFrame(rows))


def _claim(best: pd.DataFrame):
    (c,) = [c for c in stt.claims({"lb_steps_to_target_best": best}) if c.claim_id
            == "lb_critical_batch_vs_noise"]  # fmt: skip
    return c


@pytest.mark.parametrize("b_crit", [3.0, 100.0, 700.0, 20_000.0])
def test_fit_recovers_bcrit_on_exact_data(b_crit):
    b = np.array(BATCHES, float)
    s_min, bc = stt.fit_bcrit(b, 40.0 * (1 + b_crit / b))
    assert s_min == pytest.approx(40.0, rel=1e-9) and bc == pytest.approx(b_crit, rel=1e-9)
    # perfect scaling throughout (no floor): B_crit infinite; no speed-up with B: zero
    assert stt.fit_bcrit(b, 1e5 / b)[1] > 1e6 or np.isinf(stt.fit_bcrit(b, 1e5 / b)[1])
    assert stt.fit_bcrit(b, 50.0 + 0 * b)[1] == pytest.approx(0.0, abs=1e-9)
    assert np.isnan(stt.fit_bcrit([16.0], [10.0])[1])
    # NaN points are dropped
    s = 40.0 * (1 + b_crit / b)
    s[-1] = np.nan
    assert stt.fit_bcrit(b, s)[1] == pytest.approx(b_crit, rel=1e-9)


def test_bcrit_claim_on_exact_data_and_control():
    best = _best({"lamb": 300.0, "adam": 150.0, "sgd": 600.0}, b_noise=300.0)
    c = _claim(best)
    assert c.verdict == "reproduced" and c.control.startswith("failed:")
    stt.EXPERIMENT.check_claims(stt.claims({"lb_steps_to_target_best": best}))
    assert "leave-one-batch-out" in c.evidence and "perfect-scaling" in c.evidence
    # one optimizer 40x below: partially (the control, b_noise x 100, catches neither)
    part = _claim(_best({"lamb": 300.0, "adam": 7.5}, b_noise=300.0))
    assert part.verdict == "partially" and part.control.startswith("failed:")
    # one 40x above sits in the control's window too: the control earns "partially" as well,
    # so it holds and the verdict is withheld
    held = _claim(_best({"lamb": 300.0, "adam": 12_000.0}, b_noise=300.0))
    assert held.verdict == "not_applicable" and held.control.startswith("held:")
    # all far off: not reproduced
    far = _claim(_best({"lamb": 20.0, "adam": 25.0}, b_noise=3000.0))
    assert far.verdict == "not_reproduced"
    # b_noise read from the noise table when the S*(B) table lacks it
    bare = best.drop(columns=[*stt.NOISE_COLUMNS, "b_over_noise"])
    noise = pd.DataFrame([{"workload": "teacher", "b_noise": 300.0, "b_noise_lo": 200.0,
                           "b_noise_hi": 400.0}])  # fmt: skip
    (c,) = [c for c in stt.claims({"lb_steps_to_target_best": bare,
                                   "lb_steps_to_target_noise": noise})
            if c.claim_id == "lb_critical_batch_vs_noise"]  # fmt: skip
    assert c.verdict == "reproduced"
    # no b_noise anywhere, or too few points: not applicable
    assert _claim(bare).verdict == "not_applicable"
    few = best[best["batch_size"] <= 64]
    assert _claim(few).verdict == "not_applicable"


def test_bcrit_window_edges():
    assert stt.within(30.0, 300.0) and stt.within(3000.0, 300.0)
    assert not stt.within(29.0, 300.0) and not stt.within(3001.0, 300.0)
    assert not stt.within(np.inf, 300.0) and not stt.within(0.0, 300.0)


def test_regime_segments_relative_to_noise():
    best = _best({"lamb": 1e6}, b_noise=100.0)  # S ≈ 5e7/B: perfect scaling throughout
    seg = stt.regime_segments(best, 100.0)["lamb"]
    assert len(seg["perfect"]) == 4 and not seg["diminishing"]
    assert seg["perfect"][0] == pytest.approx((0.16, 0.64))
    flat = stt.regime_segments(_best({"lamb": 1.0}, b_noise=100.0), 100.0)["lamb"]
    assert len(flat["diminishing"]) == 4 and not flat["perfect"]


@pytest.mark.parametrize("profile", ["smoke", "default", "full"])
def test_batch_range(profile):
    ctx = Context(profile)
    s = stt.setup(ctx)
    r = stt.batch_range(ctx)
    assert r == {
        "workload": "teacher",
        "b_min": min(s.batches),
        "b_max": max(s.batches),
        "steps_at_b_max": s.steps(max(s.batches)),
        "seeds": s.seeds,
    }
    if profile == "default":
        assert r["seeds"] >= 3 and (r["b_min"], r["b_max"], r["steps_at_b_max"]) == (16, 4096, 300)
    if profile == "smoke":
        assert (r["b_min"], r["b_max"], r["steps_at_b_max"]) == (32, 256, 20)
    assert stt.units(ctx) == len(stt.configs(ctx)[0]) + s.noise_seeds and s.noise_seeds >= 2


def test_same_teacher_as_the_workload():
    """The noise scale is measured on the task these runs train on."""
    w = stt._workloads.workload(stt.WORKLOAD)
    cfgs, _ = stt.configs(Context("smoke"))
    for c in cfgs[:3]:
        assert (c.task, c.model or "mlp", c.size, c.data) == (w.task, w.model, w.size, w.data)


def test_figure_marks_noise_and_fits():
    best = _best({"lamb": 300.0, "adam": 150.0}, b_noise=300.0)
    fig = fig_stt.make(best)
    left = fig.axes[0]
    labels = [t.get_text() for t in fig.legends[0].get_texts()]
    assert any("b_noise" in lab for lab in labels)
    assert any("S_min(1 + B_crit/B)" in lab for lab in labels)
    assert len(left.patches) + len(left.collections) >= 1  # the shaded interval
    fig.clear()
    # without the noise columns (older tables) it still draws
    fig_stt.make(best.drop(columns=[*stt.NOISE_COLUMNS, "b_over_noise"])).clear()


def test_figure_fit_matches_the_suite():
    b = np.array(BATCHES, float)
    for s in (40.0 * (1 + 300 / b), np.array([900.0, 260.0, 90.0, 70.0, 66.0])):
        assert fig_stt.fit_bcrit(b, s) == pytest.approx(stt.fit_bcrit(b, s), rel=1e-9)
