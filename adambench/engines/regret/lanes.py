"""The regret engine's runs-as-lanes loop, for small d: the runs of a seed are SIMD lanes.

Invariant: for every run it performs ``cpu.run_block``'s operations in ``run_block``'s
order (the same gradient, Kahan sum, statistics, update and projection), so the two
loops agree bit for bit (tested); only the loop nest differs.  ``run_block`` takes one run
and loops over the block's steps, over its d coordinates inside; here a task takes
``LANES`` runs of one seed and loops over the steps, over the coordinates, and innermost
over its runs, which LLVM then vectorises (one run per SIMD lane):

* the data of step t (a_t, y_t) are the seed's, shared by all the task's runs: read once;
* the update is the rule's ``Kernel.lane`` (``row``'s per-element operations), each lane
  with its own coefficient row, held in a (K, LANES) block of the task;
* projection onto a box is a select; onto a Euclidean ball a scale by r / ||x|| where
  ||x|| > r; the sqrt(V)-weighted ball (Newton per run) stays with ``run_block``;
* a run that diverges keeps its values from then on (selects, not a break) and is
  marked diverged at the step ``run_block`` would mark it.

The task copies its runs into arrays it allocates itself (and back after the block):
LLVM then knows they overlap nothing and vectorises without run-time alias checks, which
it gives up on for this many arrays (measured: 10x slower with the caller's arrays).

Coefficient rows: every run has its rule's row at every step.  A rule that declares
``settles`` (``core/spec.py``: the step t* from which a run's row is constant) lets the
runs be ordered by t*, latest first, so that the runs whose rows still change form a
prefix, computed per step by ``Rule.coefficients`` on that subset, while the others read
one constant row, but for the columns equal to alpha_t (``Kernel.alpha_coefs``), which
under alpha/sqrt(t) the loop sets to alpha / sqrt(t) itself, the operations of
``schedules.step_size`` (both correctly rounded, so bit for bit): with beta2 = 0.99 a row
settles after ~4,100 steps, so a long run's coefficients cost nothing per step.
"""

from __future__ import annotations

import hashlib
import inspect
from concurrent.futures import ThreadPoolExecutor
from functools import cache
from itertools import pairwise
from typing import Any

import numba
import numpy as np
from numba import njit

from ...core.registry import KERNELS, KINDS
from ...core.spec import Rule
from ...problems.online.base import PHI_LINEAR, PROJ_BALL, PROJ_BALL_WEIGHTED, PROJ_BOX
from ...problems.online.generate import phi
from .lanes_source import loop_source

_JIT = dict(cache=True, nogil=True, error_model="numpy")
LANES = 64  # runs per task: the lane loops' length (8 AVX-512 vectors of float64)
# d the lanes loop is chosen for ("auto"): measured (one thread, 20 x 20 adam points x 3
# seeds, T = 1e5 / d), ns per run-step, per-run loop against lanes: reddi-stochastic (d = 1)
# 86 against 4; linear (dense a_t) d = 2, 4, 10, 16: 97/11, 101/20, 104/52, 121/77; logistic
# d = 10: 142/84, d = 32: 272/295; sparse-logistic (3 entries) d = 8: 124/86, d = 16:
# 140/140.  But with 4 points x 3 seeds (two threads) at d = 10 the lanes lose (logistic
# 532 against 370, linear 101 against 88: tasks of 4 lanes), where at d = 1 they win at
# any count (1 point: 119 against 178), so "auto" keeps them to d = 1
AUTO_D = 1
# the largest d it compiles for: the loops over coordinates unroll, and numba's compiler
# recursed past Python's limit on a 32 x 3 sparse body
MAX_D = 16


def supports(rule: Rule, d: int, proj: int, loop: str = "auto") -> bool:
    """True when ``rule``'s runs take the lanes loop: its kernel has a ``lane``, d is at
    most ``AUTO_D`` (``loop="lanes"``: ``MAX_D``), and the projection is not a weighted
    one (where the rule has a V_t)."""
    kernel = rule.kernel
    if loop == "steps" or kernel is None or kernel.lane is None:
        return False
    if d > (MAX_D if loop == "lanes" else AUTO_D):
        return False
    return proj != PROJ_BALL_WEIGHTED or kernel.weight is None


@cache
def _block(kind: int, d: int, nnz: int, loss: int, proj: int, dtype: str, dense: bool) -> Any:
    """The lanes loop compiled for kernel number ``kind`` (its lane and track inlined) and
    for one problem's d, nnz, loss and projection, and whether a_t's entry e is coordinate
    e (``dense``): constants, so that the loops over coordinates unroll inside the loop over
    lanes, which LLVM then vectorises."""
    kernel = KERNELS[kind]
    inline = dict(_JIT, inline="always")
    track = kernel.track
    space: dict[str, Any] = {
        "__name__": __name__, "np": np, "phi": phi, "PROJ_BOX": PROJ_BOX,
        "LANES": LANES, "_lane": njit(**inline)(kernel.lane),
        "D": d, "LOSS": loss, "KC": len(kernel.coefs), "FT": getattr(np, dtype),
    }  # fmt: skip
    parts = [kernel.lane]
    if track is not None:
        space.update(_on=njit(**inline)(track.on), _term=njit(**inline)(track.term),
                     _add=njit(**inline)(track.add))  # fmt: skip
        parts += [track.on, track.term, track.add]
    alpha = tuple(kernel.index(c) for c in kernel.alpha_coefs)
    shared = loss == PHI_LINEAR  # phi' = 1 at every z: one g_t for every run of a seed
    space["SHARED"] = shared

    def source(name: str) -> str:
        return loop_source(name, d, nnz, proj, track is not None, alpha, shared, dense)

    # the code's hash in the name, with the constants it reads as globals (numba freezes
    # them into the compiled loop, and its disk cache looks at neither): the cache never
    # serves another loop (it once served a linear loss's loop for a least-squares one)
    consts = {k: space[k] for k in ("D", "LOSS", "KC", "LANES", "SHARED")}
    parts.append(phi.py_func)  # the losses, inlined too
    code = source("lanes") + "".join(inspect.getsource(f) for f in parts) + repr(consts)
    tag = hashlib.sha256(code.encode()).hexdigest()[:12]
    form = "dense" if dense else "sparse"
    name = f"lanes_{kernel.name.replace('-', '_')}_{dtype}_d{d}_{form}_loss{loss}_proj{proj}_{tag}"
    code = source(name)
    exec(compile(code, __file__, "exec"), space)  # noqa: S102
    # Serial and nogil: threads take shares of the tasks (``_run_tasks``).  numba's
    # parallel compilation of this straight-line loop took as long again as the loop's
    # own (measured: 24.5 s against 12.7 s for a cold ``regret -p reddi -o adam``).
    return njit(**_JIT)(space[name])


@cache
def _pool(threads: int) -> ThreadPoolExecutor:
    return ThreadPoolExecutor(max_workers=threads, thread_name_prefix="lanes")


def _run_tasks(loop: Any, args: tuple[Any, ...], tasks: int) -> None:
    """``loop(*args, q0, q1)`` over tasks 0 .. tasks-1, split into contiguous shares among
    numba's thread count (the loop releases the GIL; every task writes its own runs)."""
    threads = max(1, min(numba.get_num_threads(), tasks))
    if threads == 1:
        loop(*args, 0, tasks)
        return
    cuts = [tasks * k // threads for k in range(threads + 1)]
    pool = _pool(threads)
    for job in [pool.submit(loop, *args, a, b) for a, b in pairwise(cuts)]:
        job.result()


class LaneRuns:
    """The runs of one rule's group in the lanes layout: (S, d, P) and (S, P) arrays, P
    the group's points in order of their settling step, latest first."""

    _STATE = ("x", "s0", "s1", "s2", "gsq", "xmin", "xmax")
    _SCALAR = ("loss_sum", "loss_comp", "gmax2", "gmaxinf", "tracked", "diverged")

    def __init__(
        self, rule: Rule, ids: list[int], hp: dict[str, Any], S: int, batch: dict[str, Any]
    ) -> None:
        self.rule, self.hp, self.S = rule, hp, S
        P = len(ids)
        steady = rule.settles is not None and (
            hp.get("lr_schedule") != "inv_sqrt" or rule.kernel.alpha_coefs
        )  # a row that settles but for alpha_t needs the columns that carry it
        settle = rule.settles(hp) if steady else np.full(P, np.inf)
        settle = np.broadcast_to(np.asarray(settle, np.float64), (P,))
        self.order = np.argsort(-settle, kind="stable")
        self.settle = settle[self.order]
        # run index of seed s, lane l: point ids[order[l]], seed s
        self.run_of = np.asarray(ids, np.int64)[self.order][None, :] * S + np.arange(S)[:, None]
        self.arrays = {n: np.ascontiguousarray(np.moveaxis(batch[n][self.run_of], 2, 1))
                       for n in self._STATE}  # fmt: skip
        self.arrays.update({n: batch[n][self.run_of].copy() for n in self._SCALAR})
        self.runs = self.run_of.ravel()
        self.ft = batch["x"].dtype
        self.kind = KINDS[rule.kernel.name]
        # alpha_t of the settled rows, per step in the loop: lr per lane, the columns
        self.lr = np.ascontiguousarray(np.broadcast_to(hp["lr"], (P,))[self.order], np.float64)
        self.inv_sqrt = hp.get("lr_schedule") == "inv_sqrt"
        self._const: np.ndarray | None = None
        self._const_live = -1

    def _subset(self, lanes: np.ndarray) -> dict[str, Any]:
        """The group's hyperparameters for the points of ``lanes`` (lane order)."""
        pick = self.order[lanes]
        return {k: v[pick] if isinstance(v, np.ndarray) else v for k, v in self.hp.items()}

    def advance(self, t: int, loss: int, idx: np.ndarray, val: np.ndarray, yv: np.ndarray,
                proj: int, radius: float) -> None:  # fmt: skip
        """Steps t .. t+n-1 of every run (the block's data for every seed), in pieces
        whose table of changing rows stays within 2M entries (16 MB in float64: the seeds
        of a block of lanes read it from the cache)."""
        n = yv.shape[1]
        live = int(np.count_nonzero(self.settle > t))
        width = -(-live // LANES) * LANES  # the table's, per step and column
        piece = max(256, (1 << 21) // max(1, width * len(self.rule.kernel.coefs)))
        if piece < n:
            for a in range(0, n, piece):
                b = min(n, a + piece)
                piece_data = (np.ascontiguousarray(v[:, a:b]) for v in (idx, val, yv))
                self._advance(t + a, loss, *piece_data, proj, radius)
            return
        self._advance(t, loss, idx, val, yv, proj, radius)

    def _advance(self, t: int, loss: int, idx: np.ndarray, val: np.ndarray, yv: np.ndarray,
                 proj: int, radius: float) -> None:  # fmt: skip
        n = yv.shape[1]
        live = int(np.count_nonzero(self.settle > t))
        P = self.settle.size
        if live != self._const_live:  # the settled lanes' constant rows (any step >= t*)
            rows = self.rule.coefficients(self._subset(np.arange(P)), t).astype(self.ft)
            self._const = np.ascontiguousarray(np.broadcast_to(rows, (P, rows.shape[-1])).T)
            self._const_live = live
        K = self._const.shape[0]
        cols, base = np.zeros(0, np.int64), np.zeros((K, 1), self.ft)
        table = np.zeros((1, 1, 1), self.ft)
        if live:  # the changing rows: the first step's whole, then the columns that change
            steps = np.arange(t, t + n, dtype=np.int64).reshape(-1, 1)
            rows = self.rule.coefficients(self._subset(np.arange(live)), steps)
            # (K, n, live): a contiguous array for a table of Kernel.stack (stack_columns)
            by_col = np.moveaxis(np.broadcast_to(rows, (n, live, K)), -1, 0)
            cols = np.flatnonzero((by_col != by_col[:, :1]).any(axis=(1, 2)))
            width = -(-live // LANES) * LANES  # a multiple of LANES: (n, columns, width)
            base = np.zeros((K, width), self.ft)
            base[:, :live] = by_col[:, 0]
            table = np.zeros((n, max(1, cols.size), width), self.ft)
            table[:, : cols.size, :live] = by_col[cols].transpose(1, 0, 2)
        a = self.arrays
        d, nnz = a["x"].shape[1], idx.shape[2]
        kind = PROJ_BOX if proj == PROJ_BOX else PROJ_BALL
        args = (
            idx, val, yv, table, cols, base, self._const, live, t, self.lr, self.inv_sqrt,
            a["x"], a["s0"], a["s1"], a["s2"], radius,
            a["loss_sum"], a["loss_comp"], a["gsq"], a["gmax2"], a["gmaxinf"],
            a["xmin"], a["xmax"], a["tracked"], a["diverged"],
        )  # fmt: skip
        tasks = a["x"].shape[0] * -(-P // LANES)  # seeds x tasks of LANES runs
        dense = nnz == d and bool((idx == np.arange(d)).all())  # every step's a_t in order
        _run_tasks(_block(self.kind, d, nnz, loss, kind, self.ft.name, dense), args, tasks)

    def scatter(self, batch: dict[str, Any]) -> None:
        """Write the runs' values into the engine's run-major (B, d) and (B,) arrays."""
        for n in self._STATE:
            batch[n][self.run_of] = np.moveaxis(self.arrays[n], 1, 2)
        for n in self._SCALAR:
            batch[n][self.run_of] = self.arrays[n]
