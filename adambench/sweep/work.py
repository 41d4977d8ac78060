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
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import numpy as np

_RUNS_COMPLETED = 0  # units run by this process (tests count cache hits with it)


def units_run_here() -> int:
    """How many units this process has computed (not loaded from the cache)."""
    return _RUNS_COMPLETED


@contextmanager
def thread_limits(threads: int | None) -> Iterator[None]:
    """numba on ``threads`` threads (None: unchanged), BLAS on one, restored afterwards."""
    import numba
    from threadpoolctl import threadpool_limits

    before = numba.get_num_threads()
    if threads is not None:
        numba.set_num_threads(max(1, min(int(threads), numba.config.NUMBA_NUM_THREADS)))
    try:
        with threadpool_limits(1, user_api="blas"):
            yield
    finally:
        numba.set_num_threads(before)


def run_unit(spec: dict[str, Any], threads: int | None = None) -> dict[str, Any]:
    """Compute one unit; returns {"rows": [...], "info": {...}, "timing": {...}}."""
    global _RUNS_COMPLETED
    start = time.perf_counter()
    with thread_limits(threads):
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
    """A batch of the online protocol (Reddi et al. 2.1) on the regret engine."""
    from ..engines.regret.engine import RunPoint, run
    from ..experiments.regret import rows
    from ..problems.online.registry import make_problem

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
    info = {
        "problem": prob.describe(),
        "comparator": {
            "method": res.comparator.method,
            "newton_passes": res.comparator.passes,
            "max_certified_gap": float(res.comparator.gap.max()),
        },
    }
    return {"rows": rows(res), "info": info, "timing": dict(res.seconds)}


@functools.lru_cache(maxsize=4)
def dataset(name: str, data_dir: str | None) -> Any:
    """A data set, loaded once per process (units of one sweep share it)."""
    from ..problems.data import load_dataset

    return load_dataset(name, data_dir)


def make_train_task(name: str, data: Any, width: float) -> Any:
    """A built-in task (``problems.nn``) or a plugin problem's task, sized for ``data``."""
    from ..core.plugins import problems
    from ..problems.nn import TASKS, make_task

    if name in TASKS:
        return make_task(name, data.n_features, data.n_classes, data.image_shape, width)
    found = problems().get(name)
    if found is None:
        raise ValueError(f"unknown task {name!r}; choose from: {', '.join([*TASKS, *problems()])}")
    return found.obj(data.n_features, data.n_classes, data.image_shape, width)


def _run_unit(spec: dict[str, Any]) -> dict[str, Any]:
    """A batch of minibatch training runs (Kingma & Ba section 6) on ``train_batch``."""
    from ..core.backend import module
    from ..core.registry import get_rule
    from ..engines.training import TaskData, train_batch
    from ..experiments.training import t_interval

    data = dataset(spec["data"], spec["data_dir"])
    task = make_train_task(spec["task"], data, spec["width"])
    dtype = np.dtype(spec["dtype"])
    rule = get_rule(spec["optimizer"])
    points, seeds = spec["points"], list(spec["seeds"])
    S = len(seeds)
    lrs = np.repeat([float(hp["lr"]) for hp in points], S)
    hp: dict[str, Any] = {}
    for k in points[0]:
        if k == "lr":
            continue
        if rule.param(k).kind == "float":
            hp[k] = np.repeat([float(p[k]) for p in points], S)
        else:  # one value per unit (plan.py groups points by their non-float settings)
            hp[k] = points[0][k]
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
    out_rows = []
    for i, point in enumerate(points):
        r = slice(i * S, (i + 1) * S)
        finals = res.train_loss[r, -1]
        diverged = bool(res.diverged[r].any())
        mean, lo, hi = t_interval(finals)
        out_rows.append(
            {
                "task": spec["task"],
                "optimizer": spec["optimizer"],
                "point": ", ".join(f"{k}={v}" for k, v in point.items()),
                "hyperparameters": dict(point),
                "seeds": seeds,
                "final_train_loss": None if diverged else mean,
                "final_train_loss_interval": [lo, hi],
                "final_train_loss_per_seed": finals,
                "test_loss_per_seed": res.test_loss[r],
                "test_accuracy_per_seed": res.test_accuracy[r],
                "diverged_epoch": [int(x) if x >= 0 else None for x in res.diverged_epoch[r]],
                "train_loss_mean_curve": res.train_loss[r].mean(axis=0),
            }
        )
    info = {"task": task.describe(), "data": data.describe()}
    timing = {f"{k}_seconds": v for k, v in res.times.items()}
    return {"rows": out_rows, "info": info, "timing": timing}
