"""Per-layer trust ratios over training on real networks: one panel per (network, optimizer),
one line per adapted layer (mean over seeds, band = min-max over seeds), log scale.

The real-network counterpart of the paper's appendix trust-ratio figures (Appendix H):
trust_i = ‖x_i‖/‖u_i‖ with u = r + λx (LAMB) or m (LARS), φ = identity. Layers excluded from the
trust ratio (biases, LayerNorm) are not drawn.
"""

from __future__ import annotations

import re

import pandas as pd
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from figures import style
from figures._tables import require

NAME = "lb_trust_ratios"
TABLE = "lb_trust_ratios"
EXTRA: dict[str, str] = {}
TITLE = "Per-layer trust ratios over training (digits MLP/CNN, tiny BERT)"
CAPTION = (
    "Trust ratio ‖x_i‖/‖u_i‖ of each adapted layer against the training step, mean over seeds "
    "with the min-max band, one panel per network and optimizer (log scale); the panel text "
    "gives the spread max/min across layers at the first and last log. Networks with more layers "
    "than a legend can name (tiny BERT) colour each layer by its type (embeddings, attention, "
    "feed-forward, head) with its encoder block as the line style."
)
COLUMNS = ("net", "optimizer", "seed", "step", "layer", "adapted", "trust_ratio")
NET_ORDER = ("digits/mlp", "digits/cnn", "mlm/bert")
MAX_LEGEND = 8  # beyond this many layers a legend hides the curves: coloured by type instead


def _spread(rows: pd.DataFrame, step) -> float:
    r = rows[rows["step"] == step].groupby("layer")["trust_ratio"].mean()
    return float(r.max() / r.min()) if len(r) else float("nan")


# Layer types of a transformer, in legend order: (type, pattern in the layer's name, colour).
LAYER_TYPES = (
    ("embeddings", "embed", "#7F7F7F"),
    ("attention q/k/v", "attention/(query|key|value)", "#0072B2"),
    ("attention output", "attention/output", "#56B4E9"),
    ("feed-forward in", "intermediate", "#D55E00"),
    ("feed-forward out", "output", "#E69F00"),
    ("head", "(head|mlm|transform|pooler|classifier)", "#009E73"),
)
BLOCK_STYLES = ("-", "--", ":", "-.")


def layer_type(layer: str) -> str:
    """The type of a layer by its name (first matching pattern of :data:`LAYER_TYPES`)."""
    for name, pattern, _ in LAYER_TYPES:
        if re.search(pattern, layer):
            return name
    return "other"


def _block(layer: str) -> int | None:
    m = re.search(r"layer_(\d+)", layer)
    return int(m.group(1)) if m else None


def _by_type(layers: list[str]) -> dict[str, tuple[str, str]]:
    """Layer -> (colour by type, line style by encoder block) for networks with many layers."""
    colours = {name: c for name, _, c in LAYER_TYPES} | {"other": style.FALLBACK_COLOR}
    out = {}
    for layer in layers:
        b = _block(layer)
        out[layer] = (colours[layer_type(layer)], "-" if b is None else BLOCK_STYLES[b % 4])
    return out


def type_legend(layers: list[str]) -> list[Line2D]:
    """Legend entries for :func:`_by_type`: one per layer type present, one per block."""
    types = {layer_type(x) for x in layers}
    colours = {name: c for name, _, c in LAYER_TYPES} | {"other": style.FALLBACK_COLOR}
    handles = [
        Line2D([], [], color=colours[t], label=t)
        for t in [n for n, _, _ in LAYER_TYPES] + ["other"]
        if t in types
    ]
    blocks = sorted({b for b in map(_block, layers) if b is not None})
    handles += [
        Line2D([], [], color="0.3", linestyle=BLOCK_STYLES[b % 4], label=f"encoder block {b}")
        for b in blocks
    ]
    return handles


def _panel(ax, net: str, opt: str, rows: pd.DataFrame, first: bool) -> list[str] | None:
    """Draw one panel; returns its layers when they are coloured by type (legend below)."""
    layers = style.order(rows["layer"].unique(), ())
    many = len(layers) > MAX_LEGEND
    looks = (
        _by_type(layers)
        if many
        else {x: (c, "-") for c, x in zip(style.palette(len(layers)), layers, strict=True)}
    )
    for layer in layers:
        c, ls = looks[layer]
        g = rows[rows["layer"].astype(str) == layer].groupby("step")["trust_ratio"]
        stats = g.agg(["mean", "min", "max"]).reset_index()
        style.measured(
            ax, stats["step"], stats["mean"], stats["min"], stats["max"],
            color=c, marker="", linestyle=ls, label=layer,
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
    if not many:
        ax.legend(loc="best", title="layer", fontsize=7)
        return None
    ax.text(
        0.98, 0.02, f"{len(layers)} adapted layers, coloured by type", transform=ax.transAxes,
        ha="right", fontsize=8, color="0.3",
    )  # fmt: skip
    return layers


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
    typed: dict[str, list[str]] = {}
    for k, (ax, (net, opt)) in enumerate(zip(axes, pairs, strict=False)):
        g = rows[(rows["net"] == net) & (rows["optimizer"] == opt)]
        layers = _panel(ax, net, opt, g, first=k % 2 == 0)
        if layers:
            typed.setdefault(net, []).extend(layers)
    if typed:  # one legend of layer types for the panels with too many layers to name
        handles = type_legend(sorted({x for v in typed.values() for x in v}))
        fig.legend(
            handles=handles, loc="outside lower center", ncol=min(len(handles), 4),
            frameon=False, title=f"layer type ({', '.join(typed)}; one line per layer)",
            title_fontsize=8,
        )  # fmt: skip
    fig.suptitle(TITLE)
    return fig
