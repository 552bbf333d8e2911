"""Proof steps as data, each with a machine verification.

A :class:`Step` is a relation ``lhs (= | <=) rhs`` with a justification. :func:`verify` checks it:

* ``=``: sympy simplifies lhs − rhs to 0 (under the symbols' assumptions);
* ``<=``: sympy decides rhs − lhs ≥ 0 from the symbols' assumptions, optionally after a
  substitution that encodes a side condition (e.g. α_u = α_l + δ with δ ≥ 0);
* otherwise (or for vector statements, given as a ``numeric`` sampler): a seeded NumPy
  falsification search over random admissible instances, reporting how many were tried.
  The test-suite attacks every numerically verified step again with hypothesis.

Nothing is reported verified without one of these checks passing.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

import numpy as np
import sympy as sp

Sampler = Callable[[np.random.Generator], Mapping[sp.Symbol, float]]
VectorCheck = Callable[[np.random.Generator], tuple[float, float]]

# Relative slack for floating-point comparisons in numeric searches: the checked expressions
# are a few dozen float64 operations, so 1e-9 is far above rounding and far below any real gap.
NUMERIC_REL_SLACK = 1e-9
DEFAULT_SAMPLES = 2000


@dataclass(frozen=True)
class Verification:
    status: str  # "verified" or "failed"
    method: str  # how: "sympy-identity", "sympy-sign", "numeric-search"
    detail: str

    @property
    def ok(self) -> bool:
        return self.status == "verified"


@dataclass(frozen=True)
class Step:
    """One step of an argument: ``lhs relation rhs`` because ``justification``.

    Args:
        substitutions: rewrite symbols before the symbolic sign check (side conditions).
        sampler: draws admissible values of the free symbols for the numeric search
            (default: :func:`positive_sampler`).
        numeric: for statements about vectors, a function drawing one random admissible
            instance and returning the (lhs, rhs) values; lhs/rhs are then display expressions.
    """

    name: str
    lhs: sp.Expr
    rhs: sp.Expr
    relation: str
    justification: str
    substitutions: Mapping[sp.Symbol, sp.Expr] = field(default_factory=dict)
    sampler: Sampler | None = None
    numeric: VectorCheck | None = None

    def __post_init__(self) -> None:
        if self.relation not in ("=", "<="):
            raise ValueError(f"relation={self.relation!r} is invalid: expected '=' or '<='")

    def latex(self) -> str:
        rel = "=" if self.relation == "=" else r"\le"
        return f"{sp.latex(self.lhs)} {rel} {sp.latex(self.rhs)}"


def positive_sampler(symbols: list[sp.Symbol]) -> Sampler:
    """Log-uniform values in [1e-3, 1e3] for every symbol (integers rounded up to >= 1)."""

    def draw(rng: np.random.Generator) -> dict[sp.Symbol, float]:
        out = {}
        for s in symbols:
            v = float(np.exp(rng.uniform(np.log(1e-3), np.log(1e3))))
            out[s] = float(max(1, np.ceil(v))) if s.is_integer else v
        return out

    return draw


def _symbolic_nonnegative(expr: sp.Expr) -> bool:
    for form in (expr, sp.simplify(expr), sp.factor(sp.together(expr)), sp.expand(expr)):
        if form.is_nonnegative:
            return True
    return False


def _numeric_search(step: Step, samples: int, seed: int) -> Verification:
    rng = np.random.default_rng(seed)
    if step.numeric is not None:
        draw_values = step.numeric
    else:
        free = sorted((step.lhs - step.rhs).free_symbols, key=lambda s: s.name)
        sampler = step.sampler or positive_sampler(free)
        f_lhs = sp.lambdify(free, step.lhs, "numpy")
        f_rhs = sp.lambdify(free, step.rhs, "numpy")

        def draw_values(rng: np.random.Generator) -> tuple[float, float]:
            values = sampler(rng)
            args = [values[s] for s in free]
            return float(f_lhs(*args)), float(f_rhs(*args))

    for k in range(samples):
        lo, hi = draw_values(rng)
        ok = (
            lo <= hi + NUMERIC_REL_SLACK * max(abs(hi), abs(lo), 1e-300)
            if step.relation == "<="
            else abs(lo - hi) <= NUMERIC_REL_SLACK * max(abs(hi), abs(lo), 1e-300)
        )
        if not ok:
            return Verification(
                "failed", "numeric-search", f"counterexample at sample {k}: lhs={lo!r}, rhs={hi!r}"
            )
    return Verification(
        "verified",
        "numeric-search",
        f"no counterexample in {samples} seeded random instances (seed {seed})",
    )


def verify(step: Step, samples: int = DEFAULT_SAMPLES, seed: int = 0) -> Verification:
    """Check ``step`` symbolically where sympy can, otherwise by a seeded numeric search."""
    if step.numeric is None:
        diff = (step.rhs - step.lhs).subs(step.substitutions)
        if step.relation == "=":
            if sp.simplify(diff) == 0:
                return Verification("verified", "sympy-identity", "simplify(rhs - lhs) == 0")
        elif _symbolic_nonnegative(diff):
            how = "rhs - lhs >= 0 from the symbols' assumptions"
            if step.substitutions:
                subs = ", ".join(f"{k} = {v}" for k, v in step.substitutions.items())
                how += f" after substituting {subs}"
            return Verification("verified", "sympy-sign", how)
    return _numeric_search(step, samples, seed)
