"""Theorem-validation sweep throughput: the JAX runner vs looping the NumPy reference in Python.

    python benchmarks/sweep_throughput.py [--seeds 256] [--T 1024] [--d 10000] [--layers 10]
                                          [--numpy-runs 2] [--out results/benchmarks/sweep.json]

Both do the same work per run and step: the exact gradient of a separable cosine objective,
a Gaussian minibatch mean drawn exactly (N(0, σ̃²/b), b = T), one LAMB step (β1 = β2 = ε = 0,
φ = clip(·, 0.5, 2): Theorem 3's β2 = 0 setting) and the measures the theorems need
(‖∇f‖², per-layer norms, ‖∇f‖_1, f). The JAX side is ``experiments.runner.simulate`` (jit +
lax.scan, vmapped over seeds); the NumPy side is ``lamb_ref.reference.lamb`` in a Python loop
over seeds and steps. Throughput is runs × steps per second; the NumPy loop runs fewer seeds
(its cost is linear in them) and the ratio is of throughputs. The JAX time includes neither
compilation (reported separately) nor the host transfer of the inputs.
"""

from __future__ import annotations

import argparse
import json
import math
import platform
import sys
import time
from pathlib import Path

import jax
import numpy as np

# Run as a script from anywhere: the project root on the path (no install needed).
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from experiments.cache import atomic_write_text
from experiments.optimizers import for_theorem
from experiments.runner import simulate
from experiments.spec import InstanceSpec, build
from lamb_ref import reference as R


def _spec(d: int, layers: int) -> InstanceSpec:
    if d % layers:
        raise SystemExit(f"--d={d} must be a multiple of --layers={layers}")
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


def jax_throughput(built, T: int, seeds: int, eta: float) -> dict:
    opt = for_theorem("lamb_beta2_zero", built.spec.phi, built.spec.beta2)
    start = time.perf_counter()
    simulate(built, opt, T, T, [eta], seeds, jax.random.key(0))  # compile + first run
    first = time.perf_counter() - start
    times = []
    for rep in range(2):
        start = time.perf_counter()
        res = simulate(built, opt, T, T, [eta], seeds, jax.random.key(rep + 1))
        times.append(time.perf_counter() - start)
    assert np.all(np.isfinite(res.mean["grad_sq"]))
    best = float(np.median(times))
    return {"seconds": best, "first_call_seconds": first, "run_steps_per_s": seeds * T / best}


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
        opt = R.lamb(eta, 0.0, 0.0, 0.0, 0.0, phi=phi)
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
            x = R.apply_updates(x, upd)
        assert np.all(np.isfinite(acc))
    seconds = time.perf_counter() - start
    return {"seconds": seconds, "runs": runs, "run_steps_per_s": runs * T / seconds}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--seeds", type=int, default=256)
    p.add_argument("--T", type=int, default=1024)
    p.add_argument("--d", type=int, default=10_000)
    p.add_argument("--layers", type=int, default=10)
    p.add_argument("--numpy-runs", type=int, default=2)
    p.add_argument("--out", default="results/benchmarks/sweep_throughput.json")
    args = p.parse_args(argv)
    built = build(_spec(args.d, args.layers))
    eta = 0.01
    print(f"d={args.d} in {args.layers} layers, T={args.T}, {args.seeds} seeds (JAX) ...")
    jx = jax_throughput(built, args.T, args.seeds, eta)
    print(f"  JAX runner : {jx['run_steps_per_s']:12.0f} run-steps/s ({jx['seconds']:.2f} s)")
    npy = numpy_throughput(built, args.T, args.numpy_runs, eta)
    print(f"  NumPy loop : {npy['run_steps_per_s']:12.0f} run-steps/s ({npy['seconds']:.2f} s)")
    speedup = jx["run_steps_per_s"] / npy["run_steps_per_s"]
    print(f"  speed-up   : {speedup:.1f}x (target >= 100x)")
    record = {
        "benchmark": "sweep_throughput",
        "d": args.d,
        "layers": args.layers,
        "T": args.T,
        "seeds": args.seeds,
        "jax": jx,
        "numpy": npy,
        "speedup": speedup,
        "target": 100.0,
        "meets_target": bool(speedup >= 100.0),
        "machine": {
            "cpu_count": __import__("os").cpu_count(),
            "platform": platform.platform(),
            "jax": jax.__version__,
            "device": str(jax.devices()[0]),
        },
        "command": "python benchmarks/sweep_throughput.py "
        + " ".join(f"--{k.replace('_', '-')} {v}" for k, v in vars(args).items() if k != "out"),
    }
    atomic_write_text(Path(args.out), json.dumps(record, indent=2))
    print(f"wrote {args.out}")
    return 0 if math.isfinite(speedup) else 1


if __name__ == "__main__":
    raise SystemExit(main())
