"""``adambench regret``: online regret of every optimizer, held against the theory.

Runs the online protocol (docs/theory.md §2.1) on each selected problem for every optimizer,
hyperparameter point and seed, and prints R(T), R(T)/T, the growth exponent with its
95% interval, the bound of the theory on the run's own constants and a verdict.
"""

from __future__ import annotations

import math
import time
from pathlib import Path
from typing import Annotated

import typer

from ..results import make_result, prepare_out
from . import dry_run as dry
from . import training_options as opts
from . import vocabulary as vocab
from .dry_run import DryRun
from .render import (
    Cell,
    Col,
    Format,
    Grid,
    emit,
    err_console,
    fail,
    fmt,
    num,
    output_format,
    progress,
)

# The options, defaults, grids and bounds of a regret run are experiments/regret.py's
# (shared with regret sweeps); this module parses the flags, calls it and prints.
_FLAGS = {"T": "--T", "seeds": "--seeds", "dim": "--dim"}
DEFAULT_OUT = Path("results")


def parse_T(text: str) -> int:
    """T from '1e6' or '1000000' (``experiments.regret.horizon``), else ValueError."""
    from ..experiments.regret import OptionError, horizon

    try:
        return horizon(text)
    except OptionError as e:
        raise ValueError(e.for_flag()) from None


def parse_list(name: str, text: str | None, kind=float) -> list | None:
    """A comma-separated grid; None when not given; ValueError if empty or malformed."""
    if text is None:
        return None
    items = [t.strip() for t in text.split(",") if t.strip()]
    if not items:
        raise ValueError(f"{name} grid is empty; give comma-separated values")
    try:
        values = [kind(t) for t in items]
    except ValueError:
        raise ValueError(f"{name} must be comma-separated numbers, got {text!r}") from None
    if kind is float and not all(math.isfinite(v) for v in values):
        raise ValueError(f"{name} values must be finite numbers, got {text!r}")
    return values


def _names(
    option: str, given: list[str] | None, default: tuple[str, ...], every: tuple[str, ...]
) -> list[str]:
    """Names from a list option: none given is ``default``, ``all`` is ``every``."""
    if not given:
        return list(default)
    out = [n.strip() for g in given for n in g.split(",") if n.strip()]
    if not out:
        raise ValueError(f"{option} is empty")
    if out == ["all"]:
        return list(every)
    return list(dict.fromkeys(out))


Problems = vocab.problems_option(
    "Problems, repeat or comma-separate; default: logistic, sparse-logistic, reddi. "
    "See `adambench list problems`."
)
Optimizers = vocab.optimizers_option("Optimizers, repeat or comma-separate; default: all.")
LearningRates = vocab.lr_option(
    "Step size alpha, or a grid: repeat or comma-separate; default: the problem's "
    "(SGD: divided by the problem's G_inf, as SGD is not scale-invariant)."
)


def regret_command(
    problem: Problems = None,
    optimizer: Optimizers = None,
    T: vocab.Horizon = "1e5",
    seeds: vocab.Seeds = 5,
    seed_start: vocab.FirstSeed = 0,
    dim: vocab.Dim = None,
    lr: LearningRates = None,
    schedule: Annotated[
        str,
        typer.Option(
            "--schedule",
            help="inv_sqrt (alpha/sqrt(t)) | constant | auto (inv_sqrt; AdaGrad constant, "
            "its 1/sqrt(sum g^2) already decays).",
        ),
    ] = "auto",
    beta1: Annotated[
        str | None, typer.Option("--beta1", help="beta1 grid in [0, 1) for rules that have it.")
    ] = None,
    beta2: Annotated[
        str | None, typer.Option("--beta2", help="beta2 grid in [0, 1) for rules that have it.")
    ] = None,
    beta1_decay: Annotated[
        str | None,
        typer.Option(
            "--beta1-decay",
            help="lambda grid in (0, 1]: beta1_t = beta1 lambda^(t-1) (Kingma & Ba Thm 4.1, "
            "Reddi et al. Cor 1), for rules that have it; 1 = no decay.",
        ),
    ] = None,
    dtype: Annotated[
        str, typer.Option("--dtype", help="Iterate and state dtype: float64 | float32.")
    ] = "float64",
    feasible: Annotated[
        str | None, typer.Option("--set", help="Feasible set box | ball (linear, least-squares).")
    ] = None,
    projection: Annotated[
        str,
        typer.Option("--projection", help="On a ball: weighted (docs/theory.md §2.1) | euclidean."),
    ] = "weighted",
    reddi_c: Annotated[
        float, typer.Option("--reddi-c", help="C of the reddi problem (> 2).")
    ] = 3.0,
    per_decade: Annotated[
        int, typer.Option("--per-decade", help="Checkpoints per decade of T (>= 5).")
    ] = 5,
    out: Annotated[
        Path,
        typer.Option(
            "--out",
            help="Folder for the results file, a new regret-<UTC time>-<id>.json each time "
            "(never replacing one); checked before any work.",
        ),
    ] = DEFAULT_OUT,
    as_json: vocab.Json = False,
    table_format: Format = "text",
    report: vocab.ResultsReport = False,
    backend: Annotated[
        str,
        typer.Option(
            "--backend",
            help="numpy (compiled CPU engine) | cupy (CUDA device) | auto (cupy when usable).",
        ),
    ] = "numpy",
    dry_run: DryRun = False,
) -> None:
    """Online regret of each optimizer on convex problems, against the theory's bounds."""
    try:
        from ..core.backend import select_backend

        backend = select_backend(backend)
        form = output_format(table_format, as_json)
        plan = _plan(
            problem, optimizer, T, seeds, seed_start, dim, lr, schedule, beta1, beta2, beta1_decay,
            dtype, feasible, projection, reddi_c, per_decade,
        )  # fmt: skip
        from ..core.registry import get_rule, note_references, require_backend

        for o in plan["optimizers"]:  # a rule without a kernel: its reference, NumPy only
            require_backend(get_rule(o), backend)
        prepare_out(out)  # before any work: a bad folder is exit 2, nothing computed
    except ValueError as e:
        fail(str(e))
    if dry_run:  # validated above; the plan and its cost, nothing run or written
        dry.regret(plan, dtype, backend, form == "json")
        return
    note_references(plan["optimizers"])
    from ..engines.regret.engine import run
    from ..experiments.regret import comparator_info
    from ..experiments.regret import rows as make_rows

    all_rows, problems_doc, comparators = [], [], []
    start = time.perf_counter()
    with progress() as bar:
        for prob, points in plan["work"]:
            task = bar.add_task(f"{prob.name}", total=plan["T"])
            res = run(
                prob, points, plan["seeds"], plan["T"], dtype=dtype, projection=projection,
                per_decade=per_decade, on_steps=lambda n, task=task: bar.advance(task, n),
                backend=backend,
            )  # fmt: skip
            all_rows += make_rows(res)
            problems_doc.append(prob.describe())
            comparators.append(
                {"problem": prob.name, **comparator_info(res), "seconds": res.seconds}
            )
    seconds = time.perf_counter() - start
    config = {k: v for k, v in plan.items() if k not in ("work",)}
    config.update(dtype=dtype, projection=projection, per_decade=per_decade, schedule=schedule,
                  backend=backend)  # fmt: skip
    doc = make_result(
        "regret",
        config,
        seeds=plan["seeds"],
        problems=problems_doc,
        comparators=comparators,
        rows=all_rows,
        seconds=seconds,
    )
    path = opts.save("regret", doc, out, report)
    emit(form, [regret_grid(all_rows, plan["T"], len(plan["seeds"]), seconds)], doc, [_NOTE])
    err_console.print(f"results: {path}", markup=False, highlight=False, soft_wrap=True)


def _plan(problem, optimizer, T, seeds, seed_start, dim, lr, schedule, beta1, beta2, beta1_decay,
          dtype, feasible, projection, reddi_c, per_decade):  # fmt: skip
    """Parse every option, build [(problem, points)] with experiments/regret.py's policy;
    ValueError (worded for the command line) on bad input."""
    from ..core.registry import RULES, get_rule
    from ..engines.regret.engine import RunPoint
    from ..experiments import regret as policy
    from ..problems import catalog
    from ..problems.online.registry import make_problem

    try:
        horizon = policy.validate_options(T, dtype, projection, per_decade, schedule, dim)
    except policy.OptionError as e:
        raise ValueError(e.for_flag()) from None
    try:  # before any list of seeds: a count in [1, MAX_SEEDS], the last seed < 2^64
        policy.validate_seeds(seeds, seed_start)
    except policy.OptionError as e:
        if e.field == "seed_start":  # the policy's name for the first seed, --seed here
            raise ValueError(f"--seed must be {e.expected}, got {e.got!r}") from None
        raise ValueError(e.for_flag()) from None
    lr = vocab.joined(lr)
    lrs = parse_list("lr", lr)
    if lrs is not None and any(v <= 0 for v in lrs):
        raise ValueError(f"lr must be > 0, got {lr!r}")
    grids = {"lr": lrs, "beta1": parse_list("beta1", beta1), "beta2": parse_list("beta2", beta2),
             "beta1_decay": parse_list("beta1-decay", beta1_decay)}  # fmt: skip
    for name in ("beta1", "beta2"):
        grid = grids[name]
        if grid is not None and any(not 0 <= v < 1 for v in grid):
            raise ValueError(f"{name} must be in [0, 1), got {','.join(map(str, grid))}")
    decay = grids["beta1_decay"]
    if decay is not None and any(not 0 < v <= 1 for v in decay):
        raise ValueError(f"beta1-decay must be in (0, 1], got {','.join(map(str, decay))}")
    opts = _names("--optimizers", optimizer, tuple(RULES), tuple(RULES))
    rules = {o: get_rule(o) for o in opts}
    work = []
    online = tuple(n for n, e in catalog.entries().items() if e.kind == catalog.ONLINE)
    for name in _names("--problems", problem, policy.DEFAULT_PROBLEMS, online):
        catalog.refuse_other_kind(name, catalog.ONLINE, "regret")  # a training task
        prob = make_problem(
            name, dim=dim, feasible=feasible, **policy.problem_options(name, reddi_c)
        )
        points = []
        for o, rule in rules.items():
            has = {p.name for p in rule.params}
            axes = {k: v for k, v in grids.items() if v is not None and k in has}
            points += [RunPoint(o, hp) for hp in policy.points(prob, rule, axes, schedule)]
        work.append((prob, points))
    policy.check_budget(horizon, seeds, work, _FLAGS)
    seed_list = list(range(seed_start, seed_start + seeds))
    return {"T": horizon, "seeds": seed_list, "optimizers": opts, "projection": projection,
            "problems": [p.name for p, _ in work], "work": work}  # fmt: skip


_NOTE = (
    "[dim]Intervals are across seeds (t, 95%); exact: the seeds' curves are identical "
    "(a deterministic problem). Verdicts: docs/theory.md §4.4; a bound above the trivial "
    "T*G*D is vacuous.[/]"
)


def _interval_cell(e: dict | None) -> Cell:
    """The exponent's 95% interval across seeds, or why there is none."""
    if e is None:
        return Cell("-")
    if e["low"] is None:
        return Cell("exact" if "exact" in e.get("interval", "") else "1 seed", (None, None))
    return Cell(f"[{e['low']:.2f}, {e['high']:.2f}]", (e["low"], e["high"]))


def _bound_cell(b: dict) -> Cell:
    if not b["applies"]:
        return Cell("n/a", (None, False))
    vac = bool(b.get("vacuous"))
    return Cell(fmt(b["value"]) + (" (vacuous)" if vac else ""), (b["value"], vac))


def regret_grid(rows, T, n_seeds, seconds) -> Grid:
    """The regret table: one row per problem x optimizer (x point when a grid was run)."""
    body = []
    grid = len({(r["problem"], r["optimizer"]) for r in rows}) < len(rows)
    for r in rows:
        cells = [r["problem"], r["optimizer"]]
        if grid:
            cells.append(r["point"])
        v = r["verdict"]
        text = v["text"] + (f"; needs {v['decide']}" if v.get("decide") else "")
        e = r["exponent"]
        slope = num(None) if e is None else Cell(f"{e['slope']:.2f}", e["slope"])
        cells += [num(r["R_T"]), num(r["R_over_T"]), slope, _interval_cell(e),
                  _bound_cell(r["bound"]), text]  # fmt: skip
        body.append(cells)
    cols = [Col("problem"), Col("optimizer")]
    if grid:
        cols.append(Col("point", "text", legend=True))
    cols += [
        Col("R(T)", "number", 5),
        Col("R(T)/T", "number", 4),
        Col("exponent", "number", 3, short="exp."),
        Col("exponent CI", "number", 1, short="95% CI", csv=("exponent_low", "exponent_high")),
        Col("bound", "number", 2, csv=("bound", "bound_vacuous")),
        Col("verdict", "text", legend=True),
    ]
    title = f"Regret at T = {T:,} (mean of {n_seeds} seed(s), {seconds:.1f} s)"
    return Grid(title, cols, body, name="regret")
