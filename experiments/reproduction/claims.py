"""Claims: what the toolkit checks, each with a verdict derived from result tables only.

A claim is one row of ``claims.csv`` (DESIGN.md columns ``claim_id, source, statement, verdict,
evidence, figure``). Experiments declare a ``claims(tables) -> list[Claim]`` function that reads
the tables they wrote (``{table_name: DataFrame}``), so a verdict can always be re-derived from
the numbers in its table. A claim is never ``reproduced`` from rows outside the theorem's
hypotheses: :func:`in_hypothesis_rows` is the only way validation rows enter a verdict.
"""

from __future__ import annotations

import io
from collections.abc import Iterable
from dataclasses import asdict, dataclass, fields

import pandas as pd

VERDICTS = ("reproduced", "partially", "not_reproduced", "not_applicable")
COLUMNS = ("claim_id", "source", "statement", "verdict", "evidence", "figure")


@dataclass(frozen=True)
class Claim:
    """One checked claim.

    Attributes:
        claim_id: stable identifier, e.g. ``thm2_lars_bound_holds``.
        source: where the claim comes from (``Theorem 2``, ``PAPER.md §6 item 7``, ``Table 2``).
        statement: the claim in one sentence, as the paper or the toolkit states it.
        verdict: one of :data:`VERDICTS`.
        evidence: the numbers behind the verdict (with CIs / seeds / error bars) and the table.
        figure: the figure's file stem under ``figures/`` ('' if none).
    """

    claim_id: str
    source: str
    statement: str
    verdict: str
    evidence: str
    figure: str = ""

    def __post_init__(self) -> None:
        if self.verdict not in VERDICTS:
            raise ValueError(
                f"verdict={self.verdict!r} for claim {self.claim_id!r} is invalid: "
                f"expected one of {VERDICTS}"
            )
        for f in ("claim_id", "source", "statement", "evidence"):
            if not str(getattr(self, f)).strip():
                raise ValueError(f"claim {self.claim_id!r}: {f} must be a non-empty string")


def as_bool(values: pd.Series) -> pd.Series:
    """A boolean column as read back from CSV (bool, or the strings 'True'/'False')."""
    if values.dtype == bool:
        return values
    return values.astype(str).str.strip().str.lower() == "true"


def in_hypothesis_rows(validation: pd.DataFrame) -> pd.DataFrame:
    """The validation rows that may support a ``reproduced`` verdict (``in_hypothesis`` true)."""
    if validation.empty:
        return validation
    return validation[as_bool(validation["in_hypothesis"])]


def verdict_from_fraction(n_ok: int, n: int) -> str:
    """``reproduced`` if all n hold, ``partially`` if some do, ``not_reproduced`` if none,
    ``not_applicable`` if there is nothing to judge."""
    if n == 0:
        return "not_applicable"
    if n_ok == n:
        return "reproduced"
    return "partially" if n_ok > 0 else "not_reproduced"


def to_frame(claims: Iterable[Claim]) -> pd.DataFrame:
    rows = [asdict(c) for c in claims]
    df = pd.DataFrame(rows, columns=[f.name for f in fields(Claim)])
    dup = df["claim_id"][df["claim_id"].duplicated()].tolist()
    if dup:
        raise ValueError(f"duplicate claim_id(s) {dup}: every claim needs its own id")
    return df


def to_csv_text(claims: Iterable[Claim]) -> str:
    buf = io.StringIO()
    to_frame(claims).to_csv(buf, index=False)
    return buf.getvalue()


def validate_frame(df: pd.DataFrame) -> None:
    """Raise if a claims table is malformed (columns, verdict vocabulary, unique ids)."""
    if tuple(df.columns) != COLUMNS:
        raise ValueError(f"claims columns {tuple(df.columns)} != {COLUMNS}")
    bad = sorted(set(df["verdict"]) - set(VERDICTS))
    if bad:
        raise ValueError(f"claims verdict(s) {bad} invalid: expected some of {VERDICTS}")
    if df["claim_id"].duplicated().any():
        raise ValueError("claims: duplicate claim_id")
