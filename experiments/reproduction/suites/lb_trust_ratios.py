"""Per-layer trust ratios over training on real networks (PAPER.md §6 item 9; the paper's
appendix trust-ratio figures).

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

import numpy as np
import pandas as pd

from experiments.reproduction.claims import Claim, as_bool, verdict_from_fraction
from experiments.reproduction.protocol import Context, Experiment
from experiments.reproduction.suites import _lb_layers
from experiments.reproduction.suites._training import run_configs, summaries, trust_tables

FIGURE = "lb_trust_ratios"
OPTIMIZERS = ("lamb", "lars")
# "Orders of magnitude" across layers (PAPER.md §6 item 9): at least a factor of 10 between the
# largest and smallest adapted layer's ratio (the synthetic suite's SPREAD_FACTOR, same meaning).
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


def nets(ctx: Context) -> tuple[str, ...]:
    return ctx.pick(("digits/mlp",), _lb_layers.NETS, _lb_layers.NETS)


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


def claims(tables: dict[str, pd.DataFrame]) -> list[Claim]:
    """Spread (≥ SPREAD_FACTOR) and drift (≥ DRIFT_FACTOR) per (net, optimizer), means over
    seeds, from ``lb_trust_ratios`` alone (the summary is recomputed from it).

    Spread: ``reproduced`` if every (net, optimizer) stays ≥ SPREAD_FACTOR at every log,
    ``partially`` if some reach it at some log, ``not_reproduced`` if none ever does.
    """
    summ = summarise(tables.get("lb_trust_ratios", pd.DataFrame()))
    source = "PAPER.md §6 item 9 (appendix trust-ratio figures)"
    spread_parts, drift_parts = [], []
    n = n_always = n_ever = n_drift = 0
    for (net, opt), g in summ.groupby(["net", "optimizer"]) if len(summ) else []:
        n += 1
        n_always += g["spread_min"].mean() >= SPREAD_FACTOR
        n_ever += g["spread_max"].mean() >= SPREAD_FACTOR
        n_drift += g["drift_factor"].mean() >= DRIFT_FACTOR
        spread_parts.append(
            f"{net} {opt} ({int(g['n_adapted'].iloc[0])} adapted layers): ×{_ms(g['spread_first'])}"
            f" at step 0, ×{_ms(g['spread_last'])} at the last log (step "
            f"{int(g['last_step'].max())}), smallest ×{_ms(g['spread_min'])}, largest "
            f"×{_ms(g['spread_max'])} over the logs"
        )
        layer = g["drift_layer"].mode().iloc[0]
        drift_parts.append(f"{net} {opt}: ×{_ms(g['drift_factor'])} (most often {layer})")
    if n_always == n:
        spread_verdict = verdict_from_fraction(n_always, n)
    else:
        spread_verdict = "partially" if n_ever else "not_reproduced"
    empty = "no adapted-layer rows in table lb_trust_ratios"
    tail = "; table lb_trust_ratios (per seed: lb_trust_ratios_summary)"
    return [
        Claim(
            "lb_trust_ratio_spread",
            source,
            "At laptop scale (digits MLP/CNN, tiny BERT), the per-layer trust ratios "
            f"‖x_i‖/‖u_i‖ of LAMB and LARS differ by ≥ {SPREAD_FACTOR:g}× across adapted layers "
            "throughout training",
            spread_verdict,
            ("; ".join(spread_parts) + f"; ≥ {SPREAD_FACTOR:g}× at every log in {n_always}/{n} "
             f"and at some log in {n_ever}/{n} (net, optimizer), spread = max/min over adapted "
             "layers, mean over seeds ± std" + tail) if n else empty,
            FIGURE,
        ),
        Claim(
            "lb_trust_ratio_drift",
            source,
            "At laptop scale, some layer's trust ratio changes by ≥ "
            f"{DRIFT_FACTOR:g}× between the first and the last log of training",
            verdict_from_fraction(n_drift, n),
            ("; ".join(drift_parts) + f"; largest per-layer |change| between first and last "
             f"log, {n_drift}/{n} reach ≥ {DRIFT_FACTOR:g}× (mean over seeds ± std)" + tail)
            if n else empty,
            FIGURE,
        ),
    ]  # fmt: skip


EXPERIMENT = Experiment(
    name="lb_trust_ratios",
    description="per-layer LAMB/LARS trust ratios over training on digits MLP/CNN and tiny BERT",
    run=run,
    units=units,
    claims=claims,
)
