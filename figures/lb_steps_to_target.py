"""Steps to a target loss against batch size with η re-tuned per batch size (Shallue et al. 2018;
Nado et al. 2021), and the tuned η itself.

Reads ``lb_steps_to_target_best`` (one row per optimizer × batch size, from
``experiments.reproduction.suites.lb_steps_to_target``). Perfect scaling is a line of slope −1 on
the
log-log axes (drawn dashed, through the smallest batch's fastest optimizer).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from figures import style
from figures._tables import require

NAME = "lb_steps_to_target"
TABLE = "lb_steps_to_target_best"
EXTRA: dict[str, str] = {}
TITLE = "Steps to target vs batch size, η tuned per batch size (equal grids)"
CAPTION = (
    "Left: tuned steps to the target test loss (mean over seeds, band min-max) against the "
    "batch size, log-log, with the perfect-scaling slope −1 dashed; right: the tuned peak η "
    "per batch size (open markers: at the grid's edge)."
)
COLUMNS = (
    "optimizer",
    "batch_size",
    "target_loss",
    "best_lr",
    "steps_mean",
    "steps_min",
    "steps_max",
    "n_seeds",
    "grid_size",
    "lr_at_grid_edge",
)
ORDER = ("lamb", "lars", "nesterov", "adam", "sgd")


def _ordered(names) -> list[str]:
    names = [str(n) for n in dict.fromkeys(names)]
    return [n for n in ORDER if n in names] + sorted(n for n in names if n not in ORDER)


def _steps(ax, table: pd.DataFrame, opts: list[str]) -> None:
    for k, opt in enumerate(opts):
        g = table[table["optimizer"].astype(str) == opt]
        g = g[np.isfinite(pd.to_numeric(g["steps_mean"], errors="coerce"))]
        style.measured(
            ax, g["batch_size"], g["steps_mean"], g["steps_min"], g["steps_max"],
            color=style.color(opt), label=style.label(opt), marker=style.MARKERS[k % 8],
        )  # fmt: skip
    ok = table[np.isfinite(pd.to_numeric(table["steps_mean"], errors="coerce"))]
    if len(ok):
        b0 = float(ok["batch_size"].min())
        s0 = float(ok[ok["batch_size"] == b0]["steps_mean"].min())
        b = np.array(sorted(table["batch_size"].unique()), float)
        style.bound(ax, b, s0 * b0 / b, color="0.3", label="perfect scaling (slope −1)")
    style.log_axes(ax)
    style.ticks_at(ax, table["batch_size"].unique())
    ax.set_xlabel("batch size B")
    ax.set_ylabel(f"steps to test loss ≤ {float(table['target_loss'].iloc[0]):g}")
    ax.set_title("tuned steps to target")


def _lrs(ax, table: pd.DataFrame, opts: list[str]) -> None:
    for k, opt in enumerate(opts):
        g = table[table["optimizer"].astype(str) == opt].sort_values("batch_size")
        g = g[np.isfinite(pd.to_numeric(g["best_lr"], errors="coerce"))]
        c, mk = style.color(opt), style.MARKERS[k % 8]
        ax.plot(g["batch_size"], g["best_lr"], "-", marker=mk, color=c, label=style.label(opt))
        edge = g[style.as_bool(g["lr_at_grid_edge"])]
        ax.plot(edge["batch_size"], edge["best_lr"], mk, color="white", markeredgecolor=c,
                markersize=7)  # fmt: skip
    style.log_axes(ax)
    style.ticks_at(ax, table["batch_size"].unique())
    ax.set_xlabel("batch size B")
    ax.set_ylabel("tuned peak η")
    ax.set_title(f"tuned η (grid of {int(table['grid_size'].min())} for each optimizer)")


@style.styled
def make(table: pd.DataFrame) -> Figure:
    """Draw the figure from ``lb_steps_to_target_best``."""
    require(table, COLUMNS, figure=NAME, table_name=TABLE)
    fig, (left, right) = style.panels(2)
    if table.empty:
        style.no_data(left)
        style.no_data(right)
        fig.suptitle(TITLE)
        return fig
    opts = _ordered(table["optimizer"].astype(str))
    _steps(left, table, opts)
    _lrs(right, table, opts)
    style.legend_below(fig, left.get_legend_handles_labels()[0], ncol=6)
    fig.suptitle(f"{TITLE}\nteacher-student stream, n={int(table['n_seeds'].min())} seeds")
    return fig
