"""Per-layer trust ratios over training steps, one panel per method, one line per layer with the
10-90 % band over seeds.

The synthetic-problem counterpart of the paper's appendix trust-ratio figures (Appendix
H): the ratios φ(‖x_t^(i)‖)/‖r_t^(i)‖ differ across layers (whose curvature L_i
differs) and drift during training. Descriptive: the synthetic spread is set by the instance
(φ clipped, equal layers), so no claim is judged on it (docs/validation.md, "Method comparisons").
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from figures import style
from figures._tables import require

NAME = "trust_ratios"
TABLE = "trust_ratios"
EXTRA: dict[str, str] = {}
TITLE = "Per-layer trust ratios over training"
CAPTION = (
    "Mean trust ratio φ(‖x_t⁽ⁱ⁾‖)/‖r_t⁽ⁱ⁾‖ per layer (coloured by layer, labelled with its L_i) "
    "against the step t, with the 10-90 % band over seeds, one panel per method (log scale); "
    "each layer has its own dash and marker so coinciding layers stay visible, and dotted lines "
    "mark levels a layer holds exactly on every seed (φ at a clip bound α_l or α_u)."
)
CLIP_LABEL = "level held exactly by a layer on every seed (φ at a clip bound)"
COLUMNS = ("theorem", "t", "layer", "trust_ratio", "trust_ratio_q10", "trust_ratio_q90")


LINESTYLES = ("-", "--", ":", "-.")
PLATEAU_STEPS = 5  # a level held exactly (all seeds, consecutive logs) this long is marked


def _layer_label(layer: str, rows: pd.DataFrame) -> str:
    if "L_i" in rows and len(rows):
        return f"{layer} (L = {float(rows['L_i'].iloc[0]):.3g})"
    return layer


def plateaus(rows: pd.DataFrame, rtol: float = 1e-9) -> list[float]:
    """Levels some layer's trust ratio holds exactly, on every seed (q10 = q90), for
    :data:`PLATEAU_STEPS` consecutive logs or more: where φ(‖x‖) sits at a clip bound
    (α_l or α_u) and ‖r‖ is constant (e.g. LAMB with β2 = 0, ‖r‖ = √d_i), the ratio is
    α/‖r‖. Read from the table alone, which does not store α_l, α_u."""
    levels: list[float] = []
    for _, g in rows.groupby("layer"):
        g = g.sort_values("t")
        y = g["trust_ratio"].to_numpy(float)
        flat_seeds = np.isclose(g["trust_ratio_q10"], g["trust_ratio_q90"], rtol=rtol)
        run = 1
        for k in range(1, len(y)):
            same = flat_seeds[k] and flat_seeds[k - 1] and np.isclose(y[k], y[k - 1], rtol=rtol)
            run = run + 1 if same else 1
            if run == PLATEAU_STEPS and not any(np.isclose(y[k], v, rtol=1e-6) for v in levels):
                levels.append(float(y[k]))
    return sorted(levels)


def _panel(ax, theorem: str, rows: pd.DataFrame, *, first: bool) -> None:
    layers = style.order(rows["layer"].unique(), ())
    n = len(layers)
    for k, (c, layer) in enumerate(zip(style.palette(n), layers, strict=True)):
        g = rows[rows["layer"].astype(str) == layer]
        # layers that coincide stay visible: each has its own dash pattern and marker, the
        # earlier ones are drawn wider underneath, and the markers sit at staggered steps
        every = max(len(g) // 6, 1)
        style.measured(
            ax,
            g["t"],
            g["trust_ratio"],
            g["trust_ratio_q10"],
            g["trust_ratio_q90"],
            color=c,
            marker=style.MARKERS[k % len(style.MARKERS)],
            markevery=(k * every // max(n, 1), every),
            linestyle=LINESTYLES[k % len(LINESTYLES)],
            linewidth=1.2 + 1.2 * (n - 1 - k) / max(n - 1, 1),
            zorder=2 + k,
            label=_layer_label(layer, g),
        )
    for level in plateaus(rows):
        ax.axhline(level, color="0.35", linestyle=(0, (1, 2)), linewidth=0.9, zorder=1)
        ax.annotate(
            f"flat at {level:.3g} (φ clipped)",
            (1.0, level),
            xycoords=("axes fraction", "data"),
            xytext=(-2, 3),
            textcoords="offset points",
            ha="right",
            va="bottom",
            fontsize=7,
            color="0.25",
        )
    ax.set_yscale("log")
    title = style.theorem_title(theorem)
    if "instance" in rows and len(rows):
        title += f"\n{rows['instance'].iloc[0]}"
    ax.set_title(title, color=style.color(theorem))
    ax.set_xlabel("step t")
    if first:  # the panels share the y axis
        ax.set_ylabel("trust ratio φ(‖x‖)/‖r‖")


@style.styled
def make(table: pd.DataFrame) -> Figure:
    """Draw the trust-ratio figure from the ``trust_ratios`` table (one row per t, layer)."""
    require(table, COLUMNS, figure=NAME, table_name=TABLE)
    theorems = style.order(table["theorem"].unique())
    fig, axes = style.panels(len(theorems), ncols=3, sharey=True)
    if not theorems:
        style.no_data(axes[0])
    for k, (ax, thm) in enumerate(zip(axes, theorems, strict=False)):
        _panel(ax, thm, table[table["theorem"].astype(str) == thm], first=k == 0)
    # one legend for every panel, below them (layers of the same name share colour and style)
    handles: dict[str, object] = {}
    for ax in axes:
        for h, lab in zip(*ax.get_legend_handles_labels(), strict=True):
            handles.setdefault(lab, h)
    if handles:
        clip = Line2D([], [], color="0.35", linestyle=(0, (1, 2)), label=CLIP_LABEL)
        style.legend_below(fig, [*handles.values(), clip], ncol=min(len(handles) + 1, 5))
    fig.suptitle(TITLE)
    return fig
