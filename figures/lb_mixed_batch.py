"""Mixed-batch training (Section 4.1, BERT with 64K/32K): the evaluation loss around the switch from
the large to the smaller batch, with and without re-warm-up of the learning rate.

One panel per stage-1 peak η: the evaluation loss against the step (mean over seeds, band
min–max over seeds so a single seed's spike stays visible; log scale), the switch marked. A
last panel shows the two learning-rate schedules of the first peak η.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from figures import style
from figures._tables import require

NAME = "lb_mixed_batch"
TABLE = "lb_mixed_batch"
EXTRA: dict[str, str] = {}
TITLE = "Mixed-batch training: switch to a smaller batch with vs without re-warm-up"
CAPTION = (
    "LAMB's evaluation loss over steps when the batch halves after the first stage (dotted "
    "line), with the learning rate re-warmed from 0 or not (mean over seeds, band min–max over "
    "seeds), one panel per stage-1 peak learning rate; last panel: the schedules."
)
COLUMNS = ("peak_lr", "rewarmup", "seed", "step", "stage", "batch_size", "lr", "eval_loss")
VARIANTS = ((True, "with re-warm-up"), (False, "without re-warm-up"))


def _colors() -> dict:
    return dict(zip((True, False), style.palette(2), strict=True))


def _switch(rows: pd.DataFrame) -> float:
    return float(rows.loc[pd.to_numeric(rows["stage"]) == 0, "step"].max())


def _loss_panel(ax, rows: pd.DataFrame, lr: float) -> None:
    colors = _colors()
    for flag, name in VARIANTS:
        g = rows[rows["rewarmup"] == flag]
        if g.empty:
            continue
        per = g.groupby("step")["eval_loss"]
        x = per.mean().index.to_numpy(float)
        style.measured(
            ax, x, per.mean(), per.min(), per.max(), color=colors[flag], marker="", label=name
        )
    ax.axvline(_switch(rows), color="0.4", linestyle=":", linewidth=1.0)
    batches = rows.groupby("stage")["batch_size"].first().astype(int).tolist()
    ax.set_yscale("log")
    ax.set_xlabel("step")
    ax.set_ylabel("evaluation loss")
    ax.set_title(f"stage-1 η = {lr:g}, B = {' → '.join(map(str, batches))}")
    ax.legend(loc="upper right")


def _lr_panel(ax, rows: pd.DataFrame) -> None:
    colors = _colors()
    for flag, name in VARIANTS:
        g = rows[rows["rewarmup"] == flag]
        if len(g):
            g = g[g["seed"] == g["seed"].min()].sort_values("step")
            ax.plot(g["step"], g["lr"], "-", color=colors[flag], label=name)
    ax.axvline(_switch(rows), color="0.4", linestyle=":", linewidth=1.0, label="batch switch")
    ax.set_xlabel("step")
    ax.set_ylabel("learning rate (last step of each interval)")
    ax.set_title(f"schedules (stage-1 η = {float(rows['peak_lr'].iloc[0]):g})")
    ax.legend(loc="upper right")


@style.styled
def make(table: pd.DataFrame) -> Figure:
    """Draw the mixed-batch figure from the ``lb_mixed_batch`` history table."""
    require(table, COLUMNS, figure=NAME, table_name=TABLE)
    table = table.assign(rewarmup=style.as_bool(table["rewarmup"]))
    lrs = sorted(table["peak_lr"].unique())
    fig, axes = style.panels(len(lrs) + 1, ncols=min(len(lrs) + 1, 4))
    if not lrs:
        style.no_data(axes[0])
    for ax, lr in zip(axes, lrs, strict=False):
        _loss_panel(ax, table[np.isclose(table["peak_lr"], lr)], lr)
    if lrs:
        _lr_panel(axes[-1], table[np.isclose(table["peak_lr"], lrs[0])])
    fig.suptitle(TITLE)
    return fig
