"""A sweep cut into work units: batches of runs that keep the engines' batching.

The product problems/tasks x optimizers x grid points x seeds is grouped per (problem or
task, optimizer, non-vector settings such as the schedule): within a group every run
shares one compiled kernel and one data stream per seed, so the engines advance them as
one (B, d) batch (DESIGN.md, "Batched runs").  A group is cut into units of at most
``runs_per_unit`` runs, always keeping every seed of a grid point in the same unit (the
rows aggregate over seeds).  A unit's key is the SHA-256 of its full configuration and
the adambench version, so a cached result is reused only for exactly the same work.
"""

from __future__ import annotations

import hashlib
import itertools
import json
from dataclasses import dataclass
from typing import Any

import numpy as np

from .. import __version__
from .config import SweepConfig

# Measured on the project's 2-core machine while other work ran (docs/scaling.md), one
# thread: seconds per (step x run x (d + 10)) of the regret engine (6.6-8.6e-9 at
# d = 10), per (step x seed) of a Newton comparator (smooth problems; 1.7e-6 on
# logistic d = 10), per (example x run x parameter x epoch) of training (2e-10, MLP
# on the digits).  Estimates only: --dry-run says so.
REGRET_SECONDS_PER_WORK = 1.0e-8
COMPARATOR_SECONDS_PER_STEP = 2.0e-6
TRAIN_SECONDS_PER_WORK = 2.0e-10


@dataclass(frozen=True)
class Unit:
    """One work unit: its key, its plain-data spec (what a worker runs) and estimates."""

    key: str
    spec: dict[str, Any]
    runs: int
    label: str
    est_seconds: float
    est_bytes: int


def canonical(doc: Any) -> str:
    """The canonical JSON text of plain data (sorted keys, no spaces): what is hashed."""
    from ..results import _clean

    return json.dumps(_clean(doc), sort_keys=True, separators=(",", ":"), allow_nan=False)


def digest(doc: Any) -> str:
    return hashlib.sha256(canonical(doc).encode()).hexdigest()


def unit_key(spec: dict[str, Any]) -> str:
    """Key of a unit: hash of its full configuration and the adambench version."""
    return digest({"spec": spec, "adambench": __version__})[:32]


def sweep_id(cfg: SweepConfig) -> str:
    """Identity of a sweep: hash of what it computes (not its name or unit size)."""
    return digest({"sweep": cfg.identity(), "adambench": __version__})[:16]


def _points(name: str, rule: Any, grid: dict[str, list[Any]], fill: dict[str, Any]) -> list[dict]:
    """Every grid point of one optimizer, in the rule's parameter order, validated."""
    names = [p.name for p in rule.params]
    unknown = sorted(set(grid) - set(names))
    if unknown:
        raise ValueError(
            f"config optimizers.{name}: unknown hyperparameter {unknown[0]!r}; "
            f"allowed: {', '.join(names)}"
        )
    expected = {"float": ("a number", (int, float)), "bool": ("true or false", (bool,)),
                "choice": ("a string", (str,))}  # fmt: skip
    for k, values in grid.items():
        what, types = expected[rule.param(k).kind]
        for v in values:
            if not isinstance(v, types) or (isinstance(v, bool) and bool not in types):
                raise ValueError(
                    f"config optimizers.{name}.{k}: expected {what}, got {type(v).__name__} {v!r}"
                )
    axes = [(k, grid[k]) for k in names if k in grid]
    out = []
    for combo in itertools.product(*(v for _, v in axes)):
        hp = {k: v for k, v in fill.items() if k in names}
        hp.update({k: v for (k, _), v in zip(axes, combo, strict=True)})
        for k, v in hp.items():
            if rule.param(k).kind == "float" and isinstance(v, int) and not isinstance(v, bool):
                hp[k] = float(v)
        try:
            rule.validate(hp)
        except ValueError as e:
            raise ValueError(f"config optimizers.{name}: {e}") from None
        out.append(hp)
    return out


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
    units = _plan_regret(cfg) if cfg.kind == "regret" else _plan_run(cfg)
    if not units:
        raise ValueError("config: the sweep is empty (no grid point)")
    keys = [u.key for u in units]
    if len(set(keys)) != len(keys):
        raise ValueError("config: two work units are identical (a grid repeats a point)")
    return units


def _plan_regret(cfg: SweepConfig) -> list[Unit]:
    from ..core.registry import get_rule
    from ..engines.regret.engine import checkpoints
    from ..problems.online.base import PROJECTIONS
    from ..problems.online.registry import BALL_CAPABLE, make_problem

    e = cfg.engine
    T = float(e["T"])
    if T < 1:
        raise ValueError(f"config regret.T: expected an integer >= 1, got {e['T']!r}")
    T = int(T)
    if e["dtype"] not in ("float64", "float32"):
        raise ValueError(f"config regret.dtype: expected float64 | float32, got {e['dtype']!r}")
    if e["projection"] not in PROJECTIONS:
        raise ValueError(
            f"config regret.projection: expected {' | '.join(PROJECTIONS)}, got {e['projection']!r}"
        )
    if e["per_decade"] < 5:
        raise ValueError(
            f"config regret.per_decade: expected an integer >= 5, got {e['per_decade']}"
        )
    checkpoints(T, e["per_decade"])
    S = len(cfg.seeds)
    units = []
    for pname in e["problems"]:
        kw = {"C": float(e["reddi_c"])} if pname == "reddi" else {}
        feasible = e["set"] if pname in BALL_CAPABLE else None
        try:
            prob = make_problem(pname, dim=e["dim"], feasible=feasible, **kw)
        except ValueError as err:
            raise ValueError(f"config regret: {err}") from None
        problem_spec = {"name": pname, "dim": prob.d, "set": feasible, "options": kw}
        for oname, grid in cfg.grids.items():
            rule = get_rule(oname)
            if rule.kernel == "numpy":
                raise ValueError(
                    f"config optimizers.{oname}: a NumPy plugin rule has no compiled kernel "
                    'and the regret engine runs compiled kernels only; use kind = "run"'
                )
            has = {p.name for p in rule.params}
            fill: dict[str, Any] = {
                "lr": prob.default_lr / (prob.constants["G_inf"] if oname == "sgd" else 1.0),
                "lr_schedule": "constant" if oname == "adagrad" else "inv_sqrt",
            }
            fill.update({k: v for k, v in prob.overrides.items() if k in has})
            for chunk in _chunks(rule, _points(oname, rule, grid, fill), S, cfg.runs_per_unit):
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
                seconds = T * runs * (prob.d + 10) * REGRET_SECONDS_PER_WORK
                if not prob.linear:
                    seconds += T * S * COMPARATOR_SECONDS_PER_STEP
                # state (x, g, 3 buffers, statistics: ~8 arrays of runs x d) and one block
                # of data and coefficients (the engine's own block-size rule)
                block = max(256, min(65536, (1 << 22) // (P * 8), (1 << 22) // (S * prob.nnz)))
                mem = runs * prob.d * 8 * 8 + S * block * (16 * prob.nnz + 8) + block * P * 64
                units.append(
                    Unit(unit_key(spec), spec, runs, f"{pname} {oname} x{len(chunk)}",
                         seconds, int(mem))
                )  # fmt: skip
    return units


def _plan_run(cfg: SweepConfig) -> list[Unit]:
    from ..core.plugins import problems as plugin_problems
    from ..core.registry import get_rule
    from ..problems.nn import TASKS
    from .work import dataset, make_train_task

    e = cfg.engine
    if e["dtype"] not in ("float32", "float64"):
        raise ValueError(f"config run.dtype: expected float32 | float64, got {e['dtype']!r}")
    for key, lo, hi in (("epochs", 1, 10000), ("batch_size", 1, 65536)):
        if not lo <= e[key] <= hi:
            raise ValueError(f"config run.{key}: expected an integer in [{lo}, {hi}], got {e[key]}")
    if not 0 < e["width"] <= 16:
        raise ValueError(f"config run.width: expected a number in (0, 16], got {e['width']}")
    for t in e["tasks"]:
        if t not in TASKS and t not in plugin_problems():
            known = ", ".join([*TASKS, *plugin_problems()])
            raise ValueError(f"config run.tasks: unknown task {t!r}; choose from: {known}")
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
                n = len(data.y_train)
                work = e["epochs"] * n * runs * task.size
                item = np.dtype(e["dtype"]).itemsize
                mem = runs * task.size * item * 6 + min(
                    40_000_000 * 8, runs * e["batch_size"] * task.activation_floats() * 8 * 4
                )
                units.append(
                    Unit(unit_key(spec), spec, runs, f"{tname} {oname} x{len(chunk)}",
                         work * TRAIN_SECONDS_PER_WORK, int(mem + data.x_train.nbytes * 2))
                )  # fmt: skip
    return units
