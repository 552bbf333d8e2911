"""Command line: ``python -m experiments {validate,run,list} ...`` (docs/validation.md and
docs/reproduction.md).

* ``validate --instance FILE.json --theorem NAME [--T 16,64,256] [--seeds N] --out DIR``:
  one theorem on one instance; writes ``DIR/theorem_validation.csv`` and prints it.
* ``run [NAME ...] [--profile smoke|default|full] --out DIR``: registered experiments.
* ``list``: the registered experiments.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import theory
from experiments import cli_errors
from experiments.cache import Cache
from experiments.reproduction import registry, sweep
from experiments.validation.spec import build, load_instance
from experiments.validation.validate import COLUMNS, validate


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


def build_parser() -> argparse.ArgumentParser:
    parser = cli_errors.ArgumentParser(prog=PROG, description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    v = sub.add_parser("validate", help="validate one theorem on one instance")
    v.add_argument("--instance", required=True, help="instance JSON (schema in docs/validation.md)")
    v.add_argument("--theorem", required=True, choices=sorted(theory.THEOREMS))
    v.add_argument("--T", type=_ints, default=[16, 64, 256], help="comma-separated T values")
    v.add_argument("--seeds", type=int, default=16, help="noise realisations per T (>= 1)")
    v.add_argument("--out", required=True, help="output directory")
    r = sub.add_parser("run", help="run registered experiments")
    r.add_argument("names", nargs="*", help="experiments (default: all)")
    r.add_argument("--profile", choices=registry.PROFILES, default="default")
    r.add_argument("--out", default="results", help="output directory")
    sub.add_parser("list", help="list the registered experiments")
    return parser


def check_args(args: argparse.Namespace) -> argparse.Namespace:
    """Every check on the arguments (exit 2 with one line on stderr), running nothing: names,
    ``--seeds``, the instance file and its contents (``validate`` keeps the parsed spec in
    ``args.spec``), and that ``--out`` is a usable folder (created, a probe file written and
    removed)."""
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
        path = cli_errors.input_file(args.instance, "--instance", prog)
        try:
            args.spec = load_instance(path)
        except (ValueError, OSError) as err:
            cli_errors.fail(f"--instance={args.instance!r}: {err}", prog)
        except RecursionError:
            cli_errors.fail(f"--instance={args.instance!r}: JSON nested too deeply", prog)
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
        built = build(args.spec)
        rows = validate(
            built,
            args.theorem,
            args.T,
            args.seeds,
            cache=Cache(out / "cache"),
            progress=lambda text: print(f"running {text}", file=sys.stderr),
        )
    except ValueError as err:  # e.g. an instance the theorem cannot use, named by the message
        cli_errors.fail(err, f"{PROG} validate")
    sweep.write_csv(rows, out / "theorem_validation.csv")
    print(rows[list(COLUMNS)].to_string(index=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
