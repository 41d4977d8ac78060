"""Convergence phase maps: a grid over two parameters, one regret run per cell (the policy).

Shared by ``adambench phase`` and phase sweeps: the axes, the grid of runs, the cells'
verdicts, the boundaries and the theory's curves are decided here once.

* An axis is ``name=lo:hi:n`` (n values from lo to hi, linear) or ``name=lo:hi:n:log``
  (geometric, lo > 0).  ``name`` is a hyperparameter of the rule (checked by the rule) or
  a parameter of the problem (``problems.online.registry.problem_params``: C of
  ``reddi``); the two axes differ.
* A cell is one hyperparameter point of one rule on one problem, run for every seed by
  the regret engine.  Its verdict is the regret verdict's class from the same statistics
  (``stats.growth_evidence``, ``stats.growth_class``: linear / sublinear / undetermined,
  docs/theory.md §4.4), or "diverged" when a seed's iterate or loss stopped being finite;
  with R(T)/T (the mean across seeds and each seed's) and the final iterate's first
  coordinate (mean across seeds).
* A boundary along an axis, for one value of the other axis, lies between two
  neighbouring determined cells (linear or sublinear; undetermined and diverged cells
  are skipped) whose classes differ: every such pair is reported, at its midpoint.
* The theory's curves where the axes are theirs (docs/theory.md §10): beta1 = sqrt(beta2)
  (Reddi et al. Theorem 3 builds a failing problem for every beta1 < sqrt(beta2)),
  gamma = beta1^2 / sqrt(beta2) = 1 (Kingma & Ba Theorem 4.1 assumes gamma < 1), and
  beta2 = 1 / (1 + C^2) on ``reddi`` (Reddi et al. Theorem 1's example, with beta1 = 0).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from .. import stats
from .regret_rows import DIVERGED_REASON

MAX_CELLS = 10_000
CLASSES = ("linear", "sublinear", "undetermined", "diverged")


@dataclass(frozen=True)
class Axis:
    """One axis of a map: a parameter and its values."""

    name: str
    values: tuple[float, ...]
    log: bool = False

    def describe(self) -> dict[str, Any]:
        return {"name": self.name, "values": list(self.values), "log": self.log}


def parse_axis(text: str, flag: str = "--x") -> Axis:
    """``name=lo:hi:n`` or ``name=lo:hi:n:log`` as an ``Axis``; ValueError naming ``flag``."""
    form = f"{flag} must be name=lo:hi:n or name=lo:hi:n:log"
    name, eq, spec = str(text).partition("=")
    name = name.strip()
    if not eq or not name:
        raise ValueError(f"{form}, got {text!r}")
    parts = [p.strip() for p in spec.split(":")]
    log = len(parts) == 4 and parts[3] == "log"
    if len(parts) not in (3, 4) or (len(parts) == 4 and not log):
        raise ValueError(f"{form}, got {text!r}")
    try:
        lo, hi = float(parts[0]), float(parts[1])
        n = int(parts[2])
    except ValueError:
        raise ValueError(f"{form} (lo, hi numbers, n an integer), got {text!r}") from None
    if not (math.isfinite(lo) and math.isfinite(hi)):
        raise ValueError(f"{flag} ends must be finite numbers, got {text!r}")
    if not 1 <= n <= 1000:
        raise ValueError(f"{flag} n must be an integer in [1, 1000], got {parts[2]!r}")
    if n > 1 and not lo < hi:
        raise ValueError(f"{flag} needs lo < hi, got {text!r}")
    if log and lo <= 0:
        raise ValueError(f"{flag} log spacing needs lo > 0, got {text!r}")
    values = np.geomspace(lo, hi, n) if log else np.linspace(lo, hi, n)
    return Axis(name, tuple(float(v) for v in values), log)


@dataclass
class Plan:
    """A validated map: its problem, rule, axes and the engine runs that fill it.

    ``work``: [(problem, points, cells)] with ``cells[k] = (ix, iy)`` the cell of
    ``points[k]``; one entry per value of a problem axis (or one in all).
    """

    problem: str
    optimizer: str
    x: Axis
    y: Axis
    fixed: dict[str, Any]
    work: list[tuple[Any, list[Any], list[tuple[int, int]]]]

    @property
    def cells(self) -> int:
        return len(self.x.values) * len(self.y.values)


def plan(
    problem: str,
    optimizer: str,
    x: Axis,
    y: Axis,
    fixed: dict[str, Any] | None = None,
    schedule: str = "auto",
    problem_kw: dict[str, Any] | None = None,
    flags: tuple[str, str, str] = ("--x", "--y", "--hp "),
) -> Plan:
    """The engine runs of a map (module docstring); ValueError (one line) on bad input.

    ``fixed``: hyperparameters every cell shares (over the rule's regret defaults,
    ``regret.default_point``); ``problem_kw``: the problem's own options (dim, set, C);
    ``flags``: what the errors call the two axes and a ``fixed`` name's prefix (a sweep
    file's keys).
    """
    from ..core.registry import get_rule
    from ..engines.regret.engine import RunPoint
    from ..problems.online.registry import make_problem, problem_params
    from . import regret as regret_policy

    rule = get_rule(optimizer)
    if x.name == y.name:
        raise ValueError(f"the two axes must differ, both are {x.name!r}")
    if len(x.values) * len(y.values) > MAX_CELLS:
        raise ValueError(f"{len(x.values)} x {len(y.values)} cells exceed the bound {MAX_CELLS}")
    hp_names = {p.name for p in rule.params}
    own = set(problem_params(problem))
    for ax, flag in ((x, flags[0]), (y, flags[1])):
        if ax.name not in hp_names and ax.name not in own:
            mine = f"; {problem} has {', '.join(sorted(own))}" if own else f"; {problem} has none"
            raise ValueError(
                f"{flag} {ax.name!r} is neither a hyperparameter of {optimizer} "
                f"({', '.join(p.name for p in rule.params)}) nor a parameter of the problem{mine}"
            )
    fixed = dict(fixed or {})
    for k in fixed:
        if k in (x.name, y.name):
            raise ValueError(f"{flags[2]}{k} is also an axis")
    kw = dict(problem_kw or {})
    on_problem = [ax for ax in (x, y) if ax.name in own and ax.name not in hp_names]
    if len(on_problem) == 2:
        raise ValueError("at most one axis may be a problem parameter (the other varies the rule)")
    outer = on_problem[0] if on_problem else None
    inner = [ax for ax in (x, y) if ax is not outer]
    work = []
    for io in range(len(outer.values)) if outer is not None else (None,):
        args = dict(kw)
        if outer is not None:
            args[outer.name] = outer.values[io]
        try:
            prob = make_problem(problem, **args)
        except TypeError as e:  # a keyword the problem does not take
            raise ValueError(f"problem {problem}: {e}") from None
        base = {**regret_policy.default_point(prob, rule, schedule), **fixed}
        points, cells = [], []
        grid = [(ix, iy) for iy in range(len(y.values)) for ix in range(len(x.values))]
        for ix, iy in grid:
            if outer is not None and (ix if outer is x else iy) != io:
                continue  # another value of the problem's axis: another engine batch
            hp = dict(base)
            for ax, i in ((x, ix), (y, iy)):
                if ax in inner:
                    hp[ax.name] = ax.values[i]
            try:
                rule.validate(hp)
            except ValueError as e:
                raise ValueError(
                    f"cell {x.name}={x.values[ix]:g}, {y.name}={y.values[iy]:g}: {e}"
                ) from None
            points.append(RunPoint(optimizer, hp))
            cells.append((ix, iy))
        work.append((prob, points, cells))
    return Plan(problem, optimizer, x, y, fixed, work)


def plan_from_table(
    table: dict[str, Any], optimizer: str, fixed: dict[str, Any]
) -> tuple[Plan, int]:
    """A phase sweep's map and T from its file's [phase] table (``sweep/config.py``), the
    optimizer and its fixed values: ``plan`` as ``adambench phase`` calls it, with the
    errors naming the file's keys."""
    from . import regret as regret_policy

    try:
        T = regret_policy.validate_options(
            table["T"], table["dtype"], "weighted", table["per_decade"], table["schedule"],
            table["dim"],
        )  # fmt: skip
    except regret_policy.OptionError as err:
        raise ValueError(err.for_config("phase")) from None
    kw = {} if table["dim"] is None else {"dim": table["dim"]}
    try:
        axes = parse_axis(table["x"], "phase.x"), parse_axis(table["y"], "phase.y")
        flags = ("phase.x", "phase.y", f"optimizers.{optimizer}.")
        the_map = plan(table["problem"], optimizer, *axes, fixed, table["schedule"], kw, flags)
    except ValueError as err:
        raise ValueError(f"config: {err}") from None
    return the_map, T


def cells(result: Any, cells_of: Sequence[tuple[int, int]]) -> list[dict[str, Any]]:
    """One record per cell of an engine result (``cells_of[k]``: point k's cell)."""
    S = len(result.seeds)
    random = bool(result.problem.stochastic)
    out = []
    for k, (ix, iy) in enumerate(cells_of):
        rows = slice(k * S, (k + 1) * S)
        R = result.regret[rows]
        T = float(result.ends[-1])
        diverged = bool(result.diverged[rows].any())
        rec: dict[str, Any] = {"ix": ix, "iy": iy}
        if diverged or not np.isfinite(R).all():
            rec.update({"class": "diverged", "reason": DIVERGED_REASON,
                        "decide": None, "R_over_T": None, "R_over_T_seeds": None,
                        "x_final": None, "exponent": None})  # fmt: skip
            out.append(rec)
            continue
        ev = stats.growth_evidence(result.ends, R, random=random)
        g = stats.growth_class(ev)
        slope = ev["windows"][0]["exponent"]["mean"]
        rec.update(
            {
                "class": g["class"],
                "reason": g["reason"],
                "decide": g["decide"],
                "R_over_T": float(np.mean(R[:, -1]) / T),
                "R_over_T_seeds": [float(v) for v in R[:, -1] / T],
                "x_final": float(np.mean(result.x_final[rows, 0])),
                "exponent": None if slope is None else float(slope),
            }
        )
        out.append(rec)
    return out


def config_of(
    plan: Plan, T: int, seeds: list[int], dtype: str, schedule: str, per_decade: int, backend: str
) -> dict[str, Any]:
    """The results' ``config`` of a map (the phase command and a phase sweep)."""
    return {
        "problem": plan.problem, "optimizer": plan.optimizer, "T": T, "seeds": seeds,
        "x": plan.x.describe(), "y": plan.y.describe(), "fixed": plan.fixed, "dtype": dtype,
        "schedule": schedule, "per_decade": per_decade, "backend": backend,
    }  # fmt: skip


def analysis(plan: Any, records: list[dict[str, Any]]) -> dict[str, Any]:
    """The results' sections of a map: cells, counts, boundaries, theory (the phase command
    and a phase sweep)."""
    records = sorted(records, key=lambda r: (r["iy"], r["ix"]))
    nx, ny = len(plan.x.values), len(plan.y.values)
    classes = grid_of(records, nx, ny)
    return {
        "cells": records,
        "counts": counts(records),
        "boundaries": boundaries(classes, plan.x.values, plan.y.values),
        "theory": theory(plan.x, plan.y, plan.problem),
        "theorem3_region": condition_shares(records, plan.x, plan.y),
    }


def grid_of(records: list[dict[str, Any]], nx: int, ny: int, key: str = "class") -> list[list]:
    """``records``' ``key`` as a (ny, nx) nested list, row iy, column ix."""
    g: list[list] = [[None] * nx for _ in range(ny)]
    for r in records:
        g[r["iy"]][r["ix"]] = r[key]
    return g


def boundaries(classes: list[list], xs: Sequence[float], ys: Sequence[float]) -> dict[str, Any]:
    """Where the class changes between linear and sublinear along each axis (the rule:
    the module docstring): per axis, [{"at": other axis' value, "between": [a, b],
    "from", "to"}], a and b the neighbouring determined cells' values."""

    def along(line: list, values: Sequence[float], other: float) -> list[dict[str, Any]]:
        seen = [(v, c) for v, c in zip(values, line, strict=True) if c in ("linear", "sublinear")]
        return [
            {"at": other, "between": [a, b], "mid": (a + b) / 2, "from": ca, "to": cb}
            for (a, ca), (b, cb) in zip(seen, seen[1:], strict=False)
            if ca != cb
        ]

    x_edges = [e for iy, y in enumerate(ys) for e in along(classes[iy], xs, y)]
    y_edges = [e for ix, x in enumerate(xs) for e in along([row[ix] for row in classes], ys, x)]
    return {"along_x": x_edges, "along_y": y_edges}


def counts(records: list[dict[str, Any]]) -> dict[str, int]:
    """Cells per verdict class."""
    return {c: sum(r["class"] == c for r in records) for c in CLASSES}


def theory(x: Axis, y: Axis, problem: str) -> list[dict[str, Any]]:
    """The theory's curves in the map's axes (module docstring): each a label, a source,
    and the condition as a function of the axes, sampled as points (x, y) inside the map."""
    names = {x.name, y.name}
    out = []

    def curve(label: str, source: str, fx: Any, along: Axis, other: Axis) -> None:
        t = np.linspace(min(along.values), max(along.values), 200)
        u = fx(t)
        keep = (u >= min(other.values)) & (u <= max(other.values))
        if along is x:
            pts = [[float(a), float(b)] for a, b in zip(t[keep], u[keep], strict=True)]
        else:
            pts = [[float(b), float(a)] for a, b in zip(t[keep], u[keep], strict=True)]
        out.append({"label": label, "source": source, "points": pts})

    if names == {"beta1", "beta2"}:
        b2 = y if y.name == "beta2" else x
        b1 = x if b2 is y else y
        curve("beta1 = sqrt(beta2)", "Reddi et al. 2018, Theorem 3 (a failing problem exists "
              "for every beta1 < sqrt(beta2))", np.sqrt, b2, b1)  # fmt: skip
        curve("beta1^2 / sqrt(beta2) = 1", "Kingma & Ba 2015, Theorem 4.1 (assumes gamma < 1)",
              lambda v: np.sqrt(np.sqrt(v)), b2, b1)  # fmt: skip
    if names == {"beta2", "C"} and problem == "reddi":
        c = x if x.name == "C" else y
        b2 = y if c is x else x
        curve("beta2 = 1 / (1 + C^2)", "Reddi et al. 2018, Theorem 1 (the example's beta2)",
              lambda v: 1.0 / (1.0 + v * v), c, b2)  # fmt: skip
    return out


def condition_shares(records: list[dict[str, Any]], x: Axis, y: Axis) -> dict[str, Any] | None:
    """On a beta1 x beta2 map: the cells' classes inside and outside beta1 < sqrt(beta2)
    (Reddi et al. Theorem 3's region), as counts; None for other axes."""
    if {x.name, y.name} != {"beta1", "beta2"}:
        return None
    out: dict[str, dict[str, int]] = {"inside": dict.fromkeys(CLASSES, 0),
                                      "outside": dict.fromkeys(CLASSES, 0)}  # fmt: skip
    for r in records:
        v = {x.name: x.values[r["ix"]], y.name: y.values[r["iy"]]}
        side = "inside" if v["beta1"] < math.sqrt(v["beta2"]) else "outside"
        out[side][r["class"]] += 1
    return out
