"""Running one work unit: a batch of runs on the regret or the training engine.

``run_unit(spec, threads)`` is what every executor calls, in this process, in a worker
process or on a Dask worker: it takes the unit's plain-data spec (``plan.py``) and
returns plain data (rows, problem description, timing).  Everything random is a
function of the seeds in the spec (the engines' streams are keyed by (seed, t)), so a
unit gives the same numbers whichever executor ran it.  ``timing`` is the one part that
varies between runs; it is kept apart from the rows.

Threads: numba gets ``threads`` (the executor's share of the cores, so that workers do
not oversubscribe them) and BLAS one thread, inside the unit only.
"""

from __future__ import annotations

import functools
import time
from typing import Any

import numpy as np

from ..core import plugins
from ..core.backend import module
from ..core.registry import get_rule
from ..engines.training import TaskData, train_batch
from ..machine import thread_limits
from ..problems.data import load_dataset
from ..problems.nn import TASKS, make_task
from ..problems.online.registry import make_problem

_RUNS_COMPLETED = 0  # units run by this process (tests count cache hits with it)


def units_run_here() -> int:
    """How many units this process has computed (not loaded from the cache)."""
    return _RUNS_COMPLETED


def run_unit(spec: dict[str, Any], threads: int | None = None) -> dict[str, Any]:
    """Compute one unit; returns {"rows": [...], "info": {...}, "timing": {...}}."""
    global _RUNS_COMPLETED
    start = time.perf_counter()
    with thread_limits(numba=threads, blas=1):
        if spec["kind"] == "regret":
            out = _regret_unit(spec)
        elif spec["kind"] == "run":
            out = _run_unit(spec)
        else:
            raise ValueError(f"unknown unit kind {spec['kind']!r}")
    out["timing"]["seconds"] = time.perf_counter() - start
    _RUNS_COMPLETED += 1
    return out


def _regret_unit(spec: dict[str, Any]) -> dict[str, Any]:
    """A batch of the online protocol (Reddi et al.; docs/theory.md §2.1) on the regret engine."""
    from ..engines.regret.engine import RunPoint, run  # numba
    from ..experiments.regret import comparator_info, rows  # scipy

    p = spec["problem"]
    prob = make_problem(p["name"], dim=p["dim"], feasible=p["set"], **p["options"])
    points = [RunPoint(spec["optimizer"], dict(hp)) for hp in spec["points"]]
    res = run(
        prob,
        points,
        spec["seeds"],
        spec["T"],
        dtype=spec["dtype"],
        projection=spec["projection"],
        per_decade=spec["per_decade"],
        backend=spec.get("backend", "numpy"),
    )
    info = {"problem": prob.describe(), "comparator": comparator_info(res)}
    return {"rows": rows(res), "info": info, "timing": dict(res.seconds)}


@functools.lru_cache(maxsize=4)
def dataset(name: str, data_dir: str | None) -> Any:
    """A data set, loaded once per process (units of one sweep share it)."""
    return load_dataset(name, data_dir)


def make_train_task(name: str, data: Any, width: float) -> Any:
    """A built-in task (``problems.nn``) or a plugin problem's task, sized for ``data``."""
    if name in TASKS:
        return make_task(name, data.n_features, data.n_classes, data.image_shape, width)
    found = plugins.problems().get(name)
    if found is None:
        known = ", ".join([*TASKS, *plugins.problems()])
        raise ValueError(f"unknown task {name!r}; choose from: {known}")
    return found.obj(data.n_features, data.n_classes, data.image_shape, width)


def _run_unit(spec: dict[str, Any]) -> dict[str, Any]:
    """A batch of minibatch training runs (Kingma & Ba section 6) on ``train_batch``."""
    from ..experiments.training import batch_hyperparameters, point_rows  # scipy

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
    )
    out_rows = point_rows(spec["task"], spec["optimizer"], points, seeds, res)
    info = {"task": task.describe(), "data": data.describe()}
    timing = {f"{k}_seconds": v for k, v in res.times.items()}
    return {"rows": out_rows, "info": info, "timing": timing}
