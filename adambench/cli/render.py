"""Terminal output shared by every command: consoles, tables, progress, errors.

Rich decides colour from the terminal (none when piped, none with NO_COLOR); progress
bars go to stderr so that ``--json`` output on stdout stays machine-readable, and only
to a terminal (piped, Rich would print nothing but a blank line at their end).

User values (paths, names, messages) print literally: the consoles replace no emoji
codes (``:x:`` stays ``:x:``), and a string is read as Rich markup only when it closes a
tag (``[dim]...[/]``) or escapes one (``rich.markup.escape``): ``results: /tmp/[red]/x``
prints as written.  Table titles and progress descriptions are always literal.

Tables (``Grid``) are data first, text second: every column declares a kind and a
priority (``Col``).  A number or a name is never broken across lines: such a column is
as wide as its longest cell.  When a table does not fit the width (80 columns when
piped), it shortens labels that have a short form, then moves long free text (legend
columns: verdicts, hyperparameter points) to a numbered legend under the table, then
drops the lowest-priority columns and says which in a line under the table.  Free text
wraps at spaces only.  Piped output has no trailing spaces.  ``--format csv|md|json``
(``Format``, ``emit``) prints the same tables for machines: full-precision values, one
CSV header, nothing but the tables on stdout (notes go to stderr).
"""

from __future__ import annotations

import io
import json
import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Annotated, Any, Literal

import typer
from rich import box
from rich.cells import cell_len
from rich.console import Console
from rich.markup import escape
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.table import Table
from rich.text import Text

from ..results import to_jsonable


def has_markup(text: str) -> bool:
    """Whether ``text`` is meant as Rich markup: it closes a tag or escapes a bracket."""
    return "[/" in text or "\\[" in text


class LiteralConsole(Console):
    """A Console that reads markup only in strings that have some (``has_markup``) and
    replaces no emoji codes."""

    def __init__(self, *args: Any, emoji: bool = False, **kwargs: Any):
        super().__init__(*args, emoji=emoji, **kwargs)

    def render_str(self, text: str, *, markup: bool | None = None, **kwargs: Any) -> Text:
        if markup is None:
            markup = self._markup
        return super().render_str(text, markup=bool(markup) and has_markup(text), **kwargs)


console = LiteralConsole()
err_console = LiteralConsole(stderr=True)


def fail(message: str, code: int = 2) -> None:
    """Print one line ``error: message`` to stderr and exit with ``code``."""
    text = escape(" ".join(message.split()))
    err_console.print(f"[bold red]error:[/] {text}", highlight=False, soft_wrap=True)
    raise SystemExit(code)


# --- tables: data first (Grid), laid out for a width, or printed for machines ---------

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

Kind = Literal["number", "name", "text"]


@dataclass(frozen=True)
class Col:
    """A column: ``kind`` number / name (never wrapped) or text (wraps at spaces);
    ``priority`` None = always shown, else dropped lowest first (the rightmost of equals
    first) when the table does not fit; ``short`` a standard short label used when it does
    not; ``legend`` (text) moves the cells to a numbered legend under the table rather than
    wrap them; ``csv`` the machine column names when the cells' values are tuples."""

    label: str
    kind: Kind = "name"
    priority: int | None = None
    short: str | None = None
    legend: bool = False
    csv: tuple[str, ...] = ()


@dataclass(frozen=True)
class Cell:
    """What a table shows (``text``, may hold markup) and what a machine reads
    (``value``: a full-precision number, a tuple for a ``Col.csv`` column; None = text)."""

    text: str
    value: Any = None


def num(x: float | None, digits: int = 4) -> Cell:
    """A number shown with ``fmt`` and kept at full precision for csv/json."""
    return Cell(fmt(x, digits), x)


@dataclass
class Grid:
    """One table: ``name`` is its value in the leading ``table`` column of a multi-table
    CSV (default: the title); ``notes`` print under it (stderr in csv/md)."""

    title: str
    cols: Sequence[Col]
    rows: Sequence[Sequence[Any]]
    name: str = ""
    notes: Sequence[str] = field(default_factory=tuple)

    def __post_init__(self) -> None:
        n = len(self.cols)
        if any(len(r) != n for r in self.rows):
            raise ValueError(f"table {self.title!r}: every row needs {n} cells")

    def __rich_console__(self, console: Console, options: Any) -> Any:
        """Printed by any Rich console: laid out for its width (``render_grid``)."""
        yield from render_grid(self, options.max_width)


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


def plain(text: Any) -> str:
    """A cell's text without markup."""
    s = "" if text is None else str(text)
    return Text.from_markup(s).plain if has_markup(s) else s


def _text(cell: Any) -> str:
    return cell.text if isinstance(cell, Cell) else ("" if cell is None else str(cell))


def _value(cell: Any) -> Any:
    if isinstance(cell, Cell):
        return plain(cell.text) if cell.value is None else cell.value
    if cell is None or isinstance(cell, (bool, int, float)):
        return cell
    return plain(cell)


def _lines(s: str) -> list[str]:
    return plain(s).split("\n")


def _width(s: str) -> int:
    return max(cell_len(line) for line in _lines(s))


def _word(s: str) -> int:
    return max((cell_len(w) for w in plain(s).split()), default=0)


@dataclass
class _Layout:
    cols: list[int]  # indices shown
    short: bool
    legend: set[int]  # legend columns moved to the legend


def _shown_label(c: Col, short: bool) -> str:
    return (c.short or c.label) if short else c.label


def _need(grid: Grid, lay: _Layout, natural_legend: bool) -> int:
    """The fewest columns of text ``lay`` needs (text columns at their longest word;
    legend columns at their longest cell unless moved to the legend)."""
    total = 2 * (len(lay.cols) - 1)
    for i in lay.cols:
        c = grid.cols[i]
        head = _shown_label(c, lay.short)
        cells = [_text(r[i]) for r in grid.rows]
        if i in lay.legend:
            total += max(cell_len(head), 1 + len(str(len(grid.rows))))
        elif c.kind == "text" and not (c.legend and natural_legend):
            total += max([_word(head)] + [_word(s) for s in cells])
        else:
            total += max([cell_len(head)] + [_width(s) for s in cells])
    return total


def _choose(grid: Grid, width: int) -> _Layout:
    every = list(range(len(grid.cols)))
    for short in (False, True):
        lay = _Layout(every, short, set())
        if _need(grid, lay, natural_legend=True) <= width:
            return lay
    legend = [i for i, c in enumerate(grid.cols) if c.kind == "text" and c.legend]
    legend.sort(key=lambda i: -max(_width(_text(r[i])) for r in grid.rows) if grid.rows else 0)
    for i in legend:  # the widest first, until the table fits
        lay.legend.add(i)
        if _need(grid, lay, natural_legend=True) <= width:
            return lay
    droppable = sorted(
        (i for i, c in enumerate(grid.cols) if c.priority is not None),
        key=lambda i: (grid.cols[i].priority, -i),
    )
    while _need(grid, lay, natural_legend=True) > width and droppable:
        gone = droppable.pop(0)
        lay.cols = [i for i in lay.cols if i != gone]
    return lay


def render_grid(grid: Grid, width: int) -> list[Any]:
    """The renderables of ``grid`` at ``width``: title, table, then its notes (columns
    not shown, the legend, ``grid.notes``)."""
    lay = _choose(grid, width)
    t = Table(
        box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False, collapse_padding=True,
        padding=(0, 1), header_style="bold",
    )  # fmt: skip
    legends: list[tuple[str, dict[str, str]]] = []
    marks: list[str] = []
    body = [[_text(r[i]) for i in lay.cols] for r in grid.rows]
    specs = []  # (label, kind shown, natural width, least width)
    for j, i in enumerate(lay.cols):
        c = grid.cols[i]
        head = _shown_label(c, lay.short)
        if i in lay.legend:
            keys: dict[str, str] = {}
            mark = c.label[:1].lower()
            while any(m == mark for m in marks):  # two legends: "p1" and "po1"
                mark = c.label[: len(mark) + 1].lower()
            marks.append(mark)
            for row in body:
                row[j] = keys.setdefault(row[j], f"{mark}{len(keys) + 1}")
            legends.append((head, keys))
        cells = [row[j] for row in body]
        natural = max([cell_len(head)] + [_width(s) for s in cells])
        if c.kind == "text" and i not in lay.legend:
            specs.append((head, "text", natural, max([_word(head)] + [_word(s) for s in cells])))
        else:
            specs.append((head, c.kind, natural, natural))
    widths = [n for _, _, n, _ in specs]
    room = width - 2 * (len(specs) - 1)
    while sum(widths) > room:  # narrow free text in proportion (it wraps at spaces)
        slack = [k for k, sp in enumerate(specs) if widths[k] > sp[3]]
        if not slack:
            break
        k = max(slack, key=lambda k: (widths[k] / specs[k][2], widths[k]))
        widths[k] -= 1
    for (head, kind, _, _), w in zip(specs, widths, strict=True):
        if kind == "text":
            t.add_column(Text(head), overflow="fold", width=w)
        else:
            justify = "right" if kind == "number" else "left"
            t.add_column(Text(head), justify=justify, no_wrap=True, width=w)
    for row in body:
        t.add_row(*row)
    out: list[Any] = [Text(grid.title, style="bold")] if grid.title else []
    out.append(t)
    hidden = [grid.cols[i] for i in range(len(grid.cols)) if i not in lay.cols]
    if hidden:
        names = ", ".join(c.label for c in hidden)
        out.append(
            Text(
                f"not shown at {width} columns: {names}; use --format csv or a wider terminal",
                style="dim",
            )
        )
    for head, keys in legends:
        legend = Table.grid(padding=(0, 1))
        legend.add_column(no_wrap=True)
        legend.add_column(overflow="fold")
        for text, k in keys.items():
            legend.add_row(Text(k), Text(f"{head}: {plain(text)}"))
        out.append(legend)
    out += [n for n in grid.notes]
    return out


def needed_width(grid: Grid, width: int) -> int:
    """``width``, or more where even the table's fixed columns need more: it then prints
    wider than the width, its values whole (the terminal wraps the lines)."""
    lay = _choose(grid, width)
    return max(width, _need(grid, lay, natural_legend=False))


def print_grids(grids: Sequence[Grid], notes: Sequence[str] = ()) -> None:
    """The tables and notes as text on stdout, laid out for the console's width."""
    width = console.width
    for k, g in enumerate(grids):
        if k:
            say("")
        say(*render_grid(g, width), width=needed_width(g, width))
    say(*notes)


def say(*items: Any, width: int | None = None) -> None:
    """Print ``items`` (strings: literal unless ``has_markup``) on stdout; piped, each
    line without trailing spaces.  ``width`` above the console's: a table that cannot
    fit even with its optional columns dropped prints wider, never broken."""
    if not items:
        return
    w = max(width or 0, console.width)
    buf = io.StringIO()
    tmp = LiteralConsole(
        file=buf, width=w, force_terminal=console.is_terminal, no_color=console.no_color,
        color_system=console.color_system, highlight=False,
    )  # fmt: skip
    for it in items:
        tmp.print(it)
    text = buf.getvalue()
    if not console.is_terminal:
        text = "".join(line.rstrip() + "\n" for line in text.splitlines())
    console.file.write(text)
    console.file.flush()


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


def emit(
    form: str,
    grids: Sequence[Grid],
    doc: Any = None,
    notes: Sequence[str] = (),
    multi: bool | None = None,
) -> None:
    """Print a command's tables in ``form`` (``output_format``): text tables and notes
    on stdout; csv / md the tables only (notes on stderr); json the results ``doc``.
    ``multi``: the command can print several tables (csv's ``table`` column; default:
    it prints more than one now)."""
    if form == "json":
        print_json(doc)
        return
    if form == "text":
        print_grids(grids, notes)
        return
    if form == "csv":
        write_csv(grids, len(grids) > 1 if multi is None else multi)
    else:
        write_md(grids)
    for n in [n for g in grids for n in g.notes] + list(notes):
        err_console.print(n, highlight=False, soft_wrap=True)


def table(
    title: str, columns: Sequence[str], rows: Iterable[Sequence[Any]], right: Sequence[str] = ()
) -> Table:
    """A plain Rich table (prefer ``Grid``); columns named in ``right`` are numbers,
    never wrapped; the others wrap at spaces and fold only a word longer than the width."""
    t = Table(title=Text(title), title_justify="left", header_style="bold")
    for c in columns:
        if c in right:
            t.add_column(c, justify="right", no_wrap=True)
        else:
            t.add_column(c, overflow="fold")
    for r in rows:
        t.add_row(*(str(x) for x in r))
    return t


def progress() -> Progress:
    """A progress bar on stderr with count, elapsed and remaining time (a terminal only)."""
    return Progress(
        TextColumn("{task.description}", style="progress.description", markup=False),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TextColumn("eta"),
        TimeRemainingColumn(),
        console=err_console,
        transient=True,
        disable=not err_console.is_terminal,
    )


def print_json(doc: Any) -> None:
    """Machine output: plain JSON on stdout, nothing else."""
    sys.stdout.write(json.dumps(to_jsonable(doc), indent=1) + "\n")
    sys.stdout.flush()


def fmt(x: float | None, digits: int = 4) -> str:
    """A number in a table cell: general format, '-' for missing."""
    if x is None:
        return "-"
    return f"{x:.{digits}g}"
