"""Table 3 analog: AdaGrad, Adam and AdamW with and without the Goyal et al. recipe, momentum with
it, and LAMB, each tuned over an equal peak-η grid at one large batch.

Left: each arm's best-η final test accuracy (mean ± std over seeds), grouped by optimizer, the
recipe arms hatched. Right: the whole grid, accuracy against the peak η per arm (solid: no
recipe, dashed: recipe), stars at each arm's pick; diverged points as crosses on the floor.

Reads ``lb_goyal_recipes_best`` (one row per arm) and ``lb_goyal_recipes`` (one row per run),
from ``experiments.reproduction.suites.lb_goyal_recipes``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch

from figures import style
from figures._tables import require

NAME = "lb_goyal_recipes"
TABLE = "lb_goyal_recipes_best"
EXTRA = {"runs": "lb_goyal_recipes"}
TITLE = "Table 3 analog: adaptive optimizers ± the Goyal recipe vs momentum and LAMB"
CAPTION = (
    "Final test accuracy at one large batch: left, each arm at its best peak η (mean ± std "
    "over seeds; hatched: Goyal et al.'s warmup + step-decay recipe); right, accuracy against "
    "the peak η for every arm (solid: no recipe, dashed: recipe; stars: picks)."
)
COLUMNS = (
    "workload", "arm", "optimizer", "recipe", "batch_size", "total_steps", "best_peak_lr",
    "mean", "std", "n", "n_diverged",
)  # fmt: skip
RUN_COLUMNS = ("arm", "optimizer", "recipe", "peak_lr", "seed", "final_eval_accuracy", "diverged")
ORDER = ("adagrad", "adam", "adamw", "momentum", "lamb")  # Table 3's column order
HATCH = "///"
CHANCE = 0.1  # ten classes (MNIST-1D, digits)


def _ordered(names) -> list[str]:
    names = [str(n) for n in dict.fromkeys(names)]
    return [n for n in ORDER if n in names] + sorted(n for n in names if n not in ORDER)


def _bars(ax, best: pd.DataFrame) -> None:
    best = best.assign(
        recipe=style.as_bool(best["recipe"]), optimizer=best["optimizer"].astype(str)
    )
    opts = _ordered(best["optimizer"])
    width, ticks = 0.38, []
    for i, opt in enumerate(opts):
        g = best[best["optimizer"] == opt].sort_values("recipe")
        offsets = [0.0] if len(g) == 1 else np.linspace(-width / 2, width / 2, len(g))
        for off, r in zip(offsets, g.itertuples(), strict=True):
            m = float(r.mean) if np.isfinite(r.mean) else 0.0
            s = float(r.std) if np.isfinite(r.std) else 0.0
            ax.bar(
                i + off, m, width=width * 0.95, yerr=s, capsize=3, color=style.color(opt),
                edgecolor="k", linewidth=0.8, hatch=HATCH if r.recipe else None,
                alpha=0.9,
            )  # fmt: skip
            text = f"{m:.3f}\nη={float(r.best_peak_lr):g}" if np.isfinite(r.mean) else "diverged"
            ax.text(i + off, m + s + 0.01, text, ha="center", va="bottom", fontsize=6.5)
        ticks.append(style.label(opt))
    ax.axhline(CHANCE, color="0.5", linestyle=":", linewidth=1)
    ax.set_xticks(np.arange(len(opts)), ticks)
    ax.set_ylim(0.0, 1.12)
    ax.set_ylabel("best-η final test accuracy (±1 std)")
    n = int(best["n"].min()) if len(best) else 0
    ax.set_title(f"each arm at its best η (n={n} seeds)")


def _curves(ax, runs: pd.DataFrame, best: pd.DataFrame) -> None:
    runs = runs.assign(
        diverged=style.as_bool(runs["diverged"]),
        recipe=style.as_bool(runs["recipe"]),
        arm=runs["arm"].astype(str),
        optimizer=runs["optimizer"].astype(str),
    )
    acc = pd.to_numeric(runs["final_eval_accuracy"], errors="coerce")
    runs = runs.assign(acc=acc.where(~runs["diverged"]))
    picks = best.assign(arm=best["arm"].astype(str)).set_index("arm")
    for arm in dict.fromkeys(runs.sort_values("optimizer", key=lambda s: s.map(_rank))["arm"]):
        g = runs[runs["arm"] == arm]
        opt, recipe = g["optimizer"].iloc[0], bool(g["recipe"].iloc[0])
        pts = g.groupby("peak_lr").agg(
            m=("acc", "mean"), s=("acc", "std"), div=("diverged", "any")
        ).reset_index()  # fmt: skip
        ok = pts[~pts["div"]]
        m, s = ok["m"].to_numpy(float), np.nan_to_num(ok["s"].to_numpy(float))
        c = style.color(opt)
        style.measured(
            ax, ok["peak_lr"], m, m - s, m + s, color=c,
            linestyle="--" if recipe else "-", marker="s" if recipe else "o",
        )  # fmt: skip
        bad = pts[pts["div"]]
        if len(bad):
            ax.plot(bad["peak_lr"], np.zeros(len(bad)), "x", color=c, markersize=7, clip_on=False)
        if arm in picks.index and np.isfinite(picks.loc[arm, "mean"]):
            p = picks.loc[arm]
            ax.plot(p["best_peak_lr"], p["mean"], "*", color=c, markersize=12, markeredgecolor="k")
    ax.axhline(CHANCE, color="0.5", linestyle=":", linewidth=1)
    style.log_axes(ax, y=False)
    style.ticks_at(ax, runs["peak_lr"].unique())
    ax.tick_params(axis="x", labelrotation=45)
    ax.set_ylim(0.0, 1.02)
    ax.set_xlabel("peak learning rate η")
    ax.set_ylabel("final test accuracy (±1 std)")
    ax.set_title("accuracy over each arm's η grid")


def _rank(name: str) -> int:
    return ORDER.index(name) if name in ORDER else len(ORDER)


def _legend(fig: Figure, opts: list[str]) -> None:
    handles = [Patch(facecolor=style.color(o), edgecolor="k", label=style.label(o)) for o in opts]
    handles += [
        Patch(facecolor="white", edgecolor="k", label="no recipe (poly decay)"),
        Patch(facecolor="white", edgecolor="k", hatch=HATCH, label="Goyal recipe (warmup + ÷10)"),
        Line2D([], [], color="0.3", marker="o", linestyle="-", label="no recipe (right)"),
        Line2D([], [], color="0.3", marker="s", linestyle="--", label="recipe (right)"),
        Line2D([], [], color="0.4", marker="*", markersize=11, linestyle="", label="best η"),
        Line2D([], [], color="0.5", linestyle=":", label="chance (10 classes)"),
    ]
    style.legend_below(fig, handles, ncol=6)


@style.styled
def make(table: pd.DataFrame, runs: pd.DataFrame) -> Figure:
    """Draw the figure from ``lb_goyal_recipes_best`` and ``lb_goyal_recipes``."""
    require(table, COLUMNS, figure=NAME, table_name=TABLE)
    require(runs, RUN_COLUMNS, figure=NAME, table_name=EXTRA["runs"])
    fig, (left, right) = style.panels(2)
    fig.set_size_inches(11.0, 4.8)
    if table.empty or runs.empty:
        style.no_data(left)
        style.no_data(right)
        fig.suptitle(TITLE)
        return fig
    _bars(left, table)
    _curves(right, runs, table)
    _legend(fig, _ordered(table["optimizer"].astype(str)))
    r = table.iloc[0]
    fig.suptitle(
        f"{TITLE}\n{r['workload']}, B = {int(r['batch_size'])}, {int(r['total_steps'])} steps"
    )
    return fig
