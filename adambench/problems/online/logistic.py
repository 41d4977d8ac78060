"""``logistic``: online logistic regression from a fixed random teacher, F a box.

a_t uniform on [-1, 1]^d; y_t = +1 with probability sigmoid(<w*, a_t>), else -1; w*_i
uniform on [-2, 2] per seed (so some coordinates of the comparator sit on the box
[-1, 1]^d).  f_t(x) = log(1 + exp(-y_t <a_t, x>)); |phi'| <= 1, so G_inf = 1, G = sqrt(d).
The comparator has no closed form: Newton passes over the regenerated stream
(``comparator.py``).
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

from ..streams import stream_key, uniform, uniform_features, uniform_np
from .base import LOGISTIC, PHI_LOGISTIC, Problem, box_constants, check_dim

_JIT = dict(cache=True, nogil=True, error_model="numpy")
TEACHER_SCALE = 2.0


@njit(**_JIT)
def phi(z, y):
    """phi(z, y) = log(1 + exp(-y z)), stable for any z: value, phi', phi''."""
    m = -y * z
    if m > 0.0:
        f = m + math.log1p(math.exp(-m))
        s = 1.0 / (1.0 + math.exp(-m))  # sigmoid(m)
    else:
        e = math.exp(m)
        f = math.log1p(e)
        s = e / (1.0 + e)
    return f, -y * s, s * (1.0 - s)


@njit(**_JIT)
def label(key, t, z_teacher, i_label):
    """+1 with probability sigmoid(z_teacher), else -1, from uniform(key, t, i_label)."""
    p = 1.0 / (1.0 + math.exp(-z_teacher))
    return 1.0 if uniform(key, t, i_label) < p else -1.0


@njit(**_JIT)
def sample(key, t, prm, idx, val):
    """a_t uniform on [-1, 1]^d into (idx, val); returns the label y_t."""
    return label(key, t, uniform_features(key, t, prm, idx, val), idx.size)


def make(d: int = 10) -> Problem:
    d = check_dim(d)

    def params(seed: int) -> np.ndarray:
        u = uniform_np(stream_key(seed), 0, np.arange(d))
        return TEACHER_SCALE * (2.0 * u - 1.0)

    return Problem(
        name="logistic",
        description="online logistic regression, a_t ~ U[-1,1]^d, teacher labels, box [-1,1]^d",
        family=LOGISTIC,
        loss=PHI_LOGISTIC,
        d=d,
        nnz=d,
        set_kind="box",
        radius=1.0,
        params=params,
        constants=box_constants(np.ones(d), 1.0, d),
        default_lr=0.1,
        options={"teacher_scale": TEACHER_SCALE},
    )
