"""``adambench run``: every optimizer trains the paper's models; one table per task.

Kingma & Ba section 6 (docs/theory.md §1.7) as a benchmark: logistic regression (6.1), an
MLP with dropout (6.2), a CNN (6.3) and a VAE (6.4) on real data, each optimizer at the
best point of its learning-rate grid, mean and 95% interval over seeds, ranked with ties
decided by a paired t test across seeds.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from ..results import make_result
from . import training_options as opts
from . import vocabulary as vocab
from .render import Cell, Col, Format, Grid, emit, err_console, fmt, num, output_format, print_json

DEFAULT_OUT = Path("results")

Tasks = vocab.problems_option(
    "Training tasks: logreg, mlp, cnn, vae, all (these four) or a plugin's (see `adambench "
    "list problems`); repeat or comma-separate; default: logreg,mlp.",
    tasks=True,
)
Optimizers = vocab.optimizers_option(
    "Optimizers (see `adambench list`) or all; repeat or comma-separate; default: all."
)
LearningRates = vocab.lr_option(
    "Learning rates tried by every optimizer; repeat or comma-separate; default: a 5-point "
    "half-decade grid around each optimizer's usual value."
)


def optimizer_names() -> tuple[str, ...]:
    """What ``--optimizers all`` means: every built-in rule, in registry order.

    Read when the command runs: the registry imports NumPy, and importing the CLI must
    not (docs/design.md, "Start-up is instant").
    """
    from ..core.registry import RULES

    return tuple(RULES)


def _optimizers(text: str) -> tuple[str, ...]:
    """``--optimizers``: ``all`` (the built-in rules) or names of any registered rule,
    plugins included (``core.registry.names``)."""
    from ..core.registry import names

    if opts.split_list("--optimizers", text) == ["all"]:
        return optimizer_names()
    return opts.choose("--optimizers", text, names(), all_word=False)


def _tasks(text: str) -> tuple[str, ...]:
    """``--problems``: ``all`` (the built-in tasks) or names of any training task, plugins'
    included (``problems.catalog.task_names``); a name of another kind (an online
    problem: ``adambench regret``) is refused in one line that says so."""
    from ..problems import catalog

    if opts.split_list("--problems", text) == ["all"]:
        return opts.TASKS
    for name in opts.split_list("--problems", text):
        catalog.refuse_other_kind(name, catalog.TASK, "run")
    return opts.choose("--problems", text, catalog.task_names(), all_word=False)


def run_command(
    tasks: Tasks = None,
    optimizers: Optimizers = None,
    epochs: vocab.Epochs = 20,
    seeds: vocab.Seeds = 3,
    first_seed: vocab.FirstSeed = 0,
    lr_grid: LearningRates = None,
    beta1: str = typer.Option(
        "",
        "--beta1",
        help="Comma list of beta1 values in [0, 1) searched with the lr grid, for the "
        "optimizers that have beta1 (see `adambench list`); default: theirs.",
    ),
    beta2: str = typer.Option(
        "",
        "--beta2",
        help="Comma list of beta2 values in [0, 1) searched with the lr grid, for the "
        "optimizers that have beta2; default: theirs.",
    ),
    weight_decay: str = typer.Option(
        "",
        "--weight-decay",
        help="Comma list of weight_decay values >= 0 searched with the lr grid; each rule "
        "applies its own (L2 or decoupled: see `adambench list`), for the optimizers that "
        "have weight_decay. Default: each rule's own (`adambench list`).",
    ),
    batch_size: vocab.BatchSize = 128,
    dtype: opts.DType = "float32",
    backend: opts.Backend = "numpy",
    data: opts.Data = "digits",
    data_dir: opts.DataDir = None,
    width: float = typer.Option(
        0.25,
        "--width",
        help="Layer sizes as a fraction of the paper's (1 = MLP 1000-1000), (0, 16].",
    ),
    target: float = typer.Option(
        None,
        "--target",
        help="Training loss for 'epochs to target' (default: 0.1 x the task's mean "
        "initial training loss over seeds, 0.5 x for vae: the same start for every "
        "optimizer, so adding one changes no other's epochs).",
    ),
    threads: int = typer.Option(
        1,
        "--threads",
        help="Threads for the matmuls (BLAS) and for the optimizer kernel, "
        "1..256; 1 keeps timings steady on small or shared machines.",
    ),
    out: Annotated[
        Path,
        typer.Option(
            "--out",
            help="Folder for the results file, a new run-<UTC time>-<id>.json each time "
            "(never replacing one); checked before any work.",
        ),
    ] = DEFAULT_OUT,
    as_json: bool = typer.Option(False, "--json", help="Print the results document as JSON."),
    table_format: Format = "text",
    report: vocab.ResultsReport = False,
    dry_run: bool = typer.Option(
        False,
        "--dry-run",
        help="Print the plan (tasks, optimizers, grid, runs, epochs) and its estimated time "
        "and memory (a few real steps of each task timed here); train and write nothing.",
    ),
) -> None:
    """Train every optimizer on the paper's tasks and rank them (Kingma & Ba section 6)."""
    task_list = _tasks(vocab.joined(tasks, "logreg,mlp"))
    opt_list = _optimizers(vocab.joined(optimizers, "all"))
    opts.check_int("--epochs", epochs, 1, 10000)
    form = output_format(table_format, as_json)
    backend = opts.check_common(
        seeds=seeds, first_seed=first_seed, batch_size=batch_size, threads=threads,
        dtype=dtype, width=width, backend=backend, data=data, data_dir=data_dir, out=out,
        cnn_option="--problems" if "cnn" in task_list else None,
    )  # fmt: skip
    grid = opts.positive_floats("--lr", vocab.joined(lr_grid)) if lr_grid else None
    beta1_grid = opts.searched_grid("--beta1", beta1, opt_list)
    beta2_grid = opts.searched_grid("--beta2", beta2, opt_list)
    wd_grid = opts.searched_grid("--weight-decay", weight_decay, opt_list)
    if target is not None:
        opts.check_float("--target", target, float("-inf"), float("inf"), low_open=False)
    from ..core.registry import get_rule, note_references, require_backend

    for o in opt_list:  # a rule without a compiled kernel: its reference step, NumPy only
        require_backend(get_rule(o), backend)
    note_references(opt_list)

    from ..engines.training import thread_limits
    from ..experiments.training import RunConfig, config_dict, run_benchmark
    from ..problems.data import load_dataset
    from . import run_progress as rp
    from .render import console

    dataset = load_dataset(data, data_dir)
    cfg = RunConfig(
        tasks=task_list,
        optimizers=opt_list,
        epochs=epochs,
        seeds=tuple(range(first_seed, first_seed + seeds)),
        lr_grid=grid,
        beta1_grid=beta1_grid,
        beta2_grid=beta2_grid,
        weight_decay_grid=wd_grid,
        batch_size=batch_size,
        dtype=dtype,
        width=width,
        backend=backend,
        target=target,
    )
    config = {
        **config_dict(cfg),
        "data": data,
        "data_dir": str(data_dir) if data_dir else None,
        "threads": threads,
    }
    with thread_limits(threads):
        est = _estimate(cfg, dataset, dry_run)
        if dry_run:  # the plan and its cost; nothing trained, nothing written
            if form == "json":
                print_json({"command": "run", "dry_run": True, "plan": config, "estimate": est})
            else:
                for line in rp.plan_lines(est, cfg):
                    console.print(line, markup=False, highlight=False, soft_wrap=True)
            return
        done: list[dict] = []
        try:
            with rp.TaskBars(est, epochs) as bars:
                tasks_out = run_benchmark(cfg, dataset, bars.advance, done)
        except KeyboardInterrupt as e:
            _keep_interrupted(e, cfg, config, dataset, done, est, out)
    doc = make_result("run", config, data=dataset.describe(), tasks=tasks_out, estimate=est)
    doc["complete"] = True
    path = opts.save("run", doc, out, report)
    if form != "text":
        err_console.print(f"results: {path}", markup=False, highlight=False, soft_wrap=True)
    grids = [_task_table(t, dataset.name) for t in tasks_out]
    emit(form, grids, doc, [f"[dim]{_footnote(tasks_out)}[/]"], multi=True)
    if form == "text":
        err_console.print(f"results: {path}", markup=False, highlight=False, soft_wrap=True)


def _estimate(cfg, dataset, dry_run: bool) -> dict:
    """The run's plan and cost (``experiments/training.estimate``) before any training:
    one ``estimate:`` line on stderr; with ``--dry-run`` the whole plan on stdout."""
    from ..experiments.training import estimate
    from . import run_progress as rp

    with err_console.status("timing a few steps of each task for the estimate"):
        est = estimate(cfg, dataset)
    lines = rp.plan_lines(est, cfg)
    if not dry_run:
        line = "estimate: " + lines[-1].removeprefix("total: ")
        err_console.print(line, markup=False, highlight=False, soft_wrap=True)
    return est


def _keep_interrupted(e, cfg, config: dict, dataset, done: list, est: dict, out: Path) -> None:
    """Interrupted: the finished tasks (and the current one's finished optimizers, marked
    incomplete) to a results file marked ``"complete": false``; exit 130.  Nothing
    finished: nothing is written and the interrupt goes on (``interrupted``, 130)."""
    from . import run_progress as rp

    if not done:
        raise e
    doc = make_result("run", config, data=dataset.describe(), tasks=done, estimate=est)
    doc["complete"] = False
    doc["interrupted"] = rp.interrupt_record(e, cfg, done)
    path = opts.save_results("run", doc, out)
    err_console.print(rp.interrupted_line(done, path), markup=False, highlight=False,
                      soft_wrap=True)  # fmt: skip
    raise SystemExit(130) from None


def _betas(chosen: dict) -> str:
    """The chosen beta1/beta2/weight_decay where searched (--beta1/--beta2/--weight-decay)."""
    short = {"beta1": "b1", "beta2": "b2", "weight_decay": "wd"}
    return "".join(f" {v}={chosen[k]:g}" for k, v in short.items() if k in chosen)


def _footnote(tasks_out: list[dict]) -> str:
    """What the columns of the task tables mean."""
    ranking = tasks_out[0]["ranking"] if tasks_out else {}
    level = ranking.get("level", 0.05)
    text = (
        f"#: 1 + the number of optimizers whose final training loss is lower by a paired t "
        f"test across seeds at the {100 * level:g}% level; k= marks a tie"
    )
    if ranking.get("seeds", 2) < 2:
        text += f" (?: {ranking['note']})"
    return text + (
        "; lr: best of the grid by final training loss (* = on the grid's edge: widen "
        "--lr); train loss: geometric mean over seeds [95% t interval of log loss]; epochs: "
        "first epoch at or below the target loss (default 0.1 x the mean initial loss, "
        "0.5 x for vae); ms/ep: one run's share of its batch's epoch time; opt%: "
        "share of training time in opt.step (the rest: forward/backward, data); div: "
        "diverged runs of the grid."
    )


def _order(e: dict) -> tuple:
    """Row order: by rank, then mean final training loss (unranked: by loss); tied rows
    stay adjacent and all-diverged optimizers come last."""
    c = e["chosen"]
    if c is None:
        return (True, 0, 0.0)
    return (False, e["rank"] or 0, c["final_train_loss"]["mean"])


def _task_table(t: dict, data_name: str) -> Grid:
    """One table per task, best optimizer first."""
    from ..report.tables import loss_centre  # the report's centre of the same interval

    rows = []
    entries = sorted(t["optimizers"], key=_order)
    for e in entries:
        c, tm = e["chosen"], e["timing"]
        div = Cell(f"{e['diverged_runs']}/{e['runs']}", (e["diverged_runs"], e["runs"]))
        if c is None:
            none = Cell("all diverged", (None, None))
            rows.append(["-", e["optimizer"], "-", none, "-", "-", "-", "-", "-", div])
            continue
        ftl = c["final_train_loss"]
        mid = loss_centre(ftl)  # the geometric mean where finite (loss_interval)
        lo, hi = ftl["ci95_low"], ftl["ci95_high"]
        ok = lo is not None and hi is not None and lo == lo and hi == hi
        loss = fmt(mid, 3) + (f" [{fmt(lo, 2)}, {fmt(hi, 2)}]" if ok else "")
        acc = c["test_accuracy"]
        lr = f"{c['lr']:g}" + ("*" if c["on_grid_edge"] else "") + _betas(c)
        rows.append(
            [
                e["rank_label"],
                e["optimizer"],
                Cell(lr, c["lr"]) if lr == f"{c['lr']:g}" else lr,
                Cell(loss, (mid, lo if ok else None, hi if ok else None)),
                num(c["test_loss"], 3),
                Cell("-", None) if acc != acc else Cell(f"{100 * acc:.1f}", 100 * acc),
                "-" if c["epochs_to_target"] is None else c["epochs_to_target"],
                Cell(f"{1e3 * tm['epoch_seconds_per_run']:.1f}", 1e3 * tm["epoch_seconds_per_run"]),
                Cell(f"{100 * tm['optimizer_share']:.0f}", 100 * tm["optimizer_share"]),
                div,
            ]
        )
    task = t["task"]
    title = (
        f"{task['name']} on {data_name}: {task['parameters']} parameters, "
        f"lr schedule {task['lr_schedule']}, target loss {fmt(t['target_loss'], 3)}"
    )
    cols = [
        Col("#"),
        Col("optimizer"),
        Col("lr", "text"),
        Col(
            "train loss",
            "number",
            short="train",
            csv=("train loss", "train loss ci95 low", "train loss ci95 high"),
        ),  # fmt: skip
        Col("test loss", "number", 4, short="test"),
        Col("acc%", "number", 5),
        Col("epochs", "number", 2, short="ep"),
        Col("ms/ep", "number", 3),
        Col("opt%", "number", 1),
        Col("div", "number", 6, csv=("diverged runs", "runs")),
    ]
    return Grid(title, cols, rows, name=task["name"])
