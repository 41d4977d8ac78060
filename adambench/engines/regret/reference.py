"""A plain per-step NumPy implementation of the online protocol, for checks and timing.

The same algorithm as the engine, written the obvious way: per step, the gradient in
NumPy, the rule's float64 ``reference`` update (``core/rules``), the projection in NumPy
(the sqrt(V)-weighted ball projection through ``scipy.optimize.brentq``).  It is the
independent check of the compiled engine and the baseline of ``scripts/bench_regret.py``.
The data come from the same stream (``generate.gen_block``), so both see the same f_t.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from scipy import optimize

from ...core.optimizer import make_optimizer
from ...problems.online import generate
from ...problems.online.base import PHI_LINEAR, PHI_LOGISTIC, PHI_SQUARE, Problem
from ...problems.streams import stream_key


def phi_np(loss: int, z: float, y: float) -> tuple[float, float]:
    """(phi, phi') of a loss at z, in NumPy."""
    if loss == PHI_LINEAR:
        return z, 1.0
    if loss == PHI_LOGISTIC:
        return float(np.logaddexp(0.0, -y * z)), float(-y / (1.0 + np.exp(y * z)))
    if loss == PHI_SQUARE:
        return 0.5 * (z - y) ** 2, z - y
    h = max(0.0, 1.0 - y * z)
    return h * h, -2.0 * y * h


def _weights(opt: Any, state: dict[str, np.ndarray], t: int) -> np.ndarray | None:
    """Diagonal of sqrt(V_t) (docs/theory.md §2.1): the rule's ``Kernel.weight`` on the
    reference state with this step's float64 coefficients; None where V_t = I (also for
    a rule without a kernel, which declares no weight: the projection is Euclidean)."""
    kernel = opt.rule.kernel
    if kernel is None or kernel.weight is None:
        return None
    slots = [state[n] for n in opt.rule.buffers(opt.hp)]
    zero = np.zeros_like(slots[0])
    slots += [zero] * (3 - len(slots))
    return kernel.weight(*slots, opt.rule.coefficients(opt.hp, t)[0])


def project_np(problem: Problem, x: np.ndarray, w: np.ndarray | None) -> np.ndarray:
    """Euclidean (w None) or w-weighted projection onto F."""
    if problem.set_kind == "box" or np.linalg.norm(x) <= problem.radius:
        return np.clip(x, -problem.radius, problem.radius) if problem.set_kind == "box" else x
    if w is None or not np.any(w > 0):
        return x * problem.radius / np.linalg.norm(x)
    r = problem.radius

    def excess(mu: float) -> float:
        return float(np.linalg.norm(w * x / (w + mu))) - r

    mu = optimize.brentq(excess, 0.0, float(w.max()) * np.linalg.norm(x) / r, xtol=1e-300)
    y = w * x / (w + mu)
    return y * min(1.0, r / float(np.linalg.norm(y)))


def run_numpy(
    problem: Problem, optimizer: str, hp: dict[str, Any], seed: int, T: int,
    projection: str = "weighted", x0: float = 0.0,
) -> tuple[float, np.ndarray]:  # fmt: skip
    """sum_t f_t(x_t) and x_{T+1} for one run, one NumPy step at a time."""
    opt = make_optimizer(optimizer, **hp)
    x = np.full(problem.d, x0, dtype=np.float64)
    state = opt.init(x)
    keys = np.array([stream_key(seed)], dtype=np.uint64)
    prm = problem.params(seed)[None]
    idx = np.empty((1, T, problem.nnz), np.int64)
    val = np.empty((1, T, problem.nnz))
    yv = np.empty((1, T))
    generate.gen_block(problem.family, keys, prm, 1, idx, val, yv)
    total = 0.0
    weighted = projection == "weighted" and problem.set_kind == "ball"
    for k in range(T):
        ii, vv = idx[0, k], val[0, k]
        f, df = phi_np(problem.loss, float(vv @ x[ii]), float(yv[0, k]))
        total += f
        g = np.zeros(problem.d)
        np.add.at(g, ii, df * vv)
        opt.reference_step(x, g, state)
        w = _weights(opt, state.buffers, state.t) if weighted else None
        x[...] = project_np(problem, x, w)
    return total, x
