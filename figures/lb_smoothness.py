"""Measured per-layer smoothness L_i and noise σ_i of real networks along LAMB training, and the
layer-wise bounds relative to SGD's (Theorems 1-3, Appendix C).

Left: per layer, the block-descent constants L_i = κ̂‖H_ii‖ the theorems use (solid, markers;
max over checkpoints, mean over seeds, band min-max over seeds) and the diagonal-block norms
‖H_ii‖ (dashed, same colour; they need not satisfy the block descent inequality), each sorted
from the stiffest layer; the net legend gives r_L = L_∞/L_avg of the block-descent constants,
the style legend the range of κ̂ = L_i/‖H_ii‖ over checkpoints and seeds. Middle: σ_i as L_i.
Right: the LARS and LAMB (β2 = 0) bounds divided by SGD's at the measured constants (φ
constant), mean ± std over seeds: filled with the block-descent L_i, open with ‖H_ii‖ in their
place; below the line at 1 the layer-wise bound is the stronger.
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
    "Local per-layer smoothness along LAMB training: the block-descent constants L_i = κ̂‖H_ii‖ "
    "the theorems use (solid) and the diagonal-block norms ‖H_ii‖ (dashed), and per-example "
    "gradient noise σ_i (layers sorted, mean over seeds, min-max band; six decades shown, layers "
    "below marked ▼/▽), and the LARS / LAMB (β2 = 0) bounds over SGD's bound at those constants "
    "(mean ± std over seeds; filled: block-descent L_i, open: ‖H_ii‖; < 1: the layer-wise bound "
    "is smaller)."
)
COLUMNS = ("net", "seed", "step", "layer", "L", "L_diag_block", "kappa", "sigma")
BOUND_COLUMNS = ("net", "seed", "phi", "theorem", "ratio_to_sgd", "ratio_to_sgd_diag_block", "r_L")
NET_ORDER = ("digits/mlp", "digits/cnn", "mlm/bert")
METHODS = ("lars", "lamb_beta2_zero")
DECADES = 6  # the per-layer panels show this many decades below their largest value
DIAG = "_diag_block"  # the bounds table's suffix for bounds with ‖H_ii‖ in place of L_i


def _nets(names) -> list[str]:
    names = set(names)
    return [n for n in NET_ORDER if n in names] + sorted(names - set(NET_ORDER))


def _ranked(table: pd.DataFrame, net: str, column: str) -> np.ndarray:
    """[seed, rank]: per seed the max over checkpoints per layer, sorted descending."""
    per = table[table["net"] == net].groupby(["seed", "layer"])[column].max().reset_index()
    return np.stack([np.sort(g[column].to_numpy(float))[::-1] for _, g in per.groupby("seed")])


def _per_layer(
    ax, table: pd.DataFrame, column: str, ylabel: str, r_l: dict, dashed=None, key: str = ""
) -> None:
    """``column`` per layer rank (solid, min-max band); ``dashed``: a second column (mean);
    ``key``: lines above the legend's floor note (the legend's entries are the nets')."""
    nets = _nets(table["net"])
    series = [
        (net, c, _ranked(table, net, column),
         None if dashed is None else _ranked(table, net, dashed).mean(0))
        for c, net in zip(style.palette(len(nets)), nets, strict=True)
    ]  # fmt: skip
    top = max(
        max(float(np.nanmax(r.mean(0))), 0.0 if e is None else float(np.nanmax(e)))
        for _, _, r, e in series
    )
    # a few near-zero layers (e.g. untouched embedding rows) would stretch the axis over 16
    # decades and flatten everything else: show DECADES decades, mark the layers below the floor
    floor = top * 10.0**-DECADES if top > 0 else None
    below = []
    for net, c, ranked, extra in series:
        rank, mean = np.arange(1, ranked.shape[1] + 1), ranked.mean(0)
        tail = f": r_L = {r_l[net]:.3g}" if net in r_l and column == "L" else ""
        style.measured(
            ax, rank, mean, ranked.min(0), ranked.max(0), color=c,
            label=f"{net} (h={ranked.shape[1]}){tail}",
        )  # fmt: skip
        counts = [_mark_below(ax, rank, mean, floor, c, filled=True)]
        if extra is not None:
            ax.plot(rank, extra, "--", color=c, linewidth=1.0, zorder=3)
            counts.append(_mark_below(ax, rank, extra, floor, c, filled=False))
        if any(counts):
            below.append(f"{net}: " + "/".join(map(str, counts)))
    ax.set_yscale("log")
    ax.set_xscale("log")
    if floor is not None:
        ax.set_ylim(floor, top * 5)
    ax.xaxis.set_major_formatter(ticker.FuncFormatter(lambda v, _: f"{v:g}"))
    ax.set_xlabel("layer rank (1 = largest)")
    ax.set_ylabel(ylabel)
    marks = "▼/▽" if dashed is not None else "▼"
    note = f"{marks} layers below {floor:.0e} (on the axis): " + ", ".join(below) if below else ""
    title = "\n".join(line for line in (key, note) if line) or None
    # with a key the legend is too tall for the empty corner: below the axes instead
    below_axes = {"loc": "upper center", "bbox_to_anchor": (0.5, -0.16)}
    where = below_axes if key else {"loc": "upper right"}
    ax.legend(**where, fontsize=7, title=title, title_fontsize=7, alignment="left")


def _mark_below(ax, rank: np.ndarray, y: np.ndarray, floor, color: str, filled: bool) -> int:
    """Triangles on the axis floor where ``y`` is below it; returns how many."""
    low = np.zeros(len(y), bool) if floor is None else y < floor
    if not low.any():
        return 0  # no empty artist: the panels' line counts stay the series'
    ax.plot(rank[low], np.full(low.sum(), floor), "v", color=color, clip_on=False, zorder=4,
            fillstyle="full" if filled else "none")  # fmt: skip
    return int(low.sum())


def _kinds_key(kappa: dict[str, tuple[float, float]]) -> str:
    """Which line is which constant, and κ̂'s range per net (the legend title: its entries stay
    the nets')."""
    ranges = ", ".join(f"{net} {lo:.3g}-{hi:.3g}" for net, (lo, hi) in kappa.items())
    return (
        "solid: L_i = κ̂‖H_ii‖ (block descent; the theorems')\n"
        "dashed: ‖H_ii‖ (diagonal block alone)\n"
        f"κ̂ over checkpoints: {ranges}"
    )


def _ratios(ax, bounds: pd.DataFrame) -> None:
    b = bounds[(bounds["phi"] == "constant") & bounds["theorem"].isin(METHODS)]
    nets = _nets(b["net"])
    for j, m in enumerate(METHODS):
        g = b[b["theorem"] == m].groupby("net")["ratio_to_sgd"].agg(["mean", "std"])
        g = g.reindex(nets)
        x = np.arange(len(nets)) + (j - 0.5) * 0.3 - 0.05
        ax.errorbar(
            x, g["mean"], yerr=g["std"].fillna(0.0), fmt=style.MARKERS[j], color=style.color(m),
            label=style.label(m), capsize=3,
        )  # fmt: skip
        d = b[b["theorem"] == m].groupby("net")[f"ratio_to_sgd{DIAG}"].agg(["mean", "std"])
        d = d.reindex(nets)
        ax.errorbar(
            x + 0.1, d["mean"], yerr=d["std"].fillna(0.0), fmt=style.MARKERS[j],
            color=style.color(m), mfc="none", capsize=2, elinewidth=0.8,
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
    ax.legend(
        loc="best", fontsize=7, title_fontsize=7, alignment="left",
        title="filled: block-descent L_i (the theorems')\nopen: ‖H_ii‖ in place of L_i",
    )  # fmt: skip


@style.styled
def make(table: pd.DataFrame, bounds: pd.DataFrame) -> Figure:
    """Draw the figure from ``lb_smoothness`` (per layer) and ``lb_smoothness_bounds``."""
    require(table, COLUMNS, figure=NAME, table_name=TABLE)
    require(bounds, BOUND_COLUMNS, figure=NAME, table_name=EXTRA["bounds"])
    fig, axes = style.panels(3, ncols=3)
    width, height = fig.get_size_inches()
    fig.set_size_inches(width, height * 1.45)  # room for the left panel's legend below it
    if table.empty or bounds.empty:
        style.no_data(axes[0])
        return fig
    const = bounds[(bounds["phi"] == "constant") & (bounds["theorem"] == "lars")]
    r_l = const.groupby("net")["r_L"].mean().to_dict()
    k = table.groupby("net")["kappa"].agg(["min", "max"])
    kappa = {n: (k.loc[n, "min"], k.loc[n, "max"]) for n in _nets(table["net"])}
    _per_layer(
        axes[0], table, "L", "L_i, ‖H_ii‖ (loss / param², max over checkpoints)", r_l,
        dashed="L_diag_block", key=_kinds_key(kappa),
    )  # fmt: skip
    axes[0].set_title("per-layer smoothness")
    _per_layer(axes[1], table, "sigma", "σ_i (loss / param, max over checkpoints)", r_l)
    axes[1].set_title("per-layer gradient noise")
    _ratios(axes[2], bounds)
    fig.suptitle(TITLE)
    return fig
