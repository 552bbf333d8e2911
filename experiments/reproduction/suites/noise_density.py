"""Noise density: the same total noise ‖σ‖² concentrated in one layer vs spread over all
(Theorems 2 and 3, Appendix C: the layer-wise bounds pay ‖σ‖_1²/h or ‖σ̃‖_1²/d where SGD pays
‖σ‖²).

Concentrated: σ = (s, 0, …, 0), so ‖σ‖_1² = ‖σ‖² = s²; spread: σ_i = s/√h, so ‖σ‖_1² = h s².
LARS's noise term 8‖σ‖_1²/(Th) is h times smaller when the noise is concentrated; SGD's ‖σ‖²/T
does not move. The measured criteria show whether the runs follow.
"""

from __future__ import annotations

import math

import pandas as pd

from experiments.reproduction.protocol import Context, Experiment, Grid
from experiments.reproduction.suites import _validation_claims
from experiments.reproduction.suites._instances import built, for_theorem, standard
from experiments.validation.validate import CRITERION_COLUMN, validate

ALL_THEOREMS = ("sgd", "lars", "lamb_beta2_zero", "lamb_beta2_pos")
LAYOUTS = ("concentrated", "spread")


# h layers of width `width`; total noise levels s (‖σ‖ = s in both layouts); one T (= b); seeds
# per run; the theorems run (smoke: SGD and LARS only).
GRID = Grid(
    smoke={"h": 4, "width": 4, "levels": (2.0,), "T": 32, "seeds": 8, "theorems": ALL_THEOREMS[:2]},
    default={
        "h": 8,
        "width": 8,
        "levels": (0.5, 8.0),
        "T": 64,
        "seeds": 32,
        "theorems": ALL_THEOREMS,
    },
    full={
        "h": 16,
        "width": 16,
        "levels": (0.5, 2.0, 8.0, 32.0),
        "T": 256,
        "seeds": 128,
        "theorems": ALL_THEOREMS,
    },
)


def units(ctx: Context) -> int:
    size = ctx.sizes(GRID)
    return len(size.levels) * len(LAYOUTS) * len(size.theorems)


def _sigma(layout: str, h: int, s: float) -> tuple[float, ...]:
    if layout == "concentrated":
        return (s,) + (0.0,) * (h - 1)
    return (s / math.sqrt(h),) * h


def run(ctx: Context) -> dict[str, pd.DataFrame]:
    size = ctx.sizes(GRID)
    h, width, levels, T, seeds = size.h, size.width, size.levels, size.T, size.seeds
    theorems = size.theorems
    frames, table = [], []
    for s in levels:
        for layout in LAYOUTS:
            spec = standard(
                "separable_cosine",
                h,
                width,
                L=(1.0,) * h,
                sigma=_sigma(layout, h, s),
                x1_scale=0.5,
                name=f"noise-{layout}-s{s:g}",
            )
            for thm in theorems:
                rows = validate(
                    built(for_theorem(spec, thm)),
                    thm,
                    [T],
                    seeds,
                    cache=ctx.cache,
                    experiment="noise_density",
                    progress=ctx.progress,
                    mesh=ctx.mesh,
                )
                frames.append(rows)
                row = rows.iloc[0]
                table.append(
                    {
                        "noise_level": s,
                        "layout": layout,
                        "theorem": thm,
                        "T": T,
                        "sigma_sq": row["sigma_sq"],
                        "sigma_1": row["sigma_1"],
                        "tilde_sigma_1": row["tilde_sigma_1"],
                        "measure": row["measure"],
                        "measure_ci_low": row["measure_ci_low"],
                        "measure_ci_high": row["measure_ci_high"],
                        "criterion_value": row[CRITERION_COLUMN[thm]],
                        "bound": row["bound"],
                        "in_hypothesis": bool(row["in_hypothesis"]),
                    }
                )
    return {
        "theorem_validation": pd.concat(frames, ignore_index=True),
        "noise_density": pd.DataFrame(table),
    }


EXPERIMENT = Experiment(
    "noise_density",
    "equal total noise concentrated in one layer vs spread over all layers",
    run,
    units,
    _validation_claims.noise_density_claims,
    claim_specs=(_validation_claims.NOISE_DENSITY_SPEC,),
    tables=("theorem_validation", "noise_density"),
    figure="noise_density",
    grid=GRID,
)
