"""Claims of the large-batch training suites (``lb_*``) declared as data: every lb experiment
declares its claims (ClaimSpec), tables, figure and per-profile grid before any run; its rows come
only from those declarations (``Experiment.check_claims``) for empty, fixture and hand-made tables;
sources are the paper's own locations; and negative controls flip from ``failed:`` to ``held:``
when the data leave the check unable to discriminate.

No training runs here: the fixtures are the figure fixtures cut from a default-profile run
(``tests/data/figures/lb_*.csv``) and small hand-made tables.
"""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd
import pytest

from experiments.reproduction import claims as claims_api
from experiments.reproduction.protocol import PROFILES, Context, Grid
from experiments.reproduction.registry import EXPERIMENTS
from experiments.reproduction.suites import _training
from tests.claim_helpers import control_word, judged_rows

DATA = Path(__file__).parent / "data" / "figures"
LB = tuple(name for name in EXPERIMENTS if name.startswith("lb_"))


def _rows(name: str, tables: dict[str, pd.DataFrame]) -> dict[str, claims_api.Claim]:
    rows = judged_rows(name, tables)
    assert len(rows) == len(EXPERIMENTS[name].claim_specs)
    return rows


# -- declarations ------------------------------------------------------------------------------


def test_the_twelve_lb_experiments_are_registered():
    assert len(LB) == 12


@pytest.mark.parametrize("name", LB)
def test_lb_experiments_declare_claims_tables_figure_and_grid(name):
    exp = EXPERIMENTS[name]
    assert exp.claim_specs and all(isinstance(s, claims_api.ClaimSpec) for s in exp.claim_specs)
    ids = [s.claim_id for s in exp.claim_specs]
    assert len(ids) == len(set(ids))
    assert exp.tables and exp.figure == name
    for spec in exp.claim_specs:
        assert spec.table in exp.tables, spec.claim_id
        assert spec.figure == exp.figure, spec.claim_id
        assert spec.has_control, spec.claim_id  # every lb claim has a negative control
    assert isinstance(exp.grid, Grid)
    for profile in PROFILES:  # the progress units follow from the grid's values
        assert exp.units(Context(profile)) > 0


def test_lb_claim_ids_unique_across_the_registry():
    ids = [s.claim_id for e in EXPERIMENTS.values() for s in e.claim_specs]
    lb_ids = [s.claim_id for n in LB for s in EXPERIMENTS[n].claim_specs]
    assert len(lb_ids) == len(set(lb_ids)) and not set(lb_ids) & (set(ids) - set(lb_ids))


@pytest.mark.parametrize("name", LB)
def test_sources_are_paper_locations_not_note_files(name):
    for spec in EXPERIMENTS[name].claim_specs:
        for field in ("source", "statement", "metric", "rule", "threshold_reason", "control"):
            text = getattr(spec, field)
            assert not re.search(r"\.md\b", text, re.IGNORECASE), (spec.claim_id, field, text)
            assert "PAPER" not in text and "§" not in text, (spec.claim_id, field, text)
        assert spec.source.startswith(("Table", "Section", "Appendix", "Theorem")), spec.source


# -- rows from empty and fixture tables ---------------------------------------------------------


@pytest.mark.parametrize("name", LB)
def test_no_tables_gives_one_not_applicable_row_per_declaration(name):
    rows = _rows(name, {})
    # table1_steps_halve counts "no epoch budget" as a failed check (not_reproduced), as it did
    # before the claims were declared; every other claim has nothing to judge
    judged = [r for r in rows.values() if r.claim_id != "table1_steps_halve"]
    assert {r.verdict for r in judged} == {"not_applicable"}
    # a control with nothing to judge was not shown able to fail
    assert {control_word(r) for r in judged} == {"held"}


@pytest.mark.parametrize("name", LB)
def test_fixture_tables_give_rows_that_pass_their_declarations(name):
    tables = {
        t: pd.read_csv(DATA / f"{t}.csv")
        for t in EXPERIMENTS[name].tables
        if (DATA / f"{t}.csv").is_file()
    }
    rows = _rows(name, tables)
    for row in rows.values():
        assert (
            row.rule
            == next(
                s for s in EXPERIMENTS[name].claim_specs if s.claim_id == row.claim_id
            ).rule_text()
        )
        assert control_word(row) in ("failed", "held")


def test_control_result_judges_the_variant_against_the_claims_verdict():
    cr = _training.control_result
    assert cr("reproduced", "partially", "x").startswith("failed: x: partially")
    assert cr("reproduced", "reproduced", "x").startswith("held:")
    assert cr("partially", "partially", "x").startswith("held:")
    assert cr("partially", "not_reproduced", "x").startswith("failed:")
    assert cr("not_reproduced", "not_reproduced", "x").startswith("failed:")
    assert cr("not_reproduced", "reproduced", "x").startswith("held:")
    assert cr("reproduced", "not_applicable", "x").startswith("held: x: nothing to judge")


# -- controls flipping from failed to held when the data cannot discriminate --------------------


def _rule(curves: dict, steps=(100, 50, 25)) -> pd.DataFrame:
    """lb_batch_scaling_rule: (optimizer, anchor) -> [(mean, std)] over B = 32, 64, 128."""
    rows = []
    for (opt, anchor), pts in curves.items():
        for (mean, std), b, t in zip(pts, (32, 64, 128), steps, strict=True):
            rows.append({"optimizer": opt, "anchor": anchor, "anchor_batch": 32,
                         "base_lr": 0.01, "batch_size": b, "total_steps": t, "epochs": 10.0,
                         "mean": mean, "std": std, "n": 3, "anchor_near_ties": 1,
                         "grid_size": 4})  # fmt: skip
    return pd.DataFrame(rows)


FLAT = [(0.97, 0.005), (0.965, 0.005), (0.96, 0.005)]
DROP = [(0.97, 0.005), (0.90, 0.005), (0.80, 0.005)]


def test_flatness_control_holds_when_no_curve_in_the_table_degrades():
    # AdamW degrades: LAMB's curve ending at AdamW's worst (0.80) is rejected
    mixed = {("lamb", "smallest"): FLAT, ("lamb", "largest"): FLAT,
             ("adamw", "smallest"): DROP, ("adamw", "largest"): DROP}  # fmt: skip
    got = _rows("lb_batch_scaling", {"lb_batch_scaling_rule": _rule(mixed)})
    assert got["table1_lamb_flat"].verdict == "reproduced"
    assert control_word(got["table1_lamb_flat"]) == "failed"
    assert control_word(got["table1_adamw_degrades"]) == "failed"  # swapped: LAMB drops less
    # every curve flat: the worst value of the table is within the tolerance, so the flatness
    # rule cannot be shown to reject anything on these data
    flat = dict.fromkeys(mixed, FLAT)
    got = _rows("lb_batch_scaling", {"lb_batch_scaling_rule": _rule(flat)})
    assert got["table1_lamb_flat"].verdict == "not_applicable"  # withheld: the check cannot fail
    assert control_word(got["table1_lamb_flat"]) == "held"


def test_halving_control_holds_when_the_steps_are_below_the_rounding_tolerance():
    curves = {("lamb", "smallest"): FLAT, ("lamb", "largest"): FLAT}
    got = _rows("lb_batch_scaling", {"lb_batch_scaling_rule": _rule(curves)})
    assert got["table1_steps_halve"].verdict == "reproduced"
    assert control_word(got["table1_steps_halve"]) == "failed"  # reversed: 25 -> 50 -> 100
    # one step at every batch: |T(B) − 2T(2B)| = 1 ≤ 1 whether the steps halve or not
    got = _rows("lb_batch_scaling", {"lb_batch_scaling_rule": _rule(curves, steps=(1, 1, 1))})
    assert got["table1_steps_halve"].verdict == "not_applicable"
    assert control_word(got["table1_steps_halve"]) == "held"


def _grid(acc: dict[str, float]) -> pd.DataFrame:
    """lb_optimizer_table: each optimizer's best-η accuracy ``acc`` (a worse η beside it)."""
    rows = []
    for opt, a in acc.items():
        for lr, delta in ((0.01, -0.05), (0.1, 0.0)):
            rows.append({"optimizer": opt, "peak_lr": lr, "batch_size": 512,
                         "dataset_fraction": 512 / 1437, "epochs": 30.0, "in_paper_grid": True,
                         "n_seeds": 5, "n_diverged": 0, "acc_mean": a + delta,
                         "acc_std": 0.005, "loss_mean": 0.1, "loss_std": 0.01,
                         "best": lr == 0.1, "best_in_paper_grid": lr == 0.1})  # fmt: skip
    return pd.DataFrame(rows)


def test_competitiveness_control_holds_when_every_optimizer_is_within_the_margin():
    spread = {"momentum": 0.97, "adagrad": 0.93, "adam": 0.965, "adamw": 0.968, "lamb": 0.969}
    got = _rows("lb_optimizer_table", {"lb_optimizer_table": _grid(spread)})
    assert got["lb_table7_lamb_competitive"].verdict == "reproduced"
    assert control_word(got["lb_table7_lamb_competitive"]) == "failed"  # AdaGrad 4 points behind
    close = spread | {"adagrad": 0.962}  # all five within one point: anyone is "competitive"
    got = _rows("lb_optimizer_table", {"lb_optimizer_table": _grid(close)})
    assert got["lb_table7_lamb_competitive"].verdict == "not_applicable"
    assert control_word(got["lb_table7_lamb_competitive"]) == "held"


def _bounds(alpha_ratio: float) -> pd.DataFrame:
    """lb_smoothness_bounds with r_L = 3.9 and the φ = identity crossover 2·alpha_ratio²."""
    rows = []
    for phi, a in (("constant", 1.0), ("identity_range", alpha_ratio)):
        crossover, ratio = 2 * a**2, 0.5 * a**2  # the bounds pay (α_u/α_l)²
        for seed in (0, 1, 2):
            for thm in ("sgd", "lars", "lamb_beta2_zero"):
                rows.append({"net": "digits/mlp", "seed": seed, "phi": phi, "theorem": thm,
                             "h": 4, "r_L": 3.9, "L_inf": 15.6, "L_avg": 4.0,
                             "ratio_to_sgd": 1.0 if thm == "sgd" else ratio,
                             "r_L_crossover": 1.5,
                             "r_L_crossover_noiseless": crossover})  # fmt: skip
    return pd.DataFrame(rows)


def test_smoothness_controls_hold_when_the_weight_norms_are_equal():
    wide = _rows("lb_smoothness", {"lb_smoothness_bounds": _bounds(30.0)})
    for cid in ("lb_smoothness_heterogeneity", "lb_smoothness_bounds_favour_layerwise"):
        assert wide[cid].verdict == "reproduced" and control_word(wide[cid]) == "failed", cid
    # α_u = α_l: φ = identity's rows equal the constant ones, so the control cannot differ
    equal = _rows("lb_smoothness", {"lb_smoothness_bounds": _bounds(1.0)})
    for cid in ("lb_smoothness_heterogeneity", "lb_smoothness_bounds_favour_layerwise"):
        assert equal[cid].verdict == "not_applicable" and control_word(equal[cid]) == "held", cid


def _trust(first: dict[int, float]) -> pd.DataFrame:
    """lb_trust_ratios: two adapted layers, seeds 0-2; layer a's ratio at the first log is
    ``first[seed]``, then 5× that at the last (drift ×5, spread ≥ 20 throughout)."""
    rows = []
    for seed in (0, 1, 2):
        for step, mult in ((0, 1.0), (10, 2.0), (20, 5.0)):
            for layer, r in (("a/kernel", first[seed] * mult), ("b/kernel", 1.0)):
                rows.append({"net": "digits/mlp", "optimizer": "lamb", "seed": seed,
                             "step": step, "layer": layer, "adapted": "True",
                             "trust_ratio": r})  # fmt: skip
    return pd.DataFrame(rows)


def test_drift_control_holds_when_seeds_differ_as_much_as_training_changes():
    same = _rows("lb_trust_ratios", {"lb_trust_ratios": _trust({0: 0.01, 1: 0.011, 2: 0.012})})
    assert same["lb_trust_ratio_drift"].verdict == "reproduced"
    assert control_word(same["lb_trust_ratio_drift"]) == "failed"
    assert control_word(same["lb_trust_ratio_spread"]) == "failed"
    # seeds start 3× apart: a change of that size is what seed noise alone gives here
    apart = _rows("lb_trust_ratios", {"lb_trust_ratios": _trust({0: 0.01, 1: 0.03, 2: 0.01})})
    assert apart["lb_trust_ratio_drift"].verdict == "not_applicable"
    assert control_word(apart["lb_trust_ratio_drift"]) == "held"


def _ll_best(lamb: float, lars: float, std: float) -> pd.DataFrame:
    return pd.DataFrame(
        [{"optimizer": o, "batch_size": 512, "best_multiplier": 1.0, "mean": m, "std": std,
          "n": 3} for o, m in (("lamb", lamb), ("lars", lars))]
    )  # fmt: skip


def test_swap_control_holds_when_the_two_are_within_error_bars():
    apart = _rows("lb_lars_vs_lamb", {"lb_lars_vs_lamb_best": _ll_best(5.9, 6.2, 0.02)})
    assert apart["table2_lamb_beats_lars"].verdict == "reproduced"
    assert control_word(apart["table2_lamb_beats_lars"]) == "failed"
    close = _rows("lb_lars_vs_lamb", {"lb_lars_vs_lamb_best": _ll_best(5.9, 5.95, 0.05)})
    assert close["table2_lamb_beats_lars"].verdict == "not_applicable"  # partially, withheld
    assert control_word(close["table2_lamb_beats_lars"]) == "held"
