"""From an engine result to rows: regret curves across seeds, fits, bounds and a verdict.

For each (problem, optimizer, hyperparameter point) row: the mean regret curve R(T_k)
across seeds with a 95% t interval (``scipy.stats``), R/sqrt(T), R/T, the growth
exponent and the asymptotic rate (``fits.py``), the bound of the theory on each run's
own constants (``bounds.py``) and one verdict:

* "linear: does not converge" - exponent >= 0.85, or the fitted linear part a T carries
  most of R(T) with a > 0 significantly (R(T)/T tends to a > 0) and the exponent's
  interval reaches 0.9 (a T^0.7 curve also fits a T + b sqrt(T) with some a > 0);
* "sublinear, consistent with O(sqrt T)" - the exponent's interval reaches 0.5 or below;
* "sublinear (exponent p)" - otherwise;
* "sublinear: R(T) <= 0" - when the regret is not positive at T;
* "exceeds its theoretical bound" - appended when most seeds' R(T) is above the bound
  (expected for Adam on ``reddi``: Theorem 4.1's proof is wrong, paper-spec 1.5);
* "diverged (NaN/Inf)" - when a run's iterate or loss stopped being finite.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from scipy import stats

from .. import stats as fits
from . import bounds

LINEAR_EXPONENT = 0.85


def interval(values: np.ndarray, level: float = 0.95) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Mean over axis 0 and a two-sided t interval (NaN bounds with one seed)."""
    values = np.asarray(values, dtype=np.float64)
    mean = values.mean(axis=0)
    n = values.shape[0]
    if n < 2:
        nan = np.full_like(mean, np.nan)
        return mean, nan, nan
    half = stats.t.ppf(0.5 + level / 2, n - 1) * stats.sem(values, axis=0)
    half = np.where(np.isfinite(half), half, 0.0)
    return mean, mean - half, mean + half


def verdict(
    exponent: dict | None, rate: dict | None, R: float, T: int, exceeds: bool, diverged: bool
) -> str:
    """The one-line verdict of a row (see the module docstring)."""
    if diverged:
        return "diverged (NaN/Inf)"
    if not np.isfinite(R):
        text = "undetermined"
    elif R <= 0:
        text = "sublinear: R(T) <= 0"
    elif (exponent is not None and exponent["slope"] >= LINEAR_EXPONENT) or (
        rate is not None
        and rate["low"] > 0
        and rate["rate"] > 0.5 * R / T
        and (exponent is None or exponent["high"] >= 0.9)
    ):
        text = "linear: does not converge"
    elif exponent is None:
        text = "undetermined (too few positive checkpoints)"
    elif exponent["low"] <= 0.5:
        text = "sublinear, consistent with O(sqrt T)"
    else:
        text = f"sublinear (exponent {exponent['slope']:.2f})"
    if exceeds:
        text += "; exceeds its theoretical bound"
    return text


def rows(result: Any) -> list[dict[str, Any]]:
    """One row per optimizer point of an ``engine.EngineResult`` (seeds aggregated)."""
    prob = result.problem
    S, ends = len(result.seeds), result.ends
    T = int(ends[-1])
    out = []
    for p, point in enumerate(result.points):
        runs = slice(p * S, (p + 1) * S)
        R = result.regret[runs]
        diverged = bool(result.diverged[runs].any())
        mean, lo, hi = interval(R)
        norm = fits.normalised(ends, mean)
        expo = fits.growth_exponent(ends, R) if not diverged else None
        rate = fits.linear_rate(ends, R) if not diverged else None
        per_seed = []
        for r in range(runs.start, runs.stop):
            consts = {k: float(v[r, -1]) for k, v in result.stats.items()}
            b = bounds.bound(
                point.optimizer,
                result.validated[p],
                T,
                prob.d,
                consts,
                prob.set_kind == "box",
                result.projection,
            )
            per_seed.append((b, consts))
        b0 = per_seed[0][0]
        values = [b["value"] for b, _ in per_seed if b["applies"]]
        bound_mean = float(np.mean(values)) if values else None
        over = [R[i, -1] > per_seed[i][0]["value"] for i in range(S) if per_seed[i][0]["applies"]]
        exceeds = bool(over) and sum(over) > len(over) / 2
        gap = result.comparator.gap[:, -1]
        rel_gap = float(np.max(gap / np.maximum(np.abs(R[:, -1]), 1e-300))) if S else None
        out.append(
            {
                "problem": prob.name,
                "optimizer": point.optimizer,
                "point": point.label(),
                "hyperparameters": _plain(result.validated[p]),
                "T": T,
                "R_T": float(mean[-1]),
                "R_T_interval": [_f(lo[-1]), _f(hi[-1])],
                "R_over_T": float(mean[-1] / T),
                "R_over_sqrtT": float(mean[-1] / np.sqrt(T)),
                "exponent": expo,
                "limit_R_over_T": rate,
                "bound": {**b0, "value": bound_mean, "exceeded_by_seeds": int(sum(over))},
                "verdict": verdict(expo, rate, float(mean[-1]), T, exceeds, diverged),
                "diverged_seeds": int(result.diverged[runs].sum()),
                "comparator_gap_over_R": rel_gap,
                "final_iterate_first_coord": [float(v) for v in result.x_final[runs, 0]],
                "curve": {
                    "T": ends.tolist(),
                    "R_mean": mean.tolist(),
                    "R_low": lo.tolist(),
                    "R_high": hi.tolist(),
                    "R_over_sqrtT": norm["R_over_sqrtT"].tolist(),
                    "R_over_T": norm["R_over_T"].tolist(),
                    "R_per_seed": R.tolist(),
                    "x_first_coord_mean": result.stats["x0"][runs].mean(axis=0).tolist(),
                },
                "constants": {
                    k: float(np.mean([c[k] for _, c in per_seed]))
                    for k in ("G", "G_inf", "D", "D_inf", "sum_g_norms")
                },
            }
        )
    return out


def _f(x: float) -> float | None:
    return float(x) if np.isfinite(x) else None


def _plain(hp: dict[str, Any]) -> dict[str, Any]:
    return {k: (float(v.reshape(-1)[0]) if isinstance(v, np.ndarray) else v) for k, v in hp.items()}
