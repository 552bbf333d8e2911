"""Shared helpers of the claim tests: tables as a claim function reads them, and judged rows."""

from __future__ import annotations

import io

import pandas as pd

from experiments.reproduction import claims as claims_api
from experiments.reproduction.registry import EXPERIMENTS


def roundtrip(tables: dict[str, pd.DataFrame]) -> dict[str, pd.DataFrame]:
    """The tables as a claim function sees them: written to CSV and read back."""
    out = {}
    for name, df in tables.items():
        buf = io.StringIO()
        df.to_csv(buf, index=False)
        out[name] = pd.read_csv(io.StringIO(buf.getvalue()))
    return out


def judged_rows(name: str, tables: dict[str, pd.DataFrame]) -> dict[str, claims_api.Claim]:
    """Experiment ``name``'s claim rows for ``tables``, checked against its declarations."""
    exp = EXPERIMENTS[name]
    rows = exp.claims(roundtrip(tables))
    exp.check_claims(rows)
    claims_api.to_frame(rows)  # valid ids, verdicts, rule and control
    return {r.claim_id: r for r in rows}


def control_word(claim: claims_api.Claim) -> str:
    """``failed``, ``held`` or ``none``: the first word of the claim's control column."""
    return claim.control.split(":", 1)[0]
