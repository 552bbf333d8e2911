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


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m experiments", description=__doc__.split("\n")[0]
    )
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
    args = parser.parse_args(argv)

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
    if args.seeds < 1:
        parser.error(f"--seeds={args.seeds} is invalid: expected an integer >= 1")
    try:
        built = build(load_instance(args.instance))
        out = Path(args.out)
        rows = validate(
            built,
            args.theorem,
            args.T,
            args.seeds,
            cache=Cache(out / "cache"),
            progress=lambda text: print(f"running {text}", file=sys.stderr),
        )
    except ValueError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    sweep.write_csv(rows, out / "theorem_validation.csv")
    print(rows[list(COLUMNS)].to_string(index=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
