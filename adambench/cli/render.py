"""Terminal output shared by every command: consoles, tables, progress, errors.

Rich decides colour from the terminal (none when piped, none with NO_COLOR); progress
bars go to stderr so that ``--json`` output on stdout stays machine-readable, and only
to a terminal (piped, Rich would print nothing but a blank line at their end).

User values (paths, names, messages) print literally: the consoles replace no emoji
codes (``:x:`` stays ``:x:``), and a string is read as Rich markup only when it closes a
tag (``[dim]...[/]``) or escapes one (``rich.markup.escape``): ``results: /tmp/[red]/x``
prints as written.  Table titles and progress descriptions are always literal.

Tables are ``Grid``s, laid out for the console's width (``layout.py``) or printed for
machines with ``--format csv|md|json`` (``formats.py``); ``emit`` prints a command's
tables in the chosen format, with notes on stderr when not text.  Piped output has no
trailing spaces.  Every name a command uses is importable from here.
"""

from __future__ import annotations

import io
from collections.abc import Iterable, Sequence
from typing import Any

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

from .formats import FORMATS, PLOT_FORMATS, Format, output_format, print_json, write_csv, write_md
from .layout import Cell, Col, Grid, Kind, fmt, has_markup, needed_width, num, plain, render_grid

__all__ = [
    "FORMATS",
    "PLOT_FORMATS",
    "Cell",
    "Col",
    "Format",
    "Grid",
    "Kind",
    "LiteralConsole",
    "console",
    "emit",
    "err_console",
    "fail",
    "fmt",
    "has_markup",
    "needed_width",
    "num",
    "output_format",
    "plain",
    "print_grids",
    "print_json",
    "progress",
    "render_grid",
    "say",
    "table",
    "write_csv",
    "write_md",
]


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
