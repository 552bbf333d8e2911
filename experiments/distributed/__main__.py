"""``python -m experiments.distributed``: check a multi-device / multi-process setup end to end.

Joins the job (the distributed flags or ``LAMB_*`` variables; nothing set = one process), builds
a mesh over every global device, and trains a small MLP on deterministic synthetic data with
``lamb_ref.lamb``, the global batch split over the devices (``--split-layer`` also splits the
hidden kernel's columns). Process 0 prints the devices and the loss per step. Every process
ends by checking that the split layer's norm under ``jit`` equals its gathered NumPy norm.
"""

from __future__ import annotations

import time

import jax
import jax.numpy as jnp
import numpy as np
from jax.sharding import PartitionSpec as P

import lamb_ref
from experiments import cli_errors, distributed


def _loss(params, batch):
    x, y = batch
    h = jnp.tanh(x @ params["hidden"]["kernel"] + params["hidden"]["bias"])
    return jnp.mean((h @ params["out"]["kernel"] - y) ** 2)


def main(argv: list[str] | None = None) -> int:
    parser = cli_errors.ArgumentParser(
        prog="python -m experiments.distributed", description=__doc__
    )
    parser.add_argument("--steps", type=int, default=10, help="training steps (default 10)")
    parser.add_argument("--per-device-batch", type=int, default=8, help="examples per device")
    parser.add_argument("--split-layer", action="store_true", help="split hidden/kernel too")
    args = distributed.add_distributed_args(parser).parse_args(argv)
    for name in ("steps", "per_device_batch"):
        if getattr(args, name) < 1:
            flag = f"--{name.replace('_', '-')}={getattr(args, name)}"
            parser.error(f"{flag} is invalid: expected an integer >= 1")
    try:
        joined = distributed.initialize_from_args(args)  # before any JAX computation
    except ValueError as err:
        parser.error(str(err))
    mesh = distributed.make_mesh()
    n, lead = jax.device_count(), jax.process_index() == 0
    if lead:
        print(
            f"{jax.process_count()} process(es), {n} device(s) ({jax.devices()[0].platform}), "
            f"{jax.local_device_count()} local; jax.distributed: {joined}"
        )
    rng = np.random.default_rng(0)
    width, batch = 8 * n, args.per_device_batch * n
    params = {
        "hidden": {"kernel": rng.normal(size=(16, width)) / 4, "bias": np.zeros(width)},
        "out": {"kernel": rng.normal(size=(width, 1)) / np.sqrt(width)},
    }
    x = rng.normal(size=(batch, 16))
    y = np.sin(x.sum(axis=1, keepdims=True))
    rules = {"hidden/kernel": P(None, "data")} if args.split_layer else None
    specs = distributed.param_specs(params, rules)
    step = distributed.sharded_train_step(
        _loss, lamb_ref.lamb(1e-2, weight_decay=1e-2), mesh, specs
    )
    params, state = step.init(params)
    data = step.place_batch((x, y))
    t0 = time.perf_counter()
    for t in range(args.steps):
        params, state, loss = step(params, state, data)
        if lead:
            print(f"step {t + 1}/{args.steps}: loss {float(loss):.6g}")
    jax.block_until_ready(params)
    kernel = params["hidden"]["kernel"]
    norm = float(jax.jit(lambda k: jnp.sqrt(jnp.sum(k * k)))(kernel))
    exact = float(np.linalg.norm(distributed.gather(kernel)))
    if abs(norm - exact) > 1e-6 * exact:
        raise SystemExit(f"layer norm under jit {norm} != gathered norm {exact}")
    if lead:
        print(
            f"hidden/kernel {kernel.sharding.spec}, local shards "
            f"{[s.data.shape for s in kernel.addressable_shards]}; norm check ok; "
            f"{args.steps} steps in {time.perf_counter() - t0:.2f} s"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
