"""The regret engine: the online protocol (docs/theory.md §2.1) for a batch of runs.

For t = 1..T every run plays x_t, the problem reveals f_t, the run takes
g_t = grad f_t(x_t), updates with its rule and projects onto F (docs/theory.md §2.1).  A run is
(optimizer, hyperparameter point, seed); all runs advance together in compiled blocks of
steps (``cpu.run_block``), the data of each block generated once per seed.
The update is the rules' own: ``core.kernels_cpu.step_row`` with the coefficient table
``rule.coefficients(hp, t_block)`` computed per block.  A rule without a compiled kernel
(``core.registry.implementation``) runs on its reference step instead, beside the others
on the same blocks of data (``reference_runs.py``; CPU only).  Memory is O(d * runs +
block), so T = 1e7 needs no O(T) storage; regret is recorded at log-spaced checkpoints.

R(T_k) = sum_{t <= T_k} f_t(x_t) - min_F sum_{t <= T_k} f_t (``comparator.py``), and the
observed constants of the theorems (G, G_inf, D, D_inf, sum_i ||g_{1:T,i}||_2, v_hat_T)
are recorded at every checkpoint.  D and D_inf are those of the bounding box of the
played iterates and the comparator point (so ||x_t - x*|| <= D as the proofs need),
capped by F's own diameters.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ...core.registry import KERNELS, KINDS, get_rule, require_backend, runs_reference
from ...problems.online import comparator as comparator_mod
from ...problems.online.base import Problem
from ...problems.online.generate import gen_block
from ...problems.streams import stream_key
from . import cuda, lanes
from .cpu import run_block
from .reference_runs import ReferenceRuns

BLOCK = 65536
# The bound statistics the kernels define: at checkpoints (Kernel.stats), step by step
# (Kernel.track; one accumulator per run).
RULE_STATS = tuple(dict.fromkeys(n for k in KERNELS for n in k.stats))
TRACKED = tuple(dict.fromkeys(k.track.stat for k in KERNELS if k.track is not None))


def checkpoints(T: int, per_decade: int = 5) -> np.ndarray:
    """Log-spaced steps 1 <= T_1 < ... < T_K = T, ``per_decade`` per decade (>= 5)."""
    if per_decade < 5:
        raise ValueError(f"per_decade must be >= 5, got {per_decade}")
    top = np.log10(T)
    grid = np.round(10.0 ** (np.arange(0, int(np.floor(top * per_decade)) + 1) / per_decade))
    return np.unique(np.append(grid.astype(np.int64), T))


@dataclass(frozen=True)
class RunPoint:
    """One hyperparameter point of one optimizer: the values given (defaults fill the rest)."""

    optimizer: str
    hp: dict[str, Any] = field(default_factory=dict)

    def label(self) -> str:
        return ", ".join(
            f"{k}={v:g}" if isinstance(v, float) else f"{k}={v}" for k, v in self.hp.items()
        )


@dataclass
class EngineResult:
    """Per run (rows, B = points x seeds, run r = point r // S, seed r % S) and checkpoint."""

    problem: Problem
    points: list[RunPoint]
    validated: list[dict[str, Any]]
    seeds: list[int]
    ends: np.ndarray
    cum_loss: np.ndarray  # (B, K) sum_{t <= T_k} f_t(x_t)
    regret: np.ndarray  # (B, K)
    comparator: comparator_mod.Comparator
    stats: dict[str, np.ndarray]  # name -> (B, K)
    diverged: np.ndarray  # (B,)
    x_final: np.ndarray  # (B, d) x_{T+1}
    projection: str
    dtype: str
    seconds: dict[str, float]

    def run_point(self, r: int) -> int:
        return r // len(self.seeds)

    def run_seed(self, r: int) -> int:
        return r % len(self.seeds)


def run(
    problem: Problem,
    points: Sequence[RunPoint],
    seeds: Sequence[int],
    T: int,
    *,
    dtype: str = "float64",
    projection: str = "weighted",
    per_decade: int = 5,
    x0: float = 0.0,
    block: int = BLOCK,
    on_steps: Callable[[int], None] | None = None,
    comparator: comparator_mod.Comparator | None = None,
    backend: str = "numpy",
    loop: str = "auto",
) -> EngineResult:
    """Run every (point, seed) for T steps on ``problem``; see the module docstring.

    ``on_steps(n)`` is called after each block of n steps (for a progress bar).
    ``backend="cupy"`` runs the blocks on a CUDA device (``cuda.py``: same streams,
    same update math, same statistics); everything else here stays on the host.
    ``loop``: on the CPU, "auto" runs the rules whose kernels have a lane step on the
    runs-as-lanes loop where it is faster (d = 1; ``lanes.py``, bit for bit the same
    results), "lanes" wherever it can (d <= 32), "steps" every rule on the per-run loop
    (``cpu.run_block``).
    """
    if isinstance(T, bool) or int(T) != T or T < 1:
        raise ValueError(f"T must be an integer >= 1, got {T!r}")
    T = int(T)
    if dtype not in ("float32", "float64"):
        raise ValueError(f"dtype must be float32 | float64, got {dtype!r}")
    ft = np.dtype(dtype)
    if backend not in ("numpy", "cupy"):
        raise ValueError(f"backend must be numpy | cupy, got {backend!r}")
    if loop not in ("auto", "steps", "lanes"):
        raise ValueError(f"loop must be auto | steps | lanes, got {loop!r}")
    seeds = [int(s) for s in seeds]
    if not seeds or not points:
        raise ValueError("need at least one seed and one optimizer point")
    proj = problem.projection_kind(projection)
    ends = checkpoints(T, per_decade)
    S, P, d, K = len(seeds), len(points), problem.d, len(ends)
    B = S * P

    t_start = time.perf_counter()
    if comparator is None:
        comparator = comparator_mod.compute(
            problem, seeds, ends, device_sums=cuda.stream_sums if backend == "cupy" else None
        )
    t_comp = time.perf_counter() - t_start

    for p in points:  # a rule without a kernel: its reference step, NumPy arrays only
        require_backend(get_rule(p.optimizer), backend)
    validated = [get_rule(p.optimizer).validate(p.hp) for p in points]
    groups = _groups(points, validated, S)
    # the runs of rules without a compiled kernel advance on their reference step
    # (reference_runs.py); ``run_block`` skips them as it skips diverged runs
    slow = [g for g in groups if runs_reference(get_rule(points[g[0][0]].optimizer))]
    groups = [g for g in groups if g not in slow]
    kmax = max(
        (get_rule(points[g[0][0]].optimizer).coefficients(g[2]["points"], 1).shape[-1]
         for g in groups),
        default=1,
    )  # fmt: skip
    kinds = np.zeros(B, np.int64)
    run_seed = np.tile(np.arange(S, dtype=np.int64), P)
    run_point = np.repeat(np.arange(P, dtype=np.int64), S)
    x = np.full((B, d), x0, dtype=ft)
    problem.project(x.astype(np.float64))  # x0 must lie in F
    if np.any(np.abs(problem.project(x.astype(np.float64)) - x) > 0):
        raise ValueError(f"x0={x0} is outside the feasible set {problem.set_kind}")
    states = [np.zeros((B, d), ft) for _ in range(3)]
    for pts, runs, hp in groups:
        rule = get_rule(points[pts[0]].optimizer)
        kinds[runs] = KINDS[rule.kernel.name]
        for slot, name in enumerate(rule.buffers(hp)):
            start = rule.initial.get(name)
            if start is not None:
                states[slot][runs] = np.broadcast_to(
                    np.asarray(hp[start], np.float64).reshape(-1, 1), (len(runs), d)
                )
    g = np.zeros((B, d), ft)
    loss_sum, loss_comp = np.zeros(B), np.zeros(B)
    gsq = np.zeros((B, d))
    gmax2, gmaxinf = np.zeros(B), np.zeros(B)
    xmin, xmax = np.full((B, d), np.inf), np.full((B, d), -np.inf)
    tracked = np.zeros(B)
    diverged = np.zeros(B, np.bool_)
    references = [ReferenceRuns(get_rule(points[ids[0]].optimizer), runs, hp, d, ft)
                  for ids, runs, hp in slow]  # fmt: skip
    skip = np.zeros(B, np.bool_)
    for ref in references:
        skip[ref.runs] = True
    batch = dict(x=x, s0=states[0], s1=states[1], s2=states[2], run_seed=run_seed, xmin=xmin,
                 xmax=xmax, loss_sum=loss_sum, loss_comp=loss_comp, gsq=gsq, gmax2=gmax2,
                 gmaxinf=gmaxinf, tracked=tracked, diverged=diverged)  # fmt: skip
    # the rules with a lane step, at small d on the CPU: the runs-as-lanes loop (lanes.py)
    laned = [g for g in groups if backend == "numpy"
             and lanes.supports(get_rule(points[g[0][0]].optimizer), d, proj, loop)]  # fmt: skip
    lane_runs = [lanes.LaneRuns(get_rule(points[ids[0]].optimizer), ids, hp["points"], S, batch)
                 for ids, _runs, hp in laned]  # fmt: skip
    for lane in lane_runs:
        skip[lane.runs] = True
    stepped = [g for g in groups if g not in laned]
    keys = np.array([stream_key(s) for s in seeds], dtype=np.uint64)
    prm = np.stack([problem.params(s) for s in seeds])
    asked = block
    # the coefficient table holds the per-run loop's points (the lane runs keep their own)
    block = block_size(sum(len(g[0]) for g in stepped), kmax, S, problem.nnz, asked)
    device = None
    if backend == "cupy":  # the run's arrays live on the device between checkpoints
        device = cuda.DeviceBlocks(problem, keys, prm, dict(
            run_seed=run_seed, run_point=run_point, kinds=kinds, x=x, s0=states[0],
            s1=states[1], s2=states[2], loss_sum=loss_sum, loss_comp=loss_comp, gsq=gsq,
            gmax2=gmax2, gmaxinf=gmaxinf, xmin=xmin, xmax=xmax, tracked=tracked,
            diverged=diverged,
        ))  # fmt: skip
        block = block_size(P, kmax, S, 0, asked)

    names = ("G", "G_inf", "sum_g_norms", "D", "D_inf", *RULE_STATS, *TRACKED, "dist", "x0")
    stats = {n: np.full((B, K), np.nan) for n in names}
    cum = np.full((B, K), np.nan)
    D_F, Dinf_F = problem.diameters()
    t = 1
    for k, end in enumerate(ends):
        while t <= end:
            n = int(min(block, end - t + 1))
            table = _table(points, stepped, t, n, P, kmax, ft) if stepped or device else None
            if device is not None:
                device.run(t, table, proj)
                t += n
                if on_steps is not None:
                    on_steps(n)
                continue
            idx = np.empty((S, n, problem.nnz), np.int64)
            val = np.empty((S, n, problem.nnz))
            yv = np.empty((S, n))
            gen_block(problem.family, keys, prm, t, idx, val, yv)
            if stepped:
                done = diverged | skip  # the reference and lane runs advance below
                run_block(
                    problem.loss, idx, val, yv, run_seed, run_point, kinds, table, x, *states, g,
                    proj, problem.radius, loss_sum, loss_comp, gsq, gmax2, gmaxinf, xmin, xmax,
                    tracked, done,
                )  # fmt: skip
                diverged[~skip] = done[~skip]
            for lane in lane_runs:
                lane.advance(t, problem.loss, idx, val, yv, proj, problem.radius)
            for ref in references:
                ref.advance(t, problem.loss, idx, val, yv, proj, problem.radius, batch)
            t += n
            if on_steps is not None:
                on_steps(n)
        if device is not None:
            device.download()  # into x, states, loss_sum, ... (in place)
        for lane in lane_runs:
            lane.scatter(batch)
        cum[:, k] = np.where(diverged, np.nan, loss_sum)
        xs = comparator.argmin[run_seed, k]
        lo, hi = np.minimum(xmin, xs), np.maximum(xmax, xs)
        stats["G"][:, k] = np.sqrt(gmax2)
        stats["G_inf"][:, k] = gmaxinf
        stats["sum_g_norms"][:, k] = np.sqrt(gsq).sum(axis=1)
        stats["D"][:, k] = np.minimum(np.linalg.norm(hi - lo, axis=1), D_F)
        stats["D_inf"][:, k] = np.minimum((hi - lo).max(axis=1), Dinf_F)
        for name in TRACKED:  # 0 for the runs whose kernel does not track it
            stats[name][:, k] = tracked
        stats["dist"][:, k] = np.linalg.norm(x.astype(np.float64) - xs, axis=1)
        stats["x0"][:, k] = x[:, 0]
        for pts, runs, hp in groups:
            rule = get_rule(points[pts[0]].optimizer)
            kernel = rule.kernel
            if kernel.checkpoint is None:
                continue
            state = [a[runs].astype(np.float64) for a in states]
            # this step's rows, as the last block's table held them (in the run dtype)
            rows = rule.coefficients(hp["points"], end).astype(ft).astype(np.float64)
            rows = np.repeat(np.broadcast_to(rows, (len(pts), rows.shape[-1])), S, axis=0)

            def coef(name: str, rows: np.ndarray = rows, kernel: Any = kernel) -> np.ndarray:
                return rows[:, kernel.index(name)].reshape(-1, 1)

            for name, value in kernel.checkpoint(state, coef, end).items():
                stats[name][runs, k] = value
    t_total = time.perf_counter() - t_start
    regret = cum - comparator.value[run_seed]
    return EngineResult(
        problem=problem,
        points=list(points),
        validated=validated,
        seeds=seeds,
        ends=ends,
        cum_loss=cum,
        regret=regret,
        comparator=comparator,
        stats=stats,
        diverged=diverged,
        x_final=x.astype(np.float64),
        projection=projection if problem.set_kind == "ball" else "clip (box)",
        dtype=dtype,
        seconds={"comparator": t_comp, "engine": t_total - t_comp},
    )


def block_size(P: int, kmax: int, S: int, nnz: int, asked: int = BLOCK) -> int:
    """Steps per compiled block: ``asked``, capped so the coefficient table (n, P, kmax)
    and, on the CPU, the block's data (S, n, nnz) stay at 4M entries each, and >= 256.

    Few, long blocks: each is one parallel region, and on a busy machine a region can wait
    a scheduler time slice for a descheduled thread.  ``nnz = 0``: no data arrays (on the
    CUDA device each run regenerates its stream).
    """
    cap = min(asked, (1 << 22) // max(1, P * kmax))
    if nnz > 0:
        cap = min(cap, (1 << 22) // (S * nnz))
    return max(256, cap)


def _groups(points, validated, S):
    """Runs sharing a rule and its non-vector settings: (point ids, run ids, stacked hp)."""
    keyed: dict[Any, list[int]] = {}
    for i, (p, hp) in enumerate(zip(points, validated, strict=True)):
        fixed = tuple((k, v) for k, v in sorted(hp.items()) if not isinstance(v, np.ndarray))
        keyed.setdefault((p.optimizer, fixed), []).append(i)
    out = []
    for (_name, _fixed), ids in keyed.items():
        runs = np.concatenate([np.arange(i * S, (i + 1) * S) for i in ids])
        per_run, per_point = {}, {}
        for k, v in validated[ids[0]].items():
            if isinstance(v, np.ndarray):
                per_point[k] = np.concatenate([validated[i][k] for i in ids])
                per_run[k] = np.repeat(per_point[k], S)
            else:
                per_point[k] = per_run[k] = v
        per_run["points"] = per_point
        out.append((ids, runs, per_run))
    return out


def _table(points, groups, t, n, P, kmax, ft) -> np.ndarray:
    """Coefficient rows for steps t..t+n-1 of every point: (n, P, kmax) in the run dtype.

    Computed by each rule's own ``coefficients(hp, t)`` for a whole block of steps.
    """
    table = np.zeros((n, P, kmax), ft)
    steps = np.arange(t, t + n, dtype=np.int64).reshape(-1, 1)
    for ids, _runs, hp in groups:
        c = get_rule(points[ids[0]].optimizer).coefficients(hp["points"], steps)
        table[:, ids, : c.shape[-1]] = c
    return table
