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

    @property
    def symbols(self) -> list[sp.Symbol]:
        """The bound's free symbols, sorted by name."""
        return sorted(self.bound.free_symbols, key=lambda s: s.name)

    def _values(self, constants: Mapping[str, Any]) -> dict[sp.Symbol, float]:
        values = symbols.aggregates(**constants)
        missing = [s for s in self.symbols if s not in values]
        if missing:
            raise ValueError(
                f"{self.key}: the bound needs {[symbols.DESCRIPTIONS[s] for s in missing]}; "
                f"pass them with the names {list(symbols.CONSTANT_NAMES)}"
            )
        return values

    def evaluate(self, **constants: Any) -> float:
        """The explicit bound on a numeric instance (constants with the toolkit's names).

        Extra constants the theorem does not use are accepted, so one instance dict serves every
        theorem.
        """
        values = self._values(constants)
        fn = sp.lambdify(self.symbols, self.bound, "math")
        return float(fn(*[values[s] for s in self.symbols]))

    def evaluate_sympy(self, **constants: Any) -> float:
        """The same value by sympy substitution and 30-digit evaluation (cross-check)."""
        values = self._values(constants)
        return float(self.bound.subs({s: sp.Float(values[s], 30) for s in self.symbols}).evalf(30))

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
            "symbols": {s.name: symbols.DESCRIPTIONS[s] for s in self.symbols},
        }

    def to_json(self) -> str:
        return json.dumps(self.record(), sort_keys=True)
