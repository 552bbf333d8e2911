"""Claims: what the toolkit checks, declared before any run, judged from result tables only.

A claim is declared as data (:class:`ClaimSpec`) when its experiment module is imported, before
anything runs: its id, the paper location it tests, the statement, the metric and the table it is
read from, the rule with its threshold and the reason for that threshold, and a negative control
(a variant of the check that must fail) or the reason none applies. After a run, the
experiment's ``claims(tables)`` function reads the tables it wrote (``{table_name: DataFrame}``,
as read back from CSV) and turns each declaration into one :class:`Claim` row of ``claims.csv``
(:meth:`ClaimSpec.judge`), with the verdict, the evidence and the control's outcome. A claim is
never ``reproduced`` from rows outside the theorem's hypotheses: :func:`in_hypothesis_rows` is
the only way validation rows enter a verdict.
"""

from __future__ import annotations

import io
from collections.abc import Iterable
from dataclasses import asdict, dataclass, fields

import pandas as pd

VERDICTS = ("reproduced", "partially", "not_reproduced", "not_applicable")
COLUMNS = (
    "claim_id",
    "source",
    "statement",
    "verdict",
    "evidence",
    "figure",
    "rule",
    "control",
)
# A control outcome starts with one of these words, so a reader (and a test) can tell at a glance
# whether the check was shown able to fail.
CONTROL_OUTCOMES = ("failed", "held", "none")


@dataclass(frozen=True)
class Claim:
    """One checked claim.

    Attributes:
        claim_id: stable identifier, e.g. ``thm2_lars_bound_holds``.
        source: where the claim comes from (``Theorem 2``, ``Table 2``, ``Appendix E``).
        statement: the claim in one sentence, as the paper or the toolkit states it.
        verdict: one of :data:`VERDICTS`.
        evidence: the numbers behind the verdict (with CIs / seeds / error bars) and the table.
        figure: the figure's file stem under ``figures/`` ('' if none).
        rule: the pre-registered rule in words, with its threshold and the threshold's reason.
        control: the negative control's outcome (``failed: ...`` as required, ``held: ...``
            when the control did not fail, i.e. the check could not tell the difference), or
            ``none: <why no control applies>``.
    """

    claim_id: str
    source: str
    statement: str
    verdict: str
    evidence: str
    figure: str = ""
    rule: str = ""
    control: str = ""

    def __post_init__(self) -> None:
        if self.verdict not in VERDICTS:
            raise ValueError(
                f"verdict={self.verdict!r} for claim {self.claim_id!r} is invalid: "
                f"expected one of {VERDICTS}"
            )
        for f in ("claim_id", "source", "statement", "evidence", "rule", "control"):
            if not str(getattr(self, f)).strip():
                raise ValueError(f"claim {self.claim_id!r}: {f} must be a non-empty string")
        if not self.control.startswith(tuple(f"{w}:" for w in CONTROL_OUTCOMES)):
            raise ValueError(
                f"claim {self.claim_id!r}: control={self.control[:40]!r} must start with one of "
                f"{[w + ':' for w in CONTROL_OUTCOMES]}"
            )


@dataclass(frozen=True)
class ClaimSpec:
    """A claim as declared before any run.

    Attributes:
        claim_id: stable identifier, unique across the registry.
        source: the paper's own location (``Theorem 2``, ``Table 3``, ``Appendix E``,
            ``Section 4.2``), or ``toolkit`` for a check of the toolkit's own construction.
        statement: the claim in one sentence.
        table: the table (file stem) the metric is read from.
        metric: the number(s) read, in words (column and aggregate).
        rule: the comparison with its threshold, in words (``measured ≤ bound on every
            in-hypothesis row``); the claim function must apply exactly this.
        threshold_reason: why that threshold (written before seeing any data).
        control: the negative control in words (a variant of the check that must fail: the
            bound halved, layers shuffled, uniform curvature ...), or ``none: <why>``.
        figure: the figure's file stem ('' if none).
    """

    claim_id: str
    source: str
    statement: str
    table: str
    metric: str
    rule: str
    threshold_reason: str
    control: str
    figure: str = ""

    def __post_init__(self) -> None:
        for f in ("claim_id", "source", "statement", "table", "metric", "rule"):
            if not str(getattr(self, f)).strip():
                raise ValueError(f"claim spec {self.claim_id!r}: {f} must be a non-empty string")
        if not self.threshold_reason.strip():
            raise ValueError(f"claim spec {self.claim_id!r}: threshold_reason must say why")
        if not self.control.strip():
            raise ValueError(
                f"claim spec {self.claim_id!r}: control must describe the negative control "
                "or start with 'none:' and say why none applies"
            )

    @property
    def has_control(self) -> bool:
        return not self.control.startswith("none:")

    def rule_text(self) -> str:
        """The ``rule`` column: the rule, the metric and table it reads, and the reason."""
        return (
            f"{self.rule} (metric: {self.metric}; table {self.table}; "
            f"threshold: {self.threshold_reason})"
        )

    def judge(
        self,
        verdict: str,
        evidence: str,
        control_outcome: str | None = None,
        *,
        claim_id: str | None = None,
    ) -> Claim:
        """The ``claims.csv`` row for this declaration.

        ``control_outcome`` is required when the spec declares a control and must start with
        ``failed:`` (the control failed, as it must) or ``held:`` (it did not: the check could
        not distinguish the variant, and a ``reproduced`` or ``partially`` verdict becomes
        ``not_applicable`` with the rule's verdict named in the evidence). Without a declared
        control the row's control column is the declared ``none: <why>``. ``claim_id`` overrides
        the id for specs that stand for a family of rows (e.g. one per lemma); it must start
        with the declared id.
        """
        cid = claim_id or self.claim_id
        if not cid.startswith(self.claim_id):
            raise ValueError(f"claim_id={cid!r} must start with the declared {self.claim_id!r}")
        if self.has_control:
            if control_outcome is None or not control_outcome.startswith(("failed:", "held:")):
                raise ValueError(
                    f"claim {cid!r} declares a control: control_outcome must start with "
                    f"'failed:' or 'held:', got {control_outcome!r}"
                )
            control = control_outcome
            if control.startswith("held:") and verdict in ("reproduced", "partially"):
                # a check that cannot fail is no evidence for the claim: its verdict is withheld
                # (a failing rule still counts against it)
                evidence = (
                    f"verdict withheld ({verdict} by the rule), because the negative control "
                    f"held, so the check cannot tell the variant apart; {evidence}"
                )
                verdict = "not_applicable"
        else:
            if control_outcome is not None:
                raise ValueError(f"claim {cid!r} declares no control but got an outcome")
            control = self.control
        return Claim(
            cid, self.source, self.statement, verdict, evidence, self.figure,
            self.rule_text(), control,
        )  # fmt: skip


def control_outcome(failed: bool, what: str) -> str:
    """A control's outcome: ``failed: what`` when the variant was rejected (as it must be),
    ``held: what`` when the variant passed too (the check could not tell the difference)."""
    return f"{'failed' if failed else 'held'}: {what}"


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
