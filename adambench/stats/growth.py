"""Growth of one regret curve R(T): per-seed fits on the last decades of checkpoints and
the three-way verdict they support (docs/theory.md §4.4).

Every fit is of one seed's curve on its own; the seeds' fits give the across-seed
intervals (``intervals.across_seeds``).  Fits, on a window of checkpoints (the last
``decades``):

* ``rate_model``: least squares R(T) = a T + b sqrt(T) + c.  a is the limit of R(T)/T
  once an O(sqrt T) transient is separated (20/101 for Adam stuck at +1 on
  reddi-synthetic, docs/theory.md §2.5); a = 0 for O(sqrt T) regret.
* ``log_slope``: least-squares slope of log R against log T: O(sqrt T) gives 0.5,
  linear regret 1 (docs/theory.md §4.1: sublinear means R(T)/T -> 0).
* ``rate_models``, ``log_slopes``: the same fits of many curves at once (each curve still
  on its own), which is how ``growth_evidence`` fits a cell's seeds.
* ``normalised``: R(T)/sqrt(T) and R(T)/T at every checkpoint.

The decision rule of the regret verdicts (``growth_evidence`` gathers, ``growth_class``
decides; docs/theory.md §4.4).  With r = R(T)/T (mean over seeds) and, on each of the two
windows (the last two decades and the last decade), the across-seed interval [lo, hi]
of the rate a (an exact curve: its value):

* *linear*: lo > LINEAR_SHARE * r on both windows (the linear part carries at least
  half of R(T), whatever the transient), and the two windows agree: the interval of the
  per-seed change a_1 - a_2 meets [-AGREE * a, AGREE * a] (a still falling between
  the windows is a slower-than-linear curve, e.g. T^0.8 gives a_1 / a_2 ~ 0.9);
* *sublinear*: hi <= SUBLINEAR_SHARE * r on both windows (a reaches 0 or below, or the
  linear part is at most a fifth of R(T)) and the exponent's upper end is below 1;
  *consistent with O(sqrt T)* when moreover the exponent's upper end is <= SQRT_EXPONENT;
  R(T) <= 0 is sublinear too;
* *undetermined* otherwise, with what would decide it: more seeds (projected from the
  seeds' spread) when the intervals straddle a threshold, a longer T when the estimates
  themselves sit between the thresholds or the windows disagree, at least two seeds
  when a random problem ran one seed.
"""

from __future__ import annotations

import math
from functools import lru_cache
from typing import Any

import numpy as np

from .intervals import LEVEL, across_seeds, identical_rows, seeds_needed

WINDOWS = (2.0, 1.0)  # decades of checkpoints: the last two, the last one
LINEAR_SHARE = 0.5
SUBLINEAR_SHARE = 0.2
AGREE = 0.025
SQRT_EXPONENT = 0.6


def window(ends: np.ndarray, decades: float = 2.0) -> np.ndarray:
    """Mask of the checkpoints in the last ``decades`` decades (T >= T_max / 10^decades)."""
    ends = np.asarray(ends, dtype=np.float64)
    return ends >= ends[-1] / 10.0**decades


def _columns(Tw: np.ndarray, scale: float) -> np.ndarray:
    """The rate model's design matrix on checkpoints ``Tw``: columns T/s, sqrt(T/s), 1."""
    return np.column_stack([Tw / scale, np.sqrt(Tw / scale), np.ones_like(Tw)])


@lru_cache(maxsize=64)
def _design(ends: tuple[float, ...], decades: float) -> tuple[np.ndarray, np.ndarray, float]:
    """The window's mask, the pseudo-inverse of its rate-model design matrix (columns
    T/s, sqrt(T/s), 1; s the window's largest T) and s: shared by every curve that is
    finite on the whole window (the curves of one engine run share their checkpoints)."""
    T = np.asarray(ends, dtype=np.float64)
    mask = window(T, decades)
    scale = float(T[mask].max())
    pinv = np.linalg.pinv(_columns(T[mask], scale))
    mask.flags.writeable = pinv.flags.writeable = False  # cached: shared by every caller
    return mask, pinv, scale


def rate_models(ends: np.ndarray, regret: np.ndarray, decades: float = 2.0) -> np.ndarray:
    """Least squares R(T) = a T + b sqrt(T) + c over the window, for every curve (row of
    ``regret``) on its own: an (n, 3) array of (a, b, c), NaN where fewer than four finite
    checkpoints fall in the window.  A curve finite on the whole window is fitted by the
    window's pseudo-inverse (all of them in one product), any other on its finite
    checkpoints."""
    T = np.asarray(ends, dtype=np.float64)
    R = np.atleast_2d(np.asarray(regret, dtype=np.float64))
    mask, pinv, scale = _design(tuple(T.tolist()), float(decades))
    out = np.full((R.shape[0], 3), np.nan)
    if mask.sum() < 4:
        return out
    Rw = R[:, mask]
    whole = np.isfinite(Rw).all(axis=1)
    out[whole] = Rw[whole] @ pinv.T
    for k in np.flatnonzero(~whole):  # a curve that left the finite numbers in the window
        keep = mask & np.isfinite(R[k])
        if keep.sum() >= 4:
            out[k] = np.linalg.lstsq(_columns(T[keep], scale), R[k, keep], rcond=None)[0]
    return out * np.array([1.0 / scale, 1.0 / math.sqrt(scale), 1.0])


def rate_model(ends: np.ndarray, regret: np.ndarray, decades: float = 2.0) -> dict | None:
    """Least squares R(T) = a T + b sqrt(T) + c over the window of one curve
    (``rate_models`` of that curve), with the window's first and last T.

    None if fewer than four finite checkpoints fall in the window.
    """
    T = np.asarray(ends, dtype=np.float64)
    R = np.asarray(regret, dtype=np.float64)
    a, b, c = rate_models(T, R[None], decades)[0]
    if not math.isfinite(a):
        return None
    Tw = T[window(T, decades) & np.isfinite(R)]
    return {"a": float(a), "b": float(b), "c": float(c), "T_from": float(Tw.min()),
            "T_to": float(Tw.max())}  # fmt: skip


def log_slopes(ends: np.ndarray, regret: np.ndarray, decades: float = 2.0) -> np.ndarray:
    """Least-squares slope of log R against log T over the window, on the points with
    R > 0, for every curve (row of ``regret``): cov(x, y) / var(x), ``scipy.stats.
    linregress``'s slope (to rounding), all curves in one pass; NaN where fewer than
    three such points remain."""
    T = np.asarray(ends, dtype=np.float64)
    R = np.atleast_2d(np.asarray(regret, dtype=np.float64))
    with np.errstate(invalid="ignore"):
        keep = window(T, decades) & np.isfinite(R) & (R > 0)
    w = keep.astype(np.float64)
    n = w.sum(axis=1)
    x = np.log(T)
    y = np.log(np.where(keep, R, 1.0))
    with np.errstate(invalid="ignore", divide="ignore"):
        dx = (x - ((w * x).sum(axis=1) / n)[:, None]) * w
        dy = (y - ((w * y).sum(axis=1) / n)[:, None]) * w
        slope = (dx * dy).sum(axis=1) / (dx * dx).sum(axis=1)
    return np.where(n >= 3, slope, np.nan)


def log_slope(ends: np.ndarray, regret: np.ndarray, decades: float = 2.0) -> float | None:
    """Slope of log R against log T over the window of one curve (points with R > 0:
    ``log_slopes`` of that curve).

    None if fewer than three such points remain.
    """
    s = float(log_slopes(ends, np.asarray(regret, dtype=np.float64)[None], decades)[0])
    return s if math.isfinite(s) else None


def normalised(ends: np.ndarray, regret: np.ndarray) -> dict[str, np.ndarray]:
    """R(T)/sqrt(T) and R(T)/T at every checkpoint (same shape as ``regret``)."""
    T = np.asarray(ends, dtype=np.float64)
    return {"R_over_sqrtT": regret / np.sqrt(T), "R_over_T": regret / T}


def growth_evidence(
    ends: np.ndarray, regret: np.ndarray, random: bool = True, level: float = LEVEL
) -> dict[str, Any]:
    """Per-seed fits of the regret curves (rows of ``regret``) and their across-seed records.

    ``random``: whether the problem's losses depend on the seed.  Identical curves (or one
    seed of a problem that is not random) are exact: one curve is fitted and reported
    without an interval.  Returns the seeds, whether the curves are identical, r = R(T)/T
    and, per window of ``WINDOWS``, the rate a and the exponent (``across_seeds``), and
    ``rate_change``, the per-seed a(last decade) - a(last two decades).
    """
    R = np.atleast_2d(np.asarray(regret, dtype=np.float64))
    ends = np.asarray(ends, dtype=np.float64)
    S = R.shape[0]
    same = identical_rows(R)
    exact = same or (S == 1 and not random)
    curves = R[:1] if same else R
    windows, rates = [], []
    for dec in WINDOWS:
        a = _values(rate_models(ends, curves, dec)[:, 0])
        rates.append(a)
        mask = window(ends, dec)
        windows.append(
            {
                "decades": dec,
                "T_from": float(ends[mask].min()),
                "T_to": float(ends[-1]),
                "rate": across_seeds(a, exact, level),
                "exponent": across_seeds(_values(log_slopes(ends, curves, dec)), exact, level),
            }
        )
    change = [
        None if x is None or y is None else x - y for x, y in zip(rates[1], rates[0], strict=True)
    ]
    T = float(ends[-1])
    return {
        "seeds": S,
        "identical_curves": same,
        "exact": exact,
        "random": random,
        "R_over_T": float(np.mean(R[:, -1])) / T,
        "windows": windows,
        "rate_change": across_seeds(change, exact, level),
        "level": level,
        "rate_spread": [_spread(a) for a in rates],
    }


def _values(v: np.ndarray) -> list[float | None]:
    """The estimates as ``across_seeds`` takes them: None where there is none (NaN)."""
    return [float(x) if math.isfinite(x) else None for x in v]


def _spread(values: list[float | None]) -> float | None:
    v = [x for x in values if x is not None and math.isfinite(x)]
    return float(np.std(v, ddof=1)) if len(v) >= 2 else None


def _ends(rec: dict[str, Any]) -> tuple[float, float] | None:
    """[lo, hi] of an ``across_seeds`` record: its interval, or its exact value twice."""
    if rec["mean"] is None:
        return None
    if rec["low"] is None:
        return rec["mean"], rec["mean"]
    return rec["low"], rec["high"]


def growth_class(ev: dict[str, Any]) -> dict[str, Any]:
    """The three-way verdict of ``growth_evidence`` (the rule: the module docstring).

    Returns ``{"class": "linear" | "sublinear" | "undetermined", "sqrt_T": bool,
    "reason": str, "decide": str | None}``: ``reason`` names the evidence, ``decide``
    what would decide an undetermined verdict.
    """
    r = ev["R_over_T"]
    out: dict[str, Any] = {"class": "undetermined", "sqrt_T": False, "reason": "", "decide": None}
    if not math.isfinite(r):
        return {**out, "reason": "R(T) is not finite", "decide": None}
    if r <= 0:
        return {**out, "class": "sublinear", "reason": "R(T) <= 0"}
    if not ev["exact"] and ev["seeds"] < 2:
        return {**out, "reason": "one seed of a random problem: no interval across seeds",
                "decide": "--seeds >= 2 (3 or more for a useful interval)"}  # fmt: skip
    spans = [_ends(w["rate"]) for w in ev["windows"]]
    expo = _ends(ev["windows"][0]["exponent"])
    if any(s is None for s in spans):
        return {**out, "reason": "too few checkpoints in the last decade",
                "decide": "more checkpoints per decade or a longer T"}  # fmt: skip
    a = [w["rate"]["mean"] for w in ev["windows"]]
    band = AGREE * max(abs(a[0]), abs(a[1]))
    change = _ends(ev["rate_change"])
    agree = change is not None and change[0] <= band and change[1] >= -band
    if all(lo > LINEAR_SHARE * r for lo, _ in spans) and agree:
        return {**out, "class": "linear", "reason": _rate_text(ev)}
    if all(hi <= SUBLINEAR_SHARE * r for _, hi in spans) and expo is not None and expo[1] < 1:
        sqrt_t = expo[1] <= SQRT_EXPONENT
        return {**out, "class": "sublinear", "sqrt_T": sqrt_t, "reason": _exponent_text(ev)}
    return {**out, "reason": _why_not(ev, spans, agree, expo), "decide": _decide(ev, spans, agree)}


def _fmt(x: float) -> str:
    return f"{x:.3g}"


def _rec_text(rec: dict[str, Any]) -> str:
    if rec["low"] is None:
        return _fmt(rec["mean"])
    return f"{_fmt(rec['mean'])} [{_fmt(rec['low'])}, {_fmt(rec['high'])}]"


def _rate_text(ev: dict[str, Any]) -> str:
    w = ev["windows"]
    return f"R/T -> {_rec_text(w[0]['rate'])}"


def _exponent_text(ev: dict[str, Any]) -> str:
    return f"exponent {_rec_text(ev['windows'][0]['exponent'])}"


def _why_not(ev, spans, agree, expo) -> str:
    r = ev["R_over_T"]
    if not agree and all(lo > LINEAR_SHARE * r for lo, _ in spans):
        return "the rate a still changes between the last two decades and the last decade"
    if expo is not None and expo[1] >= 1 and all(hi <= SUBLINEAR_SHARE * r for _, hi in spans):
        return "the exponent's interval reaches 1"
    shares = ", ".join(
        f"{_fmt(lo / r)}" if lo == hi else f"[{_fmt(lo / r)}, {_fmt(hi / r)}]" for lo, hi in spans
    )
    return (
        f"a/(R/T) = {shares} on the two windows: neither above {LINEAR_SHARE:g} "
        f"nor at most {SUBLINEAR_SHARE:g} on both"
    )


def _decide(ev, spans, agree) -> str:
    """More seeds when the seeds' spread alone keeps an estimate from a threshold."""
    r = ev["R_over_T"]
    if ev["exact"] or not agree:
        return "a longer T"
    needed = []
    for (lo, hi), spread in zip(spans, ev["rate_spread"], strict=True):
        mean = 0.5 * (lo + hi)
        if lo > LINEAR_SHARE * r or hi <= SUBLINEAR_SHARE * r:
            continue  # this window is decided
        if mean > LINEAR_SHARE * r:
            target = mean - LINEAR_SHARE * r
        elif mean <= SUBLINEAR_SHARE * r:
            target = SUBLINEAR_SHARE * r - mean
        else:
            return "a longer T"  # the estimate itself sits between the thresholds
        n = seeds_needed(spread, target, ev["level"]) if spread is not None else None
        needed.append(n)
    if not needed:
        return "a longer T"
    if any(n is None for n in needed):
        return "a longer T (more seeds would not suffice at this spread)"
    return f"more seeds (about {max(needed)} at this spread) or a longer T"
