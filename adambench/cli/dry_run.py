"""``--dry-run`` on regret, bench and ablate: the plan and its estimated cost, nothing run.

Each command validates every option first (bad input is still one ``error:`` line and
exit 2, before any plan), then, with ``--dry-run``, prints what would run (problems or
tasks x optimizers x grid points x seeds, sizes, T) with an estimated time and memory,
and exits 0 without computing anything or writing any file.  The estimates reuse the
sweep's cost model (``sweep/costs.py``: fixed + per-step terms measured by
``scripts/calibrate_sweep_costs.py``) and the planners' memory formulas
(``sweep/plan.py``); bench's time is the bound its ``--budget`` sets per group.
"""

from __future__ import annotations

from typing import Annotated, Any

import typer
from rich.markup import escape

from .render import console, print_json

DryRun = Annotated[
    bool,
    typer.Option(
        "--dry-run",
        help="Validate the options, print the plan with its estimated time and memory; "
        "run and write nothing.",
    ),
]


def seconds_text(s: float) -> str:
    if s < 60:
        return f"{s:.2g} s"
    if s < 3600:
        return f"{s / 60:.2g} min"
    return f"{s / 3600:.3g} h"


def bytes_text(b: float) -> str:
    for unit in ("B", "KiB", "MiB", "GiB"):
        if b < 1024 or unit == "GiB":
            return f"{b:.3g} {unit}"
        b /= 1024
    return f"{b:.3g} GiB"


def _size(n: int) -> str:
    """1e7 for 10,000,000; 3e4 for 30,000; 500 as it is."""
    return (
        f"{n:.1e}".replace(".0e", "e").replace("e+0", "e").replace("e+", "e")
        if n >= 1000
        else str(n)
    )


def show(command: str, doc: dict[str, Any], lines: list[str], as_json: bool) -> None:
    """Print the plan (``--json``: the document on stdout) and return; nothing written."""
    doc = {"command": command, "dry_run": True, **doc}
    if as_json:
        print_json(doc)
        return
    console.print("\n".join(escape(line) for line in lines), highlight=False, soft_wrap=True)
    est = doc["estimate"]
    console.print(
        f"estimated: about {seconds_text(est['seconds'])}, peak memory about "
        f"{bytes_text(est['peak_bytes'])}; nothing was run or written",
        highlight=False,
    )
    console.print(f"[dim]{escape(est['covers'])}[/]")


def _startup(kind: str) -> float:
    from ..sweep import costs

    cold = not costs.numba_cache_warm()
    return costs.startup_seconds(kind, new_process=False) + (
        costs.COSTS["kernel_compile_seconds"] if cold else 0.0
    )


def regret(plan: dict[str, Any], dtype: str, backend: str, as_json: bool) -> None:
    """``adambench regret --dry-run``: one engine batch per problem (every point x seed)."""
    from ..core.registry import get_rule
    from ..engines.regret import lanes
    from ..sweep import costs
    from ..sweep.plan import regret_bytes, regret_seconds

    T, S = plan["T"], len(plan["seeds"])
    problems, total, peak = [], _startup("regret"), 0
    for prob, points in plan["work"]:
        kmax = max(
            get_rule(p.optimizer).coefficients(get_rule(p.optimizer).validate(p.hp), 1).shape[-1]
            for p in points
        )
        runs = len(points) * S
        proj = prob.projection_kind(plan["projection"])
        laned = sum(backend == "numpy" and lanes.supports(get_rule(p.optimizer), prob.d, proj)
                    for p in points)  # fmt: skip
        # the points on the runs-as-lanes loop, and the others (and the comparator)
        lane_sec = laned * S * T * costs.LANES_SECONDS_PER_RUN_STEP
        sec = lane_sec + regret_seconds(prob, T, runs - laned * S, S)
        mem = regret_bytes(prob, len(points), S, kmax)
        total += sec
        peak = max(peak, mem)
        problems.append({"problem": prob.name, "d": prob.d, "points": len(points), "runs": runs,
                         "comparator": "closed form" if prob.linear else "projected Newton",
                         "lanes_runs": laned * S,
                         "estimated_seconds": sec, "estimated_bytes": mem})  # fmt: skip
    runs = sum(p["runs"] for p in problems)
    covers = costs.covers("regret", False, not costs.numba_cache_warm())
    if any(p["lanes_runs"] for p in problems):
        ns = costs.LANES_SECONDS_PER_RUN_STEP * 1e9
        covers += f"; the lanes loop at {ns:g} ns per run-step (two threads)"
    if backend == "cupy":
        covers += "; the CPU engine's figures: a CUDA device is usually faster"
    doc = {
        "T": T, "seeds": plan["seeds"], "optimizers": plan["optimizers"], "dtype": dtype,
        "backend": backend, "problems": problems, "runs": runs,
        "estimate": {"seconds": total, "peak_bytes": peak, "covers": covers},
    }  # fmt: skip
    lines = [
        f"regret plan: {len(problems)} problem(s) x {len(plan['optimizers'])} optimizer(s) "
        f"({', '.join(plan['optimizers'])}), {S} seed(s) "
        f"({plan['seeds'][0]}..{plan['seeds'][-1]}), T = {T:,}, {dtype}, {backend}: "
        f"{runs:,} runs"
    ]
    lines += [
        f"  {p['problem']} (d = {p['d']}): {p['points']} grid point(s) x {S} seed(s) = "
        f"{p['runs']:,} runs, comparator {p['comparator']}; about "
        f"{seconds_text(p['estimated_seconds'])}, {bytes_text(p['estimated_bytes'])}"
        for p in problems
    ]
    show("regret", doc, lines, as_json)


def bench(config: Any, as_json: bool) -> None:
    """``adambench bench --dry-run``: the groups (optimizer x size x dtype x threads)."""
    from ..bench.config import arrays_needed
    from ..bench.run import plan

    groups = plan(config)
    per_group = config.budget_s  # the repeats are capped to this many seconds per group
    peak = max(
        arrays_needed(c, config.textbook, config.torch) * n * (8 if d == "float64" else 4)
        for c, n, d, _ in groups
    )
    from ..sweep import costs

    start = costs.COSTS["kernel_load_seconds"]
    doc = {
        "optimizers": [c.label for c in config.cases],
        "sizes": config.sizes, "dtypes": config.dtypes, "threads": config.threads,
        "repeats": config.repeats, "budget_s": per_group, "backend": config.backend,
        "peers": bool(config.textbook or config.torch), "groups": len(groups),
        "estimate": {
            "seconds": start + len(groups) * per_group, "peak_bytes": int(peak),
            "covers": f"an upper bound: each of the {len(groups)} group(s) times for at most "
            f"--budget {per_group:g} s (never fewer than 5 repeats: a very large size can "
            "take longer), plus the kernels' load; --compare may re-measure failing rows",
        },
    }  # fmt: skip
    lines = [
        f"bench plan: {len(config.cases)} optimizer(s) ({', '.join(map(str, doc['optimizers']))})"
        f" x {len(config.sizes)} size(s) ({', '.join(_size(n) for n in config.sizes)}) x "
        f"{len(config.dtypes)} dtype(s) ({', '.join(config.dtypes)}) x {len(config.threads)} "
        f"thread count(s) ({', '.join(map(str, config.threads))}) = {len(groups)} group(s), "
        f"{config.repeats} repeats each, peers {'on' if doc['peers'] else 'off'}, "
        f"backend {config.backend}"
    ]
    lines += [f"note: {n}" for n in config.notes]
    show("bench", doc, lines, as_json)


def ablate(cfg: Any, data: Any, threads: int, as_json: bool) -> None:
    """``adambench ablate --dry-run``: two variants x the grid x seeds, one batch each."""
    from ..experiments.ablation import VARIANTS, grid_points
    from ..problems.catalog import make_task
    from ..sweep import costs
    from ..sweep.plan import train_cost

    task = make_task(cfg.task, data.n_features, data.n_classes, data.image_shape, cfg.width)
    points = grid_points(cfg)
    runs = len(points) * len(cfg.seeds)
    sec, mem = train_cost(task, data, runs, cfg.long_epochs, cfg.batch_size, cfg.dtype)
    total = _startup("run") + len(VARIANTS) * sec
    doc = {
        "task": cfg.task, "parameters": task.size, "data": data.name,
        "examples": len(data.y_train), "variants": list(VARIANTS), "grid_points": len(points),
        "seeds": list(cfg.seeds), "runs": len(VARIANTS) * runs, "short_epochs": cfg.short_epochs,
        "long_epochs": cfg.long_epochs, "batch_size": cfg.batch_size, "dtype": cfg.dtype,
        "backend": cfg.backend, "threads": threads,
        "estimate": {"seconds": total, "peak_bytes": mem,
                     "covers": costs.covers("run", False, not costs.numba_cache_warm())},
    }  # fmt: skip
    lines = [
        f"ablate plan: {cfg.task} ({task.size:,} parameters) on {data.name} "
        f"({len(data.y_train):,} examples): {len(VARIANTS)} variants ({', '.join(VARIANTS)}) x "
        f"{len(points)} grid points ({len(cfg.beta1)} beta1 x {len(cfg.beta2)} beta2 x "
        f"{len(cfg.log10_lr)} lr) x {len(cfg.seeds)} seed(s) = {doc['runs']} runs, "
        f"{cfg.long_epochs} epochs (read at {cfg.short_epochs} and {cfg.long_epochs}), "
        f"batch {cfg.batch_size}, {cfg.dtype}, {cfg.backend}"
    ]
    show("ablate", doc, lines, as_json)


def phase(plan: Any, T: int, seeds: list[int], dtype: str, backend: str, as_json: bool) -> None:
    """``adambench phase --dry-run``: the grid, its engine batches and their estimated time."""
    from ..core.registry import get_rule
    from ..engines.regret import lanes
    from ..problems.online.base import PROJ_BOX
    from ..sweep import costs
    from ..sweep.plan import regret_bytes, regret_seconds

    S = len(seeds)
    peak = 0
    rule = get_rule(plan.optimizer)
    total = _startup("regret")
    batches = []
    for prob, points, _cells in plan.work:
        runs = len(points) * S
        laned = backend == "numpy" and lanes.supports(rule, prob.d, PROJ_BOX)
        lane_sec = runs * T * costs.LANES_SECONDS_PER_RUN_STEP
        sec = lane_sec if laned else regret_seconds(prob, T, runs, S)
        sec += len(points) * costs.CELL_SECONDS
        total += sec
        kmax = rule.coefficients(rule.validate(points[0].hp), 1).shape[-1]
        peak = max(peak, regret_bytes(prob, len(points), S, kmax))
        batches.append({"problem": prob.name, "options": prob.options, "points": len(points),
                        "runs": runs, "loop": "lanes" if laned else "steps",
                        "estimated_seconds": sec})  # fmt: skip
    covers = costs.covers("regret", False, not costs.numba_cache_warm())
    covers += (
        f"; the lanes loop at {costs.LANES_SECONDS_PER_RUN_STEP * 1e9:g} ns per run-step (two "
        f"threads), {costs.CELL_SECONDS * 1e3:g} ms per cell's verdict"
    )
    doc = {"problem": plan.problem, "optimizer": plan.optimizer, "x": plan.x.describe(),
           "y": plan.y.describe(), "cells": plan.cells, "T": T, "seeds": seeds, "dtype": dtype,
           "backend": backend, "batches": batches,
           "estimate": {"seconds": total, "peak_bytes": peak, "covers": covers}}  # fmt: skip
    lines = [
        f"phase plan: {plan.optimizer} on {plan.problem}, {plan.x.name} ({len(plan.x.values)}) "
        f"x {plan.y.name} ({len(plan.y.values)}) = {plan.cells:,} cells x {S} seed(s), "
        f"T = {T:,}, {dtype}, {backend}: {len(batches)} engine batch(es), about "
        f"{seconds_text(total)}"
    ]
    show("phase", doc, lines, as_json)
