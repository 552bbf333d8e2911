"""``python -m figures TABLES_DIR FIGURES_DIR [NAME ...]``: draw the figures whose tables exist."""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path
from typing import NoReturn

import matplotlib

matplotlib.use("Agg")  # files only; never open a window

from figures import FIGURES, render_all

PROG = "python -m figures"
ROOT = Path(__file__).resolve().parents[1]
PROTECTED = ("lamb_ref", "theory", "experiments", "figures", "tests", ".git")


def _fail(msg: object) -> NoReturn:
    """One line on stderr, exit 2 (figures reads tables only, so no shared CLI helper)."""
    print(f"{PROG}: error: {' '.join(str(msg).split())}", file=sys.stderr, flush=True)
    raise SystemExit(2)


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        _fail(f"{message} (see {PROG} --help)")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog=PROG, description=__doc__)
    parser.add_argument("tables_dir", help="folder with <table>.csv files")
    parser.add_argument("figures_dir", help="output folder for <name>.png and <name>.pdf")
    parser.add_argument("names", nargs="*", help=f"figures to draw (default all: {list(FIGURES)})")
    return parser


def check_args(args: argparse.Namespace) -> argparse.Namespace:
    """Exit 2 (one line) unless TABLES_DIR is a folder holding CSV tables, the names are known
    and FIGURES_DIR is a writable folder outside the project's packages (created and probed)."""
    tables, value = args.tables_dir, args.figures_dir
    try:
        if not tables.strip() or not Path(tables).is_dir():
            _fail(f"TABLES_DIR={tables!r} is invalid: not a folder")
        if not any(Path(tables).glob("*.csv")):
            _fail(f"TABLES_DIR={tables!r} is invalid: it holds no <table>.csv file")
    except (OSError, ValueError) as err:
        _fail(f"TABLES_DIR={tables!r} is invalid: {err}")
    unknown = [n for n in args.names if n not in FIGURES]
    if unknown:
        _fail(f"unknown figure(s) {unknown}; expected some of {list(FIGURES)}")
    if not value.strip():
        _fail(f"FIGURES_DIR={value!r} is invalid: expected a folder path")
    try:
        out = Path(value).expanduser().resolve()
        if out == ROOT or any(out == ROOT / p or ROOT / p in out.parents for p in PROTECTED):
            _fail(f"FIGURES_DIR={value!r} is invalid: the repository root or a project folder")
        if out.exists() and not out.is_dir():
            _fail(f"FIGURES_DIR={value!r} is invalid: it exists and is not a folder")
        out.mkdir(parents=True, exist_ok=True)
        fd, probe = tempfile.mkstemp(dir=out, prefix=".write-probe-")
        os.close(fd)
        os.remove(probe)
    except (OSError, ValueError, RuntimeError) as err:
        _fail(f"FIGURES_DIR={value!r} is not a writable folder: {err}")
    return args


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    return check_args(build_parser().parse_args(argv))


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        result = render_all(args.tables_dir, args.figures_dir, args.names or None)
    except ValueError as err:  # a table lacking the columns a figure needs (named)
        _fail(err)
    for name, res in result.items():
        print(
            f"{name}: {', '.join(res['files']) if 'files' in res else 'skipped: ' + res['skipped']}"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
