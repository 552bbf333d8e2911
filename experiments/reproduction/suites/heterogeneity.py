"""Heterogeneity: fixed L_avg, L_∞/L_avg from 1 to h. SGD at Theorem 1's step, LARS and LAMB at
theirs: where the layer-wise method wins, in the measure and in the bound (the paper's L_avg vs L_∞
remark after Theorems 2 and 3, Appendix C).

Each layer-wise method is compared with SGD on the layer-wise method's own criterion: SGD's
certificate converts to it for free ((1/√h)Σ_i‖∇_i f‖ ≤ ‖∇f‖, (1/√d)‖∇f‖_1 ≤ ‖∇f‖), and every
run records all three criteria. φ ≡ 1 (α_l = α_u = 1) so the comparison is not blurred by α_u/α_l.
"""

from __future__ import annotations

import pandas as pd

from experiments.reproduction.protocol import Context, Experiment, Grid
from experiments.reproduction.suites import _comparison_claims
from experiments.reproduction.suites._instances import built, standard
from experiments.validation.validate import CRITERION_COLUMN, validate

THEOREMS = ("sgd", "lars", "lamb_beta2_zero")


# h layers of width `width`; the r_L = L_∞/L_avg values run (1 = uniform curvature, at most h);
# one T (= b) and the seeds per run.
GRID = Grid(
    smoke={"h": 4, "width": 4, "ratios": (1.0, 3.5), "T": 64, "seeds": 8},
    default={
        "h": 8,
        "width": 8,
        "ratios": (1.0, 1.5, 2.0, 3.0, 4.0, 6.0, 7.5),
        "T": 256,
        "seeds": 32,
    },
    full={
        "h": 16,
        "width": 16,
        "ratios": (1.0, 1.5, 2.0, 3.0, 4.0, 6.0, 8.0, 12.0, 15.0),
        "T": 1024,
        "seeds": 128,
    },
)


def units(ctx: Context) -> int:
    return len(ctx.sizes(GRID).ratios) * len(THEOREMS)


def _spec(h: int, width: int, r: float):
    rest = (h - r) / (h - 1)  # keeps L_avg = 1 with L_∞ = r
    L = (r,) + (rest,) * (h - 1)
    # Gaussian noise: none of these theorems needs G, and it compiles faster than Rademacher
    return standard(
        "separable_cosine",
        h,
        width,
        L=L,
        sigma=(0.05,) * h,
        noise="gaussian",
        phi=(1.0, 1.0),
        name=f"hetero-r{r:g}",
    )


def run(ctx: Context) -> dict[str, pd.DataFrame]:
    size = ctx.sizes(GRID)
    h, width, ratios, T, seeds = size.h, size.width, size.ratios, size.T, size.seeds
    frames, table = [], []
    for r in ratios:
        b = built(_spec(h, width, r))
        rows = {
            thm: validate(
                b,
                thm,
                [T],
                seeds,
                cache=ctx.cache,
                experiment="heterogeneity",
                progress=ctx.progress,
                mesh=ctx.mesh,
            )
            for thm in THEOREMS
        }
        frames += list(rows.values())
        sgd = rows["sgd"].iloc[0]
        for thm in THEOREMS[1:]:
            row = rows[thm].iloc[0]
            col = CRITERION_COLUMN[thm]
            table.append(
                {
                    "r_L": r,
                    "h": h,
                    "T": T,
                    "method": thm,
                    "criterion": row["lhs"],
                    "measure_layerwise": row[col],
                    "measure_sgd": sgd[col],
                    "bound_layerwise": row["bound"],
                    "bound_sgd": sgd["bound"],
                    "wins_in_measure": bool(row[col] < sgd[col]),
                    "wins_in_bound": bool(row["bound"] < sgd["bound"]),
                    "grad_sq_layerwise": row["crit_grad_sq"],
                    "grad_sq_sgd": sgd["crit_grad_sq"],
                    "in_hypothesis": bool(row["in_hypothesis"] and sgd["in_hypothesis"]),
                }
            )
    return {
        "theorem_validation": pd.concat(frames, ignore_index=True),
        "heterogeneity": pd.DataFrame(table),
    }


EXPERIMENT = Experiment(
    "heterogeneity",
    "L_inf/L_avg from 1 to h at fixed L_avg: where LARS/LAMB beat SGD, measured and in the bound",
    run,
    units,
    _comparison_claims.heterogeneity_claims,
    claim_specs=_comparison_claims.HETEROGENEITY_SPECS,
    tables=("theorem_validation", "heterogeneity"),
    figure="heterogeneity",
    grid=GRID,
)
