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

_SOURCE = """
def NAME(idx, val, yv, table, cols, base, const, n_live, t0, lr, inv_sqrt, x, s0, s1, s2, radius,
         loss_sum, loss_comp, gsq, gmax2, gmaxinf, xmin, xmax, tracked, diverged, q0, q1):
    S, d, P = x.shape
    n = yv.shape[1]
    tasks = (P + LANES - 1) // LANES
    for q in range(q0, q1):  # tasks q0 .. q1-1 of S * tasks (a thread's share)
        b = q // S  # lanes l0 .. l0+LANES-1 of seed s: a block's seeds one after another,
        s = q - b * S  # which read its rows' table from the cache the first one filled
        l0 = b * LANES
        w = min(LANES, P - l0)
        live = min(max(n_live - l0, 0), w)
        ft = x.dtype
        xl = np.zeros((D, LANES), ft)
        a0 = np.zeros((D, LANES), ft)
        a1 = np.zeros((D, LANES), ft)
        a2 = np.zeros((D, LANES), ft)
        sq = np.zeros((D, LANES))
        lo = np.zeros((D, LANES))
        hi = np.zeros((D, LANES))
        tot = np.zeros(LANES)
        cmp = np.zeros(LANES)
        g2 = np.zeros(LANES)
        gi = np.zeros(LANES)
        tr = np.zeros(LANES)
        dead = np.zeros(LANES)  # 1.0 for a diverged run
        rows = np.zeros((KC, LANES), x.dtype)  # rows[:, j]: lane j's coefficient row
        COPY_IN
        same_lr = True  # one alpha for every settled lane: alpha / sqrt(t) once per step
        for j in range(live, w):
            same_lr = same_lr and lr[l0 + j] == lr[l0 + live]
        # the fast loop: no run is diverged, and (SHARED) the runs' gradient statistics
        # are equal, as they are for runs of one seed while the loss's slope is constant
        fast = True
        for j in range(w):
            fast = fast and dead[j] == 0.0
            for i in range(D):
                fast = fast and (not SHARED or sq[i, j] == sq[i, 0])
            fast = fast and (not SHARED or (g2[j] == g2[0] and gi[j] == gi[0]))
        SHARED_INIT
        nbad = 0
        for t in range(n if fast else 0):
            ROWS
            SHARED_STEP
            for j in range(w):  # one run per lane: LLVM vectorises this loop
                FAST_STEP
        if fast and nbad == 0:
            SHARED_OUT
        elif fast:  # a run left the finite numbers: the block again, with the selects
            COPY_IN
        for t in range(0 if fast and nbad == 0 else n):
            ROWS
            for j in range(w):
                STEP
        for j in range(w):
            r = l0 + j
            for i in range(D):
                x[s, i, r] = xl[i, j]
                s0[s, i, r] = a0[i, j]
                s1[s, i, r] = a1[i, j]
                s2[s, i, r] = a2[i, j]
                gsq[s, i, r] = sq[i, j]
                xmin[s, i, r] = lo[i, j]
                xmax[s, i, r] = hi[i, j]
            loss_sum[s, r] = tot[j]
            loss_comp[s, r] = cmp[j]
            gmax2[s, r] = g2[j]
            gmaxinf[s, r] = gi[j]
            tracked[s, r] = tr[j]
            diverged[s, r] = dead[j] != 0.0
"""

_COPY_IN = """
for j in range(w):
    r = l0 + j
    for i in range(D):
        xl[i, j] = x[s, i, r]
        a0[i, j] = s0[s, i, r]
        a1[i, j] = s1[s, i, r]
        a2[i, j] = s2[s, i, r]
        sq[i, j] = gsq[s, i, r]
        lo[i, j] = xmin[s, i, r]
        hi[i, j] = xmax[s, i, r]
    tot[j] = loss_sum[s, r]
    cmp[j] = loss_comp[s, r]
    g2[j] = gmax2[s, r]
    gi[j] = gmaxinf[s, r]
    tr[j] = tracked[s, r]
    dead[j] = 1.0 if diverged[s, r] else 0.0
    for k in range(KC):  # a changing row: its value at the piece's first step
        if j < live:
            rows[k, j] = base[k, r]
        else:
            rows[k, j] = const[k, r]
"""

# step t's rows: the changing ones from the table, then under alpha/sqrt(t) alpha_t into
# the settled ones' alpha columns, the operations of schedules.step_size (once per step
# when every settled lane has the same alpha: the same bits).  The loops write every lane
# (a select keeps the others): vector stores, which the loop over lanes' vector loads read
# back at once; stores of a part of the lanes are scalar, and each vector load then waits
# for them to retire (measured: 0.4 ns per run-step for the alpha column alone)
_ROWS = """
if live > 0:  # the table's width is a multiple of LANES: every lane's column is there
    for c in range(cols.size):  # the columns that change in the piece
        k = cols[c]
        for j in range(LANES):
            rows[k, j] = table[t, c, l0 + j] if j < live else rows[k, j]
if inv_sqrt:
    root = np.sqrt(np.float64(t0 + t))
    if same_lr and live < w:
        al = FT(lr[l0 + live] / root)
        ALPHA_SAME
    elif live < w:
        ALPHA_EACH
y = yv[s, t]
LOAD_DATA
"""


# The loop over lanes is straight-line code, generated for the problem's d and nnz: the
# step's nnz entries (index, value) of a_t are read once per step into scalars, and
# coordinate i of a run is reached by selects over i = 0..d-1, never at an offset computed
# from an index nor in an inner loop (with either, LLVM leaves the loop scalar: measured,
# 2.5x slower at d = 1).  That costs d selects per entry, d * nnz per step; where a block's
# a_t is dense in coordinate order (entry e at coordinate e, every step: the dense
# problems' streams), entry e is coordinate e and there is no select (``dense``).
# Operations are run_block's, in its order.
#
# Two bodies.  The exact one keeps a diverged run's values with selects (``keep``), as
# run_block stops at it.  The fast one, for a block in which no run of the task is diverged,
# has no selects and counts the steps at which a run left the finite numbers (``nbad``);
# if it counts any, the task's block is run again by the exact one, from the same values
# (measured at d = 1: the selects and checks cost 1.35 ns of the exact body's 2.5 ns per
# run-step).  With a linear loss (phi' = 1 at every z) every run of a seed has the same
# g_t, so the fast body keeps the gradient statistics (sum g_i^2, max ||g||^2, max
# ||g||_inf) once per step for the task, not per lane (``shared``), when they start equal.
def _step(
    d: int, nnz: int, proj: int, tracks: bool, fast: bool, shared: bool, dense: bool
) -> list[str]:
    """The body of the loop over lanes (one run, lane j, step t): the exact one, or the
    fast one (``fast``; ``shared``: the gradient statistics kept outside it; ``dense``:
    entry e of a_t is coordinate e, no selects)."""
    coords, entries = range(d), range(nnz)
    out = ["# the played point x_t: its bounding box, a divergence check, <a_t, x_t>"]
    out += [] if fast else ["bad = dead[j] != 0.0"]
    for i in coords:
        out += [f"x{i} = np.float64(xl[{i}, j])",
                f"lo[{i}, j] = x{i} if x{i} < lo[{i}, j] else lo[{i}, j]",
                f"hi[{i}, j] = x{i} if x{i} > hi[{i}, j] else hi[{i}, j]"]  # fmt: skip
        out += [] if fast else [f"bad = bad or not np.isfinite(x{i})"]
    out.append("z = 0.0")
    for e in entries:
        if dense:
            out.append(f"z += ve{e} * x{e}")
            continue
        out.append("xe = 0.0")
        out += [f"xe = x{i} if ie{e} == {i} else xe" for i in coords]
        out.append(f"z += ve{e} * xe")
    out.append("f, df, _ = phi(LOSS, z, y)")
    if fast:  # x * 0.0 is 0.0 but for inf and nan: one count for a step that left them
        zero = " + ".join([f"x{i} * 0.0" for i in coords] + ["f * 0.0"])
        out += [f"nbad += 0 if {zero} == 0.0 else 1",
                "yk = f - cmp[j]",
                "tk = tot[j] + yk",
                "cmp[j] = (tk - tot[j]) - yk",
                "tot[j] = tk"]  # fmt: skip
    else:
        out += ["keep = bad or not np.isfinite(f)  # diverged: its values stay as they are",
                "dead[j] = 1.0 if keep else 0.0",
                "yk = f - cmp[j]",
                "tk = tot[j] + yk",
                "cmp[j] = cmp[j] if keep else (tk - tot[j]) - yk",
                "tot[j] = tot[j] if keep else tk"]  # fmt: skip
    out += [f"ge{e} = df * ve{e}" for e in entries]
    if not shared:
        out += _gstats(d, nnz, "" if fast else "keep", True, dense)
    out.append("row = rows[:, j]")
    for i in coords:  # g_t at coordinate i in the run dtype (run_block's g array): the last entry
        gc = f"ge{i}" if dense else " + ".join(f"ge{e} * last{e}_{i}" for e in entries)
        out.append(
            f"p, b0, b1, b2 = _lane(xl[{i}, j], FT({gc}), a0[{i}, j], a1[{i}, j], a2[{i}, j], row)"
        )
        if proj == PROJ_BOX:
            out.append("p = -radius if p < -radius else (radius if p > radius else p)")
        states = (("xl", "p"), ("a0", "b0"), ("a1", "b1"), ("a2", "b2"))
        out += [f"{a}[{i}, j] = {b}" if fast else f"{a}[{i}, j] = {a}[{i}, j] if keep else {b}"
                for a, b in states]  # fmt: skip
    kept = "" if fast else " and not keep"
    if proj != PROJ_BOX:  # the Euclidean ball: x * (r / ||x||) where ||x|| > r (cpu.project)
        out.append("q2 = 0.0")
        for i in coords:
            out += [f"x{i} = np.float64(xl[{i}, j])", f"q2 += x{i} * x{i}"]
        out += [f"out = q2 > radius * radius{kept}",
                "scale = radius / np.sqrt(q2) if out else 1.0"]  # fmt: skip
        out += [f"xl[{i}, j] = xl[{i}, j] * scale if out else xl[{i}, j]" for i in coords]
    if tracks:  # a theorem's per-step statistic (Kernel.track)
        out += [f"on = _on(row){kept}", "acc = 0.0"]
        out += [f"acc += _term(a0[{i}, j], a1[{i}, j], a2[{i}, j])" for i in coords]
        out.append("tr[j] = tr[j] + _add(acc, row) if on else tr[j]")
    return out


def _gstats(d: int, nnz: int, keep: str, lane: bool, dense: bool) -> list[str]:
    """run_block's gradient statistics of step t from g's entries: sum g_i^2 per coordinate
    (sq), max ||g||^2 (g2), max ||g||_inf (gi); of lane j (``lane``; ``keep``: the select
    that keeps them), or the task's shared scalars ssq{i}, sg2, sgi from sge{e}; entry e
    at coordinate e (``dense``), or at any, weighted by on{e}_{i}."""

    def put(name: str, value: str) -> str:
        return f"{name} = {name} if {keep} else {value}" if keep else f"{name} = {value}"

    ge = "ge{e}" if lane else "sge{e}"
    sq = "sq[{i}, j]" if lane else "ssq{i}"
    g2, gi = ("g2[j]", "gi[j]") if lane else ("sg2", "sgi")
    out = ["n2 = 0.0", "ninf = 0.0"]
    for e in range(nnz):
        g = ge.format(e=e)
        if dense:  # run_block's gsq[r, e] += g_e * g_e
            out.append(put(sq.format(i=e), f"{sq.format(i=e)} + {g} * {g}"))
        else:
            out += [put(sq.format(i=i), f"{sq.format(i=i)} + {g} * {g} * on{e}_{i}")
                    for i in range(d)]  # fmt: skip
        out += [f"n2 += {g} * {g}", f"ninf = max(ninf, abs({g}))"]
    return out + [put(g2, f"max({g2}, n2)"), put(gi, f"max({gi}, ninf)")]


def _source(
    name: str, d: int, nnz: int, proj: int, tracks: bool, alpha: tuple[int, ...], shared: bool,
    dense: bool,
) -> str:  # fmt: skip
    """The lanes loop's source for one (d, nnz, projection, track, shared statistics,
    dense a_t)."""
    if dense:  # entry e is coordinate e: its value only
        load = [f"ve{e} = val[s, t, {e}]" for e in range(nnz)]
    else:
        load = [f"ie{e} = idx[s, t, {e}]\nve{e} = val[s, t, {e}]" for e in range(nnz)]
    # 1.0 / 0.0 weights, per step: entry e is at coordinate i (on), and is the last there
    # (last: run_block's g[i] = g_e overwrites).  A product by a weight and a sum of one
    # nonzero term are exact (g_t is finite where it is used), and unlike a select on the
    # index they leave the loop over lanes vectorised (a select: 4x slower, measured).
    for e in range(nnz if not dense else 0):
        for i in range(d):
            later = "".join(f" and ie{k} != {i}" for k in range(e + 1, nnz))
            load += [f"on{e}_{i} = 1.0 if ie{e} == {i} else 0.0",
                     f"last{e}_{i} = 1.0 if ie{e} == {i}{later} else 0.0"]  # fmt: skip
    every = "for j in range(LANES):\n    rows[{k}, j] = al if j >= live else rows[{k}, j]"
    rows = _fill(_ROWS, {
        "ALPHA_SAME": [every.format(k=k) for k in alpha] or ["pass"],
        "ALPHA_EACH": [f"for j in range(live, w):\n    rows[{k}, j] = FT(lr[l0 + j] / root)"
                       for k in alpha] or ["pass"],
        "LOAD_DATA": load,
    })  # fmt: skip
    marks = {
        "COPY_IN": _COPY_IN.strip().splitlines(),
        "ROWS": rows.strip().splitlines(),
        "FAST_STEP": _step(d, nnz, proj, tracks, True, shared, dense),
        "STEP": _step(d, nnz, proj, tracks, False, False, dense),
    }
    if shared:  # the task's statistics: from lane 0, per step, into every lane
        marks["SHARED_INIT"] = [f"ssq{i} = sq[{i}, 0]" for i in range(d)] + [
            "sg2 = g2[0]", "sgi = gi[0]"]  # fmt: skip
        marks["SHARED_STEP"] = [
            f"sge{e} = phi(LOSS, 0.0, y)[1] * ve{e}" for e in range(nnz)
        ] + _gstats(d, nnz, "", False, dense)
        marks["SHARED_OUT"] = (
            ["for j in range(w):"]
            + [f"    sq[{i}, j] = ssq{i}" for i in range(d)]
            + ["    g2[j] = sg2", "    gi[j] = sgi"]
        )
    else:
        marks.update(SHARED_INIT=["pass"], SHARED_STEP=["pass"], SHARED_OUT=["pass"])
    return _fill(_SOURCE.replace("NAME", name), marks)


def _fill(src: str, marks: dict[str, list[str]]) -> str:
    """``src`` with each line that is only a mark replaced by its lines, indented as it."""
    out = []
    for line in src.splitlines():
        lines = marks.get(line.strip())
        if lines is None:
            out.append(line)
            continue
        pad = line[: len(line) - len(line.lstrip())]
        out += [pad + t for t in "\n".join(lines).splitlines()]
    return "\n".join(out) + "\n"


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
        return _source(name, d, nnz, proj, track is not None, alpha, shared, dense)

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
