"""``adambench phase``: where does a rule converge?  A map of regret verdicts over two
parameters.

Every cell of the grid is a regret run (all seeds) of one hyperparameter point; its
verdict is the regret command's class from the same statistics.  The grid, the verdicts,
the boundaries and the theory's curves are ``experiments/phase.py``'s; this module parses
the flags, runs the engine and prints.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated, Any

import typer

from ..results import make_result, prepare_out
from . import dry_run as dry
from . import training_options as opts
from . import vocabulary as vocab
from .dry_run import DryRun
from .render import Cell, Col, Format, Grid, emit, err_console, fail, output_format, progress

DEFAULT_OUT = Path("results")
_NOTE = (
    "[dim]Each cell: a regret run per seed; its verdict is the regret command's class "
    "(docs/theory.md §4.4); boundaries lie between neighbouring determined cells.[/]"
)


def parse_fixed(given: list[str] | None) -> dict[str, Any]:
    """``--hp name=value`` pairs: numbers, true/false or a word (a schedule's name)."""
    out: dict[str, Any] = {}
    for item in given or []:
        name, eq, text = item.partition("=")
        if not eq or not name.strip() or not text.strip():
            raise ValueError(f"--hp must be name=value, got {item!r}")
        text = text.strip()
        value: Any = {"true": True, "false": False}.get(text.lower(), text)
        if isinstance(value, str):
            try:
                value = float(text)
            except ValueError:
                pass
        out[name.strip()] = value
    return out


def phase_command(
    problem: Annotated[
        str, typer.Option("--problem", "-p", help="The online problem (`adambench list problems`).")
    ] = "reddi-stochastic",
    optimizer: Annotated[
        str, typer.Option("--optimizer", "-o", help="The rule (`adambench list optimizers`).")
    ] = "adam",
    x: Annotated[
        str,
        typer.Option(
            "--x",
            help="Horizontal axis name=lo:hi:n (linear) or name=lo:hi:n:log: a hyperparameter "
            "of the rule or a parameter of the problem (C of reddi).",
        ),
    ] = "beta1=0:0.99:12",
    y: Annotated[str, typer.Option("--y", help="Vertical axis, as --x.")] = "beta2=0.5:0.9999:12",
    T: vocab.Horizon = "1e5",
    seeds: vocab.Seeds = 3,
    seed_start: vocab.FirstSeed = 0,
    fixed: Annotated[
        list[str] | None,
        typer.Option("--hp", help="A hyperparameter every cell shares, name=value; repeat."),
    ] = None,
    schedule: Annotated[
        str,
        typer.Option("--schedule", help="inv_sqrt | constant | auto (the regret command's)."),
    ] = "auto",
    dtype: Annotated[
        str, typer.Option("--dtype", help="Iterate and state dtype: float64 | float32.")
    ] = "float64",
    dim: vocab.Dim = None,
    per_decade: Annotated[
        int, typer.Option("--per-decade", help="Checkpoints per decade of T (>= 5).")
    ] = 5,
    backend: Annotated[
        str,
        typer.Option("--backend", help="numpy (compiled CPU engine) | cupy (CUDA) | auto."),
    ] = "numpy",
    out: Annotated[
        Path,
        typer.Option(
            "--out",
            help="Folder for the results file, a new phase-<UTC time>-<id>.json each time "
            "(never replacing one); checked before any work.",
        ),
    ] = DEFAULT_OUT,
    as_json: vocab.Json = False,
    table_format: Format = "text",
    report: vocab.ResultsReport = False,
    dry_run: DryRun = False,
) -> None:
    """Convergence phase map: the regret verdict of every cell of a two-parameter grid."""
    from ..experiments import phase as policy
    from ..experiments import regret as regret_policy

    try:
        from ..core.backend import select_backend
        from ..core.registry import get_rule, require_backend

        backend = select_backend(backend)
        form = output_format(table_format, as_json)
        try:
            horizon = regret_policy.validate_options(
                T, dtype, "weighted", per_decade, schedule, dim
            )
            regret_policy.validate_seeds(seeds, seed_start)
        except regret_policy.OptionError as e:
            raise ValueError(e.for_flag()) from None
        require_backend(get_rule(optimizer), backend)
        kw = {} if dim is None else {"dim": dim}
        axes = policy.parse_axis(x, "--x"), policy.parse_axis(y, "--y")
        plan = policy.plan(problem, optimizer, *axes, parse_fixed(fixed), schedule, kw)
        regret_policy.check_budget(horizon, seeds, [(p, pts) for p, pts, _ in plan.work])
        prepare_out(out)  # before any work: a bad folder is exit 2, nothing computed
    except ValueError as e:
        fail(str(e))
    seed_list = list(range(seed_start, seed_start + seeds))
    if dry_run:  # validated above; the plan and its cost, nothing run or written
        dry.phase(plan, horizon, seed_list, dtype, backend, form == "json")
        return
    from ..engines.regret.engine import run

    records: list[dict[str, Any]] = []
    start = time.perf_counter()
    with progress() as bar:
        task = bar.add_task(f"{problem} {optimizer}", total=horizon * len(plan.work))
        for prob, points, cells_of in plan.work:
            res = run(prob, points, seed_list, horizon, dtype=dtype, per_decade=per_decade,
                      on_steps=lambda n: bar.advance(task, n), backend=backend)  # fmt: skip
            records += policy.cells(res, cells_of)
    seconds = time.perf_counter() - start
    config = policy.config_of(plan, horizon, seed_list, dtype, schedule, per_decade, backend)
    doc = make_result("phase", config, **policy.analysis(plan, records), seconds=seconds)
    path = opts.save("phase", doc, out, report)
    emit(form, grids(doc), doc, [_NOTE])
    err_console.print(f"results: {path}", markup=False, highlight=False, soft_wrap=True)


def grids(doc: dict[str, Any]) -> list[Grid]:
    """The summary tables: cells per verdict, and where the boundary lies along each axis."""
    cfg = doc["config"]
    counts = doc["counts"]
    total = sum(counts.values())
    rows = [[c, Cell(str(n), n), Cell(f"{100 * n / total:.0f}%", n / total)]
            for c, n in counts.items()]  # fmt: skip
    title = (f"{cfg['optimizer']} on {cfg['problem']}: {cfg['x']['name']} x {cfg['y']['name']}, "
             f"{total} cells at T = {cfg['T']:,} ({len(cfg['seeds'])} seeds, "
             f"{doc['seconds']:.1f} s)")  # fmt: skip
    out = [Grid(title, [Col("verdict"), Col("cells", "number"), Col("share", "number")], rows,
                name="phase_counts")]  # fmt: skip
    brows = []
    for key, along, other in (("along_x", cfg["x"]["name"], cfg["y"]["name"]),
                              ("along_y", cfg["y"]["name"], cfg["x"]["name"])):  # fmt: skip
        edges = doc["boundaries"][key]
        lines = len({e["at"] for e in edges})
        n_other = len(cfg["y" if key == "along_x" else "x"]["values"])
        if edges:
            mids = [e["mid"] for e in edges]
            where = f"{min(mids):.4g} .. {max(mids):.4g}"
        else:
            where = "none: no linear/sublinear change"
        brows.append([along, f"{lines} of {n_other} {other} values", where])
    out.append(Grid("Boundary between linear and sublinear cells",
                    [Col("along"), Col("lines with a change", "text"), Col("at", "text")], brows,
                    name="phase_boundaries"))  # fmt: skip
    region = doc.get("theorem3_region")
    if region:
        rrows = [[side, *(Cell(str(region[side][c]), region[side][c]) for c in region[side])]
                 for side in ("inside", "outside")]  # fmt: skip
        out.append(Grid("Cells inside / outside beta1 < sqrt(beta2) (Reddi et al. Theorem 3)",
                        [Col("region"), *(Col(c, "number") for c in region["inside"])], rrows,
                        name="phase_theorem3"))  # fmt: skip
    return out
