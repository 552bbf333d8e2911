"""Tables 1 and 4 in miniature: final accuracy against batch size under the paper's untuned
rule (η ∝ √B, linear-epoch warmup, fixed epochs), LAMB beside AdamW and Adam.

One panel per anchor (the batch size where η_ref was picked: the smallest, i.e. tune small and
scale up, and the largest, where the paper's Table 4/5 values are round), each optimizer's rule
curve as mean ± std over seeds, the per-batch re-tuned best of the grid dotted, LAMB's "roughly
flat" band shaded; a last panel shows the steps halving as the batch doubles (Tables 1
and 4, Section 4.3).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from figures import style
from figures._tables import require

NAME = "lb_batch_scaling"
TABLE = "lb_batch_scaling_rule"
EXTRA: dict[str, str] = {}
TITLE = "Tables 1/4: untuned batch scaling (√ LR rule, linear-epoch warmup)"
CAPTION = (
    "Final test accuracy against batch size at a fixed epoch budget with η ∝ √B and "
    "linear-epoch warmup, η_ref picked once at the smallest (left) or largest (middle) batch "
    "(mean ± std over seeds; dotted: re-tuned at each batch; grey band: within the flatness "
    "tolerance of LAMB's best); right: training steps per batch size."
)
COLUMNS = (
    "optimizer",
    "anchor",
    "anchor_batch",
    "base_lr",
    "batch_size",
    "total_steps",
    "mean",
    "std",
    "n",
    "best_grid_mean",
)
ORDER = ("lamb", "adamw", "adam")
ANCHOR_TITLES = {
    "smallest": "η_ref picked at the smallest batch",
    "largest": "η_ref picked at the largest batch",
}


def _anchor_panel(ax, rows: pd.DataFrame, anchor: str) -> None:
    batches = sorted(rows["batch_size"].unique())
    for opt, g in style.groups(rows, "optimizer", ORDER):
        g = g.sort_values("batch_size")
        c = style.color(opt)
        mean, std = g["mean"].to_numpy(float), np.nan_to_num(g["std"].to_numpy(float))
        eta = float(g["base_lr"].iloc[0])
        style.measured(
            ax,
            g["batch_size"],
            mean,
            mean - std,
            mean + std,
            color=c,
            label=f"{style.label(opt)} (η_ref = {eta:g})",
        )
        ax.plot(g["batch_size"], g["best_grid_mean"], ":", color=c, linewidth=1.1)
        if opt == "lamb" and "flat_tol" in g and np.isfinite(mean).any():
            top = float(np.nanmax(mean))
            ax.axhspan(top - float(g["flat_tol"].iloc[0]), top, color="0.5", alpha=0.12, lw=0)
    style.log_axes(ax, y=False)
    style.ticks_at(ax, batches)
    ax.set_xlabel("batch size B")
    ax.set_ylabel("final test accuracy")
    anchor_b = int(rows["anchor_batch"].iloc[0])
    ax.set_title(f"{ANCHOR_TITLES.get(anchor, anchor)} (B = {anchor_b})")
    ax.legend(loc="lower left")


def _steps_panel(ax, rows: pd.DataFrame) -> None:
    steps = rows.groupby("batch_size")["total_steps"].first().sort_index()
    b, t = steps.index.to_numpy(float), steps.to_numpy(float)
    style.measured(ax, b, t, color="0.25", label="steps T(B)")
    ax.plot(b, t[0] * b[0] / b, ":", color="0.5", label="T(B_0)·B_0/B (exact halving)")
    style.log_axes(ax)
    style.ticks_at(ax, b)
    style.ticks_at(ax, t, axis="y")
    ax.set_xlabel("batch size B")
    ax.set_ylabel("training steps (fixed epochs)")
    ax.set_title("steps halve as B doubles")
    ax.legend(loc="upper right")


@style.styled
def make(table: pd.DataFrame) -> Figure:
    """Draw the batch-scaling figure from ``lb_batch_scaling_rule``."""
    require(table, COLUMNS, figure=NAME, table_name=TABLE)
    anchors = [a for a in ANCHOR_TITLES if a in set(table["anchor"].astype(str))]
    fig, axes = style.panels(len(anchors) + 1, ncols=3)
    if table.empty:
        style.no_data(axes[0])
        fig.suptitle(TITLE)
        return fig
    for ax, anchor in zip(axes, anchors, strict=False):
        _anchor_panel(ax, table[table["anchor"].astype(str) == anchor], anchor)
    _steps_panel(axes[-1], table)
    key = [
        Line2D([], [], color="0.3", linestyle=":", label="re-tuned at each batch (best of grid)")
    ]
    style.legend_below(fig, key, ncol=1)
    fig.suptitle(TITLE)
    return fig
