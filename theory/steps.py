"""Proof steps as data, each with a machine verification.

A :class:`Step` is a relation ``lhs (= | <=) rhs`` with a justification. :func:`verify` checks it
and reports one of these methods (:attr:`Verification.method`):

* ``sympy-identity``: sympy simplifies rhs − lhs to 0 (under the symbols' assumptions);
* ``sympy-sign``: sympy decides rhs − lhs ≥ 0 from the symbols' assumptions, optionally after a
  substitution that encodes a side condition (e.g. α_u = α_l + δ with δ ≥ 0) or the conclusion
  of a lemma listed in ``uses``;
* ``sympy-sum``: the same for statements with sympy ``Sum`` over a symbolic number of terms
  (layers, coordinates, iterations). Sums are split by linearity and evaluated where sympy can
  (constants, geometric series, telescoping F_{t+1} − F_t); sympy then decides the identity, or
  the sign from the summands' assumptions, so the statement holds for every number of terms.
  A ``certificate`` (e.g. a sum of squares) may be given: sympy proves rhs − lhs equals it and
  decides its sign;
* ``sympy-cases``: an exhaustive case split (named in the justification); the identity or sign
  is decided by sympy in every case;
* ``sympy-componentwise``: the statement is built with explicit coordinates for every dimension
  n in a stated range and decided by sympy for each; the detail names the range, and nothing is
  claimed beyond it;
* ``sympy-integral``: lhs = ∫_0^1 g(s) ds and rhs = ∫_0^1 u(s) ds are sympy identities (sympy
  integrates) and u(s) − g(s) ≥ 0 is decided pointwise for s > 0, so the integrals are ordered;
* ``numeric-search``: for statements about expectations over distributions (a ``numeric``
  sampler), a seeded NumPy falsification search over random admissible instances, reporting how
  many were tried. The test-suite attacks every numerically verified step again with hypothesis.

A step's ``uses`` are lemmas its substitutions rely on; they are verified first and the step
fails if one does. Nothing is reported verified without one of these checks passing. Only a step
with plain scalar symbols, no substitutions and no lemmas falls back to a numeric search when
sympy cannot decide it.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import sympy as sp

Sampler = Callable[[np.random.Generator], Mapping[sp.Symbol, float]]
VectorCheck = Callable[[np.random.Generator], tuple[float, float]]
Statement = tuple[sp.Expr, sp.Expr, Mapping[sp.Expr, sp.Expr]]  # lhs, rhs, substitutions
Build = Callable[[int], Sequence[Statement]]

# Relative slack for floating-point comparisons in numeric searches: the checked expressions
# are a few dozen float64 operations, so 1e-9 is far above rounding and far below any real gap.
NUMERIC_REL_SLACK = 1e-9
DEFAULT_SAMPLES = 2000
# Substitutions may chain (a side condition inside a lemma's conclusion); they are applied until
# nothing changes, at most this many rounds (a cycle is a malformed step and fails).
SUBSTITUTION_ROUNDS = 8

METHODS = (
    "sympy-identity",
    "sympy-sign",
    "sympy-sum",
    "sympy-cases",
    "sympy-componentwise",
    "sympy-integral",
    "numeric-search",
)


@dataclass(frozen=True)
class Verification:
    status: str  # "verified" or "failed"
    method: str  # one of METHODS
    detail: str

    @property
    def ok(self) -> bool:
        return self.status == "verified"


@dataclass(frozen=True)
class Step:
    """One step of an argument: ``lhs relation rhs`` because ``justification``.

    Args:
        substitutions: rewrite symbols (or ``Indexed`` terms, ``Derivative`` terms) before the
            symbolic check: side conditions and the conclusions of the lemmas in ``uses``.
        sampler: draws admissible values of the free symbols for the numeric fallback
            (default: :func:`positive_sampler`).
        numeric: for statements about expectations, a function drawing one random admissible
            instance and returning the (lhs, rhs) values; lhs/rhs are then display expressions.
        uses: lemmas (steps) whose conclusions the substitutions encode; verified first.
        certificate: an expression sympy proves equal to rhs − lhs and decides ≥ 0.
        cases: (name, substitutions) of an exhaustive case split, each decided by sympy.
        componentwise: n -> the statements at dimension n (explicit coordinates), decided by
            sympy for every n in ``dims``; lhs/rhs are then display expressions.
        integral: (s, g, u): lhs = ∫_0^1 g ds, rhs = ∫_0^1 u ds and g ≤ u pointwise.
    """

    name: str
    lhs: sp.Expr
    rhs: sp.Expr
    relation: str
    justification: str
    substitutions: Mapping[sp.Expr, sp.Expr] = field(default_factory=dict)
    sampler: Sampler | None = None
    numeric: VectorCheck | None = None
    uses: tuple[Step, ...] = ()
    certificate: sp.Expr | None = None
    cases: tuple[tuple[str, Mapping[sp.Expr, sp.Expr]], ...] = ()
    componentwise: Build | None = None
    dims: range = range(1, 9)
    integral: tuple[sp.Symbol, sp.Expr, sp.Expr] | None = None

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


# --- symbolic decisions ----------------------------------------------------------------------


def substitute(expr: sp.Expr, subs: Mapping[sp.Expr, sp.Expr]) -> sp.Expr:
    """``expr`` with ``subs`` applied structurally (also inside sums) until nothing changes."""
    for _ in range(SUBSTITUTION_ROUNDS):
        new = expr.xreplace(dict(subs))
        if new == expr:
            return expr
        expr = new
    raise ValueError(f"substitutions {dict(subs)} do not terminate")


def _split_sum(s: sp.Sum) -> sp.Expr:
    """Σ f = Σ f_1 + Σ f_2 + ... grouping the terms of f by the indexed sequences they involve,
    each group evaluated by sympy (a group F[t] − F[t+1] telescopes, a constant becomes n·c)."""
    groups: dict[frozenset, list[sp.Expr]] = defaultdict(list)
    for term in sp.Add.make_args(sp.expand(s.function)):
        groups[frozenset(x.base for x in term.atoms(sp.Indexed))].append(term)
    return sp.Add(*[sp.Sum(sp.Add(*terms), *s.limits).doit() for terms in groups.values()])


def normalise_sums(expr: sp.Expr) -> sp.Expr:
    """Every sympy ``Sum`` in ``expr`` split by linearity and evaluated where sympy can."""
    return expr.replace(lambda x: isinstance(x, sp.Sum), _split_sum)


def _is_zero(expr: sp.Expr) -> bool:
    expr = normalise_sums(expr)
    return sp.simplify(expr) == 0 or sp.simplify(sp.expand(expr)) == 0


def _factor_summands(expr: sp.Expr) -> sp.Expr:
    """Each summand over a common denominator and factored (reveals termwise signs)."""
    return expr.replace(
        lambda x: isinstance(x, sp.Sum),
        lambda x: sp.Sum(sp.factor(sp.together(x.function)), *x.limits),
    )


def _symbolic_nonnegative(expr: sp.Expr) -> bool:
    if expr.is_nonnegative:  # e.g. a certificate Σ_j (...)², before expanding it
        return True
    expr = normalise_sums(expr)
    simple = sp.simplify(expr)
    forms = (expr, simple, _factor_summands(simple), sp.factor(sp.together(expr)), sp.expand(expr))
    return any(form.is_nonnegative for form in forms)


def decide(
    lhs: sp.Expr,
    rhs: sp.Expr,
    relation: str,
    subs: Mapping[sp.Expr, sp.Expr] | None = None,
    certificate: sp.Expr | None = None,
) -> bool:
    """Whether sympy proves ``lhs relation rhs`` after ``subs`` (with ``certificate``: proves
    rhs − lhs = certificate and certificate ≥ 0)."""
    subs = subs or {}
    # substitute again after evaluating the sums: telescoping produces new terms (F_{T+1})
    diff = substitute(normalise_sums(substitute(rhs - lhs, subs)), subs)
    if relation == "=":
        return _is_zero(diff)
    if certificate is not None:
        cert = substitute(certificate, subs)
        signed = _symbolic_nonnegative(certificate) or _symbolic_nonnegative(cert)
        return signed and _is_zero(diff - cert)
    return _symbolic_nonnegative(diff)


def _has_sum(*exprs: sp.Expr | None) -> bool:
    return any(e is not None and e.has(sp.Sum) for e in exprs)


def _subs_text(subs: Mapping[sp.Expr, sp.Expr]) -> str:
    return ", ".join(f"{k} = {v}" for k, v in subs.items())


def _integral(step: Step) -> Verification:
    s, g, u = step.integral
    lhs_ok = _is_zero(sp.Integral(g, (s, 0, 1)).doit() - step.lhs)
    rhs_ok = _is_zero(sp.Integral(u, (s, 0, 1)).doit() - step.rhs)
    pointwise = decide(g, u, "<=", step.substitutions)
    if lhs_ok and rhs_ok and pointwise:
        return Verification(
            "verified",
            "sympy-integral",
            f"lhs = ∫_0^1 ({g}) ds and rhs = ∫_0^1 ({u}) ds by sympy integration; the integrands "
            f"are ordered for every s > 0 after substituting {_subs_text(step.substitutions)}",
        )
    parts = {"lhs integral": lhs_ok, "rhs integral": rhs_ok, "pointwise bound": pointwise}
    failed = ", ".join(k for k, ok in parts.items() if not ok)
    return Verification("failed", "sympy-integral", f"sympy could not prove: {failed}")


def _cases(step: Step) -> Verification:
    for name, subs in step.cases:
        merged = {**step.substitutions, **subs}
        if not decide(step.lhs, step.rhs, step.relation, merged, step.certificate):
            return Verification("failed", "sympy-cases", f"sympy could not decide case {name!r}")
    names = "; ".join(name for name, _ in step.cases)
    return Verification("verified", "sympy-cases", f"decided by sympy in every case: {names}")


def _componentwise(step: Step) -> Verification:
    for n in step.dims:
        for lhs, rhs, subs in step.componentwise(n):
            if not decide(lhs, rhs, step.relation, subs):
                return Verification(
                    "failed", "sympy-componentwise", f"sympy could not decide {lhs} vs {rhs}"
                )
    lo, hi = step.dims[0], step.dims[-1]
    return Verification(
        "verified",
        "sympy-componentwise",
        f"decided by sympy with explicit coordinates for every dimension n = {lo}..{hi} "
        "(not claimed beyond)",
    )


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


def _symbolic(step: Step) -> Verification | None:
    """The step's symbolic verification, or None if it is a plain scalar step (no substitutions,
    no lemmas) sympy could not decide (those fall back to a numeric search)."""
    if step.integral is not None:
        return _integral(step)
    if step.cases:
        return _cases(step)
    if step.componentwise is not None:
        return _componentwise(step)
    summed = _has_sum(step.lhs, step.rhs, step.certificate)
    if decide(step.lhs, step.rhs, step.relation, step.substitutions, step.certificate):
        method = (
            "sympy-sum" if summed else ("sympy-identity" if step.relation == "=" else "sympy-sign")
        )
        how = (
            "simplify(rhs - lhs) == 0"
            if step.relation == "="
            else "rhs - lhs >= 0 from the symbols' assumptions"
        )
        if step.certificate is not None:
            how = f"rhs - lhs = {step.certificate} (sympy identity), which sympy decides >= 0"
        if summed:
            how += "; sums over a symbolic number of terms (linearity, evaluation by sympy)"
        if step.substitutions:
            how += f" after substituting {_subs_text(step.substitutions)}"
        return Verification("verified", method, how)
    if summed or step.certificate is not None:
        return Verification("failed", "sympy-sum", "sympy could not decide the statement")
    if step.substitutions or step.uses:
        # a search over the free symbols would ignore the side conditions and lemmas
        method = "sympy-identity" if step.relation == "=" else "sympy-sign"
        return Verification("failed", method, "sympy could not decide the statement")
    return None


# Lemmas are used by many steps; their results are kept with the step object itself (so an id
# can never be reused by another step while its entry lives).
_LEMMA_RESULTS: dict[tuple[int, int, int], tuple[Step, Verification]] = {}


def _verify_lemma(step: Step, samples: int, seed: int) -> Verification:
    key = (id(step), samples, seed)
    hit = _LEMMA_RESULTS.get(key)
    if hit is None or hit[0] is not step:
        hit = _LEMMA_RESULTS[key] = (step, verify(step, samples=samples, seed=seed))
    return hit[1]


def verify(step: Step, samples: int = DEFAULT_SAMPLES, seed: int = 0) -> Verification:
    """Check ``step``: its ``uses`` first, then symbolically where sympy can, otherwise (plain
    scalar symbols or a ``numeric`` sampler) by a seeded numeric search."""
    used = []
    for lemma in step.uses:
        res = _verify_lemma(lemma, samples, seed)
        if not res.ok:
            return Verification(
                "failed", res.method, f"uses {lemma.name!r}, which failed: {res.detail}"
            )
        used.append(f"{lemma.name} ({res.method})")
    res = _symbolic(step) if step.numeric is None else None
    if res is None:
        res = _numeric_search(step, samples, seed)
    if used and res.ok:
        res = Verification(res.status, res.method, f"{res.detail}; uses: {'; '.join(used)}")
    return res
