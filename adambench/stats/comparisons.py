"""Decisions across seeds: one optimizer better than another, a claim that holds.

A decision is taken only where the seeds agree beyond their spread: a paired test over
the seeds for a ranking, every seed alike for a claim.

Rankings (``paired_ranks``): optimizer A is better than B when a two-sided paired t test
across seeds rejects equal means at 5% and A's mean is lower; rank = 1 + the number of
optimizers better, "k=" for a shared rank.

Claims across seeds (``unanimous``): a claim checked on every seed on its own holds when
every seed holds, does not hold when every seed fails, and is not decided otherwise.

Pure functions of NumPy arrays (numpy and scipy only).
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

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
        # imported here: scipy.stats takes ~1 s to import, which every command that ranks
        # nothing (regret, phase, bench) would otherwise pay at start-up
        from scipy import stats

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
