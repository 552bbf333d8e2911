"""Run in a fresh interpreter with 8 host devices: the training loop's runs axis split over an
8-device mesh gives the same runs as one device. Writes a JSON summary to argv[1]."""

from __future__ import annotations

import dataclasses
import json
import sys

import jax
import numpy as np

from experiments import distributed
from experiments.training import TrainConfig, train_many
from experiments.training.loop import _fit_mesh


def main(out: str) -> None:
    # 2 learning rates x 4 seeds: one group of 8 runs (they differ only in traced fields)
    configs = [
        TrainConfig(
            task="digits",
            model="mlp",
            optimizer="lamb",
            learning_rate=lr,
            batch_size=64,
            epochs=1.0,
            seed=seed,
            n_evals=3,
            log_trust_ratios=1,
            hyper={"weight_decay": 0.01},
        )
        for lr in (0.02, 0.05)
        for seed in range(4)
    ]
    plain = train_many(configs)
    mesh = distributed.make_mesh()
    sharded = train_many(configs, mesh=mesh)
    diffs = [
        max(
            float(np.max(np.abs(np.asarray(a) - np.asarray(b))))
            for a, b in zip(jax.tree.leaves(p.params), jax.tree.leaves(q.params), strict=True)
        )
        for p, q in zip(plain, sharded, strict=True)
    ]
    hist = max(
        float(
            np.nanmax(np.abs(p.history["eval_loss"].to_numpy() - q.history["eval_loss"].to_numpy()))
        )
        for p, q in zip(plain, sharded, strict=True)
    )
    spread = float(np.std([r.final["final_eval_loss"] for r in plain]))
    # groups of 3 (gcd with 8: one device) and 12 (split over 4 devices) give the same runs
    three = [dataclasses.replace(c, seed=c.seed + 10) for c in configs[:3]]
    twelve = configs + [dataclasses.replace(c, seed=c.seed + 20) for c in configs[:4]]
    odd_diff = max(
        max(
            float(np.max(np.abs(np.asarray(a) - np.asarray(b))))
            for a, b in zip(jax.tree.leaves(p.params), jax.tree.leaves(q.params), strict=True)
        )
        for group in (three, twelve)
        for p, q in zip(train_many(group), train_many(group, mesh=mesh), strict=True)
    )
    fitted = [0 if m is None else m.size for m in (_fit_mesh(mesh, 3), _fit_mesh(mesh, 12))]
    with open(out, "w") as fh:
        json.dump(
            {
                "devices": mesh.size,
                "param_max_abs_diff": max(diffs),
                "eval_loss_max_abs_diff": hist,
                "final_loss_spread": spread,
                "odd_group_max_abs_diff": odd_diff,
                "fitted_devices": fitted,
            },
            fh,
        )


if __name__ == "__main__":
    main(sys.argv[1])
