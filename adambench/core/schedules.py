"""Step-size and momentum schedules, and numerically safe powers beta^t.

All functions take per-run float64 vectors (shape (R,)) and a step count t >= 1 shared
by every run of a batch, and return float64 vectors.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np

# Below this, 1 - beta^t == 1 exactly in float64, so beta^t is flushed to 0: a running
# beta^t otherwise sinks into subnormal numbers (beta1 = 0.9 after ~7,000 steps), which
# slows arithmetic and can poison bias corrections (docs/theory.md §6.1).
_NEGLIGIBLE = 2.0**-60


def decay_power(beta: np.ndarray, t: int | float) -> np.ndarray:
    """beta^t computed as exp(t log beta), with 0^t = 0 and negligible values flushed to 0.

    For a table (t an (n, 1) array) the runs that share a beta share its column: it is
    computed once per distinct value and copied to each (the same values: exp of the same
    products; a map's runs share their beta2 along a row, a sweep of lr all of them)."""
    beta = np.asarray(beta, dtype=np.float64)
    shared = per_distinct(decay_power, t, beta) if np.ndim(t) == 2 else None
    if shared is not None:
        return shared
    with np.errstate(divide="ignore"):
        out = np.exp(t * np.log(beta))
    return np.where(out < _NEGLIGIBLE, 0.0, out)


def per_distinct(f: Callable[..., np.ndarray], t: Any, *per_run: Any) -> np.ndarray | None:
    """``f(*per_run, t)`` computed once per distinct tuple of the runs' values (``per_run``:
    (R,) vectors, broadcast together) and copied to each run's column (the last axis); None
    where there is one run or every run's tuple is distinct.  For an ``f`` whose column of
    a run depends on that run's values alone, the same values."""
    cols = np.broadcast_arrays(*(np.asarray(v, np.float64) for v in per_run))
    if cols[0].ndim != 1 or cols[0].size < 2:
        return None
    if len(cols) == 1:  # a 1-D unique: np.unique along an axis sorts rows as records, slower
        values, at = np.unique(cols[0], return_inverse=True)
        rows = values[:, None]
    else:
        rows, at = np.unique(np.stack(cols, axis=1), axis=0, return_inverse=True)
    if len(rows) == cols[0].size:
        return None
    return f(*rows.T, t)[..., at.reshape(-1)]


def flushed_from(beta: np.ndarray) -> np.ndarray:
    """The first step t >= 1 from which ``decay_power(beta, t)`` no longer changes with t:
    where it is 0 (0 < beta < 1: the first t with beta^t < 2^-60; beta = 0: t = 1), or
    1 for beta = 1.  exp(t log beta) does not increase with t, so once flushed it stays 0.
    """
    b = np.asarray(beta, dtype=np.float64)
    inside = (b > 0) & (b < 1)
    with np.errstate(divide="ignore"):
        guess = np.log(_NEGLIGIBLE) / np.log(np.where(inside, b, 0.5))
    t = np.where(inside, np.maximum(np.floor(guess) - 2.0, 1.0), 1.0)
    while True:  # a few steps at most: the guess is within rounding of the answer
        late = inside & (decay_power(b, t) > 0)
        if not late.any():
            return t
        t = t + late


def _known(schedule: str) -> None:
    if schedule not in ("constant", "inv_sqrt"):
        raise ValueError(f"lr_schedule must be constant | inv_sqrt, got {schedule!r}")


def settled_from(schedule: str, lam: np.ndarray, *betas: np.ndarray) -> np.ndarray:
    """The first step from which beta1_t = beta1 lambda^(t-1) (``beta1_at``) and every
    beta^t of ``betas`` (``decay_power``) are constant in t, leaving alpha_t
    (``step_size``) the only thing that changes.  A rule whose coefficients depend on t
    only through these is, from there, constant but for the columns equal to alpha_t
    (``Rule.settles``, ``Kernel.alpha_coefs``)."""
    _known(schedule)
    return np.maximum.reduce([flushed_from(lam) + 1.0, *(flushed_from(b) for b in betas)])


def settled_at_once(hp: dict) -> np.ndarray:
    """``Rule.settles`` of a rule whose coefficients change with t only through alpha_t
    (its ``Kernel.alpha_coefs``): every run's row is settled from step 1."""
    _known(hp["lr_schedule"])
    return np.ones_like(np.asarray(hp["lr"], np.float64))


def settles(hp: dict, corrected: bool) -> np.ndarray:
    """``Rule.settles`` of a rule whose coefficients use alpha_t, beta1_t and, with its
    bias ``corrected``, beta1^t and beta2^t (``settled_from`` of those); a rule without
    ``beta1_decay`` keeps beta1 constant (lambda = 1)."""
    betas = (hp["beta1"], hp["beta2"]) if corrected else ()
    lam = hp.get("beta1_decay", np.ones_like(np.asarray(hp["beta1"], np.float64)))
    return settled_from(hp["lr_schedule"], lam, *betas)


def step_size(lr: np.ndarray, schedule: str, t: int) -> np.ndarray:
    """alpha_t: constant alpha, or alpha/sqrt(t) (docs/theory.md §1.5, §2.1)."""
    if schedule == "constant":
        return np.asarray(lr, dtype=np.float64)
    _known(schedule)
    return np.asarray(lr, dtype=np.float64) / np.sqrt(t)


def beta1_at(beta1: np.ndarray, lam: np.ndarray, t: int) -> np.ndarray:
    """beta1_t = beta1 * lambda^(t-1) (Kingma & Ba Thm 4.1); lambda = 1 keeps beta1 constant."""
    return np.asarray(beta1, dtype=np.float64) * decay_power(lam, t - 1)


def alpha_scalar(hp: dict, t: int) -> float:
    """alpha_t for one run with scalar hyperparameters (the textbook peers' form)."""
    return hp["lr"] / math.sqrt(t) if hp["lr_schedule"] == "inv_sqrt" else hp["lr"]


def beta1_scalar(hp: dict, t: int) -> float:
    """beta1_t = beta1 * lambda^(t-1) for one run with scalar hyperparameters."""
    return hp["beta1"] * hp["beta1_decay"] ** (t - 1)
