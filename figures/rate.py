"""Rate figure: each theorem's measured criterion against its explicit bound over T (b = T, the
prescribed η), on log-log axes, one panel per theorem and one line per instance.

The toolkit's counterpart of the paper's rate statements (Theorems 1-3): the
bounds fall as 1/T (Theorems 1, 2; Theorem 3 with β2 = 0) or 1/√T (Theorem 3 with β2 > 0), and
the legend gives each line's fitted log-log slope beside its bound's.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from figures import style
from figures._tables import require

NAME = "rate"
TABLE = "theorem_validation_rate"
EXTRA: dict[str, str] = {}
TITLE = "Convergence rate: measured criterion vs bound over T"
CAPTION = (
    "Measured criterion (solid, 95% CI over seeds) and the theorem's explicit bound (dashed) "
    "against T with b = T and the prescribed step, log-log, one panel per theorem and one line "
    "per instance, with fitted slopes in the legend."
)
COLUMNS = (
    "theorem",
    "instance",
    "T",
    "measure",
    "measure_ci_low",
    "measure_ci_high",
    "bound",
    "in_hypothesis",
)


def _slope(x, y) -> float:
    x, y = np.asarray(x, float), np.asarray(y, float)
    ok = (x > 0) & (y > 0) & np.isfinite(y)
    if ok.sum() < 2:
        return float("nan")
    return float(np.polyfit(np.log(x[ok]), np.log(y[ok]), 1)[0])


def _short(instance: str) -> str:
    # instance labels end with the layer shape (e.g. "-h4x16"), shared by every line of a panel
    return instance.rsplit("-h", 1)[0] if "-h" in instance else instance


def _headroom(ax, rows: pd.DataFrame) -> None:
    """Extend the log y range downwards so the lower-left legend sits below the data (the lines
    fall from upper left to lower right, so that corner is the free one)."""
    vals = pd.to_numeric(
        pd.concat([rows["measure_ci_low"], rows["measure"], rows["bound"]]), errors="coerce"
    ).to_numpy(float)
    vals = vals[np.isfinite(vals) & (vals > 0)]
    if len(vals) == 0:
        return
    lo, hi = vals.min(), vals.max()
    span = max(np.log10(hi / lo), 1.0)
    ax.set_ylim(lo / 10 ** (0.9 * span), hi * 10 ** (0.08 * span))


def _panel(ax, theorem: str, rows: pd.DataFrame) -> list[Line2D]:
    instances = style.order(rows["instance"].unique(), ())
    colors = style.shades(style.color(theorem), len(instances))
    for k, inst in enumerate(instances):
        g = rows[rows["instance"].astype(str) == inst].sort_values("T")
        c, m = colors[k], style.MARKERS[k % len(style.MARKERS)]
        s_meas, s_bound = _slope(g["T"], g["measure"]), _slope(g["T"], g["bound"])
        style.measured(
            ax,
            g["T"],
            g["measure"],
            g["measure_ci_low"],
            g["measure_ci_high"],
            color=c,
            marker=m,
            label=f"{_short(inst)}: {s_meas:.2f} (bound {s_bound:.2f})",
        )
        style.bound(ax, g["T"], g["bound"], color=c)
        outside = ~style.as_bool(g["in_hypothesis"])
        if outside.any():
            ax.plot(g["T"][outside], g["measure"][outside], "x", color="k", markersize=7)
    ax.legend(loc="lower left", title="instance: fitted log-log slope", title_fontsize=8)
    style.log_axes(ax)
    _headroom(ax, rows)
    ax.set_title(style.theorem_title(theorem))
    ax.set_xlabel("T (iterations; batch size b = T)")
    crit = style.CRITERION.get(theorem)
    if crit is None and "lhs" in rows:
        crit = str(rows["lhs"].iloc[0])
    ax.set_ylabel(f"{crit or 'criterion'}" + " and bound")
    keys = style.key_proxies()
    if (~style.as_bool(rows["in_hypothesis"])).any():
        keys.append(Line2D([], [], color="k", marker="x", linestyle="", label="outside hypotheses"))
    return keys


@style.styled
def make(table: pd.DataFrame) -> Figure:
    """Draw the rate figure from ``theorem_validation_rate`` rows (validation columns)."""
    require(table, COLUMNS, figure=NAME, table_name=TABLE)
    theorems = style.order(table["theorem"].unique())
    fig, axes = style.panels(len(theorems))
    if not theorems:
        style.no_data(axes[0])
    keys: dict[str, Line2D] = {}
    for ax, thm in zip(axes, theorems, strict=False):
        for h in _panel(ax, thm, table[table["theorem"].astype(str) == thm]):
            keys.setdefault(h.get_label(), h)
    style.legend_below(fig, list(keys.values()))
    fig.suptitle(TITLE)
    return fig
