"""Statistics for validation rows: the measured criterion over seeds, bootstrap intervals, and
log-log slopes.

A theorem bounds either E[lhs(x_a)] or (E[lhs(x_a)])² (``Theorem.lhs_squared_after_expectation``).
Each seed gives m_s = (1/T)Σ_t lhs(x_t), the exact expectation over a for that noise
realisation; the estimate is mean_s m_s (squared when the criterion is squared), and its 95%
interval comes from resampling seeds (percentile bootstrap, a fixed number of resamples with a
seeded generator, so the same runs give the same interval).
"""

from __future__ import annotations

import hashlib

import numpy as np

BOOTSTRAP_RESAMPLES = 2000
CI_LEVEL = 0.95


def seed_from(*parts: object) -> int:
    """A 63-bit seed from the identity of a run (stable across processes and platforms)."""
    text = "|".join(str(p) for p in parts)
    return int.from_bytes(hashlib.sha256(text.encode()).digest()[:8], "big") >> 1


def criterion(per_seed: np.ndarray, squared: bool) -> float:
    """mean_s m_s, squared if the theorem's criterion is (E[lhs])²."""
    m = float(np.mean(per_seed))
    return m * m if squared else m


def bootstrap_ci(per_seed: np.ndarray, squared: bool, seed: int) -> tuple[float, float]:
    """95% percentile-bootstrap interval of :func:`criterion` over seeds (NaN with one seed)."""
    x = np.asarray(per_seed, dtype=np.float64).ravel()
    if x.size < 2:
        return float("nan"), float("nan")
    rng = np.random.default_rng(seed)
    idx = rng.integers(0, x.size, size=(BOOTSTRAP_RESAMPLES, x.size))
    means = x[idx].mean(axis=1)
    stats = means * means if squared else means
    lo, hi = np.quantile(stats, [(1 - CI_LEVEL) / 2, (1 + CI_LEVEL) / 2])
    return float(lo), float(hi)


def loglog_slope(T: np.ndarray, values: np.ndarray) -> float:
    """Least-squares slope of log(values) against log(T) (the empirical rate exponent)."""
    T, values = np.asarray(T, dtype=np.float64), np.asarray(values, dtype=np.float64)
    ok = (T > 0) & (values > 0) & np.isfinite(values)
    if ok.sum() < 2:
        return float("nan")
    slope, _ = np.polyfit(np.log(T[ok]), np.log(values[ok]), 1)
    return float(slope)


def slope_ci(
    T: np.ndarray, per_seed: list[np.ndarray], squared: bool, seed: int
) -> tuple[float, float]:
    """95% bootstrap interval of the log-log slope, resampling seeds independently per T."""
    rng = np.random.default_rng(seed)
    n = min(len(p) for p in per_seed)
    if n < 2:
        return float("nan"), float("nan")
    slopes = np.empty(BOOTSTRAP_RESAMPLES // 4)
    for r in range(slopes.size):
        vals = [criterion(p[rng.integers(0, len(p), len(p))], squared) for p in per_seed]
        slopes[r] = loglog_slope(T, np.array(vals))
    lo, hi = np.nanquantile(slopes, [(1 - CI_LEVEL) / 2, (1 + CI_LEVEL) / 2])
    return float(lo), float(hi)
