"""The validation engine's sampling certifier on the per-layer constants of real networks.

:func:`network_objective` turns a network's loss on a fixed batch into an
:class:`~experiments.validation.objectives.Objective` (layers = the parameter leaves named as the
smoothness tools name them, f* = 0) and :func:`certify_constants` runs
:func:`experiments.validation.certify.certify` on per-layer constants around a probe point: block
descent on random pairs x = c + s·u, y = x + s·v (all layers, or one layer at a time) and
‖∇²_ii f‖ <= L_i by Lanczos at c and at c + s·u, in float64, at small absolute scales s = r·ρ, ρ
the smallest per-coordinate RMS ‖x_i‖/√d_i of the (non-zero) layers, r in
:data:`CERTIFY_REL_SCALES`. It can refute constants near c (a failing pair is a counterexample),
never prove them: random directions are almost orthogonal to the top eigenvector that sets κ,
so a pass says the constants held where sampled, no more.

It joins the training engine (networks, losses, batches: :mod:`experiments.training.smoothness`)
and the validation engine (objectives, certifier), so it lives with the suites that use both.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable
from typing import Any

import jax
import numpy as np

from experiments.training import smoothness
from experiments.training.config import TrainConfig
from experiments.validation import certify as _certify
from experiments.validation import custom
from experiments.validation.objectives import Objective
from lamb_ref.tree import leaf_names

# The certificate's neighbourhood, relative to the weights (ρ = the smallest per-coordinate RMS of
# a non-zero layer): the constants are measured at one point, so only moves small against every
# layer's own size test them; at r = 0.1 no layer moves by more than ~10% of its RMS per
# coordinate (‖x_i − c_i‖ ≈ r·ρ·√d_i <= 0.1‖c_i‖), at 1e-3 the quadratic model is all that
# matters. Three decades so a failure can be placed (curvature at c vs away from it).
CERTIFY_REL_SCALES = (1e-3, 1e-2, 1e-1)
# Layers whose RMS is below this fraction of the largest layer's (zero-initialised biases) carry
# no scale of their own and do not set ρ.
CERTIFY_ZERO_LAYER_REL = 1e-3


def weight_scale(params: Any, zero_rel: float = CERTIFY_ZERO_LAYER_REL) -> float:
    """ρ = min_i ‖x_i‖/√d_i over the layers with ‖x_i‖/√d_i >= zero_rel · max_j ‖x_j‖/√d_j (the
    per-coordinate RMS of the smallest non-zero layer); 1 when every layer is 0."""
    rms = np.asarray(
        [np.linalg.norm(np.asarray(x, np.float64)) / math.sqrt(max(np.size(x), 1))
         for x in jax.tree.leaves(params)]
    )  # fmt: skip
    top = float(rms.max()) if rms.size else 0.0
    if not np.isfinite(top):
        raise ValueError("params is invalid: expected finite weights")
    return 1.0 if top == 0 else float(rms[rms >= zero_rel * top].min())


@functools.lru_cache(maxsize=32)
def _batch_value(loss: Callable, treedef, names: tuple[str, ...]) -> Callable:
    """value(batch, x) = loss(params with leaf n = x[n], batch): one function object per (loss,
    layout), so the certifier compiles once per network, not once per checkpoint."""

    def value(batch, x):
        return loss(jax.tree.unflatten(treedef, [x[n] for n in names]), batch)

    return value


def network_objective(
    loss: Callable[[Any, Any], jax.Array],
    params: Any,
    batch: Any,
    L: dict[str, float],
    *,
    f_star: float = 0.0,
    name: str = "network",
) -> Objective:
    """f(x) = loss(params(x), batch) as an Objective with the constants ``L`` (module doc).

    Layers are the leaves of ``params`` named by ``leaf_names`` (shapes kept); x is the dict
    leaf name -> array, ``params`` only gives the layout. ``batch`` is passed to the certifier as
    the objective's params (floating leaves become float64, as x). ``f_star = 0`` is a valid lower
    bound for a mean of non-negative per-example losses (cross-entropy, squared error), the
    tasks' losses; pass another for a loss that can be negative.

    Args:
        loss: ``loss(params, batch)`` -> scalar (``tasks.Task.loss``), jittable.
        params: the point (its tree structure and shapes).
        batch: the fixed batch.
        L: leaf name -> L_i > 0, the constants to certify.
        f_star: a lower bound on f.
        name: the objective's family name in the certificate.
    """
    leaves, treedef = jax.tree.flatten(params)
    names = tuple(leaf_names(params))
    if len(set(names)) != len(names):
        raise ValueError(f"params is invalid: leaf names {list(names)} are not unique")
    shapes = {n: tuple(np.shape(x)) for n, x in zip(names, leaves, strict=True)}
    return custom.objective_from_functions(
        name, shapes, _batch_value(loss, treedef, names), L=dict(L), f_star=f_star, params=batch
    )


def certify_constants(
    loss: Callable[[Any, Any], jax.Array],
    params: Any,
    batch: Any,
    L: dict[str, float],
    *,
    rel_scales: tuple[float, ...] = CERTIFY_REL_SCALES,
    n_pairs: int = 4,
    n_points: int = 1,
    lanczos_steps: int = 10,
    seed: int = 0,
    name: str = "network",
) -> _certify.Certificate:
    """The sampling certificate of per-layer constants ``L`` around ``params`` (module doc):
    :func:`experiments.validation.certify.certify` on :func:`network_objective`, centred at
    ``params``, at the absolute scales s = r·ρ for r in ``rel_scales`` (ρ = :func:`weight_scale`).

    Per scale: ``n_pairs`` pairs moving every layer and as many moving one layer each, and
    ``n_points`` Hessian points besides the centre (``lanczos_steps`` steps per layer, one full
    HVP each: a lower bound on ‖∇²_ii f‖ unless >= the layer size). The block-descent check's
    ``needed`` is the smallest factor κ with κ·L passing every pair (<= 1 passes).
    """
    obj = network_objective(loss, params, batch, L, name=name)
    rho = weight_scale(params)
    centre = dict(zip(leaf_names(params), jax.tree.leaves(params), strict=True))
    return _certify.certify(
        obj, x1=centre, n_pairs=n_pairs, n_points=n_points, lanczos_steps=lanczos_steps,
        scales=tuple(r * rho for r in rel_scales), seed=seed,
    )  # fmt: skip


def task_certify(
    config: TrainConfig,
    params: Any,
    L: dict[str, float],
    *,
    batch_size: int = 256,
    seed: int = 0,
    cache_dir=None,
    **options: Any,
) -> _certify.Certificate:
    """:func:`certify_constants` for ``config``'s task on the batch of
    :func:`experiments.training.smoothness.task_block_descent` (the batch its constants were
    measured on); ``options`` go to :func:`certify_constants`."""
    loss, batch = smoothness.certify_inputs(
        config, batch_size=batch_size, seed=seed, cache_dir=cache_dir
    )
    name = f"{config.task}/{config.model}"
    return certify_constants(loss, params, batch, L, seed=seed, name=name, **options)
