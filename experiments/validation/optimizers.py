"""The optimizers a validation run uses, as data: the analysed algorithm of each theorem and the
baselines, with the settings record the assumption checker reads.

The theorems analyse (Theorems 1-3): SGD with λ = 0 (Theorem 1); LARS with β1 = λ = 0
(Theorem 2, Algorithm 1); LAMB with β1 = λ = ε = 0 and β2 = 0 or 0 < β2 < 1 (Theorem 3,
Algorithm 2). Each is built from :mod:`lamb_ref` (never re-implemented here), with the learning
rate left as an argument so runs can be vmapped over η.

Any other optax transformation enters through :meth:`OptimizerSpec.custom` (name ``custom``):
its settings are declared, not measured, and the runner checks on the run itself the one
property of the claimed theorem's update that a run shows (:data:`STEP_NORM_REL`,
:func:`run_violations`).
"""

from __future__ import annotations

import dataclasses
import math
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
# The name of every user-supplied optimizer (:meth:`OptimizerSpec.custom`; its label is the
# user's name): fixed, so that no user name can pass for an analysed algorithm's.
CUSTOM = "custom"
# The theorem settings a custom optimizer may claim: the keys of ``theory.THEOREMS`` (tested
# equal; not imported, so that this module does not load sympy).
CLAIMS = ("sgd", "lars", "lamb_beta2_zero", "lamb_beta2_pos")
LAYERWISE_CLAIMS = ("lars", "lamb_beta2_zero", "lamb_beta2_pos")
# The check run on a custom optimizer's steps, by claim: Theorems 2-3 (λ = 0) move every layer
# by exactly η·φ(‖x^(i)‖); Theorem 1's step is -η·g.
STEP_NORM, SGD_STEP = "step_norm", "sgd_step"
CHECK_OF_CLAIM = {"sgd": SGD_STEP} | dict.fromkeys(LAYERWISE_CLAIMS, STEP_NORM)
# The settings a custom optimizer declares (the names of ``settings()``) and their hyper keys.
DECLARED = {
    "beta1": "b1",
    "beta2": "b2",
    "eps": "eps",
    "weight_decay": "weight_decay",
    "phi": "phi",
}
# What a claim declares unless ``settings`` says otherwise: the theorem's own setting
# (β1 = λ = ε = 0; β2 = 0 for Theorem 1-2 and Theorem 3 with β2 = 0). φ, and β2 of
# ``lamb_beta2_pos``, have no default: the claim needs their values.
CLAIM_DEFAULTS = {"beta1": 0.0, "beta2": 0.0, "eps": 0.0, "weight_decay": 0.0}
# Relative tolerance of the step checks. The step norm of a normalised update,
# ‖η φ u/‖u‖‖, is a float64 computation of two norms (sums of d_i squares), a division and
# products: its relative rounding error is at most about (d_i + 4)·2⁻⁵³, below 1.2e-10 for
# d_i ≤ 10⁶, and within a few ulps in practice (pairwise sums). 1e-9 leaves that margin, while a
# different φ, a missing normalisation or an un-normalised step (Adam) deviates by far more.
STEP_NORM_REL = 1e-9
# -η g against the step: one rounded product per coordinate (1 ulp), so the same tolerance
# holds with a wider margin.
SGD_STEP_REL = 1e-9
# Each check's failed-assumption wording and tolerance.
STEP_CHECKS = {
    STEP_NORM: ("step norm outside [ηα_l, ηα_u]", STEP_NORM_REL),
    SGD_STEP: ("step ≠ −η g", SGD_STEP_REL),
}
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
        name: one of ``OPTIMIZERS``, or ``CUSTOM`` for a user's transformation.
        hyper: sorted (name, value) pairs: ``b1, b2, eps, momentum, phi, weight_decay`` as
            applicable (φ as (α_l, α_u)), and optionally ``decay`` = w ∈ [0, 1], the weight of
            the cosine decay of the step size (:meth:`learning_rate`; absent: constant η).
            For ``CUSTOM`` the declared settings (see :meth:`custom`).
        make: ``CUSTOM`` only: η ↦ the ``optax.GradientTransformation`` (see :meth:`custom`).
        claims: ``CUSTOM`` only: the key of ``theory.THEOREMS`` whose setting the user declares
            the optimizer satisfies, or None.
        title: ``CUSTOM`` only: the user's name for it (the :attr:`label`).
    """

    name: str
    hyper: tuple[tuple[str, Any], ...] = ()
    make: Callable[[Any], optax.GradientTransformation] | None = None
    claims: str | None = None
    title: str | None = None

    def __post_init__(self) -> None:
        if self.name == CUSTOM:
            _check_custom(self.title, self.make, self.claims)
        elif self.name not in OPTIMIZERS:
            raise ValueError(
                f"optimizer={self.name!r} is invalid: expected one of {OPTIMIZERS} (or "
                f"OptimizerSpec.custom for any other optax transformation)"
            )
        elif (self.make, self.claims, self.title) != (None, None, None):
            raise ValueError(
                f"make, claims and title are invalid for optimizer={self.name!r}: only "
                f"OptimizerSpec.custom sets them"
            )
        w = self.params.get(DECAY)
        if w is not None and not (isinstance(w, int | float) and 0.0 <= float(w) <= 1.0):
            raise ValueError(f"decay={w!r} is invalid: expected a number in [0, 1]")

    @classmethod
    def custom(
        cls,
        name: str,
        make: Callable[[Any], optax.GradientTransformation],
        *,
        claims: str | None = None,
        settings: Mapping[str, Any] | None = None,
    ) -> OptimizerSpec:
        """Any optax transformation as a validation optimizer.

        Args:
            name: the label in tables (the spec's ``name`` is ``CUSTOM``).
            make: η ↦ ``optax.GradientTransformation``, where η is a traced float64 scalar (the
                runner vmaps over step sizes) or, with :func:`with_decay`, an optax schedule
                ``count -> η_t``. The callable itself identifies the compiled program: keep one
                object per optimizer (two specs with the same ``make`` share a program).
            claims: a key of ``theory.THEOREMS`` (``CLAIMS``) whose setting the user declares the
                optimizer satisfies, or None (a plain comparison: no step check). A claim
                declares the theorem's own settings β1 = λ = ε = 0 (and β2 = 0 except for
                ``lamb_beta2_pos``) unless ``settings`` says otherwise, and the runner checks
                the claimed step on the run (``RunResult.step_check``, :func:`run_violations`).
            settings: declared hyperparameters, some of ``beta1``, ``beta2`` (in [0, 1)),
                ``eps``, ``weight_decay`` (≥ 0) and ``phi`` = (α_l, α_u) with 0 < α_l ≤ α_u,
                φ(z) = clip(z, α_l, α_u). Layer-wise claims need ``phi`` (the step check uses
                it); ``lamb_beta2_pos`` needs ``beta2``. Undeclared settings of an optimizer
                without a claim read as unknown (NaN; ``phi`` None), so no assumption on them
                holds.
        """
        _check_custom(name, make, claims)
        declared = _declared_settings(settings, claims)
        hyper = tuple(sorted((DECLARED[k], v) for k, v in declared.items()))
        return cls(CUSTOM, hyper, make=make, claims=claims, title=name)

    @property
    def is_custom(self) -> bool:
        return self.name == CUSTOM

    @property
    def step_check(self) -> str | None:
        """The check the runner makes on every step (``STEP_NORM``, ``SGD_STEP``): for a custom
        optimizer with a claim only, None otherwise (built-ins run the analysed code itself)."""
        return CHECK_OF_CLAIM.get(self.claims) if self.is_custom else None

    @property
    def params(self) -> dict[str, Any]:
        return dict(self.hyper)

    @property
    def label(self) -> str:
        """A table label, e.g. ``lamb(b2=0)``; a custom optimizer's is the user's name."""
        p = self.params
        if self.is_custom:
            return str(self.title)
        if self.name == "lamb":
            return f"lamb(b2={p['b2']:g})"
        return self.name

    @property
    def structure(self) -> tuple:
        """The name and the static hyperparameters (those not in ``TRACED``): with equal
        structure, two specs share one compiled runner."""
        traced = self._traced()
        # a scheduled spec traces one more number: its program is not a constant-η one's
        schedule = (DECAY,) if DECAY in traced else ()
        if self.is_custom:
            # the program is the user's transformation (the callable itself: another make is
            # another program) and the step check; the declared settings other than the traced
            # φ do not enter it
            return (self.name, self.make, self.step_check, *schedule)
        static = tuple((k, v) for k, v in self.hyper if k not in traced)
        return (self.name, static, *schedule)

    def _traced(self) -> tuple[str, ...]:
        own = TRACED.get(self.name, ())
        if self.is_custom:
            own = ("phi",) if "phi" in self.params else ()
        return own + ((DECAY,) if DECAY in self.params else ())

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
        """η ↦ the ``lamb_ref`` transformation (η may be a traced scalar under vmap); a custom
        optimizer's ``make``.

        ``numbers`` (the form of :meth:`numbers`, possibly traced) replaces the spec's own φ
        and β2; φ then enters as the callable ``lamb_ref`` builds from a pair
        (:func:`lamb_ref._layers.phi_function`), since a traced pair cannot pass its checks.
        """
        if self.make is not None:
            return self.make
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
        """The run's settings as ``theory`` assumptions read them (``Assumption.check``).

        A custom optimizer's are its declared ones (NaN where unknown, so that no assumption on
        them holds), with ``claims`` added.
        """
        p = self.params
        if self.is_custom:
            unknown = math.nan
            return {
                "optimizer": self.name,
                "claims": self.claims,
                "beta1": p.get("b1", unknown),
                "beta2": p.get("b2", unknown),
                "eps": p.get("eps", unknown),
                "weight_decay": p.get("weight_decay", unknown),
                "eta": float(eta),
                "batch_size": int(batch_size),
                "layer_sizes": list(layer_sizes),
                "phi": p.get("phi"),
                "decay": p.get(DECAY, 0.0),
            }
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
        """Per-layer trust ratio φ(‖x^(i)‖)/‖r^(i)‖ the last update used (NaN if none, and for
        a custom optimizer, whose state is opaque: its step is checked instead, see
        :attr:`step_check`).

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
    return dataclasses.replace(opt, hyper=tuple(sorted(hyper.items())))


def _check_custom(name: Any, make: Any, claims: Any) -> None:
    if not isinstance(name, str) or not name:
        raise ValueError(f"name={name!r} is invalid: expected a non-empty string")
    if not callable(make):
        raise ValueError(
            f"make={make!r} is invalid: expected a callable learning_rate -> "
            "optax.GradientTransformation"
        )
    try:
        hash(make)
    except TypeError:
        # the callable keys the compiled program
        raise ValueError(f"make={make!r} is invalid: expected a hashable callable") from None
    if claims is not None and claims not in CLAIMS:
        raise ValueError(f"claims={claims!r} is invalid: expected None or one of {list(CLAIMS)}")


def _number(name: str, value: Any) -> float:
    ok = isinstance(value, int | float | np.floating | np.integer) and not isinstance(value, bool)
    if not ok or not math.isfinite(float(value)):
        raise ValueError(f"settings[{name!r}]={value!r} is invalid: expected a finite number")
    return float(value)


def _phi(value: Any) -> tuple[float, float]:
    allowed = "expected (alpha_l, alpha_u) with 0 < alpha_l <= alpha_u, both finite"
    try:
        lo, hi = value
        lo, hi = _number("phi", lo), _number("phi", hi)
    except (TypeError, ValueError):
        raise ValueError(f"settings['phi']={value!r} is invalid: {allowed}") from None
    if not 0 < lo <= hi:
        raise ValueError(f"settings['phi']={value!r} is invalid: {allowed}")
    return lo, hi


def _declared_settings(settings: Mapping[str, Any] | None, claims: str | None) -> dict[str, Any]:
    """The validated declaration, with a claim's own settings as defaults (``CLAIM_DEFAULTS``)."""
    given = dict(settings or {})
    unknown = sorted(set(given) - set(DECLARED))
    if unknown:
        raise ValueError(f"settings={unknown} are invalid: expected some of {sorted(DECLARED)}")
    out: dict[str, Any] = {}
    for key, value in given.items():
        if key == "phi":
            out[key] = _phi(value)
            continue
        v = _number(key, value)
        in_range = 0.0 <= v < 1.0 if key in ("beta1", "beta2") else v >= 0.0
        if not in_range:
            allowed = "[0, 1)" if key in ("beta1", "beta2") else "[0, inf)"
            raise ValueError(
                f"settings[{key!r}]={value!r} is invalid: expected a number in {allowed}"
            )
        out[key] = v
    if claims is None:
        return out
    need = ["phi"] * (claims in LAYERWISE_CLAIMS) + ["beta2"] * (claims == "lamb_beta2_pos")
    for key in need:
        if key not in out:
            raise ValueError(
                f"settings[{key!r}] is missing: claims={claims!r} needs its declared value"
                + (" (the step check uses phi)" if key == "phi" else "")
            )
    defaults = {k: v for k, v in CLAIM_DEFAULTS.items() if k not in need}
    return defaults | out


def _percent(x: float) -> str:
    return f"{100 * x:.3g} %"


def run_violations(opt: OptimizerSpec, result: Any, theorem: str | None) -> list[str]:
    """The failed assumptions a run itself shows, for ``opt`` validated against ``theorem``.

    For a custom optimizer with a claim: the claimed step's worst relative deviation per layer,
    over every η, seed and step of ``result`` (an ``experiments.validation.runner.RunResult``,
    typed loosely because the runner imports this module; its ``step_check``), beyond
    :data:`STEP_NORM_REL` (layer-wise claims: ‖x_{t+1}^(i) - x_t^(i)‖ outside [η α_l, η α_u]) or
    :data:`SGD_STEP_REL` (``sgd``: x_{t+1} - x_t against -η g_t), one line naming the layers
    (e.g. ``"step norm outside [ηα_l, ηα_u]: layer_01 deviates by up to 31 %"``); and
    ``"claims lars, validated against sgd"`` when the claim is not ``theorem``. Empty for the
    built-in optimizers (they run the analysed code) and for a custom one without a claim (the
    optimizer-name rule of the assumption checker covers both).
    """
    if theorem is not None and theorem not in CLAIMS:
        raise ValueError(f"theorem={theorem!r} is invalid: expected None or one of {list(CLAIMS)}")
    kind = opt.step_check
    if kind is None:
        return []
    out = []
    if theorem is not None and opt.claims != theorem:
        out.append(f"claims {opt.claims}, validated against {theorem}")
    what, tol = STEP_CHECKS[kind]
    dev = result.step_check
    if dev is None:
        return [*out, f"{what}: not recorded by this run"]
    dev = np.asarray(dev, np.float64)
    # np.max keeps a NaN (a diverged run), and NaN <= tol is false: a failure, never a pass
    worst = np.max(dev.reshape(-1, dev.shape[-1]), axis=0)
    names = result.layer_names or tuple(f"layer {i}" for i in range(len(worst)))
    bad = [f"{n} deviates by up to {_percent(d)}" for n, d in zip(names, worst, strict=True)
           if not d <= tol]  # fmt: skip
    if bad:
        out.append(f"{what}: " + "; ".join(bad))
    return out
