"""``adambench report RESULTS...``: plots, a Markdown file and a self-contained HTML file.

Reads results files of one command (regret, bench, run, ablate) and writes
``report.html`` (plots embedded, no external links), ``report.md`` and the plots (PNG
and/or SVG) into ``--out`` (default a new ``reports/<command>-<UTC time>-<id>/``).
Malformed or mixed results, or a report folder that cannot be written: one-line error,
exit 2, nothing written.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from ..report import report_for
from ..report.build import build, check_out, default_out, parse_formats
from ..report.load import load
from ..results import check_writable
from .render import console, err_console, fail, print_json, progress, table


def report_command(
    results: Annotated[
        list[Path],
        typer.Argument(
            help="Results files (JSON) written by one command: regret, bench, run or ablate."
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
            "--format",
            help="Plot files: png, svg or both, comma-separated; the first is the one "
            "embedded in the HTML and shown in the Markdown.",
        ),
    ] = "png,svg",
    dpi: Annotated[int, typer.Option(help="PNG resolution, dots per inch, in [20, 600].")] = 100,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print what was written (folder, files, plots) as JSON.")
    ] = False,
) -> None:
    """Turn results files into a report: plots, Markdown and self-contained HTML."""
    try:
        fmts = parse_formats(formats)
        if not 20 <= dpi <= 600:
            raise ValueError(f"--dpi must be in [20, 600], got {dpi}")
        command, sources = load(results)
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
            )
        except ValueError as e:
            fail(str(e))
    if as_json:
        print_json(written.to_dict())
        return
    rows = [
        (f, "plot" if f.rsplit(".", 1)[0] in written.plots else "report") for f in written.files
    ]
    console.print(
        table(f"Report of {written.command} results in {written.out}", ["file", "kind"], rows)
    )
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
