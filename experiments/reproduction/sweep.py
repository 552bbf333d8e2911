"""Run registered experiments and write their tables (atomically), with a progress bar.

Layout under ``out``: ``tables/<table>.csv`` for every table an experiment returns,
``tables/theorem_validation_<experiment>.csv`` for its validation rows, and
``theorem_validation.csv``: every experiment's rows found under ``tables/`` (so ``--only`` reruns
one experiment without losing the others'). Unit results are cached under ``out/cache`` by key
(spec, the fingerprint of the code that computes the unit, the device count:
:mod:`experiments.cache`): a rerun, or a run after an interruption, recomputes only what is
missing or was computed by other code. ``manifest.json`` records each finished experiment
(profile, code fingerprint, device count, tables, derived files, time): a finished experiment is
skipped on the next run, and ``claims.csv`` is derived from the tables of every finished experiment
(:func:`collect_claims`). The manifest is updated under a lock (``.manifest.json.lock``), so
concurrent runs into one folder keep each other's entries; an unreadable manifest or cache file
is moved aside with a warning, and temporary files a killed run left are removed at the start.
"""

from __future__ import annotations

import io
import json
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd
from tqdm.auto import tqdm

from experiments.cache import (
    ENGINES,
    Cache,
    atomic_write_text,
    clean_temp_files,
    device_count,
    file_lock,
    move_aside,
    source_fingerprint,
)
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
MANIFEST_LOCK = ".manifest.json.lock"
# The code whose changes invalidate finished experiments (figures only read tables, so they are
# not part of it; the entry script is wiring): experiments.cache's "default" engine.
FINGERPRINT_PACKAGES = ENGINES["default"].paths
# Modules that only format or judge finished tables (claims are re-derived on every run).
FINGERPRINT_EXCLUDE = ENGINES["default"].exclude


def code_fingerprint() -> str:
    """sha256 over the source of the packages that compute results (path + bytes, sorted)."""
    return source_fingerprint(FINGERPRINT_PACKAGES, FINGERPRINT_EXCLUDE)


class _Unreadable(Exception):
    pass


def _parse_manifest(path: Path) -> dict:
    try:
        text = path.read_text()
    except FileNotFoundError:
        return {}
    try:
        manifest = json.loads(text)
    except ValueError as err:  # JSONDecodeError, UnicodeDecodeError
        raise _Unreadable(f"{type(err).__name__}: {err}") from None
    if not isinstance(manifest, dict) or not all(isinstance(e, dict) for e in manifest.values()):
        raise _Unreadable("not an object of experiment entries")
    return manifest


def _read_healing(path: Path) -> dict:
    """The manifest at ``path``; an unreadable one is moved aside (warning) and read as empty.
    Call with the manifest lock held."""
    try:
        return _parse_manifest(path)
    except _Unreadable as err:
        move_aside(path, err)
        return {}


def read_manifest(out: str | Path) -> dict:
    """``{experiment: {profile, fingerprint, devices, tables, seconds, finished}}`` of finished
    runs. An unreadable ``manifest.json`` is renamed ``manifest.json.corrupt-<time>`` with a
    :class:`~experiments.cache.CorruptFileWarning` and read as empty (its experiments rerun)."""
    out = Path(out)
    try:
        return _parse_manifest(out / MANIFEST)
    except _Unreadable:
        # heal under the lock, so a concurrent writer's fresh manifest is never moved aside
        with file_lock(out / MANIFEST_LOCK):
            return _read_healing(out / MANIFEST)


def update_manifest(out: str | Path, name: str, entry: dict) -> dict:
    """Set experiment ``name``'s entry: read, modify and write ``manifest.json`` under an
    exclusive lock (``fcntl.flock`` on ``.manifest.json.lock`` beside it), so entries written by
    concurrent runs into the same folder are kept. Returns the manifest written."""
    out = Path(out)
    with file_lock(out / MANIFEST_LOCK):
        manifest = _read_healing(out / MANIFEST)
        manifest[name] = entry
        atomic_write_text(out / MANIFEST, json.dumps(manifest, indent=1, sort_keys=True))
    return manifest


def table_file(experiment: str, table: str) -> str:
    return (
        f"theorem_validation_{experiment}.csv" if table == "theorem_validation" else f"{table}.csv"
    )


def is_current(
    entry: dict | None, profile: str, fingerprint: str, out: Path, devices: int = 1
) -> bool:
    """A manifest entry is reusable if profile, code and device count are the same and its
    tables exist."""
    return bool(
        entry
        and entry.get("profile") == profile
        and entry.get("fingerprint") == fingerprint
        and entry.get("devices", 1) == devices
        and all((out / "tables" / f).exists() for f in entry.get("tables", []))
        and all((out / f).exists() for f in entry.get("files", []))
    )


def write_files(out: Path, files: dict[str, str]) -> list[str]:
    """Write an experiment's derived files (``Experiment.files``) atomically under ``out``.

    Raises:
        ValueError: a path that is absolute, leaves ``out`` (``..``) or lands in ``tables/``
            (where every file is a table of the manifest).
    """
    for rel in files:
        parts = Path(rel).parts
        if Path(rel).is_absolute() or ".." in parts or not parts or parts[0] == "tables":
            raise ValueError(
                f"file path {rel!r} is invalid: expected a relative path inside the output "
                "folder, outside tables/"
            )
    for rel, text in files.items():
        atomic_write_text(out / rel, text)
    return sorted(files)


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

    An experiment finished under the same profile, code fingerprint and device count
    (``manifest.json``) is not rerun unless ``force``; an interrupted one restarts and reuses its
    cached units. ``force`` recomputes everything the named experiments need: cached units are
    ignored (and overwritten), not only the manifest entries. Training runs and validation seeds
    are split over ``mesh`` when one is given; its device count is part of every unit's key.
    Temporary files a killed run left under ``out`` are removed first. Returns
    ``{name: manifest entry + {"cached": bool}}``.
    """
    unknown = [n for n in names if n not in EXPERIMENTS]
    if unknown:
        raise ValueError(f"experiment(s) {unknown} unknown: expected some of {list(EXPERIMENTS)}")
    out = Path(out)
    clean_temp_files(out)
    devices = device_count(mesh)
    cache = Cache(out / "cache", refresh=force, devices=devices)
    if compilation_cache:
        enable_compilation_cache(out / "cache" / "training" / "xla")
    fingerprint = code_fingerprint()
    done: dict[str, dict] = {}
    for name in names:
        manifest = read_manifest(out)
        if not force and is_current(manifest.get(name), profile, fingerprint, out, devices):
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
        extra = write_files(out, exp.files(tables)) if exp.files is not None else []
        entry = {
            "profile": profile,
            "fingerprint": fingerprint,
            "devices": devices,
            "tables": written,
            "files": extra,
            "seconds": round(time.perf_counter() - start, 2),
            "finished": datetime.now(UTC).isoformat(timespec="seconds"),
        }
        update_manifest(out, name, entry)  # keeps entries other processes added meanwhile
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
