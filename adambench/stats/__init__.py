"""Statistics of the results, all pure functions of NumPy arrays (numpy and scipy only).

Every interval here is across seeds: each seed's curve is fitted on its own and the
seeds' estimates give a Student-t interval (``t_interval``).  Points of one curve are
never pooled into an interval: R(T_k) is a cumulative sum, so its checkpoints are
strongly correlated and a regression over them understates the uncertainty.

* ``intervals``: the t interval across seeds, its record (``across_seeds``), the
  geometric-mean interval of a positive quantity and the seeds a width needs;
* ``growth``: fits of one regret curve R(T) and the three-way verdict of its growth
  (``growth_evidence``, ``growth_class``; docs/theory.md §4.4);
* ``comparisons``: rankings by a paired t test across seeds (``paired_ranks``) and
  claims decided only when every seed agrees (``unanimous``).

Every public name is importable from ``adambench.stats`` itself.  Nothing here imports
another adambench module: it is a leaf that every layer may use.
"""

from .comparisons import (
    FAILS,
    HOLDS,
    RANK_LEVEL,
    RANK_NEEDS_SEEDS,
    RANK_TEST,
    TIE,
    paired_ranks,
    unanimous,
)
from .growth import (
    AGREE,
    LINEAR_SHARE,
    SQRT_EXPONENT,
    SUBLINEAR_SHARE,
    WINDOWS,
    growth_class,
    growth_evidence,
    log_slope,
    log_slopes,
    normalised,
    rate_model,
    rate_models,
    window,
)
from .intervals import (
    LEVEL,
    MAX_SEEDS,
    across_seeds,
    identical_rows,
    log_t_interval,
    seeds_needed,
    t_interval,
)

__all__ = [
    "AGREE",
    "FAILS",
    "HOLDS",
    "LEVEL",
    "LINEAR_SHARE",
    "MAX_SEEDS",
    "RANK_LEVEL",
    "RANK_NEEDS_SEEDS",
    "RANK_TEST",
    "SQRT_EXPONENT",
    "SUBLINEAR_SHARE",
    "TIE",
    "WINDOWS",
    "across_seeds",
    "growth_class",
    "growth_evidence",
    "identical_rows",
    "log_slope",
    "log_slopes",
    "log_t_interval",
    "normalised",
    "paired_ranks",
    "rate_model",
    "rate_models",
    "seeds_needed",
    "t_interval",
    "unanimous",
    "window",
]
