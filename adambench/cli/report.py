"""``adambench report RESULTS...``: plots, a Markdown file and a self-contained HTML file.

Reads results files (regret, bench, run, ablate: several files of one command overlaid,
a series per file, ``--labels``) and sweeps' results folders, and writes
``report.html`` (plots embedded, no external links), ``report.md`` and the plots (PNG
and/or SVG) into ``--out`` (default a new ``reports/<command>-<UTC time>-<id>/``).
Malformed results, or a report folder that cannot be written: one-line error, exit 2,
nothing written.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from ..report import report_for
from ..report.build import build, check_out, default_out, load, parse_formats
from ..report.figures import DPI
from ..report.overlay import labels as source_labels
from ..report.overlay import parse_labels
from ..results import check_writable
from .render import Col, Format, Grid, emit, err_console, fail, output_format, progress


def report_command(
    results: Annotated[
        list[Path],
        typer.Argument(
            help="Results files (JSON) of regret, bench, run or ablate, and sweep results "
            "folders (or their manifest.json). Files of one command are overlaid in one "
            "section, a series per file; other commands and sweeps get sections of their own."
        ),
    ],
    out: Annotated[
        Path | None,
        typer.Option(
            "--out",
            help="Report folder (default reports/<command>-<UTC time>-<id>/, a new one); a "
            "previous report there is replaced, a folder with other files is refused.",
        ),
    ] = None,
    formats: Annotated[
        str,
        typer.Option(
            "--plot-format",
            help="Plot files: png, svg or both, comma-separated; the first is the one "
            "embedded in the HTML and shown in the Markdown.",
        ),
    ] = "png,svg",
    dpi: Annotated[
        int, typer.Option(help="PNG resolution, dots per inch, in [20, 600] (150: 1260 px wide).")
    ] = DPI,
    labels: Annotated[
        str | None,
        typer.Option(
            "--labels",
            metavar="<label,...>",
            help="Series labels of overlaid files, one per RESULTS in order (default: each "
            "file's stem, with its folder where two share a name).",
        ),
    ] = None,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print what was written (folder, files, plots) as JSON.")
    ] = False,
    table_format: Format = "text",
) -> None:
    """Turn results files into a report: plots, Markdown and self-contained HTML."""
    try:
        form = output_format(table_format, as_json, plot_option="--plot-format")
        try:
            fmts = parse_formats(formats)
        except ValueError as e:  # report/build.py names the option --format
            raise ValueError(str(e).replace("--format", "--plot-format", 1)) from None
        if not 20 <= dpi <= 600:
            raise ValueError(f"--dpi must be in [20, 600], got {dpi}")
        command, sources = load(results)
        series = source_labels([s.path or s.name for s in sources], parse_labels(labels))
        dest = out if out is not None else default_out(command)
        # Before any plot is drawn: a report folder that cannot be written is exit 2.
        check_out(dest)
        check_writable(dest.parent, f"--out {dest}")
    except ValueError as e:
        fail(str(e))
    with progress() as bar:
        task = bar.add_task("plots", total=None)
        try:
            written = build(
                sources,
                dest,
                fmts,
                dpi,
                on_step=lambda name: bar.update(task, advance=1, description=name),
                labels=series,
            )
        except ValueError as e:
            fail(str(e))
    rows = [
        (f, "plot" if f.rsplit(".", 1)[0] in written.plots else "report") for f in written.files
    ]
    title = f"Report of {written.command} results in {written.out}"
    emit(form, [Grid(title, [Col("file"), Col("kind")], rows, name="files")], written.to_dict())
    err_console.print(f"open: {Path(written.out) / 'report.html'}")


def attach_report(doc: dict, name: str, out: Path | None = None) -> Path:
    """Build the report of a document a command has just made (its ``--report`` flag).

    ``name`` is shown as the report's source (the results file name); ``out`` defaults to
    ``reports/<command>-<UTC time>-<id>/`` (the commands pass the folder beside their
    results file, ``training_options.report_folder``).  The path of ``report.html`` goes
    to stderr, so ``--json`` output on stdout stays clean.  A failure here is exit 1: the document
    comes from the command itself, not from the user.
    """
    try:
        with progress() as bar:
            task = bar.add_task("report", total=None)
            written = report_for(doc, out, name=name, on_step=lambda s: bar.update(task, advance=1))
    except ValueError as e:
        fail(f"report: {e}", code=1)
    path = Path(written.out) / "report.html"
    err_console.print(f"report: {path}")
    return path
