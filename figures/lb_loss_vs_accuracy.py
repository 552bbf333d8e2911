"""Appendix H analog: test loss against test accuracy at large batch — across runs at the end of
training, and along training for each optimizer's most accurate configuration.

Reads ``lb_loss_vs_accuracy`` (one row per run × evaluation point, from
``experiments.reproduction.suites.lb_loss_vs_accuracy``). If a lower loss always meant a higher
accuracy,
the left panel's points would fall on one decreasing curve.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from figures import style
from figures._tables import require

NAME = "lb_loss_vs_accuracy"
TABLE = "lb_loss_vs_accuracy"
EXTRA: dict[str, str] = {}
TITLE = "Validation loss vs accuracy at large batch (Appendix H analog)"
CAPTION = (
    "Left: final test loss (log scale) against final test accuracy, one point per run "
    "(optimizer × η × seed); right: the path in the (loss, accuracy) plane along training of "
    "each optimizer's most accurate η (mean over seeds, circle at the end)."
)
COLUMNS = (
    "optimizer",
    "peak_lr",
    "seed",
    "step",
    "eval_loss",
    "eval_accuracy",
    "diverged",
    "final",
    "batch_size",
)
ORDER = ("momentum", "adagrad", "adam", "adamw", "lamb")


def _ordered(names) -> list[str]:
    names = [str(n) for n in dict.fromkeys(names)]
    return [n for n in ORDER if n in names] + sorted(n for n in names if n not in ORDER)


def _ok(df: pd.DataFrame) -> pd.DataFrame:
    d = df[~style.as_bool(df["diverged"])]
    loss = pd.to_numeric(d["eval_loss"], errors="coerce")
    return d[np.isfinite(loss) & (loss > 0) & np.isfinite(d["eval_accuracy"])]


def _final(ax, df: pd.DataFrame, opts: list[str]) -> None:
    fin = _ok(df[style.as_bool(df["final"])])
    for opt in opts:
        g = fin[fin["optimizer"].astype(str) == opt]
        ax.plot(
            g["eval_loss"], g["eval_accuracy"], "o", color=style.color(opt), alpha=0.75,
            label=style.label(opt), markeredgecolor="k", markeredgewidth=0.3,
        )  # fmt: skip
    style.log_axes(ax, y=False)
    ax.set_xlabel("final test loss (cross-entropy)")
    ax.set_ylabel("final test accuracy")
    ax.set_title(f"end of training, {fin.groupby(['optimizer', 'peak_lr', 'seed']).ngroups} runs")


def _paths(ax, df: pd.DataFrame, opts: list[str]) -> None:
    ok = _ok(df)
    fin = ok[style.as_bool(ok["final"])]
    for opt in opts:
        f = fin[fin["optimizer"].astype(str) == opt]
        if f.empty:
            continue
        lr = f.groupby("peak_lr")["eval_accuracy"].mean().idxmax()
        g = ok[(ok["optimizer"].astype(str) == opt) & (ok["peak_lr"] == lr)]
        path = g.groupby("step")[["eval_loss", "eval_accuracy"]].mean().sort_index()
        c = style.color(opt)
        ax.plot(
            path["eval_loss"], path["eval_accuracy"], "-", marker=".", color=c,
            label=f"{style.label(opt)} η={lr:g}",
        )  # fmt: skip
        ax.plot(path["eval_loss"].iloc[-1:], path["eval_accuracy"].iloc[-1:], "o", color=c,
                markersize=8, markeredgecolor="k")  # fmt: skip
    style.log_axes(ax, y=False)
    ax.set_xlabel("test loss (cross-entropy)")
    ax.set_ylabel("test accuracy")
    ax.set_title("along training, best η per optimizer")
    ax.legend(loc="lower left")


@style.styled
def make(table: pd.DataFrame) -> Figure:
    """Draw the figure from ``lb_loss_vs_accuracy``."""
    require(table, COLUMNS, figure=NAME, table_name=TABLE)
    fig, (left, right) = style.panels(2)
    if _ok(table).empty:
        style.no_data(left)
        style.no_data(right)
        fig.suptitle(TITLE)
        return fig
    opts = _ordered(table["optimizer"].astype(str))
    _final(left, table, opts)
    _paths(right, table, opts)
    style.legend_below(fig, left.get_legend_handles_labels()[0], ncol=5)
    fig.suptitle(f"{TITLE}\nB = {int(table['batch_size'].iloc[0])}")
    return fig
