"""Results cached by key and written atomically, so an interrupted sweep resumes.

Each unit of work (one instance × theorem × optimizer × T, say) is identified by a JSON-able
key; its result (JSON-able) is stored as ``<dir>/<sha256(key)[:24]>.json`` via a temporary file
and ``os.replace``, so a file is either absent or complete.

A unit's key holds, besides what the caller puts in it, the code that computes it: a fingerprint
of the source of the engine's packages (:data:`ENGINES`, :func:`engine_fingerprint`), the
number of devices it ran on and the versions of the numerical libraries (:func:`unit_key`). A
change to that code, or another device count, is another key: nothing has to be bumped by hand.
Keys built without :func:`unit_key` get the ``default`` engine (all of ``lamb_ref``, ``theory``
and ``experiments``) and the cache's device count. ``CACHE_VERSION`` is the fixed version of the
key and file layout only.

A cache file that cannot be read (half written by something else, edited by hand) is moved
aside as ``<name>.corrupt-<time>`` with a warning and counts as a miss; :func:`file_lock` and
:func:`clean_temp_files` let writers of shared state files (``manifest.json``) stay consistent
under concurrent runs and after a killed one.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import json
import math
import os
import re
import tempfile
import time
import warnings
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, NamedTuple

try:  # POSIX; elsewhere the lock is a no-op
    import fcntl
except ImportError:  # pragma: no cover
    fcntl = None  # type: ignore[assignment]

# The layout of keys and cache files (not a code version: code enters keys by fingerprint).
CACHE_VERSION = 2
ROOT = Path(__file__).resolve().parent.parent


class Engine(NamedTuple):
    """The sources (files or folders under the repository root) whose code computes a unit."""

    paths: tuple[str, ...]
    exclude: tuple[str, ...] = ()


ENGINES: dict[str, Engine] = {
    # validation units: objectives, runner (its seeds split over a mesh by experiments.distributed),
    # the theorems' bounds and the optimizers
    "validation": Engine(
        (
            "lamb_ref",
            "theory",
            "experiments/validation",
            "experiments/distributed",
            "experiments/precision.py",
        )
    ),
    # training runs
    "training": Engine(
        (
            "lamb_ref",
            "experiments/training",
            "experiments/distributed",
            "experiments/precision.py",
        )
    ),
    # anything else (and the code fingerprint of manifest.json): every package that computes
    # results, less the modules that only format or judge finished tables
    "default": Engine(
        ("lamb_ref", "theory", "experiments"),
        (
            "experiments/reproduction/report.py",
            "experiments/reproduction/claims.py",
            "experiments/reproduction/sweep.py",
            "experiments/__main__.py",
            "experiments/reproduction/suites/_validation_claims.py",
        ),
    ),
}
SOURCE_SUFFIXES = (".py", ".json")


class CorruptFileWarning(UserWarning):
    """A state file (cache unit, manifest) could not be read and was moved aside."""


def source_fingerprint(paths: tuple[str, ...], exclude: tuple[str, ...] = ()) -> str:
    """sha256 over the ``.py``/``.json`` sources under ``paths`` (relative path + bytes, sorted),
    skipping ``exclude`` and ``__pycache__``; 16 hex digits."""
    files: set[Path] = set()
    for rel in paths:
        base = ROOT / rel
        files |= {base} if base.is_file() else set(base.rglob("*"))
    h = hashlib.sha256()
    for path in sorted(files):
        rel = path.relative_to(ROOT).as_posix()
        if (
            path.suffix in SOURCE_SUFFIXES
            and path.is_file()
            and "__pycache__" not in path.parts
            and rel not in exclude
        ):
            h.update(rel.encode())
            h.update(path.read_bytes())
    return h.hexdigest()[:16]


@functools.cache
def engine_fingerprint(engine: str) -> str:
    """The fingerprint of ``ENGINES[engine]``'s sources, computed once per process (the code a
    process runs is the code it imported)."""
    return source_fingerprint(*ENGINES[engine])


def device_count(mesh: Any) -> int:
    """The number of devices of ``mesh`` (a ``jax.sharding.Mesh``: its ``size``, else the size
    of its ``devices``), 1 when None or when it names no devices (a test's stand-in)."""
    if mesh is None:
        return 1
    size = getattr(mesh, "size", None)
    if size is None:
        devices = getattr(mesh, "devices", None)
        if devices is None:
            return 1
        size = getattr(devices, "size", None)
        size = len(devices) if size is None else size
    return int(size)


@functools.cache
def _library_versions() -> dict[str, str]:
    import jax
    import jaxlib
    import numpy

    return {"jax": jax.__version__, "jaxlib": jaxlib.__version__, "numpy": numpy.__version__}


def _platform(mesh: Any) -> str:
    devices = getattr(mesh, "devices", None)
    if devices is not None and len(devices):
        first = devices.flat[0] if hasattr(devices, "flat") else next(iter(devices))
        return str(getattr(first, "platform", "unknown"))
    import jax

    return jax.default_backend()


def unit_key(engine: str, key: Any, mesh: Any = None, *, devices: int | None = None) -> dict:
    """``key`` with what else determines the unit's numbers: the fingerprint of ``engine``'s
    code, the device count of ``mesh`` (or ``devices``), the platform and library versions."""
    n = device_count(mesh) if devices is None else int(devices)
    return {
        "engine": engine,
        "code": engine_fingerprint(engine),
        "devices": n,
        "platform": _platform(mesh),
        "libraries": _library_versions(),
        "key": key,
    }


_UNIT_FIELDS = frozenset(("engine", "code", "devices", "platform", "libraries", "key"))


def is_unit_key(key: Any) -> bool:
    return isinstance(key, dict) and set(key) == _UNIT_FIELDS


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
    _atomic_write(path, text, "w")


def atomic_write_bytes(path: str | Path, data: bytes) -> None:
    """Write ``data`` to ``path`` atomically (as :func:`atomic_write_text`)."""
    _atomic_write(path, data, "wb")


def _atomic_write(path: str | Path, data: str | bytes, mode: str) -> None:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, mode) as fh:
            fh.write(data)
        # mkstemp makes the file private (0600); results get the usual mode for new files
        os.chmod(tmp, 0o666 & ~current_umask())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


# The names tempfile.mkstemp(prefix=f".{name}.", suffix=".tmp") gives: 8 random characters.
TEMP_NAME = re.compile(r"^\..+\.[a-z0-9_]{8}\.tmp$")
TEMP_MAX_AGE_S = 60.0


def clean_temp_files(
    folder: str | Path,
    *,
    older_than: float = TEMP_MAX_AGE_S,
    recursive: bool = True,
    skip_dirs: tuple[str, ...] = ("xla",),
) -> list[Path]:
    """Delete temporary files a killed writer left under ``folder``: only names of our own
    pattern (:data:`TEMP_NAME`, from :func:`atomic_write_text`) not modified for ``older_than``
    seconds (a live writer's file is younger). Folders named in ``skip_dirs`` (JAX's compilation
    cache) are not entered. Returns the files deleted."""
    folder = Path(folder)
    if not folder.is_dir():
        return []
    now, removed = time.time(), []
    pending = [folder]
    while pending:
        with os.scandir(pending.pop()) as entries:
            for entry in entries:
                try:
                    if entry.is_dir(follow_symlinks=False):
                        if recursive and entry.name not in skip_dirs:
                            pending.append(Path(entry.path))
                    elif (
                        entry.is_file(follow_symlinks=False)
                        and TEMP_NAME.match(entry.name)
                        and now - entry.stat(follow_symlinks=False).st_mtime > older_than
                    ):
                        os.unlink(entry.path)
                        removed.append(Path(entry.path))
                except FileNotFoundError:  # removed meanwhile by someone else
                    continue
    return removed


def move_aside(path: str | Path, reason: Any) -> Path | None:
    """Rename an unreadable state file to ``<name>.corrupt-<UTC time>`` and warn, naming both
    files; None when it is already gone (another process moved it)."""
    path = Path(path)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ")
    target = path.with_name(f"{path.name}.corrupt-{stamp}")
    try:
        os.replace(path, target)
    except FileNotFoundError:
        return None
    warnings.warn(
        f"unreadable state file {path} ({reason}); moved to {target.name} and treated as absent",
        CorruptFileWarning,
        stacklevel=3,
    )
    return target


@contextlib.contextmanager
def file_lock(path: str | Path) -> Iterator[None]:
    """An exclusive ``fcntl.flock`` on ``path`` (created if absent) for the ``with`` block:
    serialises read-modify-write of a shared file between processes. Not reentrant."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a") as fh:
        if fcntl is not None:
            fcntl.flock(fh.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            if fcntl is not None:
                fcntl.flock(fh.fileno(), fcntl.LOCK_UN)


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
    """A directory of cached results (``None``: caching off, everything is computed).

    ``refresh``: existing files are ignored (every lookup of a unit this cache has not stored
    itself is a miss) but results are still stored, so a forced rerun recomputes every unit and
    refreshes the cache. ``devices``: the device count entered in keys not built by
    :func:`unit_key`.
    """

    def __init__(
        self, directory: str | Path | None, *, refresh: bool = False, devices: int = 1
    ) -> None:
        self.directory = None if directory is None else Path(directory)
        self.refresh = refresh
        self.devices = devices
        self.hits = 0
        self.misses = 0
        self._stored: set[str] = set()

    def path(self, key: Any) -> Path | None:
        """The file that holds ``key``'s result (None when caching is off)."""
        if self.directory is None:
            return None
        if not is_unit_key(key):
            key = unit_key("default", key, devices=self.devices)
        return self.directory / f"{key_hash(key)}.json"

    def _read(self, path: Path) -> Any | None:
        try:
            obj = json.loads(path.read_text())
            return _restore(obj["value"])
        except FileNotFoundError:
            return None
        except (ValueError, KeyError, TypeError) as err:  # JSONDecodeError, UnicodeDecodeError
            move_aside(path, f"{type(err).__name__}: {err}")
            return None

    def lookup(self, key: Any) -> Any | None:
        """The cached value for ``key``, or None (counted as a hit or a miss)."""
        path = self.path(key)
        if path is not None and (not self.refresh or path.name in self._stored):
            value = self._read(path)
            if value is not None:
                self.hits += 1
                return value
        self.misses += 1
        return None

    def store(self, key: Any, value: Any) -> None:
        """Write ``value`` for ``key`` atomically (no-op when caching is off)."""
        path = self.path(key)
        if path is None:
            return
        full = key if is_unit_key(key) else unit_key("default", key, devices=self.devices)
        text = json.dumps({"key": _clean(full), "value": _clean(value)}, default=_default)
        atomic_write_text(path, text)
        self._stored.add(path.name)

    def get_or_compute(self, key: Any, compute: Callable[[], Any]) -> Any:
        value = self.lookup(key)
        if value is None:
            value = compute()
            self.store(key, value)
        return value
