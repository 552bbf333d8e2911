"""Regenerate the toolkit's tables and report: ``python paper_reproduce.py [options]``.

Thin entry point (no science here): it installs the project's dependencies from pyproject.toml
when they are missing, then runs the registered jobs and writes their outputs under ``--out``.
Registered so far: the optimizer conformance table (lamb_ref) and the theorem validation
experiments (experiments.registry). Figures and the claim-by-claim report arrive with the report
issue.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent
REQUIRED = ("numpy", "scipy", "jax", "optax", "sympy", "pandas", "matplotlib", "tqdm")


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


def _conformance(out: Path, profile: str) -> str:
    from lamb_ref import conformance

    rows = conformance.table()
    conformance.write_csv(rows, str(out / "tables" / "conformance.csv"))
    n_ok = sum(r["agrees"] for r in rows)
    return f"{n_ok}/{len(rows)} golden library trajectories reproduced (both backends)"


def _theorem_validation(out: Path, profile: str) -> str:
    from experiments import registry, sweep

    sweep.run(list(registry.EXPERIMENTS), profile, out)
    return sweep.summary(sweep.collect_validation(out))


JOBS = {
    "conformance": (
        "lamb_ref vs optax/TF-Addons/timm/torch-optimizer/Keras 3 golden data",
        _conformance,
    ),
    "theorem_validation": (
        "Theorems 1-3 measured vs bound on synthetic objectives (experiments registry)",
        _theorem_validation,
    ),
}


def _write_report(out: Path, summaries: dict[str, str], command: str) -> None:
    lines = [
        "# lamb-toolkit report",
        "",
        f"Regenerate with: `{command}`",
        "",
        "| job | result |",
        "|---|---|",
    ]
    lines += [f"| {name} | {text} |" for name, text in summaries.items()]
    lines += [
        "",
        "Tables: `tables/`; theorem validation rows: `theorem_validation.csv`. Not yet produced "
        "by this command: figures and claims (pending the report issue).",
        "",
    ]
    tmp = out / "REPORT.md.tmp"
    tmp.write_text("\n".join(lines))
    os.replace(tmp, out / "REPORT.md")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Regenerate the lamb-toolkit tables and report.")
    parser.add_argument("--profile", choices=("smoke", "default", "full"), default="default")
    parser.add_argument("--only", nargs="+", metavar="NAME", help="run only these jobs")
    parser.add_argument("--list", action="store_true", help="list the jobs and exit")
    parser.add_argument("--out", default=str(ROOT / "results"), help="output directory")
    args = parser.parse_args(argv)
    if args.list:
        for name, (what, _) in JOBS.items():
            print(f"{name:14} {what}")
        return 0
    unknown = sorted(set(args.only or []) - set(JOBS))
    if unknown:
        parser.error(f"--only {unknown} unknown; jobs are {list(JOBS)}")
    _ensure_installed()
    from tqdm import tqdm

    out = Path(args.out)
    (out / "tables").mkdir(parents=True, exist_ok=True)
    names = args.only or list(JOBS)
    summaries = {}
    for name in (bar := tqdm(names, desc="jobs", unit="job")):
        bar.set_postfix_str(name)
        start = time.perf_counter()
        summaries[name] = JOBS[name][1](out, args.profile)
        summaries[name] += f" ({time.perf_counter() - start:.1f} s)"
    _write_report(out, summaries, "python " + " ".join([Path(sys.argv[0]).name, *sys.argv[1:]]))
    print("\nSummary")
    for name, text in summaries.items():
        print(f"  {name:14} {text}")
    print(f"Outputs in {out}/")
    return 0


if __name__ == "__main__":
    sys.exit(main())
