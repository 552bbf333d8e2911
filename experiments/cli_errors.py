"""One-line command-line errors for the entry points (``paper_reproduce.py``, ``python -m
experiments``, ``python -m experiments.distributed``).

A bad argument or path is answered with ONE line on stderr, ``PROG: error: MESSAGE``, and exit
code 2 (argparse's usage-error code), before anything runs. Standard library only, so checking
arguments stays fast and imports nothing heavy.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path
from typing import NoReturn

ROOT = Path(__file__).resolve().parents[1]
# Folders of the repository an output folder must not be (or be inside): the packages, the tests
# and git's own folder. The repository root itself is refused too (its figures/ is a package).
PROTECTED = ("lamb_ref", "theory", "experiments", "figures", "tests", ".git")
USAGE_EXIT = 2
MAX_DEVICES = 1024  # XLA takes minutes to create ~1e5 host devices; no host has more cores


def one_line(text: object) -> str:
    """``text`` with every run of whitespace (newlines included) collapsed to one space."""
    return " ".join(str(text).split()) or "invalid arguments"


def fail(msg: object, prog: str | None = None) -> NoReturn:
    """Print ``PROG: error: MSG`` as one line on stderr and exit with code 2."""
    head = f"{prog}: error: " if prog else "error: "
    print(head + one_line(msg), file=sys.stderr, flush=True)
    raise SystemExit(USAGE_EXIT)


class ArgumentParser(argparse.ArgumentParser):
    """argparse whose usage errors are one line (no usage block); subparsers inherit it."""

    def error(self, message: str) -> NoReturn:
        fail(f"{message} (see {self.prog} --help)", self.prog)


def devices(text: str) -> int | str:
    """argparse ``type`` for ``--devices``: ``'all'`` or an integer in [1, MAX_DEVICES]."""
    value = text.strip().lower()
    if value == "all":
        return "all"
    n = int(value) if value.isascii() and value.isdigit() else 0
    if not 1 <= n <= MAX_DEVICES:
        raise argparse.ArgumentTypeError(
            f"{text!r} is invalid: expected a positive integer N (at most {MAX_DEVICES}; on a "
            "CPU, N host devices are created) or 'all' (every device JAX sees)"
        )
    return n


def out_dir(value: str, flag: str = "--out", prog: str | None = None) -> Path:
    """The resolved output folder, refused (exit 2) if empty, an existing non-folder, the
    repository root or inside one of its :data:`PROTECTED` folders. Creates nothing."""
    if not value.strip():
        fail(f"{flag}={value!r} is invalid: expected a folder path, e.g. results", prog)
    try:
        path = Path(value).expanduser().resolve()
        exists, is_dir = path.exists(), path.is_dir()
    except (OSError, ValueError, RuntimeError) as err:
        fail(f"{flag}={value!r} is invalid: {err}", prog)
    if path == ROOT:
        fail(f"{flag}={value!r} is invalid: it is the repository root; use e.g. results", prog)
    for name in PROTECTED:
        if path == ROOT / name or ROOT / name in path.parents:
            fail(
                f"{flag}={value!r} is invalid: it is inside the project folder {name}/; "
                "use e.g. results",
                prog,
            )
    if exists and not is_dir:
        fail(f"{flag}={value!r} is invalid: it exists and is not a folder", prog)
    return path


def ensure_writable(path: Path, flag: str = "--out", prog: str | None = None) -> Path:
    """Create folder ``path`` and write and remove a probe file in it (exit 2 if impossible)."""
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        fail(f"{flag}={str(path)!r} cannot be created: {err.strerror or err}", prog)
    try:
        fd, probe = tempfile.mkstemp(dir=path, prefix=".write-probe-")
        try:
            os.write(fd, b"probe")
        finally:
            os.close(fd)
            os.remove(probe)
    except OSError as err:
        fail(f"{flag}={str(path)!r} is not writable: {err.strerror or err}", prog)
    return path


def input_file(value: str, flag: str, prog: str | None = None) -> Path:
    """``value`` as a path to an existing, readable regular file (exit 2 otherwise)."""
    if not value.strip():
        fail(f"{flag}={value!r} is invalid: expected a file path", prog)
    try:
        path = Path(value).expanduser()
        exists, is_file = path.exists(), path.is_file()
        readable = is_file and os.access(path, os.R_OK)
    except (OSError, ValueError, RuntimeError) as err:
        fail(f"{flag}={value!r} is invalid: {err}", prog)
    if not exists:
        fail(f"{flag}={value!r} is invalid: no such file", prog)
    if not is_file:
        kind = "a folder" if path.is_dir() else "not a regular file"
        fail(f"{flag}={value!r} is invalid: it is {kind}, expected a file", prog)
    if not readable:
        fail(f"{flag}={value!r} is invalid: the file is not readable", prog)
    return path
