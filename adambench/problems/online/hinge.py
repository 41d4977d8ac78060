"""``hinge``: online linear SVM with the squared hinge loss, F an L2 ball.

a_t uniform on [-1, 1]^d, y_t = sign(<w*, a_t>) flipped with probability 0.1, w* a
random direction of norm 3 per seed, so the comparator sits on the sphere ||x|| = 1
and the Euclidean and sqrt(V)-weighted projections (docs/theory.md §2.1) really differ.
f_t(x) = max(0, 1 - y_t <a_t, x>)^2, differentiable with a Lipschitz gradient;
|phi'| <= 2 (1 + r sqrt(d)) on the ball of radius r.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

from ..streams import stream_key, uniform, uniform_features, uniform_np
from .base import HINGE, PHI_SQHINGE, Problem, check_dim

_JIT = dict(cache=True, nogil=True, error_model="numpy")
TEACHER_NORM = 3.0
FLIP = 0.1


@njit(**_JIT)
def phi(z, y):
    """phi(z, y) = max(0, 1 - y z)^2: value, phi', phi'' (one-sided at the kink)."""
    h = 1.0 - y * z
    if h <= 0.0:
        return 0.0, 0.0, 0.0
    return h * h, -2.0 * y * h, 2.0


@njit(**_JIT)
def sample(key, t, prm, idx, val):
    """a_t uniform on [-1, 1]^d; returns the teacher's label, flipped with prob. prm[d]."""
    d = idx.size
    y = 1.0 if uniform_features(key, t, prm, idx, val) >= 0.0 else -1.0
    return -y if uniform(key, t, d) < prm[d] else y


def make(d: int = 10, radius: float = 1.0) -> Problem:
    d = check_dim(d)

    def params(seed: int) -> np.ndarray:
        w = 2.0 * uniform_np(stream_key(seed), 0, np.arange(d)) - 1.0
        w *= TEACHER_NORM / max(np.linalg.norm(w), 1e-12)
        return np.append(w, FLIP)

    g_inf = 2.0 * (1.0 + radius * math.sqrt(d))
    return Problem(
        name="hinge",
        description="online linear SVM, squared hinge loss, 10% label noise, L2 ball",
        family=HINGE,
        loss=PHI_SQHINGE,
        d=d,
        nnz=d,
        set_kind="ball",
        radius=radius,
        params=params,
        constants={"G": g_inf * math.sqrt(d), "G_inf": g_inf, "D": 2 * radius, "D_inf": 2 * radius},
        default_lr=0.1,
        options={"teacher_norm": TEACHER_NORM, "label_flip": FLIP},
    )
