"""optax's standard optimizer scenarios, run on every JAX optimizer and every named variant.

The scenarios (our own code; the ideas are those optax checks its own optimizers with):

(a) parabola: minimise Σ‖x − t‖² over a dict of layers (2-D kernels and a 1-D bias) in 300
    steps under ``optax.exponential_decay`` (η₀·0.98^t): every coordinate within 1e-2 of t.
    Normalised methods (LARS/LAMB) take steps of size ~η‖x‖ per layer, so with a constant η they
    oscillate at that scale; the decaying η is what lets them converge.
(b) Rosenbrock f(x, y) = (1 − x)² + 100(y − x²)² from (−1, 1) (f = 4), in 3000 steps under
    ``optax.cosine_decay_schedule``: f ≤ 0.05 at the end (an 80-fold decrease). The point is one
    2-D leaf of shape (1, 2) holding (x, y) + (3, 3): layer-wise methods scale each step by the
    layer's norm ‖w‖ and so cannot cross w = 0, which the unshifted valley path passes through
    (they would stall at the origin, f = 1); the shift keeps the same objective away from it.
(c) no recompilation: a jitted step called twice (the second time on the first's output state)
    traces once and keeps one cache entry.
(d) ``optax.inject_hyperparams`` over the factory gives the same updates as the plain factory.
(e) dtypes: updates keep the params' dtype (float32, bfloat16, complex64); the state's dtypes are
    unchanged by a step and by a ``jax.lax.cond`` whose two branches both call ``update``.
(f) ``optax.MultiSteps(tx, every_k_schedule=2)``: zero updates on odd steps, and on even steps
    the update ``tx`` gives for the mean of the two gradients.

LARS-2017-style optimizers (``lars_2017``, ``optax_lars`` and their variants) are run with
``trust_coefficient=1.0`` so that one learning rate suits them and the others (with the default
0.001 the same runs need η about 1000 times larger); ``lars_2017``'s variant also takes
``always_adapt=True``, since timm's LARS adapts no layer when the weight decay is 0.
"""

import functools
from collections.abc import Callable
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

import lamb_ref
from lamb_ref.lars import lars_2017, optax_lars


class Case(NamedTuple):
    build: Callable[[Any], Any]  # learning rate (float or schedule) -> transformation
    parabola_lr: float
    rosenbrock_lr: float
    factory: Callable[..., Any]  # for inject_hyperparams: numeric keyword arguments only
    numeric: dict


def _factory_case(fn, parabola_lr=0.3, rosenbrock_lr=0.005, fixed=None, **numeric) -> Case:
    fixed = fixed or {}
    return Case(
        lambda lr: fn(learning_rate=lr, **fixed),
        parabola_lr,
        rosenbrock_lr,
        functools.partial(fn, **fixed),
        numeric,
    )


# timm's param-group rule (variants timm*, lars_2017): whether weight_decay is 0 decides which
# layers are adapted, a static choice, so it cannot be a traced injected value (the variant says
# so in a HyperparameterError); inject_hyperparams keeps it static there.
STATIC_WEIGHT_DECAY = {"timm", "timm_lambc", "timm_lambw", "lars_2017"}


def _variant_case(name, parabola_lr=0.3, rosenbrock_lr=0.005, **fixed) -> Case:
    def factory(learning_rate, weight_decay):
        return lamb_ref.variants.make(
            name, learning_rate=learning_rate, weight_decay=weight_decay, **fixed
        )

    return Case(
        lambda lr: factory(lr, 0.0),
        parabola_lr,
        rosenbrock_lr,
        factory,
        dict(learning_rate=0.02, weight_decay=0.01),
    )


_TC = dict(trust_coefficient=1.0)
CASES = {
    "lamb": _factory_case(lamb_ref.lamb, learning_rate=0.02, b1=0.8, weight_decay=0.01),
    "lars": _factory_case(lamb_ref.lars, learning_rate=0.1, momentum=0.8, weight_decay=0.01),
    "lars_2017": _factory_case(
        lars_2017,
        fixed=dict(_TC, nesterov=True),
        learning_rate=0.1,
        momentum=0.8,
        weight_decay=0.01,
        eps=1e-6,
    ),
    "optax_lars": _factory_case(
        optax_lars, fixed=_TC, learning_rate=0.1, momentum=0.8, weight_decay=0.01
    ),
    "nlamb": _factory_case(lamb_ref.nlamb, learning_rate=0.02, b1=0.9, weight_decay=0.01),
    "nnlamb": _factory_case(lamb_ref.nnlamb, learning_rate=0.02, b2=0.99, weight_decay=0.01),
    "sgd": _factory_case(lamb_ref.sgd, rosenbrock_lr=0.002, learning_rate=0.1, weight_decay=0.01),
    "momentum": _factory_case(
        lamb_ref.momentum, rosenbrock_lr=0.002, learning_rate=0.1, momentum=0.8
    ),
    "momentum_nesterov": _factory_case(
        lamb_ref.momentum,
        rosenbrock_lr=0.002,
        fixed=dict(nesterov=True),
        learning_rate=0.1,
        momentum=0.8,
        weight_decay=0.01,
    ),
    "adam": _factory_case(lamb_ref.adam, rosenbrock_lr=0.01, learning_rate=0.01, b1=0.8, eps=1e-6),
    "adamw": _factory_case(
        lamb_ref.adamw, rosenbrock_lr=0.01, learning_rate=0.01, b2=0.99, weight_decay=0.1
    ),
    "adagrad": _factory_case(
        lamb_ref.adagrad,
        parabola_lr=1.0,
        rosenbrock_lr=1.0,
        learning_rate=0.1,
        initial_accumulator_value=0.2,
    ),
    **{
        f"variant:{name}": _variant_case(name)
        for name in lamb_ref.variants.NAMES
        if name not in ("lars_2017", "optax_lars")
    },
    "variant:lars_2017": _variant_case("lars_2017", rosenbrock_lr=0.002, always_adapt=True, **_TC),
    "variant:optax_lars": _variant_case("optax_lars", **_TC),
}
NAMES = list(CASES)


def test_every_optimizer_and_variant_is_covered():
    assert {n.removeprefix("variant:") for n in NAMES if n.startswith("variant:")} == set(
        lamb_ref.variants.NAMES
    )


def _layers(seed: int, dtype=jnp.float64) -> dict:
    rng = np.random.default_rng(seed)
    if jnp.issubdtype(dtype, jnp.complexfloating):
        draw = lambda size: rng.normal(size=size) + 1j * rng.normal(size=size)  # noqa: E731
    else:
        draw = lambda size: rng.normal(size=size)  # noqa: E731
    return {
        "dense": {
            "kernel": jnp.asarray(draw((4, 3)), dtype),
            "bias": jnp.asarray(draw(3), dtype),
        },
        "out": {"kernel": jnp.asarray(draw((3, 2)), dtype)},
    }


def _minimise(tx, loss, params, steps):
    """``steps`` jitted steps of ``tx`` on ``loss`` (a ``lax.scan``: the carried state must keep
    its types exactly). The gradient is optax's conj(∂loss) (a no-op on real leaves)."""

    def body(carry, _):
        p, s = carry
        u, s = tx.update(jax.tree.map(jnp.conj, jax.grad(loss)(p)), s, p)
        return (optax.apply_updates(p, u), s), None

    @jax.jit
    def run(p):
        (p, _), _ = jax.lax.scan(body, (p, tx.init(p)), None, length=steps)
        return p

    return run(params)


# --- (a) parabola --------------------------------------------------------------------------------


@pytest.mark.parametrize("dtype", [jnp.float64, jnp.complex128], ids=["float64", "complex128"])
@pytest.mark.parametrize("name", NAMES)
def test_parabola(name, dtype):
    """Σ|x − t|², for complex leaves too (every case here takes them, as optax's do)."""
    case = CASES[name]
    target, start = _layers(0, dtype), _layers(1, dtype)

    def loss(p):
        return sum(
            jnp.sum(jnp.abs(x - t) ** 2)
            for x, t in zip(jax.tree.leaves(p), jax.tree.leaves(target), strict=True)
        )

    tx = case.build(optax.exponential_decay(case.parabola_lr, 1, 0.98))
    final = _minimise(tx, loss, start, 300)
    err = max(
        float(jnp.max(jnp.abs(x - t)))
        for x, t in zip(jax.tree.leaves(final), jax.tree.leaves(target), strict=True)
    )
    assert err <= 1e-2, err


# --- (b) Rosenbrock ------------------------------------------------------------------------------

SHIFT = 3.0


def _rosenbrock(p):
    x, y = p["w"][0, 0] - SHIFT, p["w"][0, 1] - SHIFT
    return (1 - x) ** 2 + 100 * (y - x**2) ** 2


@pytest.mark.parametrize("name", NAMES)
def test_rosenbrock(name):
    case = CASES[name]
    start = {"w": jnp.array([[-1.0 + SHIFT, 1.0 + SHIFT]])}
    assert float(_rosenbrock(start)) == 4.0
    tx = case.build(optax.cosine_decay_schedule(case.rosenbrock_lr, 3000))
    final = float(_rosenbrock(_minimise(tx, _rosenbrock, start, 3000)))
    assert final <= 0.05, final


# --- (c) no recompilation ------------------------------------------------------------------------


@pytest.mark.parametrize("name", NAMES)
def test_no_recompilation(name):
    tx = CASES[name].build(optax.exponential_decay(0.1, 1, 0.9))
    traces = []

    @jax.jit
    def step(p, s, g):
        traces.append(None)
        u, s = tx.update(g, s, p)
        return optax.apply_updates(p, u), s

    params = _layers(0, jnp.float32)
    state = tx.init(params)
    for seed in (1, 2, 3):
        params, state = step(params, state, _layers(seed, jnp.float32))
    assert len(traces) == 1
    assert step._cache_size() == 1


# --- (d) inject_hyperparams ----------------------------------------------------------------------


@pytest.mark.parametrize("name", NAMES)
def test_inject_hyperparams_matches_plain(name):
    case = CASES[name]
    plain = case.factory(**case.numeric)
    static = ("weight_decay",) if name.removeprefix("variant:") in STATIC_WEIGHT_DECAY else ()
    injected = optax.inject_hyperparams(case.factory, static_args=static)(**case.numeric)
    hyperparams = set(injected.init(_layers(0)).hyperparams)
    assert hyperparams >= set(case.numeric) - set(static)
    assert not hyperparams & set(static)
    p_plain = p_inj = _layers(0)
    s_plain, s_inj = plain.init(p_plain), injected.init(p_inj)
    up_plain, up_inj = jax.jit(plain.update), jax.jit(injected.update)
    for seed in (1, 2, 3):
        g = _layers(seed)
        u1, s_plain = up_plain(g, s_plain, p_plain)
        u2, s_inj = up_inj(g, s_inj, p_inj)
        for a, b in zip(jax.tree.leaves(u1), jax.tree.leaves(u2), strict=True):
            np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=1e-14, atol=1e-16)
        p_plain, p_inj = optax.apply_updates(p_plain, u1), optax.apply_updates(p_inj, u2)


@pytest.mark.parametrize("name", sorted(STATIC_WEIGHT_DECAY))
def test_traced_weight_decay_of_group_rule_variants_is_refused_clearly(name):
    injected = optax.inject_hyperparams(CASES[f"variant:{name}"].factory)(
        learning_rate=0.02, weight_decay=0.01
    )
    params = _layers(0)
    with pytest.raises(lamb_ref.HyperparameterError, match="static_args=\\('weight_decay',\\)"):
        jax.jit(injected.update)(params, injected.init(params), params)


# --- (e) dtypes ----------------------------------------------------------------------------------


def _dtypes(tree):
    return jax.tree.map(lambda x: jnp.asarray(x).dtype, tree)


@pytest.mark.parametrize(
    "dtype", [jnp.float32, jnp.bfloat16, jnp.complex64], ids=["float32", "bfloat16", "complex64"]
)
@pytest.mark.parametrize("name", NAMES)
def test_dtypes_are_kept(name, dtype):
    tx = CASES[name].build(0.1)
    params = _layers(0, dtype)
    g1, g2 = _layers(1, dtype), _layers(2, dtype)
    state = tx.init(params)

    @jax.jit
    def both(pred, s, p):
        updates, s1 = tx.update(g1, s, p)
        branched = jax.lax.cond(pred, lambda: tx.update(g1, s, p), lambda: tx.update(g2, s, p))
        return updates, s1, branched

    updates, s1, (cond_updates, s2) = both(jnp.asarray(True), state, params)
    assert _dtypes(updates) == _dtypes(params)
    assert _dtypes(cond_updates) == _dtypes(params)
    assert _dtypes(s1) == _dtypes(state)
    assert _dtypes(s2) == _dtypes(state)
    # the cond's taken branch is the plain update
    for a, b in zip(jax.tree.leaves(updates), jax.tree.leaves(cond_updates), strict=True):
        wide = np.complex128 if jnp.iscomplexobj(a) else np.float64
        np.testing.assert_array_equal(np.asarray(a, wide), np.asarray(b, wide))


# --- (f) MultiSteps ------------------------------------------------------------------------------


# optax keeps MultiSteps' gradient accumulator in float32 even under 64-bit mode, so this
# scenario runs under JAX's defaults (float32 throughout), where the mean is formed exactly as
# optax forms it and only XLA's fusion can differ in the last bits.
@pytest.mark.jax_defaults
@pytest.mark.parametrize("name", NAMES)
def test_multisteps_averages_two_gradients(name):
    tx = CASES[name].build(optax.exponential_decay(0.1, 1, 0.9))
    multi = optax.MultiSteps(tx, every_k_schedule=2)
    grads = [_layers(seed, jnp.float32) for seed in (1, 2, 3, 4)]
    params = ref_params = _layers(0, jnp.float32)
    m_state, state = multi.init(params), tx.init(ref_params)
    m_update, update = jax.jit(multi.update), jax.jit(tx.update)
    for k, g in enumerate(grads):
        u, m_state = m_update(g, m_state, params)
        params = optax.apply_updates(params, u)
        if k % 2 == 0:
            assert all(not np.any(np.asarray(x)) for x in jax.tree.leaves(u))
            continue
        mean = jax.tree.map(lambda a, b: (a + b) / 2, grads[k - 1], g)
        ref_u, state = update(mean, state, ref_params)
        ref_params = optax.apply_updates(ref_params, ref_u)
        for a, b in zip(jax.tree.leaves(params), jax.tree.leaves(ref_params), strict=True):
            np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=1e-5, atol=1e-6)
