"""Tightness: measured/bound over every instance tried (constructive worst cases, a grid, an
adversarial search and its confirming reruns), per theorem, with the tightest instance marked;
and the constructive families' ratio against both bound forms over T.

Not a figure of the paper: it shows how much of each explicit constant (Theorems 1-3, derived
[D]) is used; a ratio near 1 means the constant cannot be improved, a ratio above 1 would be a
violated bound.
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from figures import style
from figures._tables import require

NAME = "tightness"
TABLE = "tightness"
EXTRA = {"best": "tightness_best"}
TITLE = "Tightness of the explicit bounds: measured / bound per instance"
TITLE_T = "Constructive worst cases over T"
CAPTION = (
    "Left: ratio of the measured criterion to its paper-form bound for every instance tried "
    "(squares: constructive worst cases, circles: grid, triangles: adversarial search, diamonds: "
    "its best candidates rerun with fresh seeds; crosses: outside the hypotheses), per theorem, "
    "on a log scale, with the tightest in-hypothesis instance starred (its ratio beside the star, "
    "its name under the theorem). Right: the constructive families' ratio against the paper-form "
    "bound (solid) and the sharp bound before the final squaring step (dashed) over the horizon T."
)
COLUMNS = ("theorem", "ratio", "search", "in_hypothesis", "T")
BEST_COLUMNS = ("theorem", "search", "instance", "ratio")
SEARCH_MARKERS = {"constructive": "s", "grid": "o", "adversarial": "^", "confirmed": "D"}
JITTER = 0.28  # half-width of the horizontal spread of one theorem's points
WRAP = 22  # characters per line of an instance name under the tick labels


def _wrap(name: str, width: int = WRAP) -> str:
    """An instance name over lines of at most ``width`` characters, broken after - or _."""
    lines, line = [], ""
    for part in re.findall(r"[^-_]+[-_]?", name) or [name]:
        if line and len(line) + len(part) > width:
            lines.append(line)
            line = ""
        line += part
    return "\n".join([*lines, line])


@style.styled
def make(table: pd.DataFrame, best: pd.DataFrame) -> Figure:
    """Draw the tightness strip plot from ``tightness`` rows and ``tightness_best``."""
    require(table, COLUMNS, figure=NAME, table_name=TABLE)
    require(best, BEST_COLUMNS, figure=NAME, table_name=EXTRA["best"])
    theorems = style.order(list(table["theorem"].unique()) + list(best["theorem"].unique()))
    fig = Figure(
        figsize=(max(style.PANEL_SIZE[0], 1.8 * len(theorems) + 1.5) + style.PANEL_SIZE[0] + 1.5,
                 style.PANEL_SIZE[1] + 0.6),
        layout="constrained",
    )  # fmt: skip
    ax, ax_t = fig.subplots(
        1, 2, gridspec_kw={"width_ratios": [1.8 * max(len(theorems), 1) + 1.5, style.PANEL_SIZE[0]]}
    )
    rng = np.random.default_rng(0)  # fixed jitter: the same table always gives the same picture
    searches = style.order(table["search"].unique(), tuple(SEARCH_MARKERS))
    ratio = pd.to_numeric(table["ratio"], errors="coerce")
    # zero or non-finite ratios cannot sit on a log axis; they carry no tightness information
    shown = (ratio > 0) & np.isfinite(ratio)
    inside = style.as_bool(table["in_hypothesis"])
    tightest: dict[str, str] = {}
    for i, thm in enumerate(theorems):
        this = (table["theorem"].astype(str) == thm) & shown
        c = style.color(thm)
        for s in searches:
            sel = this & (table["search"].astype(str) == s)
            for mask, kw in ((sel & inside, {"color": c}), (sel & ~inside, {"color": "0.6"})):
                if not mask.any():
                    continue
                x = i + rng.uniform(-JITTER, JITTER, int(mask.sum()))
                mk = SEARCH_MARKERS.get(s, "D") if kw["color"] == c else "x"
                ax.plot(x, ratio[mask], mk, alpha=0.65, linestyle="", **kw)
        b = best[best["theorem"].astype(str) == thm]
        if len(b):
            top = b.loc[pd.to_numeric(b["ratio"], errors="coerce").idxmax()]
            ax.plot(i, top["ratio"], "*", color=c, markersize=15, markeredgecolor="k", zorder=5)
            # the value beside the star, right of the jittered points (never over them); the
            # instance's name goes under the theorem's tick label, where each has its own slot
            ax.annotate(
                f"{float(top['ratio']):.3g}",
                (i, top["ratio"]),
                xytext=(i + JITTER + 0.03, float(top["ratio"])),
                textcoords="data",
                ha="left",
                va="center",
                fontsize=8,
                fontweight="bold",
                color="0.15",
                bbox={"boxstyle": "round,pad=0.15", "fc": "white", "ec": "none", "alpha": 0.85},
                zorder=6,
            )
            tightest[thm] = f"tightest {float(top['ratio']):.3g}:\n{_wrap(str(top['instance']))}"
    ax.axhline(1.0, color="k", linestyle="--", linewidth=1.0)
    ax.set_yscale("log")
    ax.set_xticks(
        range(len(theorems)),
        [style.theorem_title(t) + (f"\n{tightest[t]}" if t in tightest else "") for t in theorems],
    )
    ax.tick_params(axis="x", labelsize=8)
    ax.set_xlim(-0.6, len(theorems) - 0.4)
    ax.set_ylabel("measured criterion / bound")
    handles = [
        Line2D([], [], color="0.3", marker=SEARCH_MARKERS.get(s, "D"), linestyle="", label=s)
        for s in searches
    ]
    if (~inside).any():
        handles.append(
            Line2D([], [], color="0.6", marker="x", linestyle="", label="outside hypotheses")
        )
    handles += [
        Line2D([], [], color="0.3", marker="*", markersize=12, linestyle="", label="tightest"),
        Line2D([], [], color="k", linestyle="--", label="measured = bound"),
    ]
    ax.legend(handles=handles, loc="lower left", fontsize=8)
    if not theorems:
        style.no_data(ax)
    ax.set_title(TITLE)
    _over_T(ax_t, table, theorems)
    return fig


def _over_T(ax, table: pd.DataFrame, theorems: list[str]) -> None:
    """The constructive rows' ratios (paper form solid, sharp form dashed) against T."""
    rows = table[table["search"].astype(str) == "constructive"]
    if not len(rows):
        style.no_data(ax, "no constructive rows")
        ax.set_title(TITLE_T)
        return
    for k, thm in enumerate(theorems):
        g = rows[rows["theorem"].astype(str) == thm].sort_values("T")
        if not len(g):
            continue
        c = style.color(thm)
        # LARS and LAMB (β2 = 0) coincide in one dimension: later series get smaller markers
        # and thinner lines, so the one underneath stays visible
        size, width = 9 - 2 * k, 2.6 - 0.5 * k
        style.measured(ax, g["T"], g["ratio"], color=c, markersize=size, linewidth=width)
        if "ratio_sharp" in g and not np.allclose(g["ratio"], g["ratio_sharp"]):
            ax.plot(g["T"], g["ratio_sharp"], "--", marker="o", color=c, markersize=size,
                    linewidth=width, markerfacecolor="white")  # fmt: skip
    ax.axhline(1.0, color="k", linestyle=":", linewidth=1.0)
    ax.set_xscale("log", base=2)
    ax.set_ylim(0, 1.08)
    ax.set_xlabel("horizon T (iterations; b = T)")
    ax.set_ylabel("measured / bound")
    handles = [
        Line2D([], [], color=style.color(t), marker="o", label=style.theorem_title(t))
        for t in theorems
        if t in set(rows["theorem"].astype(str))
    ] + [
        Line2D([], [], color="0.3", linestyle="-", label="paper-form bound"),
        Line2D([], [], color="0.3", linestyle="--", markerfacecolor="white", marker="o",
               label="sharp bound (before squaring)"),
    ]  # fmt: skip
    ax.legend(handles=handles, loc="lower right", fontsize=7)
    ax.set_title(TITLE_T)
