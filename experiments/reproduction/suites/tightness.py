"""Tightness: how close the measured criterion comes to each explicit bound, inside the
hypotheses, and which of the proof's losses a worst case attains.

Three searches, every candidate inside the theorem's hypotheses (b = T, the prescribed η,
β1 = λ = ε = 0, α_l ≤ φ ≤ α_u, equal layer sizes for Theorem 3, bounded noise where G is used):

* ``constructive``: one documented family per theorem whose ratio is known in closed form
  (:func:`constructive_ratio`; docs/validation.md, "Known worst cases"):
  - Theorem 1 (SGD): f = ½Lx² in one dimension, σ = 0. At η = 1/L the first step lands on the
    minimiser, so E‖∇f(x_a)‖² = L²x₁²/T = 2ΔL/T: the bound is attained, ratio 1.
  - Theorems 2 and 3 (β2 = 0): the same quadratic, φ ≡ 1 (α_l = α_u), σ = 0. LARS and LAMB
    (β2 = 0) both move by ±η, η = x₁/√T; the iterates walk down in ⌊√T⌋ + 1 steps, then alternate
    between ε and ε − η (ε = x₁ − ⌊√T⌋η). With k = √T non-integer and f = k − ⌊k⌋ the mean of
    |∇f(x_t)| over t = 1..T is η(1 − (1 − f)²/(2T)) when the number T − ⌊k⌋ − 1 of alternating
    steps is even and η(1 − f²/(2T)) when it is odd. So measured/sharp bound is that factor
    squared (→ 1) and measured/paper bound its half (→ ½): the whole loss is the squaring step
    (a + b)² ≤ 2a² + 2b² with b = 0.
  - Theorem 3 (0 < β2 < 1): f = L(1 − cos x) in one dimension, φ ≡ 1, σ = 0, G = L, small β2.
    At T = 1 the ratio is sin²x₁ / (2|sin(x₁/2)|) · √(1 − β2), largest at sin(x₁/2) = 1/√3:
    4/(3√3)·√(1 − β2) ≈ 0.770.
* ``grid``: typical instances (certified families, three layers, L over a decade) over noise
  levels, starting-point scales and horizons; these say how loose the bounds are where nothing
  is tuned against them.
* ``adversarial``: an evolutionary search over the whole hypothesis space: objective family,
  layer layout, noise kind and level σ (σ = 0 included), L_i, x₁'s scale and direction,
  φ = clip(·, α_l, α_u) with α_u/α_l ≥ 1 (equality included), β2 for Theorem 3, and T from 1 to
  ``T_max``. Generation 0 draws candidates at random; each later generation keeps the best in
  hypothesis and perturbs them (L, σ, scale, φ, β2, T, direction), plus fresh random ones. All
  candidates of a generation run at once. Each (family, layout, noise kind) compiles its own
  program, so a profile searches a seeded sample of them (every one in ``full``). The
  best few per theorem are then rerun with more, fresh seeds (``confirmed``): only those rows are
  validations, since the largest of many noisy ratios is biased upwards.

Every row carries ``ratio`` (against the paper-form bound) and ``ratio_sharp`` (against the bound
before the proof's last squaring step, ``theory.theorem.Theorem.bound_form``), and the slack is
split into named factors (:func:`slack_factors`). ``tightness_best`` holds the best instance
per theorem and search with the path of its saved JSON (``instances/tightness/...``), so that
``python -m experiments validate --instance <it> --theorem <theorem> --T <T> --seeds <n_seeds>``
gives the same ratio.
"""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd

from experiments.reproduction.protocol import Context, Experiment, Grid
from experiments.reproduction.suites import _validation_claims
from experiments.reproduction.suites._instances import THEOREMS, built, for_theorem
from experiments.validation.spec import InstanceSpec
from experiments.validation.validate import start_validate

GRID_FAMILIES = ("separable_cosine", "separable_geman_mcclure", "chain_cosine", "coupled_cosine")
# The adversarial search's space. Families with exactly known L_i (certified). Layouts: one
# coordinate, several one-coordinate layers, several wider layers, and (where the theorem allows
# unequal layers: Theorems 1-2) an unequal pair; few layouts, since each compiles its own program.
SEARCH_FAMILIES = ("noisy_quadratic", "separable_cosine", "separable_geman_mcclure")
EQUAL_LAYOUTS = ((1,), (1, 1, 1, 1), (4, 4, 4, 4))
UNEQUAL_LAYOUTS = ((1, 4),)
# Ranges of the continuous draws (log-uniform): inside the instance schema's limits and wide
# enough to hold the constructive cases (L = 1, x₁ = 3, φ ≡ 1, β2 = 1e-4).
L_DRAW = (0.1, 10.0)
SIGMA_DRAW = (1e-3, 3.0)
X1_SCALE_DRAW = (1e-2, 10.0)
ALPHA_L_DRAW = (0.25, 4.0)
PHI_SPREAD_MAX = 4.0  # α_u/α_l up to 4 (the grid's φ ∈ [0.5, 2])
BETA2_DRAW = (1e-4, 0.999)
CONDITION_DRAW = (1.0, 100.0)
# Share of each generation drawn fresh rather than perturbed from the best so far.
FRESH_SHARE = 0.25
# The constructive LAMB (β2 > 0) instance: small β2 (its bound pays 1/√(1 − β2)).
CONSTRUCTIVE_BETA2 = 1e-4
CONSTRUCTIVE_X1 = 3.0

# The grid: the first `families` of GRID_FAMILIES × noise levels `sigma` × starting-point scales
# `x1` × horizons `T`. Constructive: the horizons `constructive_T`. The search: `structures`
# (family, layout, noise kind) per theorem drawn from its space (`full`: all of them),
# `generations` × `population` candidates per theorem, horizons 2^0 .. `T_max`, its `confirm`
# best per theorem rerun with `confirm_seeds` seeds. Seeds per run.
GRID = Grid(
    smoke={
        "families": 1,
        "sigma": (1.0,),
        "x1": (1.0,),
        "T": (16,),
        "constructive_T": (1, 2, 8),
        "structures": 2,
        "generations": 2,
        "population": 4,
        "T_max": 64,
        "confirm": 1,
        "confirm_seeds": 16,
        "seeds": 8,
    },
    default={
        "families": 2,
        "sigma": (0.0, 1.0),
        "x1": (0.3, 2.0),
        "T": (16, 128),
        "constructive_T": (1, 2, 8, 32, 128, 512, 2048),
        "structures": 6,
        "generations": 5,
        "population": 20,
        "T_max": 2048,
        "confirm": 3,
        "confirm_seeds": 64,
        "seeds": 16,
    },
    full={
        "families": 4,
        "sigma": (0.0, 0.1, 0.3, 1.0, 3.0),
        "x1": (0.1, 0.5, 2.0, 3.0),
        "T": (16, 128, 1024),
        "constructive_T": (1, 2, 8, 32, 128, 512, 2048, 8192, 32768),
        "structures": 24,
        "generations": 16,
        "population": 64,
        "T_max": 16384,
        "confirm": 5,
        "confirm_seeds": 256,
        "seeds": 64,
    },
)


def units(ctx: Context) -> int:
    size = ctx.sizes(GRID)
    grid = size.families * len(size.sigma) * len(size.x1) * len(size.T) * len(THEOREMS)
    constructive = len(size.constructive_T) * len(THEOREMS)
    search = len(THEOREMS) * (size.generations * size.population + size.confirm)
    return grid + constructive + search


# --- the constructive worst cases ----------------------------------------------------------


def constructive_spec(theorem: str) -> InstanceSpec:
    """The documented worst-case instance of ``theorem`` (module docstring)."""
    if theorem == "lamb_beta2_pos":
        x1 = 2 * math.asin(1 / math.sqrt(3))
        return InstanceSpec(
            family="separable_cosine", layer_sizes=(1,), L=(1.0,), noise="rademacher",
            sigma=(0.0,), x1=((x1,),), phi=(1.0, 1.0), beta2=CONSTRUCTIVE_BETA2,
            name="worst-lamb_beta2_pos-cosine-1d",
        )  # fmt: skip
    return InstanceSpec(
        family="noisy_quadratic", layer_sizes=(1,), L=(1.0,), noise="rademacher", sigma=(0.0,),
        x1=((CONSTRUCTIVE_X1,),), phi=(1.0, 1.0), name=f"worst-{theorem}-quadratic-1d",
    )  # fmt: skip


def constructive_ratio(theorem: str, T: int) -> tuple[float, float] | None:
    """(measured/paper bound, measured/sharp bound) of :func:`constructive_spec` in closed form,
    or None where none is derived (Theorem 3 with β2 > 0 beyond T = 1).

    Theorems 2-3 (β2 = 0): k = √T; for integer k exact arithmetic lands on the minimiser, so the
    form holds for non-square T only (None for square T > 1).
    """
    if theorem == "sgd":
        return 1.0, 1.0
    if theorem == "lamb_beta2_pos":
        if T != 1:
            return None
        x = 2 * math.asin(1 / math.sqrt(3))
        r = math.sin(x) ** 2 / (2 * abs(math.sin(x / 2))) * math.sqrt(1 - CONSTRUCTIVE_BETA2)
        return r, r
    k = math.sqrt(T)
    if T == 1:
        return 0.5, 1.0
    if k == int(k):
        return None
    n, frac = int(k), k - int(k)
    # after the n + 1 descending iterates, T - n - 1 iterates alternate |x| = η - ε, ε, ...
    odd = (T - n - 1) % 2 == 1
    mean_over_eta = 1 - (frac**2 if odd else (1 - frac) ** 2) / (2 * T)
    sharp = mean_over_eta**2
    return sharp / 2, sharp


# --- slack factors --------------------------------------------------------------------------


def slack_factors(row: pd.Series | dict) -> dict[str, float]:
    """The bound's slack on one row as a product of named factors (1 = attained).

    bound/measure = Π factors. ``phi_range``, ``squaring`` and ``beta2`` are what those steps of
    the proof can lose at most on the row's constants (each ≥ 1); ``rest`` is the remainder, so
    it falls below 1 when the instance does not realise a step's worst case (φ_i strictly
    between α_l and α_u, so the φ step loses less than its factor).

    Theorems 2 and 3 (β2 = 0): ``phi_range`` = (α_u/α_l)² (the proof
    replaces φ_i by α_l in the descent term and by α_u in the curvature term), ``squaring`` =
    paper/sharp form (the step (a + b)² ≤ 2a² + 2b², between 1 and 2), ``rest`` = what the
    remaining steps lose together (block descent, telescoping, Jensen, the normalisation-bias
    lemma or the sign-disagreement bound; the last three only through the noise term).
    Theorem 3 (β2 > 0): ``phi_range`` = α_u/α_l, ``beta2`` = 1/√(1 − β2) (v̂ ≥ (1 − β2)g²),
    ``rest``. Theorem 1: ``rest`` only.
    """
    theorem = row["theorem"]
    measure, bound, sharp = float(row["measure"]), float(row["bound"]), float(row["bound_sharp"])
    al, au = float(row["alpha_l"]), float(row["alpha_u"])
    out = {"phi_range": 1.0, "squaring": bound / sharp, "beta2": 1.0}
    if theorem in ("lars", "lamb_beta2_zero"):
        out["phi_range"] = (au / al) ** 2
    elif theorem == "lamb_beta2_pos":
        out["phi_range"] = au / al
        out["beta2"] = 1 / math.sqrt(1 - float(row["beta2"]))
    out["rest"] = sharp / (measure * out["phi_range"] * out["beta2"]) if measure > 0 else math.inf
    return out


# --- the searches ---------------------------------------------------------------------------


def _row_extras(frame: pd.DataFrame, specs: list[InstanceSpec]) -> pd.DataFrame:
    """Columns the slack factors and the saved instances need: φ, β2 and the instance JSON."""
    frame = frame.copy()
    frame["alpha_l"] = [s.phi[0] for s in specs]
    frame["alpha_u"] = [s.phi[1] for s in specs]
    frame["beta2"] = [s.beta2 for s in specs]
    frame["instance_json"] = [json.dumps(s.to_dict(), sort_keys=True) for s in specs]
    return frame


def _run(ctx: Context, jobs: list[tuple[str, InstanceSpec, int]], seeds: int) -> pd.DataFrame:
    """Validate every (theorem, spec, T) job; all start before any is collected, one call per
    (theorem, T) so instances of one family and layout share a compiled program."""
    groups: dict[tuple[str, int], list[int]] = {}
    for k, (thm, _, T) in enumerate(jobs):
        groups.setdefault((thm, T), []).append(k)
    started = []
    for (thm, T), idx in groups.items():
        builts = [built(jobs[k][1]) for k in idx]
        finish = start_validate(
            builts, thm, [T], seeds, cache=ctx.cache, experiment="tightness",
            progress=ctx.progress, mesh=ctx.mesh,
        )  # fmt: skip
        started.append((idx, finish))
    rows: list[pd.DataFrame | None] = [None] * len(jobs)
    for idx, finish in started:
        frame = finish()
        for pos, k in enumerate(idx):
            rows[k] = _row_extras(frame.iloc[[pos]], [jobs[k][1]])
    return pd.concat(rows, ignore_index=True)


def _constructive(ctx: Context) -> pd.DataFrame:
    size = ctx.sizes(GRID)
    jobs = [(thm, constructive_spec(thm), int(T)) for thm in THEOREMS for T in size.constructive_T]
    out = _run(ctx, jobs, size.seeds)
    forms = [constructive_ratio(thm, T) for thm, _, T in jobs]
    out["closed_form_ratio"] = [np.nan if f is None else f[0] for f in forms]
    out["closed_form_ratio_sharp"] = [np.nan if f is None else f[1] for f in forms]
    out["search"] = "constructive"
    return out


def _grid_spec(fam, sigma, x1_scale, name) -> InstanceSpec:
    return InstanceSpec(
        family=fam, layer_sizes=(4,) * 3, L=(1.0, 3.0, 10.0),
        sigma=None if sigma == 0 else (float(sigma),) * 3,
        noise="none" if sigma == 0 else "rademacher", x1_scale=float(x1_scale), seed=0,
        phi=(0.5, 2.0), beta2=0.9, name=name,
    )  # fmt: skip


def _grid(ctx: Context) -> pd.DataFrame:
    size = ctx.sizes(GRID)
    jobs = []
    for fam in GRID_FAMILIES[: size.families]:
        for s in size.sigma:
            for x1 in size.x1:
                spec = _grid_spec(fam, s, x1, f"grid-{fam}-s{s:g}-x{x1:g}")
                for thm in THEOREMS:
                    jobs.extend((thm, for_theorem(spec, thm), int(T)) for T in size.T)
    out = _run(ctx, jobs, size.seeds)
    out["search"] = "grid"
    return out


def _log_uniform(rng: np.random.Generator, lo: float, hi: float, size=None):
    return np.exp(rng.uniform(np.log(lo), np.log(hi), size=size))


def structures(theorem: str) -> list[tuple[str, tuple[int, ...], str]]:
    """Every (family, layout, noise kind) of the search space of ``theorem``."""
    families = SEARCH_FAMILIES[1:] if theorem == "lamb_beta2_pos" else SEARCH_FAMILIES
    layouts = EQUAL_LAYOUTS if theorem.startswith("lamb") else EQUAL_LAYOUTS + UNEQUAL_LAYOUTS
    noises = ("rademacher",) if theorem == "lamb_beta2_pos" else ("rademacher", "gaussian")
    return [(f, lay, n) for f in families for lay in layouts for n in noises]


def random_candidate(
    rng: np.random.Generator, theorem: str, T_max: int, space: list | None = None
) -> dict:
    """A candidate drawn from the hypothesis space of ``theorem`` (see the module doc), its
    family, layout and noise kind from ``space`` (default: :func:`structures`)."""
    space = structures(theorem) if space is None else space
    family, layout, noise = space[int(rng.integers(len(space)))]
    h = len(layout)
    alpha_l = float(_log_uniform(rng, *ALPHA_L_DRAW))
    spread = 1.0 if rng.random() < 0.5 else float(_log_uniform(rng, 1.0, PHI_SPREAD_MAX))
    return {
        "family": family,
        "layout": tuple(int(v) for v in layout),
        "noise": noise,
        "L": _log_uniform(rng, *L_DRAW, size=h).tolist(),
        "sigma": [0.0] * h if rng.random() < 0.5 else _log_uniform(rng, *SIGMA_DRAW, h).tolist(),
        "x1_scale": float(_log_uniform(rng, *X1_SCALE_DRAW)),
        "seed": int(rng.integers(0, 2**31)),
        "phi": (alpha_l, alpha_l * spread),
        "beta2": float(_log_uniform(rng, *BETA2_DRAW)) if theorem == "lamb_beta2_pos" else 0.9,
        "condition": float(_log_uniform(rng, *CONDITION_DRAW)),
        "T": int(2 ** rng.integers(0, int(math.log2(T_max)) + 1)),
    }


def perturb(rng: np.random.Generator, c: dict, T_max: int) -> dict:
    """One random move of a candidate inside its family, layout and noise kind."""
    c = dict(c)
    h, move = len(c["layout"]), int(rng.integers(0, 8))
    if move == 0:
        L = np.array(c["L"]) * np.exp(0.5 * rng.normal(size=h))
        c["L"] = np.clip(L, *L_DRAW).tolist()
    elif move == 1:
        if rng.random() < 0.3:
            c["sigma"] = [0.0] * h
        else:
            s = np.maximum(np.array(c["sigma"]), SIGMA_DRAW[0]) * np.exp(rng.normal(size=h))
            c["sigma"] = np.clip(s, *SIGMA_DRAW).tolist()
    elif move == 2:
        c["x1_scale"] = float(np.clip(c["x1_scale"] * np.exp(rng.normal()), *X1_SCALE_DRAW))
    elif move == 3:
        c["seed"] = int(rng.integers(0, 2**31))  # another direction of x₁
    elif move == 4:
        al, au = c["phi"]
        spread = 1.0 if rng.random() < 0.5 else min(au / al * np.exp(rng.normal()), PHI_SPREAD_MAX)
        al = float(np.clip(al * np.exp(0.5 * rng.normal()), *ALPHA_L_DRAW))
        c["phi"] = (al, al * max(spread, 1.0))
    elif move == 5:
        c["beta2"] = float(np.clip(c["beta2"] * np.exp(rng.normal()), *BETA2_DRAW))
    elif move == 6:
        c["condition"] = float(np.clip(c["condition"] * np.exp(rng.normal()), *CONDITION_DRAW))
    else:
        c["T"] = int(np.clip(c["T"] * rng.choice([0.5, 2.0]), 1, T_max))
    return c


def candidate_spec(theorem: str, c: dict, name: str) -> InstanceSpec:
    options = (("condition", c["condition"]),) if c["family"] == "noisy_quadratic" else ()
    return InstanceSpec(
        family=c["family"], layer_sizes=c["layout"], L=tuple(c["L"]), sigma=tuple(c["sigma"]),
        noise=c["noise"], x1_scale=c["x1_scale"], seed=c["seed"], phi=tuple(c["phi"]),
        beta2=c["beta2"], options=options, name=name,
    )  # fmt: skip


def _adversarial(ctx: Context) -> pd.DataFrame:
    size = ctx.sizes(GRID)
    rngs = {thm: np.random.default_rng([7, THEOREMS.index(thm)]) for thm in THEOREMS}
    spaces = {}
    for thm in THEOREMS:
        # each (family, layout, noise kind) compiles its own program: a seeded sample of them
        every = structures(thm)
        pick = rngs[thm].permutation(len(every))[: size.structures]
        spaces[thm] = [every[k] for k in sorted(pick)]
    pools: dict[str, list[tuple[float, dict]]] = {thm: [] for thm in THEOREMS}
    frames = []
    for gen in range(size.generations):
        jobs, cands = [], []
        for thm in THEOREMS:
            rng, pool = rngs[thm], pools[thm]
            n_fresh = (
                size.population
                if gen == 0 or not pool
                else math.ceil(FRESH_SHARE * size.population)
            )
            parents = [c for _, c in sorted(pool, key=lambda p: -p[0])[: max(1, len(pool) // 4)]]
            for k in range(size.population):
                c = (
                    random_candidate(rng, thm, size.T_max, spaces[thm])
                    if k < n_fresh
                    else perturb(rng, parents[(k - n_fresh) % len(parents)], size.T_max)
                )
                name = f"search-{thm}-g{gen}-{k}"
                jobs.append((thm, candidate_spec(thm, c, name), int(c["T"])))
                cands.append(c)
        out = _run(ctx, jobs, size.seeds)
        out["generation"] = gen
        frames.append(out)
        for (thm, _, _), c, row in zip(jobs, cands, out.itertuples(), strict=True):
            if row.in_hypothesis and math.isfinite(row.ratio):
                pools[thm].append((float(row.ratio), c))
    out = pd.concat(frames, ignore_index=True)
    out["search"] = "adversarial"
    return out


def _confirmed(ctx: Context, search: pd.DataFrame) -> pd.DataFrame:
    """The ``confirm`` best distinct in-hypothesis candidates per theorem, run again with
    ``confirm_seeds`` seeds (fresh random numbers: a row's seeds depend on its seed count).

    Choosing the largest of many noisy ratios favours candidates whose seeds happened to land
    high; the confirming run does not know how they were chosen, so its ratio is an unbiased
    estimate for that instance. Only confirmed rows are validations (``theorem_validation``)."""
    size = ctx.sizes(GRID)
    ok = search[search["in_hypothesis"].astype(bool) & np.isfinite(search["ratio"])]
    ok = ok.sort_values("ratio", ascending=False).drop_duplicates(["theorem", "spec_hash", "T"])
    jobs = []
    for thm in THEOREMS:
        for r in ok[ok["theorem"] == thm].head(size.confirm).itertuples():
            data = json.loads(r.instance_json)
            data["name"] = f"confirm-{r.instance}"
            jobs.append((thm, InstanceSpec.from_dict(data), int(r.T)))
    if not jobs:
        return search.iloc[:0].assign(search="confirmed")
    out = _run(ctx, jobs, size.confirm_seeds)
    out["search"] = "confirmed"
    return out


# --- tables ---------------------------------------------------------------------------------

BEST_COLUMNS = (
    "theorem", "search", "ratio", "ratio_sharp", "T", "n_seeds", "instance", "instance_file",
    "family", "noise", "h", "d", "alpha_l", "alpha_u", "beta2", "measure", "measure_ci_low",
    "measure_ci_high", "bound", "bound_sharp", "f_gap", "sigma_sq", "factor_phi_range",
    "factor_squaring", "factor_beta2", "factor_rest", "n_instances", "instance_json",
)  # fmt: skip


def instance_file(theorem: str, search: str) -> str:
    """Where the best instance of (theorem, search) is saved, relative to the output folder."""
    return f"instances/tightness/{theorem}-{search}.json"


def summary(rows: pd.DataFrame) -> pd.DataFrame:
    """The tightest in-hypothesis instance per theorem and search (by the paper-form ratio),
    with its slack factors and the path of its saved JSON."""
    ok = rows[rows["in_hypothesis"].astype(bool) & np.isfinite(rows["ratio"])]
    if not len(ok):
        return pd.DataFrame(columns=list(BEST_COLUMNS))
    best = ok.loc[ok.groupby(["theorem", "search"])["ratio"].idxmax()].copy()
    factors = pd.DataFrame([slack_factors(r) for _, r in best.iterrows()], index=best.index)
    for name in factors:
        best[f"factor_{name}"] = factors[name]
    best["instance_file"] = [
        instance_file(t, s) for t, s in zip(best.theorem, best.search, strict=True)
    ]
    counts = ok.groupby(["theorem", "search"]).size().rename("n_instances").reset_index()
    best = best.drop(columns=["n_instances"], errors="ignore").merge(
        counts, on=["theorem", "search"]
    )
    # theorems in the paper's order, searches alphabetically within each
    best["_order"] = best["theorem"].map({t: i for i, t in enumerate(THEOREMS)})
    best = best.sort_values(["_order", "search"])
    return best[list(BEST_COLUMNS)].reset_index(drop=True)


def files(tables: dict[str, pd.DataFrame]) -> dict[str, str]:
    """Each best instance as the JSON ``python -m experiments validate --instance`` reads."""
    best = tables.get("tightness_best", pd.DataFrame())
    return {
        str(r.instance_file): json.dumps(json.loads(r.instance_json), indent=2) + "\n"
        for r in best.itertuples()
    }


def run(ctx: Context) -> dict[str, pd.DataFrame]:
    search = _adversarial(ctx)
    rows = pd.concat(
        [_constructive(ctx), _grid(ctx), search, _confirmed(ctx, search)], ignore_index=True
    )
    # the search's own rows are steps of a maximisation, not validations (see _confirmed)
    validations = rows[rows["search"] != "adversarial"]
    extra = ["search", "generation", "closed_form_ratio", "closed_form_ratio_sharp", "alpha_l",
             "alpha_u", "beta2", "instance_json"]  # fmt: skip
    return {
        "theorem_validation": validations.drop(columns=extra, errors="ignore"),
        "tightness": rows.drop(columns=["instance_json"]),
        "tightness_best": summary(validations),
    }


EXPERIMENT = Experiment(
    "tightness",
    "known worst cases, a grid and an adversarial search: measured/bound inside the hypotheses",
    run,
    units,
    _validation_claims.tightness_claims,
    claim_specs=(
        *_validation_claims.bound_specs("tightness", "tightness"),
        *_validation_claims.TIGHTNESS_SPECS,
    ),
    tables=("theorem_validation", "tightness", "tightness_best"),
    figure="tightness",
    grid=GRID,
    files=files,
)
