"""The simple gradient noise scale B_simple = tr(Σ)/‖G‖² from per-example gradients.

McCandlish, Kaplan, Amodei et al. 2018, "An Empirical Model of Large-Batch Training"
(arXiv:1812.06162), Appendix A. With per-example gradients g(x; s) of the per-example loss at
parameters x, G = E_s[g(x; s)] the true gradient and Σ = Cov_s[g(x; s)] their covariance, the
*simple noise scale* is B_simple = tr(Σ)/‖G‖². It equals the paper's B_noise = tr(HΣ)/GᵀHG when
the Hessian H is a multiple of the identity; the paper's model predicts the critical batch size
(above which a larger batch saves few steps) B_crit ≈ B_noise, and it uses B_simple as the
easily measured estimate, which it finds predicts B_crit approximately across its tasks.
Because ‖G‖ shrinks as the loss falls, B_simple grows during training (the paper's observation
that the noise scale increases as the loss decreases).

Estimator. From M per-example gradients g_1 … g_M at one point (drawn i.i.d.), with
ḡ = (1/M) Σ_i g_i:

    tr Σ̂  = Σ_i ‖g_i − ḡ‖² / (M − 1) = (Σ_i ‖g_i‖² − M‖ḡ‖²) / (M − 1),   E tr Σ̂ = tr Σ,
    E‖ḡ‖² = ‖G‖² + tr(Σ)/M,   so   Ĝ² = ‖ḡ‖² − tr Σ̂ / M   has E Ĝ² = ‖G‖².

Both terms are unbiased; their ratio B̂_simple = tr Σ̂ / Ĝ² is consistent (not unbiased).
Ĝ² is ≤ 0 with fair probability when ‖G‖² ≲ tr(Σ)/M, i.e. when B_simple ≳ M: then M examples
do not resolve the gradient, B_simple is reported as ``inf`` and Ĝ² is kept as it is (never
clamped), and a larger M is needed. The estimates are sums over the parameter leaves of the
same estimates per leaf (``per_layer``).

Per-example gradients. Example i's gradient is ``jax.grad(task.loss)(params, example_i)`` with
a batch of one (``jax.vmap``-ed over chunks of ``chunk`` examples). ḡ is then the full-batch
gradient ``jax.grad(task.loss)(params, batch)`` only if the batch loss is the mean of the
per-example losses, i.e. each example's loss is the mean over its own predictions. Every task
of :mod:`.tasks` has that form: digits and teacher have one prediction per example, and mlm a
fixed number K of masked predictions per sequence, so the mean over the batch's B·K predictions
is the mean of the per-sequence means.

Numerics. Models compute in float32. Each chunk returns its example count, its gradient sum and
its *centred* sum of squares Σ_j ‖g_j − m_c‖² (m_c the chunk mean, float32, per leaf); chunks
are merged in float64 NumPy by the parallel-variance update (Chan, Golub & LeVeque 1979):
S ← S_a + S_b + ‖m_b − m_a‖² n_a n_b/(n_a + n_b). This is the same quantity as the raw-moment
formula above but avoids its cancellation when the variance is small next to ‖ḡ‖², gives
tr Σ̂ ≥ 0, and exactly 0 for identical examples. Only one chunk of per-example gradients
(``chunk`` × the parameter count, float32) is in memory at a time. A batch whose size M is not
a multiple of ``chunk`` ends with the window of its last ``chunk`` examples, the examples
already counted masked out, so one compiled function (per task and chunk size) serves every
window.

Sampling (:func:`simple_noise_scale`). The examples are the batch ``task.train_batch(arrays,
key, step, 0, M)``: for the teacher stream, M fresh i.i.d. samples (the estimates are then
exactly as above); for mlm, the masking is drawn with them (part of the example distribution).
For the dataset tasks they are the first M positions of a fresh permutation of the N training
examples, i.e. M distinct examples drawn without replacement (M ≤ N; a larger M repeats
examples of a second epoch). Everything then refers to the training set's empirical
distribution (the one SGD samples), G its full-batch gradient and Σ_N its covariance (divisor
N), and sampling without replacement shifts the expectations slightly: E tr Σ̂ = tr Σ_N · N/(N−1)
and E Ĝ² = ‖G‖² − tr Σ_N/(N − 1), a bias of a fraction ≈ M/N of the tr Σ/M correction,
negligible for M ≪ N (at M = N, ḡ = G exactly and the correction overshoots).

Reference gradient. Late in training B_simple exceeds any affordable M of per-example gradients,
so Ĝ² from the same M examples drowns in their noise (its standard error is ≈ tr Σ/M). With
``n_reference = R``, G is estimated instead from ḡ_R, the mean gradient over R further examples
computed as ordinary batch gradients (no per-example gradients: R can be the whole training
set), and Ĝ² = ‖ḡ_R‖² − c · tr Σ̂ with c = 1/R for a stream, or c = (N − R)/(R(N − 1)) for R
examples drawn without replacement from a training set of N (``population``; c = 0 at R = N,
where ḡ_R = G exactly). tr Σ̂ still comes from the M per-example gradients; the two samples are
independent (different keys), so E Ĝ² = ‖G‖².

Importing this module changes no global state (no ``jax.config`` updates); results are Python
floats.
"""

from __future__ import annotations

import dataclasses
import functools
import math
from dataclasses import dataclass
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from experiments.training import tasks
from experiments.training.nn import check_positive_int
from lamb_ref.tree import leaf_names


@dataclass(frozen=True)
class NoiseScale:
    """The simple noise scale at one point, from M per-example gradients (module doc).

    Attributes:
        n_examples: M, the per-example gradients used.
        trace_sigma: tr Σ̂ = Σ_i ‖g_i − ḡ‖²/(M − 1) = (Σ_i ‖g_i‖² − M‖ḡ‖²)/(M − 1), unbiased.
        grad_sq: the unbiased estimate of ‖G‖², ‖ḡ‖² − tr Σ̂/M; may be <= 0 (never clamped).
        mean_grad_sq: ‖ḡ‖², the squared norm of the mean gradient (biased upwards by tr Σ/M).
        b_simple: trace_sigma / grad_sq; ``math.inf`` when grad_sq <= 0, i.e. when M examples do
            not resolve the gradient from the noise (B_simple ≳ M: use more examples).
        loss: the mean loss over the M examples.
        per_layer: leaf name (``lamb_ref.leaf_names``) → (trace_sigma_i, grad_sq_i), the same
            estimates restricted to that leaf; trace_sigma and grad_sq are their sums.
        n_reference: R, the examples the gradient G was estimated from (M without a separate
            reference sample).
    """

    n_examples: int
    trace_sigma: float
    grad_sq: float
    mean_grad_sq: float
    b_simple: float
    loss: float
    per_layer: dict[str, tuple[float, float]]
    n_reference: int = 0

    def __post_init__(self) -> None:
        if not self.n_reference:
            object.__setattr__(self, "n_reference", self.n_examples)


@functools.lru_cache(maxsize=32)
def _compiled(task: tasks.Task, chunk: int):
    """Per task (tasks are cached objects) and chunk size: jit(stats(params, window, weights)
    -> (loss sum, [gradient sum per leaf], [centred sum of squares per leaf])) over a window of
    ``chunk`` examples, each weighted 1 (counted) or 0 (masked out)."""

    def per_example(params, example):
        one = jax.tree.map(lambda a: a[None], example)  # a batch of one
        return jax.value_and_grad(task.loss)(params, one)

    @jax.jit
    def stats(params, window, weights):
        losses, grads = jax.vmap(per_example, in_axes=(None, 0))(params, window)
        n = jnp.sum(weights)
        sums, squares = [], []
        for g in jax.tree.leaves(grads):
            w = weights.astype(g.dtype).reshape((-1,) + (1,) * (g.ndim - 1))
            total = jnp.sum(w * g, axis=0)
            dev = jnp.square(g - total / n.astype(g.dtype)).reshape(g.shape[0], -1)
            sums.append(total)
            squares.append(jnp.sum(weights.astype(g.dtype) * jnp.sum(dev, axis=1)))
        return jnp.sum(weights.astype(losses.dtype) * losses), sums, squares

    return stats


@functools.lru_cache(maxsize=32)
def _compiled_batch(task: tasks.Task):
    return jax.jit(task.train_batch, static_argnums=4)


def _check_chunk(chunk: int) -> None:
    check_positive_int("chunk", chunk)


def _moments(task: tasks.Task, params: Any, batch: Any, chunk: int):
    """(M, loss sum, [ḡ per leaf, float64], [Σ_i ‖g_i − ḡ‖² per leaf, float64]) over ``batch``."""
    _check_chunk(chunk)
    leaves = jax.tree.leaves(batch)
    if not leaves:
        raise ValueError("batch is invalid: expected a pytree with at least one array")
    sizes = {int(np.shape(a)[0]) if np.ndim(a) else 0 for a in leaves}
    if len(sizes) != 1:
        raise ValueError(
            f"batch is invalid: its leaves have leading sizes {sorted(sizes)}, expected one "
            "shared leading (example) axis"
        )
    (m,) = sizes
    if m < 2:
        raise ValueError(f"batch has {m} example(s): expected at least 2 (a leading axis >= 2)")
    params = jax.tree.map(jnp.asarray, params)
    host = jax.tree.map(np.asarray, batch)  # windows are sliced on the host
    width = min(int(chunk), m)
    stats = _compiled(task, width)
    n, loss_sum, mean, ss = 0, 0.0, None, None
    for start in range(0, m, width):
        lo = min(start, m - width)  # the last window ends at m; examples before start are masked
        window = jax.tree.map(lambda a, lo=lo: a[lo : lo + width], host)
        weights = (np.arange(lo, lo + width) >= start).astype(np.float32)
        loss_c, sums_c, ss_c = stats(params, window, weights)
        n_c = int(weights.sum())
        mean_c = [np.asarray(s, np.float64) / n_c for s in sums_c]
        ss_c = np.asarray([float(s) for s in ss_c], np.float64)
        loss_sum += float(loss_c)
        if mean is None:
            mean, ss = mean_c, ss_c
        else:  # Chan et al.'s parallel update of the mean and the centred sum of squares
            tot = n + n_c
            for i, (a, b) in enumerate(zip(mean, mean_c, strict=True)):
                delta = b - a
                ss[i] += ss_c[i] + float(np.sum(delta * delta)) * n * n_c / tot
                mean[i] = a + delta * (n_c / tot)
        n += n_c
    return m, loss_sum, mean, ss


def per_example_stats(task: tasks.Task, params: Any, batch: Any, chunk: int = 256) -> NoiseScale:
    """The noise-scale estimates (:class:`NoiseScale`) from the per-example gradients of the
    M examples of ``batch`` (a pytree of arrays with a shared leading example axis, M >= 2), in
    windows of ``chunk`` examples (an integer >= 1; memory ∝ chunk × parameters)."""
    m, loss_sum, mean, ss = _moments(task, params, batch, chunk)
    per_layer = {}
    tr_total = mean_sq_total = 0.0
    for name, g, s in zip(leaf_names(params), mean, ss, strict=True):
        tr = float(s) / (m - 1)
        mean_sq = float(np.sum(g * g))
        per_layer[name] = (tr, mean_sq - tr / m)
        tr_total += tr
        mean_sq_total += mean_sq
    grad_sq = mean_sq_total - tr_total / m
    return NoiseScale(
        n_examples=m,
        trace_sigma=tr_total,
        grad_sq=grad_sq,
        mean_grad_sq=mean_sq_total,
        b_simple=tr_total / grad_sq if grad_sq > 0 else math.inf,
        loss=loss_sum / m,
        per_layer=per_layer,
    )


def reference_gradient(
    task: tasks.Task,
    params: Any,
    key: jax.Array,
    n_reference: int,
    *,
    step: int = 0,
    chunk: int = 1024,
) -> list[np.ndarray]:
    """ḡ_R per leaf (float64): the mean gradient of ``task.loss`` over the ``n_reference``
    examples ``task.train_batch(arrays, key, step, 0, R)``, in equal batches of the largest
    divisor of R not above ``chunk`` (equal batches make the mean of batch means the mean)."""
    check_positive_int("n_reference", n_reference)
    _check_chunk(chunk)
    width = next(d for d in range(min(chunk, n_reference), 0, -1) if n_reference % d == 0)
    batch = _compiled_batch(task)(task.arrays, key, jnp.int32(step), jnp.int32(0), n_reference)
    grad = _compiled_grad(task)
    params = jax.tree.map(jnp.asarray, params)
    total = None
    for lo in range(0, n_reference, width):
        g = grad(params, jax.tree.map(lambda a, lo=lo: a[lo : lo + width], batch))
        g = [np.asarray(x, np.float64) for x in jax.tree.leaves(g)]
        total = g if total is None else [a + b for a, b in zip(total, g, strict=True)]
    return [t / (n_reference // width) for t in total]


@functools.lru_cache(maxsize=32)
def _compiled_grad(task: tasks.Task):
    return jax.jit(jax.grad(task.loss))


def simple_noise_scale(
    task: tasks.Task,
    params: Any,
    key: jax.Array,
    n_examples: int,
    *,
    step: int = 0,
    chunk: int = 256,
    n_reference: int | None = None,
    population: int | None = None,
) -> NoiseScale:
    """B_simple at ``params`` from ``n_examples`` (an integer >= 2) training examples: the
    batch ``task.train_batch(task.arrays, key, step, 0, n_examples)`` (module doc, Sampling),
    through :func:`per_example_stats` with windows of ``chunk`` examples. With ``n_reference``
    the gradient comes from that many further examples (:func:`reference_gradient`, drawn with
    ``fold_in(key, 1)``) and ``population`` (the training set's size; None for a stream) sets the
    sampling correction (module doc, Reference gradient)."""
    if (
        isinstance(n_examples, bool)
        or not isinstance(n_examples, int | np.integer)
        or n_examples < 2
    ):
        raise ValueError(f"n_examples={n_examples!r} is invalid: expected an integer >= 2")
    _check_chunk(chunk)
    check_positive_int("step", step, minimum=0)
    batch = _compiled_batch(task)(task.arrays, key, jnp.int32(step), jnp.int32(0), int(n_examples))
    own = per_example_stats(task, params, batch, chunk)
    if n_reference is None:
        return own
    if population is not None:
        check_positive_int("population", population)
        if n_reference > population:
            raise ValueError(
                f"n_reference={n_reference!r} is invalid: expected <= population={population}"
            )
    ref = reference_gradient(task, params, jax.random.fold_in(key, 1), n_reference, step=step)
    if population is None:
        c = 1.0 / n_reference
    else:
        c = (population - n_reference) / (n_reference * max(population - 1, 1))
    per_layer = {}
    grad_sq = 0.0
    for (name, (tr, _)), g in zip(own.per_layer.items(), ref, strict=True):
        gs = float(np.sum(g * g)) - c * tr
        per_layer[name] = (tr, gs)
        grad_sq += gs
    return dataclasses.replace(
        own,
        grad_sq=grad_sq,
        mean_grad_sq=float(sum(np.sum(g * g) for g in ref)),
        b_simple=own.trace_sigma / grad_sq if grad_sq > 0 else math.inf,
        per_layer=per_layer,
        n_reference=n_reference,
    )
