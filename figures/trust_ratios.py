"""Per-layer trust ratios over training steps, one panel per method, one line per layer with the
10-90 % band over seeds.

The synthetic-problem counterpart of the paper's appendix trust-ratio figures (Appendix
H): the ratios φ(‖x_t^(i)‖)/‖r_t^(i)‖ differ across layers (whose curvature L_i
differs) and drift during training.
"""

from __future__ import annotations

import pandas as pd
from matplotlib.figure import Figure

from figures import style
from figures._tables import require

NAME = "trust_ratios"
TABLE = "trust_ratios"
EXTRA: dict[str, str] = {}
TITLE = "Per-layer trust ratios over training"
CAPTION = (
    "Mean trust ratio φ(‖x_t⁽ⁱ⁾‖)/‖r_t⁽ⁱ⁾‖ per layer (coloured by layer, labelled with its L_i) "
    "against the step t, with the 10-90 % band over seeds, one panel per method (log scale)."
)
COLUMNS = ("theorem", "t", "layer", "trust_ratio", "trust_ratio_q10", "trust_ratio_q90")


def _layer_label(layer: str, rows: pd.DataFrame) -> str:
    if "L_i" in rows and len(rows):
        return f"{layer} (L = {float(rows['L_i'].iloc[0]):.3g})"
    return layer


def _panel(ax, theorem: str, rows: pd.DataFrame, *, first: bool, legend: bool) -> None:
    layers = style.order(rows["layer"].unique(), ())
    for c, layer in zip(style.palette(len(layers)), layers, strict=True):
        g = rows[rows["layer"].astype(str) == layer]
        style.measured(
            ax,
            g["t"],
            g["trust_ratio"],
            g["trust_ratio_q10"],
            g["trust_ratio_q90"],
            color=c,
            marker="",
            label=_layer_label(layer, g),
        )
    ax.set_yscale("log")
    title = style.theorem_title(theorem)
    if "instance" in rows and len(rows):
        title += f"\n{rows['instance'].iloc[0]}"
    ax.set_title(title, color=style.color(theorem))
    ax.set_xlabel("step t")
    if first:  # the panels share the y axis
        ax.set_ylabel("trust ratio φ(‖x‖)/‖r‖ (mean, 10-90 % band)")
    if legend:
        ax.legend(loc="best", title="layer")


@style.styled
def make(table: pd.DataFrame) -> Figure:
    """Draw the trust-ratio figure from the ``trust_ratios`` table (one row per t, layer)."""
    require(table, COLUMNS, figure=NAME, table_name=TABLE)
    theorems = style.order(table["theorem"].unique())
    fig, axes = style.panels(len(theorems), ncols=3, sharey=True)
    if not theorems:
        style.no_data(axes[0])
    shown: list[str] | None = None
    for k, (ax, thm) in enumerate(zip(axes, theorems, strict=False)):
        rows = table[table["theorem"].astype(str) == thm]
        layers = style.order(rows["layer"].unique(), ())
        # the legend is repeated only where the layers differ from the previous panel's
        _panel(ax, thm, rows, first=k == 0, legend=layers != shown)
        shown = layers
    fig.suptitle(TITLE)
    return fig
