"""Compiled dispatch over problem families and losses, and the stream-pass kernels.

``sample`` and ``phi`` pick a family's generator and a loss by their integer codes
(``base.py``), so the engine and the comparator are each one compiled loop for every
problem.  ``gen_block`` fills a block of steps for several seeds at once (data are
generated once per seed and shared by every run with that seed, docs/design.md §9).
``newton_pass`` accumulates sum_t f_t, its gradient and Hessian at one point per
checkpoint, over the regenerated stream, for the comparator; ``stream_sums`` is its
linear special case (the gradient sum_t a_t does not depend on the point).
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

from . import hinge, least_squares, linear, logistic, reddi, sparse_logistic
from .base import (
    HINGE,
    LEAST_SQUARES,
    LINEAR,
    LOGISTIC,
    PHI_LINEAR,
    PHI_LOGISTIC,
    PHI_SQUARE,
    REDDI,
    REDDI_SYNTH,
    SPARSE_LOGISTIC,
)

_JIT = dict(cache=True, nogil=True, error_model="numpy")


@njit(**_JIT)
def sample(family, key, t, prm, idx, val):
    """Step t of the family's stream: fills (idx, val) with a_t, returns y_t."""
    if family == LINEAR:
        return linear.sample(key, t, prm, idx, val)
    if family == LOGISTIC:
        return logistic.sample(key, t, prm, idx, val)
    if family == LEAST_SQUARES:
        return least_squares.sample(key, t, prm, idx, val)
    if family == HINGE:
        return hinge.sample(key, t, prm, idx, val)
    if family == SPARSE_LOGISTIC:
        return sparse_logistic.sample(key, t, prm, idx, val)
    if family == REDDI:
        return reddi.sample_reddi(key, t, prm, idx, val)
    if family == REDDI_SYNTH:
        return reddi.sample_synthetic(key, t, prm, idx, val)
    return reddi.sample_stochastic(key, t, prm, idx, val)


@njit(**_JIT)
def phi(loss, z, y):
    """(phi, phi', phi'') of the loss at z = <a_t, x> with label y."""
    if loss == PHI_LINEAR:
        return linear.phi(z, y)
    if loss == PHI_LOGISTIC:
        return logistic.phi(z, y)
    if loss == PHI_SQUARE:
        return least_squares.phi(z, y)
    return hinge.phi(z, y)


@njit(parallel=True, **_JIT)
def gen_block(family, keys, prm, t0, idx, val, y):
    """Steps t0 .. t0+n-1 for every seed s: idx[s, k, :], val[s, k, :], y[s, k]."""
    S, n = y.shape
    for q in prange(S * n):
        s = q // n
        k = q - s * n
        y[s, k] = sample(family, keys[s], t0 + k, prm[s], idx[s, k], val[s, k])


@njit(parallel=True, **_JIT)
def stream_sums(family, keys, prm, ends, out, nnz):
    """out[s, k] = sum_{t <= ends[k]} a_t for every seed s: one running sum per seed.

    The gradient of a linear loss sum (phi' = 1), in ``newton_pass``'s order of addition
    (t = 1, 2, ...), so the same bits, without adding each a_t to every later checkpoint.
    """
    S, K, d = out.shape
    for s in prange(S):
        idx = np.empty(nnz, np.int64)
        val = np.empty(nnz, np.float64)
        acc = np.zeros(d)
        k = 0
        for t in range(1, ends[K - 1] + 1):
            sample(family, keys[s], t, prm[s], idx, val)
            for j in range(nnz):
                acc[idx[j]] += val[j]
            while k < K and ends[k] == t:
                out[s, k, :] = acc
                k += 1


@njit(parallel=True, **_JIT)
def newton_pass(family, loss, keys, prm, ends, active, need_hess, xs, fval, grad, hess, nnz):
    """sum_{t <= ends[k]} f_t, gradient and Hessian at xs[s, k] for every active (s, k).

    One pass over the stream per seed (parallel over seeds); step t adds to every active
    checkpoint k with ends[k] >= t, so the data are generated once for all checkpoints.
    The Hessian (only where ``need_hess``) gets each pair of entries once, in one of the
    two triangles: the caller symmetrises it as H + H^T - diag(H).
    f is summed with Kahan compensation: at T = 1e7 it must stay exact far below R(T).
    """
    S, K, d = xs.shape
    for s in prange(S):
        idx = np.empty(nnz, np.int64)
        val = np.empty(nnz, np.float64)
        comp = np.zeros(K)
        for k in range(K):
            fval[s, k] = 0.0
            grad[s, k, :] = 0.0
            hess[s, k, :, :] = 0.0
        last = 0
        for k in range(K):
            if active[s, k]:
                last = max(last, ends[k])
        first = 0
        for t in range(1, last + 1):
            yv = sample(family, keys[s], t, prm[s], idx, val)
            while ends[first] < t:
                first += 1
            for k in range(first, K):
                if not active[s, k]:
                    continue
                x = xs[s, k]
                z = 0.0
                for j in range(nnz):
                    z += val[j] * x[idx[j]]
                f, df, d2f = phi(loss, z, yv)
                yk = f - comp[k]
                tk = fval[s, k] + yk
                comp[k] = (tk - fval[s, k]) - yk
                fval[s, k] = tk
                g = grad[s, k]
                for j in range(nnz):
                    g[idx[j]] += df * val[j]
                if d2f != 0.0 and need_hess[s, k]:
                    h = hess[s, k]
                    for j in range(nnz):
                        w = d2f * val[j]
                        for q in range(j, nnz):
                            h[idx[j], idx[q]] += w * val[q]
