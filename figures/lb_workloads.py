"""The large-batch workloads against their gradient noise scale: B_simple along each workload's
reference run, and each workload's batch range beside its noise scale b_noise.

Reads ``lb_noise_scale`` (one row per workload × seed × point) and ``lb_workloads`` (one row per
workload), from ``experiments.reproduction.suites.lb_workloads``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch

from figures import style
from figures._tables import require

NAME = "lb_workloads"
TABLE = "lb_workloads"
EXTRA = {"points": "lb_noise_scale"}
TITLE = "Where a large batch is large: gradient noise scale and batch range per workload"
CAPTION = (
    "Left: the simple noise scale B_simple = tr Σ/‖G‖² along each workload's reference run "
    "(median over seeds, band min–max); right: each workload's batch range (bar, b_min to "
    "b_max) against its noise scale b_noise (diamond, whisker = interval over seeds) and the "
    "training-set bound n_train/8 (tick)."
)
COLUMNS = ("workload", "n_train", "b_noise", "b_noise_lo", "b_noise_hi", "b_min", "b_max")
POINT_COLUMNS = ("workload", "seed", "step_fraction", "b_simple")


# One qualitative colour per workload (Okabe-Ito), distinct on screen and in grey print.
WORKLOAD_COLORS = ("#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#000000")


def _color(i: int) -> str:
    return WORKLOAD_COLORS[i % len(WORKLOAD_COLORS)]


def _trajectories(ax, points: pd.DataFrame, names: list[str]) -> None:
    for i, name in enumerate(names):
        g = points[points["workload"].astype(str) == name]
        if g.empty:
            continue
        v = pd.to_numeric(g["b_simple"], errors="coerce").replace(np.inf, np.nan)
        stats = v.groupby(g["step_fraction"].round(3)).agg(["median", "min", "max"])
        x = stats.index.to_numpy(float)
        style.measured(
            ax, x, stats["median"], stats["min"], stats["max"], color=_color(i), label=name
        )
    ax.set_yscale("log")
    ax.set_xlabel("fraction of the reference run's steps")
    ax.set_ylabel("B_simple (examples)")
    ax.set_title("noise scale along training")
    ax.legend(fontsize=8)


def _ranges(ax, table: pd.DataFrame, names: list[str]) -> None:
    for i, name in enumerate(names):
        r = table[table["workload"].astype(str) == name].iloc[0]
        y = len(names) - 1 - i
        b_min, b_max = float(r["b_min"]), float(r["b_max"])
        if np.isfinite(b_min) and np.isfinite(b_max):
            ax.plot([b_min, b_max], [y, y], "-", color=_color(i), linewidth=7, alpha=0.5)
        b, lo, hi = (float(r[c]) for c in ("b_noise", "b_noise_lo", "b_noise_hi"))
        if np.isfinite(b):
            ax.errorbar([b], [y], xerr=[[b - lo], [hi - b]], fmt="D", color="k", capsize=4)
        n = str(r["n_train"])
        if n != "stream":
            ax.plot([float(n) / 8], [y], "|", color="0.3", markersize=18, markeredgewidth=2)
    ax.set_yticks(range(len(names)), names[::-1])
    ax.set_xscale("log")
    ax.set_xlabel("batch size (examples)")
    ax.set_title("batch range vs noise scale")
    ax.legend(
        handles=[
            Patch(color="0.6", alpha=0.5, label="b_min … b_max of the experiments"),
            Line2D([], [], marker="D", color="k", linestyle="", label="b_noise (seed interval)"),
            Line2D(
                [], [], marker="|", color="0.3", linestyle="", markersize=12, label="n_train / 8"
            ),
        ],
        fontsize=8,
        loc="upper center",
        bbox_to_anchor=(0.5, -0.2),
        ncol=2,
        frameon=False,
    )
    ax.set_ylim(-0.6, len(names) - 0.4)


@style.styled
def make(table: pd.DataFrame, points: pd.DataFrame | None = None) -> Figure:
    """Draw the figure from ``lb_workloads`` and ``lb_noise_scale``."""
    require(table, COLUMNS, figure=NAME, table_name=TABLE)
    points = pd.DataFrame(columns=POINT_COLUMNS) if points is None else points
    require(points, POINT_COLUMNS, figure=NAME, table_name=EXTRA["points"])
    fig, (left, right) = style.panels(2)
    names = [str(n) for n in table["workload"]]
    if not names:
        style.no_data(left)
        style.no_data(right)
    else:
        _trajectories(left, points, names)
        _ranges(right, table, names)
    fig.suptitle(TITLE)
    return fig
