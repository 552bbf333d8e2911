"""Assumption checks shared by the theorems, on a numeric instance (see ``theorem.Assumption``).

An instance is a dict with the toolkit's constant names (docs/validation.md: ``f_gap, L,
sigma, sigma_coord, G, d, h, T, alpha_l, alpha_u, beta2``), a ``settings`` dict for the run
(``beta1, weight_decay, eps, eta, batch_size, layer_sizes, phi``) and facts certified by the
objective that produced it (``smoothness_certified``, ``noise_variance_certified``,
``noise_bounded``).
"""

from __future__ import annotations

import math
from collections.abc import Callable

from theory.theorem import Assumption, Instance

# Relative tolerance when comparing a run's η with the prescription: both are float64 values of
# the same closed form, so only rounding separates them.
ETA_REL_TOL = 1e-9


def _settings(instance: Instance) -> dict:
    return instance["settings"]


def certified(flag: str, statement: str) -> Assumption:
    return Assumption(flag, statement, lambda inst: bool(inst[flag]))


def batch_equals_T() -> Assumption:
    return Assumption(
        "b = T",
        "the minibatch size equals the number of iterations",
        lambda inst: int(_settings(inst)["batch_size"]) == int(inst["T"]),
    )


def prescribed_eta(eta_of: Callable[[Instance], float]) -> Assumption:
    def check(inst: Instance) -> bool:
        settings = _settings(inst)
        eta, want = float(settings["eta"]), eta_of(inst)
        # the theorems analyse a constant step: a schedule's weight ("decay", 0 = constant) must
        # be 0; settings without the entry describe a constant step
        constant = float(settings.get("decay", 0.0)) == 0.0
        return constant and math.isclose(eta, want, rel_tol=ETA_REL_TOL)

    return Assumption("prescribed eta", "constant step size equal to the theorem's η", check)


def setting_is(name: str, value: float) -> Assumption:
    return Assumption(
        f"{name} = {value:g}",
        f"the analysed algorithm has {name} = {value:g}",
        lambda inst: float(_settings(inst)[name]) == value,
    )


def phi_bounded() -> Assumption:
    """φ is a clip (alpha_l, alpha_u) with 0 < alpha_l <= alpha_u equal to the instance's."""

    def check(inst: Instance) -> bool:
        phi = _settings(inst)["phi"]
        if phi is None or callable(phi):
            return False  # identity is unbounded; a callable cannot be certified here
        lo, hi = float(phi[0]), float(phi[1])
        return 0 < lo <= hi and lo == float(inst["alpha_l"]) and hi == float(inst["alpha_u"])

    return Assumption(
        "alpha_l <= phi <= alpha_u", "φ(v) = clip(v, α_l, α_u) with 0 < α_l ≤ α_u", check
    )


def equal_layer_sizes() -> Assumption:
    def check(inst: Instance) -> bool:
        sizes = list(_settings(inst)["layer_sizes"])
        return len(set(sizes)) == 1 and sum(sizes) == int(inst.get("d", sum(sizes)))

    return Assumption("d_i = d/h", "every layer has the same size d/h", check)
