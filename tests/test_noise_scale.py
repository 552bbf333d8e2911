"""The simple gradient noise scale (experiments.training.noise_scale): per-example statistics
vs independent NumPy float64 on least squares, chunk invariance, the mean-gradient identity
(with a sum-loss control where it fails), zero-variance and label-noise controls, a statistical
check against closed forms on Gaussian linear regression, a real-task smoke test and bad
inputs."""

import dataclasses
import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from experiments.training import noise_scale, tasks
from lamb_ref import leaf_names

# JAX's defaults (float32, 64-bit types off): the module is meant to run as users run it.
pytestmark = pytest.mark.jax_defaults

# float32 per-example gradients and chunk sums vs float64 NumPy on O(1) data: each per-example
# gradient is within a few ulps (6e-8) and the moments sum <= 23 of them, so 1e-5 relative is
# ~100 ulps of margin while any formula error (M vs M−1, a missing tr Σ/M) moves them by > 1e-2.
F32_REL = 1e-5
# Identical examples: the centred sums see only the rounding of a float32 chunk mean (<= 1 ulp
# per entry, so tr Σ̂ <= ~1e-14 ‖ḡ‖²); the raw-moment formula would leave ~1e-7.
ZERO_VARIANCE_REL = 1e-10
# Statistical check: |estimate − truth| within this many standard errors (Gaussian tail 6e-5).
N_SE = 4.0


def _linear_task(arrays: dict, train_batch) -> tasks.Task:
    """A Task with params {"dense": {"bias": [], "kernel": [d]}} and loss mean ½(x·w + b − y)²."""

    def loss(params, batch):
        pred = batch["x"] @ params["dense"]["kernel"] + params["dense"]["bias"]
        return jnp.mean(0.5 * jnp.square(pred - batch["y"]))

    d = arrays["x"].shape[1] if "x" in arrays else arrays["w_star"].shape[0]
    return tasks.Task(
        "linear", "linear", None, 1000, arrays,
        lambda k: {"dense": {"bias": jnp.zeros((), jnp.float32),
                             "kernel": jnp.zeros(d, jnp.float32)}},
        loss, train_batch, lambda p, a: (jnp.nan, jnp.nan), {},
    )  # fmt: skip


def _dataset_task(x: np.ndarray, y: np.ndarray) -> tasks.Task:
    """Least squares on a fixed dataset; train_batch returns its first B rows."""

    def train_batch(arrays, key, step, offset, batch_size):
        return {"x": arrays["x"][:batch_size], "y": arrays["y"][:batch_size]}

    return _linear_task({"x": jnp.asarray(x), "y": jnp.asarray(y)}, train_batch)


def _stream_task(w_star: np.ndarray, b_star: float, noise: float) -> tasks.Task:
    """y = x·w* + b* + noise·ε, x ~ N(0, I_d), ε ~ N(0, 1), fresh draws from fold_in(key, step)."""

    def train_batch(arrays, key, step, offset, batch_size):
        kx, ke = jax.random.split(jax.random.fold_in(key, step))
        x = jax.random.normal(kx, (batch_size, arrays["w_star"].shape[0]), jnp.float32)
        eps = jax.random.normal(ke, (batch_size,), jnp.float32)
        return {"x": x, "y": x @ arrays["w_star"] + arrays["b_star"] + arrays["noise"] * eps}

    arrays = {
        "w_star": jnp.asarray(w_star, jnp.float32),
        "b_star": jnp.asarray(b_star, jnp.float32),
        "noise": jnp.asarray(noise, jnp.float32),
    }
    return _linear_task(arrays, train_batch)


def _params(w, b) -> dict:
    return {"dense": {"bias": jnp.asarray(b, jnp.float32), "kernel": jnp.asarray(w, jnp.float32)}}


def _numpy_per_example(params: dict, batch: dict) -> dict[str, np.ndarray]:
    """Per-example gradients [M, ...] per leaf name, in float64 from the float32 inputs."""
    x = np.asarray(batch["x"], np.float64)
    y = np.asarray(batch["y"], np.float64)
    w = np.asarray(params["dense"]["kernel"], np.float64)
    b = float(params["dense"]["bias"])
    r = x @ w + b - y
    return {"dense/bias": r[:, None], "dense/kernel": x * r[:, None]}


def _numpy_stats(grads: dict[str, np.ndarray]) -> dict:
    m = next(iter(grads.values())).shape[0]
    per_layer = {}
    for name, g in grads.items():
        mean = g.mean(axis=0)
        tr = (np.sum(g * g) - m * np.sum(mean * mean)) / (m - 1)  # the raw-moment formula
        per_layer[name] = (tr, float(np.sum(mean * mean)))
    tr = sum(t for t, _ in per_layer.values())
    mean_sq = sum(s for _, s in per_layer.values())
    grad_sq = mean_sq - tr / m
    return {
        "trace_sigma": tr, "mean_grad_sq": mean_sq, "grad_sq": grad_sq, "b_simple": tr / grad_sq,
        "per_layer": {k: (t, s - t / m) for k, (t, s) in per_layer.items()},
    }  # fmt: skip


def _least_squares(m: int = 23, d: int = 5):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(m, d)).astype(np.float32)
    y = (x @ rng.normal(size=d) + 0.5 * rng.normal(size=m)).astype(np.float32)
    task = _dataset_task(x, y)
    params = _params(rng.normal(size=d) + 1.0, 0.7)  # far from the optimum: ‖G‖² ≫ tr Σ/M
    return task, params, task.train_batch(task.arrays, None, 0, 0, m)


def _assert_close(result: noise_scale.NoiseScale, ref: dict) -> None:
    for field in ("trace_sigma", "mean_grad_sq", "grad_sq", "b_simple"):
        assert getattr(result, field) == pytest.approx(ref[field], rel=F32_REL), field
    assert result.per_layer.keys() == ref["per_layer"].keys()
    for name, pair in ref["per_layer"].items():
        assert result.per_layer[name] == pytest.approx(pair, rel=F32_REL), name


def test_matches_numpy_closed_form():
    task, params, batch = _least_squares()
    ref = _numpy_stats(_numpy_per_example(params, batch))
    result = noise_scale.per_example_stats(task, params, batch)
    assert result.n_examples == 23
    assert isinstance(result.b_simple, float) and isinstance(result.loss, float)
    _assert_close(result, ref)
    assert result.loss == pytest.approx(float(task.loss(params, batch)), rel=F32_REL)
    assert list(result.per_layer) == leaf_names(params)
    # the correction is material here: the biased ‖ḡ‖² would fail the comparison
    assert ref["mean_grad_sq"] != pytest.approx(ref["grad_sq"], rel=100 * F32_REL)


@pytest.mark.parametrize("chunk", [1, 7, 23, 64])
def test_chunk_invariance(chunk):
    task, params, batch = _least_squares()  # M = 23: chunk 7 leaves a masked last window
    ref = noise_scale.per_example_stats(task, params, batch, chunk=23)
    result = noise_scale.per_example_stats(task, params, batch, chunk=chunk)
    _assert_close(result, dataclasses.asdict(ref))
    assert result.loss == pytest.approx(ref.loss, rel=F32_REL)


def _digits():
    task = tasks.build("digits", "mlp", "tiny", tasks.DataConfig())
    params = task.init(jax.random.PRNGKey(0))
    batch = task.train_batch(task.arrays, jax.random.PRNGKey(1), 0, 0, 64)
    return task, params, batch


def _rel(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.linalg.norm(a - b) / np.linalg.norm(b))


def test_mean_per_example_gradient_is_the_batch_gradient():
    """ḡ = ∇f(batch) (the identity the estimator rests on) on the digits MLP, vectors and norms;
    the control: a sum-over-batch loss breaks it by the factor M."""
    task, params, batch = _digits()
    full = [np.asarray(g, np.float64) for g in jax.tree.leaves(jax.grad(task.loss)(params, batch))]
    m, loss_sum, mean, _ = noise_scale._moments(task, params, batch, 16)
    assert m == 64
    assert loss_sum / m == pytest.approx(float(task.loss(params, batch)), rel=F32_REL)
    for g, f in zip(mean, full, strict=True):
        assert _rel(g, f) < F32_REL
    result = noise_scale.per_example_stats(task, params, batch, chunk=16)
    for (name, (tr, gsq)), f in zip(result.per_layer.items(), full, strict=True):
        assert gsq + tr / m == pytest.approx(float(np.sum(f * f)), rel=F32_REL), name

    summed = tasks.Task(
        "digits-sum", "mlp", None, task.n_train, task.arrays, task.init,
        lambda p, b: task.loss(p, b) * b["y"].shape[0], task.train_batch, task.evaluate, {},
    )  # fmt: skip
    _, _, mean_sum, _ = noise_scale._moments(summed, params, batch, 16)
    full_sum = jax.tree.leaves(jax.grad(summed.loss)(params, batch))
    assert _rel(mean_sum[0], np.asarray(full_sum[0], np.float64)) > 0.5  # ḡ = ∇f/M: it fails


def test_identical_examples_have_zero_variance():
    task, params, batch = _least_squares()
    same = jax.tree.map(lambda a: jnp.repeat(a[:1], 10, axis=0), batch)
    for chunk in (3, 10):
        r = noise_scale.per_example_stats(task, params, same, chunk=chunk)
        assert 0 <= r.trace_sigma <= ZERO_VARIANCE_REL * r.mean_grad_sq
        assert 0 <= r.b_simple <= ZERO_VARIANCE_REL
        assert r.grad_sq == pytest.approx(r.mean_grad_sq, rel=ZERO_VARIANCE_REL)


def test_unresolved_gradient_is_infinite_not_clamped():
    """At the batch's least-squares optimum ḡ ≈ 0, so Ĝ² = ‖ḡ‖² − tr Σ̂/M < 0: b_simple = inf."""
    task, _, batch = _least_squares()
    x = np.asarray(batch["x"], np.float64)
    design = np.column_stack([np.ones(len(x)), x])
    coef = np.linalg.lstsq(design, np.asarray(batch["y"], np.float64), rcond=None)[0]
    r = noise_scale.per_example_stats(task, _params(coef[1:], coef[0]), batch)
    assert r.b_simple == math.inf
    assert r.grad_sq < 0 < r.trace_sigma
    assert r.grad_sq == pytest.approx(r.mean_grad_sq - r.trace_sigma / 23, rel=F32_REL)


def test_label_noise_increases_b_simple():
    rng = np.random.default_rng(1)
    w_star = rng.normal(size=16)
    w = w_star + rng.normal(size=16) / 4  # ‖δ‖² ≈ 1
    key = jax.random.PRNGKey(3)
    b = [
        noise_scale.simple_noise_scale(
            _stream_task(w_star, 0.0, s), _params(w, 0.0), key, 512
        ).b_simple
        for s in (0.5, 1.0, 2.0)
    ]
    assert b[0] < b[1] < b[2], b


def test_gaussian_linear_regression_matches_theory():
    """x ~ N(0, I_d), y = x·w* + b* + ε, ε ~ N(0, s²), loss ½(x·w + b − y)², r = x·δ + δ_b − ε
    (δ = w − w*, δ_b = b − b*). Per example g = (x r, r), so G = (δ, δ_b) and, by Isserlis
    (E[xxᵀ(x·δ)²] = ‖δ‖²I + 2δδᵀ, odd moments vanish, ε independent):

        Σ_ww = (‖δ‖² + δ_b² + s²) I + δδᵀ,   Σ_wb = δ_b δ,   Σ_bb = ‖δ‖² + s²,
        tr Σ = (d + 2)‖δ‖² + d δ_b² + (d + 1) s²,   ‖G‖² = ‖δ‖² + δ_b².

    Standard errors: Var ‖ḡ‖² = 4GᵀΣG/M + 2 tr(Σ²)/M² (exact for Gaussian ḡ; the CLT regime at
    M = 4096), and SE(tr Σ̂) = sd(‖g_i − ḡ‖²)/√M from the sample's own per-example gradients
    (NumPy). Chosen so that the uncorrected ‖ḡ‖² is off by tr Σ/M ≈ 7 SE: the check can fail."""
    d, m, s = 256, 4096, 1.0
    rng = np.random.default_rng(2)
    w_star = rng.normal(size=d) / np.sqrt(d)
    delta = rng.normal(size=d)
    delta *= 0.2 / np.linalg.norm(delta)  # ‖δ‖² = 0.04
    delta_b = 0.1
    task = _stream_task(w_star, 0.3, s)
    params = _params(w_star + delta, 0.3 + delta_b)
    # the parameters as float32 sees them
    delta = np.asarray(params["dense"]["kernel"], np.float64) - np.asarray(
        task.arrays["w_star"], np.float64
    )
    delta_b = float(params["dense"]["bias"]) - float(task.arrays["b_star"])
    dd = float(delta @ delta)
    sigma = np.zeros((d + 1, d + 1))
    sigma[:d, :d] = (dd + delta_b**2 + s**2) * np.eye(d) + np.outer(delta, delta)
    sigma[:d, d] = sigma[d, :d] = delta_b * delta
    sigma[d, d] = dd + s**2
    G = np.append(delta, delta_b)
    tr_true, g_sq_true = float(np.trace(sigma)), dd + delta_b**2
    assert tr_true == pytest.approx((d + 2) * dd + d * delta_b**2 + (d + 1) * s**2, rel=1e-12)

    key = jax.random.PRNGKey(4)
    r = noise_scale.simple_noise_scale(task, params, key, m, chunk=1024)
    # the same batch, per-example gradients in NumPy: the sampling path and the SE of tr Σ̂
    grads = _numpy_per_example(params, task.train_batch(task.arrays, key, 0, 0, m))
    flat = np.concatenate([grads["dense/kernel"], grads["dense/bias"]], axis=1)
    dev_sq = np.sum((flat - flat.mean(axis=0)) ** 2, axis=1)
    se_tr = float(dev_sq.std(ddof=1) / np.sqrt(m))
    se_g = math.sqrt(4 * G @ sigma @ G / m + 2 * np.sum(sigma * sigma) / m**2 + (se_tr / m) ** 2)
    assert r.trace_sigma == pytest.approx(float(dev_sq.sum() / (m - 1)), rel=F32_REL)

    assert abs(r.trace_sigma - tr_true) <= N_SE * se_tr
    assert abs(r.grad_sq - g_sq_true) <= N_SE * se_g
    assert abs(r.mean_grad_sq - g_sq_true) > N_SE * se_g  # control: the biased estimate fails
    b_true = tr_true / g_sq_true
    se_b = b_true * math.hypot(se_tr / tr_true, se_g / g_sq_true)  # delta method
    assert abs(r.b_simple - b_true) <= N_SE * se_b
    # per layer, the bias: r ~ N(δ_b, Σ_bb) is Gaussian, so SE(Σ̂_bb) = √2 Σ_bb/√M
    tr_b, g_b = r.per_layer["dense/bias"]
    s_bb = dd + s**2
    assert abs(tr_b - s_bb) <= N_SE * math.sqrt(2 / m) * s_bb
    assert abs(g_b - delta_b**2) <= N_SE * math.sqrt(4 * delta_b**2 * s_bb / m + 2 * s_bb**2 / m**2)


def test_real_task_smoke():
    task, params, _ = _digits()
    r = noise_scale.simple_noise_scale(task, params, jax.random.PRNGKey(1), 64)
    assert r.n_examples == 64
    assert math.isfinite(r.b_simple) and r.b_simple > 0
    assert list(r.per_layer) == leaf_names(params)
    assert math.isfinite(r.loss) and r.loss > 0
    # simple_noise_scale is per_example_stats on train_batch(arrays, key, step, 0, M)
    batch = task.train_batch(task.arrays, jax.random.PRNGKey(1), 0, 0, 64)
    same = noise_scale.per_example_stats(task, params, batch, chunk=64)
    assert r.b_simple == pytest.approx(same.b_simple, rel=F32_REL)


def test_bad_inputs():
    task, params, batch = _least_squares()
    key = jax.random.PRNGKey(0)
    for bad in (1, 0, -3, 2.0, True, "8", None):
        with pytest.raises(ValueError, match=f"n_examples={bad!r} is invalid"):
            noise_scale.simple_noise_scale(task, params, key, bad)
    for bad in (0, -1, 1.5, True, None):
        with pytest.raises(ValueError, match=f"chunk={bad!r} is invalid"):
            noise_scale.simple_noise_scale(task, params, key, 8, chunk=bad)
        with pytest.raises(ValueError, match=f"chunk={bad!r} is invalid"):
            noise_scale.per_example_stats(task, params, batch, chunk=bad)
    with pytest.raises(ValueError, match="step=-1 is invalid"):
        noise_scale.simple_noise_scale(task, params, key, 8, step=-1)
    with pytest.raises(ValueError, match="batch has 1 example"):
        noise_scale.per_example_stats(task, params, jax.tree.map(lambda a: a[:1], batch))
    with pytest.raises(ValueError, match="batch is invalid"):
        noise_scale.per_example_stats(task, params, {"x": batch["x"], "y": batch["y"][:5]})


def test_reference_gradient_over_the_whole_training_set_is_exact():
    """With R = N examples drawn without replacement the reference gradient is the training
    set's full-batch gradient, and the correction c·tr Σ̂ vanishes (c = (N − R)/(R(N − 1)))."""
    task, params, _ = _digits()
    n = task.n_train
    key = jax.random.PRNGKey(2)
    r = noise_scale.simple_noise_scale(task, params, key, 64, n_reference=n, population=n)
    full = {"x": task.arrays["x"], "y": task.arrays["y"]}
    g = jax.grad(task.loss)(params, full)
    exact = float(sum(np.sum(np.asarray(x, np.float64) ** 2) for x in jax.tree.leaves(g)))
    assert r.n_reference == n
    assert r.grad_sq == pytest.approx(exact, rel=1e-4)  # float32 sums of 1437 examples
    assert r.mean_grad_sq == pytest.approx(r.grad_sq, rel=1e-12)
    assert r.b_simple == pytest.approx(r.trace_sigma / exact, rel=1e-4)
    # tr Σ̂ still comes from the 64 per-example gradients
    own = noise_scale.simple_noise_scale(task, params, key, 64)
    assert r.trace_sigma == own.trace_sigma
    # control: treating the same sample as a stream subtracts tr Σ̂ / R
    stream = noise_scale.simple_noise_scale(task, params, key, 64, n_reference=n)
    assert stream.grad_sq == pytest.approx(r.grad_sq - r.trace_sigma / n, rel=1e-9)
    assert stream.grad_sq != pytest.approx(r.grad_sq, rel=1e-9)


def test_reference_gradient_bad_inputs():
    task, params, _ = _digits()
    key = jax.random.PRNGKey(0)
    with pytest.raises(ValueError, match="n_reference=2000 is invalid"):
        noise_scale.simple_noise_scale(task, params, key, 8, n_reference=2000, population=1437)
    with pytest.raises(ValueError, match="population=0 is invalid"):
        noise_scale.simple_noise_scale(task, params, key, 8, n_reference=16, population=0)
    with pytest.raises(ValueError, match="n_reference=0 is invalid"):
        noise_scale.simple_noise_scale(task, params, key, 8, n_reference=0)
