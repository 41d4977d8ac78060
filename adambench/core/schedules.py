"""Step-size and momentum schedules, and numerically safe powers beta^t.

All functions take per-run float64 vectors (shape (R,)) and a step count t >= 1 shared
by every run of a batch, and return float64 vectors.
"""

from __future__ import annotations

import math

import numpy as np

# Below this, 1 - beta^t == 1 exactly in float64, so beta^t is flushed to 0: a running
# beta^t otherwise sinks into subnormal numbers (beta1 = 0.9 after ~7,000 steps), which
# slows arithmetic and can poison bias corrections (docs/theory.md §6.1).
_NEGLIGIBLE = 2.0**-60


def decay_power(beta: np.ndarray, t: int | float) -> np.ndarray:
    """beta^t computed as exp(t log beta), with 0^t = 0 and negligible values flushed to 0."""
    beta = np.asarray(beta, dtype=np.float64)
    with np.errstate(divide="ignore"):
        out = np.exp(t * np.log(beta))
    return np.where(out < _NEGLIGIBLE, 0.0, out)


def step_size(lr: np.ndarray, schedule: str, t: int) -> np.ndarray:
    """alpha_t: constant alpha, or alpha/sqrt(t) (docs/theory.md §1.5, §2.1)."""
    if schedule == "constant":
        return np.asarray(lr, dtype=np.float64)
    if schedule == "inv_sqrt":
        return np.asarray(lr, dtype=np.float64) / np.sqrt(t)
    raise ValueError(f"lr_schedule must be constant | inv_sqrt, got {schedule!r}")


def beta1_at(beta1: np.ndarray, lam: np.ndarray, t: int) -> np.ndarray:
    """beta1_t = beta1 * lambda^(t-1) (Kingma & Ba Thm 4.1); lambda = 1 keeps beta1 constant."""
    return np.asarray(beta1, dtype=np.float64) * decay_power(lam, t - 1)


def alpha_scalar(hp: dict, t: int) -> float:
    """alpha_t for one run with scalar hyperparameters (the textbook peers' form)."""
    return hp["lr"] / math.sqrt(t) if hp["lr_schedule"] == "inv_sqrt" else hp["lr"]


def beta1_scalar(hp: dict, t: int) -> float:
    """beta1_t = beta1 * lambda^(t-1) for one run with scalar hyperparameters."""
    return hp["beta1"] * hp["beta1_decay"] ** (t - 1)
