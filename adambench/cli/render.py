"""Terminal output shared by every command: consoles, tables, progress, errors.

Rich decides colour from the terminal (none when piped, none with NO_COLOR); progress
bars go to stderr so that ``--json`` output on stdout stays machine-readable.
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

from ..results import to_jsonable

console = Console()
err_console = Console(stderr=True)


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
    t = Table(title=title, title_justify="left", header_style="bold")
    for c in columns:
        t.add_column(c, justify="right" if c in right else "left", overflow="fold")
    for r in rows:
        t.add_row(*(str(x) for x in r))
    return t


def progress() -> Progress:
    """A progress bar on stderr with count, elapsed and remaining time."""
    return Progress(
        TextColumn("[progress.description]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TextColumn("eta"),
        TimeRemainingColumn(),
        console=err_console,
        transient=True,
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
