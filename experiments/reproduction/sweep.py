"""Run registered experiments and write their tables (atomically), with a progress bar.

Layout under ``out``: ``tables/<table>.csv`` for every table an experiment returns,
``tables/theorem_validation_<experiment>.csv`` for its validation rows, and
``theorem_validation.csv``: every experiment's rows found under ``tables/`` (so ``--only`` reruns
one experiment without losing the others'). Unit results are cached under ``out/cache`` by spec
hash: a rerun, or a run after an interruption, recomputes only what is missing.
``manifest.json`` records each finished experiment (profile, code fingerprint, tables, time): a
finished experiment is skipped on the next run, and ``claims.csv`` is derived from the tables
of every finished experiment (:func:`collect_claims`).
"""

from __future__ import annotations

import hashlib
import io
import json
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd
from tqdm.auto import tqdm

from experiments.cache import Cache, atomic_write_text
from experiments.reproduction import claims as claims_mod
from experiments.reproduction.registry import EXPERIMENTS, Context
from experiments.training import enable_compilation_cache


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


MANIFEST = "manifest.json"
# The code whose changes invalidate finished experiments (figures only read tables, so they are
# not part of it; the entry script is wiring).
FINGERPRINT_PACKAGES = ("lamb_ref", "theory", "experiments")
# Modules that only format or judge finished tables (claims are re-derived on every run).
FINGERPRINT_EXCLUDE = (
    "experiments/reproduction/report.py",
    "experiments/reproduction/claims.py",
    "experiments/reproduction/sweep.py",
    "experiments/__main__.py",
    "experiments/reproduction/suites/_validation_claims.py",
)


def code_fingerprint() -> str:
    """sha256 over the source of the packages that compute results (path + bytes, sorted)."""
    root = Path(__file__).resolve().parent.parent
    h = hashlib.sha256()
    for pkg in FINGERPRINT_PACKAGES:
        for path in sorted((root / pkg).rglob("*")):
            rel = path.relative_to(root).as_posix()
            if (
                path.suffix in (".py", ".json")
                and "__pycache__" not in path.parts
                and rel not in FINGERPRINT_EXCLUDE
            ):
                h.update(rel.encode())
                h.update(path.read_bytes())
    return h.hexdigest()[:16]


def read_manifest(out: str | Path) -> dict:
    """``{experiment: {profile, fingerprint, tables, seconds, finished}}`` of finished runs."""
    path = Path(out) / MANIFEST
    return json.loads(path.read_text()) if path.exists() else {}


def table_file(experiment: str, table: str) -> str:
    return (
        f"theorem_validation_{experiment}.csv" if table == "theorem_validation" else f"{table}.csv"
    )


def is_current(entry: dict | None, profile: str, fingerprint: str, out: Path) -> bool:
    """A manifest entry is reusable if profile and code are the same and its tables exist."""
    return bool(
        entry
        and entry.get("profile") == profile
        and entry.get("fingerprint") == fingerprint
        and all((out / "tables" / f).exists() for f in entry.get("tables", []))
    )


def run(
    names: Sequence[str],
    profile: str,
    out: str | Path,
    *,
    show_progress: bool = True,
    force: bool = False,
    mesh=None,
    compilation_cache: bool = False,
) -> dict[str, dict]:
    """Run experiments ``names`` under ``profile``, skipping those already finished.

    ``compilation_cache`` keeps XLA's compiled programs on disk under ``out/cache/training/xla``
    (JAX's persistent compilation cache, a process-wide setting: entry points opt in, library
    callers and tests leave it off).

    An experiment finished under the same profile and code fingerprint (``manifest.json``) is not
    rerun unless ``force``; an interrupted one restarts and reuses its cached units. Training
    runs are split over ``mesh`` when one is given (results do not depend on it). Returns
    ``{name: manifest entry + {"cached": bool}}``.
    """
    unknown = [n for n in names if n not in EXPERIMENTS]
    if unknown:
        raise ValueError(f"experiment(s) {unknown} unknown: expected some of {list(EXPERIMENTS)}")
    out = Path(out)
    cache = Cache(out / "cache")
    if compilation_cache:
        enable_compilation_cache(out / "cache" / "training" / "xla")
    fingerprint = code_fingerprint()
    done: dict[str, dict] = {}
    for name in names:
        manifest = read_manifest(out)
        if not force and is_current(manifest.get(name), profile, fingerprint, out):
            done[name] = {**manifest[name], "cached": True}
            continue
        exp = EXPERIMENTS[name]
        ctx = Context(profile, cache, mesh=mesh)
        bar = tqdm(total=exp.units(ctx), desc=name, disable=not show_progress, unit="unit")

        def progress(text: str, bar=bar) -> None:
            bar.set_postfix_str(text[:60], refresh=False)
            bar.update(1)

        ctx.progress = progress
        start = time.perf_counter()
        tables = exp.execute(ctx)
        bar.close()
        written = []
        for table, df in tables.items():
            fname = table_file(name, table)
            write_csv(df, out / "tables" / fname)
            written.append(fname)
        entry = {
            "profile": profile,
            "fingerprint": fingerprint,
            "tables": written,
            "seconds": round(time.perf_counter() - start, 2),
            "finished": datetime.now(UTC).isoformat(timespec="seconds"),
        }
        manifest = read_manifest(out)  # re-read: keep entries another process may have added
        manifest[name] = entry
        atomic_write_text(out / MANIFEST, json.dumps(manifest, indent=1, sort_keys=True))
        done[name] = {**entry, "cached": False}
    collect_validation(out)
    return done


def read_tables(out: str | Path, name: str) -> dict[str, pd.DataFrame] | None:
    """The tables experiment ``name`` wrote under ``out`` (by table name), or None if it has no
    finished run there."""
    out = Path(out)
    entry = read_manifest(out).get(name)
    if not entry:
        return None
    tables = {}
    for fname in entry["tables"]:
        path = out / "tables" / fname
        if not path.exists():
            return None
        table = "theorem_validation" if fname == f"theorem_validation_{name}.csv" else fname[:-4]
        tables[table] = pd.read_csv(path)
    return tables


def collect_claims(out: str | Path, by_experiment: dict | None = None) -> pd.DataFrame:
    """Every finished experiment's claims, derived from its tables on disk -> ``claims.csv``.

    The ``profile`` an experiment ran under is not a column of claims.csv; it is in
    ``manifest.json`` and in the report. ``by_experiment``, if given, is filled with
    ``{experiment: [claim_id, ...]}``.
    """
    claims = []
    for name, exp in EXPERIMENTS.items():
        tables = read_tables(out, name)
        if tables is not None and exp.claims is not None:
            mine = exp.claims(tables)
            exp.check_claims(mine)
            claims.extend(mine)
            if by_experiment is not None:
                by_experiment[name] = [c.claim_id for c in mine]
    text = claims_mod.to_csv_text(claims)
    atomic_write_text(Path(out) / "claims.csv", text)
    return pd.read_csv(io.StringIO(text), keep_default_na=False)


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
