"""Theorem-validation throughput: compilations, compile and run seconds, instances per second.

    python benchmarks/validation_throughput.py [--out results/benchmarks/validation_throughput.json]
    python benchmarks/validation_throughput.py --baseline d9156ea     # before/after, one run
    python benchmarks/validation_throughput.py --quick --baseline none  # smoke test (~30 s)

Two measurements, each in a fresh Python process (so that every compilation is counted):

* **instances**: ``validate`` of one theorem (``THEOREMS``) on N instances of one family and
  layer layout (``separable_cosine``, 4 layers of 16, constants L, σ, x_1, φ, β2 different per
  instance, T = 16, 64, 256, 16 seeds), for N = 1 and N = 16; the cost ratio t(16)/t(1) is the
  number to watch (goal ≤ 2). Where ``validate`` takes one instance only (the baseline), the
  N instances are validated one after the other.
* **experiments**: the default profile's validation experiments (``EXPERIMENTS``), fresh
  output folder, in one process, in the order ``paper_reproduce.py`` runs them.

Per row: wall seconds, XLA compilations and their seconds (``jax.monitoring``'s backend compile
durations), tracing and lowering seconds (an upper bound: those events nest), and "other" =
wall - compile seconds (tracing, lowering, running and Python).
With ``--baseline REV`` the same measurements run on a ``git worktree`` of REV too, interleaved
with the current tree's (REV, current, REV, current, ... for ``--repeats``), so that both see the
same machine; the JSON keeps every sample and the table shows medians.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# The commit before one compiled program served every instance of a family (instance constants
# were closure constants then): the "before" of docs/performance.md.
BASELINE_REV = "d9156ea"
EXPERIMENTS = (
    "rate",
    "heterogeneity",
    "noise_density",
    "tightness",
    "lemmas",
    "baselines",
    "trust_ratios",
)
# the instances rows: Theorem 2 (LARS, Gaussian noise) and Theorem 3 with β2 > 0 (LAMB,
# Rademacher noise: its exact binomial draws make it the costliest to run)
THEOREMS = ("lars", "lamb_beta2_pos")
EVENTS = {
    "compile": "/jax/core/compile/backend_compile_duration",
    "trace": "/jax/core/compile/jaxpr_trace_duration",
    "lower": "/jax/core/compile/jaxpr_to_mlir_module_duration",
}


# ----------------------------------------------------------------------------- worker side
def _listen():
    """Sum jax.monitoring's compile-stage durations (and count compilations)."""
    import jax.monitoring

    totals = {k: 0.0 for k in EVENTS} | {"compiles": 0}

    def on(event, seconds, **_):
        for name, ev in EVENTS.items():
            if event == ev:
                totals[name] += seconds
                totals["compiles"] += name == "compile"

    jax.monitoring.register_event_duration_secs_listener(on)
    return totals


def _row(label: str, wall: float, totals: dict, **extra) -> dict:
    # jax.monitoring's trace and lower events nest (a jitted helper traced inside the runner is
    # timed on its own and inside the runner's trace), so only the backend compile seconds are
    # subtracted: "other" is tracing, lowering, running and Python
    return {"label": label, "wall_s": wall, **totals, "other_s": wall - totals["compile"], **extra}


def _instances(n: int, quick: bool, noise: str) -> list:
    from experiments.validation.spec import InstanceSpec

    h, width = (2, 4) if quick else (4, 16)
    out = []
    for k in range(n):
        out.append(
            InstanceSpec(
                family="separable_cosine",
                layer_sizes=(width,) * h,
                L=tuple(float((1 + 0.1 * k) * 10 ** (i / max(h - 1, 1))) for i in range(h)),
                sigma=(0.5 + 0.05 * k,) * h,
                noise=noise,
                x1_scale=1.0 + 0.1 * k,
                seed=k,
                phi=(0.5, 2.0 + 0.1 * k),
                beta2=0.9 - 0.01 * k,
                name=f"bench-{k}",
            )
        )
    return out


def worker_instances(n: int, theorem: str, quick: bool) -> dict:
    totals = _listen()
    from experiments.validation import runner
    from experiments.validation.spec import build
    from experiments.validation.validate import validate

    # bounded noise where the theorem needs G; Gaussian elsewhere (as the validation suites do)
    noise = "rademacher" if theorem == "lamb_beta2_pos" else "gaussian"
    builts = [build(s) for s in _instances(n, quick, noise)]
    Ts, seeds = ([4, 16], 4) if quick else ([16, 64, 256], 16)
    start = time.perf_counter()
    if hasattr(runner, "simulate_instances"):  # validate takes a list of instances
        rows = validate(builts, theorem, Ts, seeds)
    else:
        import pandas as pd

        rows = pd.concat([validate(b, theorem, Ts, seeds) for b in builts])
    wall = time.perf_counter() - start
    assert len(rows) == n * len(Ts)
    return _row(f"{n} instance(s), {theorem}", wall, totals, n=n, instances_per_s=n / wall)


def worker_experiments(names: list[str], profile: str) -> dict:
    totals = _listen()
    from experiments.reproduction import sweep

    per = {}
    with tempfile.TemporaryDirectory() as out:
        start = time.perf_counter()
        for name in names:
            before = dict(totals)
            t = time.perf_counter()
            sweep.run([name], profile, Path(out) / name, force=True, show_progress=False)
            now = {k: totals[k] - before[k] for k in totals}
            per[name] = _row(name, time.perf_counter() - t, now)
        wall = time.perf_counter() - start
    return _row(f"{len(names)} experiments ({profile})", wall, totals, experiments=per)


# ----------------------------------------------------------------------------- driver side
def _run_worker(tree: Path, args: list[str]) -> dict:
    env = {**os.environ, "PYTHONPATH": str(tree)}
    cmd = [sys.executable, str(Path(__file__).resolve()), "--worker", "--tree", str(tree), *args]
    proc = subprocess.run(cmd, cwd=tree, env=env, capture_output=True, text=True, check=False)
    if proc.returncode:
        raise SystemExit(f"worker failed in {tree}: {' '.join(args)}\n{proc.stderr[-3000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def _worktree(rev: str, where: Path) -> Path:
    path = where / f"baseline-{rev}"
    subprocess.run(
        ["git", "-C", str(ROOT), "worktree", "add", "--detach", "--force", str(path), rev],
        check=True,
        capture_output=True,
    )
    return path


def _median_row(samples: list[dict]) -> dict:
    keys = ("wall_s", "compiles", "compile", "trace", "lower", "other_s")
    return {k: statistics.median(s[k] for s in samples) for k in keys}


def _table(result: dict) -> str:
    lines = [
        "| measurement | code | wall (s) | compilations | compile (s) | trace + lower (s) |"
        " other (s) |",
        "|---|---|---|---|---|---|---|",
    ]

    def line(name: str, code: str, samples: list[dict]) -> str:
        m = _median_row(samples)
        return (
            f"| {name} | {code} | {m['wall_s']:.1f} | {m['compiles']:.0f} |"
            f" {m['compile']:.1f} | {m['trace'] + m['lower']:.1f} | {m['other_s']:.1f} |"
        )

    for name, by_code in result["rows"].items():
        for code, samples in by_code.items():
            lines.append(line(name, code, samples))
        first = next(iter(by_code.values()))[0]
        for exp in first.get("experiments", {}):
            for code, samples in by_code.items():
                lines.append(line(f"  {exp}", code, [s["experiments"][exp] for s in samples]))
    for code, ratio in result["summary"].items():
        lines.append(f"\n{code}: {ratio}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--out", default="results/benchmarks/validation_throughput.json")
    p.add_argument(
        "--baseline",
        default=BASELINE_REV,
        help="git revision to compare with (a worktree of it), or 'none'",
    )
    p.add_argument("--repeats", type=int, default=1, help="interleaved repeats (median)")
    p.add_argument("--quick", action="store_true", help="tiny sizes, smoke profile")
    p.add_argument(
        "--jobs",
        nargs="+",
        choices=("instances", "experiments"),
        default=("instances", "experiments"),
        help="which measurements to run",
    )
    p.add_argument("--theorem", help=argparse.SUPPRESS)
    p.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    p.add_argument("--tree", help=argparse.SUPPRESS)
    p.add_argument("--instances", type=int, help=argparse.SUPPRESS)
    p.add_argument("--experiments", nargs="*", help=argparse.SUPPRESS)
    p.add_argument("--profile", default="default", help=argparse.SUPPRESS)
    a = p.parse_args(argv)
    if a.repeats < 1:
        p.error(f"--repeats={a.repeats} is invalid: expected an integer >= 1")
    if a.worker:
        sys.path.insert(0, a.tree)
        if a.instances:
            row = worker_instances(a.instances, a.theorem, a.quick)
        else:
            row = worker_experiments(a.experiments, a.profile)
        print(json.dumps(row))
        return 0

    profile = "smoke" if a.quick else "default"
    names = ["heterogeneity"] if a.quick else list(EXPERIMENTS)
    jobs = {}
    if "instances" in a.jobs:
        for thm in THEOREMS:
            for n in (1, 16):
                jobs[f"{n} instance{'s' * (n > 1)}, {thm}"] = [
                    "--instances",
                    str(n),
                    "--theorem",
                    thm,
                ]
    if "experiments" in a.jobs:
        jobs[f"validation experiments ({profile})"] = [
            "--experiments",
            *names,
            "--profile",
            profile,
        ]
    if a.quick:
        jobs = {k: [*v, "--quick"] for k, v in jobs.items()}
    with tempfile.TemporaryDirectory() as tmp:
        trees = {"current": ROOT}
        if a.baseline.lower() != "none":
            trees = {f"baseline {a.baseline}": _worktree(a.baseline, Path(tmp)), **trees}
        rows: dict[str, dict[str, list[dict]]] = {k: {c: [] for c in trees} for k in jobs}
        try:
            for _ in range(a.repeats):
                for name, args in jobs.items():
                    for code, tree in trees.items():  # interleaved: the same machine state
                        rows[name][code].append(_run_worker(tree, args))
                        print(
                            f"{name} [{code}]: {rows[name][code][-1]['wall_s']:.1f} s", flush=True
                        )
        finally:
            if a.baseline.lower() != "none":
                subprocess.run(
                    [
                        "git",
                        "-C",
                        str(ROOT),
                        "worktree",
                        "remove",
                        "--force",
                        str(trees[next(iter(trees))]),
                    ],
                    check=False,
                    capture_output=True,
                )
    summary = {}
    for code in trees if "instances" in a.jobs else ():
        for thm in THEOREMS:
            one = _median_row(rows[f"1 instance, {thm}"][code])["wall_s"]
            many = _median_row(rows[f"16 instances, {thm}"][code])["wall_s"]
            summary[f"{code}, {thm}"] = f"16 instances cost {many / one:.2f}x one instance"
    if len(trees) == 2 and "experiments" in a.jobs:
        exp = f"validation experiments ({profile})"
        before, after = (_median_row(rows[exp][c])["wall_s"] for c in trees)
        summary["experiments"] = f"current/baseline wall time {after / before:.2f}"
    result = {
        "date": time.strftime("%Y-%m-%d"),
        "machine": {
            "platform": platform.platform(),
            "processor": platform.processor(),
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
        },
        "command": " ".join(
            ["python", "benchmarks/validation_throughput.py", *(argv or sys.argv[1:])]
        ),
        "rows": rows,
        "summary": summary,
    }
    out = Path(a.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    from experiments.cache import atomic_write_text

    atomic_write_text(out, json.dumps(result, indent=1))
    print(_table(result))
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    raise SystemExit(main())
