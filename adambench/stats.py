"""Statistics of the results, all pure functions of NumPy arrays (numpy and scipy only).

Every interval here is across seeds: each seed's curve is fitted on its own and the
seeds' estimates give a Student-t interval (``t_interval``).  Points of one curve are
never pooled into an interval: R(T_k) is a cumulative sum, so its checkpoints are
strongly correlated and a regression over them understates the uncertainty.

Intervals:

* ``t_interval``: mean over the first axis (the seeds) and its two-sided Student-t
  interval, mean +/- t_{n-1}(0.5 + level/2) * sem (``scipy.stats.t``, ``scipy.stats.sem``).
  Edge convention, the one every caller uses: fewer than two samples, or a non-finite
  sample, give no interval (NaN bounds); zero spread gives the zero-width interval
  [mean, mean].
* ``across_seeds``: the same, as a record that says why there is no interval: one seed,
  or seeds whose curves are identical (a deterministic problem; then the one curve is
  exact and its estimate is reported without an interval, never a zero-width one).
* ``log_t_interval``: for a positive quantity (a training loss), the geometric mean and
  the t interval of the logs, back-transformed: both ends positive, never below zero.

Fits of one regret curve R(T), on a window of checkpoints (the last ``decades``):

* ``rate_model``: least squares R(T) = a T + b sqrt(T) + c.  a is the limit of R(T)/T
  once an O(sqrt T) transient is separated (20/101 for Adam stuck at +1 on
  reddi-synthetic, docs/theory.md §2.5); a = 0 for O(sqrt T) regret.
* ``log_slope``: least-squares slope of log R against log T: O(sqrt T) gives 0.5,
  linear regret 1 (docs/theory.md §4.1: sublinear means R(T)/T -> 0).
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

Rankings (``paired_ranks``): optimizer A is better than B when a two-sided paired t test
across seeds rejects equal means at 5% and A's mean is lower; rank = 1 + the number of
optimizers better, "k=" for a shared rank.

Claims across seeds (``unanimous``): a claim checked on every seed on its own holds when
every seed holds, does not hold when every seed fails, and is not decided otherwise.

Nothing here imports another adambench module: it is a leaf that every layer may use.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from scipy import stats

LEVEL = 0.95
WINDOWS = (2.0, 1.0)  # decades of checkpoints: the last two, the last one
LINEAR_SHARE = 0.5
SUBLINEAR_SHARE = 0.2
AGREE = 0.025
SQRT_EXPONENT = 0.6
MAX_SEEDS = 1000  # a projection beyond this says "many"


def t_interval(values: Any, level: float = LEVEL) -> tuple[Any, Any, Any]:
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
    half = float(stats.t.ppf(0.5 + level / 2, v.size - 1) * stats.sem(y))
    if not math.isfinite(half):
        return math.exp(m), math.nan, math.nan
    return math.exp(m), math.exp(m - half), math.exp(m + half)


def window(ends: np.ndarray, decades: float = 2.0) -> np.ndarray:
    """Mask of the checkpoints in the last ``decades`` decades (T >= T_max / 10^decades)."""
    ends = np.asarray(ends, dtype=np.float64)
    return ends >= ends[-1] / 10.0**decades


def rate_model(ends: np.ndarray, regret: np.ndarray, decades: float = 2.0) -> dict | None:
    """Least squares R(T) = a T + b sqrt(T) + c over the window of one curve.

    None if fewer than four finite checkpoints fall in the window.
    """
    T = np.asarray(ends, dtype=np.float64)
    R = np.asarray(regret, dtype=np.float64)
    mask = window(T, decades) & np.isfinite(R)
    if mask.sum() < 4:
        return None
    Tw, Rw = T[mask], R[mask]
    scale = Tw.max()
    X = np.column_stack([Tw / scale, np.sqrt(Tw / scale), np.ones_like(Tw)])
    coef, *_ = np.linalg.lstsq(X, Rw, rcond=None)
    return {
        "a": float(coef[0] / scale),
        "b": float(coef[1] / math.sqrt(scale)),
        "c": float(coef[2]),
        "T_from": float(Tw.min()),
        "T_to": float(Tw.max()),
    }


def log_slope(ends: np.ndarray, regret: np.ndarray, decades: float = 2.0) -> float | None:
    """Slope of log R against log T over the window of one curve (points with R > 0).

    None if fewer than three such points remain.
    """
    T = np.asarray(ends, dtype=np.float64)
    R = np.asarray(regret, dtype=np.float64)
    mask = window(T, decades) & np.isfinite(R) & (R > 0)
    if mask.sum() < 3:
        return None
    return float(stats.linregress(np.log(T[mask]), np.log(R[mask])).slope)


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
        fits = [rate_model(ends, c, dec) for c in curves]
        a = [None if f is None else f["a"] for f in fits]
        rates.append(a)
        mask = window(ends, dec)
        windows.append(
            {
                "decades": dec,
                "T_from": float(ends[mask].min()),
                "T_to": float(ends[-1]),
                "rate": across_seeds(a, exact, level),
                "exponent": across_seeds([log_slope(ends, c, dec) for c in curves], exact, level),
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


def seeds_needed(spread: float, half_width: float, level: float = LEVEL) -> int | None:
    """Fewest seeds n with t_{n-1}(0.5 + level/2) * spread / sqrt(n) < ``half_width``.

    None when more than ``MAX_SEEDS`` would be needed or ``half_width`` <= 0.
    """
    if half_width <= 0 or not math.isfinite(spread):
        return None
    for n in range(2, MAX_SEEDS + 1):
        if stats.t.ppf(0.5 + level / 2, n - 1) * spread / math.sqrt(n) < half_width:
            return n
    return None


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


# Level of the two-sided paired t test that decides whether one optimizer is better than
# another (``paired_ranks``); applied to each pair, not corrected for multiple comparisons.
RANK_LEVEL = 0.05
RANK_TEST = "paired t test across seeds"
RANK_NEEDS_SEEDS = "ranking needs --seeds >= 2"


def paired_ranks(
    per_seed: Mapping[str, Sequence[float] | np.ndarray | None], level: float = RANK_LEVEL
) -> dict[str, dict[str, Any]]:
    """Ranks with ties, decided by a two-sided paired t test across seeds.

    ``per_seed`` maps each optimizer to the final training losses of its chosen grid point,
    one per seed, in the same seed order for all (a seed fixes the initialisation and the
    minibatches of every optimizer, so the design is paired), or to None where the
    optimizer has no eligible point (every grid point diverged).  Returns, per optimizer,
    ``{"rank": int | None, "rank_label": str, "better_than": [names]}``.

    The rule:

    * A is *better* than B when the two-sided paired t test of A's and B's losses across
      seeds (``scipy.stats.ttest_rel``) rejects equal means at ``level`` (default
      ``RANK_LEVEL`` = 0.05) and A's mean is lower.  Each pair is tested at that level on
      its own: the level is per pair, not corrected for multiple comparisons.
      ``better_than`` lists the optimizers A is better than, in input order.
    * rank(A) = 1 + the number of optimizers better than A.  "Better" need not be
      transitive (A better than C while B is tied with both gives A 1=, B 1=, C 2).
    * Label: "k=" for a rank shared by several optimizers ("1=", "1=", "3"), "k" for an
      unshared one.

    Edge rules:

    * Zero spread: when every per-seed difference of a pair is the same (e.g. a
      deterministic run), A is better than B if that common difference is negative and
      the pair is tied if it is zero; scipy is not called (its t would be +-inf or NaN).
      A NaN p value otherwise also counts as a tie.
    * Fewer than 2 seeds: no test is possible; every rank is None and the label "?"
      (``RANK_NEEDS_SEEDS``: "ranking needs --seeds >= 2").
    * No eligible point (None, or a loss that is not finite): rank None, label "-", never
      better or worse than another (this holds with fewer than 2 seeds too).

    Raises ValueError if the eligible optimizers do not have the same number of seeds.
    """
    values: dict[str, np.ndarray] = {}
    for name, v in per_seed.items():
        if v is None:
            continue
        a = np.asarray(v, dtype=np.float64).ravel()
        if a.size and np.isfinite(a).all():
            values[name] = a
    sizes = {a.size for a in values.values()}
    if len(sizes) > 1:
        raise ValueError(f"per-seed losses of different lengths: {sorted(sizes)}")
    n = sizes.pop() if sizes else 0
    beats: dict[str, list[str]] = {name: [] for name in per_seed}
    if n >= 2:
        names = list(values)
        for i, a in enumerate(names):
            for b in names[i + 1 :]:
                d = values[a] - values[b]
                if np.all(d == d[0]):
                    signif, diff = bool(d[0] != 0), float(d[0])
                else:
                    with warnings.catch_warnings():
                        warnings.simplefilter("ignore", RuntimeWarning)
                        p = float(stats.ttest_rel(values[a], values[b]).pvalue)
                    signif, diff = bool(p < level), float(d.mean())
                if signif and diff < 0:
                    beats[a].append(b)
                elif signif and diff > 0:
                    beats[b].append(a)
    ranks: dict[str, int | None] = {name: None for name in per_seed}
    if n >= 2:
        for name in values:
            ranks[name] = 1 + sum(name in beats[other] for other in values)
    shared = [r for r in ranks.values() if r is not None]
    out: dict[str, dict[str, Any]] = {}
    for name in per_seed:
        r = ranks[name]
        if name not in values:
            label = "-"
        elif r is None:
            label = "?"
        else:
            label = f"{r}=" if shared.count(r) > 1 else str(r)
        order = [o for o in per_seed if o in beats[name]]
        out[name] = {"rank": r, "rank_label": label, "better_than": order}
    return out


HOLDS, FAILS, TIE = "holds", "fails", "tie"  # one seed's result for one claim


def unanimous(results: Sequence[str]) -> str:
    """Decide a claim from its per-seed results ("holds" | "fails" | "tie").

    Rule: "holds" if every seed holds, "does not hold" if every seed fails, otherwise
    "not decided" (the seeds split, or some seed is a tie within its tolerance).  One seed
    decides only itself: its result is the status.  No seeds: ValueError.
    """
    if not results:
        raise ValueError("a claim needs at least one seed's result")
    bad = sorted(set(results) - {HOLDS, FAILS, TIE})
    if bad:
        raise ValueError(f"seed results must be holds, fails or tie, got {bad[0]!r}")
    if all(r == HOLDS for r in results):
        return "holds"
    if all(r == FAILS for r in results):
        return "does not hold"
    return "not decided"
