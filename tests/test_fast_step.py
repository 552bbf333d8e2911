"""The fast steps against the specification.

* The JAX step as the benchmark runs it (``update`` + ``apply_updates``, jitted, params and state
  donated) equals the NumPy reference in float64 over several steps, for lamb, lars, adamw and
  named variants; and it writes no temporary the size of a layer (the point of the rewrite).
* The NumPy in-place step (``lamb_ref.numpy_inplace``) equals the reference's
  ``update`` + ``apply_updates`` bit for bit, in float32 and float64, on layers that span several
  blocks, and falls back to the reference on trees it does not take.
* ``benchmarks/optimizer_step.py --quick`` runs and writes a valid JSON report.
"""

from __future__ import annotations

import copy
import json
import subprocess
import sys
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

import lamb_ref
from lamb_ref import numpy_inplace, reference
from lamb_ref.reference import _common, _tree
from tests.helpers import max_abs_diff, noisy_quadratic_grad, random_tree, to_numpy
from tests.tolerances import BACKENDS_F64_ABS

ROOT = Path(__file__).resolve().parents[1]

# (family or variant, hyperparameters): lamb_ref.<name> / lamb_ref.variants.make(<name>)
CASES = {
    "lamb": ("lamb", dict(learning_rate=0.02, weight_decay=0.01)),
    "lamb_v3_l1": ("lamb", dict(learning_rate=0.02, bias_correction=False, trust_norm="l1")),
    "lars": ("lars", dict(learning_rate=0.1, momentum=0.9, weight_decay=0.01)),
    "adamw": ("adamw", dict(learning_rate=0.01, weight_decay=0.1)),
    "variant_timm": ("timm", dict(learning_rate=0.02, max_grad_norm=1.0)),
    "variant_timm_lambw": ("timm_lambw", dict(learning_rate=0.02, weight_decay=0.05)),
    "variant_keras3": ("keras3", dict(learning_rate=0.02, weight_decay=0.01)),
    "variant_optax_lars": ("optax_lars", dict(learning_rate=0.1, weight_decay=0.01)),
    "variant_lars_2017": (
        "lars_2017",
        dict(learning_rate=0.1, momentum=0.9, weight_decay=0.01, nesterov=True),
    ),
}


def _make(backend, key):
    name, hp = CASES[key]
    if key.startswith("variant_"):
        return (lamb_ref if backend == "jax" else reference).variants.make(name, **hp)
    return getattr(lamb_ref if backend == "jax" else reference, name)(**hp)


def _donated_step(tx):
    def step(params, state, grads):
        updates, state = tx.update(grads, state, params)
        return optax.apply_updates(params, updates), state

    return jax.jit(step, donate_argnums=(0, 1))


@pytest.mark.parametrize("key", list(CASES))
def test_jitted_donated_step_equals_reference_float64(key):
    params = random_tree(np.random.default_rng(7))
    grad = noisy_quadratic_grad(8, scale=2.0)
    ref, tx = _make("numpy", key), _make("jax", key)
    step = _donated_step(tx)
    p_ref, s_ref = params, ref.init(params)
    p_jax = jax.tree.map(jnp.asarray, params)
    s_jax = tx.init(p_jax)
    for t in range(5):
        g = grad(p_ref, t)
        updates, s_ref = ref.update(g, s_ref, p_ref)
        p_ref = reference.apply_updates(p_ref, updates)
        p_jax, s_jax = step(p_jax, s_jax, jax.tree.map(jnp.asarray, g))
        assert max_abs_diff(p_ref, to_numpy(p_jax)) <= BACKENDS_F64_ABS, t


def _temp_bytes(tx, params):
    grads = jax.tree.map(jnp.ones_like, params)
    compiled = _donated_step(tx).lower(params, tx.init(params), grads).compile()
    return compiled.memory_analysis().temp_size_in_bytes


@pytest.mark.parametrize("dtype", [jnp.float32, jnp.bfloat16])
@pytest.mark.parametrize("key", ["lamb", "lars", "variant_timm", "variant_optax_lars"])
def test_step_writes_no_layer_sized_temporary(key, dtype):
    """The trust ratio's norms are fused into reductions: no array the size of a layer is stored.

    (Before, XLA stored u = r + λx, or g + λx, for every layer: one extra copy of the model.)
    """
    shapes = {"a": {"kernel": (256, 256), "bias": (256,)}, "b": {"kernel": (256, 512)}}
    params = {k: {n: jnp.ones(s, dtype) for n, s in layer.items()} for k, layer in shapes.items()}
    layer_bytes = 256 * 256 * jnp.dtype(dtype).itemsize
    assert _temp_bytes(_make("jax", key), params) < layer_bytes


def test_bfloat16_lamb_step_is_finite_and_follows_optax():
    """β2 = 0.999 rounds to 1 in bfloat16; the bias corrections are computed wider, so the step
    stays finite (it was NaN: 1 - β2^t = 0) and close to optax.lamb, which does the same."""
    rng = np.random.default_rng(5)
    start = {"w": 0.1 * rng.normal(size=(64, 32)), "b": 0.1 * rng.normal(size=(32,))}

    def run(tx):
        p = jax.tree.map(lambda a: jnp.asarray(a, jnp.bfloat16), start)
        step, s = _donated_step(tx), tx.init(p)
        for t in range(5):
            g_rng = np.random.default_rng(100 + t)
            g = jax.tree.map(lambda a, r=g_rng: jnp.asarray(r.normal(size=a.shape), a.dtype), p)
            p, s = step(p, s, g)
        return p

    ours = run(lamb_ref.lamb(0.01, weight_decay=0.01))
    theirs = run(optax.lamb(0.01, weight_decay=0.01))
    for a, b in zip(jax.tree.leaves(ours), jax.tree.leaves(theirs), strict=True):
        assert a.dtype == jnp.bfloat16
        a, b = np.asarray(a, np.float32), np.asarray(b, np.float32)
        assert np.isfinite(a).all()
        # two bfloat16 ulps at |x| < 0.5 (the two libraries round their scalars differently)
        assert np.max(np.abs(a - b)) <= 2 * 2.0**-9


# --- the NumPy in-place step ---------------------------------------------------------------------


def _big_tree(rng, dtype):
    """Layers of several blocks (with a partial last block), a scalar and an all-zero layer."""
    n = _common.BLOCK
    return {
        "embed": (0.1 * rng.normal(size=(2 * n + 123,))).astype(dtype),
        "dense": {
            "kernel": rng.normal(size=(n // 64 + 3, 64)).astype(dtype),
            "bias": np.zeros(64, dtype=dtype),
        },
        "scale": np.asarray(rng.normal(), dtype=dtype),
    }


INPLACE_VARIANTS = (
    *("lamb", "timm", "timm_lambc", "timm_lambw", "torch_optimizer_debias", "keras3"),
    *("lars", "lars_2017", "optax_lars"),
)
INPLACE = {
    "lamb": lambda: (
        reference.lamb(0.02, weight_decay=0.01),
        numpy_inplace.lamb_family(0.02, weight_decay=0.01),
    ),
    "lamb_linf_phi_masks": lambda: (
        reference.lamb(
            0.02, weight_decay=0.1, trust_norm="linf", phi=(0.5, 2.0), trust_ratio_mask=["k"]
        ),
        numpy_inplace.lamb_family(
            0.02, weight_decay=0.1, trust_norm="linf", phi=(0.5, 2.0), trust_ratio_mask=["k"]
        ),
    ),
    "adamw": lambda: (
        reference.adamw(0.01, weight_decay=0.1),
        numpy_inplace.adamw(0.01, weight_decay=0.1),
    ),
    "adam": lambda: (reference.adam(0.01), numpy_inplace.adam(0.01)),
    **{
        f"variant_{name}": (
            lambda name=name: (
                reference.variants.make(name, learning_rate=0.05, weight_decay=0.01),
                numpy_inplace.make(name, learning_rate=0.05, weight_decay=0.01),
            )
        )
        for name in INPLACE_VARIANTS
    },
}


def _leaves(tree):
    return _tree.flatten(tree)[1]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("key", list(INPLACE))
def test_inplace_numpy_step_is_the_reference_bit_for_bit(key, dtype):
    ref, fast = INPLACE[key]()
    rng = np.random.default_rng(11)
    params = _big_tree(rng, dtype)
    p_ref, p_fast = params, copy.deepcopy(params)
    s_ref, s_fast = ref.init(p_ref), fast.init(p_fast)
    fast_ids = [id(a) for a in _leaves(p_fast)]
    for _ in range(3):
        grads = _big_tree(rng, dtype)
        updates, s_ref = ref.update(grads, s_ref, p_ref)
        p_ref = reference.apply_updates(p_ref, updates)
        assert fast.step(p_fast, s_fast, grads) is None
        for a, b in zip(_leaves(p_ref), _leaves(p_fast), strict=True):
            assert b.dtype == dtype
            np.testing.assert_array_equal(a, b)
        for k in s_ref:
            if k == "count":
                assert s_ref[k] == s_fast[k]
            else:
                for a, b in zip(_leaves(s_ref[k]), _leaves(s_fast[k]), strict=True):
                    np.testing.assert_array_equal(a, b)
    assert [id(a) for a in _leaves(p_fast)] == fast_ids  # written in place


@pytest.mark.parametrize("workers", [1, 3, 5])
def test_inplace_step_does_not_depend_on_the_worker_count(workers, monkeypatch):
    """Blocks are split into one contiguous run per worker; any split gives the same bits."""
    rng = np.random.default_rng(5)
    params, grads = _big_tree(rng, np.float32), _big_tree(rng, np.float32)
    results = []
    for n in (2, workers):
        monkeypatch.setattr(numpy_inplace, "_workers", lambda n=n: n)
        fast = numpy_inplace.lamb_family(0.02, weight_decay=0.01)
        p = copy.deepcopy(params)
        s = fast.init(p)
        fast.step(p, s, grads)
        results.append(_leaves(p) + _leaves(s["mu"]) + _leaves(s["nu"]))
    for a, b in zip(*results, strict=True):
        np.testing.assert_array_equal(a, b)


def test_inplace_falls_back_to_the_reference_on_mixed_dtypes():
    ref, fast = INPLACE["lamb"]()
    rng = np.random.default_rng(3)
    params = _big_tree(rng, np.float64)
    grads = jax.tree.map(lambda a: np.asarray(a, np.float32), _big_tree(rng, np.float64))
    p_fast = copy.deepcopy(params)
    s_ref, s_fast = ref.init(params), fast.init(p_fast)
    updates, s_ref = ref.update(grads, s_ref, params)
    fast.step(p_fast, s_fast, grads)
    for a, b in zip(
        _leaves(reference.apply_updates(params, updates)), _leaves(p_fast), strict=True
    ):
        np.testing.assert_array_equal(a, b)
    assert s_fast["count"] == 1


def test_blocked_layer_norm_matches_numpy():
    x = np.random.default_rng(0).normal(size=3 * _common.BLOCK + 5)
    assert _common.layer_norm(x, "l2") == pytest.approx(np.linalg.norm(x), rel=1e-14)
    assert _common.layer_norm(x, "l1") == pytest.approx(np.abs(x).sum(), rel=1e-14)
    assert _common.layer_norm(x, "linf") == np.abs(x).max()
    assert _common.layer_norm(np.zeros(0), "l2") == 0.0
    assert np.isnan(_common.layer_norm(np.r_[x, np.nan], "linf"))


@pytest.mark.parametrize("dtype", [np.float16, np.float32, np.float64])
@pytest.mark.parametrize("kind", ["l2", "l1", "linf"])
def test_norm_partial_is_the_float64_reduction_of_the_block(kind, dtype):
    """Widening before squaring gives exactly np.square(block, dtype=float64) (and |·|)."""
    block = np.random.default_rng(1).normal(size=_common.BLOCK - 3).astype(dtype)
    before = block.copy()
    wide = {"l2": np.square, "l1": np.absolute, "linf": np.absolute}[kind](block, dtype=np.float64)
    expected = float(np.max(wide) if kind == "linf" else np.sum(wide))
    assert _common.norm_partial(block, kind) == expected
    assert _common.norm_partial(block, kind, np.empty(block.size)) == expected
    np.testing.assert_array_equal(block, before)  # the block itself is never written


# --- the benchmark's smoke mode ------------------------------------------------------------------


def test_benchmark_quick_mode_writes_json(tmp_path):
    out = tmp_path / "bench.json"
    script = ROOT / "benchmarks" / "optimizer_step.py"
    proc = subprocess.run(
        [sys.executable, str(script), "--quick", "--repeats", "2", "--out", str(out)],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=ROOT,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    report = json.loads(out.read_text())
    assert {r["optimizer"] for r in report["results"]} == {"lamb", "lars", "optax_lars", "adamw"}
    for row in report["results"]:
        assert row["tree"] == "small" and row["dtype"] == "float32"
        for key in ("ours_s", "optax_s", "floor_s", "numpy_s"):
            assert row[key] > 0, key
        assert row["ours_over_optax"] == pytest.approx(row["ours_s"] / row["optax_s"])
        if row["same_algorithm"]:
            assert row["max_abs_diff_ours_vs_optax"] < 1e-5
        # the paired ratio, recomputed from the recorded samples: round i's step over round i's
        # floor pass scaled to the algorithm's arrays
        samples, arrays = row["samples_s"], row["floor_arrays"]
        rounds = zip(samples["ours"], samples["floor_pass"], strict=False)
        expected = np.median([a / (f * arrays / 4) for a, f in rounds])
        assert row["ours_over_floor_paired"] == pytest.approx(expected)
    assert set(report["floor"]["arrays"]) == {"lamb", "lars", "optax_lars", "adamw"}
    assert "| optimizer | tree |" in proc.stdout


def test_floor_states_splits_rounds_by_the_floor(tmp_path):
    out = tmp_path / "states.json"
    script = ROOT / "benchmarks" / "floor_states.py"
    args = [sys.executable, str(script), "--tree", "small", "--rounds", "4", "--out", str(out)]
    proc = subprocess.run(args, capture_output=True, text=True, timeout=120, cwd=ROOT)
    assert proc.returncode == 0, proc.stderr[-2000:]
    report = json.loads(out.read_text())
    rows, cut = report["rounds"], report["split_at_floor_s"]
    assert len(rows) == 4 and sum(g["rounds"] for g in report["groups"].values()) == 4
    for name, group in report["groups"].items():
        member = {
            "all": lambda r: cut is None,
            "fast_memory": lambda r: r["floor_s"] < cut,
            "slow_memory": lambda r: r["floor_s"] >= cut,
        }[name]
        mine = [r for r in rows if member(r)]
        assert group["rounds"] == len(mine)
        expected = np.median([r["numpy_s"] / r["floor_s"] for r in mine])
        assert group["numpy_over_floor"] == pytest.approx(expected)
    assert "| state | rounds |" in proc.stdout
