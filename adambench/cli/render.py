"""Terminal output shared by every command: consoles, tables, progress, errors.

Rich decides colour from the terminal (none when piped, none with NO_COLOR); progress
bars go to stderr so that ``--json`` output on stdout stays machine-readable, and only
to a terminal (piped, Rich would print nothing but a blank line at their end).

User values (paths, names, messages) print literally: the consoles replace no emoji
codes (``:x:`` stays ``:x:``), and a string is read as Rich markup only when it closes a
tag (``[dim]...[/]``) or escapes one (``rich.markup.escape``): ``results: /tmp/[red]/x``
prints as written.  Table titles and progress descriptions are always literal.
"""

from __future__ import annotations

import json
import sys
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


def table(
    title: str, columns: Sequence[str], rows: Iterable[Sequence[Any]], right: Sequence[str] = ()
) -> Table:
    """A Rich table; columns named in ``right`` are right-aligned (numbers).

    On a narrow terminal cells wrap rather than end in an ellipsis: a number is never cut.
    """
    t = Table(title=Text(title), title_justify="left", header_style="bold")
    for c in columns:
        t.add_column(c, justify="right" if c in right else "left", overflow="fold")
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
