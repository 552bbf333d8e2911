"""Checks on the result tables a figure reads (figures only read tables, never run anything)."""

from __future__ import annotations

from collections.abc import Iterable

import pandas as pd


def require(table: pd.DataFrame, columns: Iterable[str], *, figure: str, table_name: str) -> None:
    """Raise ValueError naming the figure, the table and the missing columns, if any."""
    if not isinstance(table, pd.DataFrame):
        raise ValueError(
            f"figure {figure!r}: table {table_name!r} must be a pandas DataFrame, "
            f"got {type(table).__name__}"
        )
    missing = [c for c in columns if c not in table.columns]
    if missing:
        raise ValueError(
            f"figure {figure!r}: table {table_name!r} lacks column(s) {missing} "
            f"(it has {list(table.columns)})"
        )
