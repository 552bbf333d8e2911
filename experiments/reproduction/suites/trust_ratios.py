"""Per-layer trust ratios over steps on a synthetic problem (LARS and LAMB at the prescribed η),
the data for the trust-ratio figure: φ(‖x_t^(i)‖)/‖r_t^(i)‖ per layer, mean and spread over seeds.

Descriptive only: no claim is judged here. On these instances the ratio is fixed by construction
(LAMB with β2 = 0 and φ at a clip bound: α/√d_i; with φ = identity, about the layer's weight RMS
over its update's RMS, i.e. the chosen x_1), so a threshold on its spread across layers would test
the instance, not the optimizer; Appendix H's claim is judged on trained networks
(``lb_trust_ratios``).
"""

from __future__ import annotations

import jax
import numpy as np
import pandas as pd

from experiments.reproduction.protocol import Context, Experiment, Grid
from experiments.reproduction.suites._instances import built, standard
from experiments.validation import stats
from experiments.validation.optimizers import for_theorem
from experiments.validation.runner import launch
from experiments.validation.validate import prescribed_eta

THEOREMS = ("lars", "lamb_beta2_zero", "lamb_beta2_pos")


# T (= b), a trace point every `every` steps, seeds per run, h layers of width `width`.
GRID = Grid(
    smoke={"T": 64, "every": 4, "seeds": 4, "h": 4, "width": 4},
    default={"T": 1024, "every": 16, "seeds": 16, "h": 4, "width": 16},
    full={"T": 4096, "every": 32, "seeds": 64, "h": 8, "width": 64},
)


def units(ctx: Context) -> int:
    return len(THEOREMS)


def _rows(thm, opt, spec, bt, res) -> list[dict]:
    ratios = res.trace["trust_ratio"][0]  # (seeds, K, h)
    out = []
    for k, t in enumerate(res.trace_t):
        for i in range(ratios.shape[-1]):
            r = ratios[:, k, i]
            out.append(
                {
                    "theorem": thm,
                    "optimizer": opt.label,
                    "instance": spec.label,
                    "t": int(t),
                    "layer": bt.objective.layer_names[i],
                    "L_i": bt.objective.L[i],
                    "trust_ratio": float(np.mean(r)),
                    "trust_ratio_q10": float(np.quantile(r, 0.1)),
                    "trust_ratio_q90": float(np.quantile(r, 0.9)),
                    "grad_sq": float(np.mean(res.trace["grad_sq"][0][:, k])),
                }
            )
    return out


def run(ctx: Context) -> dict[str, pd.DataFrame]:
    size = ctx.sizes(GRID)
    T, every, seeds = size.T, size.every, size.seeds
    spec = standard("separable_cosine", size.h, size.width)
    bt = built(spec)
    # every run is started before any is collected: JAX runs one while the next compiles
    done, started = {}, []
    for thm in THEOREMS:
        opt = for_theorem(thm, spec.phi, spec.beta2)
        key = ["trust_ratios", spec.to_dict(), thm, T, every, seeds]
        done[thm] = ctx.cache.lookup(key)
        if done[thm] is None:
            ctx.progress(f"trust ratios: {thm} on {spec.label}")
            eta = prescribed_eta(thm, bt, T)
            seed = stats.seed_from("trust_ratios", spec.spec_hash, thm, T, seeds)
            results = launch(
                [bt], [opt], [0], [T], [T], [[eta]], seeds, [jax.random.key(seed)],
                trace_every=every, mesh=ctx.mesh,
            )  # fmt: skip
            started.append((thm, opt, key, results))
    for thm, opt, key, results in started:
        done[thm] = _rows(thm, opt, spec, bt, results()[0])
        ctx.cache.store(key, done[thm])
    return {"trust_ratios": pd.DataFrame([r for thm in THEOREMS for r in done[thm]])}


EXPERIMENT = Experiment(
    "trust_ratios",
    "per-layer trust ratios over steps (LARS, LAMB)",
    run,
    units,
    tables=("trust_ratios",),
    figure="trust_ratios",
    grid=GRID,
)
