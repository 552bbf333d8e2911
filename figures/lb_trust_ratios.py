"""Per-layer trust ratios over training on real networks: one panel per (network, optimizer),
one line per adapted layer (mean over seeds, band = min-max over seeds), log scale.

The real-network counterpart of the paper's appendix trust-ratio figures (Appendix H):
trust_i = ‖x_i‖/‖u_i‖ with u = r + λx (LAMB) or m (LARS), φ = identity. Layers excluded from the
trust ratio (biases, LayerNorm) are not drawn.
"""

from __future__ import annotations

import pandas as pd
from matplotlib.figure import Figure

from figures import style
from figures._tables import require

NAME = "lb_trust_ratios"
TABLE = "lb_trust_ratios"
EXTRA: dict[str, str] = {}
TITLE = "Per-layer trust ratios over training (digits MLP/CNN, tiny BERT)"
CAPTION = (
    "Trust ratio ‖x_i‖/‖u_i‖ of each adapted layer against the training step, mean over seeds "
    "with the min-max band, one panel per network and optimizer (log scale); the panel text "
    "gives the spread max/min across layers at the first and last log."
)
COLUMNS = ("net", "optimizer", "seed", "step", "layer", "adapted", "trust_ratio")
NET_ORDER = ("digits/mlp", "digits/cnn", "mlm/bert")
MAX_LEGEND = 8  # beyond this many layers a legend hides the curves; the count is printed instead


def _spread(rows: pd.DataFrame, step) -> float:
    r = rows[rows["step"] == step].groupby("layer")["trust_ratio"].mean()
    return float(r.max() / r.min()) if len(r) else float("nan")


def _panel(ax, net: str, opt: str, rows: pd.DataFrame, first: bool) -> None:
    layers = style.order(rows["layer"].unique(), ())
    for c, layer in zip(style.palette(len(layers)), layers, strict=True):
        g = rows[rows["layer"].astype(str) == layer].groupby("step")["trust_ratio"]
        stats = g.agg(["mean", "min", "max"]).reset_index()
        style.measured(
            ax, stats["step"], stats["mean"], stats["min"], stats["max"],
            color=c, marker="", label=layer,
        )  # fmt: skip
    ax.set_yscale("log")
    ax.set_title(f"{style.label(opt)}: {net}", color=style.color(opt))
    ax.set_xlabel("step")
    if first:
        ax.set_ylabel("trust ratio ‖x_i‖/‖u_i‖")
    s0, s1 = _spread(rows, rows["step"].min()), _spread(rows, rows["step"].max())
    ax.text(
        0.02, 0.02, f"spread ×{s0:.3g} → ×{s1:.3g}", transform=ax.transAxes, fontsize=8,
        color="0.3",
    )  # fmt: skip
    if len(layers) <= MAX_LEGEND:
        ax.legend(loc="best", title="layer", fontsize=7)
    else:
        ax.text(
            0.98, 0.02, f"{len(layers)} adapted layers", transform=ax.transAxes, ha="right",
            fontsize=8, color="0.3",
        )  # fmt: skip


@style.styled
def make(table: pd.DataFrame) -> Figure:
    """Draw the figure from the ``lb_trust_ratios`` table (net × optimizer × seed × step ×
    layer)."""
    require(table, COLUMNS, figure=NAME, table_name=TABLE)
    rows = table[style.as_bool(table["adapted"])]
    nets = [n for n in NET_ORDER if n in set(rows["net"])] + sorted(
        set(rows["net"]) - set(NET_ORDER)
    )
    pairs = [
        (net, opt)
        for net in nets
        for opt in style.order(rows["optimizer"].unique(), ("lamb", "lars"))
        if len(rows[(rows["net"] == net) & (rows["optimizer"] == opt)])
    ]
    fig, axes = style.panels(len(pairs), ncols=2)
    if not pairs:
        style.no_data(axes[0], "no adapted-layer rows")
    for k, (ax, (net, opt)) in enumerate(zip(axes, pairs, strict=False)):
        g = rows[(rows["net"] == net) & (rows["optimizer"] == opt)]
        _panel(ax, net, opt, g, first=k % 2 == 0)
    fig.suptitle(TITLE)
    return fig
