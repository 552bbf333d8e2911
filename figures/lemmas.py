"""Lemma checks: the measured sides of the two inequalities the proofs rest on, against their
bounds, over the batch size b.

Not a figure of the paper: it checks the proof steps of Theorem 2 (normalisation bias,
E‖∇ᵢf‖·‖gᵢ/‖gᵢ‖ − ∇ᵢf/‖∇ᵢf‖‖ ≤ 2σᵢ/√b) and Theorem 3 with β2 = 0 (sign disagreement,
P(sign ḡⱼ ≠ sign ∇ⱼf) ≤ σ̃ⱼ/(√b|∇ⱼf|)), as derived in docs/paper.md.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from figures import style
from figures._tables import require

NAME = "lemmas"
TABLE = "lemma_checks"
EXTRA: dict[str, str] = {}
TITLE = "Proof lemmas: measured vs bound over the batch size"
CAPTION = (
    "Measured side of each lemma (markers with 95% intervals) and its bound (dashed) against the "
    "batch size b, one line per noise kind: the normalisation bias of LARS (worst layer) and the "
    "sign-disagreement probability of LAMB with β2 = 0 (worst coordinate)."
)
COLUMNS = ("theorem", "batch_size", "measure", "measure_ci_low", "measure_ci_high", "bound")
# title, y label, bound's legend label, what each row's value is taken over
LEMMAS = {
    "lemma_normalisation_bias": (
        "Normalisation bias (Theorem 2)",
        r"$\mathbb{E}\,\|\nabla_i f\|\,\|g_i/\|g_i\| - \nabla_i f/\|\nabla_i f\|\|$",
        r"$2\sigma_i/\sqrt{b}$",
        "worst layer",
    ),
    "lemma_sign_disagreement": (
        "Sign disagreement (Theorem 3, β2 = 0)",
        r"$P(\mathrm{sign}\,\bar g_j \neq \mathrm{sign}\,\nabla_j f)$",
        r"$\tilde\sigma_j/(\sqrt{b}\,|\nabla_j f|)$",
        "worst coordinate",
    ),
}


def _panel(ax, lemma: str, rows: pd.DataFrame) -> None:
    title, ylabel, bound_label, worst = LEMMAS.get(lemma, (lemma, "measure", "", "row"))
    kinds = style.order(rows["noise"].unique(), ()) if "noise" in rows else ["all"]
    for k, (c, kind) in enumerate(zip(style.palette(max(len(kinds), 2)), kinds, strict=False)):
        g = rows if kind == "all" else rows[rows["noise"].astype(str) == kind]
        g = g.sort_values("batch_size")
        b, y = g["batch_size"].to_numpy(float), g["measure"].to_numpy(float)
        err = np.vstack([y - g["measure_ci_low"], g["measure_ci_high"] - y]).clip(min=0)
        m = style.MARKERS[k % len(style.MARKERS)]
        ax.errorbar(b, y, yerr=err, fmt=m + "-", color=c, capsize=3, label=f"{kind}: measured")
        style.bound(ax, b, g["bound"], color=c, label=f"{kind}: bound {bound_label}")
    ax.set_xscale("log")
    positive = rows[["measure", "bound"]].to_numpy(float)
    # a log y axis only when every value is positive (a frequency of 0 is a real observation)
    if np.all(positive > 0):
        ax.set_yscale("log")
    ax.set_title(title)
    ax.set_xlabel("batch size b")
    ax.set_ylabel(ylabel)
    # under the panel: inside it, any corner covers a bound line on some table
    ax.legend(
        loc="upper center", bbox_to_anchor=(0.5, -0.2), ncol=2, title=f"noise ({worst} per b)",
        title_fontsize=8, frameon=False,
    )  # fmt: skip


@style.styled
def make(table: pd.DataFrame) -> Figure:
    """Draw the lemma figure from the ``lemma_checks`` table."""
    require(table, COLUMNS, figure=NAME, table_name=TABLE)
    lemmas = style.order(table["theorem"].unique(), tuple(LEMMAS))
    fig, axes = style.panels(len(lemmas))
    width, height = fig.get_size_inches()
    fig.set_size_inches(width, height + 1.2)  # room for the legends under the panels
    if not lemmas:
        style.no_data(axes[0])
    for ax, lemma in zip(axes, lemmas, strict=False):
        _panel(ax, lemma, table[table["theorem"].astype(str) == lemma])
    fig.suptitle(TITLE)
    return fig
