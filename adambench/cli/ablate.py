"""``adambench ablate bias-correction``: Kingma & Ba section 6.4 (Figure 4) as numbers.

Adam with and without bias correction over beta1 x beta2 x log10(alpha), the training
loss after a short and a long budget, and, claim by claim, whether the paper's finding
holds on this task and data: each seed (3 by default) decides on its own, and a claim
holds or fails only when every seed agrees (``experiments.ablation.findings``).
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Annotated

import typer

from ..results import make_result
from . import dry_run as dry
from . import training_options as opts
from . import vocabulary as vocab
from .dry_run import DryRun
from .render import Cell, Col, Format, Grid, emit, err_console, fmt, output_format, progress

DEFAULT_OUT = Path("results")

STUDIES = ("bias-correction",)

Task = vocab.problems_option(
    "The task trained: vae (the paper's), logreg, mlp, cnn or a plugin's (see `adambench "
    "list problems`); one. Default: vae.",
    tasks=True,
)
LearningRates = vocab.lr_option(
    "Learning rates alpha, repeat or comma-separate, each in [1e-10, 10]; default: "
    "1e-5,1e-4,1e-3,1e-2,1e-1 (the paper's)."
)


def ablate_command(
    study: str = typer.Argument(..., help="What to ablate: bias-correction (section 6.4)."),
    tasks: Task = None,
    short_epochs: int = typer.Option(10, "--short", help="Short budget in epochs (paper: 10)."),
    long_epochs: int = typer.Option(
        100, "--long", help="Long budget in epochs, >= --short (paper: 100)."
    ),
    beta1: str = typer.Option("0,0.9", "--beta1", help="Comma list of beta1 in [0, 1)."),
    beta2: str = typer.Option(
        "0.99,0.999,0.9999", "--beta2", help="Comma list of beta2 in [0, 1)."
    ),
    lr: LearningRates = None,
    log10_lr: str = typer.Option(
        None, "--log10-lr", hidden=True, help="log10(alpha), each in [-10, 1]: the old grid option."
    ),
    seeds: vocab.Seeds = 3,
    first_seed: vocab.FirstSeed = 0,
    batch_size: vocab.BatchSize = 128,
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
    table_format: Format = "text",
    report: vocab.ResultsReport = False,
    dry_run: DryRun = False,
) -> None:
    """Adam with vs without bias correction over the section 6.4 grid (Figure 4)."""
    form = output_format(table_format, as_json)
    if study not in STUDIES:
        raise ValueError(f"unknown study {study!r}; choose from: {', '.join(STUDIES)}")
    task_name = _one_task(vocab.names("--problems", tasks) or ["vae"])
    opts.check_int("--short", short_epochs, 1, 10000)
    opts.check_int("--long", long_epochs, short_epochs, 10000)
    b1 = _unit_floats("--beta1", beta1)
    b2 = _unit_floats("--beta2", beta2)
    vocab.exclusive(**{"--lr": lr, "--log10-lr": log10_lr})
    if lr:
        lg = tuple(math.log10(a) for a in _floats("--lr", vocab.joined(lr), 1e-10, 10.0))
    else:
        lg = _floats("--log10-lr", log10_lr or "-5,-4,-3,-2,-1", -10.0, 1.0)
    backend = opts.check_common(
        seeds=seeds, first_seed=first_seed, batch_size=batch_size, threads=threads,
        dtype=dtype, width=width, backend=backend, data=data, data_dir=data_dir, out=out,
        cnn_option="--problems" if task_name == "cnn" else None,
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
    if dry_run:  # validated above (data read, not trained on); nothing run or written
        dry.ablate(cfg, dataset, threads, form == "json")
        return
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
    if form != "text":
        err_console.print(f"results: {path}", markup=False, highlight=False, soft_wrap=True)
    grids, notes = _tables(result, cfg, dataset.name)
    emit(form, grids, doc, notes, multi=True)
    if form == "text":
        err_console.print(f"results: {path}", markup=False, highlight=False, soft_wrap=True)


def _one_task(names: list[str]) -> str:
    """``--problems``: the one task of the study (a grid over tasks is ``sweep``'s), built
    in or a plugin's (``problems.catalog.task_names``); an online problem is refused in
    one line that names the command taking it."""
    from ..problems import catalog

    known = catalog.task_names()
    for name in names:
        catalog.refuse_other_kind(name, catalog.TASK, "ablate")
        if name not in known:
            raise ValueError(f"--problems: unknown {name!r}; choose one of: {', '.join(known)}")
    if len(names) > 1:
        raise ValueError(f"--problems: ablate trains one task, got {', '.join(names)}")
    return names[0]


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


def _cell(row: dict, key: str) -> Cell:
    v = row[key]
    if v is None:
        return Cell("diverged", None)
    return Cell(fmt(v, 4), v)


def _g(x: float) -> Cell:
    return Cell(f"{x:g}", x)


def _cols(labels: list[str]) -> list[Col]:
    return [Col(c, "number") for c in labels]


def _tables(result: dict, cfg, data_name: str) -> tuple[list[Grid], list[str]]:
    """The grid table, the best-per-beta table and the claims (notes under them)."""
    s, lg = cfg.short_epochs, cfg.long_epochs
    cols = ["beta1", "beta2", "log10 lr", f"Adam @{s}", f"no-corr @{s}", f"Adam @{lg}"]
    cols += [f"no-corr @{lg}"]
    rows = [
        [
            _g(r["beta1"]),
            _g(r["beta2"]),
            _g(r["log10_lr"]),
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
    grid = Grid(title, _cols(cols), rows, name="grid")
    f = result["findings"]
    best_rows = [
        [
            _g(e["beta1"]),
            _g(e["beta2"]),
            *(
                Cell(fmt(e[k]), e[k])
                for k in (
                    "adam_short_best",
                    "adam-nobias_short_best",
                    "adam_long_best",
                    "adam-nobias_long_best",
                )
            ),  # fmt: skip
        ]
        for e in f["best_per_beta"]
    ]
    bcols = ["beta1", "beta2", f"Adam @{s}", f"no-corr @{s}", f"Adam @{lg}", f"no-corr @{lg}"]
    best = Grid("Best over the learning rates (mean over seeds)", _cols(bcols), best_rows)
    best.name = "best"
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
    return [grid, best], ["\n".join(lines)]


COLOURS = {"holds": "green", "yes": "green", "does not hold": "red", "no": "red"}


def _status(status: str) -> str:
    """A claim status or the overall verdict in colour (yellow: not decided)."""
    return f"[{COLOURS.get(status, 'yellow')}]{status}[/]"
