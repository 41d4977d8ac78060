"""``adambench ablate bias-correction``: Kingma & Ba section 6.4 (Figure 4) as numbers.

Adam with and without bias correction over beta1 x beta2 x log10(alpha), the training
loss after a short and a long budget, and, claim by claim, whether the paper's finding
holds on this task and data: each seed (3 by default) decides on its own, and a claim
holds or fails only when every seed agrees (``experiments.ablation.findings``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from ..results import make_result
from . import training_options as opts
from .render import console, err_console, fmt, print_json, progress, table

DEFAULT_OUT = Path("results")

STUDIES = ("bias-correction",)


def ablate_command(
    study: str = typer.Argument(..., help="What to ablate: bias-correction (section 6.4)."),
    task: str = typer.Option("vae", "--task", "-t", help="Task: vae (paper), logreg, mlp, cnn."),
    short_epochs: int = typer.Option(10, "--short", help="Short budget in epochs (paper: 10)."),
    long_epochs: int = typer.Option(
        100, "--long", help="Long budget in epochs, >= --short (paper: 100)."
    ),
    beta1: str = typer.Option("0,0.9", "--beta1", help="Comma list of beta1 in [0, 1)."),
    beta2: str = typer.Option(
        "0.99,0.999,0.9999", "--beta2", help="Comma list of beta2 in [0, 1)."
    ),
    log10_lr: str = typer.Option(
        "-5,-4,-3,-2,-1", "--log10-lr", help="Comma list of log10(alpha), each in [-10, 1]."
    ),
    seeds: opts.Seeds = 3,
    first_seed: opts.FirstSeed = 0,
    batch_size: opts.BatchSize = 128,
    dtype: opts.DType = "float32",
    backend: opts.Backend = "numpy",
    data: opts.Data = "digits",
    data_dir: opts.DataDir = None,
    width: float = typer.Option(
        0.25, "--width", help="Layer sizes as a fraction of the paper's (VAE 500/50), (0, 16]."
    ),
    threads: int = typer.Option(
        1, "--threads", help="Threads for the matmuls and the optimizer kernel, 1..256."
    ),
    out: Annotated[
        Path,
        typer.Option(
            "--out",
            help="Folder for the results file, a new ablate-<UTC time>-<id>.json each time "
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
    """Adam with vs without bias correction over the section 6.4 grid (Figure 4)."""
    if study not in STUDIES:
        raise ValueError(f"unknown study {study!r}; choose from: {', '.join(STUDIES)}")
    if task not in opts.TASKS:
        raise ValueError(f"--task: unknown {task!r}; choose one of: {', '.join(opts.TASKS)}")
    task_name = task
    opts.check_int("--short", short_epochs, 1, 10000)
    opts.check_int("--long", long_epochs, short_epochs, 10000)
    b1 = _unit_floats("--beta1", beta1)
    b2 = _unit_floats("--beta2", beta2)
    lg = _floats("--log10-lr", log10_lr, -10.0, 1.0)
    backend = opts.check_common(
        seeds=seeds, first_seed=first_seed, batch_size=batch_size, threads=threads,
        dtype=dtype, width=width, backend=backend, data=data, data_dir=data_dir, out=out,
        cnn_option="--task" if task_name == "cnn" else None,
    )  # fmt: skip

    from ..engines.training import thread_limits
    from ..experiments.ablation import AblationConfig, config_dict, run_ablation
    from ..problems.data import load_dataset

    dataset = load_dataset(data, data_dir)
    cfg = AblationConfig(
        task=task_name,
        beta1=b1,
        beta2=b2,
        log10_lr=lg,
        short_epochs=short_epochs,
        long_epochs=long_epochs,
        seeds=tuple(range(first_seed, first_seed + seeds)),
        batch_size=batch_size,
        dtype=dtype,
        width=width,
        backend=backend,
    )
    with progress() as bar, thread_limits(threads):
        job = bar.add_task("training", total=2 * long_epochs)

        def advance(variant: str, epoch: int) -> None:
            bar.update(job, advance=1, description=f"{task_name} {variant}")

        result = run_ablation(cfg, dataset, advance)
    config = {
        **config_dict(cfg),
        "study": study,
        "data": data,
        "data_dir": str(data_dir) if data_dir else None,
        "threads": threads,
    }
    doc = make_result("ablate", config, data=dataset.describe(), ablation=result)
    path = opts.save("ablate", doc, out, report)
    if as_json:
        err_console.print(f"results: {path}", markup=False, highlight=False, soft_wrap=True)
        print_json(doc)
        return
    _print(result, cfg, dataset.name)
    err_console.print(f"results: {path}", markup=False, highlight=False, soft_wrap=True)


def _unit_floats(option: str, text: str) -> tuple[float, ...]:
    return _floats(option, text, 0.0, 1.0, high_open=True)


def _floats(
    option: str, text: str, low: float, high: float, high_open: bool = False
) -> tuple[float, ...]:
    out = []
    for it in opts.split_list(option, text):
        try:
            v = float(it)
        except ValueError:
            raise ValueError(f"{option} must be numbers, got {it!r}") from None
        ok = v >= low and (v < high if high_open else v <= high)
        if not ok or v != v:
            right = ")" if high_open else "]"
            raise ValueError(f"{option} values must be in [{low:g}, {high:g}{right}, got {it!r}")
        out.append(v)
    return tuple(dict.fromkeys(out))


def _cell(row: dict, key: str) -> str:
    v = row[key]
    if v is None:
        return "diverged"
    return fmt(v, 4)


def _print(result: dict, cfg, data_name: str) -> None:
    s, lg = cfg.short_epochs, cfg.long_epochs
    cols = ["beta1", "beta2", "log10 lr", f"Adam @{s}", f"no-corr @{s}", f"Adam @{lg}"]
    cols += [f"no-corr @{lg}"]
    rows = [
        [
            f"{r['beta1']:g}",
            f"{r['beta2']:g}",
            f"{r['log10_lr']:g}",
            _cell(r, "adam_short"),
            _cell(r, "adam-nobias_short"),
            _cell(r, "adam_long"),
            _cell(r, "adam-nobias_long"),
        ]
        for r in result["rows"]
    ]
    t = result["task"]
    title = (
        f"Bias correction, {t['name']} on {data_name} ({t['parameters']} parameters): "
        f"training loss after {s} and {lg} epochs, mean over {len(cfg.seeds)} seed(s) "
        f"(start {fmt(result['initial_loss'], 4)})"
    )
    console.print(table(title, cols, rows, right=cols))
    f = result["findings"]
    best_rows = [
        [
            f"{e['beta1']:g}",
            f"{e['beta2']:g}",
            fmt(e["adam_short_best"]),
            fmt(e["adam-nobias_short_best"]),
            fmt(e["adam_long_best"]),
            fmt(e["adam-nobias_long_best"]),
        ]
        for e in f["best_per_beta"]
    ]
    bcols = ["beta1", "beta2", f"Adam @{s}", f"no-corr @{s}", f"Adam @{lg}", f"no-corr @{lg}"]
    console.print(
        table("Best over the learning rates (mean over seeds)", bcols, best_rows, right=bcols)
    )
    seeds = ", ".join(
        f"seed {sd}: {fmt(t, 2)}" for sd, t in zip(f["seeds"], f["tolerance_per_seed"], strict=True)
    )
    lines = [f"Tolerance per seed (1% of the seed's improvement start -> best): {seeds}"]
    for i, c in enumerate(f["claims"].values(), 1):
        split = "/".join(str(n) for n in c["split"].values())
        more = "; more seeds or a larger budget would decide it"
        lines.append(
            f"Claim {i} ({c['claim'][:1].lower()}{c['claim'][1:].rstrip('.')}): "
            f"{_status(c['status'])} "
            f"(seeds holding/failing/tied: {split}{more if c['status'] == 'not decided' else ''})"
        )
        lines += [f"  seed {e['seed']} {e['result']}: {e['evidence']}" for e in c["per_seed"]]
    lines.append(f"Paper's finding (section 6.4) reproduced: {_status(f['reproduced'])}")
    console.print("\n".join(lines))


COLOURS = {"holds": "green", "yes": "green", "does not hold": "red", "no": "red"}


def _status(status: str) -> str:
    """A claim status or the overall verdict in colour (yellow: not decided)."""
    return f"[{COLOURS.get(status, 'yellow')}]{status}[/]"
