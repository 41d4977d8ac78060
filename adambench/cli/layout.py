"""Tables laid out for a width: data first (``Grid``), text second.

A number or a name is never broken across lines: such a column is as wide as its longest
cell.  Every column declares a kind and a priority (``Col``).  When a table does not fit
the width (80 columns when piped), it shortens labels that have a short form, then moves
long free text (legend columns: verdicts, hyperparameter points) to a numbered legend
under the table, then drops the lowest-priority columns and says which in a line under
the table.  Free text wraps at spaces only.

A string is read as Rich markup only when it closes a tag (``[dim]...[/]``) or escapes
one (``rich.markup.escape``, ``has_markup``); table titles are always literal.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from rich import box
from rich.cells import cell_len
from rich.console import Console
from rich.table import Table
from rich.text import Text


def has_markup(text: str) -> bool:
    """Whether ``text`` is meant as Rich markup: it closes a tag or escapes a bracket."""
    return "[/" in text or "\\[" in text


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


def fmt(x: float | None, digits: int = 4) -> str:
    """A number in a table cell: general format, '-' for missing."""
    if x is None:
        return "-"
    return f"{x:.{digits}g}"
