"""Complex parameters, optax's convention, in both backends.

optax (``scale_by_adam``, ``scale_by_rss``, ``scale_by_trust_ratio``) takes complex leaves with
second moments and norms of |g|² = g·conj(g) (real), first moments and updates complex; the
gradient of a real loss f of complex z is ``conj(jax.grad(f)(z))`` (optax's own
``alias_test.py``: "Complex gradients need to be conjugated before being added to parameters"),
which is (∂f/∂Re z) + i(∂f/∂Im z), the real gradient of f over the pairs (Re z, Im z).

* trajectories equal optax's on f(z) = Σ_leaf |A z − b|² (``lamb``, ``optax.lars`` as the
  ``optax_lars`` variant, the baselines, timm's clip + lamb chain);
* the NumPy and JAX backends agree on complex leaves, every optimizer and variant that takes them;
* the loss decreases for every one of them;
* a complex leaf is the same problem as its pairs of reals: exactly so for the LARS forms, SGD
  and momentum (no per-coordinate moment), and for LAMB with its second moment |g|² shared by the
  pair (checked against a pairs-of-reals transcription of Algorithm 2);
* a complex leaf with zero imaginary parts gives the real leaf's trajectory;
* dtypes: complex64 stays complex64 (updates, moments), v is real, under ``jit``;
* the l1 / l∞ trust norms refuse complex leaves with :class:`lamb_ref.LeafDtypeError` naming the
  optimizer and the norm, identically in both backends.
"""

from __future__ import annotations

import importlib
import re
from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

import lamb_ref
from lamb_ref import LeafDtypeError, numpy_inplace, reference
from lamb_ref._variant_specs import NAMES
from tests.helpers import OPTIMIZERS, factory, to_jax, to_numpy, variant_hp
from tests.test_live_optax import CASES as LIVE_CASES
from tests.tolerances import BACKENDS_F32_ABS, BACKENDS_F64_ABS, LIVE_F64_ABS

PKG = {"numpy": reference, "jax": lamb_ref}
LARS_MODULE = {
    "numpy": importlib.import_module("lamb_ref.reference.lars"),
    "jax": importlib.import_module("lamb_ref.lars"),
}
LARS_2017_HP = {
    "lars_2017": dict(learning_rate=0.1, momentum=0.9, weight_decay=0.01, nesterov=True),
    "optax_lars": dict(learning_rate=0.1, momentum=0.9, weight_decay=0.01),
}


def _build(case: str, backend: str, **override: Any) -> Any:
    """Optimizer ``case`` (a key of OPTIMIZERS, a 2017 LARS form or ``variant_<name>``)."""
    if case.startswith("variant_"):
        name = case.removeprefix("variant_")
        return PKG[backend].variants.make(name, **{**variant_hp(name), **override})
    if case in LARS_2017_HP:
        return getattr(LARS_MODULE[backend], case)(**{**LARS_2017_HP[case], **override})
    return getattr(PKG[backend], factory(case))(**{**OPTIMIZERS[case], **override})


def _hp(case: str) -> dict:
    if case.startswith("variant_"):
        return variant_hp(case.removeprefix("variant_"))
    return LARS_2017_HP.get(case) or OPTIMIZERS[case]


ALL_CASES = [*OPTIMIZERS, *LARS_2017_HP, *(f"variant_{n}" for n in NAMES)]
# The l1 / l∞ trust norms have no agreed complex form: those optimizers refuse complex leaves.
REFUSING = [c for c in ALL_CASES if _hp(c).get("trust_norm", "l2") != "l2"]
SUPPORTING = [c for c in ALL_CASES if c not in REFUSING]


# --- the problem: f(z) = Σ_leaf |A_leaf vec(z_leaf) − b_leaf|² ----------------------------------


def _complex(rng: np.random.Generator, *shape: int) -> np.ndarray:
    return rng.normal(size=shape) + 1j * rng.normal(size=shape)


def _params(seed: int = 0, dtype=np.complex128) -> dict:
    """The tree shape of tests/helpers.random_tree (so the cases' masks apply), complex."""
    rng = np.random.default_rng(seed)
    return {
        "scale": np.asarray(_complex(rng), dtype),
        "dense": {"kernel": _complex(rng, 5, 3).astype(dtype), "bias": np.zeros(3, dtype)},
        "conv": {"kernel": _complex(rng, 2, 3, 2, 2).astype(dtype)},
        "layers": [_complex(rng, 4).astype(dtype), _complex(rng, 3, 3).astype(dtype)],
    }


def _quadratic(seed: int = 1) -> tuple[Callable, Callable]:
    """(loss, grad) of f(z) = Σ_leaf |A vec(z) − b|²; grad is optax's conj(∂f) convention."""
    rng = np.random.default_rng(seed)
    shapes = [np.shape(x) for x in jax.tree.leaves(_params())]
    mats = []
    for shape in shapes:
        n = int(np.prod(shape, dtype=int))
        mats.append((_complex(rng, n + 2, n) / np.sqrt(n + 2), _complex(rng, n + 2)))

    def loss(params):
        return sum(
            jnp.sum(jnp.abs(a @ jnp.ravel(z) - b) ** 2)
            for z, (a, b) in zip(jax.tree.leaves(params), mats, strict=True)
        )

    grad_of = jax.jit(jax.grad(loss))

    def grad(params):
        with jax.enable_x64(True):
            wide = jax.tree.map(lambda z: jnp.asarray(z, jnp.complex128), to_jax(params))
            g = jax.tree.map(jnp.conj, grad_of(wide))
        return jax.tree.map(
            lambda gi, z: np.asarray(gi).astype(np.asarray(z).dtype), to_numpy(g), params
        )

    return loss, grad


LOSS, GRAD = _quadratic()


def _run(tx: Any, params: Any, steps: int, backend: str, grad: Callable = GRAD) -> list[Any]:
    """Parameters after each step (NumPy trees); backend "optax" means optax.apply_updates."""
    params = to_numpy(params)
    state = tx.init(to_jax(params) if backend != "numpy" else params)
    out = []
    for _ in range(steps):
        g = grad(params)
        if backend == "numpy":
            updates, state = tx.update(g, state, params)
            params = reference.apply_updates(params, updates)
        else:
            updates, state = tx.update(to_jax(g), state, to_jax(params))
            params = to_numpy(optax.apply_updates(to_jax(params), updates))
        out.append(params)
    return out


def _max_diff(a: Any, b: Any) -> float:
    """Largest |a − b| (complex modulus) over trees or lists of trees of arrays."""
    xs, ys = jax.tree.leaves(to_numpy(a)), jax.tree.leaves(to_numpy(b))
    assert len(xs) == len(ys)
    return max(
        float(np.max(np.abs(np.asarray(x) - np.asarray(y)), initial=0))
        for x, y in zip(xs, ys, strict=True)
    )


# --- against optax ------------------------------------------------------------------------------


# The real-valued live comparison's cases (tests/test_live_optax.py), on complex leaves: optax.lars
# is this toolkit's optax_lars variant (lamb_ref.lars is the paper's Algorithm 1, which optax
# lacks). Not its schedule case: optax's schedules evaluate in float32, which alone costs 1e-8.
OPTAX_CASES = {name: (theirs, ours) for name, theirs, ours in LIVE_CASES if name != "lamb_schedule"}


@pytest.mark.parametrize("backend", ["numpy", "jax"])
@pytest.mark.parametrize("case", OPTAX_CASES)
def test_complex_trajectories_match_optax(case, backend):
    make_optax, make_ours = OPTAX_CASES[case]
    params = _params(0)
    theirs = _run(make_optax(), params, 12, "optax")
    ours = _run(make_ours(PKG[backend]), params, 12, backend)
    assert _max_diff(theirs, ours) <= LIVE_F64_ABS
    # not vacuous: the run moved the parameters, imaginary parts included
    moved = _max_diff(ours[-1], params)
    assert (
        moved > 1e-3
        and max(
            np.abs(np.imag(x - y)).max()
            for x, y in zip(
                jax.tree.leaves(ours[-1]), jax.tree.leaves(to_numpy(params)), strict=True
            )
        )
        > 1e-4
    )


@pytest.mark.jax_defaults
@pytest.mark.parametrize("case", ["lamb", "lars", "adam", "adagrad"])
def test_complex64_matches_optax_and_keeps_dtypes(case):
    """complex64 under JAX's defaults: optax's dtype stability, and optax's values to float32."""
    make_optax, make_ours = OPTAX_CASES[case]
    params = _params(0, np.complex64)
    theirs = _run(make_optax(), params, 5, "optax")
    ours = _run(make_ours(lamb_ref), params, 5, "jax")
    for tree in (ours[-1], theirs[-1]):
        assert {np.asarray(x).dtype for x in jax.tree.leaves(tree)} == {np.dtype(np.complex64)}
    assert _max_diff(theirs, ours) <= BACKENDS_F32_ABS


# --- both backends ------------------------------------------------------------------------------


@pytest.mark.parametrize("case", SUPPORTING)
def test_backends_agree_on_complex_leaves(case):
    params = _params(2)
    a = _run(_build(case, "numpy"), params, 5, "numpy")
    b = _run(_build(case, "jax"), params, 5, "jax")
    assert _max_diff(a, b) <= BACKENDS_F64_ABS


@pytest.mark.parametrize("case", ["lamb", "lars", "nlamb", "adam", "variant_timm", "lars_2017"])
def test_backends_agree_on_complex64_leaves(case):
    params = _params(2, np.complex64)
    a = _run(_build(case, "numpy"), params, 5, "numpy")
    b = _run(_build(case, "jax"), params, 5, "jax")
    for tree in (a[-1], b[-1]):
        assert {np.asarray(x).dtype for x in jax.tree.leaves(tree)} == {np.dtype(np.complex64)}
    assert _max_diff(a, b) <= BACKENDS_F32_ABS


@pytest.mark.parametrize("name", ["lamb", "timm", "lars", "lars_2017", "optax_lars"])
def test_in_place_step_takes_complex_leaves_as_the_reference(name):
    """``numpy_inplace`` runs the reference step on complex trees (its fast path is real)."""
    opt = numpy_inplace.make(name, **variant_hp(name))
    params = _params(3)
    expected = _run(_build(f"variant_{name}", "numpy"), params, 3, "numpy")[-1]
    state = opt.init(params)
    for _ in range(3):
        opt.step(params, state, GRAD(params))
    assert _max_diff(params, expected) == 0.0


# --- convergence --------------------------------------------------------------------------------

# Normalised steps (~η‖x‖ per layer) need a decaying η to settle; the 2017 LARS forms take
# trust_coefficient=1 (their default 0.001 needs an η about 1000 times larger), as in
# tests/test_optax_scenarios.py.
_TC = ("lars_2017", "optax_lars", "variant_lars_2017", "variant_optax_lars")


@pytest.mark.parametrize("case", SUPPORTING)
def test_complex_problem_converges(case):
    override: dict[str, Any] = {"learning_rate": optax.exponential_decay(0.05, 1, 0.98)}
    if case in _TC:
        override |= {"trust_coefficient": 1.0}
    if case == "variant_lars_2017":
        override |= {"always_adapt": True}
    if factory(case) == "adagrad":
        override["learning_rate"] = 0.5
    params = _params(4)
    start = float(LOSS(to_jax(params)))
    final = float(LOSS(to_jax(_run(_build(case, "jax", **override), params, 150, "jax")[-1])))
    # at least halved (the φ-clipped and clamp-valued cases are the slowest: ~0.4 at 150 steps)
    assert final <= 0.5 * start, (start, final)


# --- pairs of reals -----------------------------------------------------------------------------


def _pairs(tree: Any) -> Any:
    """Each complex leaf as a real leaf with a trailing axis (Re, Im)."""
    return jax.tree.map(lambda z: np.stack([np.real(z), np.imag(z)], axis=-1), to_numpy(tree))


def _pair_grad(params: Any) -> Any:
    """∇f over (Re z, Im z): optax's conj(∂f) gradient, read as pairs."""
    z = jax.tree.map(lambda p: p[..., 0] + 1j * p[..., 1], params)
    return _pairs(GRAD(z))


# No per-coordinate moment: a complex leaf is exactly its pairs of reals.
PAIR_EXACT = [
    c
    for c in SUPPORTING
    if factory(c) in ("lars", "sgd", "momentum")
    or c in LARS_2017_HP
    or c in ("variant_lars", "variant_lars_2017", "variant_optax_lars")
]


@pytest.mark.parametrize("backend", ["numpy", "jax"])
@pytest.mark.parametrize("case", PAIR_EXACT)
def test_lars_forms_see_a_complex_leaf_as_its_pairs_of_reals(case, backend):
    params = _params(5)
    as_complex = _run(_build(case, backend), params, 6, backend)
    as_pairs = _run(_build(case, backend), _pairs(params), 6, backend, grad=_pair_grad)
    assert _max_diff([_pairs(t) for t in as_complex], as_pairs) <= BACKENDS_F64_ABS


def _lamb_pairs(params, steps, lr=0.02, b1=0.9, b2=0.999, eps=1e-6, wd=0.01):
    """Algorithm 2 on pairs of reals (…, 2), with one second moment per pair: v += (1−β2)|g|²."""
    x = _pairs(params)
    m = jax.tree.map(np.zeros_like, x)
    v = jax.tree.map(lambda a: np.zeros(a.shape[:-1]), x)
    out = []
    for t in range(1, steps + 1):
        g = _pair_grad(x)
        m = jax.tree.map(lambda m, g: b1 * m + (1 - b1) * g, m, g)
        v = jax.tree.map(lambda v, g: b2 * v + (1 - b2) * np.sum(g * g, axis=-1), v, g)

        def step(x, m, v, t=t):
            r = (m / (1 - b1**t)) / (np.sqrt(v / (1 - b2**t)) + eps)[..., None]
            u = r + wd * x
            xn, un = np.linalg.norm(x), np.linalg.norm(u)  # over every real coordinate
            return x - lr * (xn / un if xn > 0 and un > 0 else 1.0) * u

        x = jax.tree.map(step, x, m, v)
        out.append(x)
    return out


@pytest.mark.parametrize("backend", ["numpy", "jax"])
def test_lamb_on_complex_leaves_is_lamb_on_pairs_with_a_shared_second_moment(backend):
    params = _params(6)
    ours = _run(PKG[backend].lamb(0.02, weight_decay=0.01), params, 6, backend)
    assert _max_diff([_pairs(t) for t in ours], _lamb_pairs(params, 6)) <= BACKENDS_F64_ABS


@pytest.mark.parametrize("backend", ["numpy", "jax"])
@pytest.mark.parametrize("case", SUPPORTING)
def test_zero_imaginary_parts_give_the_real_trajectory(case, backend):
    rng = np.random.default_rng(7)
    real = jax.tree.map(lambda z: rng.normal(size=np.shape(z)), _params(7))
    targets = jax.tree.map(lambda x: rng.normal(size=np.shape(x)), real)

    def grad(p):  # g = x − c (+ i·0 for complex leaves)
        return jax.tree.map(lambda x, c: np.asarray(x - c), to_numpy(p), targets)

    a = _run(_build(case, backend), real, 4, backend, grad=grad)
    as_complex = jax.tree.map(lambda x: x.astype(np.complex128), real)
    b = _run(_build(case, backend), as_complex, 4, backend, grad=grad)
    assert all(np.all(np.imag(x) == 0) for x in jax.tree.leaves(b))
    assert _max_diff(a, jax.tree.map(np.real, b)) <= BACKENDS_F64_ABS


# --- dtypes -------------------------------------------------------------------------------------


@pytest.mark.jax_defaults
@pytest.mark.parametrize("case", SUPPORTING)
def test_complex64_dtypes_under_jit(case):
    tx = _build(case, "jax")
    params = to_jax(_params(8, np.complex64))
    state = tx.init(params)
    updates, new_state = jax.jit(tx.update)(to_jax(GRAD(to_numpy(params))), state, params)
    assert {u.dtype for u in jax.tree.leaves(updates)} == {jnp.dtype(jnp.complex64)}
    assert jax.tree.map(lambda a: a.dtype, new_state) == jax.tree.map(lambda a: a.dtype, state)
    for leaf in jax.tree.leaves(state):  # moments complex64, |g|² accumulators float32
        assert leaf.dtype in (jnp.complex64, jnp.float32, jnp.int32), leaf.dtype
    for name in ("nu", "sum_of_squares"):
        for leaf in jax.tree.leaves(getattr(state, name, ())):
            assert leaf.dtype == jnp.float32


@pytest.mark.parametrize("case", SUPPORTING)
def test_numpy_complex64_stays_complex64(case):
    out = _run(_build(case, "numpy"), _params(8, np.complex64), 2, "numpy")
    assert {x.dtype for x in jax.tree.leaves(out[-1])} == {np.dtype(np.complex64)}


@pytest.mark.parametrize("backend", ["numpy", "jax"])
def test_python_complex_leaves_are_arrays(backend):
    tx = PKG[backend].lamb(0.1)
    updates, _ = tx.update({"w": 0.5 + 0.5j}, tx.init({"w": 2.0 - 1.0j}), {"w": 2.0 - 1.0j})
    assert np.iscomplexobj(np.asarray(updates["w"]))


# --- refusals -----------------------------------------------------------------------------------


@pytest.mark.parametrize("backend", ["numpy", "jax"])
@pytest.mark.parametrize(
    "case, norm",
    [(c, None) for c in REFUSING]
    + [(f, n) for f in ("lars", "nlamb", "nnlamb") for n in ("l1", "linf")],
)
def test_l1_and_linf_trust_norms_refuse_complex_leaves(case, norm, backend):
    override = {} if norm is None else {"trust_norm": norm}
    tx = _build(case, backend, **override)
    hp = {**_hp(case), **override}
    name = factory(case)
    expected = re.escape(f"{name} with trust_norm={hp['trust_norm']!r} does not take complex")
    arr = to_jax if backend == "jax" else to_numpy
    good = arr(jax.tree.map(np.real, _params(9)))
    bad = arr(_params(9))
    state = tx.init(good)
    for fn in (
        lambda: tx.init(bad),
        lambda: tx.update(bad, state, good),
        lambda: tx.update(good, state, bad),
    ):
        with pytest.raises(LeafDtypeError, match=expected) as info:
            fn()
        assert re.match(r"(params|grads) leaf '[\w/]+' has dtype complex128: ", str(info.value))
        assert "trust_norm='l2'" in str(info.value)  # what is allowed


@pytest.mark.parametrize("norm", ["l1", "linf"])
def test_refusal_message_is_the_same_in_both_backends(norm):
    messages = []
    for backend in ("numpy", "jax"):
        tx = PKG[backend].lamb(0.1, trust_norm=norm)
        with pytest.raises(LeafDtypeError) as info:
            tx.init({"w": (to_jax if backend == "jax" else to_numpy)(np.ones(2, np.complex64))})
        messages.append(str(info.value))
    assert messages[0] == messages[1]
    assert messages[0].startswith("params leaf 'w' has dtype complex64: lamb with trust_norm=")


def test_every_case_is_either_supported_or_refused():
    assert sorted(SUPPORTING + REFUSING) == sorted(ALL_CASES)
    assert REFUSING == ["lamb_v3_l1", "lamb_linf_masks"]
    assert all(f"variant_{n}" in SUPPORTING for n in NAMES)
