"""The findings of the bias-correction ablation: the paper's three claims, decided per seed.

Every claim is decided on each seed on its own (each seed with its own tolerance) and
called only when the seeds agree (``stats.unanimous``): gaps far below the tolerance
flip from seed to seed and decide nothing.  Paper's finding (Kingma & Ba section 6.4),
as three claims: (1) without correction, beta2 close to 1 is unstable (worst early in
training); (2) the best results come with small 1 - beta2 *and* the correction; (3) Adam
(corrected) is as good as or better than the uncorrected variant for every setting.
``findings`` states the rules.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from ..stats import FAILS, HOLDS, TIE, unanimous
from .ablation_grid import VARIANTS, AblationConfig

CLAIMS = {
    "unstable_without_correction": "Without bias correction, beta2 close to 1 is unstable.",
    "best_with_correction": "The best result of the grid is with bias correction.",
    "at_least_as_good_everywhere": (
        "Adam with bias correction is at least as good as without at every setting."
    ),
}
CLAIM_STATUSES = ("holds", "does not hold", "not decided")
REPRODUCED = ("yes", "no", "not decided")


def split_text(results: Sequence[str]) -> str:
    """How the seeds split, as the end of a rule sentence (see ``unanimous``)."""
    n = len(results)
    status = unanimous(results)
    more = "; more seeds or a larger budget would decide it"
    if n == 1:
        return f"1 seed, which decides only itself: {results[0]}" + (
            more if results[0] == TIE else ""
        )
    every = "both" if n == 2 else f"all {n}"
    if status == "holds":
        return f"{every} seeds hold"
    if status == "does not hold":
        return f"{every} seeds fail"
    if all(r == TIE for r in results):
        return f"{every} seeds tie within their tolerance" + more
    counts = ", ".join(f"{results.count(r)} {r}" for r in (HOLDS, FAILS, TIE) if r in results)
    return f"the {n} seeds split ({counts})" + more


def _loss(v: float | None) -> float:
    return math.inf if v is None else v


def _per_seed(row: dict[str, Any], key: str, k: int) -> list[Any]:
    vals = row.get(f"{key}_per_seed")
    if vals is None:
        if k != 1 or key not in row:
            raise ValueError(f"ablation row has no {key}_per_seed for {k} seeds")
        vals = [row[key]]
    if len(vals) != k:
        raise ValueError(f"ablation row {key}_per_seed has {len(vals)} values, expected {k}")
    return list(vals)


def _where(r: dict[str, Any]) -> str:
    return f"beta1={r['beta1']:g} beta2={r['beta2']:g} log10 lr={r['log10_lr']:g}"


def _num(v: float) -> str:
    return "diverged" if math.isinf(v) else f"{v:.4g}"


def _seed_view(rows: list[dict[str, Any]], j: int, k: int) -> list[dict[str, Any]]:
    """Seed j's grid: beta1, beta2, log10_lr, ``<variant>_<budget>`` (inf when the run
    diverged) and ``<variant>_diverged`` per row."""
    out = []
    for r in rows:
        one: dict[str, Any] = {key: r[key] for key in ("beta1", "beta2", "log10_lr")}
        for v in VARIANTS:
            for b in ("short", "long"):
                one[f"{v}_{b}"] = _loss(_per_seed(r, f"{v}_{b}", k)[j])
            if f"{v}_diverged_epoch_per_seed" in r or k == 1 and f"{v}_diverged_epoch" in r:
                one[f"{v}_diverged"] = _per_seed(r, f"{v}_diverged_epoch", k)[j] is not None
            else:  # hand-made rows without epochs: a diverged run has no long-budget loss
                one[f"{v}_diverged"] = math.isinf(one[f"{v}_long"])
        out.append(one)
    return out


def _tolerance(view: list[dict[str, Any]], initial: float) -> float:
    """1% of the improvement the seed's grid achieved (start -> best); blow-ups do not
    widen it."""
    finite = [
        v for r in view for key, v in r.items() if key.endswith(("_short", "_long"))
        if math.isfinite(v)
    ]  # fmt: skip
    return 0.01 * max(initial - min(finite), 0.0) if finite and math.isfinite(initial) else 0.0


def _claim_unstable(view: list[dict[str, Any]], cfg: AblationConfig, tol: float) -> dict[str, Any]:
    unstable, diverged = {}, {v: {} for v in VARIANTS}
    for beta2 in cfg.beta2:
        sel = [r for r in view if r["beta2"] == beta2]
        count = 0
        for r in sel:
            for b in ("short", "long"):
                a, n = r[f"adam_{b}"], r[f"adam-nobias_{b}"]
                if math.isinf(n) and not math.isinf(a) or n > a + tol:
                    count += 1
                    break
        unstable[str(beta2)] = count
        for v in VARIANTS:
            diverged[v][str(beta2)] = sum(r[f"{v}_diverged"] for r in sel)
    hi, lo = str(max(cfg.beta2)), str(min(cfg.beta2))
    per = "/".join(str(c) for c in unstable.values())
    div = "/".join(str(c) for c in diverged["adam-nobias"].values())
    div_c = "/".join(str(c) for c in diverged["adam"].values())
    if hi == lo:
        result, why = TIE, "; one beta2 value, nothing to compare"
    else:
        result = HOLDS if unstable[hi] >= 1 and unstable[hi] > unstable[lo] else FAILS
        why = ""
    evidence = (
        f"unstable points for beta2={'/'.join(unstable)}: {per} (diverged without correction "
        f"{div}, with correction {div_c}){why}"
    )
    return {
        "result": result,
        "evidence": evidence,
        "unstable_points": unstable,
        "diverged_points": diverged,
    }


def _claim_best(view: list[dict[str, Any]], cfg: AblationConfig, tol: float) -> dict[str, Any]:
    best = {}
    for v in VARIANTS:
        r = min(view, key=lambda r, _v=v: r[f"{_v}_long"])
        best[v] = (r[f"{v}_long"], r)
    a, n = best["adam"][0], best["adam-nobias"][0]
    if a < n - tol:
        result = HOLDS
    elif n < a - tol:
        result = FAILS
    else:
        result = TIE
    gap = "" if math.isinf(a) or math.isinf(n) else f", gap {abs(a - n):.3g} vs tol {tol:.3g}"
    evidence = (
        f"best @{cfg.long_epochs} with {_num(a)} ({_where(best['adam'][1])}), without "
        f"{_num(n)} ({_where(best['adam-nobias'][1])}){gap}"
    )
    return {
        "result": result,
        "evidence": evidence,
        "adam_best": None if math.isinf(a) else a,
        "adam-nobias_best": None if math.isinf(n) else n,
    }


def _claim_everywhere(
    view: list[dict[str, Any]], cfg: AblationConfig, tol: float
) -> dict[str, Any]:
    failing = []
    budgets = (("short", cfg.short_epochs), ("long", cfg.long_epochs))
    for r in view:
        for b, epochs in budgets:
            a, n = r[f"adam_{b}"], r[f"adam-nobias_{b}"]
            if not (math.isinf(n) or a <= n + tol):
                failing.append(f"{_where(r)} @{epochs} ({_num(a)} vs {_num(n)})")
    total = len(view) * len(budgets)
    if failing:
        shown = "; ".join(failing[:3]) + ("; ..." if len(failing) > 3 else "")
        evidence = f"{len(failing)} of {total} settings worse with correction: {shown}"
    else:
        evidence = f"all {total} settings within tolerance"
    return {
        "result": FAILS if failing else HOLDS,
        "evidence": evidence,
        "failing": len(failing),
        "settings": total,
    }


_PER_SEED_RULES = {
    "unstable_without_correction": (
        "per seed, the grid points where the uncorrected variant diverged or ended worse than "
        "the corrected one by more than the seed's tolerance (either budget) are counted per "
        "beta2, and the seed holds if the count at the largest beta2 is at least 1 and larger "
        "than at the smallest"
    ),
    "best_with_correction": (
        "per seed, the best long-budget loss of each variant over the grid: holds if the "
        "corrected best is lower by more than the seed's tolerance, fails if the uncorrected "
        "best is, tie otherwise"
    ),
    "at_least_as_good_everywhere": (
        "per seed, holds if at every (grid point, budget) the corrected loss is at most the "
        "uncorrected one plus the seed's tolerance (a diverged uncorrected run counts for the "
        "corrected one, a diverged corrected run against a finite uncorrected one against it)"
    ),
}
_CHECKS = {
    "unstable_without_correction": _claim_unstable,
    "best_with_correction": _claim_best,
    "at_least_as_good_everywhere": _claim_everywhere,
}


def findings(
    rows: list[dict[str, Any]], cfg: AblationConfig, initial: Sequence[float] | float
) -> dict[str, Any]:
    """The section 6.4 claims, decided per seed and then across seeds.

    ``rows`` carry per-seed values (``<variant>_<budget>_per_seed``, None = diverged, in
    ``cfg.seeds`` order; one seed may give the plain values); ``initial`` is each seed's
    start loss (a number is used for every seed).  Seed s is analysed on its own, with
    tolerance tol_s = 1% of its improvement (start -> best loss of its grid).

    * claim 1, without correction beta2 -> 1 is unstable: count the grid points where the
      uncorrected variant diverged or ended worse than the corrected one by more than
      tol_s (either budget), per beta2; the seed holds if the count at the largest beta2
      is >= 1 and larger than at the smallest, else fails (tie with only one beta2);
    * claim 2, the best result is with correction: best long-budget loss of each variant
      over the grid; holds if corrected < uncorrected - tol_s, fails if uncorrected <
      corrected - tol_s, else tie;
    * claim 3, corrected is at least as good at every setting: holds if at every (grid
      point, budget) adam <= nobias + tol_s (a diverged uncorrected run counts as adam at
      least as good; a diverged corrected run against a finite uncorrected one fails);
    * across seeds (``unanimous``): a claim "holds" if every seed holds, "does not hold"
      if every seed fails, else "not decided" (a split or a tie: more seeds or a larger
      budget would decide it).  With 1 seed the same rule runs: it decides only itself;
    * ``reproduced``: "yes" if all three claims hold, "no" if any does not hold, else
      "not decided".

    Also returned: the best loss over alpha per (beta1, beta2) and budget on the mean rows
    (``best_per_beta``), grid points where any seed diverged (``diverged_points``) and,
    in claim 1's per-seed entries, each seed's diverged counts per beta2 for both variants.
    """
    seeds = list(cfg.seeds)
    k = len(seeds)
    if k == 0:
        raise ValueError("the ablation findings need at least one seed")
    if not rows:
        raise ValueError("the ablation findings need at least one grid point")
    starts = [float(initial)] * k if isinstance(initial, (int, float)) else list(initial)
    if len(starts) != k:
        raise ValueError(f"initial losses: {len(starts)} values for {k} seeds")
    views = [_seed_view(rows, j, k) for j in range(k)]
    tols = [_tolerance(view, start) for view, start in zip(views, starts, strict=True)]
    claims: dict[str, Any] = {}
    for name, check in _CHECKS.items():
        per_seed = []
        for seed, view, tol in zip(seeds, views, tols, strict=True):
            entry = check(view, cfg, tol)
            per_seed.append({"seed": seed, **entry, "tolerance": tol})
        results = [e["result"] for e in per_seed]
        status = unanimous(results)
        claims[name] = {
            "claim": CLAIMS[name],
            "status": status,
            "rule": (
                f"{_PER_SEED_RULES[name]}; across seeds the claim holds only if every seed "
                f"holds and does not hold only if every seed fails: {split_text(results)}"
            ),
            "split": {r: results.count(r) for r in (HOLDS, FAILS, TIE)},
            "per_seed": per_seed,
        }
    statuses = [c["status"] for c in claims.values()]
    if all(s == "holds" for s in statuses):
        reproduced = "yes"
    elif "does not hold" in statuses:
        reproduced = "no"
    else:
        reproduced = "not decided"
    return {
        "seeds": seeds,
        "tolerance_per_seed": tols,
        "best_per_beta": _best_per_beta(rows, cfg),
        "diverged_points": {
            v: {
                str(beta2): sum(
                    r.get(f"{v}_diverged_epoch") is not None for r in rows if r["beta2"] == beta2
                )
                for beta2 in cfg.beta2
            }
            for v in VARIANTS
        },
        "claims": claims,
        "reproduced": reproduced,
        "rule": "yes if all three claims hold, no if any does not hold, otherwise not decided",
    }


def _best_per_beta(rows: list[dict[str, Any]], cfg: AblationConfig) -> list[dict[str, Any]]:
    """Per (beta1, beta2): the best mean loss over alpha of each variant, per budget."""
    best = []
    for beta1, beta2 in itertools.product(cfg.beta1, cfg.beta2):
        sel = [r for r in rows if r["beta1"] == beta1 and r["beta2"] == beta2]
        if not sel:
            continue
        entry: dict[str, Any] = {"beta1": beta1, "beta2": beta2}
        for budget in ("short", "long"):
            for v in VARIANTS:
                vals = [_loss(r.get(f"{v}_{budget}")) for r in sel]
                j = int(np.argmin(vals))
                entry[f"{v}_{budget}_best"] = None if math.isinf(vals[j]) else vals[j]
                entry[f"{v}_{budget}_best_log10_lr"] = sel[j]["log10_lr"]
        best.append(entry)
    return best
