"""LAMB vs the memory floor round by round, split by the speed the floor pass ran at.

    python benchmarks/floor_states.py [--rounds 40] [--out results/benchmarks/floor_states.json]

This machine switches every few seconds between states in which the same donated pass runs at
very different speeds, and the ratios of ``optimizer_step.py`` depend on which state its rounds
land in. Each round here times one floor pass (×10/4: LAMB's 10 arrays), one NumPy LAMB step
(``lamb_ref.numpy_inplace``) and one jitted, donated JAX LAMB step on the BERT-base tree, with a
0.2 s pause before each; rounds are then split at the midpoint between the fastest and slowest
floor when the slowest is over 1.25x the fastest (otherwise all rounds form one group, "all"),
and each group's median ratios printed.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

import jax
import jax.numpy as jnp

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import optimizer_step

from experiments.cache import atomic_write_text

# Rounds are split into two states when the slowest floor pass is this much slower than the
# fastest (the two states seen here differ by 1.5x; rounds within one state by up to 15%).
BIMODAL = 1.25


def _timed(fn) -> float:
    time.sleep(0.2)
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def measure(rounds: int, tree: str = "bert_base") -> dict:
    shapes = optimizer_step.TREES[tree]()
    params, grads = (
        optimizer_step.random_tree(shapes, 0, 0.02),
        optimizer_step.random_tree(shapes, 1, 1e-3),
    )
    grads_j = jax.tree.map(jnp.asarray, grads)
    floor = optimizer_step.FloorPass(params, grads_j, jnp.float32)
    numpy_step = optimizer_step.NumpyStep("lamb", params, grads)
    jax_step = optimizer_step.JaxStep(optimizer_step.ours("lamb"), params, grads_j, jnp.float32)
    for _ in range(2):  # compile, page in
        floor(), numpy_step(), jax_step()
    arrays = optimizer_step.floor_arrays("lamb")
    rows = []
    for _ in range(rounds):
        time.sleep(0.2)
        f = floor() * arrays / 4
        rows.append({"floor_s": f, "numpy_s": _timed(numpy_step), "jax_s": _timed(jax_step)})
    lo, hi = min(r["floor_s"] for r in rows), max(r["floor_s"] for r in rows)
    cut = (lo + hi) / 2 if hi > BIMODAL * lo else None
    if cut is None:
        split = {"all": rows}
    else:
        split = {
            "fast_memory": [r for r in rows if r["floor_s"] < cut],
            "slow_memory": [r for r in rows if r["floor_s"] >= cut],
        }
    groups = {}
    for name, rs in split.items():
        med = lambda k, rs=rs: statistics.median(k(r) for r in rs)  # noqa: E731
        groups[name] = {
            "rounds": len(rs),
            "floor_s": med(lambda r: r["floor_s"]),
            "jax_s": med(lambda r: r["jax_s"]),
            "numpy_s": med(lambda r: r["numpy_s"]),
            "jax_over_floor": med(lambda r: r["jax_s"] / r["floor_s"]),
            "numpy_over_floor": med(lambda r: r["numpy_s"] / r["floor_s"]),
        }
    return {"tree": tree, "rounds": rows, "split_at_floor_s": cut, "groups": groups}


def main(argv: list[str] | None = None) -> dict:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--rounds", type=int, default=40)
    p.add_argument("--tree", default="bert_base", choices=sorted(optimizer_step.TREES))
    p.add_argument("--out", type=Path, default=Path("results/benchmarks/floor_states.json"))
    args = p.parse_args(argv)
    if args.rounds < 2:
        raise SystemExit(f"--rounds={args.rounds} is invalid: expected an integer >= 2")
    res = measure(args.rounds, args.tree)
    cols = ("state", "rounds", "floor (s)", "JAX LAMB (s)", "JAX/floor", "NumPy (s)", "NumPy/floor")
    print("| " + " | ".join(cols) + " |")
    print("|---|---|---|---|---|---|---|")
    for name, g in res["groups"].items():
        print(
            f"| {name} | {g['rounds']} | {g['floor_s']:.4f} | {g['jax_s']:.4f} | "
            f"{g['jax_over_floor']:.2f} | {g['numpy_s']:.4f} | {g['numpy_over_floor']:.2f} |"
        )
    atomic_write_text(args.out, json.dumps(res, indent=2))
    print(f"wrote {args.out}")
    return res


if __name__ == "__main__":
    main()
