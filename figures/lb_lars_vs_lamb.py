"""Table 2 in miniature: LARS vs LAMB on a tiny BERT (masked LM on the standard library's
documentation text) across batch sizes, each tuned over the same √-scaled learning-rate grid.

Left: the picked grid point's final evaluation loss (nats) against batch size (mean ± std over
seeds), with the workload and its training-set size in the title when the table names them.
Right: the whole grid, final evaluation loss against the learning-rate multiplier, one line per
optimizer and batch size; runs that diverged are drawn as crosses on the top edge.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from figures import style
from figures._tables import require

NAME = "lb_lars_vs_lamb"
TABLE = "lb_lars_vs_lamb"
EXTRA = {"best": "lb_lars_vs_lamb_best"}
TITLE = "Table 2: LARS vs LAMB on a tiny BERT (masked LM), tuned per batch size"
CAPTION = (
    "Final masked-LM evaluation loss (nats, lower is better) of LARS and LAMB: left, the best of "
    "the same √-scaled learning-rate grid at each batch size (mean ± std over seeds); right, "
    "every grid point, mean over seeds (diverged runs as crosses on the top edge)."
)
COLUMNS = ("optimizer", "batch_size", "lr_multiplier", "seed", "final_eval_loss", "diverged")
BEST_COLUMNS = ("optimizer", "batch_size", "mean", "std", "n", "grid_runs", "grid_diverged")
ORDER = ("lamb", "lars")


def _best_panel(ax, best: pd.DataFrame) -> None:
    for opt, g in style.groups(best, "optimizer", ORDER):
        g = g.sort_values("batch_size")
        m, s = g["mean"].to_numpy(float), np.nan_to_num(g["std"].to_numpy(float))
        style.measured(
            ax, g["batch_size"], m, m - s, m + s, color=style.color(opt), label=style.label(opt)
        )
        for r in g.itertuples():
            if r.grid_diverged:
                ax.annotate(
                    f"{int(r.grid_diverged)}/{int(r.grid_runs)} runs div.",
                    (r.batch_size, r.mean),
                    fontsize=7,
                    xytext=(4, 4),
                    textcoords="offset points",
                    color=style.color(opt),
                )
    style.log_axes(ax, y=False)
    style.ticks_at(ax, best["batch_size"].unique())
    ax.set_xlabel("batch size B (sequences of 32 tokens)")
    ax.set_ylabel("final MLM eval loss, nats (best of grid)")
    title = "tuned per batch size (lower is better)"
    if {"workload", "n_train"} <= set(best.columns):
        title += f"\n{best['workload'].iloc[0]}, n_train = {int(best['n_train'].iloc[0]):,}"
    ax.set_title(title)
    ax.legend(loc="best")


def _grid_panel(ax, runs: pd.DataFrame) -> list:
    runs = runs.assign(diverged=style.as_bool(runs["diverged"]))
    batches = sorted(runs["batch_size"].unique())
    markers = dict(zip(batches, style.MARKERS, strict=False))
    finite = runs.loc[~runs["diverged"], "final_eval_loss"]
    top = float(finite.max()) if len(finite) else 1.0
    for opt, g in style.groups(runs, "optimizer", ORDER):
        c = style.color(opt)
        for b in batches:
            gb = g[g["batch_size"] == b]
            ok = gb[~gb["diverged"]].groupby("lr_multiplier")["final_eval_loss"].mean()
            ax.plot(ok.index, ok.to_numpy(), "-", marker=markers[b], color=c, linewidth=1.0)
            bad = gb.loc[gb["diverged"], "lr_multiplier"].unique()
            lift = 1.01 + 0.01 * ORDER.index(opt) if opt in ORDER else 1.03  # crosses side by side
            ax.plot(bad, np.full(len(bad), top * lift), "x", color=c, markersize=7)
    style.log_axes(ax, y=False)
    style.ticks_at(ax, runs["lr_multiplier"].unique())
    mult = sorted(float(v) for v in runs["lr_multiplier"].unique())
    ax.set_xticks(mult, [f"{v:.3g}" for v in mult])  # 3.16, not 3.16228
    ax.set_xlabel("learning-rate multiplier c (η = c·η_ref·√(B/B_ref))")
    ax.set_ylabel("final MLM eval loss, nats (seed mean)")
    ax.set_title("the whole grid (× = diverged)")
    keys = [Line2D([], [], color=style.color(o), label=style.label(o)) for o in ORDER]
    keys += [
        Line2D([], [], color="0.4", marker=markers[b], linestyle="", label=f"B = {b}")
        for b in batches
    ]
    keys.append(Line2D([], [], color="0.4", marker="x", linestyle="", label="diverged"))
    return keys


@style.styled
def make(table: pd.DataFrame, best: pd.DataFrame) -> Figure:
    """Draw the LARS-vs-LAMB figure from ``lb_lars_vs_lamb`` and ``lb_lars_vs_lamb_best``."""
    require(table, COLUMNS, figure=NAME, table_name=TABLE)
    require(best, BEST_COLUMNS, figure=NAME, table_name=EXTRA["best"])
    fig, axes = style.panels(2)
    if table.empty or best.empty:
        style.no_data(axes[0])
        style.no_data(axes[1])
    else:
        _best_panel(axes[0], best)
        style.legend_below(fig, _grid_panel(axes[1], table), ncol=6)
    fig.suptitle(TITLE)
    return fig
