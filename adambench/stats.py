"""Statistics of the results, all pure functions of NumPy arrays (numpy and scipy only).

Intervals:

* ``t_interval``: mean over the first axis (the seeds) and its two-sided Student-t
  interval, mean +/- t_{n-1}(0.5 + level/2) * sem (``scipy.stats.t``, ``scipy.stats.sem``).
  Edge convention, the one every caller uses: fewer than two samples, or a non-finite
  sample, give no interval (NaN bounds); zero spread gives the zero-width interval
  [mean, mean].

Fits of the regret curve R(T):

* ``growth_exponent``: least-squares slope of log R(T) against log T over the last two
  decades of checkpoints, all seeds pooled (``scipy.stats.linregress``), with a
  two-sided t interval (``scipy.stats.t``, n - 2 degrees of freedom).  O(sqrt T) regret
  gives p ~ 0.5, linear regret p ~ 1 (docs/theory.md §4.1: sublinear means R(T)/T -> 0).
* ``linear_rate``: the coefficient a of R(T) = a T + b sqrt(T) + c fitted over the same
  window: the limit of R(T)/T once the O(sqrt T) transient is separated (e.g. 20/101 for
  Adam stuck at +1 on reddi-synthetic, docs/theory.md §2.5), with its t interval.
* ``normalised``: R(T)/sqrt(T) and R(T)/T at every checkpoint.

Nothing here imports another adambench module: it is a leaf that every layer may use.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from scipy import stats


def t_interval(values: Any, level: float = 0.95) -> tuple[Any, Any, Any]:
    """Mean over axis 0 and the two-sided Student-t interval at ``level``.

    The rule: mean +/- t_{n-1}(0.5 + level/2) * sem over the n samples of axis 0.  No
    interval (NaN bounds) with fewer than two samples or where a sample or the spread is
    not finite; zero spread gives [mean, mean].  A 1-D input gives Python floats, an
    (n, ...) input arrays of shape (...).
    """
    v = np.asarray(values, dtype=np.float64)
    mean = v.mean(axis=0)
    n = v.shape[0]
    if n < 2:
        lo = hi = np.full_like(mean, np.nan)
    else:
        with np.errstate(invalid="ignore", over="ignore"):
            half = stats.t.ppf(0.5 + level / 2, n - 1) * stats.sem(v, axis=0)
        half = np.where(np.isfinite(v).all(axis=0) & np.isfinite(half), half, np.nan)
        lo, hi = mean - half, mean + half
    if np.ndim(mean) == 0:
        return float(mean), float(lo), float(hi)
    return mean, lo, hi


def window(ends: np.ndarray, decades: float = 2.0) -> np.ndarray:
    """Mask of the checkpoints in the last ``decades`` decades (T >= T_max / 10^decades)."""
    ends = np.asarray(ends, dtype=np.float64)
    return ends >= ends[-1] / 10.0**decades


def growth_exponent(
    ends: np.ndarray, regret: np.ndarray, decades: float = 2.0, level: float = 0.95
) -> dict[str, Any] | None:
    """Slope of log R vs log T over the window, pooled over seeds (rows of ``regret``).

    Points with R <= 0 or not finite are left out; None if fewer than 3 remain or the
    window spans a single T.
    """
    regret = np.atleast_2d(np.asarray(regret, dtype=np.float64))
    mask = window(ends, decades)
    T = np.broadcast_to(np.asarray(ends, dtype=np.float64)[mask], regret[:, mask].shape)
    R = regret[:, mask]
    ok = np.isfinite(R) & (R > 0)
    if ok.sum() < 3 or np.unique(T[ok]).size < 2:
        return None
    x, y = np.log(T[ok]), np.log(R[ok])
    fit = stats.linregress(x, y)
    n = int(ok.sum())
    half = float(stats.t.ppf(0.5 + level / 2, n - 2) * fit.stderr) if n > 2 else float("nan")
    return {
        "slope": float(fit.slope),
        "low": float(fit.slope - half),
        "high": float(fit.slope + half),
        "level": level,
        "points": n,
        "r2": float(fit.rvalue**2),
        "T_from": float(T[ok].min()),
        "T_to": float(T[ok].max()),
    }


def linear_rate(
    ends: np.ndarray, regret: np.ndarray, decades: float = 2.0, level: float = 0.95
) -> dict[str, Any] | None:
    """a in R(T) = a T + b sqrt(T) + c over the window, pooled over seeds, with a t interval."""
    regret = np.atleast_2d(np.asarray(regret, dtype=np.float64))
    mask = window(ends, decades)
    T = np.broadcast_to(np.asarray(ends, dtype=np.float64)[mask], regret[:, mask].shape)
    R = regret[:, mask]
    ok = np.isfinite(R)
    Tv, Rv = T[ok], R[ok]
    if np.unique(Tv).size < 4:
        return None
    scale = Tv.max()
    X = np.column_stack([Tv / scale, np.sqrt(Tv / scale), np.ones_like(Tv)])
    coef, *_ = np.linalg.lstsq(X, Rv, rcond=None)
    dof = len(Rv) - 3
    resid = Rv - X @ coef
    sigma2 = float(resid @ resid) / max(dof, 1)
    cov = sigma2 * np.linalg.pinv(X.T @ X)
    a, se = coef[0] / scale, float(np.sqrt(max(cov[0, 0], 0.0))) / scale
    half = float(stats.t.ppf(0.5 + level / 2, max(dof, 1)) * se)
    return {"rate": float(a), "low": float(a - half), "high": float(a + half), "level": level}


def normalised(ends: np.ndarray, regret: np.ndarray) -> dict[str, np.ndarray]:
    """R(T)/sqrt(T) and R(T)/T at every checkpoint (same shape as ``regret``)."""
    T = np.asarray(ends, dtype=np.float64)
    return {"R_over_sqrtT": regret / np.sqrt(T), "R_over_T": regret / T}
