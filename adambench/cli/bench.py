"""``adambench bench``: time every optimizer's update kernel against its memory roofline.

For each optimizer x size x dtype x thread count: one ``step`` timed after warm-up over
many repeats (median, IQR), beside the same-run roofline loop with the rule's own access
pattern, a textbook NumPy step and torch.optim (single-tensor, foreach, fused) when
installed.  ``--shapes PRESET`` or ``--tensors`` x ``--numel`` time parameter lists instead
(one ``step`` over every tensor, bench/run.py) beside the flat array of the same total size
and dtype layout: their table adds the list overhead.  ``--compare BASELINE`` runs the
regression gate (bench/compare.py) on flat-array rows and re-measures a failing row once
before failing.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from .. import machine
from ..results import prepare_file, prepare_out, read_json
from . import dry_run as dry
from . import training_options as opts
from . import vocabulary as vocab
from .compare import report as gate_report
from .compare import verdict_table, write_markdown
from .dry_run import DryRun
from .render import Cell, Col, Format, Grid, emit, err_console, fail, num, output_format, progress

DEFAULT_OUT = Path("results")


def _time(s: float) -> str:
    for unit, scale in (("s", 1.0), ("ms", 1e-3), ("us", 1e-6)):
        if s >= scale:
            return f"{s / scale:.3g} {unit}"
    return f"{s / 1e-9:.3g} ns"


def _size(n: int) -> str:
    """1e+07 -> 1e7; 30000 -> 3e4."""
    mant, exp = f"{n:.1e}".split("e")
    mant = mant.rstrip("0").rstrip(".")
    return f"{mant}e{int(exp)}" if n >= 1000 else str(n)


def _impl(r: dict[str, Any]) -> str:
    """adambench's own row: ``reference`` when the rule has no compiled kernel."""
    return r.get("implementation") or r["impl"]


def _share(fraction: float | None) -> str:
    """The roofline share; "-" where none is claimed (a reference implementation)."""
    return "-" if fraction is None else f"{fraction:.0%}"


def _where(r: dict[str, Any]) -> Any:
    """The thread count of a CPU row; "gpu" for a device row (a device has no thread count)."""
    return "gpu" if r.get("backend") == "cupy" else r["threads"]


def _legend(items: list[dict[str, Any]]) -> str:
    """The marker legend of flagged ``items`` (bench/reliability.py); "" when none is."""
    from ..bench.reliability import LOADED, legend

    flags = {f for r in items for f in r.get("flags") or []}
    if not flags:
        return ""
    once = "L: not re-measured, " if LOADED in flags else ""
    return f"flag: unreliable ({once}others still after one re-measure): {legend(flags)}"


def results_table(rows: list[dict[str, Any]]) -> Grid:
    """One row per implementation; dtype in a column only when the run mixes dtypes.

    Device rows add "copy": GB/s as a fraction of the same-run device-to-device copy.
    A "flag" column (one letter per flag, legend below) appears when a row is unreliable.
    """
    from ..bench.reliability import markers

    mixed = len({r["dtype"] for r in rows}) > 1
    device = any("fraction_of_copy" in r for r in rows)
    flagged = any(r.get("flags") for r in rows)
    out = []
    for r in rows:
        peer = r["impl"] != "adambench"
        iqr = r["iqr_s"] / r["median_s"]
        fc = r.get("fraction_of_copy")
        copy = [Cell(f"{fc:.0%}" if fc is not None else "", fc)] if device else []
        flag = [markers(r.get("flags") or [])] if flagged else []
        dt = [Cell(r["dtype"][5:], r["dtype"])] if mixed else []
        out.append(
            (
                r["optimizer"], Cell(_size(r["size"]), r["size"]), *dt, _where(r),
                Cell(r["impl"] if peer else f"[bold]{_impl(r)}[/]", _impl(r)),
                Cell(f"{_time(r['median_s'])} ±{iqr:.0%}", (r["median_s"], r["iqr_s"])),
                num(r["ns_per_param"], 3), num(r["gbps"], 3),
                Cell(_share(r["fraction_of_roofline"]), r["fraction_of_roofline"]), *copy,
                Cell(f"{r['ratio_to_adambench']:.2f}x", r["ratio_to_adambench"])
                if peer else Cell("", None), *flag,
            )
        )  # fmt: skip
    cols = [Col("optimizer"), Col("size", "number")]
    cols += [Col("dtype", "number")] * mixed
    cols += [
        Col("thr", "number"),
        Col("impl"),
        Col("time (IQR)", "number", short="time", csv=("median_s", "iqr_s")),
        Col("ns/p", "number", 2),
        Col("GB/s", "number", 3),
        Col("roof", "number", 4),
    ]
    cols += [Col("copy", "number", 3)] * device + [Col("vs us", "number", 1)]
    cols += [Col("flag")] * flagged  # never dropped: it says which rows to distrust
    dtypes = ", ".join(sorted({r["dtype"] for r in rows}))
    title = (
        f"Update step, {dtypes}: median of repeats (IQR as % of it); GB/s from the bytes the "
        "rule must move; roof = fraction of the same-run access-pattern roofline; "
        + ("copy = fraction of the same-run device-to-device copy bandwidth; " if device else "")
        + "vs us = time / adambench's"
    )
    notes = [_legend(rows)] if flagged else []
    return Grid(title, cols, out, name="update", notes=notes)


def _list_name(r: dict[str, Any]) -> str:
    """``gpt2-124m``, or ``1000x1024`` for a grid point."""
    return f"{r['tensors']}x{r['numel_per_tensor']}" if r["shapes"] == "grid" else r["shapes"]


def list_table(rows: list[dict[str, Any]]) -> Grid:
    """Parameter-list rows: one ``step`` over every tensor; ``list`` = the list's time over
    the flat array's of the same total size and layout (same repeats)."""
    from ..bench.reliability import markers

    flagged = any(r.get("flags") for r in rows)
    out = []
    for r in rows:
        peer = r["impl"] not in ("adambench", "adambench-flat")
        iqr = r["iqr_s"] / r["median_s"]
        lo = r.get("list_overhead")
        out.append(
            (
                r["optimizer"], _list_name(r), Cell(_size(r["size"]), r["size"]), r["dtype"],
                _where(r), Cell(r["impl"] if r["impl"] != "adambench" else f"[bold]{_impl(r)}[/]",
                _impl(r)), Cell(f"{_time(r['median_s'])} ±{iqr:.0%}", (r["median_s"], r["iqr_s"])),
                num(r["ns_per_param"], 3), num(r["gbps"], 3),
                Cell(_share(r["fraction_of_roofline"]), r["fraction_of_roofline"]),
                Cell("" if lo is None else f"{lo:.2f}x", lo),
                Cell(f"{r['ratio_to_adambench']:.2f}x", r["ratio_to_adambench"])
                if peer else Cell("", None), *([markers(r.get("flags") or [])] if flagged else []),
            )
        )  # fmt: skip
    cols = [
        Col("optimizer"), Col("list"), Col("size", "number"), Col("dtype"), Col("thr", "number"),
        Col("impl"), Col("time (IQR)", "number", short="time", csv=("median_s", "iqr_s")),
        Col("ns/p", "number", 2), Col("GB/s", "number", 3), Col("roof", "number", 4),
        Col("list/flat", "number", 1, short="list"), Col("vs us", "number", 1),
    ] + [Col("flag")] * flagged  # fmt: skip
    title = (
        "Parameter lists, one step over every tensor: median of repeats (IQR as % of it); "
        "roof = fraction of the same-run roofline of a flat array of the same size and "
        "layout; list/flat = list overhead (time over that flat array's); vs us = time / "
        "adambench's"
    )
    return Grid(title, cols, out, name="lists", notes=[_legend(rows)] if flagged else [])


def roofline_table(records: list[dict[str, Any]], refs: list[dict[str, Any]]) -> Grid:
    from ..bench.reliability import markers

    ref = {(r["size"], r["dtype"], r["threads"]): r for r in refs}
    seen, out = set(), []
    shown = []
    for r in records:
        key = (r["size"], r["dtype"], r["threads"], r["pattern"])
        if key in seen:
            continue
        seen.add(key)
        c = ref.get(key[:3], {})
        flags = list(dict.fromkeys([*(r.get("flags") or []), *(c.get("flags") or [])]))
        shown.append({"flags": flags})
        out.append(
            (
                Cell(_size(r["size"]), r["size"]), r["dtype"], "gpu" if r.get("clock") ==
                "cuda-event" else r["threads"], r["pattern"], num(r["gbps"], 3),
                num(c.get("copy_gbps"), 3), num(c.get("triad_gbps"), 3), markers(flags),
            )
        )  # fmt: skip
    cols = [
        Col("size", "number"), Col("dtype"), Col("thr", "number"), Col("pattern"),
        Col("GB/s", "number"), Col("copy GB/s", "number", 2, short="copy"),
        Col("triad GB/s", "number", 1, short="triad"), Col("flag"),
    ]  # fmt: skip
    notes = [_legend(shown)]
    if not any(s["flags"] for s in shown):
        cols, out, notes = cols[:-1], [o[:-1] for o in out], []
    return Grid("Rooflines (best of repeats)", cols, out, name="rooflines", notes=notes)


Optimizers = vocab.optimizers_option(
    "Optimizers to time (default: all), comma-separated and/or repeated: NAME, or "
    "NAME:key=value with hyperparameters; a further key=value item belongs to the optimizer "
    "before it (e.g. adam,sgd:momentum=0.9,nesterov=true,adagrad)."
)


def bench_command(
    optimizers: Optimizers = None,
    backend: Annotated[
        str,
        typer.Option(
            help="numpy (numba CPU kernels) | cupy (CUDA kernels, CUDA-event timing, torch.optim "
            "on CUDA) | auto (cupy when a CUDA device is usable)."
        ),
    ] = "numpy",
    sizes: Annotated[
        str | None,
        typer.Option(
            help="Parameter counts, comma-separated (default 1e4,1e5,1e6,1e7 and 1e8 when "
            "memory allows; --quick: 1e7). A size beyond memory is refused."
        ),
    ] = None,
    dtype: Annotated[
        str,
        typer.Option(
            help="Dtype layouts, comma-separated: float32, float64, bfloat16 or float16 (16-bit "
            "p and g, float32 state), mixed (bfloat16 p and g, float32 state and master)."
        ),
    ] = "float32",
    shapes: Annotated[
        str | None,
        typer.Option(
            help="Time parameter lists of real models instead of flat sizes: "
            "gpt2-124m, resnet50, bert-base, llama-7b-layer (comma-separated) or all."
        ),
    ] = None,
    tensors: Annotated[
        str | None,
        typer.Option(
            help="Parameter-list grid: tensor counts, comma-separated (e.g. 100,500,1000); "
            "needs --numel."
        ),
    ] = None,
    numel: Annotated[
        str | None,
        typer.Option(
            help="Parameter-list grid: elements per tensor, comma-separated "
            "(e.g. 1024,65536,1048576); needs --tensors."
        ),
    ] = None,
    threads: Annotated[
        str | None,
        typer.Option(
            help="Thread counts, comma-separated, 'all' = every core (default 1,all; --quick: 1)."
        ),
    ] = None,
    repeats: Annotated[
        int | None,
        typer.Option(
            help="Timed repeats per row, >= 5 (the fewest with which the gate's test can "
            "reach p < 0.01; default 20; --quick: 25)."
        ),
    ] = None,
    budget: Annotated[
        float,
        typer.Option(
            help="Seconds per group (one optimizer, size, dtype, threads) that cap the "
            "repeats, never below 5; > 0."
        ),
    ] = 4.0,
    peers: Annotated[
        bool | None,
        typer.Option(
            "--peers/--no-peers",
            help="Time textbook NumPy and torch.optim beside adambench "
            "(default on; off with --quick).",
        ),
    ] = None,
    quick: Annotated[
        bool, typer.Option(help="The CI gate: size 1e7, one thread, 25 repeats, no peers.")
    ] = False,
    seed: Annotated[int, typer.Option(help="Seed of the random arrays.")] = 0,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print the results document on stdout.")
    ] = False,
    table_format: Format = "text",
    out: Annotated[
        Path,
        typer.Option(
            help="Folder for the results file, a new bench-<UTC time>-<id>.json each time "
            "(never replacing one); checked before any work."
        ),
    ] = DEFAULT_OUT,
    save_baseline: Annotated[
        Path | None,
        typer.Option(
            help="Also write these results to this file (replaced): a baseline for --compare."
        ),
    ] = None,
    compare: Annotated[
        Path | None,
        typer.Option(help="Baseline to gate against: exit 1 on a confirmed regression."),
    ] = None,
    threshold: Annotated[
        float, typer.Option(help="--compare: minimum slowdown that counts, in (0, 1).")
    ] = 0.10,
    alpha: Annotated[
        float, typer.Option(help="--compare: Mann-Whitney significance level, in (0, 1).")
    ] = 0.01,
    metric: Annotated[
        str, typer.Option(help="--compare: normalisation, roofline or textbook.")
    ] = "roofline",
    markdown: Annotated[
        Path | None, typer.Option(help="--compare: also write a Markdown summary here.")
    ] = None,
    report: vocab.ResultsReport = False,
    dry_run: DryRun = False,
) -> None:
    """Time update kernels against the memory roofline, beside NumPy and torch.optim."""
    from ..bench import config as bc
    from ..bench.compare import METRICS, check_threshold
    from ..bench.gate import check_overlap
    from ..bench.run import lists_supported
    from ..bench.timing import max_threads

    available_memory = machine.available_memory  # or the device's (below)
    try:
        form = output_format(table_format, as_json)
        backend = bc.check_backend(backend)  # auto -> numpy | cupy
        cases = bc.parse_cases(optimizers)
        from ..core.registry import get_rule, note_references, require_backend

        for c in cases:  # a rule without a compiled kernel: its reference, NumPy only
            require_backend(get_rule(c.name), backend)
        lists = bc.parse_lists(shapes, tensors, numel)
        if lists and (quick or compare is not None):
            flag = "--quick" if quick else "--compare"
            raise ValueError(f"{flag} times flat arrays; leave out --shapes/--tensors")
        if lists and not lists_supported(backend):
            raise ValueError(f"--backend {backend} does not time parameter lists yet")
        default = () if lists else bc.QUICK_SIZES if quick else bc.DEFAULT_SIZES
        size_list = bc.parse_sizes(sizes, default)
        dtypes = bc.parse_dtypes(dtype)
        thread_list = bc.parse_threads(threads or ("1" if quick else "1,all"), max_threads())
        if backend == "cupy":  # a device has no thread count; its memory is the limit
            from ..bench.cuda import device_free_memory as available_memory

            thread_list = [1]
        n_repeats = repeats if repeats is not None else (bc.QUICK_REPEATS if quick else 20)
        if n_repeats < 5:
            raise ValueError(f"repeats must be >= 5, got {n_repeats}")
        if not budget > 0:
            raise ValueError(f"budget must be > 0 seconds, got {budget}")
        if metric not in METRICS:
            raise ValueError(f"metric must be one of {', '.join(METRICS)}, got {metric!r}")
        check_threshold(threshold, alpha)
        use_peers = (not quick) if peers is None else peers
        if compare is not None and metric == "textbook" and not use_peers:
            raise ValueError("--metric textbook needs --peers (the textbook step is a peer)")
        config = bc.BenchConfig(
            cases, size_list, dtypes, thread_list, n_repeats, backend,
            textbook=use_peers, torch=use_peers, budget_s=budget, seed=seed, quick=quick,
            lists=lists,
        )  # fmt: skip
        free = available_memory()
        config.sizes = bc.check_memory(config, sizes is not None, free)
        bc.check_list_memory(config, free)
        baseline = None
        if compare is not None:
            baseline = read_json(compare, command="bench")
            check_overlap(baseline, config, str(compare))
        elif markdown is not None:
            raise ValueError("--markdown needs --compare BASELINE")
        # Every place written to, before any work: a bad one is exit 2, nothing timed.
        prepare_out(out)
        if save_baseline is not None:
            prepare_file(save_baseline, "--save-baseline")
        if markdown is not None:
            prepare_file(markdown, "--markdown")
    except ValueError as e:
        fail(str(e))
    if dry_run:  # validated above; the plan and its cost, nothing timed or written
        (_dry_run_lists if config.lists else dry.bench)(config, form == "json")
        return
    note_references(dict.fromkeys(c.name for c in cases))
    doc, verdicts = _run(config, baseline, threshold, alpha, metric, quiet=form == "json")
    if form != "json":
        flat = [r for r in doc["rows"] if "shapes" not in r]
        listed = [r for r in doc["rows"] if "shapes" in r]
        grids = [results_table(flat)] if flat else []
        grids += [list_table(listed)] if listed else []
        grids.append(roofline_table(doc["rooflines"], doc["references"]))
        if verdicts is not None and form != "text":  # text: the gate prints its own table
            grids.append(verdict_table(verdicts, threshold, alpha))
        emit(form, grids, multi=True)
        for note in config.notes:
            err_console.print(f"note: {note}")
    code = 0
    if verdicts is not None:
        code = gate_report(verdicts, threshold, alpha, None, quiet=form == "json", form=form)
    # The results first, then what is derived from them (baseline copy, Markdown, report).
    path = opts.save_results("bench", doc, out)
    if save_baseline is not None:
        opts.save_file(save_baseline, "bench", doc)
    if markdown is not None and verdicts is not None:
        write_markdown(markdown, verdicts, threshold, alpha, results=path)
    if report:
        opts.save_report(doc, path)
    err_console.print(f"results: {path}", markup=False, highlight=False, soft_wrap=True)
    if form == "json":
        emit(form, [], doc)
    raise typer.Exit(code)


def _dry_run_lists(config: Any, as_json: bool) -> None:
    """``--dry-run`` with parameter lists: dry_run.bench's plan, the lists' groups added."""
    from ..bench.config import ListSpec, bytes_needed
    from ..bench.run import list_plan, plan
    from ..sweep import costs

    groups = [*plan(config), *list_plan(config)]
    peak = max(
        bytes_needed(c, d, config.textbook, config.torch, isinstance(w, ListSpec))
        * (w.size if isinstance(w, ListSpec) else w)
        for c, w, d, _ in groups
    )
    labels = [s.shapes if s.shapes != "grid" else f"{s.tensors}x{s.numel_per_tensor}"
              for s in config.lists]  # fmt: skip
    seconds = costs.COSTS["kernel_load_seconds"] + len(groups) * config.budget_s
    doc = {
        "optimizers": [c.label for c in config.cases], "sizes": config.sizes,
        "lists": [s.to_dict() for s in config.lists], "dtypes": config.dtypes,
        "threads": config.threads, "repeats": config.repeats, "budget_s": config.budget_s,
        "backend": config.backend, "peers": bool(config.torch), "groups": len(groups),
        "estimate": {"seconds": seconds, "peak_bytes": int(peak), "covers": "an upper "
                     f"bound: each of the {len(groups)} group(s) times for at most --budget "
                     f"{config.budget_s:g} s (never fewer than 5 repeats), plus the kernels' load"},
    }  # fmt: skip
    sizes = f" and {len(config.sizes)} size(s)" if config.sizes else ""
    lines = [
        f"bench plan: {len(config.cases)} optimizer(s) x {len(labels)} parameter list(s) "
        f"({', '.join(labels)}){sizes} x {len(config.dtypes)} dtype(s) "
        f"({', '.join(config.dtypes)}) x {len(config.threads)} thread count(s) "
        f"({', '.join(map(str, config.threads))}) = {len(groups)} group(s), {config.repeats} "
        f"repeats each, peers {'on' if config.torch else 'off'}, backend {config.backend}"
    ]
    dry.show("bench", doc, lines + [f"note: {n}" for n in config.notes], as_json)


def _run(
    config: Any, baseline: Any, threshold: float, alpha: float, metric: str, quiet: bool
) -> tuple[dict[str, Any], Any]:
    from ..bench.gate import bench_document, gate
    from ..bench.run import units_of_work

    with progress() as bar:
        task = bar.add_task("bench", total=units_of_work(config))
        doc = bench_document(config, lambda d: bar.update(task, advance=1, description=d))
    if baseline is None:
        return doc, None

    def said(n: int) -> None:
        if not quiet:
            err_console.print(f"re-measuring {n} row(s) once before deciding")

    try:
        verdicts = gate(config, doc, baseline, threshold, alpha, metric, on_remeasure=said)
    except ValueError as e:
        fail(str(e))
    return doc, verdicts
