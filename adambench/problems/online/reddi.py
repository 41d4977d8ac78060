"""The Reddi, Kale & Kumar counterexamples on F = [-1, 1] (docs/theory.md §2.2, §2.5).

* ``reddi``: f_t(x) = C x if t mod 3 == 1 else -x, C > 2 (default 3).  With beta1 = 0,
  beta2 = 1/(1 + C^2) Adam drifts to x = +1 and R_T/T -> 2(C - 2)/3 (derived, docs/theory.md §2.5).
* ``reddi-synthetic``: f_t(x) = 1010 x if t mod 101 == 1 else -10 x (section 5); stuck at
  +1, R_T/T -> 20/101.
* ``reddi-stochastic``: 1010 x with probability 0.01, else -10 x; E[R_T/T] -> 0.4 at +1.

All three are linear, so the comparator is closed form: -|S_T| with S_T = sum_t c_t,
counted exactly for the deterministic ones.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from ..streams import uniform
from .base import PHI_LINEAR, REDDI, REDDI_STOCH, REDDI_SYNTH, Problem

_JIT = dict(cache=True, nogil=True, error_model="numpy")
BIG, SMALL, PERIOD, PROB = 1010.0, -10.0, 101, 0.01


@njit(**_JIT)
def sample_reddi(key, t, prm, idx, val):
    idx[0] = 0
    val[0] = prm[0] if t % 3 == 1 else -1.0
    return 0.0


@njit(**_JIT)
def sample_synthetic(key, t, prm, idx, val):
    idx[0] = 0
    val[0] = BIG if t % PERIOD == 1 else SMALL
    return 0.0


@njit(**_JIT)
def sample_stochastic(key, t, prm, idx, val):
    idx[0] = 0
    val[0] = BIG if uniform(key, t, 0) < PROB else SMALL
    return 0.0


def coefficient_sum(name: str, C: float, T: int) -> float:
    """S_T = sum_{t<=T} c_t for the deterministic problems, counted exactly."""
    if name == "reddi":
        big = (T + 2) // 3  # t = 1, 4, 7, ... <= T
        return C * big - (T - big)
    big = (T + PERIOD - 1) // PERIOD  # t = 1, 102, ... <= T
    return BIG * big + SMALL * (T - big)


def _problem(name, family, description, G, stochastic, params, overrides, options):
    return Problem(
        name=name,
        description=description,
        family=family,
        loss=PHI_LINEAR,
        d=1,
        nnz=1,
        set_kind="box",
        radius=1.0,
        params=params,
        constants={"G": G, "G_inf": G, "D": 2.0, "D_inf": 2.0},
        stochastic=stochastic,
        default_lr=0.5,
        overrides=overrides,
        options=options,
    )


def make_reddi(C: float = 3.0) -> Problem:
    if not np.isfinite(C) or C <= 2:
        raise ValueError(f"C for reddi must be > 2, got {C!r}")
    return _problem(
        "reddi",
        REDDI,
        "Reddi et al. Thm 1: f_t = C x if t mod 3 == 1 else -x on [-1, 1]",
        max(C, 1.0),
        False,
        lambda seed: np.array([C]),
        {"beta1": 0.0, "beta2": 1.0 / (1.0 + C * C)},
        {"C": C, "regret_per_step_at_plus_1": 2.0 * (C - 2.0) / 3.0},
    )


def make_synthetic() -> Problem:
    return _problem(
        "reddi-synthetic",
        REDDI_SYNTH,
        "Reddi et al. 5: f_t = 1010 x if t mod 101 == 1 else -10 x on [-1, 1]",
        BIG,
        False,
        lambda seed: np.zeros(1),
        {"beta1": 0.9, "beta2": 0.99},
        {"regret_per_step_at_plus_1": 20.0 / 101.0},
    )


def make_stochastic() -> Problem:
    return _problem(
        "reddi-stochastic",
        REDDI_STOCH,
        "Reddi et al. 5: f_t = 1010 x with probability 0.01 else -10 x on [-1, 1]",
        BIG,
        True,
        lambda seed: np.zeros(1),
        {"beta1": 0.9, "beta2": 0.99},
        {"expected_regret_per_step_at_plus_1": 0.4},
    )
