"""Noise density: the same total noise ‖σ‖² concentrated in one layer or spread over all layers,
measured criterion and bound per theorem against the noise level.

The toolkit's picture of the density comparison (Appendix C): the layer-wise bounds
pay ‖σ‖₁²/h (LARS) or ‖σ̃‖₁²/d (LAMB) where SGD pays ‖σ‖², so concentrated noise lowers the
layer-wise bounds and leaves SGD's unchanged; the measured lines show whether the runs follow.
"""

from __future__ import annotations

import pandas as pd
from matplotlib.figure import Figure

from figures import style
from figures._tables import require

NAME = "noise_density"
TABLE = "noise_density"
EXTRA: dict[str, str] = {}
TITLE = "Noise density: concentrated vs spread noise of equal total variance"
CAPTION = (
    "Measured criterion (solid, 95% CI) and bound (dashed) against the noise level s "
    "(‖σ‖² = s²), with the noise concentrated in one layer (circles) or spread evenly over all "
    "layers (squares), one panel per theorem."
)
COLUMNS = (
    "noise_level",
    "layout",
    "theorem",
    "measure",
    "measure_ci_low",
    "measure_ci_high",
    "bound",
)
LAYOUTS = ("concentrated", "spread")


def _panel(ax, theorem: str, rows: pd.DataFrame) -> None:
    layouts = style.order(rows["layout"].unique(), LAYOUTS)
    colors = style.shades(style.color(theorem), max(len(layouts), 2))
    for k, layout in enumerate(layouts):
        g = rows[rows["layout"].astype(str) == layout]
        c, m = colors[k], style.MARKERS[k % len(style.MARKERS)]
        style.measured(
            ax,
            g["noise_level"],
            g["measure"],
            g["measure_ci_low"],
            g["measure_ci_high"],
            color=c,
            marker=m,
            label=f"{layout}: measured",
        )
        style.bound(ax, g["noise_level"], g["bound"], color=c, label=f"{layout}: bound")
        ax.plot(g["noise_level"], g["bound"], m, color=c, fillstyle="none")
    style.log_axes(ax)
    style.ticks_at(ax, rows["noise_level"])
    ax.set_title(style.theorem_title(theorem))
    ax.set_xlabel(r"noise level $s$ (total $\|\sigma\|^2 = s^2$)")
    ax.set_ylabel(f"{style.CRITERION.get(theorem, 'criterion')} and bound")
    ax.legend(loc="best")


@style.styled
def make(table: pd.DataFrame) -> Figure:
    """Draw the noise-density figure from the ``noise_density`` table."""
    require(table, COLUMNS, figure=NAME, table_name=TABLE)
    theorems = style.order(table["theorem"].unique())
    fig, axes = style.panels(len(theorems))
    if not theorems:
        style.no_data(axes[0])
    for ax, thm in zip(axes, theorems, strict=False):
        _panel(ax, thm, table[table["theorem"].astype(str) == thm])
    if "T" in table and len(table):
        fig.suptitle(f"{TITLE} (T = b = {table['T'].iloc[0]})")
    else:
        fig.suptitle(TITLE)
    return fig
