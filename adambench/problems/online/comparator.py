"""The exact comparator min_{x in F} sum_{t <= T_k} f_t(x) at every checkpoint T_k.

Regret R(T) = sum_t f_t(x_t) - min_{x in F} sum_t f_t(x) (Reddi et al. section 2, Kingma & Ba
eq. 5; docs/theory.md §2.1, §4).  Linear problems have a closed form (``Problem.linear_min``;
the Reddi sequences are counted exactly).  The others are smooth and convex; their
minimum is found by a projected (proximal) Newton method over the regenerated stream:

* one pass (``generate.newton_pass``) gives sum_t f_t, its gradient g and Hessian H at
  the current point of every checkpoint, all checkpoints sharing the generated data;
* the Newton step solves the quadratic model over F exactly with scipy: a bounded
  least-squares problem (``scipy.optimize.lsq_linear``, BVLS) on a box, and the
  trust-region-like secular equation (``scipy.optimize.brentq``) on a ball;
* Armijo backtracking keeps every accepted step a descent step.

Least squares is quadratic, so its first Newton step is the exact bounded solution from
the sufficient statistics.  Every comparator value carries a certified error bound: the
Frank-Wolfe gap max_{y in F} <g, x - y> >= f(x) - min_F f (convexity), reported as
``gap`` next to R(T) so that gap / |R(T)| is stated in the results.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from scipy import linalg, optimize

from ..streams import stream_key
from . import generate
from .base import REDDI, REDDI_SYNTH, Problem
from .reddi import coefficient_sum

# Hessian memory per pass (float64 d x d per seed and checkpoint) is kept below this.
_HESS_BYTES = 256 * 2**20
# ``stream_sums(problem, seeds, ends)``: the (S, K, d) sums of a_t up to each checkpoint.
StreamSums = Callable[[Problem, list[int], np.ndarray], np.ndarray]


@dataclass
class Comparator:
    """Comparator values at the checkpoints ``ends`` for each seed.

    ``value[s, k]`` is sum_{t <= ends[k]} f_t(x*) at the point ``argmin[s, k]``; the true
    minimum lies in [value - gap, value].  ``method`` says how it was found.
    """

    ends: np.ndarray
    value: np.ndarray
    argmin: np.ndarray
    gap: np.ndarray
    method: str
    passes: int = 0
    iterations: int = 0


def compute(
    problem: Problem,
    seeds: list[int],
    ends: np.ndarray,
    rtol: float = 1e-12,
    max_iter: int = 60,
    device_sums: StreamSums | None = None,
) -> Comparator:
    """The comparator of ``problem`` for each seed at every checkpoint in ``ends``.

    ``device_sums``: the one pass of a linear problem's sums (``stream_sums``) done on a
    CUDA device instead: the regret engine passes ``engines.regret.cuda.stream_sums`` for
    ``backend="cupy"``.  Everything else stays on the host.
    """
    ends = np.asarray(ends, dtype=np.int64)
    if problem.linear:
        return _linear(problem, seeds, ends, device_sums)
    S, K, d = len(seeds), len(ends), problem.d
    value, gap = np.zeros((S, K)), np.zeros((S, K))
    argmin = np.zeros((S, K, d))
    chunk = max(1, _HESS_BYTES // (K * d * d * 8))
    passes = iters = 0
    for s0 in range(0, S, chunk):
        part = _newton(problem, seeds[s0 : s0 + chunk], ends, rtol, max_iter)
        value[s0 : s0 + chunk], gap[s0 : s0 + chunk] = part.value, part.gap
        argmin[s0 : s0 + chunk] = part.argmin
        passes += part.passes
        iters = max(iters, part.iterations)
    return Comparator(ends, value, argmin, gap, "projected Newton (scipy)", passes, iters)


def _linear(
    problem: Problem, seeds: list[int], ends: np.ndarray, device_sums: StreamSums | None
) -> Comparator:
    """min_F <S_T, x>: S_T counted exactly (Reddi) or summed over the stream in one pass."""
    S, K, d = len(seeds), len(ends), problem.d
    if problem.family in (REDDI, REDDI_SYNTH):
        C = float(problem.params(0)[0])
        sums = np.array([[coefficient_sum(problem.name, C, int(T))] for T in ends])
        sums = np.broadcast_to(sums, (S, K, 1))
        method = "closed form (exact count)"
    else:
        if device_sums is not None:
            sums = device_sums(problem, seeds, ends)
            method = "closed form (one pass on the CUDA device: S_T = sum c_t)"
        else:
            sums = stream_sums(problem, seeds, ends)
            method = "closed form (one pass: S_T = sum c_t)"
    value, argmin = np.zeros((S, K)), np.zeros((S, K, d))
    for s in range(S):
        for k in range(K):
            value[s, k], argmin[s, k] = problem.linear_min(sums[s, k])
    return Comparator(ends, value, argmin, np.zeros((S, K)), method, passes=1)


def stream_sums(problem: Problem, seeds: list[int], ends: np.ndarray) -> np.ndarray:
    """(S, K, d): sum_{t <= ends[k]} a_t for each seed, in one pass over the stream."""
    keys = np.array([stream_key(s) for s in seeds], dtype=np.uint64)
    prm = np.stack([problem.params(s) for s in seeds])
    out = np.zeros((len(seeds), len(ends), problem.d))
    generate.stream_sums(problem.family, keys, prm, np.asarray(ends, np.int64), out, problem.nnz)
    return out


def _pass(problem, seeds, ends, active, xs, need_hess=None):
    """sum f_t, gradient and (symmetrised) Hessian at xs[s, k] for the active (s, k)."""
    S, K, d = xs.shape
    keys = np.array([stream_key(s) for s in seeds], dtype=np.uint64)
    prm = np.stack([problem.params(s) for s in seeds])
    fval, grad = np.zeros((S, K)), np.zeros((S, K, d))
    if need_hess is None:
        need_hess = np.zeros((S, K), bool) if problem.linear else active
    hess = np.zeros((S, K, d, d)) if need_hess.any() else np.zeros((S, K, 1, 1))
    generate.newton_pass(
        problem.family, problem.loss, keys, prm, ends, active, need_hess, xs, fval, grad,
        hess, problem.nnz,
    )  # fmt: skip
    if need_hess.any():
        diag = np.einsum("skii->ski", hess)
        hess = hess + np.swapaxes(hess, -1, -2)
        hess[..., np.arange(d), np.arange(d)] -= diag
    return fval, grad, hess


def _stages(ends: np.ndarray) -> list[np.ndarray]:
    """Checkpoint indices by decade (all T <= 1000 first): each stage starts from the
    previous stage's solution, so the long passes need few Newton steps."""
    decade = np.maximum(np.floor(np.log10(ends)).astype(int), 3)
    return [np.nonzero(decade == j)[0] for j in np.unique(decade)]


def _newton(problem: Problem, seeds: list[int], ends: np.ndarray, rtol: float, max_iter: int):
    S, K, d = len(seeds), len(ends), problem.d
    x = np.zeros((S, K, d))
    f, gap = np.zeros((S, K)), np.zeros((S, K))
    passes = iters = 0
    start = np.zeros((S, d))
    for stage in _stages(ends):
        mask = np.zeros((S, K), bool)
        mask[:, stage] = True
        x[:, stage] = start[:, None, :]
        fs, xs_, gs, p_, i_ = _newton_stage(problem, seeds, ends, mask, x, rtol, max_iter)
        f[mask], x[mask], gap[mask] = fs[mask], xs_[mask], gs[mask]
        passes, iters = passes + p_, max(iters, i_)
        start = x[:, stage[-1]]
    return Comparator(ends, f, x, np.maximum(gap, 0.0), "projected Newton (scipy)", passes, iters)


def _newton_stage(problem, seeds, ends, stage, x0, rtol, max_iter):
    """Newton steps with Armijo backtracking on the checkpoints in ``stage`` (S, K)."""
    S, K, d = x0.shape
    x = x0.copy()
    f, g, H = _pass(problem, seeds, ends, stage, x)
    passes, iters = 1, 0
    gap = np.full((S, K), np.inf)
    for s, k in zip(*np.nonzero(stage), strict=True):
        gap[s, k] = problem.gap(g[s, k], x[s, k])
    x_try, shrink = x.copy(), np.zeros((S, K), int)
    while iters < max_iter:
        active = stage & (gap > rtol * (np.abs(f) + 1.0)) & (shrink < 40)
        if not active.any():
            break
        iters += 1
        for s, k in zip(*np.nonzero(active), strict=True):
            if shrink[s, k] == 0:
                x_try[s, k] = _model_step(problem, H[s, k], g[s, k], x[s, k])
        # Near the optimum one Newton step lands within rounding: that pass only verifies.
        need_hess = active & (gap > 1e-7 * (np.abs(f) + 1.0))
        f2, g2, H2 = _pass(problem, seeds, ends, active, x_try, need_hess)
        passes += 1
        for s, k in zip(*np.nonzero(active), strict=True):
            step = x_try[s, k] - x[s, k]
            slope = float(g[s, k] @ step)
            slack = 1e-15 * (abs(f[s, k]) + 1.0)
            if f2[s, k] <= f[s, k] + 1e-4 * min(slope, 0.0) + slack:
                x[s, k], f[s, k], g[s, k] = x_try[s, k], f2[s, k], g2[s, k]
                if need_hess[s, k]:
                    H[s, k] = H2[s, k]
                gap[s, k] = problem.gap(g[s, k], x[s, k])
                shrink[s, k] = 0
            else:
                x_try[s, k] = x[s, k] + 0.5 * step
                shrink[s, k] += 1
    return f, x, gap, passes, iters


def _model_step(problem: Problem, H: np.ndarray, g: np.ndarray, x: np.ndarray) -> np.ndarray:
    """argmin_{y in F} g.(y - x) + (y - x).M(y - x)/2, M = H + rho I (rho tiny, for rank)."""
    d = len(x)
    rho = 1e-12 * max(float(np.trace(H)) / d, 1.0)
    M = H + rho * np.eye(d)
    r = problem.radius
    if problem.set_kind == "box":
        y = _box_active_set(M, g, x, r)
        if y is not None:
            return y
        L = linalg.cholesky(M, lower=True)
        b = L.T @ x - linalg.solve_triangular(L, g, lower=True)
        res = optimize.lsq_linear(L.T, b, bounds=(-r, r), method="bvls", tol=1e-14)
        return np.clip(res.x, -r, r)
    lam, Q = linalg.eigh(M)
    c = Q.T @ (g - M @ x)
    y0 = -c / lam
    if np.linalg.norm(y0) <= r:
        return Q @ y0

    def excess(mu: float) -> float:
        return float(np.linalg.norm(c / (lam + mu))) - r

    mu = optimize.brentq(excess, 0.0, float(np.linalg.norm(c)) / r, xtol=1e-300, rtol=1e-15)
    y = Q @ (-c / (lam + mu))
    return y * min(1.0, r / float(np.linalg.norm(y)))


def _box_active_set(
    M: np.ndarray, g: np.ndarray, x: np.ndarray, r: float, tries: int = 30
) -> np.ndarray | None:
    """The box model step by active-set iteration, returned only if it passes KKT.

    Start from the bounds at which x sits with the gradient pushing outward; solve the
    reduced Newton system for the free coordinates; fix those that leave the box at the
    bound they cross, free the fixed ones whose multiplier has the wrong sign; repeat.
    The result is returned only if it satisfies the model's KKT conditions (in the box,
    multipliers of the right sign): then it is the exact minimiser.  Otherwise None, and
    BVLS solves from scratch.  Near convergence the active set is stable: one solve.
    """
    lo = (x <= -r) & (g > 0)
    hi = (x >= r) & (g < 0)
    for _ in range(tries):
        y = x.copy()
        y[lo], y[hi] = -r, r
        free = ~(lo | hi)
        if free.any():
            fixed = ~free
            rhs = g[free] + M[np.ix_(free, fixed)] @ (y[fixed] - x[fixed])
            try:
                y[free] = x[free] + linalg.solve(M[np.ix_(free, free)], -rhs, assume_a="pos")
            except (linalg.LinAlgError, ValueError):
                return None
        grad_model = g + M @ (y - x)
        out_lo, out_hi = free & (y < -r), free & (y > r)
        bad_lo, bad_hi = lo & (grad_model < 0), hi & (grad_model > 0)
        if not (out_lo.any() or out_hi.any() or bad_lo.any() or bad_hi.any()):
            return np.clip(y, -r, r)
        lo = (lo & ~bad_lo) | out_lo
        hi = (hi & ~bad_hi) | out_hi
    return None
