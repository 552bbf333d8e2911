"""The runner: T optimizer steps under ``jit`` + ``lax.while_loop``, vmapped over seeds and over
(instance, T, η) settings, one compiled program per structure (family and layer shapes, noise
kind, optimizer; :func:`structure`) with every number of the instance an argument.

At each t = 1, …, T it evaluates, at the iterate x_t *before* the t-th update, what the theorems'
left-hand sides need: ‖∇f(x_t)‖², (1/√h)Σ_i‖∇_i f(x_t)‖, (1/√d)‖∇f(x_t)‖_1, f(x_t) and the
per-layer norms ‖∇_i f(x_t)‖, from the exact gradient. Then it draws the minibatch noise ξ̄_t
(mean of b samples, drawn exactly), steps with g_t = ∇f(x_t) + ξ̄_t, and records the per-layer
trust ratio the step used. The averages over t are the exact expectations over the theorems'
output x_a with a uniform on {1, …, T} (x_1 included, x_{T+1} not), per noise realisation.

It also accumulates, per layer, the normalisation-bias lemma's two sides
‖∇_i f‖·‖g^(i)/‖g^(i)‖ − ∇_i f/‖∇_i f‖‖ and 2‖g^(i) − ∇_i f‖ (Theorem 2's proof [D]).

For a custom optimizer with a claim (``OptimizerSpec.step_check``) it also keeps, per layer, the
largest relative deviation of the step from the claimed one (a layer-wise step's norm outside
[ηα_l, ηα_u]: :func:`step_norm_deviation`; SGD's −ηg: :func:`sgd_step_deviation`); other
optimizers' programs carry nothing of it.
:func:`trajectory` gives one seed's iterates themselves.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import jax
import jax.extend.random
import jax.numpy as jnp
import numpy as np
import optax

from experiments.precision import with_x64
from experiments.validation.optimizers import SGD_STEP, STEP_NORM, OptimizerSpec
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
    ``grad_sq``, ``f`` and ``trust_ratio`` when ``trace_every`` was given. ``step_check``
    (n_eta, n_seeds, h): for a custom optimizer with a claim only (else None), the largest
    relative deviation over the run's steps of each layer's step from the claimed one
    (``OptimizerSpec.step_check``: :func:`step_norm_deviation` or :func:`sgd_step_deviation`;
    NaN if the run left the float range). ``layer_names``: the layers in the order of every
    per-layer axis.
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
    step_check: np.ndarray | None = None
    layer_names: tuple[str, ...] | None = None


def _measures(objective, p, x: dict[str, jax.Array]) -> tuple[dict[str, jax.Array], Any]:
    grad = objective.grad_fn(p, x)
    gs = [grad[k] for k in sorted(grad)]
    norms = jnp.stack([jnp.sqrt(jnp.sum(g * g)) for g in gs])
    l1 = sum(jnp.sum(jnp.abs(g)) for g in gs)
    out = {
        "grad_sq": jnp.sum(norms * norms),
        "layer_sum_norm": jnp.sum(norms) / math.sqrt(objective.h),
        "l1_over_sqrt_d": l1 / math.sqrt(objective.d),
        "f": objective.value_fn(p, x),
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


def _norm(a: jax.Array) -> jax.Array:
    return jnp.sqrt(jnp.sum(a * a))


def step_norm_deviation(x, updates, eta: Any, phi: Any) -> jax.Array:
    """Per layer i, how far the step's norm ‖u^(i)‖ lies outside [η α_l, η α_u], relative to
    η α_l: max(0, η α_l − ‖u^(i)‖, ‖u^(i)‖ − η α_u) / (η α_l), ``phi`` = (α_l, α_u), 0 < α_l.

    Theorems 2-3 (λ = 0) move every layer by η φ_i with α_l ≤ φ_i ≤ α_u and use nothing else of
    φ (the descent term needs φ_i ≥ α_l, the curvature term φ_i ≤ α_u), so any φ inside the
    declared bounds passes. u is the optimizer's update itself (the runner adds it to x_t;
    measuring x_{t+1} − x_t instead would add the rounding of x_t + u_t, relative
    ε_mach·‖x‖/‖u‖, which is the runner's, not the optimizer's); ``x`` is unused, kept so every
    check takes the step's context."""
    del x
    out = []
    for k in sorted(updates):
        n, lo, hi = _norm(updates[k]), eta * phi[0], eta * phi[1]
        out.append(jnp.maximum(jnp.maximum(lo - n, n - hi), 0.0) / lo)
    return jnp.stack(out)


def sgd_step_deviation(g, updates, eta: Any) -> jax.Array:
    """Per layer i, ‖u^(i) + η g^(i)‖ / (η‖g^(i)‖): the relative deviation of the step
    u = x_{t+1} − x_t from Theorem 1's −η g (0 where both vanish, ∞ where only g does)."""
    out = []
    for k in sorted(g):
        miss, scale = _norm(updates[k] + eta * g[k]), eta * _norm(g[k])
        ok = scale > 0
        out.append(
            jnp.where(ok, miss / jnp.where(ok, scale, 1.0), jnp.where(miss > 0, jnp.inf, 0.0))
        )
    return jnp.stack(out)


def _step_deviation(kind: str, x, g, updates, eta: Any, numbers) -> jax.Array:
    if kind == STEP_NORM:
        return step_norm_deviation(x, updates, eta, numbers["phi"])
    assert kind == SGD_STEP, kind
    return sgd_step_deviation(g, updates, eta)


def _eta_at(lr: Any, t: jax.Array) -> Any:
    """η of step t (0-based): the learning rate, or a schedule at the count t (optax calls a
    schedule with the number of updates already made)."""
    return lr(t) if callable(lr) else lr


def _noisy_gradient(noise, data, key: jax.Array, t: jax.Array, b, grad):
    """g_t = ∇f(x_t) + ξ̄_t, the minibatch noise of step t drawn with ``step_key(key, t)``."""
    xi = noise.minibatch_mean(step_key(key, t), data["table"], b, sigma=data["sigma"])
    return {k: grad[k] + xi[k] for k in grad}


def step_key(key: jax.Array, t: jax.Array) -> jax.Array:
    """The key of step t (0-based) of a run with key ``key``: threefry2x32 of the counter (0, t).

    Under JAX's default ``jax_threefry_partitionable`` this is ``jax.random.split(key, n)[t]``
    for every n > t (tested), computed for one t so that the horizon need not be static.
    """
    bits = jax.extend.random.threefry_2x32(
        jax.random.key_data(key), jnp.stack([jnp.zeros((), jnp.uint32), t.astype(jnp.uint32)])
    )
    return jax.random.wrap_key_data(bits, impl=jax.random.key_impl(key))


def instance_data(built: Built, opt: OptimizerSpec) -> dict[str, Any]:
    """The numbers of one instance that the runner takes as traced arguments: the objective's
    ``params``, σ̃ (flat), the ``finite_sum`` table, x_1 and the optimizer's φ and β2."""
    return {
        "objective": built.objective.params,
        "sigma": np.asarray(built.noise.sigma_coord_flat),
        "table": built.noise.init(),
        "x1": built.x1,
        "opt": opt.numbers(),
    }


def structure(built: Built, opt: OptimizerSpec) -> tuple:
    """What a compiled runner depends on: equal for two (instance, optimizer) pairs when one
    program serves both (objective family and layout, noise kind and layout, the optimizer's
    static hyperparameters)."""
    return (built.objective.structure, built.noise.structure, opt.structure)


def _core(built: Built, opt: OptimizerSpec, trace: tuple[int, int] | None, batched: bool):
    """The jitted runner of one structure (see :func:`structure`).

    Every number of the instance (``instance_data``), η, T, b and the number of steps are
    arguments, so one compilation serves every instance, horizon and step size of the
    structure (XLA compiles again only for other array shapes: settings, seeds, instances).
    A ``while_loop`` runs ``n_steps`` = max T steps; run r takes its own T_r (later steps leave
    its carry unchanged). Vmapped over seeds inside and the (setting, η) pairs outside; with
    ``batched``, each pair gathers its instance's data from the stacked instances.
    ``trace`` = (every, K): record ``grad_sq``, ``f`` and the trust ratios at t = 0, every, ...
    With ``opt.step_check`` the carry also holds the running maximum of the step deviation; the
    programs of the other optimizers are the same as without the check (it is None there).
    """
    objective, noise = built.objective, built.noise
    h = objective.h
    check = opt.step_check

    def run(data, n_steps, key, eta, T, b):
        p, numbers = data["objective"], data["opt"]
        # η itself, or its schedule over this run's T when the spec sets a decay
        lr = opt.learning_rate(eta, T, numbers)
        tx = opt.factory(numbers)(lr)

        def step(t, x, state, sums, dev):
            m, grad = _measures(objective, p, x)
            g = _noisy_gradient(noise, data, key, t, b, grad)
            updates, new_state = tx.update(g, state, x)
            if check is not None:
                new_dev = jnp.maximum(
                    dev, _step_deviation(check, x, g, updates, _eta_at(lr, t), numbers)
                )
            else:
                new_dev = None
            ratios = opt.trust_ratios(new_state, x, numbers)
            nb_lhs, nb_rhs = _normalisation_bias(grad, g)
            m = {**m, "trust_ratio": ratios, "nb_lhs": nb_lhs, "nb_rhs": nb_rhs}
            active = t < T  # steps past this run's T leave everything unchanged
            keep = lambda new, old: jax.tree.map(  # noqa: E731
                lambda a, c: jnp.where(active, a, c), new, old
            )
            new = (
                optax.apply_updates(x, updates),
                new_state,
                {k: sums[k] + m[k] for k in sums},
                new_dev,
            )
            out = {"grad_sq": m["grad_sq"], "f": m["f"], "trust_ratio": ratios}
            return keep(new, (x, state, sums, dev)), out

        def body(carry):
            t, x, state, sums, buf, dev = carry
            (x, state, sums, dev), out = step(t, x, state, sums, dev)
            if trace is not None:
                every = trace[0]
                i, due = t // every, (t % every) == 0
                buf = jax.tree.map(lambda a, v: a.at[i].set(jnp.where(due, v, a[i])), buf, out)
            return t + 1, x, state, sums, buf, dev

        x1 = data["x1"]
        sums0 = {k: jnp.zeros(()) for k in SCALARS} | {k: jnp.zeros((h,)) for k in LAYERED}
        buf0 = None
        if trace is not None:
            buf0 = {
                "grad_sq": jnp.zeros((trace[1],)),
                "f": jnp.zeros((trace[1],)),
                "trust_ratio": jnp.zeros((trace[1], h)),
            }
        dev0 = None if check is None else jnp.zeros((h,))
        carry = (jnp.zeros((), jnp.int32), x1, tx.init(x1), sums0, buf0, dev0)
        _, x, _, sums, buf, dev = jax.lax.while_loop(lambda c: c[0] < n_steps, body, carry)
        mean = {k: v / T for k, v in sums.items()}
        last, _ = _measures(objective, p, x)
        return mean, last["f"], last["grad_sq"], buf, dev

    # Two vmap levels, seeds inside (data, η, T and b stay unbatched there: each seed's step
    # uses the same numbers), the (setting, η) pairs flattened outside: tracing batches the
    # loop body once per level.
    seeds = jax.vmap(run, in_axes=(None, None, 0, None, None, None))
    pairs = jax.vmap(seeds, in_axes=(0 if batched else None, None, 0, 0, 0, 0))

    def grid(data, n_steps, keys, etas, Ts, bs, inst):
        n_K, n_eta = etas.shape
        k = jnp.repeat(jnp.arange(n_K), n_eta)
        if batched:
            data = jax.tree.map(lambda a: a[inst[k]], data)
        out = pairs(data, n_steps, keys[k], etas.reshape(-1), Ts[k], bs[k])
        return jax.tree.map(lambda a: a.reshape(n_K, n_eta, *a.shape[1:]), out)

    return jax.jit(grid)


_COMPILED: dict[tuple, Any] = {}


def _check_int(name: str, value: Any, low: int = 1) -> int:
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < low:
        raise ValueError(f"{name}={value!r} is invalid: expected an integer >= {low}")
    return int(value)


def _stack(trees: Sequence[Any]) -> Any:
    return jax.tree.map(lambda *a: np.stack([np.asarray(v) for v in a]), *trees)


@with_x64
def simulate_instances(
    builts: Sequence[Built],
    opts: Sequence[OptimizerSpec],
    instance: Sequence[int],
    Ts,
    batch_sizes,
    etas,
    n_seeds: int,
    keys,
    trace_every: int | None = None,
    mesh=None,
) -> list[RunResult]:
    """Settings on several instances of one structure in one compiled call; one
    :class:`RunResult` per setting (:func:`launch`, then its results; arguments there)."""
    return launch(builts, opts, instance, Ts, batch_sizes, etas, n_seeds, keys, trace_every, mesh)()


@with_x64
def launch(
    builts: Sequence[Built],
    opts: Sequence[OptimizerSpec],
    instance: Sequence[int],
    Ts,
    batch_sizes,
    etas,
    n_seeds: int,
    keys,
    trace_every: int | None = None,
    mesh=None,
) -> Callable[[], list[RunResult]]:
    """Start settings on several instances of one structure as one compiled call; returns a
    function that waits for the call and gives one :class:`RunResult` per setting.

    JAX runs the call in the background, so a caller can compile and start the next call
    before collecting this one (``validate`` does).

    Setting k runs ``opts[instance[k]]`` on ``builts[instance[k]]`` with T = ``Ts[k]``, b =
    ``batch_sizes[k]``, the step sizes ``etas[k]`` and the key ``keys[k]``. All pairs
    (builts[i], opts[i]) must have the same :func:`structure` (family and layer shapes, noise
    kind and layout, optimizer and its static hyperparameters); their numbers (L, σ̃, x_1, φ,
    β2, ...) may differ: they are arguments of one program, compiled once per structure and
    array shapes and reused by later calls.

    Args:
        Ts, batch_sizes: per-setting T and b (same length).
        etas: step sizes, shape (len(Ts), n_eta): each setting gets its own η's.
        keys: one JAX key per setting; seed s of setting k uses ``fold_in(keys[k], s)`` for
            every η (common random numbers), and step t of it ``step_key(seed_key, t)``.
        trace_every: record ``grad_sq``, ``f`` and the trust ratios every this many steps
            (every setting with the same T; must divide T).
        mesh: a ``jax.sharding.Mesh`` (``experiments.distributed.make_mesh``) to split the
            seeds over: all its devices when n_seeds is a multiple of its size, else the first
            gcd(n_seeds, size) (``experiments.distributed.fit_mesh``); None runs on the default
            device. Each seed's arithmetic is the same on any device.

    Every setting's loop runs max(Ts) steps (shorter runs are frozen once done), so a call
    mixing very different T's does wasted work; calls with one T each waste none and share
    the compiled program.
    """
    if not builts or len(opts) != len(builts):
        raise ValueError("builts and opts must be non-empty and of equal length")
    Ts = [_check_int("T", t) for t in Ts]
    bs = [_check_int("batch_size", b) for b in batch_sizes]
    n_seeds = _check_int("n_seeds", n_seeds)
    if not Ts or len(bs) != len(Ts) or len(keys) != len(Ts) or len(instance) != len(Ts):
        raise ValueError("Ts, batch_sizes, keys and instance must be non-empty and of equal length")
    inst = [_check_int("instance", i, 0) for i in instance]
    if max(inst) >= len(builts):
        allowed = f"expected indices < {len(builts)} (the number of instances)"
        raise ValueError(f"instance={list(instance)!r} is invalid: {allowed}")
    kinds = [structure(b, o) for b, o in zip(builts, opts, strict=True)]
    for i, kind in enumerate(kinds):
        if kind != kinds[0]:
            raise ValueError(
                f"builts[{i}] ({builts[i].spec.label}, {opts[i].label}) is invalid: one call "
                f"needs one structure (family, layer shapes, noise kind, optimizer), and it "
                f"differs from builts[0] ({builts[0].spec.label}, {opts[0].label})"
            )
    etas = np.asarray(etas, dtype=np.float64)
    if etas.ndim != 2 or etas.shape[0] != len(Ts):
        raise ValueError(f"etas has shape {etas.shape}: expected (len(Ts), n_eta)")
    if not np.all(np.isfinite(etas)) or np.any(etas <= 0):
        raise ValueError(f"etas={etas.tolist()!r} is invalid: expected finite step sizes > 0")
    length = max(Ts)
    trace = None
    if trace_every is not None:
        # one trace length for every setting: the settings must share one T
        if len(set(Ts)) != 1 or _check_int("trace_every", trace_every) < 1 or length % trace_every:
            raise ValueError(
                f"trace_every={trace_every!r} is invalid: expected a divisor of T, with one T "
                f"for every setting (got T's {sorted(set(Ts))})"
            )
        trace = (trace_every, length // trace_every)
    batched = len(builts) > 1
    ident = (kinds[0], trace, batched)
    if ident not in _COMPILED:
        _COMPILED[ident] = (builts[0], _core(builts[0], opts[0], trace, batched))
    fn = _COMPILED[ident][1]
    data = [instance_data(b, o) for b, o in zip(builts, opts, strict=True)]
    data = _stack(data) if batched else data[0]
    seed_keys = jax.vmap(
        lambda k: jax.vmap(lambda s: jax.random.fold_in(k, s))(jnp.arange(n_seeds))
    )(jnp.stack(list(keys)))
    args = (
        data,
        jnp.asarray(length, jnp.int32),
        seed_keys,
        jnp.asarray(etas),
        jnp.asarray(Ts),
        jnp.asarray(bs),
        jnp.asarray(inst),
    )
    if mesh is not None:  # seeds are independent runs: split their axis over the devices
        from experiments.distributed import fit_mesh, gather, shard_runs

        mesh = fit_mesh(mesh, n_seeds)
    if mesh is not None:
        args = shard_runs(args, mesh, in_axes=(None, None, 1, None, None, None, None))
    out = fn(*args)

    def results() -> list[RunResult]:
        mean, final_f, final_sq, buf, dev = gather(out) if mesh is not None else jax.device_get(out)
        names = tuple(sorted(builts[0].x1))
        return [
            RunResult(
                etas=etas[k],
                n_seeds=n_seeds,
                T=T,
                batch_size=b,
                mean={name: v[k] for name, v in mean.items()},
                final_f=final_f[k],
                final_grad_sq=final_sq[k],
                trace_t=None if buf is None else np.arange(1, T + 1, trace_every),
                trace=None if buf is None else {n: v[k] for n, v in buf.items()},
                step_check=None if dev is None else dev[k],
                layer_names=names,
            )
            for k, (T, b) in enumerate(zip(Ts, bs, strict=True))
        ]

    return results


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
    """Several (T, b) settings of one instance in one compiled call; one :class:`RunResult`
    per T (:func:`simulate_instances` with one instance; the arguments are documented there)."""
    return simulate_instances(
        [built], [opt], [0] * len(Ts), Ts, batch_sizes, etas, n_seeds, keys, trace_every, mesh
    )


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
    same inputs, same arrays. ``mesh`` splits the seeds over devices (see ``simulate_instances``).
    """
    etas = np.atleast_1d(np.asarray(etas, dtype=np.float64))
    if etas.ndim != 1:
        raise ValueError(f"etas={etas!r} is invalid: expected a 1-D list of step sizes")
    return simulate_many(
        built, opt, [T], [batch_size], etas[None], n_seeds, [key], trace_every, mesh
    )[0]


_TRAJECTORIES: dict[tuple, Any] = {}


def _trajectory_core(built: Built, opt: OptimizerSpec):
    """The jitted iterates of one run of one structure: the step of :func:`_core` (same noise
    draws, same update) in a ``scan`` of static length, returning x_1, ..., x_n stacked."""
    objective, noise = built.objective, built.noise

    def run(data, key, eta, T, b, n_steps):
        p, numbers = data["objective"], data["opt"]
        tx = opt.factory(numbers)(opt.learning_rate(eta, T, numbers))

        def body(carry, t):
            x, state = carry
            grad = objective.grad_fn(p, x)
            g = _noisy_gradient(noise, data, key, t, b, grad)
            updates, state = tx.update(g, state, x)
            return (optax.apply_updates(x, updates), state), x

        x1 = data["x1"]
        _, xs = jax.lax.scan(body, (x1, tx.init(x1)), jnp.arange(n_steps, dtype=jnp.int32))
        return xs

    return jax.jit(run, static_argnums=5)


@with_x64
def trajectory(
    built: Built,
    opt: OptimizerSpec,
    eta: float,
    batch_size: int,
    n_steps: int,
    key: jax.Array,
    *,
    T: int | None = None,
) -> list[dict[str, np.ndarray]]:
    """The iterates x_1, ..., x_{n_steps} of seed 0 of ``simulate(built, opt, T, batch_size,
    [eta], n_seeds, key)``: the same random numbers (seed key ``fold_in(key, 0)``, step t's
    ``step_key``), the same update, float64 (equal to the runner's to rounding, tested).

    ``T`` (default ``n_steps``) only sets the horizon of a decaying step size
    (``OptimizerSpec.learning_rate``); with a constant η the iterates do not depend on it. One
    compiled program per structure (:func:`structure`) and ``n_steps``.
    """
    n_steps = _check_int("n_steps", n_steps)
    b = _check_int("batch_size", batch_size)
    T = n_steps if T is None else _check_int("T", T)
    eta = float(eta)
    if not (math.isfinite(eta) and eta > 0):
        raise ValueError(f"eta={eta!r} is invalid: expected a finite step size > 0")
    ident = structure(built, opt)
    if ident not in _TRAJECTORIES:
        _TRAJECTORIES[ident] = (built, _trajectory_core(built, opt))
    fn = _TRAJECTORIES[ident][1]
    # seed 0 of launch's seed keys: vmap(fold_in(key, s)) over s = arange(n_seeds)
    seed_key = jax.random.fold_in(key, jnp.arange(1)[0])
    xs = fn(
        instance_data(built, opt),
        seed_key,
        jnp.asarray(eta),
        jnp.asarray(T),
        jnp.asarray(b),
        n_steps,
    )
    xs = jax.device_get(xs)
    return [{k: np.asarray(v[t]) for k, v in xs.items()} for t in range(n_steps)]


def clear_cache() -> None:
    """Drop compiled runners (they hold their instance alive)."""
    _COMPILED.clear()
    _TRAJECTORIES.clear()
