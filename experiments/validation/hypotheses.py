"""The assumption checker: does a run satisfy a theorem's hypotheses?

It assembles the instance dict :mod:`theory` reads (the constant names of docs/validation.md,
the run's settings and the facts the objective and noise certify) and asks every assumption of
the theorem (``theory.Theorem.check_assumptions``). A run is ``in_hypothesis`` only if all hold;
a run outside the hypotheses is never counted as confirming a theorem.

Certified facts: ``smoothness_certified`` (the family's L_i are proven; for objectives whose
constants are not proven, ``L_certified`` False: custom objectives and ``teacher_student_tanh``,
the sampled :func:`certificate` refutes none of L_i and f*, see :mod:`.certify`),
``noise_variance_certified`` (every noise model here has E ξ_j² = σ̃_j² exactly by construction),
``noise_bounded`` (|[∇ℓ(x, s)]_j| ≤ G for all x, s: needs a bounded objective gradient and
bounded noise; then G = max_i (sup|∇_i f| + max_j∈i sup|ξ_j|); an uncertified objective's
claimed sup|∇_i f| must also pass the certificate's ``gradient_bound`` check).

Numeric range: a row whose measure or bound is not a finite float (an iterate beyond the range
where the objective is exact gives NaN; a bound can overflow) says nothing about the theorem, so
it is never in hypothesis; ``failed_assumptions`` then names ``numeric_range`` (see
:func:`numeric_range`). Runs at the prescribed η on instances inside the documented ranges
(docs/validation.md, derived in objectives.py) stay finite.
"""

from __future__ import annotations

import math
import weakref
from collections.abc import Sequence
from typing import Any

import numpy as np

import theory
from experiments.validation.certify import Certificate, certify
from experiments.validation.objectives import Params
from experiments.validation.optimizers import OptimizerSpec
from experiments.validation.spec import Built

# The certificate of each built instance (without iterates), computed once: a row per T and
# theorem asks for it, and the certifier costs seconds (compilation).
_CERTIFICATES: weakref.WeakKeyDictionary[Built, Certificate] = weakref.WeakKeyDictionary()
# Which certifier checks back which certified fact (``instance_record``); f* enters every bound
# through Δ, so it stands with the smoothness constants.
CERTIFIED_BY = {
    "smoothness_certified": ("block_descent_pairs", "block_hessian", "f_star"),
    "noise_bounded": ("gradient_bound",),
}


def certificate(built: Built, iterates: Sequence[Params] | Params = ()) -> Certificate:
    """The sampled certificate of the instance's constants around its x_1
    (:func:`experiments.validation.certify.certify`), cached per ``built`` when no
    ``iterates`` are given (a run's trajectory adds its consecutive pairs)."""
    if len(iterates):
        return certify(built.objective, x1=built.x1, iterates=iterates)
    if built not in _CERTIFICATES:
        _CERTIFICATES[built] = certify(built.objective, x1=built.x1)
    return _CERTIFICATES[built]


def certify_along(built: Built, iterates: Sequence[Params]) -> Certificate:
    """Certify ``built`` with the consecutive pairs of a run's ``iterates`` added, and keep
    that certificate as the instance's (rows then read it)."""
    _CERTIFICATES[built] = certify(built.objective, x1=built.x1, iterates=iterates)
    return _CERTIFICATES[built]


def _certified(built: Built, fact: str) -> bool:
    """Whether the checks behind ``fact`` pass; proven constants need no certificate."""
    if built.objective.L_certified:
        return True
    cert = certificate(built)
    return all(c.ok for c in cert.checks if c.name in CERTIFIED_BY[fact])


def certificate_failures(built: Built) -> list[str]:
    """The failing lines of the instance's certificate; [] for proven constants (not run)."""
    return [] if built.objective.L_certified else certificate(built).failed()


def name_certificate_checks(built: Built, failed: list[str]) -> list[str]:
    """``failed`` with the failing certificate checks named after the certified fact they
    refute (``certificate: block_hessian`` after ``smoothness_certified``)."""
    if built.objective.L_certified:
        return list(failed)
    bad = {c.name for c in certificate(built).checks if not c.ok}
    out = []
    for name in failed:
        out.append(name)
        out += [f"certificate: {c}" for c in CERTIFIED_BY.get(name, ()) if c in bad]
    return out


def gradient_bound(built: Built) -> float | None:
    """G with |[∇ℓ(x, s)]_j| ≤ G everywhere, or None when no finite bound is certified."""
    obj, noise = built.objective, built.noise
    if obj.grad_bound is None or not noise.bounded:
        return None
    per_layer = [
        gb + (float(np.max(cb)) if np.size(cb) else 0.0)
        for gb, cb in zip(obj.grad_bound, noise.coord_bound, strict=True)
    ]
    return float(max(per_layer))


def constants(built: Built, T: int) -> dict[str, Any]:
    """The instance's constants by the toolkit's names (what ``Theorem.evaluate`` takes)."""
    spec = built.spec
    f_gap = built.f_gap
    if not f_gap > 0:
        raise ValueError(
            f"f(x1) - f* = {f_gap!r} is invalid: the bounds need x1 with f(x1) > f* (start "
            "away from the minimizer)"
        )
    out: dict[str, Any] = {
        "f_gap": f_gap,
        "L": list(built.objective.L),
        "sigma": [float(s) for s in built.noise.sigma],
        "sigma_coord": [float(s) for s in built.noise.sigma_coord_flat],
        "h": built.objective.h,
        "T": int(T),
        "beta2": spec.beta2,
    }
    if spec.phi is not None:
        out["alpha_l"], out["alpha_u"] = spec.phi
    G = gradient_bound(built)
    if G is not None and G > 0:
        out["G"] = G
    return out


def instance_record(
    built: Built, opt: OptimizerSpec, eta: float, batch_size: int, T: int
) -> dict[str, Any]:
    """The dict ``theory`` assumptions read: constants, ``settings`` and certified facts."""
    return {
        **constants(built, T),
        "d": built.objective.d,
        "settings": opt.settings(eta, batch_size, built.objective.layer_sizes),
        "smoothness_certified": _certified(built, "smoothness_certified"),
        "noise_variance_certified": True,
        "noise_bounded": gradient_bound(built) is not None and _certified(built, "noise_bounded"),
    }


def check(
    theorem: str, built: Built, opt: OptimizerSpec, eta: float, batch_size: int, T: int
) -> tuple[bool, list[str]]:
    """(in_hypothesis, the names of the assumptions that fail)."""
    thm = theory.THEOREMS[theorem]
    verdicts = thm.check_assumptions(instance_record(built, opt, eta, batch_size, T))
    failed = [name for name, ok in verdicts.items() if not ok]
    if opt.is_custom:
        # a user's optimizer stands in for the analysed one only under the claim it declares;
        # a claim of another theorem is named with the run's own checks (run_violations)
        if opt.claims is None:
            failed.insert(0, f"optimizer {opt.label!r} declares no theorem's setting")
    elif opt.name != {"sgd": "sgd", "lars": "lars"}.get(theorem, "lamb"):
        failed.insert(0, f"optimizer is {opt.name}, not the analysed algorithm")
    return not failed, failed


NUMERIC_RANGE = "numeric_range"


def numeric_range(
    ok: bool, failed: list[str], measure: float, bound: float
) -> tuple[bool, list[str]]:
    """(in_hypothesis, failed) with the float64 range added: a row is in hypothesis only if its
    measure and bound are finite. ``numeric_range`` is recorded for a non-finite measure, and
    for a non-finite bound when nothing else failed (a bound that needs an uncertified G is NaN
    by design, and that assumption is already named)."""
    bad = [
        f"{n}={v!r}" for n, v in (("measure", measure), ("bound", bound)) if not math.isfinite(v)
    ]
    if not bad or (failed and math.isfinite(measure)):
        return ok and not bad, failed
    return False, [*failed, f"{NUMERIC_RANGE} ({', '.join(bad)} not finite)"]
