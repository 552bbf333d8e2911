"""A theorem as an object: statement, setting, prescribed η and b, left-hand side, explicit bound,
assumptions checkable on an instance, and proof steps with their verification."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import sympy as sp

from theory import symbols
from theory.steps import Step, Verification, verify

Instance = Mapping[str, Any]
BOUND_FORMS = ("paper", "sharp")


@dataclass(frozen=True)
class Assumption:
    """A hypothesis of a theorem and how to check it on a numeric instance.

    ``check(instance) -> bool`` reads the instance dict: the toolkit's constant names plus
    ``settings`` (``beta1, weight_decay, eps, eta, batch_size, T, layer_sizes, phi``) and, for
    data-dependent assumptions, what the instance provides (e.g. ``noise_bounded``).
    A missing entry raises ``KeyError`` naming it.
    """

    name: str
    statement: str
    check: Callable[[Instance], bool]


@dataclass(frozen=True)
class Theorem:
    key: str
    source: str  # "Theorem 2 (LARS)"
    provenance: str  # docs/paper.md tags: what is confirmed, recalled or derived
    statement: str
    statement_latex: str
    setting: Mapping[str, str]  # the analysed algorithm's settings
    eta: sp.Expr  # prescribed step size
    batch_size: sp.Expr  # prescribed batch size
    lhs_name: str
    lhs_latex: str
    lhs: Callable[[Sequence[np.ndarray]], float]  # per-iterate measure from per-layer gradients
    lhs_squared_after_expectation: bool  # the criterion is (E[lhs])² rather than E[lhs]
    bound: sp.Expr
    assumptions: tuple[Assumption, ...]
    steps: tuple[Step, ...]
    notes: tuple[str, ...] = field(default_factory=tuple)
    # The bound as the proof has it before its last loosening step ((a + b)² ≤ 2a² + 2b² for
    # Theorems 2 and 3 with β2 = 0); None where the proof ends without one (sharp = paper form).
    sharp_bound: sp.Expr | None = None

    def bound_form(self, form: str = "paper") -> sp.Expr:
        """The bound in one of :data:`BOUND_FORMS`: ``"paper"`` (the theorem's stated form,
        :attr:`bound`) or ``"sharp"`` (:attr:`sharp_bound`, ≤ the paper form by a verified step;
        equal to it where the proof has no final loosening step)."""
        if form == "paper":
            return self.bound
        if form == "sharp":
            return self.bound if self.sharp_bound is None else self.sharp_bound
        raise ValueError(f"form={form!r} is invalid: expected one of {BOUND_FORMS}")

    @property
    def symbols(self) -> list[sp.Symbol]:
        """The free symbols of both bound forms, sorted by name."""
        free = self.bound.free_symbols | self.bound_form("sharp").free_symbols
        return sorted(free, key=lambda s: s.name)

    def _values(self, constants: Mapping[str, Any]) -> dict[sp.Symbol, float]:
        values = symbols.aggregates(**constants)
        missing = [s for s in self.symbols if s not in values]
        if missing:
            raise ValueError(
                f"{self.key}: the bound needs {[symbols.DESCRIPTIONS[s] for s in missing]}; "
                f"pass them with the names {list(symbols.CONSTANT_NAMES)}"
            )
        return values

    def evaluate(self, form: str = "paper", **constants: Any) -> float:
        """The explicit bound (``form`` as in :meth:`bound_form`) on a numeric instance
        (constants with the toolkit's names).

        Extra constants the theorem does not use are accepted, so one instance dict serves every
        theorem.
        """
        expr = self.bound_form(form)
        values = self._values(constants)
        fn = sp.lambdify(self.symbols, expr, "math")
        return float(fn(*[values[s] for s in self.symbols]))

    def evaluate_sympy(self, form: str = "paper", **constants: Any) -> float:
        """The same value by sympy substitution and 30-digit evaluation (cross-check)."""
        expr = self.bound_form(form)
        values = self._values(constants)
        return float(expr.subs({s: sp.Float(values[s], 30) for s in self.symbols}).evalf(30))

    def step_size(self, **constants: Any) -> float:
        """The prescribed η on an instance."""
        values = symbols.aggregates(**constants)
        return float(self.eta.subs(values).evalf())

    def check_assumptions(self, instance: Instance) -> dict[str, bool]:
        """Each assumption's verdict on ``instance``."""
        return {a.name: bool(a.check(instance)) for a in self.assumptions}

    def verify(self, samples: int = 2000, seed: int = 0) -> list[tuple[Step, Verification]]:
        """Verify every proof step; see :func:`theory.steps.verify`."""
        return [(s, verify(s, samples=samples, seed=seed)) for s in self.steps]

    def latex(self) -> str:
        """The theorem as a LaTeX block: setting, step size, batch, bound."""
        return (
            f"\\textbf{{{self.source}.}} {self.statement_latex}\\\\\n"
            f"$\\eta = {symbols.latex(self.eta)}$, $b = {symbols.latex(self.batch_size)}$,\\\\\n"
            f"$$ {self.lhs_latex} \\le {symbols.latex(self.bound)} $$"
        )

    def record(self) -> dict[str, Any]:
        """A JSON-serialisable provenance record: expressions (srepr and LaTeX) and constants."""
        return {
            "key": self.key,
            "source": self.source,
            "provenance": self.provenance,
            "statement": self.statement,
            "setting": dict(self.setting),
            "eta": str(self.eta),
            "eta_latex": symbols.latex(self.eta),
            "batch_size": str(self.batch_size),
            "lhs": self.lhs_name,
            "lhs_squared_after_expectation": self.lhs_squared_after_expectation,
            "bound": str(self.bound),
            "bound_srepr": sp.srepr(self.bound),
            "bound_latex": symbols.latex(self.bound),
            "sharp_bound": str(self.bound_form("sharp")),
            "sharp_bound_latex": symbols.latex(self.bound_form("sharp")),
            "symbols": {s.name: symbols.DESCRIPTIONS[s] for s in self.symbols},
        }

    def to_json(self) -> str:
        return json.dumps(self.record(), sort_keys=True)
