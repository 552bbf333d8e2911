"""Tables 6/7 analog: test accuracy against the peak learning rate for every optimizer over the
same grid (mean ± std over seeds), and each optimizer's best-η accuracy in Table 7's order.

Reads ``lb_optimizer_table`` (one row per optimizer × η, from
``experiments.reproduction.suites.lb_optimizer_table``).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from figures import style
from figures._tables import require

NAME = "lb_optimizer_table"
TABLE = "lb_optimizer_table"
EXTRA: dict[str, str] = {}
TITLE = "Optimizers at large batch on digits, equal LR grids (Tables 6/7 analog)"
CAPTION = (
    "Left: final test accuracy (mean, band ±1 std over seeds) against the peak learning rate, "
    "stars at each optimizer's best η, shading beyond the paper's grid; right: best-η accuracy "
    "± std per optimizer in Table 7's column order."
)
COLUMNS = (
    "optimizer",
    "peak_lr",
    "acc_mean",
    "acc_std",
    "n_seeds",
    "in_paper_grid",
    "best",
    "batch_size",
    "dataset_fraction",
    "epochs",
)
ORDER = ("momentum", "adagrad", "adam", "adamw", "lamb")  # Table 7's columns


def _ordered(names) -> list[str]:
    names = [str(n) for n in dict.fromkeys(names)]
    return [n for n in ORDER if n in names] + sorted(n for n in names if n not in ORDER)


def _curves(ax, table: pd.DataFrame, opts: list[str]) -> None:
    for opt in opts:
        g = table[table["optimizer"].astype(str) == opt].sort_values("peak_lr")
        m, s = g["acc_mean"].to_numpy(float), np.nan_to_num(g["acc_std"].to_numpy(float))
        c = style.color(opt)
        style.measured(ax, g["peak_lr"], m, m - s, m + s, color=c, label=style.label(opt))
        b = g[style.as_bool(g["best"])]
        ax.plot(b["peak_lr"], b["acc_mean"], "*", color=c, markersize=13, markeredgecolor="k")
    paper = table[style.as_bool(table["in_paper_grid"])]["peak_lr"]
    if len(paper) and table["peak_lr"].max() > paper.max():
        ax.axvspan(paper.max() * 1.5, table["peak_lr"].max() * 1.5, color="0.9", zorder=0)
    if len(paper) and table["peak_lr"].min() < paper.min():
        ax.axvspan(table["peak_lr"].min() / 1.5, paper.min() / 1.5, color="0.9", zorder=0)
    style.log_axes(ax, y=False)
    style.ticks_at(ax, table["peak_lr"].unique())
    ax.set_xlabel("peak learning rate η")
    ax.set_ylabel("final test accuracy (±1 std)")
    ax.set_ylim(max(0.0, float(table["acc_mean"].min()) - 0.05), 1.0)
    ax.set_title("accuracy over the η grid")


def _bars(ax, table: pd.DataFrame, opts: list[str]) -> None:
    best = table[style.as_bool(table["best"])].set_index("optimizer")
    best.index = best.index.astype(str)
    opts = [o for o in opts if o in best.index]
    m = best.loc[opts, "acc_mean"].to_numpy(float)
    s = np.nan_to_num(best.loc[opts, "acc_std"].to_numpy(float))
    x = np.arange(len(opts))
    ax.bar(x, m, yerr=s, color=[style.color(o) for o in opts], capsize=4, edgecolor="k")
    for xi, (mi, o) in enumerate(zip(m, opts, strict=True)):
        ax.text(xi, mi + s[xi] + 0.001, f"η={best.loc[o, 'peak_lr']:g}", ha="center", fontsize=7)
    ax.set_xticks(x, [style.label(o) for o in opts])
    lo = float(np.min(m - s)) if len(m) else 0.0
    ax.set_ylim(max(0.0, lo - 0.02), min(1.0, float(np.max(m + s)) + 0.01) if len(m) else 1.0)
    ax.set_ylabel("best-η test accuracy (±1 std)")
    n = int(best["n_seeds"].min()) if len(best) else 0
    ax.set_title(f"best η per optimizer (n={n} seeds)")


@style.styled
def make(table: pd.DataFrame) -> Figure:
    """Draw the figure from ``lb_optimizer_table``."""
    require(table, COLUMNS, figure=NAME, table_name=TABLE)
    fig, (left, right) = style.panels(2)
    if table.empty:
        style.no_data(left)
        style.no_data(right)
        fig.suptitle(TITLE)
        return fig
    opts = _ordered(table["optimizer"].astype(str))
    _curves(left, table, opts)
    _bars(right, table, opts)
    handles = left.get_legend_handles_labels()[0]
    handles.append(
        Line2D([], [], color="0.4", marker="*", markersize=11, linestyle="", label="best η")
    )
    style.legend_below(fig, handles, ncol=6)
    r = table.iloc[0]
    fig.suptitle(
        f"{TITLE}\nB = {int(r['batch_size'])} ({100 * float(r['dataset_fraction']):.0f}% of the "
        f"training set), {float(r['epochs']):g} epochs"
    )
    return fig
