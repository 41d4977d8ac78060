"""``adambench sweep CONFIG.toml``: a grid of runs cut into work units, run on local
processes or a Dask cluster, cached per unit in a results folder and merged.

See ``sweep/config.py`` for the file format and ``docs/scaling.md`` for sizing
a large sweep.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape

from ..results import prepare_out
from ..sweep.config import load
from . import training_options as opts
from . import vocabulary as vocab
from .dry_run import bytes_text, seconds_text
from .render import Cell, Col, Format, Grid, emit, err_console, fail, num, output_format
from .sweep_progress import unit_progress

DEFAULT_ROOT = Path("results") / "sweeps"


def sweep_command(
    config: Annotated[
        Path,
        typer.Argument(
            help="The sweep file (TOML) with the tables sweep, regret, run or phase, and one "
            "optimizers.NAME table per optimizer (a phase map: one, its values fixed)."
        ),
    ],
    jobs: vocab.Jobs = None,
    scheduler: str = typer.Option(
        None,
        "--scheduler",
        help="Run the units on a Dask cluster: tcp://HOST:PORT of its scheduler (needs "
        "the dask extra).",
    ),
    resume: bool = typer.Option(
        False,
        "--resume",
        help="Continue an interrupted sweep in its results folder: compute only the missing units.",
    ),
    dry_run: bool = typer.Option(
        False,
        "--dry-run",
        help="Print the units with their estimated cost and memory; run and write nothing.",
    ),
    out: Annotated[
        Path | None,
        typer.Option(
            "--out",
            help="Results folder of this sweep; default: results/sweeps/NAME-ID (the same "
            "folder for the same sweep).",
        ),
    ] = None,
    as_json: bool = typer.Option(False, "--json", help="Machine-readable JSON on stdout."),
    table_format: Format = "text",
) -> None:
    """Run a sweep: problems x optimizers x grids x seeds, cached and resumable."""
    from ..sweep.plan import plan, sweep_id

    try:
        form = output_format(table_format, as_json)
        cfg = load(config)
        units = plan(cfg)
    except ValueError as e:
        fail(str(e))
    from ..core.registry import note_references

    note_references(cfg.grids)  # once: a rule without kernels runs on its reference step
    sid = sweep_id(cfg)
    folder = Path(out) if out is not None else DEFAULT_ROOT / f"{cfg.name}-{sid[:8]}"
    if jobs is not None and jobs < 1:
        fail(f"--jobs must be an integer >= 1, got {jobs}")
    if scheduler is not None and jobs is not None:
        fail("--jobs and --scheduler exclude each other (a Dask cluster has its own workers)")
    if dry_run:  # reads the folder if there is one, writes nothing
        if scheduler is not None:  # validation first: the scheduler must answer
            try:
                _executor(None, scheduler).close()
            except ValueError as e:
                fail(str(e))
        _dry_run(cfg, sid, units, folder, form, jobs, scheduler)
        return
    try:  # before any work (no worker started): a folder that cannot be written is exit 2
        prepare_out(folder)
    except ValueError as e:
        fail(str(e))
    if cfg.engine.get("backend") == "cupy" and scheduler is None:  # local units need a device
        from ..core.backend import select_backend

        try:
            select_backend("cupy", f"config {cfg.kind}.backend =")
        except ValueError as e:
            fail(str(e))
        jobs = jobs or 1  # one process drives the device (more would share it, not add one)
    _run(cfg, sid, units, folder, jobs, scheduler, resume, form)


def _cached_keys(folder: Path, sid: str, units: list) -> set[str]:
    """Keys already finished in ``folder`` (read only; for --dry-run)."""
    from ..sweep.store import Store, read_manifest

    try:
        manifest = read_manifest(folder) if folder.is_dir() else None
    except ValueError:
        return set()
    if manifest is None or manifest.get("sweep_id") != sid:
        return set()
    store = Store(folder, sid)
    return {u.key for u in units if store.load(u) is not None}


def _dry_run(cfg, sid: str, units: list, folder: Path, form: str, jobs, scheduler) -> None:
    from ..sweep.costs import sweep_estimate
    from ..sweep.executors import cores

    cached = _cached_keys(folder, sid, units)
    todo = [u for u in units if u.key not in cached]
    est = sweep_estimate(cfg.kind, todo, jobs, scheduler, cores())  # fixed + per-step
    doc = {
        "sweep": cfg.name,
        "id": sid,
        "kind": cfg.kind,
        "results_folder": str(folder),
        "units": [
            {"key": u.key, "label": u.label, "runs": u.runs, "cached": u.key in cached,
             "estimated_seconds": u.est_seconds, "estimated_bytes": u.est_bytes}
            for u in units
        ],
        "runs": sum(u.runs for u in units),
        "estimated_seconds_to_compute": est["cpu_seconds"],
        "estimate": est,
        "estimated_peak_bytes_per_worker": max(u.est_bytes for u in units),
    }  # fmt: skip
    rows = [
        (Cell(u.key[:12], u.key), u.label, u.runs, Cell("yes" if u.key in cached else "",
         u.key in cached), Cell(seconds_text(u.est_seconds), u.est_seconds),
         Cell(bytes_text(u.est_bytes), u.est_bytes))
        for u in units
    ]  # fmt: skip
    title = (
        f"Sweep {cfg.name!r} (id {sid}, kind {cfg.kind}): {len(units)} units, {doc['runs']} runs"
    )
    cols = [
        Col("key", priority=1), Col("unit", "text", legend=True), Col("runs", "number"),
        Col("cached", priority=2), Col("est. time (1 core)", "number", 4, short="est. time"),
        Col("est. memory", "number", 3, short="memory"),
    ]  # fmt: skip
    notes = [
        f"to compute: {len(todo)} unit(s) on {est['executor']}, about "
        f"{seconds_text(est['wall_seconds'])} wall, {seconds_text(est['cpu_seconds'])} of CPU "
        f"({seconds_text(est['units_seconds'])} in units + "
        f"{seconds_text(est['startup_seconds_per_worker'])} per worker to start); peak memory "
        f"per worker about {bytes_text(doc['estimated_peak_bytes_per_worker'])}; results "
        f"folder: {folder}",
        f"[dim]{escape(est['covers'])}[/]",
    ]
    emit(form, [Grid(title, cols, rows, name="units")], doc, notes)


def _executor(jobs: int | None, scheduler: str | None):
    from ..sweep.executors import DaskExecutor, InlineExecutor, ProcessExecutor, cores

    if scheduler is not None:
        ex = DaskExecutor(scheduler)
        if ex.dashboard:
            err_console.print(f"Dask dashboard: {ex.dashboard}", highlight=False)
        return ex
    jobs = jobs or cores()
    return InlineExecutor(threads=cores()) if jobs == 1 else ProcessExecutor(jobs)


def _run(cfg, sid, units, folder, jobs, scheduler, resume, form) -> None:
    from ..sweep.runner import execute, merge
    from ..sweep.store import Store

    try:  # the executor first: an unreachable scheduler leaves no folder behind
        executor = _executor(jobs, scheduler)
    except ValueError as e:
        fail(str(e))
    try:
        store = Store.open(folder, sid, cfg.name, cfg.identity(), units, resume=resume)
    except ValueError as e:
        executor.close()
        fail(str(e))
    err_console.print(f"sweep {cfg.name!r}: {len(units)} units on {executor.description}",
                      highlight=False)  # fmt: skip
    try:
        with unit_progress(units) as callbacks:  # moves inside units (sweep/progress.py)
            outcome = execute(units, store, executor, **callbacks)
    finally:
        executor.close()
    if outcome.interrupted:
        err_console.print(
            f"interrupted: {outcome.summary()}; finished units are kept in {folder}: "
            "run again with --resume to compute only the rest",
            highlight=False,
            soft_wrap=True,
        )
        raise SystemExit(130)
    if outcome.failed:
        key, msg = next(iter(outcome.failed.items()))
        label = next(u.label for u in units if u.key == key)
        fail(f"{outcome.summary()}; unit {label!r} failed: {msg}", code=1)
    doc = merge(cfg, sid, units, outcome, executor.description)
    path = opts.save_file(store.merged_path(), "sweep", doc)  # the units stay cached
    summary = f"{outcome.summary()}; {outcome.seconds:.1f} s; results: {path}"
    if cfg.kind == "phase":  # the map's summary, as adambench phase prints it
        from .phase import grids as phase_grids

        tables = phase_grids(doc)
    else:
        tables = [_rows_grid(cfg.kind, doc["rows"])]
    emit(form, tables if form != "json" else [], doc, [summary])
    if outcome.exit_code:  # 3: results written, but some grid points failed (their rows say)
        raise SystemExit(outcome.exit_code)


def _rows_grid(kind: str, rows: list[dict]) -> Grid:
    if kind == "regret":
        cols = [
            Col("problem"), Col("optimizer"), Col("point", "text", legend=True),
            Col("R(T)", "number", 3), Col("R(T)/T", "number", 2), Col("exponent", "number", 1),
            Col("verdict", "text", legend=True),
        ]  # fmt: skip
        body = [
            (r["problem"], r["optimizer"], r["point"], num(r["R_T"]), num(r["R_over_T"]),
             num(None) if r["exponent"] is None else Cell(f"{r['exponent']['slope']:.2f}",
             r["exponent"]["slope"]), r["verdict"]["text"])
            for r in rows
        ]  # fmt: skip
        title = f"Sweep: regret at T = {rows[0]['T']:,}" if rows else "Sweep"
    else:
        cols = [
            Col("task"), Col("optimizer"), Col("point", "text", legend=True),
            Col("final train loss", "number", short="train loss"),
            Col("test acc %", "number", 2, short="acc%"),
            Col("diverged", "number", 1, short="div", csv=("diverged seeds", "seeds")),
        ]  # fmt: skip
        body = []
        for r in rows:
            accs = [a for a in r["test_accuracy_per_seed"] if a is not None]
            acc = (
                Cell(f"{100 * sum(accs) / len(accs):.1f}", 100 * sum(accs) / len(accs))
                if accs
                else Cell("-", None)
            )
            div = sum(e is not None for e in r["diverged_epoch"])
            n = len(r["diverged_epoch"])
            body.append((r["task"], r["optimizer"], r["point"], num(r["final_train_loss"]), acc,
                         Cell(f"{div}/{n}", (div, n))))  # fmt: skip
        title = "Sweep: training"
    return Grid(title, cols, body, name="rows")
