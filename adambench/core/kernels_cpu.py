"""Fused CPU update kernels (numba): one pass over memory, in place, parallel over the array.

Each ``_<rule>`` function updates one contiguous 1-D stretch of a run's parameters from
the per-run coefficients that ``rules/<rule>.py`` computes (the math and its equations
live there; these loops are transcriptions of the same formulas).  ``apply`` splits the
(B, d) arrays into chunks and runs them on numba's thread pool.

Performance notes (measured, see README): the loops run over ``range(x.size)`` of 1-D
slices, since ``range(j0, j1)`` over a bigger array defeats LLVM's vectorizer, and the
error model is numpy's (no zero-division branch per element).  Every constant is
precomputed in the array's dtype, so float32 arrays are updated in float32 arithmetic.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

_JIT = dict(cache=True, nogil=True, error_model="numpy")

ADAM, AMSGRAD, ADAMAX, ADAGRAD, RMSPROP, SGD = range(6)
KINDS = {
    "adam": ADAM,
    "amsgrad": AMSGRAD,
    "adamax": ADAMAX,
    "adagrad": ADAGRAD,
    "rmsprop": RMSPROP,
    "sgd": SGD,
}

# Elements per parallel work item: small enough to balance two threads at 1e5,
# large enough that per-chunk overhead vanishes.
CHUNK = 16384


@njit(**_JIT)
def _adam(p, g, m, v, c):
    b1, ob1, b2, ob2, step, isb, eps = c[0], c[1], c[2], c[3], c[4], c[5], c[6]
    # A positive denominator is >= sqrt(smallest subnormal), far above tiny, so the max
    # changes nothing there; a zero one (eps = 0, all-zero gradients, so m = 0) gives
    # 0 / tiny = 0: the coordinate stays put instead of becoming 0/0 = NaN.  A max
    # vectorises; a branch here cost 1.5x in float32.
    tiny = np.finfo(c.dtype).tiny
    for j in range(p.size):
        gj = g[j]
        mj = b1 * m[j] + ob1 * gj
        vj = b2 * v[j] + ob2 * gj * gj
        m[j] = mj
        v[j] = vj
        p[j] -= step * (mj / max(np.sqrt(vj) * isb + eps, tiny))


@njit(**_JIT)
def _amsgrad(p, g, m, v, vh, c):
    b1, ob1, b2, ob2, step, isb, eps = c[0], c[1], c[2], c[3], c[4], c[5], c[6]
    # 0 in the arrays' dtype: c[0] * 0 is float64 (numba promotes float32 * int), which
    # turned the select below and the update into float64 work: 10 % slower adagrad
    # at 1e7 float32; the results are bit-identical (issue 4).
    zero = c[0] - c[0]
    for j in range(p.size):
        gj = g[j]
        mj = b1 * m[j] + ob1 * gj
        vj = b2 * v[j] + ob2 * gj * gj
        hj = max(vh[j], vj)
        m[j] = mj
        v[j] = vj
        vh[j] = hj
        denom = np.sqrt(hj) * isb + eps
        p[j] -= step * (mj / denom) if denom > zero else zero


@njit(**_JIT)
def _adamax(p, g, m, u, c):
    b1, ob1, b2, step, eps = c[0], c[1], c[2], c[3], c[4]
    zero = c[0] - c[0]  # 0 in the arrays' dtype (_amsgrad)
    for j in range(p.size):
        gj = g[j]
        mj = b1 * m[j] + ob1 * gj
        uj = max(b2 * u[j], abs(gj) + eps)
        m[j] = mj
        u[j] = uj
        p[j] -= step * (mj / uj) if uj > zero else zero


@njit(**_JIT)
def _adagrad(p, g, s, c):
    step, eps = c[0], c[1]
    zero = c[0] - c[0]  # 0 in the arrays' dtype (_amsgrad)
    for j in range(p.size):
        gj = g[j]
        sj = s[j] + gj * gj
        s[j] = sj
        denom = np.sqrt(sj) + eps
        p[j] -= step * (gj / denom) if denom > zero else zero


@njit(**_JIT)
def _rmsprop(p, g, v, b, gbar, c):
    rho, orho, mu, step, eps, centered, inside = c[0], c[1], c[2], c[3], c[4], c[5], c[6]
    zero = c[0] * 0
    tiny = np.finfo(c.dtype).tiny  # a zero denominator leaves the coordinate put (_adam)
    for j in range(p.size):
        gj = g[j]
        vj = rho * v[j] + orho * gj * gj
        v[j] = vj
        w = vj
        if centered != zero:
            aj = rho * gbar[j] + orho * gj
            gbar[j] = aj
            w = vj - aj * aj
        denom = np.sqrt(w + eps) if inside != zero else np.sqrt(w) + eps
        bj = mu * b[j] + gj / max(denom, tiny)
        b[j] = bj
        p[j] -= step * bj


@njit(**_JIT)
def _sgd(p, g, b, c):
    mu, step, nesterov, has_momentum = c[0], c[1], c[2], c[3]
    zero = c[0] * 0
    if has_momentum == zero:
        for j in range(p.size):
            p[j] -= step * g[j]
        return
    for j in range(p.size):
        gj = g[j]
        bj = mu * b[j] + gj
        b[j] = bj
        p[j] -= step * (gj + mu * bj if nesterov != zero else bj)


@njit(**_JIT)
def step_row(kind, p, g, s0, s1, s2, c):
    """Update one contiguous 1-D stretch with kernel ``kind`` (an entry of KINDS).

    Callable from other numba code (the regret engine fuses it with gradients and
    projections); unused state slots take any array of the right length.
    """
    if kind == ADAM:
        _adam(p, g, s0, s1, c)
    elif kind == AMSGRAD:
        _amsgrad(p, g, s0, s1, s2, c)
    elif kind == ADAMAX:
        _adamax(p, g, s0, s1, c)
    elif kind == ADAGRAD:
        _adagrad(p, g, s0, c)
    elif kind == RMSPROP:
        _rmsprop(p, g, s0, s1, s2, c)
    else:
        _sgd(p, g, s0, c)


@njit(parallel=True, **_JIT)
def _apply(kind, p, g, s0, s1, s2, coef, chunk):
    rows, d = p.shape
    per_row = (d + chunk - 1) // chunk
    for k in prange(rows * per_row):
        i = k // per_row
        j0 = (k - i * per_row) * chunk
        j1 = min(j0 + chunk, d)
        c = coef[i if coef.shape[0] > 1 else 0]
        step_row(kind, p[i, j0:j1], g[i, j0:j1], s0[i, j0:j1], s1[i, j0:j1], s2[i, j0:j1], c)


def apply(
    kernel: str, p: np.ndarray, g: np.ndarray, buffers: list[np.ndarray], coef: np.ndarray
) -> None:
    """Run ``kernel`` in place on C-contiguous (B, d) arrays of one dtype.

    ``buffers`` are the rule's state arrays in the order its kernel takes them; missing
    ones are filled with ``p``, which the kernel never touches through them (not ``g``:
    a read-only ``g`` there would not compile).  ``coef`` is (R, K) in the arrays'
    dtype, R = 1 or B.
    """
    s = list(buffers) + [p] * (3 - len(buffers))
    _apply(KINDS[kernel], p, g, s[0], s[1], s[2], coef, CHUNK)
