"""Replay the public golden trajectories and print the variant × library agreement table.

``python -m lamb_ref.conformance [--csv PATH]``

The golden file (``lamb_ref/data/golden_public.json``) holds 23 trajectories produced by running
optax 0.2.8, TF-Addons 0.23.0, timm 1.0.31, torch-optimizer 0.3.0 and Keras 3.15.1 in float64 on
a toy problem (g = p − target, 3 steps). Each case names a toolkit variant and hyperparameters;
this module replays it with both backends and reports the largest absolute difference.

It drives both backends, so it is not part of the JAX package: it imports the NumPy reference
(inside :func:`_replay`), and no module of the JAX package imports it
(``tests/test_lamb_ref_structure.py``).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from importlib import resources
from typing import Any

import numpy as np

GOLDEN_TOLERANCE = 1e-12  # see tests/tolerances.py for the justification


def load_golden() -> dict[str, Any]:
    """The golden file as a dict (``problem`` and ``cases``)."""
    text = resources.files("lamb_ref").joinpath("data/golden_public.json").read_text()
    return json.loads(text)


def replay(case: dict[str, Any], problem: dict[str, Any], backend: str) -> list[dict]:
    """Parameters after each step when ``case`` is replayed with ``backend`` ("numpy"/"jax").

    The golden trajectories are float64, so the JAX replay runs with JAX's 64-bit types on for
    this call only (``jax.enable_x64``; the caller's setting is restored on return).
    """
    if backend == "jax":
        import jax

        with jax.enable_x64(True):
            return _replay(case, problem, backend)
    if backend == "numpy":
        return _replay(case, problem, backend)
    raise ValueError(f"backend={backend!r} is invalid: expected 'numpy' or 'jax'")


def _replay(case: dict[str, Any], problem: dict[str, Any], backend: str) -> list[dict]:
    init = problem["init"] if case["init"] == "default" else problem["init_zero_bias"]
    target = {k: np.asarray(v, dtype=np.float64) for k, v in problem["target"].items()}
    params: dict[str, Any] = {k: np.asarray(v, dtype=np.float64) for k, v in init.items()}
    if backend == "jax":
        import jax.numpy as jnp

        from lamb_ref import apply_updates, variants

        params = {k: jnp.asarray(v) for k, v in params.items()}
    else:
        from lamb_ref.reference import apply_updates, variants
    c, k = problem["gradient_params"]["c"], problem["gradient_params"]["k"]
    tx = variants.make(case["variant"], **case["hyperparameters"])
    state = tx.init(params)
    out = []
    for _ in range(problem["steps"]):
        grads = {n: (p - target[n]) + c * np.sin(k * np.asarray(p)) for n, p in params.items()}
        if backend == "jax":
            grads = {n: jnp.asarray(g) for n, g in grads.items()}
        updates, state = tx.update(grads, state, params)
        params = apply_updates(params, updates)
        out.append({n: np.asarray(p) for n, p in params.items()})
    return out


def case_error(case: dict[str, Any], problem: dict[str, Any], backend: str) -> float:
    """Max abs difference between the replay and the library's trajectory, over all steps."""
    ours = replay(case, problem, backend)
    worst = 0.0
    for mine, theirs in zip(ours, case["trajectory"], strict=True):
        for name, value in theirs.items():
            worst = max(worst, float(np.max(np.abs(mine[name] - np.asarray(value)))))
    return worst


def table() -> list[dict[str, Any]]:
    """One row per golden case: id, variant, library, both backends' errors, verdict."""
    golden = load_golden()
    rows = []
    for case in golden["cases"]:
        errs = {b: case_error(case, golden["problem"], b) for b in ("numpy", "jax")}
        rows.append(
            {
                "case": case["id"],
                "variant": case["variant"],
                "library": case["library"],
                "init": case["init"],
                "max_abs_diff_numpy": errs["numpy"],
                "max_abs_diff_jax": errs["jax"],
                "agrees": max(errs.values()) <= GOLDEN_TOLERANCE,
            }
        )
    return rows


def format_table(rows: list[dict[str, Any]]) -> str:
    head = f"{'case':32} {'variant':24} {'library':26} {'numpy':>9} {'jax':>9}  ok"
    lines = [head, "-" * len(head)]
    for r in rows:
        lines.append(
            f"{r['case']:32} {r['variant']:24} {r['library']:26} "
            f"{r['max_abs_diff_numpy']:9.1e} {r['max_abs_diff_jax']:9.1e}  "
            f"{'yes' if r['agrees'] else 'NO'}"
        )
    n_ok = sum(r["agrees"] for r in rows)
    lines.append(
        f"{n_ok}/{len(rows)} golden cases agree within {GOLDEN_TOLERANCE:g} "
        "(max abs difference over all steps and tensors)"
    )
    return "\n".join(lines)


def format_matrix(rows: list[dict[str, Any]]) -> str:
    """Variant × library: the worst difference over that pair's cases and both backends."""
    libraries = sorted({r["library"].split("==")[0] for r in rows})
    variants = list(dict.fromkeys(r["variant"] for r in rows))
    width = max(len(lib) for lib in libraries) + 2
    lines = [f"{'variant':24}" + "".join(f"{lib:>{width}}" for lib in libraries)]
    for v in variants:
        cells = []
        for lib in libraries:
            errs = [
                max(r["max_abs_diff_numpy"], r["max_abs_diff_jax"])
                for r in rows
                if r["variant"] == v and r["library"].split("==")[0] == lib
            ]
            cells.append(f"{max(errs):{width}.1e}" if errs else f"{'-':>{width}}")
        lines.append(f"{v:24}" + "".join(cells))
    return "\n".join(lines)


def write_csv(rows: list[dict[str, Any]], path: str) -> None:
    """Write the table atomically (a temporary file renamed into place)."""
    import pandas as pd

    directory = os.path.dirname(os.path.abspath(path))
    os.makedirs(directory, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=directory, suffix=".tmp")
    os.close(fd)
    pd.DataFrame(rows).to_csv(tmp, index=False)
    os.replace(tmp, path)


def main(argv: list[str] | None = None) -> int:
    prog = "python -m lamb_ref.conformance"

    def fail(message: str):  # one line on stderr, exit 2 (no traceback, no usage block)
        print(f"{prog}: error: {' '.join(message.split())}", file=sys.stderr, flush=True)
        raise SystemExit(2)

    class Parser(argparse.ArgumentParser):
        def error(self, message: str):
            fail(f"{message} (see {prog} --help)")

    parser = Parser(prog=prog, description=__doc__.splitlines()[0])
    parser.add_argument("--csv", help="also write the table to this CSV file")
    args = parser.parse_args(argv)
    if args.csv is not None:  # checked before the (minutes-long) comparison runs
        value = args.csv
        try:
            if not value.strip():
                fail(f"--csv={value!r} is invalid: expected a file path")
            path = os.path.abspath(os.path.expanduser(value))
            if os.path.isdir(path) or value.endswith(os.sep):
                fail(f"--csv={value!r} is invalid: it is a folder, expected a file path")
            directory = os.path.dirname(path)
            os.makedirs(directory, exist_ok=True)
            fd, probe = tempfile.mkstemp(dir=directory, suffix=".tmp")
            os.close(fd)
            os.remove(probe)
        except (OSError, ValueError) as err:
            fail(f"--csv={value!r} cannot be written: {err}")
    rows = table()
    print(format_table(rows))
    print()
    print("Variant x library (worst max abs difference over cases and both backends):")
    print(format_matrix(rows))
    if args.csv:
        write_csv(rows, args.csv)
    return 0 if all(r["agrees"] for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
