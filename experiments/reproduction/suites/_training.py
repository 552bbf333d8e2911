"""Shared pieces of the large-batch training suites: cached runs and their tables, and the way
their claims judge a negative control.

A training run is a unit of work: its tables (history, trust ratios) and summary are cached
under the run's config, so an interrupted ``paper_reproduce.py`` resumes without retraining
finished runs, and the same config gives the same rows. Runs missing from the cache are trained
together with :func:`experiments.training.train_many` (runs that differ only in learning rate,
warmup or seed share one compilation and are vmapped).
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from experiments.cache import unit_key
from experiments.reproduction.claims import control_outcome
from experiments.reproduction.protocol import Context
from experiments.training import TrainConfig, train_many

# Verdicts from the most to the least favourable to a claim (not_applicable: nothing judged).
_RANK = {"reproduced": 2, "partially": 1, "not_reproduced": 0, "not_applicable": -1}


@dataclasses.dataclass(frozen=True)
class RunRecord:
    """A finished run as the suites use it: the summary row and the two tidy tables."""

    summary: dict
    history: pd.DataFrame
    trust_ratios: pd.DataFrame


def _key(config: TrainConfig, tag: str, mesh=None) -> dict:
    """The run's cache key: its config, and the training code's fingerprint and the device count
    (``experiments.cache.unit_key``), so a change to either is a new run."""
    body = json.dumps(dataclasses.asdict(config), sort_keys=True, default=repr)
    return unit_key("training", {"kind": "train", "tag": tag, "config": body}, mesh)


def _records(df: pd.DataFrame) -> list[dict]:
    return [
        {k: (v.item() if isinstance(v, np.generic) else v) for k, v in row.items()}
        for row in df.to_dict(orient="records")
    ]


def _to_json(result) -> dict:
    summary = {
        k: (v.item() if isinstance(v, np.generic) else v) for k, v in result.summary().items()
    }
    return {
        "summary": summary,
        "history": _records(result.history),
        "trust_ratios": _records(result.trust_ratios),
    }


def _from_json(obj: dict) -> RunRecord:
    return RunRecord(
        obj["summary"], pd.DataFrame(obj["history"]), pd.DataFrame(obj["trust_ratios"])
    )


def cache_dir(ctx: Context) -> str | None:
    """Where tokenizers, token ids and compiled programs are kept (beside the result cache)."""
    base = getattr(ctx.cache, "directory", None)
    return None if base is None else str(Path(base) / "training")


def run_configs(
    ctx: Context, configs: Sequence[TrainConfig], tag: str, label: str = ""
) -> list[RunRecord]:
    """Train ``configs`` (cached per config), returning one :class:`RunRecord` each, in order.

    ``ctx.progress`` is called once per config (cached ones included), so an experiment's
    ``units`` is the number of configs it runs.
    """
    configs = list(configs)
    out: list[RunRecord | None] = [None] * len(configs)
    todo = []
    for i, c in enumerate(configs):
        hit = ctx.cache.lookup(_key(c, tag, ctx.mesh))
        if hit is None:
            todo.append(i)
        else:
            out[i] = _from_json(hit)
            ctx.progress(f"{label or tag}: {c.optimizer} B={c.batch_size} (cached)")
    if todo:
        where = cache_dir(ctx)
        results = train_many([configs[i] for i in todo], cache_dir=where, mesh=ctx.mesh)
        for i, r in zip(todo, results, strict=True):
            obj = _to_json(r)
            ctx.cache.store(_key(configs[i], tag, ctx.mesh), obj)
            # read back through the cache's own encoding, so a fresh run and a cached one give
            # the same rows (NaN, bools and all)
            out[i] = _from_json(ctx.cache.lookup(_key(configs[i], tag, ctx.mesh)) or obj)
            ctx.progress(f"{label or tag}: {configs[i].optimizer} B={configs[i].batch_size}")
    return out  # type: ignore[return-value]


def summaries(records: Sequence[RunRecord]) -> pd.DataFrame:
    return pd.DataFrame([r.summary for r in records])


def histories(records: Sequence[RunRecord]) -> pd.DataFrame:
    frames = [r.history for r in records if len(r.history)]
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()


def trust_tables(records: Sequence[RunRecord]) -> pd.DataFrame:
    frames = [r.trust_ratios for r in records if len(r.trust_ratios)]
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()


def mean_std(df: pd.DataFrame, by: list[str], value: str) -> pd.DataFrame:
    """Mean, standard deviation (ddof = 1) and count of ``value`` over seeds, per ``by``."""
    g = df.groupby(by, dropna=False)[value]
    return g.agg(mean="mean", std="std", n="count").reset_index()


def control_result(claim_verdict: str, control_verdict: str, what: str) -> str:
    """The ``control`` column of an lb claim whose negative control was judged by the claim's own
    rule (``control_verdict``: that rule's verdict on the control variant, ``what``: the variant).

    The control fails, as it must, when the rule rejects the variant (``not_reproduced``) or gives
    it a less favourable verdict than the data got; it holds when the variant earns at least the
    data's verdict: the check could not tell the data from a variant where the claim is false. A
    control with nothing to judge (``not_applicable``) holds: it was not shown able to fail.
    """
    if control_verdict == "not_applicable":
        return control_outcome(False, f"{what}: nothing to judge it on, so not shown to fail")
    failed = control_verdict == "not_reproduced" or _RANK[control_verdict] < _RANK[claim_verdict]
    return control_outcome(failed, f"{what}: {control_verdict} (the claim: {claim_verdict})")
