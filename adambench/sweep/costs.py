"""What a sweep costs: fixed per-worker and per-unit costs plus per-step terms.

A unit's estimate (``unit_seconds``) is what one unit costs a worker that is already
running: a fixed part (build the problem or task, compute its rows and statistics,
checksum and write the unit file) plus its per-step work (the regret engine per step x
run x (d + 10), a smooth problem's Newton comparator per step x seed, training per
example x run x parameter x epoch).  Each worker pays once more (``startup_seconds``):
start a Python process and import NumPy, SciPy, numba and the engines, load the compiled
kernels from numba's cache, and for training units load the data set (cached per
process).  A cold numba cache (first run after an install or a change of the engine's
source) compiles the kernels instead, once per machine and worker: ``cold_cache``.

``estimate`` adds these up for a plan: the CPU time of the whole sweep, and its wall
time on ``workers`` workers (the units greedily scheduled, longest first, one thread
each; more threads per unit can only make a unit faster).  Not covered: other load on
the machine, Dask's per-task overhead (milliseconds, docs/scaling.md), swapping.

The constants are measured on one machine by ``scripts/calibrate_sweep_costs.py``
(which prints this table; ``--write`` replaces it); they are estimates, and ``--dry-run``
says what they cover.
"""

from __future__ import annotations

import heapq
import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

# Measured by scripts/calibrate_sweep_costs.py (CALIBRATED BEGIN/END: the script's --write).
# CALIBRATED BEGIN
MEASURED_ON = "x86_64, 2 cores, 2026-12-02, load average 4.4"
COSTS = {
    "worker_start_seconds": 4.61,
    "kernel_load_seconds": 0.662,
    "kernel_compile_seconds": 35.8,
    "unit_fixed_seconds": 0.0243,
    "regret_seconds_per_work": 1.94e-08,
    "comparator_seconds_per_step": 4.99e-06,
    "train_seconds_per_work": 4.38e-10,
    "data_load_seconds": 2.96,
}
# CALIBRATED END

# The runs-as-lanes loop (engines/regret/lanes.py) per run-step and a phase cell's verdict,
# measured on the project's 2-core VM: Adam on reddi-stochastic, 40 x 40 points x 3 seeds,
# T = 1e6, alpha/sqrt(t), two threads, 6.1 s for 4.8e9 run-steps; a cell's verdict
# (growth_evidence and growth_class, 3 seeds, T = 1e5) 1.0 ms, then 0.57 ms against 0.20 ms
# on one machine in one session once the seeds' fits were one product (stats/growth.py):
# 0.4 ms, the first figure scaled by that ratio
LANES_SECONDS_PER_RUN_STEP = 1.3e-9
CELL_SECONDS = 0.4e-3


def unit_seconds(
    *, kind: str, work: float, comparator_steps: float = 0.0, costs: dict[str, float] = COSTS
) -> float:
    """One unit on a running worker: fixed + per-step terms (see the module docstring).

    ``work``: regret units T x runs x (d + 10) (``experiments.regret.run_work``), training
    units epochs x examples x runs x parameters; ``comparator_steps``: T x seeds of a
    Newton comparator (0 for closed forms).
    """
    if work < 0 or comparator_steps < 0:
        raise ValueError("work and comparator steps must be >= 0")
    per_work = costs["regret_seconds_per_work" if kind == "regret" else "train_seconds_per_work"]
    return (
        costs["unit_fixed_seconds"]
        + work * per_work
        + comparator_steps * costs["comparator_seconds_per_step"]
    )


def startup_seconds(kind: str, new_process: bool = True, costs: dict[str, float] = COSTS) -> float:
    """What one worker pays once before its first unit (warm numba cache)."""
    s = costs["kernel_load_seconds"]
    if new_process:
        s += costs["worker_start_seconds"]
    if kind == "run":
        s += costs["data_load_seconds"]
    return s


def numba_cache_warm() -> bool:
    """Whether numba's cache holds the regret engine's kernels newer than their source
    (a heuristic: numba itself decides, from the index, whether to recompile)."""
    from ..engines.regret import cpu

    src = Path(cpu.__file__)
    try:
        stamp = src.stat().st_mtime
        return any(
            p.stat().st_mtime >= stamp for p in src.parent.glob("__pycache__/cpu.run_block*.nbi")
        )
    except OSError:
        return False


def makespan(seconds: Sequence[float], workers: int) -> float:
    """Wall time of tasks of ``seconds`` on ``workers`` slots, longest first (LPT)."""
    if workers < 1:
        raise ValueError(f"workers must be >= 1, got {workers}")
    slots = [0.0] * min(workers, max(1, len(seconds)))
    for s in sorted(seconds, reverse=True):
        heapq.heapreplace(slots, slots[0] + s)
    return max(slots)


def estimate(
    kind: str,
    unit_estimates: Sequence[float],
    workers: int,
    *,
    new_processes: bool = True,
    cold_cache: bool = False,
    costs: dict[str, float] = COSTS,
) -> dict[str, Any]:
    """The cost of computing units of ``unit_estimates`` seconds on ``workers`` workers.

    Returns the parts and the totals: ``startup_seconds`` (per worker), ``units_seconds``
    (their sum), ``cpu_seconds`` (units + every used worker's startup) and
    ``wall_seconds``; with ``cold_cache`` the kernels' compile is added per worker.
    """
    used = min(workers, len(unit_estimates))
    start = startup_seconds(kind, new_processes, costs) if used else 0.0
    if cold_cache and used:
        start += costs["kernel_compile_seconds"]
    units = float(math.fsum(unit_estimates))
    return {
        "workers": used,
        "startup_seconds_per_worker": start,
        "units_seconds": units,
        "cpu_seconds": units + used * start,
        "wall_seconds": (start + makespan(unit_estimates, used)) if used else 0.0,
        "cold_numba_cache": cold_cache,
        "covers": covers(kind, new_processes, cold_cache, costs),
    }


def covers(
    kind: str, new_processes: bool, cold_cache: bool, costs: dict[str, float] = COSTS
) -> str:
    """One sentence: what the estimate includes and what it leaves out.

    ``new_processes``: a sweep's workers (each starts a process and writes unit files);
    otherwise one command in its own process (its imports already paid)."""
    if cold_cache:
        cold = (
            f"numba's cache looks cold: {costs['kernel_compile_seconds']:.2g} s of compile "
            "is included"
        )
    else:
        cold = (
            f"a cold numba cache (after an install or upgrade) adds about "
            f"{costs['kernel_compile_seconds']:.2g} s"
        )
    what = "unit" if new_processes else "batch"
    fixed = "problem, rows, checksum, write" if new_processes else "problem or task, rows"
    once = "process start, imports, numba cache load" if new_processes else "numba cache load"
    data = ", data load" if kind == "run" else ""
    who = "each worker once" if new_processes else "once"
    return (
        f"estimates measured on {MEASURED_ON} (scripts/calibrate_sweep_costs.py): each {what} "
        f"= fixed {costs['unit_fixed_seconds']:.2g} s ({fixed}) + per-step engine"
        f"{' and comparator' if kind == 'regret' else ''} work on one thread; {who}: "
        f"{startup_seconds(kind, new_processes, costs):.2g} s ({once}{data}); {cold}; not "
        "covered: other load on the machine"
    )


def sweep_estimate(
    kind: str, todo: Sequence[Any], jobs: int | None, scheduler: str | None, cores: int
) -> dict[str, Any]:
    """``estimate`` for the units ``todo`` of a sweep run as ``adambench sweep`` would run
    them: ``--jobs 1`` in the CLI's own process (its imports already paid), otherwise on
    ``--jobs`` (default: the ``cores`` this process may use) new worker processes; on a
    Dask cluster, whose size is not known here, as if on one new worker per unit slot of
    ``--jobs`` (default 1)."""
    workers = jobs or (1 if scheduler else cores)
    inline = scheduler is None and workers == 1
    out = estimate(
        kind,
        [u.est_seconds for u in todo],
        workers,
        new_processes=not inline,
        cold_cache=not numba_cache_warm(),
    )
    out["executor"] = (
        f"Dask ({workers} worker slot(s) assumed)" if scheduler
        else "this process" if inline else f"{workers} local process(es)"
    )  # fmt: skip
    return out
