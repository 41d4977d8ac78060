"""The rows of a regret result and their verdicts (the regret policy's second half).

From an engine result to rows (``rows``): for each (problem, optimizer, hyperparameter
point) row, the mean regret curve R(T_k) across seeds with a 95% t interval
(``stats.t_interval``; none when the seeds' curves are identical), R/sqrt(T), R/T, the
per-seed growth exponent and rate a of R(T) = a T + b sqrt(T) + c on the last two
decades and the last decade with their across-seed intervals (``stats.growth_evidence``),
the bound of the theory on each run's own constants (``bounds.py``; vacuous when above
the trivial T G D) and one verdict (``verdict``):

* the data's three-way class (``stats.growth_class``, docs/theory.md §4.4): "linear",
  "sublinear" ("consistent with O(sqrt T)" when the exponent's upper end is <= 0.6)
  or "undetermined" with what would decide it;
* a linear reading where a sound theorem applies, its bound holds for every seed and
  guarantees O(sqrt T) (``bounds``: ``sound``, ``guarantee``) becomes "not yet
  asymptotic; <theorem> guarantees O(sqrt T)" (class undetermined: a longer T decides);
* "; exceeds its theoretical bound" is appended when most seeds' R(T) is above the bound
  (expected for Adam on ``reddi``: Theorem 4.1's proof is wrong, docs/theory.md §1.5);
* "diverged (NaN/Inf)" when a run's iterate or loss stopped being finite.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .. import stats
from . import bounds

VERDICT_CLASSES = ("linear", "sublinear", "undetermined", "diverged")
DIVERGED_REASON = "a run's iterate or loss stopped being finite"


def verdict(
    evidence: dict[str, Any] | None, bound: dict[str, Any], exceeds: bool, diverged: bool
) -> dict[str, Any]:
    """The verdict of a row: ``{"class", "text", "reason", "decide"}`` (the module docstring).

    ``bound`` is the row's bound record (``applies``, ``sound``, ``guarantee``,
    ``exceeded_by_seeds``); ``evidence`` is ``stats.growth_evidence`` (None if diverged).
    """
    if diverged or evidence is None:
        return {"class": "diverged", "text": "diverged (NaN/Inf)", "reason": DIVERGED_REASON,
                "decide": None}  # fmt: skip
    g = stats.growth_class(evidence)
    cls, reason, decide = g["class"], g["reason"], g["decide"]
    if cls == "linear":
        text = f"linear: {reason}"
    elif cls == "sublinear":
        text = "sublinear, consistent with O(sqrt T)" if g["sqrt_T"] else "sublinear"
        text += f" ({reason})"
    else:
        text = f"undetermined: {reason}"
    guaranteed = (
        bound["applies"]
        and bound["sound"]
        and bound["guarantee"]
        and not bound["exceeded_by_seeds"]
    )
    if guaranteed:
        theorem = f"{bound['theorem'].split(':')[0]} guarantees {bound['guarantee']}"
        if cls == "linear":
            cls, decide = "undetermined", "a longer T"
            reason = f"{reason}; the bound holds and {theorem}"
            text = f"not yet asymptotic; {theorem}"
        elif cls == "undetermined":
            text += f"; {theorem}"
    if exceeds:
        text += "; exceeds its theoretical bound"
    return {"class": cls, "text": text, "reason": reason, "decide": decide}


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
        identical = stats.identical_rows(R)
        mean, lo, hi = stats.t_interval(R)
        if identical:  # one exact curve, no interval (a zero-width one would be fake)
            lo, hi = np.full_like(mean, np.nan), np.full_like(mean, np.nan)
        norm = stats.normalised(ends, mean)
        evidence = None if diverged else stats.growth_evidence(ends, R, random=prob.stochastic)
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
        trivial = [bounds.trivial_bound(T, c) for _, c in per_seed]
        vacuous = bool(values) and all(
            b["value"] >= tb for (b, _), tb in zip(per_seed, trivial, strict=True) if b["applies"]
        )
        bound_row = {
            **b0,
            "value": bound_mean,
            "exceeded_by_seeds": int(sum(over)),
            "trivial_bound": float(np.mean(trivial)),
            "vacuous": vacuous,
        }
        gap = result.comparator.gap[:, -1]
        rel_gap = float(np.max(gap / np.maximum(np.abs(R[:, -1]), 1e-300))) if S else None
        out.append(
            {
                "problem": prob.name,
                "optimizer": point.optimizer,
                "point": point.label(),
                "hyperparameters": _plain(result.validated[p]),
                "T": T,
                "seeds": S,
                "identical_curves": identical,
                "R_T": float(mean[-1]),
                "R_T_interval": [_f(lo[-1]), _f(hi[-1])],
                "R_over_T": float(mean[-1] / T),
                "R_over_sqrtT": float(mean[-1] / np.sqrt(T)),
                "exponent": _exponent(evidence),
                "limit_R_over_T": _limit(evidence),
                "growth": evidence,
                "bound": bound_row,
                "verdict": verdict(evidence, bound_row, exceeds, diverged),
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


def _exponent(ev: dict[str, Any] | None) -> dict[str, Any] | None:
    """The two-decade exponent of ``stats.growth_evidence`` as a row shows it."""
    if ev is None or ev["windows"][0]["exponent"]["mean"] is None:
        return None
    w = ev["windows"][0]
    e = w["exponent"]
    return {"slope": e["mean"], "low": e["low"], "high": e["high"], "level": ev["level"],
            "seeds": e["n"], "interval": e["interval"], "T_from": w["T_from"],
            "T_to": w["T_to"]}  # fmt: skip


def _limit(ev: dict[str, Any] | None) -> dict[str, Any] | None:
    """The two-decade rate a (the limit of R/T) as a row shows it."""
    if ev is None or ev["windows"][0]["rate"]["mean"] is None:
        return None
    a = ev["windows"][0]["rate"]
    return {"rate": a["mean"], "low": a["low"], "high": a["high"], "level": ev["level"],
            "interval": a["interval"]}  # fmt: skip


def _f(x: float) -> float | None:
    return float(x) if np.isfinite(x) else None


def _plain(hp: dict[str, Any]) -> dict[str, Any]:
    return {k: (float(v.reshape(-1)[0]) if isinstance(v, np.ndarray) else v) for k, v in hp.items()}
