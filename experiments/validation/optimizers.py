"""The optimizers a validation run uses, as data: the analysed algorithm of each theorem and the
baselines, with the settings record the assumption checker reads.

The theorems analyse (Theorems 1-3): SGD with λ = 0 (Theorem 1); LARS with β1 = λ = 0
(Theorem 2, Algorithm 1); LAMB with β1 = λ = ε = 0 and β2 = 0 or 0 < β2 < 1 (Theorem 3,
Algorithm 2). Each is built from :mod:`lamb_ref` (never re-implemented here), with the learning
rate left as an argument so runs can be vmapped over η.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
import optax

import lamb_ref
from lamb_ref import _layers

OPTIMIZERS = ("sgd", "lars", "lamb", "momentum", "adam")
# The hyperparameters a validation instance sets (φ's bounds, LAMB's β2): passed to the runner as
# traced numbers, so that one compiled program serves every instance; the rest stay static.
TRACED = {"lars": ("phi",), "lamb": ("b2", "phi")}
# The schedule weight w of :meth:`OptimizerSpec.learning_rate`, traced for every optimizer when
# the spec sets it, so that a constant (w = 0) and a decaying (w = 1) step share one program.
DECAY = "decay"
# Defaults of the baselines (the usual ones; equal tuning budgets are over η only).
BASELINE_DEFAULTS: dict[str, dict[str, Any]] = {
    "sgd": {},
    "momentum": {"momentum": 0.9},
    "adam": {"b1": 0.9, "b2": 0.999, "eps": 1e-8},
}


@dataclass(frozen=True)
class OptimizerSpec:
    """An optimizer with every hyperparameter fixed except η.

    Attributes:
        name: one of ``OPTIMIZERS``.
        hyper: sorted (name, value) pairs: ``b1, b2, eps, momentum, phi, weight_decay`` as
            applicable (φ as (α_l, α_u)), and optionally ``decay`` = w ∈ [0, 1], the weight of
            the cosine decay of the step size (:meth:`learning_rate`; absent: constant η).
    """

    name: str
    hyper: tuple[tuple[str, Any], ...] = ()

    def __post_init__(self) -> None:
        if self.name not in OPTIMIZERS:
            raise ValueError(f"optimizer={self.name!r} is invalid: expected one of {OPTIMIZERS}")
        w = self.params.get(DECAY)
        if w is not None and not (isinstance(w, int | float) and 0.0 <= float(w) <= 1.0):
            raise ValueError(f"decay={w!r} is invalid: expected a number in [0, 1]")

    @property
    def params(self) -> dict[str, Any]:
        return dict(self.hyper)

    @property
    def label(self) -> str:
        """A table label, e.g. ``lamb(b2=0)``."""
        p = self.params
        if self.name == "lamb":
            return f"lamb(b2={p['b2']:g})"
        return self.name

    @property
    def structure(self) -> tuple:
        """The name and the static hyperparameters (those not in ``TRACED``): with equal
        structure, two specs share one compiled runner."""
        traced = self._traced()
        static = tuple((k, v) for k, v in self.hyper if k not in traced)
        # a scheduled spec traces one more number: its program is not a constant-η one's
        return (self.name, static) + ((DECAY,) if DECAY in traced else ())

    def _traced(self) -> tuple[str, ...]:
        return TRACED.get(self.name, ()) + ((DECAY,) if DECAY in self.params else ())

    def numbers(self) -> dict[str, Any]:
        """The traced hyperparameters (``TRACED``, and ``decay`` when set) as float64 arrays, φ
        as shape (2,)."""
        p = self.params
        return {k: np.asarray(p[k], np.float64) for k in self._traced()}

    def learning_rate(self, eta: Any, T: Any, numbers: Mapping[str, Any] | None = None) -> Any:
        """The step size the optimizer gets for a run of T steps: ``eta`` itself when the spec
        sets no ``decay`` (the same object, so constant-η programs are unchanged), else the
        schedule of the step count t = 0, ..., T-1

            η_t = η · (1 - w + w · ½(1 + cos(π t / T)))

        (w = 0: constant; w = 1: cosine decay from η to 0 at t = T, every step taken has
        η_t > 0). ``numbers`` (possibly traced, as in :meth:`factory`) supplies w.
        """
        p = {**self.params, **(numbers or {})}
        if DECAY not in p:
            return eta
        w = p[DECAY]

        def schedule(count):
            frac = jnp.asarray(count, jnp.float64) / jnp.asarray(T, jnp.float64)
            return eta * (1.0 - w + w * 0.5 * (1.0 + jnp.cos(jnp.pi * frac)))

        return schedule

    def factory(
        self, numbers: Mapping[str, Any] | None = None
    ) -> Callable[[Any], optax.GradientTransformation]:
        """η ↦ the ``lamb_ref`` transformation (η may be a traced scalar under vmap).

        ``numbers`` (the form of :meth:`numbers`, possibly traced) replaces the spec's own φ
        and β2; φ then enters as the callable ``lamb_ref`` builds from a pair
        (:func:`lamb_ref._layers.phi_function`), since a traced pair cannot pass its checks.
        """
        p = self.params
        if numbers is not None:
            p = {**p, **numbers}
            if "phi" in numbers:
                p["phi"] = _layers.phi_function((numbers["phi"][0], numbers["phi"][1]))
        if self.name == "sgd":
            return lambda eta: lamb_ref.sgd(eta)
        if self.name == "momentum":
            return lambda eta: lamb_ref.momentum(eta, momentum=p["momentum"])
        if self.name == "adam":
            return lambda eta: lamb_ref.adam(eta, p["b1"], p["b2"], p["eps"])
        if self.name == "lars":
            return lambda eta: lamb_ref.lars(eta, momentum=p["b1"], phi=p["phi"])
        return lambda eta: lamb_ref.lamb(eta, p["b1"], p["b2"], p["eps"], 0.0, phi=p["phi"])

    def settings(self, eta: float, batch_size: int, layer_sizes) -> dict[str, Any]:
        """The run's settings as ``theory`` assumptions read them (``Assumption.check``)."""
        p = self.params
        return {
            "optimizer": self.name,
            "beta1": p.get("b1", p.get("momentum", 0.0)),
            "beta2": p.get("b2", 0.0),
            "eps": p.get("eps", 0.0),
            "weight_decay": p.get("weight_decay", 0.0),
            "eta": float(eta),
            "batch_size": int(batch_size),
            "layer_sizes": list(layer_sizes),
            "phi": p.get("phi"),
            "decay": p.get(DECAY, 0.0),
        }

    def trust_ratios(
        self,
        state: Any,
        params: Mapping[str, jax.Array],
        numbers: Mapping[str, Any] | None = None,
    ) -> jax.Array:
        """Per-layer trust ratio φ(‖x^(i)‖)/‖r^(i)‖ the last update used (NaN if none).

        Recomputed from the state after the update with :func:`lamb_ref._layers.trust_ratio`,
        the function the optimizers call: LARS's r is the momentum buffer; LAMB's (λ = 0) is
        m̂/(√v̂ + ε) with the bias correction of Algorithm 2. ``numbers`` as in :meth:`factory`.
        """
        xs = [params[k] for k in sorted(params)]
        if self.name not in ("lars", "lamb"):
            return jnp.full((len(xs),), jnp.nan)
        p = {**self.params, **(numbers or {})}
        phi = _layers.phi_function((p["phi"][0], p["phi"][1]))
        if self.name == "lars":
            rs = [state.momentum[k] for k in sorted(params)]
        else:
            t = state.count.astype(jnp.float64)
            b1, b2 = p["b1"], p["b2"]
            rs = []
            for k in sorted(params):
                m_hat = state.mu[k] / (1 - b1**t)
                v_hat = state.nu[k] / (1 - b2**t)
                rs.append(m_hat / (jnp.sqrt(v_hat) + p["eps"]))
        return jnp.stack(
            [_layers.trust_ratio(x, r, phi, "l2") for x, r in zip(xs, rs, strict=True)]
        )


def for_theorem(theorem: str, phi: tuple[float, float] | None, beta2: float) -> OptimizerSpec:
    """The algorithm a theorem analyses, with the theorem's settings (β1 = λ = ε = 0)."""
    if theorem == "sgd":
        return OptimizerSpec("sgd")
    if phi is None:
        raise ValueError(
            f"phi=None is invalid for theorem {theorem!r}: LARS/LAMB need bounded "
            "phi = [alpha_l, alpha_u] in the instance"
        )
    phi = (float(phi[0]), float(phi[1]))
    if theorem == "lars":
        return OptimizerSpec("lars", (("b1", 0.0), ("phi", phi)))
    if theorem in ("lamb_beta2_zero", "lamb_beta2_pos"):
        b2 = 0.0 if theorem == "lamb_beta2_zero" else float(beta2)
        return OptimizerSpec("lamb", (("b1", 0.0), ("b2", b2), ("eps", 0.0), ("phi", phi)))
    raise ValueError(
        f"theorem={theorem!r} is invalid: expected one of "
        "['sgd', 'lars', 'lamb_beta2_zero', 'lamb_beta2_pos']"
    )


def baseline(name: str, **overrides: Any) -> OptimizerSpec:
    """A baseline (``sgd``, ``momentum``, ``adam``) with its default hyperparameters, any of
    them replaced by ``overrides`` (e.g. ``baseline("adam", b1=0.0)``, RMSProp with Adam's bias
    correction of v)."""
    if name not in BASELINE_DEFAULTS:
        raise ValueError(f"baseline={name!r} is invalid: expected one of {list(BASELINE_DEFAULTS)}")
    unknown = sorted(set(overrides) - set(BASELINE_DEFAULTS[name]))
    if unknown:
        allowed = sorted(BASELINE_DEFAULTS[name])
        raise ValueError(
            f"overrides={unknown} are invalid for {name!r}: expected some of {allowed}"
        )
    return OptimizerSpec(name, tuple(sorted({**BASELINE_DEFAULTS[name], **overrides}.items())))


def with_decay(opt: OptimizerSpec, w: float) -> OptimizerSpec:
    """``opt`` with the cosine-decay weight w ∈ [0, 1] (:meth:`OptimizerSpec.learning_rate`):
    specs that differ only in w share one compiled runner."""
    hyper = {k: v for k, v in opt.hyper if k != DECAY} | {DECAY: float(w)}
    return OptimizerSpec(opt.name, tuple(sorted(hyper.items())))
