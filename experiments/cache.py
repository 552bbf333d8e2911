"""Results cached by spec hash and written atomically, so an interrupted sweep resumes.

Each unit of work (one instance × theorem × optimizer × T, say) is identified by a JSON-able
key; its result (JSON-able) is stored as ``<dir>/<sha256(key)[:24]>.json`` via a temporary file
and ``os.replace``, so a file is either absent or complete. ``CACHE_VERSION`` enters every key:
bump it when a change to the code changes results.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

CACHE_VERSION = 1


def _default(obj: Any) -> Any:
    if hasattr(obj, "item"):  # NumPy scalars
        return obj.item()
    if hasattr(obj, "tolist"):
        return obj.tolist()
    raise TypeError(f"not JSON-serialisable: {type(obj).__name__}")


def key_hash(key: Any) -> str:
    body = json.dumps({"v": CACHE_VERSION, "key": key}, sort_keys=True, default=_default)
    return hashlib.sha256(body.encode()).hexdigest()[:24]


def current_umask() -> int:
    """The process's umask (read by setting it and restoring it at once)."""
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def atomic_write_text(path: str | Path, text: str) -> None:
    """Write ``text`` to ``path`` atomically (temporary file in the same directory + rename)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w") as fh:
            fh.write(text)
        # mkstemp makes the file private (0600); results get the usual mode for new files
        os.chmod(tmp, 0o666 & ~current_umask())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def _clean(obj: Any) -> Any:
    """NaN/inf as None so the file is strict JSON; restored as NaN by :func:`_restore`."""
    if isinstance(obj, float) and not math.isfinite(obj):
        return {"__float__": repr(obj)}
    if isinstance(obj, dict):
        return {k: _clean(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [_clean(v) for v in obj]
    return obj


def _restore(obj: Any) -> Any:
    if isinstance(obj, dict):
        if set(obj) == {"__float__"}:
            return float(obj["__float__"])
        return {k: _restore(v) for k, v in obj.items()}
    if isinstance(obj, list):
        return [_restore(v) for v in obj]
    return obj


class Cache:
    """A directory of cached results (``None``: caching off, everything is computed)."""

    def __init__(self, directory: str | Path | None) -> None:
        self.directory = None if directory is None else Path(directory)
        self.hits = 0
        self.misses = 0

    def lookup(self, key: Any) -> Any | None:
        """The cached value for ``key``, or None (counted as a hit or a miss)."""
        if self.directory is not None:
            path = self.directory / f"{key_hash(key)}.json"
            if path.exists():
                self.hits += 1
                return _restore(json.loads(path.read_text())["value"])
        self.misses += 1
        return None

    def store(self, key: Any, value: Any) -> None:
        """Write ``value`` for ``key`` atomically (no-op when caching is off)."""
        if self.directory is None:
            return
        text = json.dumps({"key": _clean(key), "value": _clean(value)}, default=_default)
        atomic_write_text(self.directory / f"{key_hash(key)}.json", text)

    def get_or_compute(self, key: Any, compute: Callable[[], Any]) -> Any:
        value = self.lookup(key)
        if value is None:
            value = compute()
            self.store(key, value)
        return value
