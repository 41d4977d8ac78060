"""A sweep cut into work units: batches of runs that keep the engines' batching.

The product problems/tasks x optimizers x grid points x seeds is grouped per (problem or
task, optimizer, non-vector settings such as the schedule): within a group every run
shares one compiled kernel and one data stream per seed, so the engines advance them as
one (B, d) batch (docs/design.md, "Batched runs").  A group is cut into units of at most
``runs_per_unit`` runs, always keeping every seed of a grid point in the same unit (the
rows aggregate over seeds).  A unit's key is the SHA-256 of its full configuration and
the adambench version, so a cached result is reused only for exactly the same work.

Sizes are bounded before any grid is expanded (``check_size``): at most ``MAX_RUNS`` runs
in a sweep (grid points x seeds, summed over problems or tasks), and no regret unit with
more state than one ``adambench regret`` command may hold
(``experiments/regret.MAX_STATE_BYTES``); T and the seeds are bounded by the shared policy
and the config loader.
"""

from __future__ import annotations

import hashlib
import json
import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from .._version import __version__
from ..core import plugins
from ..core.registry import get_rule
from ..experiments.grid import expand
from ..problems.nn import TASKS
from ..problems.online.registry import BALL_CAPABLE, make_problem
from ..problems.online.registry import info as problem_info
from ..results import to_jsonable
from . import costs
from .config import SweepConfig
from .work import dataset, make_train_task

# The most runs one sweep may plan (100x the 10,000-run plan of docs/scaling.md; planning
# it takes seconds, running it days).
MAX_RUNS = 1_000_000


@dataclass(frozen=True)
class Unit:
    """One work unit: its key, its plain-data spec (what a worker runs) and estimates:
    ``est_seconds`` on a running worker (``costs.unit_seconds``: fixed + per-step terms;
    a worker's own startup is ``costs.estimate``'s), ``est_bytes`` its peak memory."""

    key: str
    spec: dict[str, Any]
    runs: int
    label: str
    est_seconds: float
    est_bytes: int


def canonical(doc: Any) -> str:
    """The canonical JSON text of plain data (sorted keys, no spaces): what is hashed."""
    return json.dumps(to_jsonable(doc), sort_keys=True, separators=(",", ":"), allow_nan=False)


def digest(doc: Any) -> str:
    return hashlib.sha256(canonical(doc).encode()).hexdigest()


def unit_key(spec: dict[str, Any]) -> str:
    """Key of a unit: hash of its full configuration and the adambench version."""
    return digest({"spec": spec, "adambench": __version__})[:32]


def sweep_id(cfg: SweepConfig) -> str:
    """Identity of a sweep: hash of what it computes (not its name or unit size)."""
    return digest({"sweep": cfg.identity(), "adambench": __version__})[:16]


def _points(name: str, rule: Any, grid: dict[str, list[Any]], fill: dict[str, Any]) -> list[dict]:
    """Every grid point of one optimizer over ``fill`` (``experiments.grid.expand``), with
    the TOML value types checked first; errors name the file's key."""
    names = {p.name for p in rule.params}
    expected = {"float": ("a number", (int, float)), "bool": ("true or false", (bool,)),
                "choice": ("a string", (str,))}  # fmt: skip
    for k, values in grid.items():
        if k not in names:
            continue  # expand names it
        what, types = expected[rule.param(k).kind]
        for v in values:
            if not isinstance(v, types) or (isinstance(v, bool) and bool not in types):
                raise ValueError(
                    f"config optimizers.{name}.{k}: expected {what}, got {type(v).__name__} {v!r}"
                )
    try:
        return expand(rule, fill, grid)
    except ValueError as e:
        raise ValueError(f"config optimizers.{name}: {e}") from None


def grid_size(grid: dict[str, list[Any]]) -> int:
    """The number of points of a grid (the product of its axes), without expanding it."""
    return math.prod(len(v) for v in grid.values())


def check_size(cfg: SweepConfig, n_groups: int) -> None:
    """ValueError when the sweep's grids x seeds, over ``n_groups`` problems or tasks,
    exceed ``MAX_RUNS`` runs; arithmetic only, before anything is expanded."""
    runs = n_groups * len(cfg.seeds) * sum(grid_size(g) for g in cfg.grids.values())
    if runs > MAX_RUNS:
        table = "regret.problems" if cfg.kind == "regret" else "run.tasks"
        raise ValueError(
            f"config: the sweep has {runs:,} runs ({table} x grid points x sweep.seeds), "
            f"above the bound {MAX_RUNS:,}; lower the grids, sweep.seeds or {table}"
        )


def _chunks(rule: Any, points: list[dict], n_seeds: int, runs_per_unit: int) -> list[list[dict]]:
    """Points grouped by their non-float settings, then cut to <= runs_per_unit runs."""
    groups: dict[str, list[dict]] = {}
    for hp in points:
        fixed = {k: v for k, v in hp.items() if rule.param(k).kind != "float"}
        groups.setdefault(canonical(fixed), []).append(hp)
    per = max(1, runs_per_unit // n_seeds)
    return [g[i : i + per] for g in groups.values() for i in range(0, len(g), per)]


def plan(cfg: SweepConfig) -> list[Unit]:
    """The sweep's units in a fixed order (that order is the order of the merged rows)."""
    for oname in cfg.grids:  # up front, in one line: not a failure per unit
        _require_backend(cfg, oname)
    planners = {"regret": _plan_regret, "run": _plan_run, "phase": _plan_phase}
    units = planners[cfg.kind](cfg)
    if not units:
        raise ValueError("config: the sweep is empty (no grid point)")
    keys = [u.key for u in units]
    if len(set(keys)) != len(keys):
        raise ValueError("config: two work units are identical (a grid repeats a point)")
    return units


def _require_backend(cfg: SweepConfig, oname: str) -> None:
    """A rule without a compiled kernel runs on its reference step, on NumPy only
    (``experiments.regret.require_compiled``): a sweep on another backend is refused."""
    from ..experiments.regret import require_compiled  # scipy (stats)

    backend = cfg.engine.get("backend", "numpy")
    try:
        require_compiled(get_rule(oname), backend, f"{cfg.kind}.backend =")
    except ValueError as err:
        raise ValueError(f"config optimizers.{oname}: {err}") from None


def regret_bytes(prob: Any, n_points: int, n_seeds: int, kmax: int) -> int:
    """Peak memory of one batch of the regret engine: the runs' state, one block of data
    and the block's (n, P, kmax) table of coefficients, at the engine's own block size."""
    from ..engines.regret.engine import block_size  # numba
    from ..experiments.regret import state_bytes

    P, S = n_points, n_seeds
    block = block_size(P, kmax, S, prob.nnz)
    return int(state_bytes(P * S, prob.d) + S * block * (16 * prob.nnz + 8) + block * P * kmax * 8)


def regret_seconds(prob: Any, T: int, runs: int, n_seeds: int) -> float:
    """One batch of the regret engine on a running process (``costs.unit_seconds``): fixed
    + T x runs x (d + 10) engine work + a smooth problem's comparator, T x seeds."""
    from ..experiments.regret import run_work

    return costs.unit_seconds(
        kind="regret", work=run_work(T, runs, prob.d),
        comparator_steps=0 if prob.linear else T * n_seeds,
    )  # fmt: skip


def _plan_regret(cfg: SweepConfig) -> list[Unit]:
    from ..experiments import regret as policy  # scipy (stats)

    e = cfg.engine
    try:
        T = policy.validate_options(e["T"], e["dtype"], e["projection"], e["per_decade"],
                                    dim=e["dim"])  # fmt: skip
    except policy.OptionError as err:
        raise ValueError(err.for_config("regret")) from None
    S = len(cfg.seeds)
    check_size(cfg, len(e["problems"]))
    units = []
    for pname in e["problems"]:
        kw = policy.problem_options(pname, e["reddi_c"])
        try:
            sets = problem_info(pname).sets
        except ValueError as err:
            raise ValueError(f"config regret.problems: {err}") from None
        if e["set"] is not None and e["set"] not in sets:  # as `adambench regret --set`
            raise ValueError(
                f"config regret.set: expected {' | '.join(sets)} for {pname} (regret.set "
                f"applies to every problem of the sweep), got {e['set']!r}"
            )
        feasible = e["set"] if pname in BALL_CAPABLE else None  # the unit keys' own form
        try:
            prob = make_problem(pname, dim=e["dim"], feasible=feasible, **kw)
        except ValueError as err:
            raise ValueError(f"config regret: {err}") from None
        problem_spec = {"name": pname, "dim": prob.d, "set": feasible, "options": kw}
        for oname, grid in cfg.grids.items():
            rule = get_rule(oname)
            fill = policy.default_point(prob, rule)
            points = _points(oname, rule, grid, fill)
            kmax = rule.coefficients(rule.validate(points[0]), 1).shape[-1] if points else 0
            chunks = _chunks(rule, points, S, cfg.runs_per_unit)
            biggest = max(map(len, chunks), default=0) * S
            state = policy.state_bytes(biggest, prob.d)
            if state > policy.MAX_STATE_BYTES:  # one unit is one batch, like one command
                raise ValueError(
                    f"config: a unit of {pname} {oname} ({biggest:,} runs at d = {prob.d}) "
                    f"holds {state / 2**30:.3g} GiB of state, above the bound "
                    f"{policy.MAX_STATE_BYTES / 2**30:.0f} GiB of one batch; lower "
                    "sweep.seeds, sweep.runs_per_unit or regret.dim"
                )
            for chunk in chunks:
                spec = {
                    "kind": "regret",
                    "problem": problem_spec,
                    "optimizer": oname,
                    "points": chunk,
                    "seeds": list(cfg.seeds),
                    "T": T,
                    "dtype": e["dtype"],
                    "projection": e["projection"],
                    "per_decade": e["per_decade"],
                    **({"backend": e["backend"]} if "backend" in e else {}),
                }
                runs, P = len(chunk) * S, len(chunk)
                seconds = regret_seconds(prob, T, runs, S)  # fixed + per-step (costs.py)
                mem = regret_bytes(prob, P, S, kmax)
                units.append(
                    Unit(unit_key(spec), spec, runs, f"{pname} {oname} x{len(chunk)}",
                         seconds, int(mem))
                )  # fmt: skip
    return units


def _plan_phase(cfg: SweepConfig) -> list[Unit]:
    """A map's engine batches (one per value of a problem axis, or one) cut into units of
    at most runs_per_unit runs, cells in the map's order; a unit names its batch and cells,
    and its worker plans the same map (``experiments.phase.plan_from_table``) to run them."""
    from ..engines.regret import lanes  # numba
    from ..experiments import phase as policy  # scipy (stats)
    from ..problems.online.base import PROJ_BOX

    ((oname, grid),) = cfg.grids.items()
    e, S = cfg.engine, len(cfg.seeds)
    the_map, T = policy.plan_from_table(e, oname, {k: v[0] for k, v in grid.items()})
    if the_map.cells * S > MAX_RUNS:
        raise ValueError(
            f"config: the map has {the_map.cells * S:,} runs (cells x sweep.seeds), above the "
            f"bound {MAX_RUNS:,}; lower the axes' points or sweep.seeds"
        )
    per = max(1, cfg.runs_per_unit // S)
    units = []
    for b, (prob, points, _cells) in enumerate(the_map.work):
        rule = get_rule(the_map.optimizer)
        kmax = rule.coefficients(rule.validate(points[0].hp), 1).shape[-1]
        for a in range(0, len(points), per):
            n = min(per, len(points) - a)
            spec = {"kind": "phase", "phase": e, "optimizer": oname,
                    "fixed": the_map.fixed, "batch": b, "cells": [a, a + n],
                    "seeds": list(cfg.seeds), "T": T}  # fmt: skip
            label = f"{prob.name} {the_map.optimizer} cells {a}..{a + n - 1}"
            if len(the_map.work) > 1:
                label += f" of batch {b}"
            if e.get("backend", "numpy") == "numpy" and lanes.supports(rule, prob.d, PROJ_BOX):
                sec = costs.COSTS["unit_fixed_seconds"]
                sec += n * S * T * costs.LANES_SECONDS_PER_RUN_STEP
            else:
                sec = regret_seconds(prob, T, n * S, S)
            sec += n * costs.CELL_SECONDS
            units.append(
                Unit(unit_key(spec), spec, n * S, label, sec, regret_bytes(prob, n, S, kmax))
            )
    return units


def train_cost(
    task: Any, data: Any, runs: int, epochs: int, batch_size: int, dtype: str
) -> tuple[float, int]:
    """(seconds on a running process, peak bytes) of ``runs`` training runs batched as one:
    fixed + epochs x examples x runs x parameters (``costs.unit_seconds``); parameters,
    gradients and state, the activations of a minibatch (capped) and the data twice."""
    work = epochs * len(data.y_train) * runs * task.size
    item = np.dtype(dtype).itemsize
    mem = runs * task.size * item * 6 + min(
        40_000_000 * 8, runs * batch_size * task.activation_floats() * 8 * 4
    )
    return costs.unit_seconds(kind="run", work=work), int(mem + data.x_train.nbytes * 2)


def _plan_run(cfg: SweepConfig) -> list[Unit]:
    e = cfg.engine
    if e["dtype"] not in ("float32", "float64"):
        raise ValueError(f"config run.dtype: expected float32 | float64, got {e['dtype']!r}")
    for key, lo, hi in (("epochs", 1, 10000), ("batch_size", 1, 65536)):
        if not lo <= e[key] <= hi:
            raise ValueError(f"config run.{key}: expected an integer in [{lo}, {hi}], got {e[key]}")
    if not 0 < e["width"] <= 16:
        raise ValueError(f"config run.width: expected a number in (0, 16], got {e['width']}")
    for t in e["tasks"]:
        if t not in TASKS and t not in plugins.problems():
            known = ", ".join([*TASKS, *plugins.problems()])
            raise ValueError(f"config run.tasks: unknown task {t!r}; choose from: {known}")
    check_size(cfg, len(e["tasks"]))
    data = dataset(e["data"], e["data_dir"])
    S = len(cfg.seeds)
    units = []
    for tname in e["tasks"]:
        task = make_train_task(tname, data, e["width"])
        for oname, grid in cfg.grids.items():
            rule = get_rule(oname)
            names = {p.name for p in rule.params}
            if not {"lr", "lr_schedule"} <= names:
                raise ValueError(
                    f"config optimizers.{oname}: the training engine needs a rule with "
                    "lr and lr_schedule hyperparameters"
                )
            fill = {"lr": rule.param("lr").default, "lr_schedule": task.lr_schedule}
            for chunk in _chunks(rule, _points(oname, rule, grid, fill), S, cfg.runs_per_unit):
                spec = {
                    "kind": "run",
                    "task": tname,
                    "data": e["data"],
                    "data_dir": e["data_dir"],
                    "width": e["width"],
                    "optimizer": oname,
                    "points": chunk,
                    "seeds": list(cfg.seeds),
                    "epochs": e["epochs"],
                    "batch_size": e["batch_size"],
                    "dtype": e["dtype"],
                    **({"backend": e["backend"]} if "backend" in e else {}),
                }
                runs = len(chunk) * S
                seconds, mem = train_cost(task, data, runs, e["epochs"], e["batch_size"],
                                          e["dtype"])  # fmt: skip
                units.append(
                    Unit(unit_key(spec), spec, runs, f"{tname} {oname} x{len(chunk)}", seconds,
                         mem)
                )  # fmt: skip
    return units
