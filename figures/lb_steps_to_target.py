"""Steps to a target loss against batch size with η re-tuned per batch size (Shallue et al. 2018;
Nado et al. 2021), and the tuned η itself.

Reads ``lb_steps_to_target_best`` (one row per optimizer × batch size, from
``experiments.reproduction.suites.lb_steps_to_target``). Perfect scaling is a line of slope −1 on
the log-log axes (drawn dashed, through the smallest batch's fastest optimizer). When the table
carries the workload's gradient noise scale (columns ``b_noise``, ``b_noise_lo``, ``b_noise_hi``)
it is marked as a vertical line with its min–max interval over seeds shaded, and McCandlish et
al.'s model S(B) = S_min (1 + B_crit/B), fitted per optimizer as in the suite's ``fit_bcrit``,
is drawn dotted in each optimizer's colour.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from figures import style
from figures._tables import require

NAME = "lb_steps_to_target"
TABLE = "lb_steps_to_target_best"
EXTRA: dict[str, str] = {}
TITLE = "Steps to target vs batch size, η tuned per batch size (equal grids)"
CAPTION = (
    "Left: tuned steps to the target test loss (mean over seeds, band min-max) against the "
    "batch size, log-log, with the perfect-scaling slope −1 dashed; right: the tuned peak η "
    "per batch size (open markers: at the grid's edge). Where measured, the workload's gradient "
    "noise scale b_noise is the grey vertical line (shaded: min-max over seeds) and the dotted "
    "curves are the fits S_min(1 + B_crit/B)."
)
COLUMNS = (
    "optimizer",
    "batch_size",
    "target_loss",
    "best_lr",
    "steps_mean",
    "steps_min",
    "steps_max",
    "n_seeds",
    "grid_size",
    "lr_at_grid_edge",
)
ORDER = ("lamb", "lars", "nesterov", "adam", "sgd")
NOISE = ("b_noise", "b_noise_lo", "b_noise_hi")
FIT_LABEL = "fit S_min(1 + B_crit/B)"
NOISE_COLOR = "0.45"


def fit_bcrit(batches, steps) -> tuple[float, float]:
    """(S_min, B_crit) of S = S_min (1 + B_crit/B): linear least squares of S on 1/B with weights
    1/S² (the suite's ``fit_bcrit``; repeated here so figures read tables only)."""
    b, s = np.asarray(batches, float), np.asarray(steps, float)
    ok = np.isfinite(b) & np.isfinite(s) & (b > 0) & (s > 0)
    b, s = b[ok], s[ok]
    if len(b) < 2 or np.unique(b).size < 2:
        return float("nan"), float("nan")
    (a, c), *_ = np.linalg.lstsq(np.stack([1 / s, 1 / (s * b)], 1), np.ones_like(s), rcond=None)
    if a <= 0:
        return float(a), float("inf")
    return float(a), float(max(c, 0.0) / a)


def _noise(table: pd.DataFrame) -> tuple[float, float, float] | None:
    if not set(NOISE) <= set(table.columns):
        return None
    v = tuple(float(pd.to_numeric(table[c], errors="coerce").iloc[0]) for c in NOISE)
    return v if np.isfinite(v[0]) and v[0] > 0 else None


def _mark_noise(ax, noise: tuple[float, float, float], label: bool) -> None:
    b, lo, hi = noise
    if np.isfinite(lo) and np.isfinite(hi) and hi > lo:
        ax.axvspan(lo, hi, color=NOISE_COLOR, alpha=0.18, linewidth=0)
    text = f"noise scale b_noise = {b:.0f} (band {lo:.0f}–{hi:.0f})" if label else None
    ax.axvline(b, color=NOISE_COLOR, linestyle="-.", linewidth=1.4, label=text)


def _fits(ax, table: pd.DataFrame, opts: list[str]) -> bool:
    """The fitted curves (≥ 3 finite points each); True if any was drawn."""
    drawn = False
    grid = np.geomspace(float(table["batch_size"].min()), float(table["batch_size"].max()), 100)
    for opt in opts:
        g = table[table["optimizer"].astype(str) == opt]
        s = pd.to_numeric(g["steps_mean"], errors="coerce")
        if int(np.isfinite(s).sum()) < 3:
            continue
        s_min, bc = fit_bcrit(g["batch_size"], s)
        if np.isfinite(s_min) and np.isfinite(bc) and s_min > 0:
            ax.plot(grid, s_min * (1 + bc / grid), ":", color=style.color(opt), linewidth=1.6)
            drawn = True
    return drawn


def _ordered(names) -> list[str]:
    names = [str(n) for n in dict.fromkeys(names)]
    return [n for n in ORDER if n in names] + sorted(n for n in names if n not in ORDER)


def _steps(ax, table: pd.DataFrame, opts: list[str]) -> None:
    for k, opt in enumerate(opts):
        g = table[table["optimizer"].astype(str) == opt]
        g = g[np.isfinite(pd.to_numeric(g["steps_mean"], errors="coerce"))]
        style.measured(
            ax, g["batch_size"], g["steps_mean"], g["steps_min"], g["steps_max"],
            color=style.color(opt), label=style.label(opt), marker=style.MARKERS[k % 8],
        )  # fmt: skip
    ok = table[np.isfinite(pd.to_numeric(table["steps_mean"], errors="coerce"))]
    if len(ok):
        b0 = float(ok["batch_size"].min())
        s0 = float(ok[ok["batch_size"] == b0]["steps_mean"].min())
        b = np.array(sorted(table["batch_size"].unique()), float)
        style.bound(ax, b, s0 * b0 / b, color="0.3", label="perfect scaling (slope −1)")
    noise = _noise(table)
    if noise is not None:
        _mark_noise(ax, noise, label=True)
    if _fits(ax, table, opts):
        ax.plot([], [], ":", color="0.3", linewidth=1.6, label=FIT_LABEL)
    style.log_axes(ax)
    style.ticks_at(ax, table["batch_size"].unique())
    ax.set_xlabel("batch size B")
    ax.set_ylabel(f"steps to test loss ≤ {float(table['target_loss'].iloc[0]):g}")
    ax.set_title("tuned steps to target")


def _lrs(ax, table: pd.DataFrame, opts: list[str]) -> None:
    for k, opt in enumerate(opts):
        g = table[table["optimizer"].astype(str) == opt].sort_values("batch_size")
        g = g[np.isfinite(pd.to_numeric(g["best_lr"], errors="coerce"))]
        c, mk = style.color(opt), style.MARKERS[k % 8]
        ax.plot(g["batch_size"], g["best_lr"], "-", marker=mk, color=c, label=style.label(opt))
        edge = g[style.as_bool(g["lr_at_grid_edge"])]
        ax.plot(edge["batch_size"], edge["best_lr"], mk, color="white", markeredgecolor=c,
                markersize=7)  # fmt: skip
    noise = _noise(table)
    if noise is not None:
        _mark_noise(ax, noise, label=False)
    style.log_axes(ax)
    style.ticks_at(ax, table["batch_size"].unique())
    ax.set_xlabel("batch size B")
    ax.set_ylabel("tuned peak η")
    ax.set_title(f"tuned η (grid of {int(table['grid_size'].min())} for each optimizer)")


@style.styled
def make(table: pd.DataFrame) -> Figure:
    """Draw the figure from ``lb_steps_to_target_best``."""
    require(table, COLUMNS, figure=NAME, table_name=TABLE)
    fig, (left, right) = style.panels(2)
    if table.empty:
        style.no_data(left)
        style.no_data(right)
        fig.suptitle(TITLE)
        return fig
    opts = _ordered(table["optimizer"].astype(str))
    _steps(left, table, opts)
    _lrs(right, table, opts)
    handles = left.get_legend_handles_labels()[0]
    style.legend_below(fig, handles, ncol=min(len(handles), 4))
    fig.suptitle(f"{TITLE}\nteacher-student stream, n={int(table['n_seeds'].min())} seeds")
    return fig
