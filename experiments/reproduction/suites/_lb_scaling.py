"""Shared pieces of the large-batch scaling suites (``lb_batch_scaling``, ``lb_lars_vs_lamb``,
``lb_adamw_tuning``, ``lb_mixed_batch``): seed statistics, error-bar comparisons, tuning picks.

Conventions used by every claim of these suites:

* a point is the mean ± standard deviation (ddof = 1) over seeds, with n stated;
* two points differ "outside error bars" when their mean ± std intervals do not overlap
  (:func:`separated`); with fewer than two seeds a point has no error bar and never counts as
  separated (a verdict then stays at ``partially`` or below);
* a run that diverged has no final metric (NaN); a point with any diverged seed has a NaN mean
  (a failure is never averaged away) and ranks last in every tuning pick (:func:`pick_best`).
"""

from __future__ import annotations

import itertools
import math

import numpy as np
import pandas as pd

from experiments.reproduction.claims import as_bool  # noqa: F401 - used by the lb_* suites as lb.as_bool

# λ = 0.01 for every decayed optimizer: the paper's default (Appendix H).
WEIGHT_DECAY = 0.01
# Linear-epoch warmup, anchored where the paper states it: 1/5 of the run at the largest batch
# (Table 4: 32K warms up for 0.2·15625 = 3125 steps; the same step count at every batch size).
WARMUP_FRACTION_AT_MAX = 0.2


def seed_stats(df: pd.DataFrame, by: list[str], value: str) -> pd.DataFrame:
    """Per group of ``by``: ``mean``, ``std`` (ddof = 1), ``n`` (seeds) and ``n_diverged``.

    ``mean`` is NaN when any seed diverged (NaN value): a failed seed is not averaged away.
    """
    rows = []
    for key, g in df.groupby(by, dropna=False, sort=True):
        key = key if isinstance(key, tuple) else (key,)
        v = pd.to_numeric(g[value], errors="coerce").to_numpy(float)
        ok = np.isfinite(v)
        rows.append(
            {
                **dict(zip(by, key, strict=True)),
                "mean": float(v.mean()) if ok.all() else math.nan,
                "std": float(v.std(ddof=1)) if ok.all() and len(v) > 1 else math.nan,
                "n": len(v),
                "n_diverged": int((~ok).sum()),
            }
        )
    return pd.DataFrame(rows)


def separated(m1: float, s1: float, m2: float, s2: float) -> bool:
    """True when the intervals m1 ± s1 and m2 ± s2 are finite and do not overlap."""
    vals = (m1, s1, m2, s2)
    if not all(isinstance(v, int | float) and math.isfinite(v) for v in vals):
        return False
    return abs(m1 - m2) > s1 + s2


def pick_best(points: pd.DataFrame, higher_is_better: bool) -> pd.Series | None:
    """The row of ``points`` (with a ``mean`` column) with the best mean; NaN means rank last.

    Tie-break (declared): among exactly equal means the first row wins; every caller passes
    points sorted by η ascending (:func:`seed_stats` sorts its groups), so ties go to the
    smaller η. Returns None when ``points`` is empty or every mean is NaN.
    """
    if points.empty:
        return None
    score = pd.to_numeric(points["mean"], errors="coerce")
    if not np.isfinite(score).any():
        return None
    score = score.where(np.isfinite(score), -np.inf if higher_is_better else np.inf)
    return points.loc[score.idxmax() if higher_is_better else score.idxmin()]


def fmt(mean: float, std: float, n: int, digits: int = 3) -> str:
    """``0.962 ± 0.004 (n=3)``; ``diverged`` for a NaN mean; no ± part without a std."""
    if not (isinstance(mean, int | float) and math.isfinite(mean)):
        return f"diverged (n={int(n)})"
    if not (isinstance(std, int | float) and math.isfinite(std)):
        return f"{mean:.{digits}f} (n={int(n)})"
    return f"{mean:.{digits}f} ± {std:.{digits}f} (n={int(n)})"


def check_doubling(name: str, batches: tuple[int, ...]) -> None:
    """Raise ValueError unless ``batches`` are powers of two, each double the previous."""
    ok = len(batches) >= 2 and all(
        isinstance(b, int) and b > 0 and b & (b - 1) == 0 for b in batches
    )
    ok = ok and all(b2 == 2 * b1 for b1, b2 in itertools.pairwise(batches))
    if not ok:
        raise ValueError(
            f"{name}={batches!r} is invalid: expected >= 2 powers of two, each double the last"
        )
