"""The sweep's progress bar: estimated work done inside units, and the units in flight.

Drawn on stderr, on a terminal only (like every bar, ``render.py``).  The bar's unit is
the plan's estimated seconds (``sweep/progress.py``), shown as a percentage; the line
after it names the units in flight with their share done, elapsed time and estimated
share of the sweep, redrawn as often as Rich refreshes, so it moves within seconds.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from rich.progress import (
    BarColumn,
    Progress,
    ProgressColumn,
    TaskProgressColumn,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.text import Text

from ..sweep.progress import SweepProgress
from .render import err_console


class _Status(ProgressColumn):
    """The units done and in flight, read at each refresh (elapsed times tick)."""

    def __init__(self, state: SweepProgress):
        super().__init__()
        self.state = state

    def render(self, task: Any) -> Text:
        return Text(self.state.status(), style="progress.description", overflow="ellipsis",
                    no_wrap=True)  # fmt: skip


@contextmanager
def unit_progress(units: Sequence[Any]) -> Iterator[dict[str, Any]]:
    """Callbacks for ``sweep.runner.execute`` (on_cache, on_unit, on_progress) that draw
    the bar; a no-op display off a terminal."""
    state = SweepProgress(units)
    bar = Progress(
        TextColumn("units", style="progress.description"),
        BarColumn(),
        TaskProgressColumn(),
        TimeElapsedColumn(),
        TextColumn("eta"),
        TimeRemainingColumn(),
        _Status(state),
        console=err_console,
        transient=True,
        disable=not err_console.is_terminal,
        refresh_per_second=4,
    )
    with bar:
        task = bar.add_task("units", total=state.total)

        def show() -> None:
            bar.update(task, completed=state.completed)

        def on_cache(cached: list[Any]) -> None:
            state.cached([u.key for u in cached])
            show()

        def on_unit(u: Any, ok: bool) -> None:
            state.unit_done(u.key)
            show()

        def on_progress(u: Any, fraction: float) -> None:
            state.advance(u.key, fraction)
            show()

        yield {"on_cache": on_cache, "on_unit": on_unit, "on_progress": on_progress}
