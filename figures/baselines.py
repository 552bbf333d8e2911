"""Baselines like for like: every method's metrics at its tuned η, in matched-momentum arms with a
constant and a cosine-decayed step size, side by side.

The synthetic-problem counterpart of the paper's fair-comparison protocol (Section 4 and Appendix
G: every optimizer tuned over a learning-rate grid). One row of panels per (instance, batch size);
the columns are the metrics (f - f*, the primary one the η is tuned for; E‖∇f(x_a)‖²; steps to
ε); in each panel one group of bars per (β1, schedule) arm with SGD (momentum SGD at β1 = 0.9),
LARS, LAMB and Adam (β1 = 0: RMSProp-like).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch

from figures import style
from figures._tables import require

NAME = "baselines"
TABLE = "baselines"
EXTRA: dict[str, str] = {}
TITLE = "Baselines like for like: equal η grids, matched β1, same schedule"
CAPTION = (
    "Each method at its η tuned for f - f* (one grid for all), per instance and batch size "
    "(rows) and metric (columns): final f - f* with its 95% CI, E‖∇f(x_a)‖² and the steps to "
    "reach f - f* ≤ ε (ε = 10⁻³ of the initial gap; × where not reached within T), for the "
    "arms β1 = 0 and β1 = 0.9, each with a constant and a cosine-decayed step size (log y for "
    "f - f* and E‖∇f(x_a)‖²)."
)
COLUMNS = (
    "instance",
    "batch_size",
    "method",
    "beta1",
    "schedule",
    "eta",
    "f_gap",
    "f_gap_ci_low",
    "f_gap_ci_high",
    "grad_sq",
    "steps_to_eps",
)
METHODS = ("sgd", "lars", "lamb", "adam")
METHOD_LABEL = {"sgd": "SGD (momentum at β1 = 0.9)", "adam": "Adam (RMSProp-like at β1 = 0)"}
METRICS = (
    ("f_gap", "final f − f*"),
    ("grad_sq", style.CRITERION["sgd"]),
    ("steps_to_eps", "steps to f − f* ≤ ε"),
)
WIDTH = 0.2


def _arms(table: pd.DataFrame) -> list[tuple[float, str]]:
    pairs = table[["beta1", "schedule"]].drop_duplicates()
    return sorted((float(b), str(s)) for b, s in pairs.itertuples(index=False))


def _bars(ax, rows: pd.DataFrame, metric: str, arms, T: float) -> None:
    for k, method in enumerate(METHODS):
        m = rows[rows["method"].astype(str) == method]
        xs, ys, lo, hi = [], [], [], []
        for j, (beta1, schedule) in enumerate(arms):
            r = m[(m["beta1"].astype(float) == beta1) & (m["schedule"].astype(str) == schedule)]
            if not len(r):
                continue
            x = j + (k - (len(METHODS) - 1) / 2) * WIDTH
            y = float(r[metric].iloc[0])
            if not np.isfinite(y):  # never reached ε (or diverged): a cross at the horizon
                ax.plot(x, T, "x", color=style.color(method), markersize=7, mew=1.6)
                continue
            xs.append(x), ys.append(y)
            if metric == "f_gap":
                lo.append(y - float(r["f_gap_ci_low"].iloc[0]))
                hi.append(float(r["f_gap_ci_high"].iloc[0]) - y)
        if xs:
            err = np.clip([lo, hi], 0, None) if lo else None
            kw = {"yerr": err, "capsize": 2, "error_kw": {"linewidth": 0.8}}
            ax.bar(xs, ys, WIDTH, color=style.color(method), **kw)
    if metric == "steps_to_eps":  # counts up to T: linear, with room for the crosses at T
        ax.set_ylim(0, 1.08 * T if np.isfinite(T) else None)
    else:
        ax.set_yscale("log")
    ax.set_xticks(range(len(arms)))
    ax.set_xticklabels([f"β1={b:g}\n{s}" for b, s in arms])


@style.styled
def make(table: pd.DataFrame) -> Figure:
    """Draw the baselines figure from the tuned ``baselines`` table (one row per instance,
    batch size, method, β1 and schedule)."""
    require(table, COLUMNS, figure=NAME, table_name=TABLE)
    pairs = zip(table["instance"].astype(str), table["batch_size"].astype(int), strict=True)
    cells = list(dict.fromkeys(pairs))
    ncols = len(METRICS)
    fig, axes = style.panels(max(len(cells), 1) * ncols, ncols=ncols)
    if not cells:
        style.no_data(axes[0])
    arms = _arms(table)
    for i, (inst, b) in enumerate(cells):
        rows = table[(table["instance"].astype(str) == inst) & (table["batch_size"] == b)]
        T = float(rows["T"].iloc[0]) if "T" in rows else np.nan
        noise = "b = T" if b == T else f"b = {b}"
        for j, (metric, what) in enumerate(METRICS):
            ax = axes[i * ncols + j]
            _bars(ax, rows, metric, arms, T)
            ax.set_title(f"{inst}, {noise}", fontsize=9)
            ax.set_ylabel(what + (" (at tuned η)" if j else " (tuned η)"))
    handles = [
        Patch(color=style.color(m), label=METHOD_LABEL.get(m, style.label(m))) for m in METHODS
    ]
    handles.append(
        Line2D([], [], color="0.3", marker="x", linestyle="", mew=1.6, label="ε not reached in T")
    )
    if cells:
        style.legend_below(fig, handles, ncol=len(handles))
    T = table["T"].iloc[0] if "T" in table and len(table) else None
    fig.suptitle(TITLE + (f" (T = {T})" if T is not None else ""))
    return fig
