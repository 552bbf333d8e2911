"""Run registered experiments and write their tables (atomically), with a progress bar.

Layout under ``out``: ``tables/<table>.csv`` for every table an experiment returns,
``tables/theorem_validation_<experiment>.csv`` for its validation rows, and
``theorem_validation.csv``: every experiment's rows found under ``tables/`` (so ``--only`` reruns
one experiment without losing the others'). Unit results are cached under ``out/cache`` by spec
hash: a rerun, or a run after an interruption, recomputes only what is missing.
"""

from __future__ import annotations

import io
import time
from collections.abc import Sequence
from pathlib import Path

import pandas as pd
from tqdm.auto import tqdm

from experiments.cache import Cache, atomic_write_text
from experiments.registry import EXPERIMENTS, Context


def write_csv(df: pd.DataFrame, path: Path) -> None:
    buf = io.StringIO()
    df.to_csv(buf, index=False)
    atomic_write_text(path, buf.getvalue())


def collect_validation(out: Path) -> pd.DataFrame:
    """Concatenate every ``tables/theorem_validation_*.csv`` into ``theorem_validation.csv``."""
    parts = sorted((out / "tables").glob("theorem_validation_*.csv"))
    frames = [pd.read_csv(p) for p in parts]
    df = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()
    write_csv(df, out / "theorem_validation.csv")
    return df


def run(names: Sequence[str], profile: str, out: str | Path, *, show_progress: bool = True):
    """Run experiments ``names`` under ``profile``; returns {name: (seconds, tables written)}."""
    unknown = [n for n in names if n not in EXPERIMENTS]
    if unknown:
        raise ValueError(f"experiment(s) {unknown} unknown: expected some of {list(EXPERIMENTS)}")
    out = Path(out)
    cache = Cache(out / "cache")
    done: dict[str, tuple[float, list[str]]] = {}
    for name in names:
        exp = EXPERIMENTS[name]
        ctx = Context(profile, cache)
        bar = tqdm(total=exp.units(ctx), desc=name, disable=not show_progress, unit="run")

        def progress(text: str, bar=bar) -> None:
            bar.set_postfix_str(text[:60], refresh=False)
            bar.update(1)

        ctx.progress = progress
        start = time.perf_counter()
        tables = exp.run(ctx)
        bar.close()
        written = []
        for table, df in tables.items():
            fname = (
                f"theorem_validation_{name}.csv"
                if table == "theorem_validation"
                else f"{table}.csv"
            )
            write_csv(df, out / "tables" / fname)
            written.append(fname)
        done[name] = (time.perf_counter() - start, written)
    collect_validation(out)
    return done


def summary(df: pd.DataFrame) -> str:
    """One line: in-hypothesis rows, how many hold, the largest measured/bound ratio."""
    if df.empty:
        return "no validation rows"
    ih = df[df["in_hypothesis"].astype(bool)]
    holds = ih["holds"].astype(bool)
    worst = ih["ratio"].max() if len(ih) else float("nan")
    return (
        f"{int(holds.sum())}/{len(ih)} in-hypothesis rows hold (largest measured/bound "
        f"{worst:.3g}); {len(df) - len(ih)} rows outside the hypotheses"
    )
