"""``least-squares``: online linear regression with noise, F a box or an L2 ball.

a_t uniform on [-1, 1]^d, y_t = <w*, a_t> + sigma * sqrt(3) (2u - 1) (uniform noise of
standard deviation sigma: bounded, so the gradients are), w*_i uniform on [-1.5, 1.5]
per seed.  f_t(x) = (<a_t, x> - y_t)^2 / 2.  The comparator minimises the quadratic
sum_t f_t, whose sufficient statistics (sum a a^T, sum a y, sum y^2) one pass gathers;
the bounded solve is exact (``comparator.py``: one Newton step is the answer).
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

from ..streams import stream_key, uniform, uniform_features, uniform_np
from .base import LEAST_SQUARES, PHI_SQUARE, Problem, check_dim

_JIT = dict(cache=True, nogil=True, error_model="numpy")
TEACHER_SCALE = 1.5
NOISE = 0.5
_SQRT3 = math.sqrt(3.0)


@njit(**_JIT)
def phi(z, y):
    """phi(z, y) = (z - y)^2 / 2: value, phi', phi''."""
    r = z - y
    return 0.5 * r * r, r, 1.0


@njit(**_JIT)
def sample(key, t, prm, idx, val):
    """a_t uniform on [-1, 1]^d; returns y_t = <w*, a_t> + bounded noise."""
    d = idx.size
    z = uniform_features(key, t, prm, idx, val)
    return z + prm[d] * _SQRT3 * (2.0 * uniform(key, t, d) - 1.0)


def make(d: int = 10, feasible: str = "box", radius: float = 1.0) -> Problem:
    d = check_dim(d)
    if feasible not in ("box", "ball"):
        raise ValueError(f"set for least-squares must be box | ball, got {feasible!r}")

    def params(seed: int) -> np.ndarray:
        u = uniform_np(stream_key(seed), 0, np.arange(d))
        return np.append(TEACHER_SCALE * (2.0 * u - 1.0), NOISE)

    # |z - y| <= max_F ||x||_1 + ||w*||_1 + sqrt(3) sigma, |a_i| <= 1.
    xmax = radius * (d if feasible == "box" else math.sqrt(d))
    g_inf = xmax + TEACHER_SCALE * d + _SQRT3 * NOISE
    D = 2.0 * radius * (math.sqrt(d) if feasible == "box" else 1.0)
    return Problem(
        name="least-squares",
        description="online linear regression, y = <w*, a> + noise, squared loss, box or ball",
        family=LEAST_SQUARES,
        loss=PHI_SQUARE,
        d=d,
        nnz=d,
        set_kind=feasible,
        radius=radius,
        params=params,
        constants={"G": g_inf * math.sqrt(d), "G_inf": g_inf, "D": D, "D_inf": 2.0 * radius},
        default_lr=0.1,
        options={"set": feasible, "noise_std": NOISE, "teacher_scale": TEACHER_SCALE},
    )
