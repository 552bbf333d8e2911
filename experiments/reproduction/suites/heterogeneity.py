"""Heterogeneity: at fixed L_avg = 1, the curvature spread r_L = L_∞/L_avg from 1 to about h, with
SGD at Theorem 1's step and LARS and LAMB (β2 = 0) at theirs: how the layer-wise methods' standing
against SGD changes with r_L, in the bounds and in the measure (the paper's L_avg vs L_∞ remark
after Theorems 2 and 3, Appendix C).

Each layer-wise method is compared with SGD on the layer-wise method's own criterion: SGD's
certificate converts to it for free ((1/√h)Σ_i‖∇_i f‖ ≤ ‖∇f‖, (1/√d)‖∇f‖_1 ≤ ‖∇f‖), and every
run records all three criteria. φ ≡ 1 (α_l = α_u = 1) so the comparison is not blurred by α_u/α_l.

What is compared is the trend with r_L, not a win at one r_L: the paper compares bounds, and a
constant-step normalised method's error floor against SGD's linear convergence says nothing about
L_avg vs L_∞. Two families, so the trend is not an artefact of gradients that scale with L_i:

* ``separable_cosine``: x_1 iid N(0, 2²), so ‖∇_i f‖ ∝ L_i (flat layers have small gradients);
* ``noisy_quadratic``: x_1^(i) = z^(i)/L_i (z iid N(0, 1)), so every layer starts with the same
  gradient scale whatever its L_i, and the flat layers hold most of f(x_1) - f*.

Negative control: every instance again with uniform curvature L_i = L_avg = 1 (x_1, σ, φ and T
unchanged); a trend that persists there does not come from the curvature spread.

Bounds in both forms of ``theory.THEOREMS[k].evaluate(form=...)``: ``paper`` (as stated) and
``sharp`` (before the proof's final (a+b)² ≤ 2a² + 2b²), and, as the bound claim's control, each
form with L_avg replaced by L_∞ (what the layer-wise bound would be if it depended on L_∞ as
SGD's does).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

import theory
from experiments.reproduction.protocol import Context, Experiment, Grid
from experiments.reproduction.suites import _comparison_claims
from experiments.reproduction.suites._instances import built
from experiments.validation import hypotheses
from experiments.validation.spec import InstanceSpec
from experiments.validation.validate import CRITERION_COLUMN, start_validate

THEOREMS = ("sgd", "lars", "lamb_beta2_zero")
FAMILIES = ("separable_cosine", "noisy_quadratic")
FORMS = ("paper", "sharp")
# the NQM's within-layer condition number: curvatures log-spaced from L_i to L_i/10
NQM_CONDITION = 10.0
SIGMA = 0.05  # per-layer noise level σ_i (Gaussian): the bounds' noise terms stay small


# h layers of width `width`; the r_L = L_∞/L_avg values run (1 = uniform curvature, below h);
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
    return len(THEOREMS) * len(_specs(ctx.sizes(GRID))[1])  # validate reports every instance


def profile(h: int, r: float) -> tuple[float, ...]:
    """L = (r, rest, ..., rest) with rest = (h - r)/(h - 1): L_avg = 1 and L_∞ = r (1 ≤ r < h)."""
    if not 1.0 <= r < h:
        raise ValueError(f"r={r!r} is invalid: expected 1 <= r_L < h = {h}")
    rest = (h - r) / (h - 1)
    return (float(r),) + (rest,) * (h - 1)


def _x1(h: int, width: int, L: tuple[float, ...]) -> tuple[tuple[float, ...], ...]:
    """x_1^(i) = z^(i)/L_i, z iid N(0, 1) from a fixed seed: ∇_i f(x_1) has the same scale in
    every layer (the NQM gradient is c ⊙ x with c/L_i the same profile in every layer)."""
    z = np.random.default_rng(0).standard_normal((h, width))
    return tuple(tuple(float(v) for v in z[i] / L[i]) for i in range(h))


def spec(family: str, h: int, width: int, r: float, control: bool = False) -> InstanceSpec:
    """The instance of ``family`` at r_L = r; with ``control`` the same instance (x_1 included)
    with uniform curvature L_i = 1."""
    L = profile(h, r)
    fields = {
        "family": family,
        "layer_sizes": (width,) * h,
        "L": (1.0,) * h if control else L,
        # Gaussian noise: none of these theorems needs G, and it compiles faster than Rademacher
        "sigma": (SIGMA,) * h,
        "noise": "gaussian",
        "seed": 0,
        "phi": (1.0, 1.0),
        "beta2": 0.9,
        "name": f"hetero-{family}-r{r:g}" + ("-uniformL" if control else ""),
    }
    if family == "separable_cosine":
        fields["x1_scale"] = 2.0
        if control:  # x_1 does not depend on r here: one control instance serves every r
            fields["name"] = f"hetero-{family}-uniformL"
    elif family == "noisy_quadratic":
        fields["x1"] = _x1(h, width, L)
        fields["options"] = (("condition", NQM_CONDITION),)
    else:
        raise ValueError(f"family={family!r} is invalid: expected one of {FAMILIES}")
    return InstanceSpec(**fields)


def bounds(theorem: str, consts: dict) -> dict[str, float]:
    """The theorem's bound in both forms, and in both forms with every L_i set to L_∞
    (``<form>_linf``: the layer-wise bound as if it depended on L_∞)."""
    thm = theory.THEOREMS[theorem]
    flat = {**consts, "L": [max(consts["L"])] * len(consts["L"])}
    out = {}
    for form in FORMS:
        out[form] = thm.evaluate(form=form, **consts)
        out[f"{form}_linf"] = thm.evaluate(form=form, **flat)
    return out


def _row(family, r, control, h, T, thm, row, sgd, consts) -> dict:
    col = CRITERION_COLUMN[thm]
    b, b_sgd = bounds(thm, consts), float(sgd["bound"])
    out = {
        "family": family,
        "r_L": r,
        "control": control,
        "L_inf_over_L_avg": float(row["L_inf"] / row["L_avg"]),
        "h": h,
        "T": T,
        "method": thm,
        "criterion": row["lhs"],
        "eta_layerwise": float(row["eta"]),
        "eta_sgd": float(sgd["eta"]),
        "measure_layerwise": float(row[col]),
        "measure_sgd": float(sgd[col]),
        "measured_ratio": float(row[col]) / float(sgd[col]),
        "bound_sgd": b_sgd,
        "grad_sq_layerwise": float(row["crit_grad_sq"]),
        "grad_sq_sgd": float(sgd["crit_grad_sq"]),
        "in_hypothesis": bool(row["in_hypothesis"] and sgd["in_hypothesis"]),
    }
    for form in FORMS:
        out[f"bound_layerwise_{form}"] = b[form]
        out[f"bound_ratio_{form}"] = b[form] / b_sgd
        out[f"bound_ratio_{form}_linf"] = b[f"{form}_linf"] / b_sgd
        out[f"measure_over_bound_{form}"] = float(row[col]) / b[form]
        out[f"wins_in_bound_{form}"] = bool(b[form] < b_sgd)
    out["wins_in_measure"] = bool(out["measured_ratio"] < 1)
    return out


def _specs(size) -> tuple[dict, list[InstanceSpec]]:
    """{(family, r_L, control): spec} and the distinct specs (the cosine control is one)."""
    cells = [(f, r, c) for f in FAMILIES for c in (False, True) for r in size.ratios]
    specs = {cell: spec(cell[0], size.h, size.width, cell[1], cell[2]) for cell in cells}
    return specs, list(dict.fromkeys(specs.values()))


def run(ctx: Context) -> dict[str, pd.DataFrame]:
    size = ctx.sizes(GRID)
    h, T, seeds = size.h, size.T, size.seeds
    specs, unique = _specs(size)
    builts = [built(s) for s in unique]
    # start every theorem's runs (one compiled call per family), then collect
    started = {
        thm: start_validate(
            builts,
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
    frames = {thm: fn() for thm, fn in started.items()}
    at = {s: k for k, s in enumerate(unique)}
    table = []
    for f, r, c in specs:
        k = at[specs[f, r, c]]
        consts = hypotheses.constants(builts[k], T)
        sgd = frames["sgd"].iloc[k]
        for thm in THEOREMS[1:]:
            table.append(_row(f, r, c, h, T, thm, frames[thm].iloc[k], sgd, consts))
    out = pd.DataFrame(table)
    return {
        "theorem_validation": pd.concat(frames.values(), ignore_index=True),
        "heterogeneity": out,
    }


EXPERIMENT = Experiment(
    "heterogeneity",
    "L_inf/L_avg from 1 to h at fixed L_avg: the trend of LARS/LAMB vs SGD, in the bounds (both "
    "forms) and measured, with a uniform-curvature control",
    run,
    units,
    _comparison_claims.heterogeneity_claims,
    claim_specs=_comparison_claims.HETEROGENEITY_SPECS,
    tables=("theorem_validation", "heterogeneity"),
    figure="heterogeneity",
    grid=GRID,
)
