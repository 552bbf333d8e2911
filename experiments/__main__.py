"""Command line: ``python -m experiments {validate,run,list} ...`` (docs/validation.md and
docs/reproduction.md).

* ``validate --instance A.json [B.json ...] --theorem NAME [--T 16,64,256] [--seeds N] --out DIR``:
  one theorem on one or several instances (instances of one family and layout share one
  compiled program); merges the rows, one per instance and T, into
  ``DIR/theorem_validation.csv`` (keyed by instance, theorem and T: a rerun replaces its own
  rows and keeps every other) and prints them, with what ``measure`` is for the theorem and the
  failed assumptions of any row outside the hypotheses.
* ``run [NAME ...] [--profile smoke|default|full] --out DIR``: registered experiments.
* ``list``: the registered experiments.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import sys
from pathlib import Path

import pandas as pd

import theory
from experiments import cli_errors
from experiments.cache import Cache, atomic_write_text
from experiments.reproduction import registry, sweep
from experiments.validation.spec import build, load_instance
from experiments.validation.validate import COLUMNS, criterion, validate


def _ints(text: str) -> list[int]:
    try:
        values = [int(v) for v in text.split(",") if v.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"--T={text!r} is invalid: expected e.g. 16,64,256"
        ) from None
    if not values or any(v < 1 for v in values):
        raise argparse.ArgumentTypeError(f"--T={text!r} is invalid: every T must be >= 1")
    return values


PROG = "python -m experiments"


class HelpFormatter(argparse.ArgumentDefaultsHelpFormatter):
    """``--help`` with each option's default, except for required options and unset ones."""

    def _get_help_string(self, action: argparse.Action) -> str:
        if action.required or action.default in (None, argparse.SUPPRESS):
            return action.help or ""
        return super()._get_help_string(action)


TABLE = "theorem_validation.csv"
KEY = ("instance", "theorem", "T")  # one row per key in TABLE
THEOREM_NAMES = {
    "sgd": "Theorem 1, SGD",
    "lars": "Theorem 2, LARS",
    "lamb_beta2_zero": "Theorem 3, LAMB with beta2 = 0",
    "lamb_beta2_pos": "Theorem 3, LAMB with 0 < beta2 < 1",
}


def build_parser() -> argparse.ArgumentParser:
    fmt = HelpFormatter
    parser = cli_errors.ArgumentParser(
        prog=PROG,
        description="Theorem validation on synthetic instances and the registered experiments"
        " (docs/validation.md, docs/reproduction.md). See COMMAND --help.",
        formatter_class=fmt,
    )
    sub = parser.add_subparsers(dest="command", required=True)
    v = sub.add_parser(
        "validate",
        help="validate one theorem on one or several instances",
        description="Run the algorithm a theorem analyses on each instance at each T (batch b ="
        " T, the theorem's step size) and set the measured criterion against the explicit bound."
        " Instances of one family and layer layout share one compiled program."
        f" Rows are merged into DIR/{TABLE}, one per (instance, theorem, T): a rerun replaces"
        " its own rows and keeps the others. Schema: docs/validation.md.",
        formatter_class=fmt,
    )
    v.add_argument(
        "--instance",
        required=True,
        nargs="+",
        metavar="FILE",
        help="instance JSON file(s) with the problem's constants (schema in docs/validation.md);"
        " each instance's name (its 'name', else a hash) labels its rows and must be unique",
    )
    v.add_argument(
        "--theorem",
        required=True,
        choices=sorted(theory.THEOREMS),
        metavar="NAME",
        help="the theorem to validate: "
        + "; ".join(f"{k} ({THEOREM_NAMES.get(k, theory.THEOREMS[k].source)})"
                    for k in sorted(theory.THEOREMS)),
    )  # fmt: skip
    v.add_argument(
        "--T",
        type=_ints,
        default="16,64,256",  # argparse passes a string default through type=_ints
        metavar="T1,T2,...",
        help="comma-separated horizons T (iterations; each run uses batch b = T)",
    )
    v.add_argument(
        "--seeds", type=int, default=16, metavar="N", help="noise realisations per T (>= 1)"
    )
    v.add_argument(
        "--out",
        required=True,
        metavar="DIR",
        help=f"output folder: rows merged into DIR/{TABLE}, finished runs cached in DIR/cache",
    )
    r = sub.add_parser(
        "run",
        help="run registered experiments",
        description="Run registered experiments (tables only: no figures or report).",
        formatter_class=fmt,
    )
    r.add_argument(
        "names", nargs="*", metavar="NAME", help=f"experiments to run ({PROG} list); none: all"
    )
    r.add_argument(
        "--profile",
        choices=registry.PROFILES,
        default="default",
        help="problem sizes: " + ", ".join(registry.PROFILES),
    )
    r.add_argument("--out", default="results", metavar="DIR", help="output folder")
    sub.add_parser(
        "list",
        help="list the registered experiments",
        description="List the registered experiments.",
        formatter_class=fmt,
    )
    return parser


def check_args(args: argparse.Namespace) -> argparse.Namespace:
    """Every check on the arguments (exit 2 with one line on stderr), running nothing: names,
    ``--seeds``, the instance files, their contents and distinct labels, and that ``--out`` is
    a usable folder (created, a probe file written and removed). ``validate`` keeps the parsed
    specs, in the order given, in ``args.specs``."""
    prog = f"{PROG} {args.command}"
    if args.command == "list":
        return args
    if args.command == "run":
        unknown = [n for n in dict.fromkeys(args.names) if n not in registry.EXPERIMENTS]
        if unknown:
            cli_errors.fail(
                f"unknown experiment(s) {unknown}; expected some of {list(registry.EXPERIMENTS)}"
                f" (see {PROG} list)",
                prog,
            )
    else:
        if args.seeds < 1:
            cli_errors.fail(f"--seeds={args.seeds} is invalid: expected an integer >= 1", prog)
        args.specs, seen = [], {}
        for name in args.instance:
            path = cli_errors.input_file(name, "--instance", prog)
            try:
                spec = load_instance(path)
            except (ValueError, OSError) as err:
                cli_errors.fail(f"--instance={name!r}: {err}", prog)
            except RecursionError:
                cli_errors.fail(f"--instance={name!r}: JSON nested too deeply", prog)
            if spec.label in seen:
                cli_errors.fail(
                    f"--instance={name!r} is invalid: its label {spec.label!r} is also the label"
                    f" of {seen[spec.label]!r}; rows are keyed by label, so give each a distinct"
                    " 'name'",
                    prog,
                )
            seen[spec.label] = name
            args.specs.append(spec)
    out = cli_errors.out_dir(args.out, prog=prog)
    cli_errors.ensure_writable(out, prog=prog)
    return args


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Parse and check ``argv`` (exit 2 with one line on stderr when invalid)."""
    return check_args(build_parser().parse_args(argv))


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.command == "list":
        for name, exp in registry.EXPERIMENTS.items():
            print(f"{name:15s} {exp.description}")
        return 0
    if args.command == "run":
        names = args.names or list(registry.EXPERIMENTS)
        done = sweep.run(names, args.profile, args.out, compilation_cache=True)
        for name, entry in done.items():
            how = "cached" if entry["cached"] else f"{entry['seconds']:.1f} s"
            print(f"{name}: {how} -> {', '.join(entry['tables'])}")
        return 0
    out = Path(args.out)
    try:
        rows = validate(
            [build(spec) for spec in args.specs],
            args.theorem,
            args.T,
            args.seeds,
            cache=Cache(out / "cache"),
            progress=lambda text: print(f"running {text}", file=sys.stderr),
        )
    except ValueError as err:  # e.g. an instance the theorem cannot use, named by the message
        cli_errors.fail(err, f"{PROG} validate")
    table = merge_rows(out / TABLE, rows)
    print(criterion(args.theorem))
    print(rows[list(COLUMNS)].to_string(index=False))
    for line in hypothesis_notes(args.theorem, rows):
        print(line)
    print(f"wrote {len(rows)} row(s) to {out / TABLE} ({len(table)} in all)")
    return 0


def hypothesis_notes(theorem: str, rows: pd.DataFrame) -> list[str]:
    """One line per row outside the theorem's hypotheses: T and the failed assumptions, each
    with its statement (why ``bound``/``holds`` may be empty and the row is no verdict)."""
    statements = {a.name: a.statement for a in theory.THEOREMS[theorem].assumptions}
    lines = []
    for row in rows.to_dict(orient="records"):
        if row["in_hypothesis"]:
            continue
        names = [n for n in str(row.get("failed_assumptions") or "").split("; ") if n]
        failed = "; ".join(f"{n} ({statements[n]})" if n in statements else n for n in names)
        lines.append(
            f"T={row['T']}: out of hypothesis, not a verdict on the theorem;"
            f" failed assumptions: {failed or 'not recorded'}"
        )
    return lines


@contextlib.contextmanager
def _locked(path: Path):
    """An exclusive lock on ``path`` (a lock file next to the table) where the OS has flock."""
    try:
        import fcntl
    except ImportError:  # pragma: no cover - not POSIX
        yield
        return
    with open(path, "a") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def merge_rows(path: Path, rows: pd.DataFrame) -> pd.DataFrame:
    """Merge ``rows`` into the CSV at ``path`` by :data:`KEY` and write it atomically.

    A row of ``rows`` replaces an existing row with the same (instance, theorem, T), in its
    place; every other existing row is kept; new keys are appended. Exits 2 (one line) when the
    existing file is not a validation table. Returns the table written.
    """
    prog = f"{PROG} validate"
    with _locked(path.with_name(f".{path.name}.lock")):
        old = None
        if path.exists():
            try:
                old = pd.read_csv(path, dtype={"instance": str, "theorem": str})
            except pd.errors.EmptyDataError:
                old = None
            except (ValueError, OSError, UnicodeDecodeError) as err:
                cli_errors.fail(f"{path} exists but cannot be read as a table: {err}", prog)
        if old is None or not len(old.columns):
            table = rows.reset_index(drop=True)
        else:
            missing = [k for k in KEY if k not in old.columns]
            if missing:
                cli_errors.fail(
                    f"{path} exists but is not a validation table (no column(s) {missing});"
                    " move it or choose another --out",
                    prog,
                )
            new_keys = [tuple(k) for k in rows[list(KEY)].astype(str).itertuples(index=False)]
            old_keys = [tuple(k) for k in old[list(KEY)].astype(str).itertuples(index=False)]
            # an existing row with a new key gives its position to that key's new row
            slot = {}
            for i, k in enumerate(old_keys):
                slot.setdefault(k, i)
            order = [slot.get(k, len(old_keys) + j) for j, k in enumerate(new_keys)]
            replaced = set(new_keys)
            keep = [k not in replaced for k in old_keys]
            kept = old[keep].assign(_order=[i for i, ok in enumerate(keep) if ok])
            table = pd.concat([kept, rows.assign(_order=order)], ignore_index=True)
            table = table.sort_values("_order", kind="stable").drop(columns="_order")
            columns = list(rows.columns) + [c for c in old.columns if c not in rows.columns]
            table = table[columns].reset_index(drop=True)
        buf = io.StringIO()
        table.to_csv(buf, index=False)
        atomic_write_text(path, buf.getvalue())
    return table


if __name__ == "__main__":
    sys.exit(main())
