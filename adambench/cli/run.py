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
from .render import console, err_console, fmt, print_json, progress, table

DEFAULT_OUT = Path("results")


def optimizer_names() -> tuple[str, ...]:
    """What ``--optimizers all`` means: every built-in rule, in registry order.

    Read when the command runs: the registry imports NumPy, and importing the CLI must
    not (docs/design.md, "Start-up is instant").
    """
    from ..core.registry import RULES

    return tuple(RULES)


def run_command(
    tasks: str = typer.Option(
        "logreg,mlp", "--tasks", "-t", help="Comma list of tasks: logreg, mlp, cnn, vae (or all)."
    ),
    optimizers: str = typer.Option(
        "all", "--optimizers", "-o", help="Comma list of optimizers (see `adambench list`) or all."
    ),
    epochs: int = typer.Option(
        20, "--epochs", "-e", help="Passes over the training set, 1..10000."
    ),
    seeds: opts.Seeds = 3,
    first_seed: opts.FirstSeed = 0,
    lr_grid: str = typer.Option(
        "",
        "--lr-grid",
        help="Comma list of learning rates tried by every optimizer; default: a 5-point "
        "half-decade grid around each optimizer's usual value.",
    ),
    beta1: str = typer.Option(
        "",
        "--beta1",
        help="Comma list of beta1 values in [0, 1) searched with the lr grid, for the "
        "optimizers that have beta1 (adam, adamax, adam-nobias, amsgrad); default: theirs.",
    ),
    beta2: str = typer.Option(
        "",
        "--beta2",
        help="Comma list of beta2 values in [0, 1) searched with the lr grid, for the "
        "optimizers that have beta2; default: theirs.",
    ),
    batch_size: opts.BatchSize = 128,
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
        help="Training loss for 'epochs to target' (default: the worst "
        "optimizer's final loss, so every optimizer reaches it).",
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
    report: bool = typer.Option(
        False,
        "--report",
        help="Also build a report (plots, Markdown, HTML) beside the results file: "
        "<results file name>-report/.",
    ),
) -> None:
    """Train every optimizer on the paper's tasks and rank them (Kingma & Ba section 6)."""
    task_list = opts.choose("--tasks", tasks, opts.TASKS)
    opt_list = opts.choose("--optimizers", optimizers, optimizer_names())
    opts.check_int("--epochs", epochs, 1, 10000)
    backend = opts.check_common(
        seeds=seeds, first_seed=first_seed, batch_size=batch_size, threads=threads,
        dtype=dtype, width=width, backend=backend, data=data, data_dir=data_dir, out=out,
        cnn_option="--tasks" if "cnn" in task_list else None,
    )  # fmt: skip
    grid = opts.positive_floats("--lr-grid", lr_grid) if lr_grid.strip() else None
    beta1_grid = opts.beta_grid("--beta1", beta1, opt_list)
    beta2_grid = opts.beta_grid("--beta2", beta2, opt_list)
    if target is not None:
        opts.check_float("--target", target, float("-inf"), float("inf"), low_open=False)

    from ..engines.training import thread_limits
    from ..experiments.training import RunConfig, config_dict, run_benchmark
    from ..problems.data import load_dataset

    dataset = load_dataset(data, data_dir)
    cfg = RunConfig(
        tasks=task_list,
        optimizers=opt_list,
        epochs=epochs,
        seeds=tuple(range(first_seed, first_seed + seeds)),
        lr_grid=grid,
        beta1_grid=beta1_grid,
        beta2_grid=beta2_grid,
        batch_size=batch_size,
        dtype=dtype,
        width=width,
        backend=backend,
        target=target,
    )
    with progress() as bar, thread_limits(threads):
        job = bar.add_task("training", total=len(task_list) * len(opt_list) * epochs)

        def advance(task: str, opt: str, epoch: int) -> None:
            bar.update(job, advance=1, description=f"{task} {opt}")

        tasks_out = run_benchmark(cfg, dataset, advance)
    config = {
        **config_dict(cfg),
        "data": data,
        "data_dir": str(data_dir) if data_dir else None,
        "threads": threads,
    }
    doc = make_result("run", config, data=dataset.describe(), tasks=tasks_out)
    path = opts.save("run", doc, out, report)
    if as_json:
        err_console.print(f"results: {path}", markup=False, highlight=False, soft_wrap=True)
        print_json(doc)
        return
    for t in tasks_out:
        console.print(_task_table(t, dataset.name))
    console.print(f"[dim]{_footnote(tasks_out)}[/]")
    err_console.print(f"results: {path}", markup=False, highlight=False, soft_wrap=True)


def _betas(chosen: dict) -> str:
    """The chosen beta1/beta2 where they were searched (--beta1/--beta2 grids)."""
    return "".join(f" {k[0]}{k[-1]}={chosen[k]:g}" for k in ("beta1", "beta2") if k in chosen)


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
        "--lr-grid); train loss: mean over seeds ± 95% t interval; epochs: first epoch at "
        "or below the target loss; ms/ep: one run's share of its batch's epoch time; opt%: "
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


def _task_table(t: dict, data_name: str):
    """One Rich table per task, best optimizer first."""
    from rich import box

    rows = []
    entries = sorted(t["optimizers"], key=_order)
    for e in entries:
        c, tm = e["chosen"], e["timing"]
        div = f"{e['diverged_runs']}/{e['runs']}"
        if c is None:
            rows.append(["-", e["optimizer"], "-", "all diverged", "-", "-", "-", "-", "-", div])
            continue
        ftl = c["final_train_loss"]
        half = ftl["ci95_high"] - ftl["mean"] if ftl["ci95_high"] == ftl["ci95_high"] else None
        loss = fmt(ftl["mean"], 3) + ("" if half is None else f" ±{fmt(half, 2)}")
        acc = c["test_accuracy"]
        rows.append(
            [
                e["rank_label"],
                e["optimizer"],
                f"{c['lr']:g}" + ("*" if c["on_grid_edge"] else "") + _betas(c),
                loss,
                fmt(c["test_loss"], 3),
                "-" if acc != acc else f"{100 * acc:.1f}",
                "-" if c["epochs_to_target"] is None else c["epochs_to_target"],
                f"{1e3 * tm['epoch_seconds_per_run']:.1f}",
                f"{100 * tm['optimizer_share']:.0f}",
                div,
            ]
        )
    task = t["task"]
    title = (
        f"{task['name']} on {data_name}: {task['parameters']} parameters, "
        f"lr schedule {task['lr_schedule']}, target loss {fmt(t['target_loss'], 3)}"
    )
    cols = ["#", "optimizer", "lr", "train loss", "test loss", "acc%", "epochs", "ms/ep"]
    cols += ["opt%", "div"]
    out = table(title, cols, rows, right=[c for c in cols if c != "optimizer"])
    out.box = box.SIMPLE_HEAD
    return out
