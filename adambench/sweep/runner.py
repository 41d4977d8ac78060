"""Driving a sweep: cached units from the store, the rest through an executor, merged.

``execute`` loads every finished unit from the results folder (checksums verified),
hands the missing ones to the executor and stores each result as it arrives.  Ctrl-C
(KeyboardInterrupt) stops the executor; everything finished is already on disk, so a
later run (``--resume``) computes only what is missing.  ``merge`` builds one results
document from the unit payloads in plan order, so the merged rows do not depend on which
executor ran the units or in which order they finished.

Two kinds of failure (``work.py``): a unit that raised is not stored (``failed``; the
sweep has no merged document and ``--resume`` retries it); a grid point that failed
alone is a row of its finished unit (``row["failed"]``; ``point_failures``), so the
sweep completes with every other row, and ``summary``, the merged document
(``sweep.failed_points``) and ``exit_code`` say so.  ``exit_code``: 0 all done, 1 a unit
failed, ``PARTIAL`` (3) done with failed points (results written, not all of them
numbers), 130 interrupted.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ..results import make_result
from .config import SweepConfig
from .plan import Unit
from .store import Store

PARTIAL = 3  # exit code: the sweep completed but some grid points failed (their rows say)


@dataclass
class Outcome:
    """What a sweep run did: units computed now, loaded from the cache, failed, left."""

    total: int
    cached: int = 0
    computed: int = 0
    recomputed_corrupt: int = 0
    failed: dict[str, str] = field(default_factory=dict)  # key -> message
    remaining: list[Unit] = field(default_factory=list)
    interrupted: bool = False
    seconds: float = 0.0
    payloads: dict[str, dict[str, Any]] = field(default_factory=dict)
    # grid points that failed alone, in plan order: {"unit", "problem" or "task",
    # "optimizer", "point", "stage", "error"} (their rows carry "failed")
    point_failures: list[dict[str, Any]] = field(default_factory=list)

    @property
    def complete(self) -> bool:
        return len(self.payloads) == self.total

    @property
    def exit_code(self) -> int:
        """0 all done; 1 a unit failed; ``PARTIAL`` some points failed; 130 interrupted."""
        if self.interrupted:
            return 130
        if self.failed or not self.complete:
            return 1
        return PARTIAL if self.point_failures else 0

    def summary(self) -> str:
        """One line: what finished and what remains."""
        left = self.total - len(self.payloads)
        text = (
            f"{len(self.payloads)} of {self.total} units done ({self.computed} computed now, "
            f"{self.cached} from the cache"
        )
        if self.recomputed_corrupt:
            text += f", {self.recomputed_corrupt} damaged file(s) recomputed"
        text += ")"
        if left:
            runs = sum(u.runs for u in self.remaining)
            text += f"; {left} unit(s) ({runs} runs) remain"
        if self.failed:
            text += f"; {len(self.failed)} failed"
        if self.point_failures:
            n, f = len(self.point_failures), self.point_failures[0]
            text += (
                f"; {n} grid point(s) failed, their rows say why (first: {f['unit']!r} "
                f"{f['point'] or 'default point'}: {f['error']})"
            )
        return text


def execute(
    units: list[Unit],
    store: Store,
    executor: Any,
    on_start: Callable[[int, int], None] | None = None,
    on_unit: Callable[[Unit, bool], None] | None = None,
    on_progress: Callable[[Unit, float], None] | None = None,
    on_cache: Callable[[list[Unit]], None] | None = None,
) -> Outcome:
    """Run the missing units of a sweep; see the module docstring.

    ``on_start(cached, todo)`` is called once the cache is read; ``on_unit(unit, ok)``
    after each computed (or failed) unit; ``on_progress(unit, fraction)`` when a unit
    starts (0) and as it advances, where the executor reports it (``reports_progress``:
    the inline and local-process executors; a Dask cluster reports finished units only);
    ``on_cache(units)`` with the units loaded from the cache.
    Never raises KeyboardInterrupt: an interrupted
    sweep returns with ``interrupted`` set and its ``remaining`` units.
    """
    start = time.perf_counter()
    out = Outcome(total=len(units))
    todo = []
    for u in units:
        payload = store.load(u)
        if payload is None:
            todo.append(u)
        else:
            out.payloads[u.key] = payload
            out.cached += 1
    out.recomputed_corrupt = len(store.corrupt)
    if on_cache is not None:
        on_cache([u for u in units if u.key in out.payloads])
    if on_start is not None:
        on_start(out.cached, len(todo))

    def done(u: Unit, payload: dict[str, Any]) -> None:
        if u.key in out.payloads:  # a retried unit that finished twice: keep the first
            return
        out.payloads[u.key] = store.save(u, payload)
        out.computed += 1
        if on_unit is not None:
            on_unit(u, True)

    def failed(u: Unit, message: str) -> None:
        out.failed[u.key] = message
        if on_unit is not None:
            on_unit(u, False)

    try:
        if todo and on_progress is not None and getattr(executor, "reports_progress", False):
            executor.map(todo, done, failed, on_progress)
        elif todo:
            executor.map(todo, done, failed)
    except KeyboardInterrupt:
        out.interrupted = True
    out.remaining = [u for u in units if u.key not in out.payloads]
    out.point_failures = point_failures(units, out.payloads)
    out.seconds = time.perf_counter() - start
    return out


def point_failures(units: list[Unit], payloads: dict[str, dict[str, Any]]) -> list[dict]:
    """The failed grid points of the finished units, in plan order (rows with "failed")."""
    out = []
    for u in units:
        for r in (payloads.get(u.key) or {}).get("rows", []):
            f = r.get("failed") if isinstance(r, dict) else None
            if f:
                where = {"problem": r["problem"]} if "problem" in r else {"task": r.get("task")}
                out.append({"unit": u.label, **where, "optimizer": r.get("optimizer"),
                            "point": r.get("point"), **f})  # fmt: skip
    return out


def merge(
    cfg: SweepConfig, sweep_id: str, units: list[Unit], outcome: Outcome, executor: str
) -> dict[str, Any]:
    """One results document (``results.make_result``) from every unit, in plan order."""
    rows, unit_docs, info = [], [], []
    for u in units:
        p = outcome.payloads[u.key]
        rows += p["rows"]
        unit_docs.append(
            {"key": u.key, "label": u.label, "runs": u.runs, "timing": p.get("timing", {})}
        )
        if p.get("info") not in info:
            info.append(p.get("info"))
    config = {"name": cfg.name, "source": cfg.source, "runs_per_unit": cfg.runs_per_unit,
              **cfg.identity()}  # fmt: skip
    sweep = {
        "id": sweep_id,
        "kind": cfg.kind,
        "units": len(units),
        "runs": sum(u.runs for u in units),
        "executor": executor,
        "computed_now": outcome.computed,
        "from_cache": outcome.cached,
        "seconds": outcome.seconds,
        "failed_points": point_failures(units, outcome.payloads),
    }
    if cfg.kind == "phase":  # the phase command's document: its report draws the map
        return _phase_document(cfg, rows, sweep, info, unit_docs)
    return make_result("sweep", config, sweep=sweep, info=info, rows=rows, units=unit_docs)


def _phase_document(
    cfg: SweepConfig, rows: list[dict], sweep: dict, info: list, units: list[dict]
) -> dict[str, Any]:
    """A phase sweep's merged results: ``adambench phase``'s document (its config, cells,
    counts, boundaries, theory) with the sweep's record, info and units beside them."""
    from ..experiments import phase as policy  # scipy (stats)

    ((oname, grid),) = cfg.grids.items()
    the_map, T = policy.plan_from_table(cfg.engine, oname, {k: v[0] for k, v in grid.items()})
    e = cfg.engine
    config = policy.config_of(the_map, T, list(cfg.seeds), e["dtype"], e["schedule"],
                              e["per_decade"], e.get("backend", "numpy"))  # fmt: skip
    config["sweep"] = {"name": cfg.name, "source": cfg.source, "runs_per_unit": cfg.runs_per_unit}
    return make_result("phase", config, **policy.analysis(the_map, rows), seconds=sweep["seconds"],
                       sweep=sweep, info=info, units=units)  # fmt: skip
