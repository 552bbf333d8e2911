"""Theorem validation: measured criterion vs explicit bound, one row per (instance, theorem,
optimizer, T), in the columns of ``theorem_validation.csv`` (docs/validation.md).

For each T the run uses the theorem's prescribed batch b = T and step size η (unless told
otherwise, which puts the row outside the hypotheses), ``n_seeds`` noise realisations, and the
exact average over t = 1..T for the uniformly chosen output x_a. ``holds`` is measure ≤ bound at
the point estimate; ``violation_significant`` is the stricter "even the interval's low end is
above the bound". Only ``in_hypothesis`` rows speak for or against a theorem.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Sequence
from typing import Any

import jax
import numpy as np
import pandas as pd

import theory
from experiments.cache import Cache, unit_key
from experiments.precision import with_x64
from experiments.validation import hypotheses, stats
from experiments.validation.optimizers import OptimizerSpec, for_theorem, run_violations
from experiments.validation.runner import RunResult, launch, structure, trajectory
from experiments.validation.spec import (
    MEMORY_FACTOR,
    MEMORY_FRACTION,
    Built,
    available_memory,
    check_run,
)
from theory import symbols

LHS_KEY = {
    "grad_sq_norm": "grad_sq",
    "layer_sum_norm": "layer_sum_norm",
    "l1_over_sqrt_d": "l1_over_sqrt_d",
}

# Rounding slack for ``holds``: the measure and the bound are each float64 results of O(d·T)
# operations; at equality cases (T = 1 on a quadratic with σ = 0, where Theorem 1 is attained)
# they agree to a few ulps and could otherwise flip on the last bit. Not a statistical slack.
ROUNDING_REL = 1e-12
# Steps of the trajectory whose consecutive pairs join the certificate of constants that are not
# proven: enough pairs to cover the run's early, large steps (where block descent is tested
# hardest) at the cost of one short extra run per instance.
CERTIFY_STEPS = 256

COLUMNS = (
    "theorem",
    "optimizer",
    "instance",
    "in_hypothesis",
    "T",
    "batch_size",
    "eta",
    "n_seeds",
    "measure",
    "measure_ci_low",
    "measure_ci_high",
    "bound",
    "ratio",
    "holds",
)


# the criterion columns every row carries, by theorem
CRITERION_COLUMN = {
    "sgd": "crit_grad_sq",
    "lars": "crit_layer_sum_sq",
    "lamb_beta2_zero": "crit_l1_sq",
    "lamb_beta2_pos": "crit_grad_sq",
}


def lhs_key(theorem: str) -> str:
    return LHS_KEY[theory.THEOREMS[theorem].lhs.__name__]


# what the ``measure`` column estimates, by the theorem's left-hand side (``lhs_key``)
CRITERION_TEXT = {
    "grad_sq": "E‖∇f(x_a)‖²",
    "layer_sum_norm": "(E[(1/√h) Σ_i ‖∇_i f(x_a)‖])²",
    "l1_over_sqrt_d": "(E[‖∇f(x_a)‖₁/√d])²",
}


def criterion(theorem: str) -> str:
    """What ``measure`` (and ``bound``) mean for ``theorem``, e.g.
    ``measure = E‖∇f(x_a)‖² (Theorem 1 (SGD, Ghadimi & Lan 2013))``."""
    thm = theory.THEOREMS[theorem]
    return f"measure = {CRITERION_TEXT[lhs_key(theorem)]} ({thm.source})"


def bound_value(theorem: str, consts: dict[str, Any], form: str = "paper") -> float:
    """The theorem's bound on the instance (``form``: ``"paper"`` or ``"sharp"``, see
    ``theory.theorem.Theorem.bound_form``), NaN when a constant it needs is not certified (G)."""
    thm = theory.THEOREMS[theorem]
    try:
        return thm.evaluate(form, **consts)
    except ValueError:
        if theorem == "lamb_beta2_pos" and "G" not in consts:
            return float("nan")
        raise


def _bound_or_inf(theorem: str, consts: dict[str, Any], form: str) -> float:
    try:
        return bound_value(theorem, consts, form)
    except OverflowError:  # a constant outside the documented range (docs/validation.md)
        return float("inf")


def prescribed_eta(theorem: str, built: Built, T: int) -> float:
    return theory.THEOREMS[theorem].step_size(**hypotheses.constants(built, T))


def _aggregates(consts: dict[str, Any]) -> dict[str, float]:
    agg = symbols.aggregates(**consts)
    return {str(sym): float(v) for sym, v in agg.items()}


def summarise(
    built: Built,
    theorem: str,
    opt: OptimizerSpec,
    res: RunResult,
    seed: int,
    *,
    experiment: str = "validate",
) -> dict[str, Any]:
    """One row from one run (a single η): the criterion, its interval, the bound, the verdict."""
    thm = theory.THEOREMS[theorem]
    T, batch_size, eta = res.T, res.batch_size, float(res.etas[0])
    consts = hypotheses.constants(built, T)
    per_seed = res.mean[lhs_key(theorem)][0]
    squared = thm.lhs_squared_after_expectation
    measure = stats.criterion(per_seed, squared)
    lo, hi = stats.bootstrap_ci(per_seed, squared, seed)
    bound, sharp = (_bound_or_inf(theorem, consts, form) for form in ("paper", "sharp"))
    ok, failed = hypotheses.check(theorem, built, opt, eta, batch_size, T)
    # a user's optimizer: its claimed step checked on this run (empty for the built-ins)
    violations = run_violations(opt, res, theorem)
    ok, failed = ok and not violations, [*failed, *violations]
    # an uncertified objective's constants failing the sampled certificate: name the checks
    failed = hypotheses.name_certificate_checks(built, failed)
    certificate = hypotheses.certificate_failures(built)
    # a non-finite measure or bound is outside the float64 range, never a verdict on the theorem
    ok, failed = hypotheses.numeric_range(ok, failed, measure, bound)
    finite = math.isfinite(bound) and math.isfinite(measure)
    agg = _aggregates(consts)
    return {
        "experiment": experiment,
        "theorem": theorem,
        "optimizer": opt.label,
        "instance": built.spec.label,
        "family": built.spec.family,
        "noise": built.spec.noise,
        "in_hypothesis": bool(ok),
        "failed_assumptions": "; ".join(failed),
        "T": int(T),
        "batch_size": int(batch_size),
        "eta": eta,
        "n_seeds": int(res.n_seeds),
        "measure": measure,
        "measure_ci_low": lo,
        "measure_ci_high": hi,
        "bound": bound,
        "ratio": measure / bound if finite else float("nan"),
        # the bound before the proof's last loosening step (≤ bound; equal where there is none)
        "bound_sharp": sharp,
        "ratio_sharp": measure / sharp if finite and math.isfinite(sharp) else float("nan"),
        "holds": bool(measure <= bound * (1 + ROUNDING_REL)) if finite else None,
        "violation_significant": bool(lo > bound) if finite and math.isfinite(lo) else None,
        "lhs": thm.lhs_name,
        "per_seed": json.dumps([float(v) for v in per_seed]),
        # every run's value of each theorem's criterion, to compare optimizers on one criterion
        "crit_grad_sq": float(np.mean(res.mean["grad_sq"][0])),
        "crit_layer_sum_sq": float(np.mean(res.mean["layer_sum_norm"][0])) ** 2,
        "crit_l1_sq": float(np.mean(res.mean["l1_over_sqrt_d"][0])) ** 2,
        "mean_f": float(np.mean(res.mean["f"][0])),
        "final_f": float(np.mean(res.final_f[0])),
        "trust_ratio_mean": json.dumps([float(v) for v in res.mean["trust_ratio"][0].mean(0)]),
        "f_gap": consts["f_gap"],
        "L_avg": agg["L_1"] / agg["h"],
        "L_inf": agg["L_infty"],
        "sigma_1": agg["sigma_1"],
        "sigma_sq": agg["sigma_sq"],
        "tilde_sigma_1": agg["tilde_sigma_1"],
        "G": consts.get("G", float("nan")),
        "d": built.objective.d,
        "h": built.objective.h,
        "bound_expr": str(thm.bound),
        "spec_hash": built.spec.spec_hash,
        "smoothness_certified": bool(built.objective.L_certified),
        # proven (L_certified) or not refuted by the sampled certificate (its failing lines)
        "constants_certified": not certificate,
        "certificate": "; ".join(certificate),
    }


def _chunks(items: list, per_item_bytes: int) -> list[list]:
    """``items`` in consecutive chunks whose memory (per_item_bytes each) fits in
    ``MEMORY_FRACTION`` of the available memory (all of them when that is unknown)."""
    have = available_memory()
    size = len(items) if have is None else max(1, int(MEMORY_FRACTION * have // per_item_bytes))
    return [items[i : i + size] for i in range(0, len(items), size)]


@with_x64
def validate(
    built: Built | Sequence[Built],
    theorem: str,
    Ts: Sequence[int],
    n_seeds: int,
    *,
    cache: Cache | None = None,
    experiment: str = "validate",
    opt: OptimizerSpec | None = None,
    eta: float | None = None,
    batch_size: int | None = None,
    progress=None,
    mesh=None,
) -> pd.DataFrame:
    """Rows for ``theorem`` on one instance or several, at each T (prescribed b = T and η
    unless overridden); rows in instance order, then in the order of ``Ts``.

    Instances of one structure (family and layer shapes, noise kind; see
    ``experiments.validation.runner.structure``) at one T run as one compiled call, and every
    call of a structure reuses one compiled program: many instances of a family cost about one
    compilation. Each row's random numbers depend only on its own (instance, theorem, T, b, η,
    seeds), so a row is the same whether its instance ran alone or with others.

    Args:
        built: a built instance or a list of them.
        opt: the optimizer (default: the algorithm the theorem analyses, with each instance's
            settings).
        eta, batch_size: override the prescription (the rows then fail ``prescribed eta`` /
            ``b = T`` and are not in hypothesis).
        progress: optional callable(str), called once per (instance, T).
        mesh: devices to split the seeds over (``experiments.validation.runner.launch``).
    """
    return start_validate(
        built, theorem, Ts, n_seeds, cache=cache, experiment=experiment, opt=opt, eta=eta,
        batch_size=batch_size, progress=progress, mesh=mesh,
    )()  # fmt: skip


@with_x64
def start_validate(
    built: Built | Sequence[Built],
    theorem: str,
    Ts: Sequence[int],
    n_seeds: int,
    *,
    cache: Cache | None = None,
    experiment: str = "validate",
    opt: OptimizerSpec | None = None,
    eta: float | None = None,
    batch_size: int | None = None,
    progress=None,
    mesh=None,
) -> Callable[[], pd.DataFrame]:
    """:func:`validate` in two halves: checks its arguments, compiles and starts every run, and
    returns a function that waits for them and gives the rows. JAX runs the started calls in
    the background, so a caller that starts several validations before collecting any
    overlaps one's running with the next one's compilation."""
    if theorem not in theory.THEOREMS:
        raise ValueError(f"theorem={theorem!r} is invalid: expected one of {list(theory.THEOREMS)}")
    bad = [t for t in Ts if isinstance(t, bool) or not isinstance(t, int | np.integer) or t < 1]
    if not len(Ts) or bad:
        raise ValueError(f"T={list(Ts)!r} is invalid: expected integers >= 1")
    if isinstance(n_seeds, bool) or not isinstance(n_seeds, int) or n_seeds < 1:
        raise ValueError(f"seeds={n_seeds!r} is invalid: expected an integer >= 1")
    builts = [built] if isinstance(built, Built) else list(built)
    if not builts or not all(isinstance(b, Built) for b in builts):
        raise ValueError(f"built={built!r:.80} is invalid: expected a Built or a list of them")
    for b in builts:
        check_run(b.spec, Ts, n_seeds, batch_size)  # T_MAX, MAX_SEEDS, memory (RunSizeError)
    opts = [opt or for_theorem(theorem, b.spec.phi, b.spec.beta2) for b in builts]
    cache = cache or Cache(None)
    plan = {}
    for i, (bt, o) in enumerate(zip(builts, opts, strict=True)):
        for T in sorted({int(t) for t in Ts}):
            b = T if batch_size is None else int(batch_size)
            step = prescribed_eta(theorem, bt, T) if eta is None else float(eta)
            key = ["validate", experiment, bt.spec.to_dict(), theorem, o.name, list(o.hyper)]
            ident = (bt.spec.spec_hash, theorem, o, T, b, repr(step), n_seeds)
            unit = unit_key("validation", [*key, T, b, repr(step), n_seeds], mesh)
            plan[i, T] = (b, step, unit, stats.seed_from(*ident))
    rows = {k: cache.lookup(p[2]) for k, p in plan.items()}
    for i, bt in enumerate(builts):
        if not bt.objective.L_certified and any(rows[i, T] is None for T in Ts):
            # constants that are not proven are certified by sampling, with the consecutive
            # pairs of this run's own trajectory (seed 0 at the largest T) among the samples
            T = max(int(t) for t in Ts)
            b, step, _, seed = plan[i, T]
            iterates = trajectory(bt, opts[i], step, b, min(T, CERTIFY_STEPS),
                                  jax.random.key(seed), T=T)  # fmt: skip
            hypotheses.certify_along(bt, iterates)
    calls: dict[tuple, list[tuple[int, int]]] = {}
    for i, T in (k for k, row in rows.items() if row is None):
        calls.setdefault((structure(builts[i], opts[i]), T), []).append((i, T))
    # start every call, then collect: JAX runs a call while the next one compiles
    started = []
    for (_, T), units in calls.items():
        first = builts[units[0][0]]
        d, table = first.objective.d, first.noise.n_samples or 0
        # per instance: its seeds' arrays, and its copy of a finite_sum table (n x d)
        for chunk in _chunks(units, (n_seeds * MEMORY_FACTOR + table) * d * 8):
            members = sorted({i for i, _ in chunk})
            results = launch(
                [builts[i] for i in members],
                [opts[i] for i in members],
                [members.index(i) for i, _ in chunk],
                [T] * len(chunk),
                [plan[u][0] for u in chunk],
                [[plan[u][1]] for u in chunk],
                n_seeds,
                [jax.random.key(plan[u][3]) for u in chunk],
                mesh=mesh,
            )
            started.append((chunk, results))

    @with_x64  # the rows' constants evaluate f(x_1) with JAX, in float64 whoever calls
    def finish() -> pd.DataFrame:
        for chunk, results in started:
            for (i, T), res in zip(chunk, results(), strict=True):
                seed = plan[i, T][3]
                row = summarise(builts[i], theorem, opts[i], res, seed, experiment=experiment)
                rows[i, T] = row
                cache.store(plan[i, T][2], row)
        if progress is not None:
            for i, T in plan:
                progress(f"{theorem} {opts[i].label} T={T} on {builts[i].spec.label}")
        return pd.DataFrame([rows[i, int(t)] for i in range(len(builts)) for t in Ts])

    return finish
