"""Baselines: the common criterion E‖∇f(x_a)‖² against the step size η for every optimizer
tuned over the same grid (equal budgets), with the tuned and the theorem-prescribed points marked.

The synthetic-problem counterpart of the paper's fair-comparison protocol (Section 4 and Appendix
G: every optimizer tuned over a learning-rate grid); one panel per instance.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from figures import style
from figures._tables import require

NAME = "baselines"
TABLE = "baselines_grid"
EXTRA = {"tuned": "baselines"}
TITLE = "Baselines: criterion vs step size, equal tuning budgets"
CAPTION = (
    "E‖∇f(x_a)‖² (95% CI band) against the step size η for each optimizer over the same η grid, "
    "log-log, one panel per instance; stars mark each optimizer's tuned η, diamonds the "
    "theorems' prescribed η."
)
COLUMNS = (
    "instance",
    "optimizer",
    "eta_rule",
    "eta",
    "grad_sq",
    "grad_sq_ci_low",
    "grad_sq_ci_high",
)
TUNED_COLUMNS = ("instance", "optimizer", "eta_rule", "eta", "grad_sq")
ORDER = ("sgd", "momentum", "adam", "lars", "lamb_beta2_pos", "lamb_beta2_zero")


def _finite(g: pd.DataFrame) -> pd.DataFrame:
    y = pd.to_numeric(g["grad_sq"], errors="coerce")
    ok = np.isfinite(y) & (y > 0)
    if "diverged" in g:
        ok &= ~style.as_bool(g["diverged"])
    return g[ok]


def _panel(ax, instance: str, grid: pd.DataFrame, tuned: pd.DataFrame) -> list:
    opts = sorted(grid["optimizer"].astype(str).unique(), key=_rank)
    for opt in opts:
        g = _finite(grid[grid["optimizer"].astype(str) == opt])
        c = style.color(opt)
        style.measured(
            ax,
            g["eta"],
            g["grad_sq"],
            g["grad_sq_ci_low"],
            g["grad_sq_ci_high"],
            color=c,
            marker=".",
            label=style.label(opt),
        )
        t = tuned[tuned["optimizer"].astype(str) == opt]
        rule = t["eta_rule"].astype(str)
        for prefix, mk, size in (("tuned", "*", 13), ("prescribed", "D", 7)):
            p = _finite(t[rule.str.startswith(prefix)])
            ax.plot(p["eta"], p["grad_sq"], mk, color=c, markersize=size, markeredgecolor="k")
    style.log_axes(ax)
    ax.set_title(instance)
    ax.set_xlabel("step size η")
    ax.set_ylabel(style.CRITERION["sgd"] + " (b = T)")
    return ax.get_legend_handles_labels()[0]


def _rank(name: str) -> tuple[int, str]:
    key = style.canonical(name)
    return (ORDER.index(key) if key in ORDER else len(ORDER), name)


@style.styled
def make(table: pd.DataFrame, tuned: pd.DataFrame) -> Figure:
    """Draw the baselines figure from ``baselines_grid`` and the tuned/prescribed ``baselines``."""
    require(table, COLUMNS, figure=NAME, table_name=TABLE)
    require(tuned, TUNED_COLUMNS, figure=NAME, table_name=EXTRA["tuned"])
    grid = table[table["eta_rule"].astype(str) == "grid"]
    instances = style.order(grid["instance"].unique(), ())
    fig, axes = style.panels(len(instances))
    if not instances:
        style.no_data(axes[0])
    handles: dict[str, object] = {}
    for ax, inst in zip(axes, instances, strict=False):
        ax_grid = grid[grid["instance"].astype(str) == inst]
        ax_tuned = tuned[tuned["instance"].astype(str) == inst]
        for h in _panel(ax, inst, ax_grid, ax_tuned):
            handles.setdefault(h.get_label(), h)
    markers = [
        Line2D([], [], color="0.4", marker="*", markersize=11, linestyle="", label="tuned η"),
        Line2D([], [], color="0.4", marker="D", linestyle="", label="prescribed η (theorem)"),
    ]
    # one legend for all panels: every instance runs the same optimizers
    style.legend_below(fig, [*handles.values(), *markers], ncol=4)
    if "T" in grid and len(grid):
        fig.suptitle(f"{TITLE} (T = b = {grid['T'].iloc[0]})")
    else:
        fig.suptitle(TITLE)
    return fig
