"""``adambench sweep CONFIG.toml``: a grid of runs cut into work units, run on local
processes or a Dask cluster, cached per unit in a results folder and merged.

See ``sweep/config.py`` for the file format and ``docs/scaling.md`` for sizing
a large sweep.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from ..results import prepare_out
from ..sweep.config import load
from . import training_options as opts
from .render import console, err_console, fail, fmt, print_json, progress, table

DEFAULT_ROOT = Path("results") / "sweeps"


def sweep_command(
    config: Annotated[
        Path,
        typer.Argument(
            help="The sweep file (TOML) with the tables sweep, regret or run, and one "
            "optimizers.NAME table per optimizer."
        ),
    ],
    jobs: int = typer.Option(
        None,
        "--jobs",
        "-j",
        help="Local worker processes (>= 1); default: the number of cores. 1 runs in this process.",
    ),
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
) -> None:
    """Run a sweep: problems x optimizers x grids x seeds, cached and resumable."""
    from ..sweep.plan import plan, sweep_id

    try:
        cfg = load(config)
        units = plan(cfg)
    except ValueError as e:
        fail(str(e))
    sid = sweep_id(cfg)
    folder = Path(out) if out is not None else DEFAULT_ROOT / f"{cfg.name}-{sid[:8]}"
    if jobs is not None and jobs < 1:
        fail(f"--jobs must be an integer >= 1, got {jobs}")
    if scheduler is not None and jobs is not None:
        fail("--jobs and --scheduler exclude each other (a Dask cluster has its own workers)")
    if dry_run:  # reads the folder if there is one, writes nothing
        _dry_run(cfg, sid, units, folder, as_json)
        return
    try:  # before any work (no worker started): a folder that cannot be written is exit 2
        prepare_out(folder)
    except ValueError as e:
        fail(str(e))
    if cfg.engine.get("backend") == "cupy" and scheduler is None:  # local units need a device
        from ..core.backend import select_backend

        try:
            select_backend("cupy")
        except ValueError as e:
            fail(f"config {cfg.kind}.backend: {e}")
        jobs = jobs or 1  # one process drives the device (more would share it, not add one)
    _run(cfg, sid, units, folder, jobs, scheduler, resume, as_json)


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


def _dry_run(cfg, sid: str, units: list, folder: Path, as_json: bool) -> None:
    cached = _cached_keys(folder, sid, units)
    todo = [u for u in units if u.key not in cached]
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
        "estimated_seconds_to_compute": sum(u.est_seconds for u in todo),
        "estimated_peak_bytes_per_worker": max(u.est_bytes for u in units),
    }  # fmt: skip
    if as_json:
        print_json(doc)
        return
    rows = [
        (u.key[:12], u.label, u.runs, "yes" if u.key in cached else "",
         _seconds(u.est_seconds), _bytes(u.est_bytes))
        for u in units
    ]  # fmt: skip
    title = (
        f"Sweep {cfg.name!r} (id {sid}, kind {cfg.kind}): {len(units)} units, {doc['runs']} runs"
    )
    cols = ["key", "unit", "runs", "cached", "est. time (1 core)", "est. memory"]
    console.print(table(title, cols, rows, right=("runs", "est. time (1 core)", "est. memory")))
    console.print(
        f"to compute: {len(todo)} unit(s), about {_seconds(doc['estimated_seconds_to_compute'])} "
        f"of one core; peak memory per worker about "
        f"{_bytes(doc['estimated_peak_bytes_per_worker'])}; results folder: {folder}"
    )
    console.print("[dim]estimates from per-step costs measured on a 2-core machine (plan.py)[/]")


def _seconds(s: float) -> str:
    if s < 60:
        return f"{s:.2g} s"
    if s < 3600:
        return f"{s / 60:.2g} min"
    return f"{s / 3600:.3g} h"


def _bytes(b: float) -> str:
    for unit in ("B", "KiB", "MiB", "GiB"):
        if b < 1024 or unit == "GiB":
            return f"{b:.3g} {unit}"
        b /= 1024
    return f"{b:.3g} GiB"


def _executor(jobs: int | None, scheduler: str | None):
    from ..sweep.executors import DaskExecutor, InlineExecutor, ProcessExecutor, cores

    if scheduler is not None:
        ex = DaskExecutor(scheduler)
        if ex.dashboard:
            err_console.print(f"Dask dashboard: {ex.dashboard}", highlight=False)
        return ex
    jobs = jobs or cores()
    return InlineExecutor(threads=cores()) if jobs == 1 else ProcessExecutor(jobs)


def _run(cfg, sid, units, folder, jobs, scheduler, resume, as_json) -> None:
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
        with progress() as bar:
            task = bar.add_task("units", total=len(units))
            outcome = execute(
                units,
                store,
                executor,
                on_start=lambda cached, todo: bar.update(task, completed=cached),
                on_unit=lambda u, ok: bar.advance(task),
            )
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
    if as_json:
        print_json(doc)
    else:
        _print_rows(cfg.kind, doc["rows"])
        console.print(f"{outcome.summary()}; {outcome.seconds:.1f} s; results: {path}")
    if outcome.exit_code:  # 3: results written, but some grid points failed (their rows say)
        raise SystemExit(outcome.exit_code)


def _print_rows(kind: str, rows: list[dict]) -> None:
    if kind == "regret":
        cols = ["problem", "optimizer", "point", "R(T)", "R(T)/T", "exponent", "verdict"]
        body = [
            (r["problem"], r["optimizer"], r["point"], fmt(r["R_T"]), fmt(r["R_over_T"]),
             "-" if r["exponent"] is None else f"{r['exponent']['slope']:.2f}",
             r["verdict"]["text"])
            for r in rows
        ]  # fmt: skip
        title = f"Sweep: regret at T = {rows[0]['T']:,}" if rows else "Sweep"
    else:
        cols = ["task", "optimizer", "point", "final train loss", "test acc %", "diverged"]
        body = []
        for r in rows:
            accs = [a for a in r["test_accuracy_per_seed"] if a is not None]
            acc = f"{100 * sum(accs) / len(accs):.1f}" if accs else "-"
            div = sum(e is not None for e in r["diverged_epoch"])
            body.append((r["task"], r["optimizer"], r["point"], fmt(r["final_train_loss"]), acc,
                         f"{div}/{len(r['diverged_epoch'])}"))  # fmt: skip
        title = "Sweep: training"
    nums = ("R(T)", "R(T)/T", "exponent", "final train loss", "test acc %", "diverged")
    console.print(table(title, cols, body, right=nums))
