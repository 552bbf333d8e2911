"""Regenerate the toolkit's tables and report: ``python paper_reproduce.py [options]``.

Thin entry point (no science here): it installs the project's dependencies from pyproject.toml
when they are missing, runs the registered experiments (``experiments.reproduction.registry``;
finished ones
are skipped, interrupted ones resume from their cached units), derives ``claims.csv`` from the
tables, draws every figure (``figures``) and writes ``REPORT.md`` and ``report.html``.

Outputs under ``--out`` (default ``results/``): ``tables/*.csv``, ``theorem_validation.csv``,
``claims.csv``, ``figures/*.png|pdf``, ``REPORT.md``, ``report.html``, ``manifest.json`` and
``cache/``.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import shlex
import subprocess
import sys
import time
from pathlib import Path

from experiments import cli_errors

ROOT = Path(__file__).resolve().parent
REQUIRED = (
    "numpy",
    "scipy",
    "jax",
    "optax",
    "sympy",
    "pandas",
    "matplotlib",
    "tqdm",
    "tokenizers",
    "sklearn",
)


def _ensure_installed() -> None:
    """Install the project (pip install -e .) if a runtime dependency is missing, then re-exec."""
    missing = [m for m in REQUIRED if importlib.util.find_spec(m) is None]
    if not missing:
        return
    if os.environ.get("LAMB_TOOLKIT_BOOTSTRAPPED"):
        sys.exit(f"still missing after installing the project: {missing}")
    print(f"installing the project's dependencies (missing: {', '.join(missing)}) ...", flush=True)
    subprocess.check_call([sys.executable, "-m", "pip", "install", "--quiet", "-e", str(ROOT)])
    os.environ["LAMB_TOOLKIT_BOOTSTRAPPED"] = "1"
    os.execv(sys.executable, [sys.executable, *sys.argv])


def _print_table(rows: list[tuple[str, ...]]) -> None:
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    for r in rows:
        print("  " + "  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)))


PROG = "paper_reproduce.py"


def build_parser() -> argparse.ArgumentParser:
    parser = cli_errors.ArgumentParser(
        prog=PROG,
        description="Regenerate the lamb-toolkit tables, figures, claims.csv and report.",
    )
    parser.add_argument(
        "--profile",
        choices=("smoke", "default", "full"),
        default="default",
        help="sizes: smoke (CI, minutes), default (the main job), full (paper-like; GPU if seen)",
    )
    parser.add_argument("--only", nargs="+", metavar="NAME", help="run only these experiments")
    parser.add_argument("--list", action="store_true", help="list the experiments and exit")
    parser.add_argument(
        "--out",
        default=str(ROOT / "results"),
        help="output folder (default results/): not empty, not a file, not the repository root "
        "or inside a package folder",
    )
    parser.add_argument(
        "--force", action="store_true", help="rerun experiments even if finished with this code"
    )
    parser.add_argument(
        "--devices",
        default=1,
        type=cli_errors.devices,
        help="devices to split training runs and validation seeds over: a positive integer N "
        "(on a CPU, N host devices, e.g. one per core) or 'all' (every device JAX sees); "
        "default 1",
    )
    return parser


def check_args(args: argparse.Namespace) -> argparse.Namespace:
    """Every check on the arguments, run before anything else (exit 2 with one line on stderr):
    experiment names, and that ``--out`` is a usable folder (created, a probe file written and
    removed). Runs no experiment."""
    out = None if args.list else cli_errors.out_dir(args.out, prog=PROG)
    _ensure_installed()
    from experiments.reproduction import registry

    unknown = [n for n in dict.fromkeys(args.only or []) if n not in registry.EXPERIMENTS]
    if unknown:
        cli_errors.fail(
            f"--only: unknown experiment(s) {unknown}; expected some of "
            f"{list(registry.EXPERIMENTS)} (see --list)",
            PROG,
        )
    if out is not None:
        cli_errors.ensure_writable(out, prog=PROG)
    return args


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Parse and check ``argv`` (exit 2 with one line on stderr when invalid)."""
    return check_args(build_parser().parse_args(argv))


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    _force_host_devices(args.devices)
    from tqdm import tqdm

    import figures
    from experiments.reproduction import registry, report, sweep

    if args.list:
        for name, exp in registry.EXPERIMENTS.items():
            print(f"{name:20} {exp.description}")
        return 0
    mesh = _mesh(args.devices)
    out = Path(args.out)
    (out / "tables").mkdir(parents=True, exist_ok=True)
    names = args.only or list(registry.EXPERIMENTS)
    given = sys.argv[1:] if argv is None else argv
    command = shlex.join(["python", "paper_reproduce.py", *given])
    start = time.perf_counter()
    done = {}
    for name in (bar := tqdm(names, desc=f"experiments ({args.profile})", unit="exp")):
        bar.set_postfix_str(name)
        done |= sweep.run(
            [name], args.profile, out, force=args.force, mesh=mesh, compilation_cache=True
        )
    ids: dict[str, list[str]] = {}
    claims = sweep.collect_claims(out, ids)
    drawn = figures.render_all(out / "tables", out / "figures")
    for name, info in drawn.items():
        info |= {"title": figures.FIGURES[name].TITLE, "caption": figures.FIGURES[name].CAPTION}
    manifest = sweep.read_manifest(out)
    report.write(out, claims, drawn, manifest, command, ROOT)

    rows = [("experiment", "time", "claims")]
    for name in names:
        entry = done[name]
        mine = claims[claims["claim_id"].isin(ids.get(name, []))]
        counts = mine["verdict"].value_counts()
        rows.append(
            (
                name,
                "cached" if entry["cached"] else f"{entry['seconds']:.1f} s",
                ", ".join(f"{n} {v}" for v, n in counts.items()) or "-",
            )
        )
    print("\nSummary")
    _print_table(rows)
    counts = claims["verdict"].value_counts()
    print(
        f"\n{len(claims)} claims ({', '.join(f'{n} {v}' for v, n in counts.items())}); "
        f"{sum('files' in d for d in drawn.values())}/{len(drawn)} figures; "
        f"{time.perf_counter() - start:.1f} s"
    )
    print(f"Report: {out / 'REPORT.md'} and {out / 'report.html'}")
    return 0


def _force_host_devices(devices: int | str) -> None:
    """``--devices N`` (N > 1): N host devices on a CPU (``distributed.force_host_devices``).

    Once JAX has computed something in this process the flag has no effect, and ``_mesh`` then
    refuses a count above the devices JAX sees.
    """
    from experiments import distributed

    if isinstance(devices, int):
        distributed.force_host_devices(devices)


def _mesh(devices: int | str):
    """None for one device, else a mesh over the first ``devices`` devices JAX sees."""
    import jax

    from experiments import distributed

    seen = jax.device_count()
    n = seen if devices == "all" else int(devices)
    if n > seen:
        cli_errors.fail(
            f"--devices={devices} is invalid: JAX sees {seen} {jax.default_backend()} "
            f"device(s); expected a positive integer up to {seen} or 'all' (N host devices are "
            "created only on a CPU, and only before JAX starts)",
            PROG,
        )
    return None if n == 1 else distributed.make_mesh(n)


if __name__ == "__main__":
    sys.exit(main())
