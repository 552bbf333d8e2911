"""Rate: the measured criterion vs the bound over T (≥ 6 values spanning ≥ 2 decades), for every
theorem, with the fitted log-log slope of each (Theorems 1-3).

With b = T and the prescribed η, the bounds decay as 1/T (Theorems 1, 2, 3 with β2 = 0) or
1/√T (Theorem 3 with β2 > 0); ``rate_slopes`` sets the measured slope (with a bootstrap
interval over seeds) beside the bound's, and the slope of the common criterion E‖∇f(x_a)‖² of
the same runs (``slope_grad_sq``), which separates the effect of Theorem 3's criteria from the
effect of β2.
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd

import theory
from experiments.reproduction.protocol import Context, Experiment, Grid
from experiments.reproduction.suites import _validation_claims
from experiments.reproduction.suites._instances import THEOREMS, built, for_theorem, standard
from experiments.validation import stats
from experiments.validation.validate import start_validate

# families: the instance families validated; top: T = 2^3 .. 2^top (8-12 values, 2.1-3.3 decades)
GRID = Grid(
    smoke={"h": 4, "width": 4, "families": ("separable_cosine",), "top": 10, "seeds": 8},
    default={
        "h": 4,
        "width": 16,
        "families": ("separable_cosine", "chain_cosine", "separable_geman_mcclure"),
        "top": 12,
        "seeds": 32,
    },
    full={
        "h": 8,
        "width": 64,
        "families": (
            "separable_cosine",
            "chain_cosine",
            "separable_geman_mcclure",
            "coupled_cosine",
        ),
        "top": 14,
        "seeds": 128,
    },
)


def _instances(ctx: Context):
    g = ctx.sizes(GRID)
    return [standard(family, g.h, g.width) for family in g.families]


def _Ts(ctx: Context) -> list[int]:
    return [2**k for k in range(3, ctx.sizes(GRID).top + 1)]


def _seeds(ctx: Context) -> int:
    return ctx.sizes(GRID).seeds


def units(ctx: Context) -> int:
    return len(_instances(ctx)) * len(THEOREMS) * len(_Ts(ctx))


def slopes(rows: pd.DataFrame) -> pd.DataFrame:
    """Measured and bound log-log slopes per (instance, theorem)."""
    out = []
    for (inst, thm), g in rows.groupby(["instance", "theorem"], sort=True):
        g = g.sort_values("T")
        per_seed = [np.array(json.loads(v)) for v in g["per_seed"]]
        squared = theory.THEOREMS[thm].lhs_squared_after_expectation
        lo, hi = stats.slope_ci(g["T"].to_numpy(), per_seed, squared, stats.seed_from(inst, thm))
        out.append(
            {
                "instance": inst,
                "theorem": thm,
                "n_T": len(g),
                "T_min": int(g["T"].min()),
                "T_max": int(g["T"].max()),
                "slope_measured": stats.loglog_slope(g["T"], g["measure"]),
                "slope_ci_low": lo,
                "slope_ci_high": hi,
                "slope_bound": stats.loglog_slope(g["T"], g["bound"]),
                # the common criterion E‖∇f(x_a)‖² of the same runs, to compare theorems whose
                # own criteria differ (Theorem 3's two cases)
                "slope_grad_sq": stats.loglog_slope(g["T"], g["crit_grad_sq"]),
                "in_hypothesis": bool(g["in_hypothesis"].all()),
                "all_hold": bool(g["holds"].all()),
                "max_ratio": float(g["ratio"].max()),
            }
        )
    return pd.DataFrame(out)


def run(ctx: Context) -> dict[str, pd.DataFrame]:
    specs = _instances(ctx)
    # Every validation is started before any is collected, the costliest first (β2 > 0: exact
    # binomial draws up to b = 2^top), so that its runs proceed while the others compile.
    pending = {
        thm: start_validate(
            [built(for_theorem(spec, thm)) for spec in specs],
            thm,
            _Ts(ctx),
            _seeds(ctx),
            cache=ctx.cache,
            experiment="rate",
            progress=ctx.progress,
            mesh=ctx.mesh,
        )
        for thm in sorted(THEOREMS, key=lambda thm: thm != "lamb_beta2_pos")
    }
    parts = {}
    for thm, finish in pending.items():
        for label, part in finish().groupby("instance", sort=False):
            parts[label, thm] = part
    frames = [parts[spec.label, thm] for spec in specs for thm in THEOREMS]
    rows = pd.concat(frames, ignore_index=True)
    return {"theorem_validation": rows, "rate_slopes": slopes(rows)}


EXPERIMENT = Experiment(
    "rate",
    "measured vs bound over T (2^3..2^10+), every theorem, fitted log-log slopes",
    run,
    units,
    _validation_claims.rate_claims,
    claim_specs=(
        *_validation_claims.bound_specs("rate", "rate"),
        *_validation_claims.RATE_SPECS,
        _validation_claims.RATE_CRITERION_SPEC,
    ),
    tables=("theorem_validation", "rate_slopes"),
    figure="rate",
    grid=GRID,
)
