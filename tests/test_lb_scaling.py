"""The large-batch scaling suites (the "scaling" group): lb_batch_scaling, lb_lars_vs_lamb,
lb_adamw_tuning and lb_mixed_batch.

* The smoke profile of all four runs once (one shared result cache, as ``paper_reproduce.py``
  uses it) and gives well-formed tables and claims; the AdamW-tuning suite reuses the LARS-vs-
  LAMB suite's LAMB runs from the cache (identical configs under that suite's tag), and neither
  of the two masked-LM suites imports the batch-scaling suite.
* Each ``claims`` gives the right verdict on small hand-made tables, reproducing and not
  (booleans as the strings CSV gives back), every row from its declaration (rule and negative
  control; :mod:`tests.test_lb_claim_specs` for the controls' flips).
* Each figure renders under Agg from a fixture cut from the default profile's tables
  (``tests/data/figures/lb_*.csv``) and shows the series it promises.
"""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import numpy as np
import pandas as pd
import pytest

from experiments.cache import Cache
from experiments.reproduction.claims import VERDICTS, Claim
from experiments.reproduction.protocol import Context
from experiments.reproduction.registry import EXPERIMENTS
from experiments.reproduction.suites import (
    _lb_scaling,
    _workloads,
    lb_adamw_tuning,
    lb_batch_scaling,
    lb_lars_vs_lamb,
    lb_mixed_batch,
)
from figures import lb_adamw_tuning as fig_adamw
from figures import lb_batch_scaling as fig_bs
from figures import lb_lars_vs_lamb as fig_ll
from figures import lb_mixed_batch as fig_mb
from figures import style

DATA = Path(__file__).parent / "data" / "figures"
# run order matters: lb_adamw_tuning takes its LAMB reference runs from lb_lars_vs_lamb's cache
SUITES = (lb_batch_scaling, lb_lars_vs_lamb, lb_adamw_tuning, lb_mixed_batch)
FIGURES = {
    "lb_batch_scaling": fig_bs,
    "lb_adamw_tuning": fig_adamw,
    "lb_mixed_batch": fig_mb,
    "lb_lars_vs_lamb": fig_ll,
}
TABLES = {
    "lb_batch_scaling": {"lb_batch_scaling", "lb_batch_scaling_rule"},
    "lb_adamw_tuning": {"lb_adamw_tuning", "lb_adamw_tuning_grid"},
    "lb_mixed_batch": {"lb_mixed_batch", "lb_mixed_batch_runs"},
    "lb_lars_vs_lamb": {"lb_lars_vs_lamb", "lb_lars_vs_lamb_best"},
}


@pytest.fixture(scope="module")
def smoke(tmp_path_factory):
    """name -> (tables as read back from CSV, claims, progress messages, units)."""
    root = tmp_path_factory.mktemp("lb_scaling")
    cache = Cache(root / "cache")
    out = {}
    for mod in SUITES:
        messages: list[str] = []
        ctx = Context("smoke", cache, progress=messages.append)
        tables = mod.EXPERIMENT.run(ctx)
        back = {}
        for name, df in tables.items():
            df.to_csv(root / f"{name}.csv", index=False)
            back[name] = pd.read_csv(root / f"{name}.csv")
        out[mod.EXPERIMENT.name] = (back, mod.EXPERIMENT.claims(back), messages,
                                    mod.EXPERIMENT.units(ctx))  # fmt: skip
    return out


@pytest.mark.parametrize("name", list(TABLES))
def test_smoke_tables_and_claims_are_well_formed(smoke, name):
    tables, claims, messages, units = smoke[name]
    assert set(tables) == TABLES[name]
    assert all(len(df) for df in tables.values())
    assert len(messages) == units  # one progress call per config
    assert claims and all(isinstance(c, Claim) for c in claims)
    assert len({c.claim_id for c in claims}) == len(claims)
    exp = EXPERIMENTS[name]
    assert set(exp.tables) == TABLES[name]
    exp.check_claims(claims)  # one row per declaration, with the declared rule
    for c in claims:
        assert c.verdict in VERDICTS
        assert c.evidence.strip() and "table lb_" in c.evidence
        assert c.figure == FIGURES[name].NAME == name
        assert c.source.strip() and c.statement.strip()
        assert c.control.startswith(("failed: ", "held: "))


def test_smoke_runs_are_consistent(smoke):
    runs = smoke["lb_batch_scaling"][0]["lb_batch_scaling"]
    # √ rule: η(B) = η_ref √(B/B_ref), and the warmup is the same number of steps at every B
    np.testing.assert_allclose(
        runs["peak_lr"], runs["base_lr"] * np.sqrt(runs["batch_size"] / runs["ref_batch"])
    )
    assert runs.groupby(["optimizer", "base_lr"])["warmup_steps"].nunique().max() == 1
    # the AdamW-tuning suite took its LAMB runs from lb_lars_vs_lamb's cache
    msgs = smoke["lb_adamw_tuning"][2]
    lamb_msgs = [m for m in msgs if "LAMB reference" in m]
    assert lamb_msgs and all(m.endswith("(cached)") for m in lamb_msgs)
    ll = smoke["lb_lars_vs_lamb"][0]["lb_lars_vs_lamb"]
    w = _workloads.workload("mlm")
    assert set(ll["workload"]) == {"mlm"} and ll["n_train"].nunique() == 1
    # η = c · η_ref √(B/B_ref) (η_ref, B_ref: the workload's reference run), the same warmup
    # steps at every batch, the same multipliers for both optimizers
    want = (
        ll["lr_multiplier"]
        * w.reference.learning_rate
        * np.sqrt(ll["batch_size"] / w.reference.batch_size)
    )
    np.testing.assert_allclose(ll["peak_lr"], want, rtol=1e-12)
    assert ll["warmup_steps"].nunique() == 1
    mults = ll.groupby("optimizer")["lr_multiplier"].apply(lambda v: tuple(sorted(set(v))))
    assert mults.nunique() == 1
    grid = smoke["lb_adamw_tuning"][0]["lb_adamw_tuning_grid"]
    assert {"tuned_grid", "untuned_rule", "tuned_at_batch", "lamb_anchor_grid"} <= set(grid["role"])
    assert set(grid["workload"]) == {"mlm"}
    mixed = smoke["lb_mixed_batch"][0]["lb_mixed_batch_runs"]
    assert set(_lb_scaling.as_bool(mixed["rewarmup"])) == {True, False}
    assert (mixed["spike_ratio"] > 0).all()


def test_check_doubling_names_the_parameter():
    _lb_scaling.check_doubling("batches", (32, 64, 128))
    with pytest.raises(ValueError, match=r"batches=\(32, 96\)"):
        _lb_scaling.check_doubling("batches", (32, 96))


def test_seed_stats_keeps_divergence_visible():
    df = pd.DataFrame({"k": [1, 1, 2, 2], "v": [1.0, 3.0, 1.0, np.nan]})
    st = _lb_scaling.seed_stats(df, ["k"], "v").set_index("k")
    assert st.loc[1, "mean"] == 2.0 and st.loc[1, "std"] == pytest.approx(np.sqrt(2))
    assert np.isnan(st.loc[2, "mean"]) and st.loc[2, "n_diverged"] == 1
    assert _lb_scaling.separated(1.0, 0.1, 2.0, 0.1) and not _lb_scaling.separated(
        1.0, 0.6, 2.0, 0.6
    )
    assert not _lb_scaling.separated(1.0, np.nan, 2.0, 0.1)  # no error bar: never separated


# -- claims on hand-made tables ------------------------------------------------------------


def _rule(curves: dict) -> pd.DataFrame:
    """(optimizer, anchor) -> list of (mean, std) over B = 32, 64, 128."""
    rows = []
    for (opt, anchor), pts in curves.items():
        for (mean, std), b, steps in zip(pts, (32, 64, 128), (100, 50, 25), strict=True):
            rows.append({"optimizer": opt, "anchor": anchor, "anchor_batch": 32,
                         "base_lr": 0.01, "batch_size": b, "total_steps": steps,
                         "epochs": 10.0, "mean": mean, "std": std, "n": 3,
                         "anchor_near_ties": 1, "grid_size": 4})  # fmt: skip
    return pd.DataFrame(rows)


FLAT = [(0.97, 0.005), (0.965, 0.005), (0.96, 0.005)]
DROP = [(0.97, 0.005), (0.90, 0.005), (0.80, 0.005)]


def _verdicts(claims) -> dict[str, str]:
    return {c.claim_id: c.verdict for c in claims}


def _controls(claims) -> dict[str, str]:
    """claim id -> the control's outcome word (failed / held)."""
    return {c.claim_id: c.control.split(":", 1)[0] for c in claims}


def test_batch_scaling_claims_reproduced():
    rule = _rule({("lamb", "smallest"): FLAT, ("lamb", "largest"): FLAT,
                  ("adamw", "smallest"): DROP, ("adamw", "largest"): FLAT})  # fmt: skip
    claims = lb_batch_scaling.claims({"lb_batch_scaling_rule": rule})
    lb_batch_scaling.EXPERIMENT.check_claims(claims)
    assert _verdicts(claims) == {"table1_lamb_flat": "reproduced",
                                 "table1_adamw_degrades": "reproduced",
                                 "table1_steps_halve": "reproduced"}  # fmt: skip
    assert set(_controls(claims).values()) == {"failed"}


def test_batch_scaling_claims_not_reproduced():
    rule = _rule({("lamb", "smallest"): DROP, ("lamb", "largest"): DROP,
                  ("adamw", "smallest"): FLAT, ("adamw", "largest"): FLAT})  # fmt: skip
    rule.loc[rule["batch_size"] == 128, "total_steps"] = 40  # 50 -> 40 is no halving
    v = _verdicts(lb_batch_scaling.claims({"lb_batch_scaling_rule": rule}))
    assert v == {"table1_lamb_flat": "not_reproduced", "table1_adamw_degrades": "not_reproduced",
                 "table1_steps_halve": "partially"}  # fmt: skip
    # flat at one anchor only; AdamW drops more but within error bars
    rule = _rule({("lamb", "smallest"): FLAT, ("lamb", "largest"): DROP,
                  ("adamw", "smallest"): [(0.97, 0.05), (0.95, 0.05), (0.92, 0.05)]})  # fmt: skip
    v = _verdicts(lb_batch_scaling.claims({"lb_batch_scaling_rule": rule}))
    assert v["table1_lamb_flat"] == "partially" and v["table1_adamw_degrades"] == "partially"
    assert _verdicts(lb_batch_scaling.claims({}))["table1_lamb_flat"] == "not_applicable"


def _ll_tables(lamb_loss: float, lars_loss: float, std: float, diverged: dict) -> dict:
    best = pd.DataFrame(
        [{"optimizer": o, "batch_size": 512, "best_multiplier": 1.0, "mean": m, "std": std,
          "n": 2, "grid_diverged": 0} for o, m in (("lamb", lamb_loss), ("lars", lars_loss))]
    )  # fmt: skip
    runs = pd.DataFrame(
        [{"optimizer": o, "batch_size": b, "lr_multiplier": c, "seed": 0,
          "final_eval_loss": np.nan if (o, b, c) in diverged else 6.0,
          "diverged": str((o, b, c) in diverged), "diverged_step": diverged.get((o, b, c), -1)}
         for o in ("lars", "lamb") for b in (32, 512) for c in (1.0, 3.0)]
    )  # fmt: skip
    return {"lb_lars_vs_lamb_best": best, "lb_lars_vs_lamb": runs}


def test_lars_vs_lamb_claims():
    t = _ll_tables(5.9, 6.2, 0.02, {("lars", 32, 3.0): 7, ("lars", 512, 3.0): 5})
    claims = lb_lars_vs_lamb.claims(t)
    lb_lars_vs_lamb.EXPERIMENT.check_claims(claims)
    assert _verdicts(claims) == {"table2_lamb_beats_lars": "reproduced",
                                 "table2_lars_diverges_first": "reproduced"}  # fmt: skip
    assert set(_controls(claims).values()) == {"failed"}  # swapped, neither holds
    t = _ll_tables(6.2, 5.9, 0.02, {("lamb", 32, 3.0): 7, ("lars", 512, 3.0): 5})
    v = _verdicts(lb_lars_vs_lamb.claims(t))
    assert v == {"table2_lamb_beats_lars": "not_reproduced",
                 "table2_lars_diverges_first": "not_reproduced"}  # fmt: skip
    t = _ll_tables(5.9, 5.95, 0.05, {("lamb", 32, 3.0): 9, ("lars", 32, 3.0): 7})
    claims = lb_lars_vs_lamb.claims(t)
    # the rules give partially, but the controls hold (below): both verdicts are withheld
    assert _verdicts(claims) == {"table2_lamb_beats_lars": "not_applicable",
                                 "table2_lars_diverges_first": "not_applicable"}  # fmt: skip
    assert "LARS earlier at 1 of 1" in claims[1].evidence
    # equal within error bars / equal onsets: swapping the optimizers changes nothing
    assert set(_controls(claims).values()) == {"held"}
    none = _verdicts(lb_lars_vs_lamb.claims(_ll_tables(5.9, 6.2, 0.02, {})))
    assert none["table2_lars_diverges_first"] == "not_applicable"  # nothing diverged: no order


def _grid(adamw_best: float, lamb: float = 5.70, tuned: float = 5.65) -> pd.DataFrame:
    """lb_adamw_tuning_grid (final eval loss, lower is better): a 2 × 2 AdamW grid whose best
    cell (warmup 0.2·T, η = 0.01) has loss ``adamw_best``; untuned and tuned LAMB."""
    rows = [{"workload": "mlm", "n_train": 21465, "optimizer": "adamw", "role": "tuned_grid",
             "warmup_fraction": w, "peak_lr": lr,
             "mean": adamw_best + 0.05 * (w != 0.2 or lr != 0.01), "std": 0.01, "n": 3,
             "n_diverged": 0, "warmup_steps": round(w * 101), "total_steps": 101,
             "batch_size": 1024, "lr_multiplier": np.nan, "pooled_std": 0.01}
            for w in (0.05, 0.2) for lr in (0.01, 0.02)]  # fmt: skip
    for role, m, c in (("untuned_rule", lamb, 1.0), ("tuned_at_batch", tuned, 3.16)):
        rows.append({"workload": "mlm", "n_train": 21465, "optimizer": "lamb", "role": role,
                     "warmup_fraction": 20 / 101, "peak_lr": 0.0566 * c, "mean": m, "std": 0.01,
                     "n": 3, "n_diverged": 0, "warmup_steps": 20, "total_steps": 101,
                     "batch_size": 1024, "lr_multiplier": c, "pooled_std": 0.01})  # fmt: skip
    return pd.DataFrame(rows)


# (best AdamW loss, verdicts vs untuned / tuned LAMB, controls): AdamW's loss must be the higher
# one; the swapped claim (LAMB's loss higher) fails only where AdamW is worse outside error bars
ADAMW_CASES = [
    (5.80, ("reproduced", "reproduced"), ("failed", "failed")),
    # within error bars of untuned LAMB: partially by the rule, withheld by the control
    (5.705, ("not_applicable", "reproduced"), ("held", "failed")),
    (5.60, ("not_reproduced", "not_reproduced"), ("held", "held")),
]


@pytest.mark.parametrize(("adamw_best", "verdicts", "controls"), ADAMW_CASES)
def test_adamw_tuning_claims(adamw_best, verdicts, controls):
    claims = lb_adamw_tuning.claims({"lb_adamw_tuning_grid": _grid(adamw_best)})
    lb_adamw_tuning.EXPERIMENT.check_claims(claims)
    ids = ("table8_adamw_tuned_vs_lamb", "table8_lamb_tuned_vs_adamw_tuned")
    assert tuple(c.claim_id for c in claims) == ids
    assert tuple(c.verdict for c in claims) == verdicts
    assert tuple(c.control.split(":", 1)[0] for c in claims) == controls
    for c in claims:
        assert "warmup 0.2·T" in c.evidence and "η = 0.01" in c.evidence
        assert "n_train = 21465" in c.evidence and "2 × 0.010 = 0.020 nats" in c.evidence
        assert c.source.startswith("Table 8") and "Appendix H" in c.source


def test_adamw_pick_tie_break_and_divergence():
    grid = _grid(5.60)
    cells = grid[grid["role"] == "tuned_grid"].copy()
    # two cells equal within 1e-9: the smaller η wins, then the smaller warmup
    cells["mean"] = [5.6, 5.6 + 5e-10, 5.6, 5.7]
    best = lb_adamw_tuning.pick_adamw(cells)
    assert (best["warmup_fraction"], best["peak_lr"]) == (0.05, 0.01)
    cells["mean"] = np.nan  # every cell has a diverged seed: nothing to pick, nothing judged
    assert lb_adamw_tuning.pick_adamw(cells) is None
    table = pd.concat([cells, grid[grid["optimizer"] == "lamb"]], ignore_index=True)
    got = _verdicts(lb_adamw_tuning.claims({"lb_adamw_tuning_grid": table}))
    assert set(got.values()) == {"not_applicable"}
    # untuned LAMB diverged (NaN mean: infinite loss) and AdamW finite: AdamW is lower
    grid.loc[grid["role"] == "untuned_rule", "mean"] = np.nan
    got = _verdicts(lb_adamw_tuning.claims({"lb_adamw_tuning_grid": grid}))
    assert got["table8_adamw_tuned_vs_lamb"] == "not_reproduced"


def test_lars_vs_lamb_pick_tie_break():
    pts = pd.DataFrame({"lr_multiplier": [3.16, 1.0, 0.316], "mean": [5.0, 5.0 + 1e-10, np.nan]})
    assert lb_lars_vs_lamb.pick(pts, "lr_multiplier")["lr_multiplier"] == 1.0
    pts["mean"] = np.nan
    assert lb_lars_vs_lamb.pick(pts, "lr_multiplier") is None


def test_adamw_tuning_reuses_the_lars_vs_lamb_configs_and_not_batch_scaling():
    import inspect

    assert "lb_batch_scaling" not in inspect.getsource(lb_adamw_tuning)
    for profile in ("smoke", "default", "full"):
        ctx = Context(profile)
        lamb = {c for _, c in lb_adamw_tuning._lamb_pairs(ctx)}
        table2 = {c for _, c in lb_lars_vs_lamb.configs(ctx) if c.optimizer == "lamb"}
        assert lamb and lamb <= table2  # identical configs: the same cache keys
        s = lb_lars_vs_lamb.setup(ctx)
        assert {c.batch_size for c in lamb} == {min(s["batches"]), max(s["batches"])}
        adamw = [c for _, c in lb_adamw_tuning._adamw_configs(ctx)]
        assert {c.batch_size for c in adamw} == {max(s["batches"])}
        assert {c.epochs for c in adamw} == {s["epochs"]} and {c.seed for c in adamw} == set(
            range(s["seeds"])
        )


def test_default_profile_sizes():
    """The masked-LM workload's batch range: 128 (below its noise scale, ~512) … 1024 (above),
    ≥ 100 steps at 1024, 3 seeds; 42 runs of 4.8 epochs in all (the two suites' time budget)."""
    ctx = Context("default")
    s = lb_lars_vs_lamb.setup(ctx)
    assert s["data"] == _workloads.workload("mlm").data
    assert s["batches"] == (128, 1024) and s["epochs"] == 4.8 and s["seeds"] == 3
    assert lb_lars_vs_lamb.units(ctx) == 24 and len(lb_adamw_tuning._adamw_configs(ctx)) == 18
    want = {"workload": "mlm", "b_min": 128, "b_max": 1024, "steps_at_b_max": 101, "seeds": 3}
    assert lb_lars_vs_lamb.batch_range(ctx) == want
    assert lb_adamw_tuning.batch_range(ctx) == want


def _mixed(spikes: dict, finals: dict) -> pd.DataFrame:
    """(peak_lr, rewarmup) -> spike ratios / final losses over seeds."""
    rows = []
    for (lr, rw), ratios in spikes.items():
        for seed, (r, f) in enumerate(zip(ratios, finals[(lr, rw)], strict=True)):
            rows.append({"peak_lr": lr, "rewarmup": str(rw), "seed": seed, "spike_ratio": r,
                         "final_eval_loss": f, "mixed_batch": "1024,512", "switch_step": 51,
                         "window_steps": 7})  # fmt: skip
    return pd.DataFrame(rows)


def test_mixed_batch_claims():
    spikes = {(0.1, False): [2.0, 2.2, 1.9], (0.1, True): [1.0, 1.01, 1.0],
              (0.2, False): [3.0, 2.8, 3.1], (0.2, True): [1.1, 1.2, 1.1]}  # fmt: skip
    finals = {(0.1, False): [0.9, 0.92, 0.91], (0.1, True): [0.7, 0.71, 0.7],
              (0.2, False): [1.9, 1.8, 1.9], (0.2, True): [0.8, 0.8, 0.81]}  # fmt: skip
    runs = _mixed(spikes, finals)
    claims = lb_mixed_batch.claims({"lb_mixed_batch_runs": runs})
    lb_mixed_batch.EXPERIMENT.check_claims(claims)
    assert _verdicts(claims) == {"mixed_batch_spike": "reproduced",
                                 "mixed_batch_final": "reproduced"}  # fmt: skip
    assert set(_controls(claims).values()) == {"failed"}  # the re-warmed run never worse
    # no spike without re-warm-up at the first η (loss keeps falling): only partially
    spikes[(0.1, False)] = [0.95, 0.96, 0.95]
    finals[(0.2, False)] = [0.8, 0.8, 0.81]
    v = _verdicts(lb_mixed_batch.claims({"lb_mixed_batch_runs": _mixed(spikes, finals)}))
    assert v == {"mixed_batch_spike": "partially", "mixed_batch_final": "partially"}
    for key in ((0.1, False), (0.2, False)):
        spikes[key], finals[key] = [1.0, 1.0, 1.0], [0.5, 0.5, 0.5]
    v = _verdicts(lb_mixed_batch.claims({"lb_mixed_batch_runs": _mixed(spikes, finals)}))
    assert v == {"mixed_batch_spike": "not_reproduced", "mixed_batch_final": "not_reproduced"}


# -- figures --------------------------------------------------------------------------------


def _fixture(name: str) -> pd.DataFrame:
    return pd.read_csv(DATA / f"{name}.csv")


def _legend(ax) -> list[str]:
    leg = ax.get_legend()
    return [t.get_text() for t in leg.get_texts()] if leg else []


@pytest.mark.parametrize("mod", list(FIGURES.values()), ids=list(FIGURES))
def test_figure_contract(mod):
    assert mod.TITLE.strip() and mod.CAPTION.strip().endswith(".")
    assert (DATA / f"{mod.TABLE}.csv").is_file()
    assert all((DATA / f"{t}.csv").is_file() for t in mod.EXTRA.values())
    with pytest.raises(ValueError, match=f"figure '{mod.NAME}'"):
        mod.make(pd.DataFrame({"x": [1]}), **{k: pd.DataFrame({"x": [1]}) for k in mod.EXTRA})


def test_batch_scaling_figure():
    table = _fixture("lb_batch_scaling_rule")
    fig = fig_bs.make(table)
    axes = [ax for ax in fig.axes if ax.get_visible()]
    assert len(axes) == 3
    for ax, anchor in zip(axes[:2], ("smallest", "largest"), strict=True):
        assert ax.get_title().startswith(fig_bs.ANCHOR_TITLES[anchor])
        labels = _legend(ax)
        assert [s.split(" (")[0] for s in labels] == ["LAMB", "AdamW", "Adam"]
        assert ax.get_xscale() == "log" and len(ax.collections) >= 3  # bands
    steps = axes[2].get_lines()[0].get_ydata()
    want = table.groupby("batch_size")["total_steps"].first().sort_index().to_numpy()
    np.testing.assert_array_equal(steps, want)


def test_adamw_tuning_figure():
    table = _fixture("lb_adamw_tuning_grid")
    fig = fig_adamw.make(table)
    labels = [t.get_text() for t in fig.legends[0].get_texts()]  # under the panels
    warmups = sorted(table.loc[table["role"] == "tuned_grid", "warmup_fraction"].unique())
    assert labels[: len(warmups)] == [f"AdamW, warmup {w:g}·T" for w in warmups]
    assert any(s.startswith("LAMB untuned") for s in labels)
    heat = fig.axes[1]
    assert len(heat.images) == 1 and len(heat.patches) == 1  # the best cell outlined
    lrs = table.loc[table["role"] == "tuned_grid", "peak_lr"].nunique()
    assert heat.images[0].get_array().shape == (len(warmups), lrs)


def test_mixed_batch_figure():
    table = _fixture("lb_mixed_batch")
    fig = fig_mb.make(table)
    axes = [ax for ax in fig.axes if ax.get_visible()]
    lrs = sorted(table["peak_lr"].unique())
    assert len(axes) == len(lrs) + 1
    for ax, lr in zip(axes, lrs, strict=False):
        assert _legend(ax) == ["with re-warm-up", "without re-warm-up"]
        assert f"η = {lr:g}" in ax.get_title() and ax.get_yscale() == "log"
    assert "batch switch" in _legend(axes[-1])


def test_lars_vs_lamb_figure():
    runs, best = _fixture("lb_lars_vs_lamb"), _fixture("lb_lars_vs_lamb_best")
    fig = fig_ll.make(runs, best=best)
    axes = [ax for ax in fig.axes if ax.get_visible()]
    assert _legend(axes[0]) == [style.label("lamb"), style.label("lars")]
    keys = [t.get_text() for t in fig.legends[0].get_texts()]
    assert {"LAMB", "LARS", "diverged"} <= set(keys)
    assert {f"B = {b}" for b in best["batch_size"]} <= set(keys)
    n_div = int(_lb_scaling.as_bool(runs["diverged"]).sum())
    crosses = [ln for ln in axes[1].get_lines() if ln.get_marker() == "x"]
    assert sum(len(np.unique(ln.get_xdata())) for ln in crosses) >= min(n_div, 1)


def test_batch_scaling_power_note_pools_the_seed_stds():
    rule = pd.DataFrame({"std": [0.03, 0.04, np.nan], "n": [3, 3, 3]})
    note = lb_batch_scaling._power(rule)
    assert "pooled seed std 0.035 (n=3 seeds)" in note and "2 × 0.035 = 0.071" in note
    assert lb_batch_scaling._power(pd.DataFrame({"std": [np.nan], "n": [1]})).startswith(
        "power: no seed spread"
    )
