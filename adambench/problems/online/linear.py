"""``linear``: f_t(x) = <c_t, x> with stochastic c_t, on a box or an L2 ball.

c_{t,i} = mu_i + u_{t,i}, u uniform on [-1, 1] (cheap, bounded: G_inf <= 1 + |mu|_inf),
mu_i uniform on [-0.3, 0.3] drawn once per seed.  The comparator is closed form
(docs/theory.md §5.4): min_{x in F} <S_T, x>, S_T = sum_t c_t, i.e. -r ||S_T||_1 on the box
[-r, r]^d and -r ||S_T||_2 on the ball of radius r.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from ..streams import stream_key, uniform, uniform_np
from .base import LINEAR, PHI_LINEAR, Problem, check_dim

_JIT = dict(cache=True, nogil=True, error_model="numpy")
MEAN_SCALE = 0.3


@njit(**_JIT)
def phi(z, y):
    """phi(z) = z: value, first and second derivative."""
    return z, 1.0, 0.0


@njit(**_JIT)
def sample(key, t, prm, idx, val):
    """c_t = mu + uniform[-1, 1]^d into (idx, val); no label."""
    for i in range(idx.size):
        idx[i] = i
        val[i] = prm[i] + 2.0 * uniform(key, t, i) - 1.0
    return 0.0


def make(d: int = 10, feasible: str = "box", radius: float = 1.0) -> Problem:
    d = check_dim(d)
    if feasible not in ("box", "ball"):
        raise ValueError(f"set for linear must be box | ball, got {feasible!r}")

    def params(seed: int) -> np.ndarray:
        u = uniform_np(stream_key(seed), 0, np.arange(d))
        return MEAN_SCALE * (2.0 * u - 1.0)

    gmax = 1.0 + MEAN_SCALE
    D = 2.0 * radius * (np.sqrt(d) if feasible == "box" else 1.0)
    return Problem(
        name="linear",
        description="f_t(x) = <c_t, x>, c_t = mu + uniform[-1,1]^d; closed-form comparator",
        family=LINEAR,
        loss=PHI_LINEAR,
        d=d,
        nnz=d,
        set_kind=feasible,
        radius=radius,
        params=params,
        constants={"G": gmax * np.sqrt(d), "G_inf": gmax, "D": D, "D_inf": 2.0 * radius},
        default_lr=0.1,
        options={"set": feasible, "mean_scale": MEAN_SCALE},
    )
