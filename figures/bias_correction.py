"""Appendix E: the learning-rate factor that Adam's bias correction puts on LAMB's step,
c(t) = √(1 − β2^t)/(1 − β1^t), beside a linear warmup min(1, t/W) of equal total damping.

The toolkit's version of the paper's Appendix E figure, "adam-correction vs warmup"
(docs/paper.md). Left: every (β1, β2) in the table over t on a log axis. Right: the
paper's (0.9, 0.999) on a linear axis, where a linear warmup is a straight ramp, with the dip and
the steps where c(t) reaches 0.9 and 0.99 marked.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from figures import style
from figures._tables import require

NAME = "bias_correction"
TABLE = "bias_correction"
EXTRA: dict[str, str] = {}
TITLE = "Appendix E: bias correction as a learning-rate factor vs linear warmup"
CAPTION = (
    "The factor √(1−β2^t)/(1−β1^t) that Adam bias correction applies to LAMB's learning rate "
    "(solid) and a linear warmup min(1, t/W) withholding the same total learning rate (dashed), "
    "for several (β1, β2) on a log step axis and for the paper's (0.9, 0.999) on a linear one."
)
COLUMNS = ("beta1", "beta2", "t", "factor", "warmup", "warmup_steps")
PAPER = (0.9, 0.999)
LEVELS = (0.9, 0.99)


def _pairs(table: pd.DataFrame) -> list[tuple[float, float]]:
    pairs = {(float(a), float(b)) for a, b in table[["beta1", "beta2"]].to_numpy()}
    return sorted(pairs, key=lambda p: (p != PAPER, p))


def _rows(table: pd.DataFrame, pair) -> pd.DataFrame:
    sel = np.isclose(table["beta1"], pair[0]) & np.isclose(table["beta2"], pair[1])
    return table[sel].sort_values("t")


def _colors(pairs) -> dict:
    others = iter(style.palette(max(len(pairs) - 1, 1)))
    return {p: style.color("lamb") if p == PAPER else next(others) for p in pairs}


def _overview(ax, table: pd.DataFrame, pairs, colors) -> list[Line2D]:
    handles = []
    for p in pairs:
        g = _rows(table, p)
        c, w = colors[p], float(g["warmup_steps"].iloc[0])
        name = f"β1={p[0]:g}, β2={p[1]:g}" + (" (paper)" if p == PAPER else "") + f", W = {w:.0f}"
        handles.append(ax.plot(g["t"], g["factor"], "-", color=c, label=name)[0])
        style.bound(ax, g["t"], g["warmup"], color=c)
    ax.axhline(1.0, color="0.5", linewidth=0.8)
    ax.set_xscale("log")
    ax.set_xlabel("step t")
    ax.set_ylabel("learning-rate factor")
    ax.set_title("all (β1, β2) in the table")
    handles.append(Line2D([], [], color="0.3", label="bias-correction factor c(t)"))
    key = "linear warmup min(1, t/W), equal area"
    handles.append(Line2D([], [], color="0.3", linestyle="--", label=key))
    return handles


def _paper(ax, g: pd.DataFrame, c: str) -> None:
    t, f = g["t"].to_numpy(float), g["factor"].to_numpy(float)
    w = float(g["warmup_steps"].iloc[0])
    ax.plot(t, f, "-", color=c, label=r"$c(t) = \sqrt{1-\beta_2^t}\,/\,(1-\beta_1^t)$")
    style.bound(ax, t, g["warmup"], color=c, label=f"min(1, t/W), W = {w:.0f}")
    i = int(np.argmin(f))
    ax.plot(t[i], f[i], "o", color=c, markersize=5)
    ax.annotate(
        f"c(1) = {f[0]:.3f}, dips to {f[i]:.3f} at t = {t[i]:.0f}",
        (t[i], f[i]),
        xytext=(14, -2),
        textcoords="offset points",
        fontsize=8,
    )
    right = t[-1]
    for level, ls in zip(LEVELS, (":", "-."), strict=True):
        hit = np.nonzero(f[i:] >= level)[0]
        if len(hit):
            t_hit = t[i + hit[0]]
            right = min(t[-1], 1.6 * t_hit)  # past the ramp, the curve is flat at 1
            lab = f"c(t) ≥ {level:g} by t = {t_hit:.0f}"
            ax.axvline(t_hit, color="0.4", linestyle=ls, linewidth=0.9, label=lab)
    ax.set_xlim(-0.02 * right, right)
    ax.axhline(1.0, color="0.5", linewidth=0.8)
    ax.set_xlabel("step t")
    ax.set_ylabel("learning-rate factor")
    ax.set_title("paper's β1 = 0.9, β2 = 0.999")
    ax.legend(loc="center right")


@style.styled
def make(table: pd.DataFrame) -> Figure:
    """Draw the Appendix E figure from the ``bias_correction`` table."""
    require(table, COLUMNS, figure=NAME, table_name=TABLE)
    pairs = _pairs(table)
    fig, axes = style.panels(2)
    colors = _colors(pairs)
    if not pairs:
        style.no_data(axes[0])
        style.no_data(axes[1])
    else:
        # under the panels: on a log step axis the curves fill the whole left panel
        style.legend_below(fig, _overview(axes[0], table, pairs, colors), ncol=3)
        if PAPER in pairs:
            _paper(axes[1], _rows(table, PAPER), colors[PAPER])
        else:
            style.no_data(axes[1], "no rows for the paper's (0.9, 0.999)")
    fig.suptitle(TITLE)
    return fig
