"""Appendices D, E and F on real training: final accuracy against the peak learning rate for each
LAMB variant (mean over seeds with a ±1 std band), one panel per appendix (and network).

D: LAMB vs N-LAMB / NN-LAMB (Appendix D); E: LAMB with/without bias correction, with/without
warmup (Appendix E); F: the trust ratio's norm L2 / L1 / L∞ (Appendix F).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from figures import style
from figures._tables import require

NAME = "lb_appendix_variants"
TABLE = "lb_appendix_variants"
EXTRA: dict[str, str] = {}
TITLE = "LAMB variants of Appendices D, E, F (digits)"
CAPTION = (
    "Final test accuracy against the peak learning rate for each variant, mean over seeds with a "
    "±1 std band; the legend gives each variant's best mean and its learning rate."
)
COLUMNS = ("net", "variant", "peak_lr", "seed", "final_eval_accuracy")
PANELS = {
    "Appendix D: Nesterov moments": ("lamb", "nlamb", "nnlamb"),
    "Appendix E: bias correction vs warmup": (
        "lamb", "lamb_nowarmup", "lamb_v3", "lamb_v3_nowarmup",
    ),
    "Appendix F: trust-ratio norm": ("lamb", "lamb_l1", "lamb_linf"),
}  # fmt: skip
_LAMB, _V3 = style.shades(style.color("lamb"), 3), style.shades(style.color("lamb_v3"), 2)
# variant -> (colour, label, marker)
VARIANTS = {
    "lamb": (style.color("lamb"), "LAMB (L2, bias corr., warmup)", "o"),
    "nlamb": (style.color("nlamb"), style.label("nlamb"), "s"),
    "nnlamb": (style.color("nnlamb"), style.label("nnlamb"), "^"),
    "lamb_nowarmup": (_LAMB[1], "LAMB, no warmup", "v"),
    "lamb_v3": (_V3[0], "LAMB v3 (no bias corr.), warmup", "D"),
    "lamb_v3_nowarmup": (_V3[1], "LAMB v3, no warmup", "P"),
    "lamb_l1": (_LAMB[1], "LAMB, L1 trust norm", "s"),
    "lamb_linf": (_LAMB[2], "LAMB, L∞ trust norm", "^"),
}


def _series(ax, rows: pd.DataFrame, variant: str) -> None:
    colour, text, marker = VARIANTS.get(variant, (style.FALLBACK_COLOR, variant, "o"))
    acc = rows["final_eval_accuracy"].astype(float).fillna(0.0)  # diverged = 0, as the claims
    g = rows.assign(acc=acc).groupby("peak_lr")["acc"].agg(["mean", "std"]).reset_index()
    sd = g["std"].fillna(0.0)
    best = g.loc[g["mean"].idxmax()]
    style.measured(
        ax, g["peak_lr"], g["mean"], g["mean"] - sd, g["mean"] + sd, color=colour,
        marker=marker, label=f"{text}: {best['mean']:.3f} at η={best['peak_lr']:g}",
    )  # fmt: skip


@style.styled
def make(table: pd.DataFrame) -> Figure:
    """Draw the figure from the ``lb_appendix_variants`` table (one row per run)."""
    require(table, COLUMNS, figure=NAME, table_name=TABLE)
    nets = sorted(table["net"].unique())
    fig, axes = style.panels(max(len(PANELS) * len(nets), 1), ncols=len(PANELS))
    if not nets:
        style.no_data(axes[0])
    k = 0
    for net in nets:
        rows = table[table["net"] == net]
        for title, variants in PANELS.items():
            ax = axes[k]
            for v in variants:
                if v in set(rows["variant"]):
                    _series(ax, rows[rows["variant"] == v], v)
            ax.set_xscale("log")
            style.ticks_at(ax, np.unique(rows["peak_lr"]))
            ax.set_title(f"{title}\n{net}" if len(nets) > 1 else title)
            ax.set_xlabel("peak learning rate η")
            if k % len(PANELS) == 0:
                ax.set_ylabel("final test accuracy (mean ± std)")
            ax.legend(loc="lower center", fontsize=7)
            k += 1
    fig.suptitle(TITLE)
    return fig
