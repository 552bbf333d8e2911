"""Heterogeneity crossover: at fixed L_avg, how LARS and LAMB (β2 = 0) compare with SGD as the
curvature spread r_L = L_∞/L_avg grows, in the measured criterion and in the bounds.

The toolkit's picture of the paper's main theoretical argument (the discussion after
Theorems 2-3, and Appendix C):
the layer-wise bounds depend on L_avg where SGD's depends on L_∞, so the layer-wise bound wins
once r_L is large enough. Each panel compares one layer-wise method with SGD on that method's
own criterion (SGD's certificate converts to it, see
``experiments.reproduction.suites.heterogeneity``).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from figures import style
from figures._tables import require

NAME = "heterogeneity"
TABLE = "heterogeneity"
EXTRA: dict[str, str] = {}
TITLE = "Curvature heterogeneity: layer-wise methods vs SGD at fixed mean curvature"
CAPTION = (
    "Measured criterion (solid) and bound (dashed) of LARS / LAMB (β2=0) and of SGD on the same "
    "criterion against the curvature spread L_∞/L_avg at fixed L_avg, with the r_L where the "
    "bounds cross marked."
)
COLUMNS = (
    "r_L",
    "method",
    "measure_layerwise",
    "measure_sgd",
    "bound_layerwise",
    "bound_sgd",
)


def crossover(x, a, b) -> float | None:
    """The first x where a - b changes sign, linearly interpolated (None if it never does)."""
    x, d = np.asarray(x, float), np.asarray(a, float) - np.asarray(b, float)
    for i in range(len(x) - 1):
        if d[i] == 0:
            return float(x[i])
        if d[i] * d[i + 1] < 0:
            return float(x[i] + (x[i + 1] - x[i]) * d[i] / (d[i] - d[i + 1]))
    return None


def _panel(ax, method: str, rows: pd.DataFrame) -> None:
    g = rows.sort_values("r_L")
    r = g["r_L"]
    c, c_sgd = style.color(method), style.color("sgd")
    name = style.label(method)
    style.measured(ax, r, g["measure_layerwise"], color=c, label=f"{name}: measured")
    style.measured(
        ax, r, g["measure_sgd"], color=c_sgd, marker="s", label="SGD: measured (same criterion)"
    )
    style.bound(ax, r, g["bound_layerwise"], color=c, label=f"{name}: bound")
    style.bound(ax, r, g["bound_sgd"], color=c_sgd, label="SGD: bound (converted)")
    for col_a, col_b, what, ls in (
        ("bound_layerwise", "bound_sgd", "bounds cross", "--"),
        ("measure_layerwise", "measure_sgd", "measures cross", "-"),
    ):
        x = crossover(r, g[col_a], g[col_b])
        if x is not None:
            ax.axvline(x, color="0.5", linestyle=ls, linewidth=0.8)
            ax.annotate(
                f"{what}\n$r_L \\approx$ {x:.2g}",
                (x, 0.97),
                xycoords=("data", "axes fraction"),
                ha="left",
                va="top",
                fontsize=8,
                color="0.3",
            )
    ax.set_yscale("log")
    ax.set_xlabel(
        r"curvature spread $r_L = L_\infty / L_{\mathrm{avg}}$ ($L_{\mathrm{avg}}$ fixed)"
    )
    ax.set_ylabel(f"{style.CRITERION.get(method, 'criterion')} and bound")
    title = f"{name} vs SGD"
    if "h" in g and "T" in g:
        title += f" (h = {g['h'].iloc[0]}, T = b = {g['T'].iloc[0]})"
    ax.set_title(title)
    ax.legend(loc="best")


@style.styled
def make(table: pd.DataFrame) -> Figure:
    """Draw the heterogeneity figure from the ``heterogeneity`` table (one row per r_L, method)."""
    require(table, COLUMNS, figure=NAME, table_name=TABLE)
    methods = style.order(table["method"].unique())
    fig, axes = style.panels(len(methods))
    if not methods:
        style.no_data(axes[0])
    for ax, method in zip(axes, methods, strict=False):
        _panel(ax, method, table[table["method"].astype(str) == method])
    fig.suptitle(TITLE)
    return fig
