"""Baselines: SGD, momentum and Adam beside LARS and LAMB on the validation instances, every
optimizer tuned over the same η grid (equal budgets), plus the theorems' prescribed-η runs.

All are compared on the common criterion E‖∇f(x_a)‖² (x_a uniform over t = 1..T, b = T). The
grid runs are vmapped over η with common random numbers (the same noise for every η).
"""

from __future__ import annotations

import jax
import numpy as np
import pandas as pd

from experiments.reproduction.protocol import Context, Experiment, Grid
from experiments.reproduction.suites import _comparison_claims
from experiments.reproduction.suites._instances import built, standard
from experiments.validation import stats
from experiments.validation.optimizers import OptimizerSpec, baseline, for_theorem
from experiments.validation.runner import launch
from experiments.validation.validate import prescribed_eta

TUNED = ("sgd", "momentum", "adam", "lars", "lamb")
# The tuned optimizers that are also a theorem's analysed algorithm, with that theorem: they run
# at its prescribed η too.
PRESCRIBED = {"sgd": "sgd", "lars": "lars", "lamb": "lamb_beta2_pos"}


# Instance families (h layers of width `width`); `eta_points` step sizes on one log grid from 1e-3
# to 10^0.5 (1.7, 4, 8 per decade); one T (= b); seeds per run.
GRID = Grid(
    smoke={
        "families": ("separable_cosine",),
        "h": 4,
        "width": 4,
        "eta_points": 6,
        "T": 64,
        "seeds": 8,
    },
    default={
        "families": ("separable_cosine", "chain_cosine"),
        "h": 4,
        "width": 16,
        "eta_points": 15,
        "T": 256,
        "seeds": 32,
    },
    full={
        "families": ("separable_cosine", "chain_cosine"),
        "h": 8,
        "width": 64,
        "eta_points": 29,
        "T": 1024,
        "seeds": 128,
    },
)


def _setup(ctx: Context):
    size = ctx.sizes(GRID)
    specs = [standard(fam, size.h, size.width) for fam in size.families]
    return specs, np.logspace(-3, 0.5, size.eta_points), size.T, size.seeds


def units(ctx: Context) -> int:
    return len(ctx.sizes(GRID).families) * (len(TUNED) + 3)


def _opt(name: str, spec) -> OptimizerSpec:
    if name == "lars":
        return for_theorem("lars", spec.phi, spec.beta2)
    if name == "lamb":
        return for_theorem("lamb_beta2_pos", spec.phi, spec.beta2)
    return baseline(name)


def _summarise(spec, opt, rule, etas, res, seed, first: int = 0) -> list[dict]:
    """Rows for the step sizes ``etas``, the lanes first, first + 1, ... of the run ``res``."""
    out = []
    for k, eta in enumerate(etas):
        per_seed = res.mean["grad_sq"][first + k]
        lo, hi = stats.bootstrap_ci(per_seed, False, seed + k)
        out.append(
            {
                "instance": spec.label,
                "optimizer": opt.label,
                "eta_rule": rule,
                "eta": float(eta),
                "T": res.T,
                "batch_size": res.batch_size,
                "n_seeds": res.n_seeds,
                "grad_sq": float(per_seed.mean()),
                "grad_sq_ci_low": lo,
                "grad_sq_ci_high": hi,
                "final_f": float(np.mean(res.final_f[first + k])),
                "diverged": bool(not np.all(np.isfinite(per_seed))),
            }
        )
    return out


def run(ctx: Context) -> dict[str, pd.DataFrame]:
    specs, grid, T, seeds = _setup(ctx)
    # every run is started before any is collected: JAX runs one while the next compiles
    done, started = {}, []
    for spec in specs:
        bt = built(spec)
        # the same noise for every optimizer and step size (common random numbers)
        seed = stats.seed_from("baselines", spec.spec_hash, T, seeds)
        for name in TUNED:
            opt = _opt(name, spec)
            thm = PRESCRIBED.get(name)
            # the theorem's prescribed η runs as one more lane of the grid's call (same program)
            extra = [] if thm is None else [prescribed_eta(thm, bt, T)]
            key = ["baselines", spec.to_dict(), opt.name, list(opt.hyper), T, seeds, list(grid)]
            key.append(extra)
            done[spec.label, name] = ctx.cache.lookup(key)
            if done[spec.label, name] is None:
                ctx.progress(f"baselines: {name} over {len(grid)} step sizes on {spec.label}")
                etas = [[*grid, *extra]]
                results = launch(
                    [bt], [opt], [0], [T], [T], etas, seeds, [jax.random.key(seed)], mesh=ctx.mesh
                )
                started.append((spec, name, opt, thm, extra, seed, key, results))
    for spec, name, opt, thm, extra, seed, key, results in started:
        res = results()[0]
        out = _summarise(spec, opt, "grid", grid, res, seed)
        if thm is not None:
            out += _summarise(spec, opt, f"prescribed ({thm})", extra, res, seed, first=len(grid))
        ctx.cache.store(key, out)
        done[spec.label, name] = out
    rows = []
    for spec in specs:
        runs = [done[spec.label, name] for name in TUNED]
        rows += [r for run in runs for r in run if r["eta_rule"] == "grid"]
        # the prescribed rows after the grid rows, in the theorems' order
        prescribed = [r for run in runs for r in run if r["eta_rule"] != "grid"]
        order = [f"prescribed ({thm})" for thm in ("sgd", "lars", "lamb_beta2_pos")]
        rows += sorted(prescribed, key=lambda r: order.index(r["eta_rule"]))
    grid_rows = pd.DataFrame(rows)
    tuned = grid_rows[grid_rows["eta_rule"] == "grid"].copy()
    tuned["grad_sq_rank"] = tuned["grad_sq"].where(~tuned["diverged"], np.inf)
    best = tuned.loc[tuned.groupby(["instance", "optimizer"])["grad_sq_rank"].idxmin()]
    best = best.drop(columns=["grad_sq_rank"]).assign(eta_rule="tuned (best of grid)")
    prescribed = grid_rows[grid_rows["eta_rule"].str.startswith("prescribed")]
    return {
        "baselines": pd.concat([best, prescribed], ignore_index=True),
        "baselines_grid": grid_rows,
    }


EXPERIMENT = Experiment(
    "baselines",
    "SGD/momentum/Adam vs LARS/LAMB, equal η-grid budgets, plus prescribed steps",
    run,
    units,
    _comparison_claims.baseline_claims,
    claim_specs=(_comparison_claims.BASELINE_SPEC,),
    tables=("baselines", "baselines_grid"),
    figure="baselines",
    grid=GRID,
)
