"""The AdamW tuning table at the largest batch (appendix Table 8) in miniature: AdamW's final
masked-LM evaluation loss over warmup × learning rate, beside LAMB's untuned and tuned points.

Left: loss against peak η, one line per warmup fraction (mean ± std over seeds), LAMB's untuned
loss as a horizontal line with its ± std band (and LAMB tuned at this batch dotted); the legend
sits under the panels. Right: the same AdamW grid as an annotated heat map (brighter = lower
loss), the best cell outlined.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle

from figures import style
from figures._tables import require

NAME = "lb_adamw_tuning"
TABLE = "lb_adamw_tuning_grid"
EXTRA: dict[str, str] = {}
TITLE = "Table 8: AdamW tuned over warmup × LR at the largest batch vs LAMB (tiny BERT, MLM)"
CAPTION = (
    "AdamW's final masked-LM evaluation loss (nats, lower is better) at the largest batch over "
    "warmup fraction × peak learning rate (mean ± std over seeds; right: the grid as a heat map, "
    "best cell outlined) against LAMB with its untuned √-scaled learning rate (solid line and "
    "band) and LAMB tuned at that batch (dotted)."
)
COLUMNS = ("optimizer", "role", "warmup_fraction", "peak_lr", "mean", "std", "n", "batch_size")


def _lines(ax, grid: pd.DataFrame, lamb: pd.DataFrame, tuned: pd.DataFrame) -> None:
    warmups = sorted(grid["warmup_fraction"].unique())
    colors = style.shades(style.color("adamw"), len(warmups))
    for w, c, mk in zip(warmups, colors, style.MARKERS, strict=False):
        g = grid[grid["warmup_fraction"] == w].sort_values("peak_lr")
        m, s = g["mean"].to_numpy(float), np.nan_to_num(g["std"].to_numpy(float))
        style.measured(
            ax, g["peak_lr"], m, m - s, m + s, color=c, marker=mk, label=f"AdamW, warmup {w:g}·T"
        )
    for rows, ls, what in ((lamb, "-", "untuned"), (tuned, ":", "tuned at this batch")):
        if len(rows):
            r = rows.iloc[0]
            c = style.color("lamb")
            ax.axhline(r["mean"], color=c, linestyle=ls, label=f"LAMB {what} ({r['mean']:.3f})")
            if ls == "-" and np.isfinite(r["std"]):
                ax.axhspan(r["mean"] - r["std"], r["mean"] + r["std"], color=c, alpha=0.15, lw=0)
    style.log_axes(ax, y=False)
    lrs = sorted(float(v) for v in grid["peak_lr"].unique())
    ax.set_xticks(lrs, [f"{v:g}" for v in lrs])
    ax.minorticks_off()
    ax.set_xlabel("AdamW peak learning rate η")
    ax.set_ylabel("final MLM eval loss, nats")
    title = f"B = {int(grid['batch_size'].iloc[0])} (lower is better)"
    if {"workload", "n_train", "total_steps"} <= set(grid.columns):
        g0 = grid.iloc[0]
        title += (
            f"\nT = {int(g0['total_steps'])} steps; {g0['workload']}, "
            f"n_train = {int(g0['n_train']):,}"
        )
    ax.set_title(title, fontsize="medium")
    style.legend_below(ax.figure, ax.get_legend_handles_labels()[0], ncol=2)


def _heatmap(ax, grid: pd.DataFrame) -> None:
    piv = grid.pivot_table(index="warmup_fraction", columns="peak_lr", values="mean")
    vals = piv.to_numpy(float)
    im = ax.imshow(vals, cmap="viridis_r", aspect="auto", origin="lower")
    ax.figure.colorbar(im, ax=ax, label="mean final MLM eval loss, nats")
    mid = np.nanmean(vals) if np.isfinite(vals).any() else 0.0
    for (i, j), v in np.ndenumerate(vals):
        ax.text(
            j,
            i,
            "div." if not np.isfinite(v) else f"{v:.3f}",
            ha="center",
            va="center",
            fontsize=7,
            color="w" if np.isfinite(v) and v > mid else "k",
        )
    if np.isfinite(vals).any():
        i, j = np.unravel_index(np.nanargmin(vals), vals.shape)
        ax.add_patch(Rectangle((j - 0.5, i - 0.5), 1, 1, fill=False, edgecolor="r", lw=2))
    ax.set_xticks(range(len(piv.columns)), [f"{v:g}" for v in piv.columns])
    ax.set_yticks(range(len(piv.index)), [f"{v:g}" for v in piv.index])
    ax.set_xlabel("AdamW peak learning rate η")
    ax.set_ylabel("warmup fraction of T")
    ax.set_title("AdamW grid (best outlined)")
    ax.grid(False)


@style.styled
def make(table: pd.DataFrame) -> Figure:
    """Draw the AdamW tuning figure from ``lb_adamw_tuning_grid``."""
    require(table, COLUMNS, figure=NAME, table_name=TABLE)
    role = table["role"].astype(str)
    grid = table[role == "tuned_grid"]
    fig, axes = style.panels(2)
    if grid.empty:
        style.no_data(axes[0], "no AdamW grid rows")
        style.no_data(axes[1], "no AdamW grid rows")
    else:
        _lines(axes[0], grid, table[role == "untuned_rule"], table[role == "tuned_at_batch"])
        _heatmap(axes[1], grid)
    fig.suptitle(TITLE)
    return fig
