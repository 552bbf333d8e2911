"""Run by tests/test_distributed_mesh.py with 8 forced host CPU devices; writes JSON metrics.

Usage: python -m tests.distributed_scripts.mesh_check OUT.json

For LAMB and LARS: 10 steps on (i) a 1-device mesh, (ii) 8 devices with the batch split,
(iii) 8 devices with ``layer_1/kernel`` also split by columns; the max |difference| of the
parameter trajectories from (i). The negative control runs (iii) with the optimizer's update
inside ``shard_map`` (each device sees only its block of the split kernel, so its "layer" norms
are per shard): that trajectory must differ, which shows the comparison can fail. Also: the
runner's seeds axis split over 8 devices against the unsplit runner.
"""

from __future__ import annotations

import json
import sys
import time

import jax
import jax.numpy as jnp
import numpy as np
import optax

from experiments import distributed
from tests.distributed_scripts import model


def per_shard(tx: optax.GradientTransformation, mesh, specs) -> optax.GradientTransformation:
    """``tx`` with its update run per shard: what a layer norm without the all-reduce gives."""

    def update(grads, state, params):
        sspecs = distributed.state_specs(state, params, specs)
        f = jax.shard_map(
            tx.update,
            mesh=mesh,
            in_specs=(specs, sspecs, specs),
            out_specs=(specs, sspecs),
            check_vma=False,
        )
        return f(grads, state, params)

    return optax.GradientTransformation(tx.init, update)


def leaf(tree: dict, name: str):
    a, b = name.split("/")
    return tree[a][b]


def runner_inputs():
    """A small validation instance, LAMB (β2 > 0) and a key, for the runner's seeds split."""
    from experiments.validation.optimizers import for_theorem
    from experiments.validation.spec import InstanceSpec, build

    spec = InstanceSpec(
        family="separable_cosine",
        layer_sizes=(3, 3),
        L=(1.0, 4.0),
        sigma=(0.3, 0.6),
        noise="rademacher",
        x1_scale=1.5,
        seed=3,
        phi=(0.5, 2.0),
        beta2=0.9,
    )
    opt = for_theorem("lamb_beta2_pos", spec.phi, spec.beta2)
    return build(spec), opt, jax.random.key(0)


def runner_check(mesh) -> dict:
    from experiments.validation.runner import simulate

    built, opt, key = runner_inputs()
    one = simulate(built, opt, 12, 4, [0.05, 0.1], 8, key)
    split = simulate(built, opt, 12, 4, [0.05, 0.1], 8, key, mesh=mesh)
    diff = max(float(np.max(np.abs(one.mean[k] - split.mean[k]))) for k in one.mean)
    diff = max(diff, float(np.max(np.abs(one.final_f - split.final_f))))
    keys = jax.vmap(lambda s: jax.random.fold_in(key, s))(jnp.arange(8))[None]
    placed = distributed.shard_runs((keys,), mesh, in_axes=(1,))[0]
    return {
        "runner_max_abs_diff": diff,
        "runner_seed_spec": str(placed.sharding.spec),
        "runner_seed_shards": sorted({tuple(s.data.shape) for s in placed.addressable_shards}),
        "runner_spread": float(np.max(one.final_f) - np.min(one.final_f)),
    }


def main(out: str) -> None:
    t0 = time.perf_counter()
    assert jax.device_count() == 8, jax.devices()
    assert jnp.zeros(()).dtype == jnp.float64
    one, eight = distributed.make_mesh(1), distributed.make_mesh()
    result: dict = {"devices": jax.device_count()}
    for name, make in model.OPTIMIZERS.items():
        ref, _, _ = model.train(make(), one, model.specs(split=False))
        batch, _, _ = model.train(make(), eight, model.specs(split=False))
        specs = model.specs(split=True)
        split, _, placed = model.train(make(), eight, specs)
        wrong, _, _ = model.train(per_shard(make(), eight, specs), eight, specs)
        kernel = leaf(placed, model.SPLIT)
        _, state = distributed.sharded_train_step(model.loss_fn, make(), eight, specs).init(
            model.init_params()
        )
        state_specs = [str(a.sharding.spec) for a in jax.tree.leaves(state) if a.shape == (16, 8)]
        result[name] = {
            "state_split_specs": state_specs,
            "batch_max_abs_diff": float(np.max(np.abs(batch - ref))),
            "split_max_abs_diff": float(np.max(np.abs(split - ref))),
            "per_shard_max_abs_diff": float(np.max(np.abs(wrong - ref))),
            "movement": float(np.max(np.abs(ref[-1] - ref[0]))),
            "split_spec": str(kernel.sharding.spec),
            "split_shape": list(kernel.shape),
            "split_shards": sorted({tuple(s.data.shape) for s in kernel.addressable_shards}),
            "split_devices": len({s.device for s in kernel.addressable_shards}),
        }
    # The norm itself: jnp.sum over the split kernel under jit is global, per shard it is not.
    kernel = distributed.place(model.init_params(), eight, model.specs(split=True))
    kernel = leaf(kernel, model.SPLIT)
    norm = jax.jit(lambda x: jnp.sqrt(jnp.sum(x * x)))(kernel)
    shard_norms = jax.shard_map(
        lambda x: jnp.sqrt(jnp.sum(x * x))[None],
        mesh=eight,
        in_specs=model.SPLIT_SPEC,
        out_specs=jax.sharding.PartitionSpec("data"),
    )(kernel)
    exact = float(np.linalg.norm(leaf(model.init_params(), model.SPLIT)))
    result["norm_rel_err"] = abs(float(norm) - exact) / exact
    result["per_shard_norm_max_rel_err"] = float(np.max(np.abs(np.asarray(shard_norms) - exact)))
    result["per_shard_norm_max_rel_err"] /= exact
    result |= runner_check(eight)
    result["seconds"] = time.perf_counter() - t0
    with open(out, "w") as f:
        json.dump(result, f, indent=1)


if __name__ == "__main__":
    main(sys.argv[1])
