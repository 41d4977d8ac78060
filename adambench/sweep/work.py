"""Running one work unit: a batch of runs on the regret or the training engine.

``run_unit(spec, threads)`` is what every executor calls, in this process, in a worker
process or on a Dask worker: it takes the unit's plain-data spec (``plan.py``) and
returns plain data (rows, problem description, timing).  Everything random is a
function of the seeds in the spec (the engines' streams are keyed by (seed, t)), so a
unit gives the same numbers whichever executor ran it.  ``timing`` is the one part that
varies between runs; it is kept apart from the rows.

Threads: numba gets ``threads`` (the executor's share of the cores, so that workers do
not oversubscribe them) and BLAS one thread, inside the unit only.

A grid point that cannot run fails alone (regret units): an exception raised for that
point's runs only gives the point a failed row (``failed_row``: the row's keys, no
numbers, ``verdict.class`` "failed" and ``failed = {"stage", "error"}``) and the unit
completes with the other points' rows.  Where it is caught:

* ``rows``: computing a point's row (its bound, its statistics) is isolated per point;
* ``engine``: when the batched run raises, each point is run alone (the comparator, which
  depends only on the problem, the seeds and T, is computed once and shared), and the
  points that still raise fail alone.  When every point of a unit raises there (a
  one-point unit included) the failure cannot be told from a unit-wide one: the unit
  fails, as before, and ``--resume`` retries it.

A point's failure is a deterministic function of the unit's spec, so it is stored and
cached with the unit's rows; ``MemoryError`` and ``OSError`` (the machine, not the
point) are never caught here and fail the unit.
"""

from __future__ import annotations

import dataclasses
import functools
import time
from collections.abc import Callable
from typing import Any

import numpy as np

from ..core.backend import module
from ..core.registry import get_rule
from ..engines.training import TaskData, train_batch
from ..machine import thread_limits
from ..problems.catalog import make_task
from ..problems.data import load_dataset
from ..problems.online.registry import make_problem

_RUNS_COMPLETED = 0  # units run by this process (tests count cache hits with it)


def units_run_here() -> int:
    """How many units this process has computed (not loaded from the cache)."""
    return _RUNS_COMPLETED


Progress = Callable[[float], None]


def run_unit(
    spec: dict[str, Any], threads: int | None = None, on_progress: Progress | None = None
) -> dict[str, Any]:
    """Compute one unit; returns {"rows": [...], "info": {...}, "timing": {...}}.

    ``on_progress(fraction)`` (optional) hears the share of the unit's run-steps (regret)
    or epochs (training) done, in [0, 1], as the engine advances: the sweep's progress
    bar moves inside a unit.
    """
    global _RUNS_COMPLETED
    start = time.perf_counter()
    report = on_progress or (lambda f: None)
    with thread_limits(numba=threads, blas=1):
        if spec["kind"] == "regret":
            out = _regret_unit(spec, report)
        elif spec["kind"] == "run":
            out = _run_unit(spec, report)
        elif spec["kind"] == "phase":
            out = _phase_unit(spec, report)
        else:
            raise ValueError(f"unknown unit kind {spec['kind']!r}")
    out["timing"]["seconds"] = time.perf_counter() - start
    _RUNS_COMPLETED += 1
    return out


# Exceptions of the machine rather than of a point: never turned into a failed row.
_NOT_A_POINT = (MemoryError, OSError)


def _regret_unit(spec: dict[str, Any], report: Progress) -> dict[str, Any]:
    """A batch of the online protocol (Reddi et al.; docs/theory.md §2.1) on the regret engine;
    a point that cannot run fails alone (the module docstring)."""
    from ..engines.regret.engine import RunPoint, run  # numba
    from ..experiments.regret import comparator_info, rows  # scipy

    p = spec["problem"]
    prob = make_problem(p["name"], dim=p["dim"], feasible=p["set"], **p["options"])
    points = [RunPoint(spec["optimizer"], dict(hp)) for hp in spec["points"]]
    steps = [0]

    def advanced(n: int) -> None:  # the batched run's steps (a retry point by point: done)
        steps[0] += n
        report(min(1.0, steps[0] / spec["T"]))

    def engine(pts: list[Any], comparator: Any = None) -> Any:
        return run(
            prob,
            pts,
            spec["seeds"],
            spec["T"],
            dtype=spec["dtype"],
            projection=spec["projection"],
            per_decade=spec["per_decade"],
            backend=spec.get("backend", "numpy"),
            comparator=comparator,
            on_steps=advanced,
        )

    failed: dict[int, tuple[str, BaseException]] = {}
    try:
        results = [(list(range(len(points))), engine(points))]
    except _NOT_A_POINT:
        raise
    except Exception as err:
        if len(points) == 1:
            raise
        results, comparator = [], None
        for i, pt in enumerate(points):  # which point is it? each alone, one comparator
            try:
                res = engine([pt], comparator)
            except _NOT_A_POINT:
                raise
            except Exception as e:
                failed[i] = ("engine", e)
                continue
            results.append(([i], res))
            comparator = res.comparator
        if not results:
            raise err from None
    by_point: dict[int, dict[str, Any]] = {}
    for idx, res in results:
        try:
            by_point.update(zip(idx, rows(res), strict=True))
        except _NOT_A_POINT:
            raise
        except Exception:
            for j, i in enumerate(idx):  # which point is it? each row alone
                try:
                    (by_point[i],) = rows(_one_point(res, j))
                except _NOT_A_POINT:
                    raise
                except Exception as e:
                    failed[i] = ("rows", e)
    ends = results[0][1].ends
    for i, (stage, e) in failed.items():
        by_point[i] = failed_row(prob.name, points[i], spec, ends, stage, e)
    info = {"problem": prob.describe(), "comparator": comparator_info(results[0][1])}
    timing: dict[str, float] = {}
    for _, res in results:
        for k, v in res.seconds.items():
            timing[k] = timing.get(k, 0.0) + v
    return {"rows": [by_point[i] for i in range(len(points))], "info": info, "timing": timing}


def _phase_unit(spec: dict[str, Any], report: Progress) -> dict[str, Any]:
    """Cells ``spec["cells"]`` = [a, b) of engine batch ``spec["batch"]`` of a phase map
    (``experiments.phase.plan_from_table``, the map the planner cut): one engine run of
    their points, one record per cell (``experiments.phase.cells``).  A unit fails whole
    (``--resume`` retries it): a cell's record is the map's, not a point's row."""
    from ..engines.regret.engine import run  # numba
    from ..experiments import phase as policy  # scipy

    the_map, T = policy.plan_from_table(spec["phase"], spec["optimizer"], spec["fixed"])
    prob, points, cells_of = the_map.work[spec["batch"]]
    a, b = spec["cells"]
    e = spec["phase"]
    steps = [0]

    def advanced(n: int) -> None:
        steps[0] += n
        report(min(1.0, steps[0] / T))

    res = run(prob, points[a:b], spec["seeds"], T, dtype=e["dtype"], per_decade=e["per_decade"],
              backend=e.get("backend", "numpy"), on_steps=advanced)  # fmt: skip
    return {"rows": policy.cells(res, cells_of[a:b]), "info": {"problem": prob.describe()},
            "timing": dict(res.seconds)}  # fmt: skip


def _one_point(res: Any, p: int) -> Any:
    """The engine result of point ``p`` of ``res`` alone (its S runs; the same comparator)."""
    S = len(res.seeds)
    runs = slice(p * S, (p + 1) * S)
    return dataclasses.replace(
        res,
        points=[res.points[p]],
        validated=[res.validated[p]],
        cum_loss=res.cum_loss[runs],
        regret=res.regret[runs],
        stats={k: v[runs] for k, v in res.stats.items()},
        diverged=res.diverged[runs],
        x_final=res.x_final[runs],
    )


def _hyperparameters(point: Any) -> dict[str, Any]:
    """Every hyperparameter of ``point`` (defaults filled), as a row shows them."""
    try:
        hp = get_rule(point.optimizer).validate(dict(point.hp))
    except Exception:  # planned points validate; the given values if not
        return dict(point.hp)
    return {k: float(v.reshape(-1)[0]) if isinstance(v, np.ndarray) else v for k, v in hp.items()}


def error_text(e: BaseException) -> str:
    """``ZeroDivisionError: float division by zero``: one line naming the exception."""
    text = " ".join(str(e).split())
    return f"{type(e).__name__}: {text}" if text else type(e).__name__


def failed_row(
    problem: str, point: Any, spec: dict[str, Any], ends: Any, stage: str, e: BaseException
) -> dict[str, Any]:
    """The row of a grid point that could not run: a regret row's keys (``experiments.
    regret.rows``) without numbers, ``verdict.class`` "failed" and ``failed``, which names
    the stage (engine | rows) and the exception."""
    error = error_text(e)
    where = "its run" if stage == "engine" else "its row (bound, statistics)"
    n = len(ends)
    none = [None] * n
    return {
        "problem": problem,
        "optimizer": point.optimizer,
        "point": point.label(),
        "hyperparameters": _hyperparameters(point),
        "T": int(spec["T"]),
        "seeds": len(spec["seeds"]),
        "identical_curves": None,
        "R_T": None,
        "R_T_interval": [None, None],
        "R_over_T": None,
        "R_over_sqrtT": None,
        "exponent": None,
        "limit_R_over_T": None,
        "growth": None,
        "bound": {"theorem": "-", "applies": False, "why": f"not evaluated: {where} failed",
                  "value": None, "terms": {}, "guarantee": None, "sound": True,
                  "exceeded_by_seeds": 0, "trivial_bound": None, "vacuous": False},
        "verdict": {"class": "failed", "text": f"failed in {where}: {error}",
                    "reason": error, "decide": None},
        "diverged_seeds": None,
        "comparator_gap_over_R": None,
        "final_iterate_first_coord": [],
        "curve": {"T": [int(t) for t in ends], "R_mean": none, "R_low": none, "R_high": none,
                  "R_over_sqrtT": none, "R_over_T": none, "R_per_seed": [],
                  "x_first_coord_mean": none},
        "constants": {},
        "failed": {"stage": stage, "error": error},
    }  # fmt: skip


@functools.lru_cache(maxsize=4)
def dataset(name: str, data_dir: str | None) -> Any:
    """A data set, loaded once per process (units of one sweep share it)."""
    return load_dataset(name, data_dir)


def make_train_task(name: str, data: Any, width: float) -> Any:
    """A built-in task or a plugin problem's task, sized for ``data`` (``catalog.make_task``)."""
    return make_task(name, data.n_features, data.n_classes, data.image_shape, width)


def _run_unit(spec: dict[str, Any], report: Progress) -> dict[str, Any]:
    """A batch of minibatch training runs (Kingma & Ba section 6) on ``train_batch``."""
    from ..experiments.training import batch_hyperparameters  # scipy
    from ..experiments.training_results import point_rows

    data = dataset(spec["data"], spec["data_dir"])
    task = make_train_task(spec["task"], data, spec["width"])
    dtype = np.dtype(spec["dtype"])
    points, seeds = spec["points"], list(spec["seeds"])
    # one value per unit for a non-float setting: plan.py groups points by them
    lrs, hp = batch_hyperparameters(get_rule(spec["optimizer"]), points, len(seeds))
    res = train_batch(
        task,
        TaskData.prepare(task, data, dtype, module(spec.get("backend", "numpy"))),
        spec["optimizer"],
        lrs,
        np.tile(seeds, len(points)),
        spec["epochs"],
        spec["batch_size"],
        dtype,
        hp,
        on_epoch=lambda e: report(min(1.0, e / spec["epochs"])),
    )
    out_rows = point_rows(spec["task"], spec["optimizer"], points, seeds, res)
    info = {"task": task.describe(), "data": data.describe()}
    timing = {f"{k}_seconds": v for k, v in res.times.items()}
    return {"rows": out_rows, "info": info, "timing": timing}
