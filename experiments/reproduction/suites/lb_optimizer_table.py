"""Tables 6/7 (Appendix G) in miniature: LAMB against AdaGrad, Adam, AdamW and momentum at a
large batch on a small dataset, every optimizer tuned over the same learning-rate grid.

The paper's MNIST/LeNet protocol (Appendix G, Table 7: batch 1024, 30 epochs, LR grid
{1e-4, 1e-3, 1e-2, 1e-1}, one warmup epoch then polynomial decay of power 0.5 for every solver,
average of 5 runs) on scikit-learn's 8x8 digits (the MNIST stand-in; 1437 training and 360 test
images) with the small MLP (the CNN costs ~7x more per step on 2 CPU cores; the full profile
uses it). Each optimizer's peak η comes from the same grid (the paper's four points plus 1.0
here, one decade beyond the paper's edge, for every optimizer alike); the schedule is

    η_t = η_0 t/w  (t < w, w = 1 epoch),   then  η_0 (1 − t/T)^0.5,

and the test accuracy at the end of training is averaged over seeds. The best η per optimizer is
the one with the highest mean accuracy (a diverged run counts as accuracy 0). Weight decay
λ = 0.01 for LAMB and AdamW (Appendix H default, the authors' MNIST LAMB), none for the others;
momentum μ = 0.9. Only the ordering is checked (the TPU numbers are not reproducible here):
LAMB competitive with or better than the others.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd

from experiments.reproduction.claims import Claim, ClaimSpec, as_bool
from experiments.reproduction.protocol import Context, Experiment, Grid
from experiments.reproduction.suites._training import control_result, run_configs, summaries
from experiments.training import TrainConfig, steps_for

FIGURE = "lb_optimizer_table"
TAG = "lb_optimizer_table"  # cache tag, shared with lb_loss_vs_accuracy (same runs)
N_TRAIN = 1437  # digits training images (experiments.training.digits: fixed split)
PAPER_GRID = (1e-4, 1e-3, 1e-2, 1e-1)
# Table 7's column order (Appendix G).
ORDER = ("momentum", "adagrad", "adam", "adamw", "lamb")
HYPER = {
    "adagrad": {},
    "adam": {},
    "adamw": {"weight_decay": 0.01},
    "momentum": {"momentum": 0.9},
    "lamb": {"weight_decay": 0.01},
}
# Smoke (CI) runs three of the five: a compilation per optimizer dominates its time.
SMOKE_OPTIMIZERS = ("momentum", "adam", "lamb")
WARMUP_EPOCHS = 1.0  # the authors' mnist_tpu schedule (Appendix G: the same for every solver)
POWER = 0.5
# "Competitive": LAMB's best mean test accuracy at most 1 accuracy point below the best
# optimizer's. On 360 test images one point is 3.6 images, and the seed standard deviation of a
# tuned run here is 0.5-1.3 points, so a gap under one point is inside seed noise.
COMPETITIVE_MARGIN = 0.01
DIVERGED_ACCURACY = 0.0  # a diverged run produced no model: it scores 0 in the mean


@dataclasses.dataclass(frozen=True)
class Setup:
    model: str
    batch_size: int
    epochs: float
    optimizers: tuple[str, ...]
    grid: tuple[float, ...]
    seeds: int
    n_evals: int


_HALF_DECADES = tuple(float(10 ** (k / 2)) for k in range(-8, 1))  # 1e-4 … 1
# Sizes per profile (the batch is 512 of the 1437 training images, 35.6 %).
GRID = Grid(
    smoke=dataclasses.asdict(Setup("mlp", 512, 5.0, SMOKE_OPTIMIZERS, (1e-2, 1e-1), 2, 4)),
    default=dataclasses.asdict(Setup("mlp", 512, 30.0, ORDER, (*PAPER_GRID, 1.0), 5, 10)),
    full=dataclasses.asdict(Setup("cnn", 512, 30.0, ORDER, _HALF_DECADES, 5, 15)),
)


def setup(ctx: Context) -> Setup:
    """The profile's sizes (:data:`GRID`)."""
    return Setup(**vars(ctx.sizes(GRID)))


def configs(ctx: Context) -> list[TrainConfig]:
    """One config per (optimizer, η, seed); each optimizer's η × seeds is one vmapped group."""
    s = setup(ctx)
    return [
        TrainConfig(
            task="digits",
            model=s.model,
            optimizer=opt,
            hyper=HYPER[opt],
            learning_rate=lr,
            batch_size=s.batch_size,
            epochs=s.epochs,
            warmup_epochs=WARMUP_EPOCHS,
            power=POWER,
            seed=seed,
            n_evals=s.n_evals,
        )
        for opt in s.optimizers
        for lr in s.grid
        for seed in range(s.seeds)
    ]


def units(ctx: Context) -> int:
    return len(configs(ctx))


def batch_range(ctx: Context) -> dict:
    """The workload (digits), its one batch size, steps there and seeds (read by the
    ``lb_workloads`` experiment)."""
    s = setup(ctx)
    return {
        "workload": "digits",
        "b_min": s.batch_size,
        "b_max": s.batch_size,
        "steps_at_b_max": steps_for(s.epochs, N_TRAIN, s.batch_size),
        "seeds": s.seeds,
    }


def _in_paper_grid(lr) -> np.ndarray:
    lr = np.asarray(lr, float)
    return np.isclose(lr[:, None], np.asarray(PAPER_GRID)[None, :], rtol=1e-9).any(axis=1)


def run_table(summary: pd.DataFrame) -> pd.DataFrame:
    """One row per run from the training summaries."""
    out = summary[
        ["optimizer", "model", "peak_lr", "seed", "base_batch_size", "epochs", "total_steps"]
    ].rename(columns={"base_batch_size": "batch_size"})
    out["dataset_fraction"] = out["batch_size"] / N_TRAIN
    out["in_paper_grid"] = _in_paper_grid(out["peak_lr"])
    for c in ("final_eval_accuracy", "final_eval_loss", "best_eval_accuracy", "diverged"):
        out[c] = summary[c].to_numpy()
    return out.reset_index(drop=True)


def grid_table(runs: pd.DataFrame) -> pd.DataFrame:
    """Per (optimizer, η): test accuracy and loss, mean ± std (ddof 1) over n seeds, and the
    best η per optimizer over the whole grid (``best``) and over the paper's grid only."""
    df = runs.copy()
    df["diverged"] = as_bool(df["diverged"])
    df["acc"] = df["final_eval_accuracy"].where(~df["diverged"], DIVERGED_ACCURACY)
    df["acc"] = df["acc"].fillna(DIVERGED_ACCURACY)
    g = df.groupby(["optimizer", "peak_lr"], sort=True)
    out = g.agg(
        batch_size=("batch_size", "first"),
        dataset_fraction=("dataset_fraction", "first"),
        epochs=("epochs", "first"),
        in_paper_grid=("in_paper_grid", lambda s: bool(as_bool(s).all())),
        n_seeds=("seed", "count"),
        n_diverged=("diverged", "sum"),
        acc_mean=("acc", "mean"),
        acc_std=("acc", "std"),
        loss_mean=("final_eval_loss", "mean"),
        loss_std=("final_eval_loss", "std"),
    ).reset_index()
    out["best"] = False
    out["best_in_paper_grid"] = False
    for _, rows in out.groupby("optimizer"):
        out.loc[rows["acc_mean"].idxmax(), "best"] = True
        paper = rows[rows["in_paper_grid"]]
        if len(paper):
            out.loc[paper["acc_mean"].idxmax(), "best_in_paper_grid"] = True
    return out


def run(ctx: Context) -> dict[str, pd.DataFrame]:
    records = run_configs(ctx, configs(ctx), TAG, "optimizer table")
    runs = run_table(summaries(records))
    return {"lb_optimizer_table_runs": runs, "lb_optimizer_table": grid_table(runs)}


SOURCE = "Tables 6 and 7 (Appendix G)"
TABLE = "lb_optimizer_table"
METRIC = (
    "per optimizer at its best η (highest mean over seeds, whole grid): mean ± std final test "
    "accuracy over seeds (a diverged run scores 0); gap = best other optimizer's mean − LAMB's"
)
MARGIN_REASON = (
    f"{COMPETITIVE_MARGIN:g} = one accuracy point: on 360 test images one point is 3.6 images, "
    "and the seed standard deviation of a tuned run here is 0.5-1.3 points, so a gap under one "
    "point is inside seed noise"
)
COMPETITIVE_SPEC = ClaimSpec(
    claim_id="lb_table7_lamb_competitive",
    source=SOURCE,
    statement="At a large batch on a small dataset (sklearn digits, batch 512 = 36% of the "
    "training set, fixed epochs), LAMB is competitive with (within 1 accuracy point of) or "
    "better than AdaGrad, Adam, AdamW and momentum, every optimizer tuned over the same LR grid "
    "(the paper's, extended by one decade).",
    table=TABLE,
    metric=METRIC,
    rule=f"reproduced if gap ≤ {COMPETITIVE_MARGIN:g}; partially if larger but LAMB beats some "
    "optimizer; not_reproduced if LAMB is last",
    threshold_reason=MARGIN_REASON,
    control="the least accurate other optimizer put in LAMB's place (LAMB among the others) must "
    "not earn the claim's verdict",
    figure=FIGURE,
)
BEST_SPEC = ClaimSpec(
    claim_id="lb_table7_lamb_best",
    source=SOURCE,
    statement="LAMB has the highest mean test accuracy of the five optimizers (Table 7's "
    "ordering: LAMB first), at laptop scale on sklearn digits.",
    table=TABLE,
    metric=METRIC,
    rule=f"reproduced if gap < 0 (LAMB first); partially if 0 ≤ gap ≤ {COMPETITIVE_MARGIN:g}; "
    "not_reproduced otherwise",
    threshold_reason=f"0 is the statement itself (first); {MARGIN_REASON}",
    control="the most accurate other optimizer put in LAMB's place (LAMB among the others) must "
    "not earn the claim's verdict",
    figure=FIGURE,
)
CLAIM_SPECS = (COMPETITIVE_SPEC, BEST_SPEC)


def _best(grid: pd.DataFrame, column: str) -> pd.DataFrame:
    return grid[as_bool(grid[column])].set_index("optimizer")


def _verdict(best: pd.DataFrame) -> tuple[str, str, float]:
    """(verdict, ordering text, LAMB's gap to the best other optimizer) from best-η rows: the
    rule of COMPETITIVE_SPEC."""
    ranked = best.sort_values("acc_mean", ascending=False)
    lamb = float(best.loc["lamb", "acc_mean"])
    others = ranked.drop(index="lamb")
    gap = float(others["acc_mean"].iloc[0]) - lamb  # > 0: LAMB below the best other
    beaten = int((others["acc_mean"] < lamb).sum())
    if gap <= COMPETITIVE_MARGIN:
        verdict = "reproduced"
    elif beaten > 0:
        verdict = "partially"
    else:
        verdict = "not_reproduced"
    order = " > ".join(ranked.index)
    return verdict, order, gap


def _best_verdict(gap: float) -> str:
    """The rule of BEST_SPEC from LAMB's gap to the best other optimizer."""
    if gap < 0:
        return "reproduced"
    return "partially" if gap <= COMPETITIVE_MARGIN else "not_reproduced"


def _in_lambs_place(best: pd.DataFrame, name: str) -> pd.DataFrame:
    """``best`` with optimizer ``name`` relabelled LAMB and LAMB relabelled ``name``."""
    return best.rename(index={"lamb": name, name: "lamb"})


def _row_text(name: str, r) -> str:
    return f"{name} {r.acc_mean:.4f} ± {r.acc_std:.4f} (η={r.peak_lr:g})"


def claims(tables: dict[str, pd.DataFrame]) -> list[Claim]:
    """LAMB competitive with (within COMPETITIVE_MARGIN of) the best, and LAMB best, by the
    best-η mean test accuracy of table ``lb_optimizer_table``."""
    grid = tables.get("lb_optimizer_table", pd.DataFrame())
    if grid.empty or "lamb" not in set(grid["optimizer"]) or grid["optimizer"].nunique() < 2:
        ev = "table lb_optimizer_table lacks LAMB or a second optimizer"
        nothing = control_result(
            "not_applicable", "not_applicable", "another optimizer in LAMB's place"
        )
        return [
            COMPETITIVE_SPEC.judge("not_applicable", ev, nothing),
            BEST_SPEC.judge("not_applicable", ev, nothing),
        ]
    best, paper = _best(grid, "best"), _best(grid, "best_in_paper_grid")
    verdict, order, gap = _verdict(best)
    r0 = best.iloc[0]
    setting = (
        f"n={int(best['n_seeds'].min())} seeds, B={int(r0.batch_size)} "
        f"({100 * float(r0.dataset_fraction):.1f}% of the training set), {r0.epochs:g} epochs, "
        f"grid {sorted(grid['peak_lr'].unique().tolist())}"
    )
    rows = "; ".join(_row_text(n, best.loc[n]) for n in best.index)
    ev = (
        f"table lb_optimizer_table, best-η test accuracy mean ± std ({setting}): {rows}. "
        f"Ordering {order}; LAMB {'below' if gap > 0 else 'above'} the best other by "
        f"{100 * abs(gap):.2f} points (margin {100 * COMPETITIVE_MARGIN:g})"
    )
    if len(paper) == len(best) and "lamb" in paper.index:
        p_verdict, p_order, p_gap = _verdict(paper)
        ev += (
            f". Paper grid only: ordering {p_order}, LAMB gap {100 * p_gap:+.2f} points "
            f"({p_verdict})"
        )
    others = best.drop(index="lamb")["acc_mean"].astype(float)
    weakest, strongest = str(others.idxmin()), str(others.idxmax())
    c_verdict, _, c_gap = _verdict(_in_lambs_place(best, weakest))
    competitive = COMPETITIVE_SPEC.judge(
        verdict,
        ev,
        control_result(
            verdict,
            c_verdict,
            f"{weakest} (the least accurate other) in LAMB's place, gap {100 * c_gap:+.2f} points",
        ),
    )
    b_verdict = _best_verdict(gap)
    b_ev = (
        f"table lb_optimizer_table: ordering {order} ({setting}); LAMB "
        f"{'first' if gap < 0 else f'{100 * gap:.2f} points below the best'}; paper Table 7 "
        "ordering LAMB > AdamW > Adam > Momentum > AdaGrad (0.9945 … 0.9928, spread 0.17 points)"
    )
    s_gap = _verdict(_in_lambs_place(best, strongest))[2]
    best_claim = BEST_SPEC.judge(
        b_verdict,
        b_ev,
        control_result(
            b_verdict,
            _best_verdict(s_gap),
            f"{strongest} (the most accurate other) in LAMB's place, gap {100 * s_gap:+.2f} points",
        ),
    )
    return [competitive, best_claim]


EXPERIMENT = Experiment(
    name="lb_optimizer_table",
    description="Tables 6/7: LAMB vs AdaGrad/Adam/AdamW/momentum, LR grid, large batch, digits",
    run=run,
    units=units,
    claims=claims,
    claim_specs=CLAIM_SPECS,
    tables=("lb_optimizer_table_runs", "lb_optimizer_table"),
    figure=FIGURE,
    grid=GRID,
)
