"""Per-layer trust ratios over training on real networks (the paper's trust-ratio figures,
Appendix H).

LAMB (Algorithm 2) and LARS (Algorithm 1) train the digits MLP and CNN and the tiny BERT (MLM),
a few seeds each, logging at every evaluation the ratio each layer i would get,

    trust_i = ‖x_i‖ / ‖u_i‖,   u_i = r_i + λx_i (LAMB) or m_i (LARS)   (φ = identity),

from the gradient of the next batch (:mod:`experiments.training.loop`). Layers excluded from the
trust ratio (biases, LayerNorm: the authors' exclusions) are logged but ``adapted`` is False and
the claims ignore them. The synthetic counterpart is
``experiments.reproduction.suites.trust_ratios``.

Tables: ``lb_trust_ratios`` (one row per net × optimizer × seed × step × layer) and
``lb_trust_ratios_summary`` (one row per run: layer spread max/min of the adapted layers' ratios
at the first and last log, and the largest per-layer drift between them).
"""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd

from experiments.reproduction.claims import Claim, ClaimSpec, as_bool, verdict_from_fraction
from experiments.reproduction.protocol import Context, Experiment
from experiments.reproduction.suites import _lb_layers
from experiments.reproduction.suites._training import (
    control_result,
    run_configs,
    summaries,
    trust_tables,
)

FIGURE = "lb_trust_ratios"
OPTIMIZERS = ("lamb", "lars")
# "Orders of magnitude" across layers: at least a factor of 10 (one order) between the largest
# and smallest adapted layer's ratio (the synthetic suite's SPREAD_FACTOR, same meaning).
SPREAD_FACTOR = 10.0
# "Drift": some layer's ratio changes by at least a factor 2 between the first and last log. A
# factor 2 is a visible change on the figure's log axis and far above the step-to-step jitter of
# a ratio of two norms of a 256-example (64-sequence) gradient; a ratio that is a fixed property
# of its layer would stay well inside it.
DRIFT_FACTOR = 2.0
COLUMNS = (
    "net",
    "optimizer",
    "peak_lr",
    "seed",
    "step",
    "epoch",
    "layer",
    "adapted",
    "weight_norm",
    "grad_norm",
    "direction_norm",
    "trust_ratio",
    "applied_ratio",
)


# The profiles' sizes: the networks, and the shared base configuration's (_lb_layers.GRID).
GRID = _lb_layers.grid_with(
    smoke={"nets": ("digits/mlp",)},
    default={"nets": _lb_layers.NETS},
    full={"nets": _lb_layers.NETS},
)


def nets(ctx: Context) -> tuple[str, ...]:
    return ctx.sizes(GRID).nets


def configs(ctx: Context):
    return [
        _lb_layers.base(ctx, net, opt, seed, log_trust_ratios=1)
        for net in nets(ctx)
        for opt in OPTIMIZERS
        for seed in _lb_layers.seeds(ctx)
    ]


def units(ctx: Context) -> int:
    return len(configs(ctx))


def summarise(table: pd.DataFrame) -> pd.DataFrame:
    """Per run (net, optimizer, seed): layer spread at the first and last log, largest drift."""
    rows = []
    df = table[as_bool(table["adapted"])] if len(table) else table
    for (net, opt, seed), g in df.groupby(["net", "optimizer", "seed"]) if len(df) else []:
        first, last = g["step"].min(), g["step"].max()
        r0 = g[g["step"] == first].set_index("layer")["trust_ratio"].astype(float)
        r1 = g[g["step"] == last].set_index("layer")["trust_ratio"].astype(float)
        spread = g.groupby("step")["trust_ratio"].agg(lambda r: r.max() / r.min())
        log_change = np.log(r1 / r0.reindex(r1.index)).dropna()
        worst = log_change.abs().idxmax() if len(log_change) else ""
        rows.append(
            {
                "net": net,
                "optimizer": opt,
                "seed": int(seed),
                "n_adapted": len(r1),
                "first_step": int(first),
                "last_step": int(last),
                "spread_first": float(r0.max() / r0.min()),
                "spread_last": float(r1.max() / r1.min()),
                "spread_min": float(spread.min()),
                "spread_max": float(spread.max()),
                "drift_factor": float(np.exp(log_change.abs().max())) if worst else np.nan,
                "drift_layer": worst,
                "drift_signed": float(np.exp(log_change[worst])) if worst else np.nan,
            }
        )
    return pd.DataFrame(rows)


def run(ctx: Context) -> dict[str, pd.DataFrame]:
    cfgs = configs(ctx)
    records = run_configs(ctx, cfgs, _lb_layers.TAG, "lb_trust_ratios")
    trust = trust_tables(records)
    trust.insert(0, "net", trust["task"] + "/" + trust["model"])
    trust = trust[list(COLUMNS)]
    summary = summarise(trust)
    finals = summaries(records)
    finals["net"] = finals["task"] + "/" + finals["model"]
    keep = ["net", "optimizer", "seed", "final_eval_loss", "final_eval_accuracy", "diverged"]
    summary = summary.merge(finals[keep], on=["net", "optimizer", "seed"], how="left")
    return {"lb_trust_ratios": trust, "lb_trust_ratios_summary": summary}


def _ms(x: pd.Series) -> str:
    sd = x.std(ddof=1) if len(x) > 1 else float("nan")
    return f"{x.mean():.3g} ± {sd:.2g} (n={len(x)})"


SOURCE = "Appendix H (per-layer trust-ratio figures)"
TABLE = "lb_trust_ratios"
SPREAD_SPEC = ClaimSpec(
    claim_id="lb_trust_ratio_spread",
    source=SOURCE,
    statement="At laptop scale (digits MLP/CNN, tiny BERT), the per-layer trust ratios "
    f"‖x_i‖/‖u_i‖ of LAMB and LARS differ by ≥ {SPREAD_FACTOR:g}× across adapted layers "
    "throughout training",
    table=TABLE,
    metric="per run and log: spread = max/min of the adapted layers' trust ratios; per (net, "
    "optimizer) the mean over seeds of the smallest and of the largest spread over the logs",
    rule=f"reproduced if every (net, optimizer) keeps spread ≥ {SPREAD_FACTOR:g} at every log; "
    "partially if some reach it at some log; not_reproduced if none ever does",
    threshold_reason=f"'orders of magnitude' read as at least one: a factor {SPREAD_FACTOR:g} "
    "(a round number, the synthetic suite's SPREAD_FACTOR)",
    control="the same rule on the spread across seeds (per layer and log: max/min over seeds "
    "of its ratio, the largest over layers), which seed noise alone produces, must not earn the "
    "claim's verdict",
    figure=FIGURE,
)
DRIFT_SPEC = ClaimSpec(
    claim_id="lb_trust_ratio_drift",
    source=SOURCE,
    statement="At laptop scale, some layer's trust ratio changes by ≥ "
    f"{DRIFT_FACTOR:g}× between the first and the last log of training",
    table=TABLE,
    metric="per run: drift = the largest per-layer factor |log(r_last/r_first)|, exponentiated; "
    "per (net, optimizer) its mean over seeds",
    rule=f"a (net, optimizer) drifts when its mean drift ≥ {DRIFT_FACTOR:g}; reproduced if every "
    "one does, partially if some do",
    threshold_reason=f"a factor {DRIFT_FACTOR:g} is a visible change on the figure's log axis "
    "and far above the step-to-step jitter of a ratio of two norms of a 256-example "
    "(64-sequence) gradient; a ratio that is a fixed property of its layer would stay well "
    "inside it",
    control="the same rule on the change between two seeds at the first log (consecutive seeds "
    "paired: what initialisation and batch noise alone give) must not earn the claim's verdict",
    figure=FIGURE,
)
CLAIM_SPECS = (SPREAD_SPEC, DRIFT_SPEC)


def _spread_verdict(pairs: list[tuple[float, float]]) -> tuple[str, int, int]:
    """The rule of SPREAD_SPEC on (smallest, largest) spread per (net, optimizer):
    (verdict, how many always ≥ SPREAD_FACTOR, how many ever)."""
    n = len(pairs)
    n_always = sum(lo >= SPREAD_FACTOR for lo, _ in pairs)
    n_ever = sum(hi >= SPREAD_FACTOR for _, hi in pairs)
    if n_always == n:
        return verdict_from_fraction(n_always, n), n_always, n_ever
    return ("partially" if n_ever else "not_reproduced"), n_always, n_ever


def _adapted(table: pd.DataFrame) -> pd.DataFrame:
    return table[as_bool(table["adapted"])] if len(table) else table


def seed_spread(table: pd.DataFrame) -> list[tuple[float, float]]:
    """Per (net, optimizer) with ≥ 2 seeds: (smallest, largest) over the logs of the largest
    over layers of max/min over seeds of a layer's trust ratio."""
    df = _adapted(table)
    out = []
    for _, g in df.groupby(["net", "optimizer"]) if len(df) else []:
        if g["seed"].nunique() < 2:
            continue
        r = g["trust_ratio"].astype(float)
        by = g.assign(r=r).groupby(["step", "layer"])["r"]
        per_step = (by.max() / by.min()).groupby("step").max()
        out.append((float(per_step.min()), float(per_step.max())))
    return out


def seed_drift(table: pd.DataFrame) -> list[float]:
    """Per (net, optimizer) with ≥ 2 seeds: the mean over consecutive seed pairs of the largest
    per-layer factor between the two seeds' ratios at the first log."""
    df = _adapted(table)
    out = []
    for _, g in df.groupby(["net", "optimizer"]) if len(df) else []:
        first = g[g["step"] == g["step"].min()]
        r = first.pivot_table(index="layer", columns="seed", values="trust_ratio").astype(float)
        if r.shape[1] < 2:
            continue
        seeds = sorted(r.columns)
        factors = [
            float(np.exp(np.abs(np.log(r[a] / r[b])).max())) for a, b in itertools.pairwise(seeds)
        ]
        out.append(float(np.mean(factors)))
    return out


def claims(tables: dict[str, pd.DataFrame]) -> list[Claim]:
    """Spread (≥ SPREAD_FACTOR) and drift (≥ DRIFT_FACTOR) per (net, optimizer), means over
    seeds, from ``lb_trust_ratios`` alone (the summary is recomputed from it).

    Spread: ``reproduced`` if every (net, optimizer) stays ≥ SPREAD_FACTOR at every log,
    ``partially`` if some reach it at some log, ``not_reproduced`` if none ever does.
    """
    table = tables.get("lb_trust_ratios", pd.DataFrame())
    summ = summarise(table)
    spread_parts, drift_parts, pairs, drifts = [], [], [], []
    for (net, opt), g in summ.groupby(["net", "optimizer"]) if len(summ) else []:
        pairs.append((g["spread_min"].mean(), g["spread_max"].mean()))
        drifts.append(g["drift_factor"].mean())
        spread_parts.append(
            f"{net} {opt} ({int(g['n_adapted'].iloc[0])} adapted layers): ×{_ms(g['spread_first'])}"
            f" at step 0, ×{_ms(g['spread_last'])} at the last log (step "
            f"{int(g['last_step'].max())}), smallest ×{_ms(g['spread_min'])}, largest "
            f"×{_ms(g['spread_max'])} over the logs"
        )
        layer = g["drift_layer"].mode().iloc[0]
        drift_parts.append(f"{net} {opt}: ×{_ms(g['drift_factor'])} (most often {layer})")
    n = len(pairs)
    spread_verdict, n_always, n_ever = _spread_verdict(pairs)
    n_drift = sum(d >= DRIFT_FACTOR for d in drifts)
    drift_verdict = verdict_from_fraction(n_drift, n)
    c_pairs = seed_spread(table)
    c_spread, c_always, c_ever = _spread_verdict(c_pairs) if c_pairs else ("not_applicable", 0, 0)
    c_drifts = seed_drift(table)
    c_n = sum(d >= DRIFT_FACTOR for d in c_drifts)
    empty = "no adapted-layer rows in table lb_trust_ratios"
    tail = "; table lb_trust_ratios (per seed: lb_trust_ratios_summary)"
    return [
        SPREAD_SPEC.judge(
            spread_verdict,
            ("; ".join(spread_parts) + f"; ≥ {SPREAD_FACTOR:g}× at every log in {n_always}/{n} "
             f"and at some log in {n_ever}/{n} (net, optimizer), spread = max/min over adapted "
             "layers, mean over seeds ± std" + tail) if n else empty,
            control_result(
                spread_verdict, c_spread,
                f"spread across seeds ≥ {SPREAD_FACTOR:g}× at every log in {c_always}/"
                f"{len(c_pairs)} and at some log in {c_ever}/{len(c_pairs)} (net, optimizer), "
                "largest ×" + (f"{max(hi for _, hi in c_pairs):.3g}" if c_pairs else "–"),
            ),
        ),
        DRIFT_SPEC.judge(
            drift_verdict,
            ("; ".join(drift_parts) + f"; largest per-layer |change| between first and last "
             f"log, {n_drift}/{n} reach ≥ {DRIFT_FACTOR:g}× (mean over seeds ± std)" + tail)
            if n else empty,
            control_result(
                drift_verdict,
                verdict_from_fraction(c_n, len(c_drifts)),
                f"change between seeds at the first log ≥ {DRIFT_FACTOR:g}× in {c_n}/"
                f"{len(c_drifts)} (net, optimizer), largest ×"
                + (f"{max(c_drifts):.3g}" if c_drifts else "–"),
            ),
        ),
    ]  # fmt: skip


EXPERIMENT = Experiment(
    name="lb_trust_ratios",
    description="per-layer LAMB/LARS trust ratios over training on digits MLP/CNN and tiny BERT",
    run=run,
    units=units,
    claims=claims,
    claim_specs=CLAIM_SPECS,
    tables=("lb_trust_ratios", "lb_trust_ratios_summary"),
    figure=FIGURE,
    grid=GRID,
)
