"""figures: one module per figure, each turning result tables into a matplotlib Figure.

Every figure module exposes ``make(table, **extra_tables) -> Figure`` and the constants
``TABLE`` (its main table's name), ``EXTRA`` (keyword -> table name for further tables),
``TITLE`` and ``CAPTION`` (one sentence for the report). Figures read tables only (as written
under ``tables/<name>.csv``); :mod:`figures.style` owns colours, labels and sizes.

:func:`render_all` draws every figure whose tables exist and writes ``<name>.png`` and
``<name>.pdf`` atomically (temporary files a killed run left behind are removed first).
"""

from __future__ import annotations

import os
import re
import tempfile
import time
from collections.abc import Iterable
from pathlib import Path
from types import ModuleType

import pandas as pd

from figures import (
    baselines,
    bias_correction,
    heterogeneity,
    lb_adamw_tuning,
    lb_appendix_variants,
    lb_batch_scaling,
    lb_goyal_recipes,
    lb_lars_vs_lamb,
    lb_loss_vs_accuracy,
    lb_mixed_batch,
    lb_optimizer_table,
    lb_smoothness,
    lb_steps_to_target,
    lb_trust_ratios,
    lb_workloads,
    lemmas,
    noise_density,
    rate,
    tightness,
    trust_ratios,
)
from figures.style import DPI

FIGURES: dict[str, ModuleType] = {
    m.NAME: m
    for m in (
        rate,
        heterogeneity,
        noise_density,
        tightness,
        trust_ratios,
        bias_correction,
        baselines,
        lemmas,
        lb_batch_scaling,
        lb_adamw_tuning,
        lb_lars_vs_lamb,
        lb_mixed_batch,
        lb_optimizer_table,
        lb_loss_vs_accuracy,
        lb_goyal_recipes,
        lb_steps_to_target,
        lb_trust_ratios,
        lb_appendix_variants,
        lb_smoothness,
        lb_workloads,
    )
}
FORMATS = ("png", "pdf")


def tables_needed(name: str) -> dict[str, str]:
    """Keyword (``"table"`` for the main one) -> table name, for figure ``name``."""
    fig = FIGURES[name]
    return {"table": fig.TABLE, **fig.EXTRA}


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def _save(fig, path: Path, fmt: str) -> None:
    # Written to a temporary file beside the target, then renamed: a reader never sees half a
    # file and an interrupted run leaves the previous figure in place.
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(fd)
    try:
        # No creation date in the PDF, so identical tables give identical files.
        meta = {"CreationDate": None} if fmt == "pdf" else None
        fig.savefig(tmp, format=fmt, dpi=DPI, metadata=meta)
        os.chmod(tmp, 0o666 & ~_umask())  # mkstemp's 0600 -> the usual mode for new files
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


# _save's temporary names (mkstemp: prefix ".<name>.", 8 random characters, ".tmp"), and the age
# past which one is a killed run's leftover rather than a live writer's file.
_TEMP_NAME = re.compile(r"^\..+\.[a-z0-9_]{8}\.tmp$")
_TEMP_MAX_AGE_S = 60.0


def _clean_leftover_tmp(folder: Path) -> None:
    """Delete temporary figure files a killed run left in ``folder`` (our pattern, > 60 s old)."""
    if not folder.is_dir():
        return
    now = time.time()
    for path in folder.iterdir():
        try:
            if (
                _TEMP_NAME.match(path.name)
                and path.is_file()
                and not path.is_symlink()
                and now - path.stat().st_mtime > _TEMP_MAX_AGE_S
            ):
                path.unlink()
        except FileNotFoundError:  # removed meanwhile by another run
            continue


def render_all(
    tables_dir: str | Path, figures_dir: str | Path, names: Iterable[str] | None = None
) -> dict[str, dict]:
    """Draw the figures whose tables exist under ``tables_dir`` into ``figures_dir``.

    Args:
        tables_dir: folder holding ``<table>.csv`` files.
        figures_dir: output folder (created if absent).
        names: figure names (keys of :data:`FIGURES`); all when None.

    Returns:
        Per figure, ``{"files": [png, pdf]}`` or ``{"skipped": reason}`` when a table it needs
        is missing or empty.

    Raises:
        ValueError: an unknown figure name, or a table lacking columns the figure needs (the
            message names the figure, the table and the columns).
    """
    tables_dir, figures_dir = Path(tables_dir), Path(figures_dir)
    names = list(FIGURES) if names is None else list(names)
    unknown = [n for n in names if n not in FIGURES]
    if unknown:
        raise ValueError(f"figure name(s) {unknown} unknown: expected some of {list(FIGURES)}")
    _clean_leftover_tmp(figures_dir)
    out: dict[str, dict] = {}
    for name in names:
        tables, reason = {}, None
        for key, table in tables_needed(name).items():
            path = tables_dir / f"{table}.csv"
            if not path.is_file():
                reason = f"missing table {table} ({path})"
                break
            try:
                df = pd.read_csv(path)
            except pd.errors.EmptyDataError:  # a zero-byte file: no header, no rows
                df = pd.DataFrame()
            if df.empty:
                reason = f"empty table {table} ({path})"
                break
            tables[key] = df
        if reason:
            out[name] = {"skipped": reason}
            continue
        fig = FIGURES[name].make(tables.pop("table"), **tables)
        try:
            figures_dir.mkdir(parents=True, exist_ok=True)
            files = []
            for fmt in FORMATS:
                path = figures_dir / f"{name}.{fmt}"
                _save(fig, path, fmt)
                files.append(str(path))
        finally:
            fig.clear()  # figures are not registered with pyplot; clearing frees their artists
        out[name] = {"files": files}
    return out
