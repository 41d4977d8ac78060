"""``sparse-logistic``: logistic regression on sparse features with power-law frequencies.

Each step has k distinct active features (value 1, like words in a bag of words), drawn
with probabilities p_j proportional to j^(-s) (s = 1.5): a few features are common and
most are rare, the case where Kingma & Ba (section 4 remarks, docs/theory.md §1.5) expect
adaptive methods to win (sum_i ||g_{1:T,i}||_2 << d G_inf sqrt(T)).  Labels come from a
teacher w*_j uniform on [-2, 2]; F the box [-1, 1]^d; f_t = log(1 + exp(-y <a_t, x>)).
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

from ..streams import stream_key, uniform, uniform_np
from .base import PHI_LOGISTIC, SPARSE_LOGISTIC, Problem, check_dim
from .logistic import label

_JIT = dict(cache=True, nogil=True, error_model="numpy")
POWER = 1.5
TEACHER_SCALE = 2.0
_LABEL_INDEX = 1 << 20


@njit(**_JIT)
def sample(key, t, prm, idx, val):
    """k distinct features by inverse CDF (prm[:d] = cumulative p), value 1; returns y_t."""
    d = (prm.size) // 2
    k = idx.size
    z = 0.0
    draw = 0
    for j in range(k):
        while True:
            u = uniform(key, t, draw)
            draw += 1
            c = np.searchsorted(prm[:d], u, side="right")
            c = min(c, d - 1)
            fresh = True
            for q in range(j):
                if idx[q] == c:
                    fresh = False
            if fresh:
                break
        idx[j] = c
        val[j] = 1.0
        z += prm[d + c]
    return label(key, t, z, _LABEL_INDEX)


def make(d: int = 100, nnz: int = 3) -> Problem:
    d = check_dim(d, lo=2)
    if not 1 <= nnz <= d // 2:
        raise ValueError(f"nnz for sparse-logistic must be in [1, {d // 2}] (d/2), got {nnz}")
    p = np.arange(1, d + 1, dtype=np.float64) ** -POWER
    cdf = np.cumsum(p / p.sum())
    cdf[-1] = 1.0

    def params(seed: int) -> np.ndarray:
        u = uniform_np(stream_key(seed), 0, np.arange(d))
        return np.concatenate([cdf, TEACHER_SCALE * (2.0 * u - 1.0)])

    return Problem(
        name="sparse-logistic",
        description=f"logistic regression, {nnz} of d features active, power-law frequencies",
        family=SPARSE_LOGISTIC,
        loss=PHI_LOGISTIC,
        d=d,
        nnz=nnz,
        set_kind="box",
        radius=1.0,
        params=params,
        constants={"G": math.sqrt(nnz), "G_inf": 1.0, "D": 2.0 * math.sqrt(d), "D_inf": 2.0},
        default_lr=0.1,
        options={"power": POWER, "rarest_frequency": float(p[-1] / p.sum() * nnz)},
    )
