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


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description="Regenerate the lamb-toolkit tables, figures, claims.csv and report."
    )
    parser.add_argument(
        "--profile",
        choices=("smoke", "default", "full"),
        default="default",
        help="sizes: smoke (CI, minutes), default (the main job), full (paper-like; GPU if seen)",
    )
    parser.add_argument("--only", nargs="+", metavar="NAME", help="run only these experiments")
    parser.add_argument("--list", action="store_true", help="list the experiments and exit")
    parser.add_argument("--out", default=str(ROOT / "results"), help="output directory")
    parser.add_argument(
        "--force", action="store_true", help="rerun experiments even if finished with this code"
    )
    parser.add_argument(
        "--devices",
        default="1",
        help="devices to split training runs and validation seeds over: an integer N (on a CPU, "
        "N host devices, e.g. one per core) or 'all' (every device JAX sees); default 1",
    )
    args = parser.parse_args(argv)
    _ensure_installed()
    _force_host_devices(args.devices)
    from tqdm import tqdm

    import figures
    from experiments.reproduction import registry, report, sweep

    if args.list:
        for name, exp in registry.EXPERIMENTS.items():
            print(f"{name:20} {exp.description}")
        return 0
    unknown = sorted(set(args.only or []) - set(registry.EXPERIMENTS))
    if unknown:
        parser.error(
            f"--only {unknown} unknown; experiments are {list(registry.EXPERIMENTS)} (see --list)"
        )
    mesh = _mesh(parser, args.devices)
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


def _force_host_devices(devices: str) -> None:
    """``--devices N`` (N > 1): N host devices on a CPU (``distributed.force_host_devices``).

    Once JAX has computed something in this process the flag has no effect, and ``_mesh`` then
    refuses a count above the devices JAX sees.
    """
    from experiments import distributed

    if devices.isdigit():
        distributed.force_host_devices(int(devices))


def _mesh(parser: argparse.ArgumentParser, devices: str):
    """None for one device, else a mesh over the first ``devices`` devices JAX sees."""
    import jax

    from experiments import distributed

    n = jax.device_count() if devices == "all" else None
    if n is None:
        try:
            n = int(devices)
        except ValueError:
            n = 0
    if not 1 <= n <= jax.device_count():
        parser.error(
            f"--devices={devices!r} is invalid: expected 'all' or an integer in "
            f"[1, {jax.device_count()}] (the devices JAX sees)"
        )
    return None if n == 1 else distributed.make_mesh(n)


if __name__ == "__main__":
    sys.exit(main())
