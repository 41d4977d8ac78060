"""The compiled inner loop of the regret engine: gradient, update, projection, statistics.

One call advances every run of a batch through one block of steps (parallel over runs):
for each step it plays x_t, reveals f_t (data generated once per seed, ``kernels``),
computes g_t = phi'(<a_t, x_t>) a_t, applies the rule's fused update
(``core.kernels_cpu.step_row`` with this step's coefficient row, so the update math is
the rules' own) and projects onto F (docs/theory.md §2.1):

* a box: clipping, which is both the Euclidean and every diagonal-weighted projection;
* a ball, Euclidean: x * min(1, r / ||x||);
* a ball, sqrt(V)-weighted Pi_{F, sqrt(V_t)}: argmin_{||x|| <= r} sum_i w_i (x_i - y_i)^2
  with w_i the rule's own denominator (``Kernel.weight``: sqrt(v_hat_i) + eps for Adam,
  ...), solved by
  x_i = w_i y_i / (w_i + mu) with Newton's method on mu >= 0 (monotone from mu = 0,
  since ||x(mu)||^2 is convex and decreasing).

It accumulates what the regret and the bounds need: sum_t f_t(x_t) (Kahan), per-coordinate
sum_t g_{t,i}^2 (for ||g_{1:T,i}||_2), max ||g_t||_2^2 and ||g_t||_inf, the bounding box
of the played iterates (for D and D_inf), and the statistic a kernel tracks step by step
(``Kernel.track``: AMSGrad's Thm 4 middle term sum_t beta1_t sum_i sqrt(v_hat_{t,i}) /
alpha_t).
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

from ...core.kernels_cpu import (
    kernel_jit,
    step_row,
    track_add,
    track_term,
    tracks,
    weight,
    weighted,
)
from ...problems.online.base import PROJ_BALL, PROJ_BOX
from ...problems.online.generate import phi

_JIT = dict(cache=True, nogil=True, error_model="numpy")


@njit(inline="always", **_JIT)
def widen_box(x, r, xmin, xmax):
    """The played point x (run r's iterate, (d,)) widens run r's bounding box of the
    played points, rows r of ``xmin``/``xmax`` (float64); True when x has a coordinate
    that is not finite (the run diverged).  Inlined: a call with array arguments costs."""
    bad = False
    for i in range(x.shape[0]):
        xi = np.float64(x[i])
        if xi < xmin[r, i]:
            xmin[r, i] = xi
        if xi > xmax[r, i]:
            xmax[r, i] = xi
        if not np.isfinite(xi):
            bad = True
    return bad


@kernel_jit(**_JIT)
def project(proj, kind, x, s0, s1, s2, c, radius, w):
    """Project x (in place) onto F; ``w`` is float64 scratch of x's length."""
    d = x.size
    if proj == PROJ_BOX:
        lo, hi = -radius, radius
        for i in range(d):
            xi = x[i]
            if xi < lo:
                x[i] = lo
            elif xi > hi:
                x[i] = hi
        return
    r2 = radius * radius
    n2 = 0.0
    for i in range(d):
        n2 += np.float64(x[i]) * np.float64(x[i])
    if n2 <= r2:
        return
    wmax = 0.0
    if proj != PROJ_BALL and weighted(kind):
        for i in range(d):
            w[i] = weight(kind, s0[i], s1[i], s2[i], c)
            wmax = max(wmax, w[i])
    if wmax <= 0.0 or not np.isfinite(wmax):
        scale = radius / np.sqrt(n2)
        for i in range(d):
            x[i] = x[i] * scale
        return
    # Newton on h(mu) = sum_i (w_i y_i / (w_i + mu))^2 - r^2, convex decreasing: from
    # mu = 0 (h > 0) the iterates rise monotonically to the root.
    mu = 0.0
    for _ in range(200):
        h = -r2
        dh = 0.0
        for i in range(d):
            if w[i] > 0.0:
                q = w[i] / (w[i] + mu)
                yi = np.float64(x[i])
                h += q * q * yi * yi
                dh -= 2.0 * q * q * yi * yi / (w[i] + mu)
        if h <= 1e-15 * r2 or dh >= 0.0:
            break
        step = -h / dh
        if step <= 1e-16 * mu:
            break
        mu += step
    n2 = 0.0
    for i in range(d):
        xi = w[i] * np.float64(x[i]) / (w[i] + mu) if w[i] > 0.0 else 0.0
        x[i] = xi
        n2 += np.float64(x[i]) * np.float64(x[i])
    if n2 > r2:
        scale = radius / np.sqrt(n2)
        for i in range(d):
            x[i] = x[i] * scale


@kernel_jit(parallel=True, **_JIT)
def run_block(
    loss,
    idx,
    val,
    yv,
    run_seed,
    run_point,
    kinds,
    table,
    x,
    s0,
    s1,
    s2,
    g,
    proj,
    radius,
    loss_sum,
    loss_comp,
    gsq,
    gmax2,
    gmaxinf,
    xmin,
    xmax,
    tracked,
    diverged,
):
    """Advance every run r through the block's n steps (see the module docstring)."""
    B, d = x.shape
    nnz = idx.shape[2]
    n = yv.shape[1]
    for r in prange(B):
        if diverged[r]:
            continue
        s = run_seed[r]
        kind = kinds[r]
        pt = run_point[r]
        xr, gr, a0, a1, a2 = x[r], g[r], s0[r], s1[r], s2[r]
        w = np.empty(d)
        total, comp = loss_sum[r], loss_comp[r]
        for k in range(n):
            # the played point x_t: its bounding box, and a divergence check
            bad = widen_box(xr, r, xmin, xmax)
            ii, vv = idx[s, k], val[s, k]
            z = 0.0
            for j in range(nnz):
                z += vv[j] * np.float64(xr[ii[j]])
            f, df, _ = phi(loss, z, yv[s, k])
            if bad or not np.isfinite(f):
                diverged[r] = True
                break
            yk = f - comp
            tk = total + yk
            comp = (tk - total) - yk
            total = tk
            n2 = 0.0
            ninf = 0.0
            for j in range(nnz):
                gj = df * vv[j]
                gr[ii[j]] = gj
                gsq[r, ii[j]] += gj * gj
                n2 += gj * gj
                ninf = max(ninf, abs(gj))
            gmax2[r] = max(gmax2[r], n2)
            gmaxinf[r] = max(gmaxinf[r], ninf)
            c = table[k, pt]
            step_row(kind, xr, gr, a0, a1, a2, c)
            if proj == PROJ_BOX:  # inline: a call with array arguments costs ~40 ns
                for i in range(d):
                    xi = xr[i]
                    if xi < -radius:
                        xr[i] = -radius
                    elif xi > radius:
                        xr[i] = radius
            else:
                project(proj, kind, xr, a0, a1, a2, c, radius, w)
            if tracks(kind, c):  # a theorem's per-step statistic (Kernel.track)
                acc = 0.0
                for i in range(d):
                    acc += track_term(kind, a0[i], a1[i], a2[i])
                tracked[r] += track_add(kind, acc, c)
            for j in range(nnz):
                gr[ii[j]] = 0.0
        loss_sum[r] = total
        loss_comp[r] = comp
