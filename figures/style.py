"""The one place that decides how figures look: colours and labels per optimizer or theorem,
figure sizes, fonts, and the drawing helpers every figure shares.

Conventions: a measured series is a solid line with markers and a shaded 95% CI band; a
theoretical bound is a dashed line in the same colour as the method it bounds; rates are drawn on
log-log axes (a power law is a straight line, its exponent the slope).
"""

from __future__ import annotations

import contextlib
import functools
import re
from collections.abc import Callable, Iterator, Sequence

import matplotlib as mpl
import numpy as np
import pandas as pd
from matplotlib import ticker
from matplotlib.axes import Axes
from matplotlib.colors import to_hex, to_rgb
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

# Layer-wise methods in blues (LARS) and warm colours (LAMB); baselines in greys, greens and
# purples, so a layer-wise curve never shares a hue with the baseline it is compared with.
COLORS: dict[str, str] = {
    "sgd": "#4D4D4D",
    "momentum": "#CC79A7",
    "nesterov": "#7B3294",
    "adam": "#009E73",
    "adamw": "#66C2A5",
    "adagrad": "#8C6D31",
    "lars": "#0072B2",
    "lars_2017": "#56B4E9",
    "optax_lars": "#08306B",
    "lamb": "#B2182B",
    "lamb_v3": "#F4A582",
    "lamb_beta2_zero": "#E69F00",
    "lamb_beta2_pos": "#D55E00",
    "nlamb": "#8C510A",
    "nnlamb": "#BF812D",
}
FALLBACK_COLOR = "#7F7F7F"

LABELS: dict[str, str] = {
    "sgd": "SGD",
    "momentum": "Momentum",
    "nesterov": "Nesterov",
    "adam": "Adam",
    "adamw": "AdamW",
    "adagrad": "AdaGrad",
    "lars": "LARS",
    "lars_2017": "LARS (2017)",
    "optax_lars": "optax LARS",
    "lamb": "LAMB",
    "lamb_v3": "LAMB v3 (no bias corr.)",
    "lamb_beta2_zero": "LAMB (β2=0)",
    "lamb_beta2_pos": "LAMB (β2>0)",
    "nlamb": "N-LAMB",
    "nnlamb": "NN-LAMB",
}

# Which theorem of the paper bounds each analysed method.
THEOREM_NUMBER = {"sgd": 1, "lars": 2, "lamb_beta2_zero": 3, "lamb_beta2_pos": 3}
THEOREM_ORDER = ("sgd", "lars", "lamb_beta2_zero", "lamb_beta2_pos")

# Each theorem's left-hand side (the measured criterion), as mathtext.
CRITERION = {
    "sgd": r"$\mathbb{E}\|\nabla f(x_a)\|^2$",
    "lars": r"$(\mathbb{E}[h^{-1/2}\Sigma_i\|\nabla_i f(x_a)\|])^2$",
    "lamb_beta2_zero": r"$(\mathbb{E}[d^{-1/2}\|\nabla f(x_a)\|_1])^2$",
    "lamb_beta2_pos": r"$\mathbb{E}\|\nabla f(x_a)\|^2$",
}

# Markers for series that share a colour (instances, layouts, searches).
MARKERS = ("o", "s", "^", "D", "v", "P", "X", "*")

PANEL_SIZE = (4.4, 3.5)  # inches per panel: two panels side by side fit a page width
DPI = 150
RC = {
    "font.size": 10,
    "axes.titlesize": 11,
    "axes.labelsize": 10,
    "xtick.labelsize": 9,
    "ytick.labelsize": 9,
    "legend.fontsize": 8,
    "figure.titlesize": 12,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.grid": True,
    "grid.alpha": 0.3,
    "lines.linewidth": 1.6,
    "lines.markersize": 4.5,
    "pdf.fonttype": 42,  # embed TrueType so the PDF text stays selectable and editable
}
BAND_ALPHA = 0.2

_LAMB_LABEL = re.compile(r"^lamb\(b2=([^)]*)\)$")


def canonical(name: str) -> str:
    """A table's optimizer/theorem name as a key of :data:`COLORS`.

    The experiment tables label LAMB runs ``lamb(b2=<β2>)``; those map to the theorem's name.
    """
    m = _LAMB_LABEL.match(str(name))
    if m:
        return "lamb_beta2_zero" if float(m.group(1)) == 0 else "lamb_beta2_pos"
    return str(name)


def color(name: str) -> str:
    """The colour of an optimizer or theorem (a fallback grey for unknown names)."""
    return COLORS.get(canonical(name), FALLBACK_COLOR)


def label(name: str) -> str:
    """A human label, e.g. ``lamb_beta2_pos`` -> ``LAMB (β2>0)``, ``lamb(b2=0.9)`` ->
    ``LAMB (β2=0.9)``; unknown names are returned as they are."""
    m = _LAMB_LABEL.match(str(name))
    if m:
        return f"LAMB (β2={m.group(1)})"
    return LABELS.get(str(name), str(name))


def theorem_title(theorem: str) -> str:
    """``Theorem 2: LARS``; names without a theorem get their label only."""
    n = THEOREM_NUMBER.get(theorem)
    return f"Theorem {n}: {label(theorem)}" if n else label(theorem)


def order(names: Sequence[str], first: Sequence[str] = THEOREM_ORDER) -> list[str]:
    """Distinct names, the paper's theorem order first, then the rest sorted."""
    names = list(dict.fromkeys(str(n) for n in names))
    return [n for n in first if n in names] + sorted(n for n in names if n not in first)


def shades(base: str, n: int) -> list[str]:
    """n variants of one colour, from the colour itself towards lighter (for series that share
    a method, e.g. several instances of one theorem)."""
    rgb = np.array(to_rgb(base))
    return [to_hex(rgb + (1 - rgb) * 0.55 * k / max(n - 1, 1)) for k in range(n)]


def palette(n: int) -> list[str]:
    """n distinguishable colours for categories that are not optimizers (layers, noise kinds)."""
    cmap = mpl.colormaps["viridis"]
    # stop short of viridis' pale yellow end, which is hard to see on white
    return [to_hex(cmap(v)) for v in np.linspace(0.0, 0.75, max(n, 1))][:n]


def rc() -> contextlib.AbstractContextManager:
    """The style's rc settings, for the duration of a ``with`` block only."""
    return mpl.rc_context(RC)


def styled(make: Callable[..., Figure]) -> Callable[..., Figure]:
    """Decorator: build the figure under :func:`rc`, leaving matplotlib's globals untouched."""

    @functools.wraps(make)
    def wrapper(*args, **kwargs) -> Figure:
        with rc():
            return make(*args, **kwargs)

    return wrapper


def panels(n: int, ncols: int | None = None, **kwargs) -> tuple[Figure, list[Axes]]:
    """A figure with n panels (no pyplot state), constrained layout, panel-sized."""
    n = max(n, 1)
    ncols = min(n, ncols or 2)
    nrows = -(-n // ncols)
    fig = Figure(figsize=(PANEL_SIZE[0] * ncols, PANEL_SIZE[1] * nrows), layout="constrained")
    grid = fig.subplots(nrows, ncols, squeeze=False, **kwargs)
    axes = list(grid.ravel())
    for ax in axes[n:]:
        ax.set_visible(False)
    return fig, axes[:n]


def measured(
    ax: Axes,
    x,
    y,
    lo=None,
    hi=None,
    *,
    color: str,
    label: str | None = None,
    marker: str = "o",
    **kwargs,
) -> Line2D:
    """A measured series: solid line with markers and, when given, its CI band [lo, hi]."""
    x, y = np.asarray(x, float), np.asarray(y, float)
    idx = np.argsort(x)
    kwargs.setdefault("linestyle", "-")
    (line,) = ax.plot(x[idx], y[idx], marker=marker, color=color, label=label, **kwargs)
    if lo is not None and hi is not None:
        lo, hi = np.asarray(lo, float)[idx], np.asarray(hi, float)[idx]
        ax.fill_between(x[idx], lo, hi, color=color, alpha=BAND_ALPHA, linewidth=0)
    return line


def bound(ax: Axes, x, y, *, color: str, label: str | None = None, **kwargs) -> Line2D:
    """A theoretical bound: dashed, in the colour of the method it bounds."""
    x, y = np.asarray(x, float), np.asarray(y, float)
    idx = np.argsort(x)
    kwargs.setdefault("linewidth", 1.3)
    (line,) = ax.plot(x[idx], y[idx], "--", color=color, label=label, **kwargs)
    return line


def log_axes(ax: Axes, x: bool = True, y: bool = True) -> None:
    """Log scales for rates (a power law shows as a straight line)."""
    if x:
        ax.set_xscale("log")
    if y:
        ax.set_yscale("log")


def ticks_at(ax: Axes, values, axis: str = "x") -> None:
    """Major ticks exactly at ``values`` (plain numbers), no minor labels: for log axes over a
    handful of chosen levels, where the default minor labels collide."""
    values = sorted({float(v) for v in values if np.isfinite(v) and v > 0})
    target = ax.xaxis if axis == "x" else ax.yaxis
    target.set_major_locator(ticker.FixedLocator(values))
    target.set_major_formatter(ticker.FixedFormatter([f"{v:g}" for v in values]))
    target.set_minor_formatter(ticker.NullFormatter())


def legend_below(fig: Figure, handles: Sequence, ncol: int = 3) -> None:
    """One legend for the whole figure, under the panels (series shared by every panel)."""
    fig.legend(handles=handles, loc="outside lower center", ncol=ncol, frameon=False)


def key_proxies() -> list[Line2D]:
    """Legend entries explaining the line styles (measured vs bound)."""
    return [
        Line2D([], [], color="0.3", linestyle="-", marker="o", label="measured (95% CI band)"),
        Line2D([], [], color="0.3", linestyle="--", label="bound"),
    ]


def as_bool(values: pd.Series) -> pd.Series:
    """A boolean column as read back from CSV (bool, or the strings 'True'/'False')."""
    return values.astype(str).str.lower() == "true"


def no_data(ax: Axes, what: str = "no rows in the table") -> None:
    """Say so on an empty panel rather than leaving it blank."""
    ax.text(0.5, 0.5, what, ha="center", va="center", transform=ax.transAxes, color="0.4")


def groups(df: pd.DataFrame, column: str, first: Sequence[str] = THEOREM_ORDER) -> Iterator:
    """(value, rows) per distinct value of ``column`` in :func:`order`."""
    for value in order(df[column].unique(), first):
        yield value, df[df[column].astype(str) == value]
