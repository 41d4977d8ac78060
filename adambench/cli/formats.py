"""Tables for machines: ``--format csv|md|json`` prints the tables a command shows.

A machine reads what a person sees, at full precision: every value as the cell holds it
(``Cell.value``, a float as the shortest string that reads back the same), one CSV
header, nothing but the tables on stdout (the caller sends notes to stderr), and JSON
the results document itself, JSON-safe (``results.to_jsonable``).
"""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from typing import Annotated, Any

import typer

from ..results import to_jsonable
from .layout import Grid, _text, _value, plain

FORMATS = ("text", "csv", "md", "json")
PLOT_FORMATS = ("png", "svg")
Format = Annotated[
    str,
    typer.Option(
        "--format",
        metavar="<text|csv|md|json>",
        help="Table output on stdout: text (for people) | csv (one header; several tables "
        "in one CSV with a leading 'table' column) | md (a GitHub table per table) | json "
        "(the results document, = --json). Not text: only the tables on stdout, notes on "
        "stderr.",
    ),
]


def output_format(value: str, as_json: bool = False, plot_option: str | None = None) -> str:
    """The table format of ``--format`` (``--json`` = json); ValueError naming the option.

    ``plot_option``: the command's option for plot files (report's ``--plot-format``),
    named when a plot format is given to ``--format``."""
    v = value.strip().lower()
    if plot_option and (v in PLOT_FORMATS or "," in v):
        raise ValueError(
            f"--format {value} is a plot format: use {plot_option} {value} "
            f"(--format is the table format: {' | '.join(FORMATS)})"
        )
    if v not in FORMATS:
        raise ValueError(f"--format must be one of {', '.join(FORMATS)}, got {value!r}")
    if as_json and v not in ("text", "json"):
        raise ValueError(f"--json and --format {v} exclude each other (--json = --format json)")
    return "json" if as_json else v


def _header(grid: Grid) -> list[str]:
    names: list[str] = []
    for c in grid.cols:
        names += list(c.csv) if c.csv else [c.label]
    return names


def _record(grid: Grid, row: Sequence[Any]) -> list[Any]:
    out: list[Any] = []
    for c, cell in zip(grid.cols, row, strict=True):
        v = _value(cell)
        if c.csv:
            vs = list(v) if isinstance(v, (tuple, list)) else [v] + [None] * (len(c.csv) - 1)
            out += vs
        else:
            out.append(v)
    return out


def _csv_text(v: Any) -> Any:
    if isinstance(v, float):
        return repr(v)  # the shortest string that reads back as the same float
    return "" if v is None else v


def write_csv(grids: Sequence[Grid], multi: bool) -> None:
    """One CSV on stdout, one header.  ``multi`` (a command that can print several
    tables): a leading ``table`` column names each row's table and the header is the
    union of the tables' columns (a cell of another table's column is empty)."""
    import csv

    header: list[str] = []
    for g in grids:
        header += [h for h in _header(g) if h not in header]
    w = csv.writer(sys.stdout, lineterminator="\n")
    w.writerow((["table"] if multi else []) + header)
    for g in grids:
        names = _header(g)
        for r in g.rows:
            rec = dict(zip(names, _record(g, r), strict=True))
            cells = [_csv_text(rec.get(h)) for h in header]
            w.writerow(([g.name or g.title] if multi else []) + cells)
    sys.stdout.flush()


def _md_cell(s: str) -> str:
    return plain(s).replace("|", "\\|").replace("\n", "<br>")


def write_md(grids: Sequence[Grid]) -> None:
    """A GitHub Markdown table per table, its title as a heading."""
    parts = []
    for g in grids:
        lines = [f"## {g.title}", ""] if g.title else []
        lines.append("| " + " | ".join(_md_cell(c.label) for c in g.cols) + " |")
        lines.append("|" + "|".join("---:" if c.kind == "number" else "---" for c in g.cols) + "|")
        lines += ["| " + " | ".join(_md_cell(_text(x)) for x in r) + " |" for r in g.rows]
        parts.append("\n".join(lines) + "\n")
    sys.stdout.write("\n".join(parts))
    sys.stdout.flush()


def print_json(doc: Any) -> None:
    """Machine output: plain JSON on stdout, nothing else."""
    sys.stdout.write(json.dumps(to_jsonable(doc), indent=1) + "\n")
    sys.stdout.flush()
