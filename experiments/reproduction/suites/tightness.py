"""Tightness: measured/bound over a grid of instances, and an adversarial search within the
assumptions for instances that push the ratio up; the tightest found is reported.

The search is a seeded random search followed by hill climbing (multiplicative perturbations of
the noise level, the starting point's scale and the L profile, moves in T), over certified
families only, keeping every candidate inside the theorem's hypotheses (b = T, prescribed η,
β1 = λ = ε = 0, bounded φ, equal layer sizes, bounded noise where G is used). A ratio near 1
means the explicit constant cannot be improved on that family; a small maximum says the bound is
loose on everything tried (not that it is loose in the worst case).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from experiments.reproduction.protocol import Context, Experiment, Grid
from experiments.reproduction.suites import _validation_claims
from experiments.reproduction.suites._instances import THEOREMS, built, for_theorem
from experiments.validation.spec import InstanceSpec
from experiments.validation.validate import validate

GRID_FAMILIES = ("separable_cosine", "separable_geman_mcclure", "chain_cosine", "coupled_cosine")
SEARCH_FAMILIES = ("separable_cosine", "separable_geman_mcclure", "noisy_quadratic")


# The grid: the first `families` of GRID_FAMILIES × noise levels `sigma` × starting-point scales
# `x1` × horizons `T`; the search: `n_random` random candidates then `n_climb` hill-climbing steps
# per theorem; seeds per run.
GRID = Grid(
    smoke={
        "families": 1,
        "sigma": (1.0,),
        "x1": (1.0,),
        "T": (16,),
        "n_random": 1,
        "n_climb": 2,
        "seeds": 8,
    },
    default={
        "families": 2,
        "sigma": (0.0, 1.0),
        "x1": (0.3, 2.0),
        "T": (16, 128),
        "n_random": 4,
        "n_climb": 8,
        "seeds": 16,
    },
    full={
        "families": 4,
        "sigma": (0.0, 0.1, 0.3, 1.0, 3.0),
        "x1": (0.1, 0.5, 2.0, 3.0),
        "T": (16, 128, 1024),
        "n_random": 40,
        "n_climb": 60,
        "seeds": 64,
    },
)


def units(ctx: Context) -> int:
    size = ctx.sizes(GRID)
    grid = size.families * len(size.sigma) * len(size.x1) * len(size.T) * len(THEOREMS)
    return grid + len(THEOREMS) * (size.n_random + size.n_climb)


def _spec(family, h, width, L, sigma, x1_scale, seed, name, condition=None) -> InstanceSpec:
    noise = "none" if sigma == 0 else "rademacher"
    return InstanceSpec(
        family=family,
        layer_sizes=(width,) * h,
        L=tuple(float(v) for v in L),
        sigma=None if sigma == 0 else (float(sigma),) * h,
        noise=noise,
        x1_scale=float(x1_scale),
        seed=int(seed),
        phi=(0.5, 2.0),
        beta2=0.9,
        options=() if condition is None else (("condition", float(condition)),),
        name=name,
    )


def _grid(ctx: Context) -> pd.DataFrame:
    size = ctx.sizes(GRID)
    frames = []
    for fam in GRID_FAMILIES[: size.families]:
        for s in size.sigma:
            for x1 in size.x1:
                L = (1.0, 3.0, 10.0)
                spec = _spec(fam, 3, 4, L, s, x1, 0, f"grid-{fam}-s{s:g}-x{x1:g}")
                for thm in THEOREMS:
                    frames.append(
                        validate(
                            built(for_theorem(spec, thm)),
                            thm,
                            list(size.T),
                            size.seeds,
                            cache=ctx.cache,
                            experiment="tightness",
                            progress=ctx.progress,
                            mesh=ctx.mesh,
                        )
                    )
    out = pd.concat(frames, ignore_index=True)
    out["search"] = "grid"
    return out


def _candidate(rng: np.random.Generator, theorem: str) -> dict:
    families = SEARCH_FAMILIES if theorem != "lamb_beta2_pos" else SEARCH_FAMILIES[:2]
    h = int(rng.choice([1, 2, 4]))
    return {
        "family": str(rng.choice(families)),
        "h": h,
        "width": int(rng.choice([1, 2, 4])),
        "L": np.exp(rng.uniform(np.log(0.1), np.log(10.0), size=h)).tolist(),
        "sigma": float(rng.choice([0.0, np.exp(rng.uniform(np.log(1e-3), np.log(3.0)))])),
        "x1_scale": float(np.exp(rng.uniform(np.log(1e-2), np.log(3.0)))),
        "T": int(rng.choice([1, 2, 4, 8, 16])),
        "seed": int(rng.integers(0, 2**31)),
    }


def _perturb(rng: np.random.Generator, c: dict) -> dict:
    c = dict(c)
    move = rng.integers(0, 4)
    if move == 0:
        c["sigma"] = 0.0 if rng.random() < 0.3 else max(c["sigma"], 1e-3) * np.exp(rng.normal())
    elif move == 1:
        c["x1_scale"] = float(np.clip(c["x1_scale"] * np.exp(rng.normal()), 1e-3, 3.0))
    elif move == 2:
        L = np.array(c["L"]) * np.exp(0.5 * rng.normal(size=len(c["L"])))
        c["L"] = np.clip(L, 1e-2, 1e2).tolist()
    else:
        c["T"] = int(max(1, c["T"] * rng.choice([0.5, 2])))
    c["seed"] = int(rng.integers(0, 2**31))
    return c


def _evaluate(ctx, theorem, c, seeds, tag) -> pd.Series:
    cond = 1.0 if c["family"] == "noisy_quadratic" else None
    spec = _spec(
        c["family"], c["h"], c["width"], c["L"], c["sigma"], c["x1_scale"], c["seed"], tag, cond
    )
    row = validate(
        built(for_theorem(spec, theorem)),
        theorem,
        [c["T"]],
        seeds,
        cache=ctx.cache,
        experiment="tightness",
        progress=ctx.progress,
        mesh=ctx.mesh,
    ).iloc[0]
    return row


def _search(ctx: Context, theorem: str) -> pd.DataFrame:
    size = ctx.sizes(GRID)
    n_rand, n_climb, seeds = size.n_random, size.n_climb, size.seeds
    rng = np.random.default_rng([7, THEOREMS.index(theorem)])
    rows, best, best_ratio = [], None, -np.inf
    for k in range(n_rand + n_climb):
        c = _candidate(rng, theorem) if k < n_rand or best is None else _perturb(rng, best)
        row = _evaluate(ctx, theorem, c, seeds, f"search-{theorem}-{k}")
        rows.append(row)
        if row["in_hypothesis"] and row["ratio"] > best_ratio:
            best, best_ratio = c, float(row["ratio"])
    out = pd.DataFrame(rows)
    out["search"] = "adversarial"
    return out


def summary(rows: pd.DataFrame) -> pd.DataFrame:
    """The tightest in-hypothesis instance per theorem, grid and search separately."""
    ok = rows[rows["in_hypothesis"]]
    idx = ok.groupby(["theorem", "search"])["ratio"].idxmax()
    cols = [
        "theorem",
        "search",
        "instance",
        "family",
        "T",
        "ratio",
        "measure",
        "measure_ci_low",
        "measure_ci_high",
        "bound",
        "sigma_sq",
        "f_gap",
        "h",
        "d",
    ]
    best = ok.loc[idx, cols].reset_index(drop=True)
    counts = ok.groupby(["theorem", "search"]).size().rename("n_instances").reset_index()
    return best.merge(counts, on=["theorem", "search"])


def run(ctx: Context) -> dict[str, pd.DataFrame]:
    frames = [_grid(ctx)] + [_search(ctx, thm) for thm in THEOREMS]
    rows = pd.concat(frames, ignore_index=True)
    return {
        "theorem_validation": rows.drop(columns=["search"]),
        "tightness": rows,
        "tightness_best": summary(rows),
    }


EXPERIMENT = Experiment(
    "tightness",
    "measured/bound over a grid and an adversarial search within the hypotheses",
    run,
    units,
    _validation_claims.tightness_claims,
    claim_specs=(
        *_validation_claims.bound_specs("tightness", "tightness"),
        _validation_claims.TIGHTNESS_SPEC,
    ),
    tables=("theorem_validation", "tightness", "tightness_best"),
    figure="tightness",
    grid=GRID,
)
