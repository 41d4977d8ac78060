"""Intervals across seeds: each seed gives one estimate, and only the seeds' spread sizes
an interval.

Points of one curve are never pooled into an interval: R(T_k) is a cumulative sum, so its
checkpoints are strongly correlated and a regression over them understates the
uncertainty.  Every interval is a Student-t interval over the first axis (the seeds).

* ``t_interval``: mean over the first axis (the seeds) and its two-sided Student-t
  interval, mean +/- t_{n-1}(0.5 + level/2) * sem (the quantile: ``scipy.special.stdtrit``,
  what ``scipy.stats.t.ppf`` evaluates; sem: ``scipy.stats.sem``'s formula, std(ddof=1) /
  sqrt(n); the same bits, without their per-call wrappers, which cost ~0.5 ms a call:
  most of a 1,600-cell phase map's verdicts).
  Edge convention, the one every caller uses: fewer than two samples, or a non-finite
  sample, give no interval (NaN bounds); zero spread gives the zero-width interval
  [mean, mean].
* ``across_seeds``: the same, as a record that says why there is no interval: one seed,
  or seeds whose curves are identical (a deterministic problem; then the one curve is
  exact and its estimate is reported without an interval, never a zero-width one).
* ``log_t_interval``: for a positive quantity (a training loss), the geometric mean and
  the t interval of the logs, back-transformed: both ends positive, never below zero.
* ``seeds_needed``: the fewest seeds whose t interval, at a given spread, is narrower
  than a given half-width.

Pure functions of NumPy arrays (numpy and scipy only).
"""

from __future__ import annotations

import math
from functools import cache
from typing import Any

import numpy as np
from scipy import special

LEVEL = 0.95
MAX_SEEDS = 1000  # a projection beyond this says "many"


@cache
def t_quantile(q: float, df: int) -> float:
    """The Student-t quantile t_df(q) (``scipy.stats.t.ppf(q, df)``, the same value)."""
    return float(special.stdtrit(df, q))


def _sem(v: np.ndarray, axis: int | None = 0) -> Any:
    """Standard error of the mean over ``axis`` (``scipy.stats.sem``: std(ddof=1) / sqrt(n))."""
    n = v.shape[0] if axis == 0 else v.size
    return np.std(v, axis=axis, ddof=1) / np.sqrt(n)


def t_interval(values: Any, level: float = LEVEL) -> tuple[Any, Any, Any]:
    """Mean over axis 0 and the two-sided Student-t interval at ``level``.

    The rule: mean +/- t_{n-1}(0.5 + level/2) * sem over the n samples of axis 0.  No
    interval (NaN bounds) with fewer than two samples or where a sample or the spread is
    not finite; zero spread gives [mean, mean].  A 1-D input gives Python floats, an
    (n, ...) input arrays of shape (...).
    """
    v = np.asarray(values, dtype=np.float64)
    if v.ndim == 1:
        return _t_interval_1d(v, level)
    mean = v.mean(axis=0)
    n = v.shape[0]
    if n < 2:
        lo = hi = np.full_like(mean, np.nan)
    else:
        with np.errstate(invalid="ignore", over="ignore"):
            half = t_quantile(0.5 + level / 2, n - 1) * _sem(v, axis=0)
        half = np.where(np.isfinite(v).all(axis=0) & np.isfinite(half), half, np.nan)
        lo, hi = mean - half, mean + half
    if np.ndim(mean) == 0:
        return float(mean), float(lo), float(hi)
    return mean, lo, hi


def _t_interval_1d(v: np.ndarray, level: float) -> tuple[float, float, float]:
    """``t_interval`` of n samples as floats: ``mean``'s and ``std(ddof=1)``'s own
    operations (a sum, a division; the deviations' squares summed, divided by n - 1, a
    root), so the same bits, without their wrappers (measured, 3 samples: 4.3 against
    14.4 us; a phase map asks it five times a cell)."""
    n = v.size
    total = np.add.reduce(v)
    mean = float(total / n)
    if n < 2 or not np.isfinite(v).all():
        return mean, math.nan, math.nan
    with np.errstate(over="ignore"):  # a spread past the float range: no interval
        dev = v - total / n
        var = float(np.add.reduce(dev * dev)) / (n - 1)
    half = t_quantile(0.5 + level / 2, n - 1) * (math.sqrt(var) / math.sqrt(n))
    if not math.isfinite(half):
        return mean, math.nan, math.nan
    return mean, mean - half, mean + half


def identical_rows(values: Any, rtol: float = 1e-12) -> bool:
    """True when there are >= 2 rows and every row equals the first to ``rtol`` of its scale."""
    v = np.atleast_2d(np.asarray(values, dtype=np.float64))
    if v.shape[0] < 2 or not np.isfinite(v).all():
        return False
    scale = max(float(np.abs(v).max()), 1e-300)
    return bool(np.abs(v - v[0]).max() <= rtol * scale)


def across_seeds(values: Any, exact: bool = False, level: float = LEVEL) -> dict[str, Any]:
    """The seeds' estimates as ``{"mean", "low", "high", "n", "interval"}``.

    ``exact``: the estimates come from identical curves (one is kept): the value with no
    interval.  Otherwise ``t_interval`` over the finite estimates; fewer than two give
    no interval.  ``interval`` says which: "t, 95% across n seeds", "none: exact
    (identical curves)" or "none: one seed".
    """
    v = np.asarray([x for x in values if x is not None and math.isfinite(x)], np.float64)
    if v.size == 0:
        return {"mean": None, "low": None, "high": None, "n": 0, "interval": "none: no estimate"}
    if exact:
        return {"mean": float(v[0]), "low": None, "high": None, "n": 1,
                "interval": "none: exact (identical curves)"}  # fmt: skip
    mean, lo, hi = t_interval(v, level)
    if v.size < 2 or not math.isfinite(lo):
        return {"mean": mean, "low": None, "high": None, "n": int(v.size),
                "interval": "none: one seed"}  # fmt: skip
    return {"mean": mean, "low": lo, "high": hi, "n": int(v.size),
            "interval": f"t, {100 * level:g}% across {v.size} seeds"}  # fmt: skip


def log_t_interval(values: Any, level: float = LEVEL) -> tuple[float, float, float]:
    """Geometric mean of positive samples and its interval: a t interval on the log scale.

    The rule, for a quantity that is positive by nature (a training loss): with
    y_i = log x_i over the n samples (the seeds), m = mean(y) and s = sd(y) (n - 1 in the
    denominator), the geometric mean exp(m) and the interval
    exp(m -/+ t_{n-1}(0.5 + level/2) * s / sqrt(n)), the back-transformed Student-t
    interval of E[log x]; both ends are positive.  Edge convention as ``t_interval``: no
    interval (NaN bounds) with fewer than two samples or a non-finite one; zero spread
    gives [gm, gm].  A sample <= 0 has no logarithm: everything is NaN (the caller falls
    back to ``t_interval``).
    """
    v = np.asarray(values, dtype=np.float64).reshape(-1)
    if v.size == 0 or not (v > 0).all() or not np.isfinite(v).all():
        return math.nan, math.nan, math.nan
    y = np.log(v)
    m = float(y.mean())
    if v.size < 2:
        return math.exp(m), math.nan, math.nan
    half = float(t_quantile(0.5 + level / 2, v.size - 1) * _sem(y, axis=None))
    if not math.isfinite(half):
        return math.exp(m), math.nan, math.nan
    return math.exp(m), math.exp(m - half), math.exp(m + half)


def seeds_needed(spread: float, half_width: float, level: float = LEVEL) -> int | None:
    """Fewest seeds n with t_{n-1}(0.5 + level/2) * spread / sqrt(n) < ``half_width``.

    None when more than ``MAX_SEEDS`` would be needed or ``half_width`` <= 0.
    """
    if half_width <= 0 or not math.isfinite(spread):
        return None
    for n in range(2, MAX_SEEDS + 1):
        if t_quantile(0.5 + level / 2, n - 1) * spread / math.sqrt(n) < half_width:
            return n
    return None
