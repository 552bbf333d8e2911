"""The runner: T optimizer steps under ``jit`` + ``lax.scan``, vmapped over seeds and step sizes.

At each t = 1, …, T it evaluates, at the iterate x_t *before* the t-th update, what the theorems'
left-hand sides need: ‖∇f(x_t)‖², (1/√h)Σ_i‖∇_i f(x_t)‖, (1/√d)‖∇f(x_t)‖_1, f(x_t) and the
per-layer norms ‖∇_i f(x_t)‖, from the exact gradient. Then it draws the minibatch noise ξ̄_t
(mean of b samples, drawn exactly), steps with g_t = ∇f(x_t) + ξ̄_t, and records the per-layer
trust ratio the step used. The averages over t are the exact expectations over the theorems'
output x_a with a uniform on {1, …, T} (x_1 included, x_{T+1} not), per noise realisation.

It also accumulates, per layer, the normalisation-bias lemma's two sides
‖∇_i f‖·‖g^(i)/‖g^(i)‖ − ∇_i f/‖∇_i f‖‖ and 2‖g^(i) − ∇_i f‖ (Theorem 2's proof [D]).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
import optax

from experiments.precision import with_x64
from experiments.validation.optimizers import OptimizerSpec
from experiments.validation.spec import Built

# Per-run scalars averaged over t = 1..T (the uniform x_a), in this order.
SCALARS = ("grad_sq", "layer_sum_norm", "l1_over_sqrt_d", "f")
# Per-run, per-layer quantities averaged over t.
LAYERED = ("layer_norm", "trust_ratio", "nb_lhs", "nb_rhs")


@dataclass(frozen=True)
class RunResult:
    """Arrays of shape (n_eta, n_seeds[, h]) (means over t = 1..T) plus optional traces.

    ``mean[name]`` for ``SCALARS`` and ``LAYERED``; ``final_f`` and ``final_grad_sq`` at x_{T+1};
    ``trace_t`` (K,) the steps traced and ``trace[name]`` (n_eta, n_seeds, K[, h]) for
    ``grad_sq``, ``f`` and ``trust_ratio`` when ``trace_every`` was given.
    """

    etas: np.ndarray
    n_seeds: int
    T: int
    batch_size: int
    mean: dict[str, np.ndarray]
    final_f: np.ndarray
    final_grad_sq: np.ndarray
    trace_t: np.ndarray | None = None
    trace: dict[str, np.ndarray] | None = None


def _measures(objective, x: dict[str, jax.Array]) -> tuple[dict[str, jax.Array], Any]:
    grad = objective.grad(x)
    gs = [grad[k] for k in sorted(grad)]
    norms = jnp.stack([jnp.sqrt(jnp.sum(g * g)) for g in gs])
    l1 = sum(jnp.sum(jnp.abs(g)) for g in gs)
    out = {
        "grad_sq": jnp.sum(norms * norms),
        "layer_sum_norm": jnp.sum(norms) / math.sqrt(objective.h),
        "l1_over_sqrt_d": l1 / math.sqrt(objective.d),
        "f": objective.value(x),
        "layer_norm": norms,
    }
    return out, grad


def _normalisation_bias(grad, g) -> tuple[jax.Array, jax.Array]:
    lhs, rhs = [], []
    for k in sorted(grad):
        a, b = grad[k], g[k]
        na, nb = jnp.sqrt(jnp.sum(a * a)), jnp.sqrt(jnp.sum(b * b))
        ok = (na > 0) & (nb > 0)
        diff = b / jnp.where(ok, nb, 1) - a / jnp.where(ok, na, 1)
        lhs.append(jnp.where(ok, na * jnp.sqrt(jnp.sum(diff * diff)), 0.0))
        rhs.append(2 * jnp.sqrt(jnp.sum((b - a) ** 2)))
    return jnp.stack(lhs), jnp.stack(rhs)


def _core(built: Built, opt: OptimizerSpec, length: int, trace_every):
    """The jitted runner: ``length`` scan steps, of which run r takes its own T_r ≤ length
    (later steps leave the carry unchanged), vmapped over (T, b) pairs, step sizes and seeds."""
    objective, noise = built.objective, built.noise
    tx_of = opt.factory()
    h = objective.h

    def run(noise_state, key, eta, T, b):
        tx = tx_of(eta)
        x1 = built.x1

        def step(carry, inp):
            t, key_t = inp
            x, state, sums = carry
            m, grad = _measures(objective, x)
            xi = noise.minibatch_mean(key_t, noise_state, b)
            g = {k: grad[k] + xi[k] for k in grad}
            updates, new_state = tx.update(g, state, x)
            ratios = opt.trust_ratios(new_state, x)
            nb_lhs, nb_rhs = _normalisation_bias(grad, g)
            m = {**m, "trust_ratio": ratios, "nb_lhs": nb_lhs, "nb_rhs": nb_rhs}
            active = t < T  # steps past this run's T leave everything unchanged
            keep = lambda new, old: jax.tree.map(  # noqa: E731
                lambda a, c: jnp.where(active, a, c), new, old
            )
            new = (optax.apply_updates(x, updates), new_state, {k: sums[k] + m[k] for k in sums})
            out = {"grad_sq": m["grad_sq"], "f": m["f"], "trust_ratio": ratios}
            return keep(new, carry), out

        sums0 = {k: jnp.zeros(()) for k in SCALARS} | {k: jnp.zeros((h,)) for k in LAYERED}
        inputs = (jnp.arange(length), jax.random.split(key, length))
        carry = (x1, tx.init(x1), sums0)
        if trace_every is None:
            (x, _, sums), _ = jax.lax.scan(lambda c, i: (step(c, i)[0], None), carry, inputs)
            trace = None
        else:
            blocks = jax.tree.map(
                lambda a: a.reshape(length // trace_every, trace_every, *a.shape[1:]), inputs
            )

            def block(c, ins):
                c, first = step(c, jax.tree.map(lambda a: a[0], ins))
                rest = jax.tree.map(lambda a: a[1:], ins)
                c, _ = jax.lax.scan(lambda c2, i: (step(c2, i)[0], None), c, rest)
                return c, first

            (x, _, sums), trace = jax.lax.scan(block, carry, blocks)
        mean = {k: v / T for k, v in sums.items()}
        last, _ = _measures(objective, x)
        return mean, last["f"], last["grad_sq"], trace

    # Two vmap levels, seeds inside (η, T and b stay unbatched there: each seed's step uses the
    # same scalars), the (T, η) pairs flattened outside: tracing batches the scan body once per
    # level, which dominated the validation suites' time with three nested levels.
    seeds = jax.vmap(run, in_axes=(None, 0, None, None, None))
    pairs = jax.vmap(seeds, in_axes=(None, 0, 0, 0, 0))

    def grid(noise_state, keys, etas, Ts, bs):
        n_T, n_eta = etas.shape
        t = jnp.repeat(jnp.arange(n_T), n_eta)
        out = pairs(noise_state, keys[t], etas.reshape(-1), Ts[t], bs[t])
        return jax.tree.map(lambda a: a.reshape(n_T, n_eta, *a.shape[1:]), out)

    return jax.jit(grid)


_COMPILED: dict[tuple, Any] = {}


def _check_int(name: str, value: Any, low: int = 1) -> int:
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < low:
        raise ValueError(f"{name}={value!r} is invalid: expected an integer >= {low}")
    return int(value)


@with_x64
def simulate_many(
    built: Built,
    opt: OptimizerSpec,
    Ts,
    batch_sizes,
    etas,
    n_seeds: int,
    keys,
    trace_every: int | None = None,
    mesh=None,
) -> list[RunResult]:
    """Several (T, b) settings in one compiled call; one :class:`RunResult` per T.

    Args:
        Ts, batch_sizes: per-setting T and b (same length).
        etas: step sizes, shape (len(Ts), n_eta): each T gets its own η's (η depends on T).
        keys: one JAX key per setting; seed s of setting k uses ``fold_in(keys[k], s)`` for
            every η (common random numbers, so a tuning grid compares η's on the same noise).
        trace_every: record ``grad_sq``, ``f`` and the trust ratios every this many steps
            (one setting only; must divide T).
        mesh: a ``jax.sharding.Mesh`` (``experiments.distributed.make_mesh``) to split the
            seeds over: all its devices when n_seeds is a multiple of its size, else the first
            gcd(n_seeds, size) (``experiments.distributed.fit_mesh``); None runs on the default
            device. Each seed's arithmetic is the same on any device.

    The scan runs max(Ts) steps for every setting (shorter runs are frozen once done), so
    grouping very different T's trades compute for compilations.
    """
    Ts = [_check_int("T", t) for t in Ts]
    bs = [_check_int("batch_size", b) for b in batch_sizes]
    n_seeds = _check_int("n_seeds", n_seeds)
    if not Ts or len(bs) != len(Ts) or len(keys) != len(Ts):
        raise ValueError("Ts, batch_sizes and keys must be non-empty and of equal length")
    etas = np.asarray(etas, dtype=np.float64)
    if etas.ndim != 2 or etas.shape[0] != len(Ts):
        raise ValueError(f"etas has shape {etas.shape}: expected (len(Ts), n_eta)")
    if not np.all(np.isfinite(etas)) or np.any(etas <= 0):
        raise ValueError(f"etas={etas.tolist()!r} is invalid: expected finite step sizes > 0")
    length = max(Ts)
    if trace_every is not None and (
        len(Ts) != 1 or _check_int("trace_every", trace_every) < 1 or length % trace_every
    ):
        raise ValueError(
            f"trace_every={trace_every!r} is invalid: expected a divisor of T with one setting"
        )
    ident = (id(built), opt, length, trace_every)
    if ident not in _COMPILED:
        _COMPILED[ident] = (built, _core(built, opt, length, trace_every))
    fn = _COMPILED[ident][1]
    seed_keys = jax.vmap(
        lambda k: jax.vmap(lambda s: jax.random.fold_in(k, s))(jnp.arange(n_seeds))
    )(jnp.stack(list(keys)))
    args = (built.noise.init(), seed_keys, jnp.asarray(etas), jnp.asarray(Ts), jnp.asarray(bs))
    if mesh is not None:  # seeds are independent runs: split their axis over the devices
        from experiments.distributed import fit_mesh, gather, shard_runs

        mesh = fit_mesh(mesh, n_seeds)
    if mesh is not None:
        args = shard_runs(args, mesh, in_axes=(None, 1, None, None, None))
    mean, final_f, final_sq, trace = fn(*args)
    if mesh is not None:
        mean, final_f, final_sq, trace = gather((mean, final_f, final_sq, trace))
    results = []
    for k, (T, b) in enumerate(zip(Ts, bs, strict=True)):
        results.append(
            RunResult(
                etas=etas[k],
                n_seeds=n_seeds,
                T=T,
                batch_size=b,
                mean={name: np.asarray(v[k]) for name, v in mean.items()},
                final_f=np.asarray(final_f[k]),
                final_grad_sq=np.asarray(final_sq[k]),
                trace_t=None if trace is None else np.arange(1, T + 1, trace_every),
                trace=None if trace is None else {n: np.asarray(v[k]) for n, v in trace.items()},
            )
        )
    return results


@with_x64
def simulate(
    built: Built,
    opt: OptimizerSpec,
    T: int,
    batch_size: int,
    etas,
    n_seeds: int,
    key: jax.Array,
    trace_every: int | None = None,
    mesh=None,
) -> RunResult:
    """Run ``opt`` for T steps from ``built.x1``, for every η in ``etas`` and ``n_seeds`` seeds.

    Seed s uses the key ``fold_in(key, s)`` for every η (common random numbers). Deterministic:
    same inputs, same arrays. ``mesh`` splits the seeds over devices (see ``simulate_many``).
    """
    etas = np.atleast_1d(np.asarray(etas, dtype=np.float64))
    if etas.ndim != 1:
        raise ValueError(f"etas={etas!r} is invalid: expected a 1-D list of step sizes")
    return simulate_many(
        built, opt, [T], [batch_size], etas[None], n_seeds, [key], trace_every, mesh
    )[0]


def clear_cache() -> None:
    """Drop compiled runners (they hold their instance alive)."""
    _COMPILED.clear()
