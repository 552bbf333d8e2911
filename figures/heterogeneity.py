"""Heterogeneity trend: at fixed L_avg, how LARS and LAMB (β2 = 0) stand against SGD as the
curvature spread r_L = L_∞/L_avg grows, as the ratio (layer-wise / SGD) of the measured criterion
and of the bounds in both forms.

The toolkit's picture of the paper's main theoretical argument (the discussion after
Theorems 2-3, and Appendix C): the layer-wise bounds depend on L_avg where SGD's depends on L_∞,
so their ratio falls like 1/r_L. One panel per (family, method); the measured ratio is on the
layer-wise method's own criterion (SGD's certificate converts to it, see
``experiments.reproduction.suites.heterogeneity``), beside the same ratio on the
uniform-curvature control (every L_i = L_avg, all else unchanged).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from figures import style
from figures._tables import require

NAME = "heterogeneity"
TABLE = "heterogeneity"
EXTRA: dict[str, str] = {}
TITLE = "Curvature heterogeneity: layer-wise methods relative to SGD at fixed mean curvature"
CAPTION = (
    "Layer-wise method / SGD ratio against the curvature spread r_L = L_∞/L_avg at fixed L_avg "
    "(log y; below 1 the layer-wise method is ahead): measured criterion (solid), measured on "
    "the uniform-curvature control (dotted grey), and the bounds in the paper's form (dashed) "
    "and before its final squaring step (dash-dot), with the r_L where each bound form crosses "
    "SGD's marked (thin grey lines, values in the box); one panel per family and method."
)
COLUMNS = (
    "r_L",
    "method",
    "measured_ratio",
    "bound_ratio_paper",
    "bound_ratio_sharp",
)
FORM_STYLE = {"paper": ("--", "bound, paper form"), "sharp": ("-.", "bound, before squaring")}
CONTROL_COLOR = "0.55"


def crossover(x, a, b) -> float | None:
    """The first x where a - b changes sign, linearly interpolated (None if it never does)."""
    x, d = np.asarray(x, float), np.asarray(a, float) - np.asarray(b, float)
    for i in range(len(x) - 1):
        if d[i] == 0:
            return float(x[i])
        if d[i] * d[i + 1] < 0:
            return float(x[i] + (x[i + 1] - x[i]) * d[i] / (d[i] - d[i + 1]))
    return None


def _panel(ax, title: str, method: str, rows: pd.DataFrame, control: pd.DataFrame) -> None:
    g = rows.sort_values("r_L")
    r, c = g["r_L"], style.color(method)
    style.measured(ax, r, g["measured_ratio"], color=c)
    if len(control):
        k = control.sort_values("r_L")
        style.measured(
            ax, k["r_L"], k["measured_ratio"], color=CONTROL_COLOR, marker="s", linestyle=":"
        )
    ax.axhline(1.0, color="0.2", linewidth=0.8)
    crossings = []
    for form, (ls, _) in FORM_STYLE.items():
        y = g[f"bound_ratio_{form}"]
        ax.plot(r, y, linestyle=ls, color=c, linewidth=1.3)  # a bound: no markers
        x = crossover(r, np.log(y.astype(float)), np.zeros(len(y)))
        if x is not None:
            ax.axvline(x, color="0.5", linestyle=ls, linewidth=0.8)
        crossings.append(f"{form}: " + ("none" if x is None else f"$r_L \\approx$ {x:.2g}"))
    # one box in the empty upper right, clear of the curves and of the crossing lines
    ax.text(
        0.98, 0.80, "bound crosses SGD's\n" + "\n".join(crossings), transform=ax.transAxes,
        ha="right", va="top", fontsize=7.5, color="0.25",
        bbox={"boxstyle": "round", "facecolor": "white", "edgecolor": "0.8", "alpha": 0.9},
    )  # fmt: skip
    ax.set_yscale("log")
    ax.set_xlabel(r"curvature spread $r_L = L_\infty / L_{\mathrm{avg}}$ ($L_{\mathrm{avg}} = 1$)")
    ax.set_ylabel(f"{style.label(method)} / SGD on\n{style.CRITERION.get(method, 'criterion')}")
    if "h" in g and "T" in g:
        title += f"\n(h = {g['h'].iloc[0]}, T = b = {g['T'].iloc[0]})"
    ax.set_title(title, color=c)


def _legend(methods: list[str]) -> list[Line2D]:
    out = [
        Line2D([], [], color=style.color(m), marker="o", label=f"{style.label(m)}: measured ratio")
        for m in methods
    ]
    out.append(
        Line2D(
            [],
            [],
            color=CONTROL_COLOR,
            marker="s",
            linestyle=":",
            label="measured ratio, uniform-curvature control",
        )
    )
    out += [Line2D([], [], color="0.3", linestyle=ls, label=w) for ls, w in FORM_STYLE.values()]
    out.append(Line2D([], [], color="0.5", linewidth=0.8, label="r_L where a bound form crosses"))
    out.append(Line2D([], [], color="0.2", linewidth=0.8, label="equal to SGD (ratio 1)"))
    return out


@style.styled
def make(table: pd.DataFrame) -> Figure:
    """Draw the heterogeneity figure from the ``heterogeneity`` table (one row per family, r_L,
    method and control flag)."""
    require(table, COLUMNS, figure=NAME, table_name=TABLE)
    control = (
        style.as_bool(table["control"]) if "control" in table else table["r_L"] != table["r_L"]
    )
    family = table["family"].astype(str) if "family" in table else pd.Series("", table.index)
    methods = style.order(table["method"].unique())
    cells = [(f, m) for f in dict.fromkeys(family) for m in methods]
    fig, axes = style.panels(len(cells))
    if not cells:
        style.no_data(axes[0])
    for ax, (f, m) in zip(axes, cells, strict=False):
        here = (family == f) & (table["method"].astype(str) == m)
        title = f"{style.label(m)} vs SGD" + (f", {f}" if f else "")
        _panel(ax, title, m, table[here & ~control], table[here & control])
    if cells:
        style.legend_below(fig, _legend(methods), ncol=3)
    fig.suptitle(TITLE)
    return fig
