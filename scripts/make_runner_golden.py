"""Write the validation runner's regression fixture, tests/data/runner_golden.json.

Every objective family, noise kind and analysed optimizer on small instances, several (T, b)
settings per call, the per-seed means over t = 1..T, the final values and one traced run, in
float64. tests/test_runner_golden.py checks the runner against it (tolerance
``RUNNER_GOLDEN_REL`` in tests/tolerances.py). The fixture in the repository was written by the
runner whose instance constants were closure constants (commit d9156ea), before they became
traced arguments, so the test pins the refactor's results to that runner's.

    python scripts/make_runner_golden.py tests/data/runner_golden.json
"""

from __future__ import annotations

import json
import sys

import jax
import numpy as np

from experiments.validation.optimizers import OptimizerSpec, baseline, for_theorem
from experiments.validation.runner import simulate_many
from experiments.validation.spec import InstanceSpec, build

BASE = {"layer_sizes": [3, 2], "L": [1.0, 4.0], "x1_scale": 1.5, "seed": 3, "phi": [0.5, 2.0]}
INSTANCES = {
    "cos-gauss": {"family": "separable_cosine", "sigma": [0.3, 0.7], "noise": "gaussian"},
    "cos-none": {"family": "separable_cosine", "noise": "none"},
    "gm-rad": {"family": "separable_geman_mcclure", "sigma": [0.5, 0.2], "noise": "rademacher"},
    "chain-rad": {
        "family": "chain_cosine",
        "layer_sizes": [2, 2, 2],
        "L": [1.0, 2.0, 5.0],
        "sigma": [0.2, 0.4, 0.1],
        "noise": "rademacher",
        "options": {"coupling": 0.7},
    },
    "coupled-fs": {
        "family": "coupled_cosine",
        "sigma_coord": [0.1, 0.2, 0.3, 0.4, 0.5],
        "noise": "finite_sum",
        "n_samples": 64,
        "options": {"m": 3},
    },
    "nqm-gauss": {
        "family": "noisy_quadratic",
        "sigma": [0.5, 0.5],
        "noise": "gaussian",
        "options": {"condition": 10.0},
        "x1": [[1.0, -2.0, 0.5], [3.0, 0.25]],
        "x1_scale": None,
    },
    "ts-gauss": {
        "family": "teacher_student_tanh",
        "layer_sizes": [6, 2],
        "L": None,
        "sigma": [0.1, 0.1],
        "noise": "gaussian",
        "options": {"inputs": 3, "hidden": 2, "n_samples": 16},
    },
}
OPTIMIZERS = {
    "sgd": lambda s: for_theorem("sgd", s.phi, s.beta2),
    "lars": lambda s: for_theorem("lars", s.phi, s.beta2),
    "lamb0": lambda s: for_theorem("lamb_beta2_zero", s.phi, s.beta2),
    "lamb9": lambda s: OptimizerSpec(
        "lamb", (("b1", 0.0), ("b2", 0.9), ("eps", 0.0), ("phi", tuple(s.phi)))
    ),
    "momentum": lambda s: baseline("momentum"),
    "adam": lambda s: baseline("adam"),
}
# (Ts, batch sizes, etas per T): b above and below the popcount/BTRS switch at 32
SETTINGS = ([3, 40], [2, 40], [[0.05, 0.2], [0.01, 0.1]])
SEEDS = 3


def _lists(tree):
    return {k: np.asarray(v).tolist() for k, v in tree.items()}


def cases():
    for name, fields in INSTANCES.items():
        data = {k: v for k, v in {**BASE, **fields}.items() if v is not None}
        spec = InstanceSpec.from_dict({**data, "name": name})
        for opt_name, make in OPTIMIZERS.items():
            yield name, data, opt_name, spec, make(spec)


def main(path: str) -> None:
    out = []
    with jax.enable_x64(True):
        for name, data, opt_name, spec, opt in cases():
            built = build(spec)
            Ts, bs, etas = SETTINGS
            if spec.noise == "finite_sum":
                bs = [2, 40]  # <= n_samples = 64
            keys = [jax.random.key(11), jax.random.key(12)]
            res = simulate_many(built, opt, Ts, bs, etas, SEEDS, keys)
            for r in res:
                out.append(
                    {
                        "instance": data,
                        "name": name,
                        "optimizer": opt_name,
                        "T": r.T,
                        "batch_size": r.batch_size,
                        "etas": r.etas.tolist(),
                        "keys": [11, 12],
                        "mean": _lists(r.mean),
                        "final_f": r.final_f.tolist(),
                        "final_grad_sq": r.final_grad_sq.tolist(),
                    }
                )
        spec = InstanceSpec.from_dict({**BASE, **INSTANCES["chain-rad"], "name": "trace"})
        opt = OPTIMIZERS["lamb9"](spec)
        r = simulate_many(build(spec), opt, [12], [12], [[0.1]], SEEDS, [jax.random.key(5)], 4)[0]
        trace = {
            "instance": {k: v for k, v in {**BASE, **INSTANCES["chain-rad"]}.items()},
            "name": "trace",
            "optimizer": "lamb9",
            "T": 12,
            "trace_every": 4,
            "mean": _lists(r.mean),
            "trace": _lists(r.trace),
            "trace_t": r.trace_t.tolist(),
        }
    with open(path, "w") as fh:
        json.dump({"settings": SETTINGS, "seeds": SEEDS, "runs": out, "traced": trace}, fh)


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "tests/data/runner_golden.json")
