"""Measured per-layer smoothness L_i and noise σ_i of real networks along LAMB training, and the
layer-wise bounds relative to SGD's (Theorems 1-3, Appendix C).

Left: L_i per layer (max over checkpoints, mean over seeds, band min-max over seeds), layers
sorted from the stiffest; the legend gives r_L = L_∞/L_avg. Middle: σ_i likewise. Right: the
LARS and LAMB (β2 = 0) bounds divided by SGD's at the measured constants (φ constant), mean ±
std over seeds; below the line at 1 the layer-wise bound is the stronger.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib import ticker
from matplotlib.figure import Figure

from figures import style
from figures._tables import require

NAME = "lb_smoothness"
TABLE = "lb_smoothness"
EXTRA = {"bounds": "lb_smoothness_bounds"}
TITLE = "Per-layer smoothness and noise of real networks, and what the bounds make of them"
CAPTION = (
    "Local per-layer smoothness L_i and per-example gradient noise σ_i along LAMB training "
    "(layers sorted, mean over seeds, min-max band; six decades shown, layers below marked ▼), "
    "and the LARS / LAMB (β2 = 0) bounds over "
    "SGD's bound at those constants (mean ± std over seeds; < 1: the layer-wise bound is smaller)."
)
COLUMNS = ("net", "seed", "step", "layer", "L", "sigma")
BOUND_COLUMNS = ("net", "seed", "phi", "theorem", "ratio_to_sgd", "r_L")
NET_ORDER = ("digits/mlp", "digits/cnn", "mlm/bert")
METHODS = ("lars", "lamb_beta2_zero")
DECADES = 6  # the per-layer panels show this many decades below their largest value


def _nets(names) -> list[str]:
    names = set(names)
    return [n for n in NET_ORDER if n in names] + sorted(names - set(NET_ORDER))


def _per_layer(ax, table: pd.DataFrame, column: str, ylabel: str, r_l: dict) -> None:
    top, below = 0.0, []
    series = []
    for c, net in zip(style.palette(len(_nets(table["net"]))), _nets(table["net"]), strict=True):
        # per seed: max over checkpoints per layer, then sorted descending (rank 1 = largest)
        per = table[table["net"] == net].groupby(["seed", "layer"])[column].max().reset_index()
        ranked = np.stack(
            [np.sort(g[column].to_numpy(float))[::-1] for _, g in per.groupby("seed")]
        )
        rank = np.arange(1, ranked.shape[1] + 1)
        mean = ranked.mean(0)
        top = max(top, float(np.nanmax(mean)))
        series.append((net, c, rank, mean, ranked))
    # a few near-zero layers (e.g. untouched embedding rows) would stretch the axis over 16
    # decades and flatten everything else: show DECADES decades, mark the layers below the floor
    floor = top * 10.0**-DECADES if top > 0 else None
    for net, c, rank, mean, ranked in series:
        tail = f": r_L = {r_l[net]:.3g}" if net in r_l and column == "L" else ""
        style.measured(
            ax, rank, mean, ranked.min(0), ranked.max(0), color=c,
            label=f"{net} (h={ranked.shape[1]}){tail}",
        )  # fmt: skip
        if floor is not None and (mean < floor).any():
            low = mean < floor
            ax.plot(rank[low], np.full(low.sum(), floor), "v", color=c, clip_on=False, zorder=4)
            below.append(f"{net}: {int(low.sum())}")
    ax.set_yscale("log")
    ax.set_xscale("log")
    if floor is not None:
        ax.set_ylim(floor, top * 5)
    ax.xaxis.set_major_formatter(ticker.FuncFormatter(lambda v, _: f"{v:g}"))
    ax.set_xlabel("layer rank (1 = largest)")
    ax.set_ylabel(ylabel)
    note = f"▼ layers below {floor:.0e} (on the axis): " + ", ".join(below) if below else None
    ax.legend(loc="upper right", fontsize=7, title=note, title_fontsize=7)


def _ratios(ax, bounds: pd.DataFrame) -> None:
    b = bounds[(bounds["phi"] == "constant") & bounds["theorem"].isin(METHODS)]
    nets = _nets(b["net"])
    for j, m in enumerate(METHODS):
        g = b[b["theorem"] == m].groupby("net")["ratio_to_sgd"].agg(["mean", "std"])
        g = g.reindex(nets)
        x = np.arange(len(nets)) + (j - 0.5) * 0.2
        ax.errorbar(
            x, g["mean"], yerr=g["std"].fillna(0.0), fmt=style.MARKERS[j], color=style.color(m),
            label=style.label(m), capsize=3,
        )  # fmt: skip
    ax.axhline(1.0, color=style.color("sgd"), linewidth=1.0, label="SGD's bound")
    ax.set_xticks(np.arange(len(nets)), nets)
    ax.set_yscale("log")
    ax.yaxis.set_major_formatter(ticker.FuncFormatter(lambda v, _: f"{v:g}"))
    # minor labels at 2 and 5 only: every minor label collides near the line at 1
    ax.yaxis.set_minor_formatter(
        ticker.FuncFormatter(lambda v, _: f"{v:g}" if f"{v:.0e}"[0] in "25" else "")
    )
    ax.set_ylabel("bound / SGD's bound (φ constant)")
    ax.set_title("layer-wise bound vs SGD")
    ax.legend(loc="best", fontsize=7)


@style.styled
def make(table: pd.DataFrame, bounds: pd.DataFrame) -> Figure:
    """Draw the figure from ``lb_smoothness`` (per layer) and ``lb_smoothness_bounds``."""
    require(table, COLUMNS, figure=NAME, table_name=TABLE)
    require(bounds, BOUND_COLUMNS, figure=NAME, table_name=EXTRA["bounds"])
    fig, axes = style.panels(3, ncols=3)
    if table.empty or bounds.empty:
        style.no_data(axes[0])
        return fig
    const = bounds[(bounds["phi"] == "constant") & (bounds["theorem"] == "lars")]
    r_l = const.groupby("net")["r_L"].mean().to_dict()
    _per_layer(axes[0], table, "L", "L_i (max over checkpoints)", r_l)
    axes[0].set_title("per-layer smoothness")
    _per_layer(axes[1], table, "sigma", "σ_i (max over checkpoints)", r_l)
    axes[1].set_title("per-layer gradient noise")
    _ratios(axes[2], bounds)
    fig.suptitle(TITLE)
    return fig
