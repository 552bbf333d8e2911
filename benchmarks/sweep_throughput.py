"""Theorem-validation sweep throughput: the JAX runner vs looping the NumPy reference in Python.

    python benchmarks/sweep_throughput.py [--out results/benchmarks/sweep_throughput.json]
    python benchmarks/sweep_throughput.py --quick          # tiny sizes, a smoke test (~20 s)

Both sides do the same work per run and step: the exact gradient of a separable cosine
objective, a Gaussian minibatch mean drawn exactly (N(0, σ̃²/b), b = T), one LAMB step
(β1 = β2 = ε = 0, φ = clip(·, 0.5, 2): Theorem 3's β2 = 0 setting) and the measures the theorems
need (‖∇f‖², per-layer norms, ‖∇f‖_1, f). The JAX side is
``experiments.validation.runner.simulate`` (jit +
lax.scan, vmapped over seeds), on one device and with the seeds split over ``--devices`` devices
(a ``jax.sharding`` mesh; on a CPU those are host devices, one per core, forced before JAX
starts); the NumPy side is ``lamb_ref.reference.lamb`` in a Python loop over seeds and steps.
Throughput is runs × steps per second; the NumPy loop runs fewer seeds (its cost is linear in
them) and the speed-up is the ratio of throughputs. JAX times exclude compilation (reported
separately) and are medians of ``--repeats`` calls.

The sizes (``SIZES``) are those of the validation suites: d = 64 in 4 layers is the default
profile's instance (``rate``, ``baselines``; ``heterogeneity`` uses 8 x 8), d = 512 in 8 layers
the full profile's, and d = 10^4 in 10 layers a larger one for scale.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import sys
import time
from pathlib import Path

import jax
import numpy as np

# Run as a script from anywhere: the project root on the path (no install needed).
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from experiments.cache import atomic_write_text
from experiments.distributed import force_host_devices
from experiments.validation.optimizers import for_theorem
from experiments.validation.runner import clear_cache, simulate
from experiments.validation.spec import InstanceSpec, build
from lamb_ref import reference


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument(
        "--devices",
        type=int,
        default=os.cpu_count() or 1,
        help="devices to split the seeds over in the mesh rows (default: one per CPU core)",
    )
    p.add_argument("--repeats", type=int, default=3, help="timed JAX calls per row (median)")
    p.add_argument("--quick", action="store_true", help="tiny sizes and few steps (smoke test)")
    p.add_argument("--out", default="results/benchmarks/sweep_throughput.json")
    return p


TARGET = 100.0
# (label, d, layers, JAX seeds, T, NumPy runs)
SIZES = (
    ("default profile", 64, 4, 256, 1024, 4),
    ("full profile", 512, 8, 128, 1024, 2),
    ("large", 10_000, 10, 32, 256, 2),
)
QUICK_SIZES = (("quick", 16, 2, 16, 64, 2),)


def _spec(d: int, layers: int) -> InstanceSpec:
    if d % layers:
        raise SystemExit(f"d={d} must be a multiple of layers={layers}")
    return InstanceSpec(
        family="separable_cosine",
        layer_sizes=(d // layers,) * layers,
        L=tuple(float(10 ** (i / max(layers - 1, 1))) for i in range(layers)),
        sigma=(0.5,) * layers,
        noise="gaussian",
        x1_scale=2.0,
        phi=(0.5, 2.0),
        beta2=0.9,
        name="throughput",
    )


def jax_throughput(built, T: int, seeds: int, eta: float, repeats: int, mesh=None) -> dict:
    opt = for_theorem("lamb_beta2_zero", built.spec.phi, built.spec.beta2)
    clear_cache()  # a fresh compilation per row, so first_call_seconds is comparable
    start = time.perf_counter()
    simulate(built, opt, T, T, [eta], seeds, jax.random.key(0), mesh=mesh)
    first = time.perf_counter() - start
    times = []
    for rep in range(repeats):
        start = time.perf_counter()
        res = simulate(built, opt, T, T, [eta], seeds, jax.random.key(rep + 1), mesh=mesh)
        times.append(time.perf_counter() - start)
    if not np.all(np.isfinite(res.mean["grad_sq"])):
        raise RuntimeError("the JAX runner produced a non-finite ‖∇f‖²")
    best = float(np.median(times))
    return {
        "seconds": best,
        "samples_s": times,
        "first_call_seconds": first,
        "run_steps_per_s": seeds * T / best,
    }


def numpy_throughput(built, T: int, runs: int, eta: float) -> dict:
    L = np.asarray(built.objective.L)
    names = sorted(built.x1)
    sig = {
        k: np.asarray(s)
        for k, s in zip(built.noise.layer_names, built.noise.sigma_coord, strict=True)
    }
    phi = built.spec.phi
    start = time.perf_counter()
    for run in range(runs):
        rng = np.random.default_rng(run)
        opt = reference.lamb(eta, 0.0, 0.0, 0.0, 0.0, phi=phi)
        x = {k: np.array(built.x1[k]) for k in names}
        state = opt.init(x)
        acc = np.zeros(4)
        for _ in range(T):
            grad = {k: L[i] * np.sin(x[k]) for i, k in enumerate(names)}
            norms = np.array([np.linalg.norm(grad[k]) for k in names])
            l1 = sum(np.abs(grad[k]).sum() for k in names)
            f = sum(L[i] * np.sum(1 - np.cos(x[k])) for i, k in enumerate(names))
            acc += [norms @ norms, norms.sum(), l1, f]
            g = {
                k: grad[k] + sig[k] / math.sqrt(T) * rng.standard_normal(grad[k].shape)
                for k in names
            }
            upd, state = opt.update(g, state, x)
            x = reference.apply_updates(x, upd)
        if not np.all(np.isfinite(acc)):
            raise RuntimeError("the NumPy loop produced a non-finite measure")
    seconds = time.perf_counter() - start
    return {"seconds": seconds, "runs": runs, "run_steps_per_s": runs * T / seconds}


def bench(label, d, layers, seeds, T, numpy_runs, devices, repeats) -> dict:
    from experiments.distributed import make_mesh

    built = build(_spec(d, layers))
    eta = 0.01
    print(f"{label}: d={d} in {layers} layers, T={T}, {seeds} seeds", flush=True)
    npy = numpy_throughput(built, T, numpy_runs, eta)
    print(f"  NumPy loop          : {npy['run_steps_per_s']:12.0f} run-steps/s", flush=True)
    row = {"label": label, "d": d, "layers": layers, "T": T, "seeds": seeds, "numpy": npy}
    meshes = {1: None}
    if devices > 1:
        if seeds % devices:
            raise SystemExit(f"--devices={devices} must divide the seeds ({seeds}) of {label!r}")
        meshes[devices] = make_mesh(devices)
    row["jax"] = {}
    for n, mesh in meshes.items():
        jx = jax_throughput(built, T, seeds, eta, repeats, mesh)
        jx["speedup"] = jx["run_steps_per_s"] / npy["run_steps_per_s"]
        row["jax"][str(n)] = jx
        print(
            f"  JAX, {n} device{'s' if n > 1 else ' '}     : {jx['run_steps_per_s']:12.0f} "
            f"run-steps/s  ({jx['speedup']:.0f}x)",
            flush=True,
        )
    return row


def table(rows: list[dict]) -> str:
    ns = sorted({int(n) for r in rows for n in r["jax"]})
    head = "| sweep | d (layers) | seeds × T | NumPy loop |" + "".join(
        f" JAX, {n} device{'s' if n > 1 else ''} | speed-up |" for n in ns
    )
    out = [head, "|" + "---|" * (4 + 2 * len(ns))]
    for r in rows:
        cells = [f"{r['label']}", f"{r['d']} ({r['layers']})", f"{r['seeds']} × {r['T']}"]
        cells.append(f"{r['numpy']['run_steps_per_s']:,.0f}/s")
        for n in ns:
            jx = r["jax"].get(str(n))
            cells += (
                [f"{jx['run_steps_per_s']:,.0f}/s", f"{jx['speedup']:.0f}×"] if jx else ["", ""]
            )
        out.append("| " + " | ".join(cells) + " |")
    return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    force_host_devices(args.devices)  # before JAX's first computation; CPU only
    if args.devices < 1 or args.devices > jax.device_count():
        raise SystemExit(
            f"--devices={args.devices} is invalid: expected 1..{jax.device_count()} (the devices "
            "JAX sees; on a CPU, host devices can only be added before JAX's first computation)"
        )
    if args.repeats < 1:
        raise SystemExit(f"--repeats={args.repeats} is invalid: expected an integer >= 1")
    rows = [bench(*s, args.devices, args.repeats) for s in (QUICK_SIZES if args.quick else SIZES)]
    print()
    print(table(rows))
    best = {r["label"]: max(j["speedup"] for j in r["jax"].values()) for r in rows}
    for label, s in best.items():
        verdict = "met" if s >= TARGET else "NOT met"
        print(f"target {label}: speed-up >= {TARGET:.0f}x: {s:.0f}x {verdict}")
    record = {
        "benchmark": "sweep_throughput",
        "rows": rows,
        "target": TARGET,
        "meets_target": {label: bool(s >= TARGET) for label, s in best.items()},
        "machine": {
            "cpu_count": os.cpu_count(),
            "platform": platform.platform(),
            "processor": platform.processor(),
            "jax": jax.__version__,
            "devices": [str(d) for d in jax.devices()],
        },
        "command": "python benchmarks/sweep_throughput.py "
        + " ".join(sys.argv[1:] if argv is None else argv),
    }
    atomic_write_text(Path(args.out), json.dumps(record, indent=2))
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
