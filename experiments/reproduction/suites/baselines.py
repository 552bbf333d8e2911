"""Baselines: LARS and LAMB beside SGD and Adam on the synthetic validation instances, compared
like for like.

Every method gets the same tuning budget (one η grid) in two matched-momentum arms, each with a
constant and with a decaying step size (the same schedule for all):

    β1 = 0:    SGD,            LARS (β1 = 0),   LAMB (β1 = 0),   Adam with β1 = 0 (RMSProp-like)
    β1 = 0.9:  momentum SGD,   LARS (β1 = 0.9), LAMB (β1 = 0.9), Adam (β1 = 0.9)

LAMB and Adam share β2 and ε; LARS and LAMB use the instance's φ = clip(·, α_l, α_u) (the
analysed algorithms' φ). Schedules: η_t = η (constant) or η_t = η·½(1 + cos(πt/T)) (cosine decay
to 0 over the T steps). Each run is T steps at batch b = T (the theorems' batch: nearly noise
free) and at b = 1 (noisy).

Metrics per (instance, b, method, arm, schedule, η), means over seeds with common random numbers
(every method, arm, schedule and η of an (instance, b) sees the same noise):

* ``f_gap`` = f(x_{T+1}) - f* (f* known in closed form for these families; the primary metric),
* ``grad_sq`` = E‖∇f(x_a)‖² (x_a uniform over t = 1..T: Theorem 1's criterion and LAMB β2 > 0's),
* ``crit_layer_sum_sq`` = (E[(1/√h)Σ_i‖∇_i f(x_a)‖])² (Theorem 2, LARS),
* ``crit_l1_sq`` = (E[‖∇f(x_a)‖₁/√d])² (Theorem 3, LAMB with β2 = 0),
* ``steps_to_eps`` = the first traced t with mean f(x_{t+1}) - f* ≤ ε, ε = EPS_REL·(f(x_1) - f*)
  (NaN if never).

Tuning: per (instance, b, method, arm, schedule) the primary η minimises ``f_gap`` over the grid
(diverged η excluded; ties, equal to TIE_REL, go to the smaller η); each metric's own best over
the grid (``tuned_<metric>``, at ``eta_<metric>``) is reported beside it. The grid runs are
vmapped over η, and the schedules, batch sizes and instances of one structure share one
compiled call.
"""

from __future__ import annotations

import math

import jax
import numpy as np
import pandas as pd

from experiments.reproduction.protocol import Context, Experiment, Grid
from experiments.reproduction.suites import _comparison_claims
from experiments.reproduction.suites._instances import built, standard
from experiments.validation import stats
from experiments.validation.optimizers import OptimizerSpec, baseline, with_decay
from experiments.validation.runner import RunResult, launch
from experiments.validation.spec import InstanceSpec

METHODS = ("sgd", "lars", "lamb", "adam")
ARMS = (0.0, 0.9)  # β1 of every method in the arm (SGD's heavy-ball momentum at 0.9)
SCHEDULES = {"constant": 0.0, "cosine": 1.0}  # the decay weight w (OptimizerSpec.learning_rate)
# LAMB and Adam share the second moment's β2 and ε: Adam's usual defaults.
ADAM_B2, ADAM_EPS = 0.999, 1e-8
# ε of steps_to_eps, relative to the initial gap f(x_1) - f*: three orders of magnitude of
# progress, a round number fixed before any run.
EPS_REL = 1e-3
# Two f_gap values this close (relative) are a tie for the tuning; the smaller η wins it (the
# more conservative step).
TIE_REL = 1e-9
# The detuned η of the claim's control: this factor below the tuned η (one decade).
DETUNE = 10.0
METRICS = ("f_gap", "grad_sq", "crit_layer_sum_sq", "crit_l1_sq", "steps_to_eps")
LAYERWISE = ("lars", "lamb")


# Instances: (family, decades of L spread over the h layers) - the standard one decade, and
# three (L = 1..1000, where constant-step SGD leaves the flattest layer almost where it
# started); chain_cosine (coupled layers) in the full profile only: each family compiles its own
# 8 programs, and on the default sizes it tracks separable_cosine. h layers of width `width`;
# `eta_points` step sizes on one log grid from 1e-4 to 10^0.5 (about 3 per decade in default);
# one T; b = T and b = 1; seeds per run; a trace point every `every` steps for steps_to_eps.
GRID = Grid(
    smoke={
        "instances": (("separable_cosine", 1),),
        "h": 4,
        "width": 4,
        "eta_points": 7,
        "T": 64,
        "batches": ("T", 1),
        "seeds": 4,
        "every": 4,
    },
    default={
        "instances": (("separable_cosine", 1), ("separable_cosine", 3)),
        "h": 4,
        "width": 16,
        "eta_points": 14,
        "T": 256,
        "batches": ("T", 1),
        "seeds": 8,
        "every": 8,
    },
    full={
        "instances": (("separable_cosine", 1), ("separable_cosine", 3), ("chain_cosine", 1)),
        "h": 8,
        "width": 64,
        "eta_points": 28,
        "T": 1024,
        "batches": ("T", 1),
        "seeds": 64,
        "every": 8,
    },
)


def instance(family: str, decades: int, h: int, width: int) -> InstanceSpec:
    """The standard instance with L_i = 10^(decades·i/(h-1)), i = 0..h-1."""
    L = tuple(float(10.0 ** (decades * i / max(h - 1, 1))) for i in range(h))
    name = f"{family}-h{h}x{width}" + ("" if decades == 1 else f"-L1e{decades}")
    # Gaussian noise: no bound here needs G, and it compiles and draws faster than Rademacher
    return standard(family, h, width, L=L, noise="gaussian", name=name)


def eta_grid(points: int) -> np.ndarray:
    """``points`` step sizes log-spaced over [1e-4, 10^0.5]."""
    return np.logspace(-4, 0.5, points)


def method_spec(method: str, beta1: float, phi: tuple[float, float]) -> OptimizerSpec:
    """The optimizer of ``method`` in the arm β1 = ``beta1`` (constant η; see ``with_decay``)."""
    if method == "sgd":
        return OptimizerSpec("sgd") if beta1 == 0 else baseline("momentum", momentum=beta1)
    if method == "lars":
        return OptimizerSpec("lars", (("b1", beta1), ("phi", phi)))
    if method == "lamb":
        hyper = (("b1", beta1), ("b2", ADAM_B2), ("eps", ADAM_EPS), ("phi", phi))
        return OptimizerSpec("lamb", hyper)
    if method == "adam":
        return baseline("adam", b1=beta1, b2=ADAM_B2, eps=ADAM_EPS)
    raise ValueError(f"method={method!r} is invalid: expected one of {METHODS}")


def _batch(b: str | int, T: int) -> int:
    return T if b == "T" else int(b)


def _settings(ctx: Context):
    size = ctx.sizes(GRID)
    specs = [instance(f, dec, size.h, size.width) for f, dec in size.instances]
    return size, specs, eta_grid(size.eta_points)


def units(ctx: Context) -> int:
    families = {f for f, _ in ctx.sizes(GRID).instances}
    return len(families) * len(METHODS) * len(ARMS)


def steps_to_eps(
    trace_t: np.ndarray, f_gap_trace: np.ndarray, T: int, final: float, eps: float
) -> float:
    """The first number of steps taken, t - 1 for a traced x_t (and T for x_{T+1}), whose
    seed-mean f - f* (``f_gap_trace`` over the traced x_t, ``final`` at x_{T+1}) is ≤ ``eps``;
    NaN if none is."""
    steps = np.append(np.asarray(trace_t) - 1, T)
    gaps = np.append(np.asarray(f_gap_trace, np.float64), final)
    hit = np.flatnonzero(np.isfinite(gaps) & (gaps <= eps))
    return float(steps[hit[0]]) if hit.size else math.nan


def _rows(bt, method, beta1, schedule, b, res: RunResult, seed: int) -> list[dict]:
    """One row per η of one setting's run ``res``."""
    f_star = float(bt.objective.f_star)
    gap0 = bt.f_gap
    eps = EPS_REL * gap0
    out = []
    for k, eta in enumerate(res.etas):
        gap_seeds = res.final_f[k] - f_star
        finite = np.all(np.isfinite(gap_seeds)) and np.all(np.isfinite(res.mean["grad_sq"][k]))
        lo, hi = stats.bootstrap_ci(gap_seeds, False, seed + k)
        g_lo, g_hi = stats.bootstrap_ci(res.mean["grad_sq"][k], False, seed + k)
        trace = np.mean(res.trace["f"][k], axis=0) - f_star
        final = float(np.mean(gap_seeds))
        out.append(
            {
                "instance": bt.spec.label,
                "family": bt.spec.family,
                "L_inf_over_L_min": max(bt.objective.L) / min(bt.objective.L),
                "batch_size": res.batch_size,
                "T": res.T,
                "n_seeds": res.n_seeds,
                "method": method,
                "beta1": beta1,
                "schedule": schedule,
                "eta": float(eta),
                "f_gap": final,
                "f_gap_ci_low": lo,
                "f_gap_ci_high": hi,
                "grad_sq": float(np.mean(res.mean["grad_sq"][k])),
                "grad_sq_ci_low": g_lo,
                "grad_sq_ci_high": g_hi,
                "crit_layer_sum_sq": float(np.mean(res.mean["layer_sum_norm"][k])) ** 2,
                "crit_l1_sq": float(np.mean(res.mean["l1_over_sqrt_d"][k])) ** 2,
                "steps_to_eps": steps_to_eps(res.trace_t, trace, res.T, final, eps),
                "eps": eps,
                "f_gap_initial": gap0,
                "diverged": bool(not finite),
            }
        )
    return out


def _plan(size, specs, grid):
    """The compiled calls: per (family, method, arm), every instance of the family at every
    (schedule, b) as one setting, with the η grid vmapped inside."""
    calls = []
    for family in dict.fromkeys(s.family for s in specs):
        members = [s for s in specs if s.family == family]
        for method in METHODS:
            for beta1 in ARMS:
                settings = [
                    (spec, schedule, _batch(b, size.T))
                    for spec in members
                    for schedule in SCHEDULES
                    for b in size.batches
                ]
                calls.append((family, method, beta1, settings))
    return calls


def run(ctx: Context) -> dict[str, pd.DataFrame]:
    size, specs, grid = _settings(ctx)
    T, seeds = size.T, size.seeds
    done, started = {}, []
    # every call is started before any is collected: JAX runs one while the next compiles
    for family, method, beta1, settings in _plan(size, specs, grid):
        key = [
            "baselines", family, method, beta1, [[s.to_dict(), sc, b] for s, sc, b in settings],
            T, seeds, size.every, list(grid), EPS_REL, ADAM_B2, ADAM_EPS,
        ]  # fmt: skip
        done[key_id := (family, method, beta1)] = ctx.cache.lookup(key)
        if done[key_id] is not None:
            continue
        ctx.progress(f"baselines: {method} β1={beta1:g} over {len(grid)} η on {family}")
        builts = [built(s) for s, _, _ in settings]
        opts = [
            with_decay(method_spec(method, beta1, s.phi), SCHEDULES[sc]) for s, sc, _ in settings
        ]
        # common random numbers: the key depends on the instance and b only
        seed_ids = [stats.seed_from("baselines", s.spec_hash, T, b, seeds) for s, _, b in settings]
        results = launch(
            builts, opts, list(range(len(settings))), [T] * len(settings),
            [b for _, _, b in settings], [list(grid)] * len(settings), seeds,
            [jax.random.key(i) for i in seed_ids], trace_every=size.every, mesh=ctx.mesh,
        )  # fmt: skip
        started.append((key_id, key, settings, builts, seed_ids, results))
    for key_id, key, settings, builts, seed_ids, results in started:
        _, method, beta1 = key_id
        rows = []
        for (_, sc, b), bt, sid, res in zip(settings, builts, seed_ids, results(), strict=True):
            rows += _rows(bt, method, beta1, sc, b, res, sid)
        ctx.cache.store(key, rows)
        done[key_id] = rows
    grid_rows = pd.DataFrame([r for rows in done.values() for r in rows])
    return {"baselines": tune(grid_rows), "baselines_grid": grid_rows}


CELL = ["instance", "batch_size", "method", "beta1", "schedule"]


def _argmin(g: pd.DataFrame, metric: str) -> pd.Series | None:
    """The row of ``g`` (one cell's η grid) with the smallest finite ``metric`` among the
    non-diverged rows, the smaller η on a tie (TIE_REL); None if there is none."""
    ok = g[~g["diverged"].astype(bool) & np.isfinite(g[metric].astype(float))]
    if not len(ok):
        return None
    best = ok[metric].min()
    tied = ok[ok[metric] <= best + TIE_REL * abs(best)]
    return tied.loc[tied["eta"].idxmin()]


def tune(grid_rows: pd.DataFrame) -> pd.DataFrame:
    """One row per cell (instance, b, method, arm, schedule): every metric at the η tuned for
    ``f_gap`` (the primary metric), each metric's own best over the grid (``tuned_<m>`` at
    ``eta_<m>``), whether the tuned η is at the grid's edge, and ``f_gap_detuned``, f - f* at
    the grid η closest to the tuned η / DETUNE (the claim's control)."""
    out = []
    for _, g in grid_rows.groupby(CELL, sort=False):
        g = g.sort_values("eta")
        best = _argmin(g, "f_gap")
        if best is None:  # every η diverged: the cell's row says so
            row = g.iloc[0].to_dict() | {"eta": math.nan, "f_gap": math.nan}
        else:
            row = best.to_dict()
        etas = g["eta"].to_numpy(float)
        row["eta_rule"] = "tuned for f_gap (best of grid)"
        row["eta_at_edge"] = bool(best is not None and row["eta"] in (etas[0], etas[-1]))
        for m in METRICS:
            b = _argmin(g, m)
            row[f"tuned_{m}"] = math.nan if b is None else float(b[m])
            row[f"eta_{m}"] = math.nan if b is None else float(b["eta"])
        detuned = math.nan
        if best is not None:
            k = int(np.argmin(np.abs(np.log(etas) - np.log(row["eta"] / DETUNE))))
            lane = g.iloc[k]
            detuned = math.inf if bool(lane["diverged"]) else float(lane["f_gap"])
        row["f_gap_detuned"] = detuned
        out.append(row)
    return pd.DataFrame(out)


EXPERIMENT = Experiment(
    "baselines",
    "SGD/Adam vs LARS/LAMB like for like: equal η grids, matched β1 arms, constant and cosine η",
    run,
    units,
    _comparison_claims.baseline_claims,
    claim_specs=(_comparison_claims.BASELINE_SPEC,),
    tables=("baselines", "baselines_grid"),
    figure="baselines",
    grid=GRID,
)
