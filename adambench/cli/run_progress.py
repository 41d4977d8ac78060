"""``adambench run``'s cost up front, one progress row per task, and what an interrupt keeps.

* The estimate (``experiments/training.estimate``: real steps of every task's batches
  timed on this machine before the run) is printed to stderr before the work starts;
  ``--dry-run`` prints the plan with it and stops.
* One Rich progress row per task, advancing per finished epoch of each optimizer's batch.
  Its ETA comes from the estimate, not from the rate of the epochs so far: the estimated
  seconds of the work left, times the ratio of measured to estimated seconds over the
  optimizer batches already finished (1 until one has; clipped to [1/4, 4]), counting
  down between epochs.  A row not started shows its estimate.
* Interrupted (Ctrl-C, SIGTERM: a KeyboardInterrupt), the tasks that finished, and the
  finished optimizers of the current one marked incomplete, are written to a results
  file marked ``"complete": false``; the line ``interrupted: kept N finished task(s) ...
  in PATH`` names it and the exit code is 130 (143 for SIGTERM, cli/app.py).
"""

from __future__ import annotations

import signal
import time
from typing import Any

from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    ProgressColumn,
    TextColumn,
    TimeElapsedColumn,
)
from rich.text import Text

from .dry_run import bytes_text, seconds_text  # the wording of every command's estimate
from .render import err_console

RATIO_BOUNDS = (0.25, 4.0)


def _clock(s: float) -> str:
    s = max(0, round(s))
    h, rest = divmod(s, 3600)
    return f"{h}:{rest // 60:02d}:{rest % 60:02d}" if h else f"{rest // 60}:{rest % 60:02d}"


def plan_lines(est: dict[str, Any], cfg: Any) -> list[str]:
    """The plan and its cost: what trains, one line per task, and the total."""
    seeds = cfg.seeds
    out = [
        f"plan: tasks {', '.join(cfg.tasks)}; optimizers {', '.join(cfg.optimizers)}; "
        f"{len(seeds)} seed(s) ({seeds[0]}..{seeds[-1]}); {cfg.epochs} epochs; batch size "
        f"{cfg.batch_size}; {cfg.dtype} on {cfg.backend}"
    ]
    for t in est["tasks"]:
        sizes = sorted({b["grid_points"] for b in t["batches"]})
        runs = sum(b["runs"] for b in t["batches"])
        out.append(
            f"{t['task']} ({t['parameters']} parameters): {len(t['batches'])} optimizer(s) x "
            f"{'/'.join(map(str, sizes))} grid point(s) x {len(seeds)} seed(s) = {runs} runs "
            f"x {cfg.epochs} epochs: about {seconds_text(t['seconds'])}, peak "
            f"{bytes_text(t['peak_bytes'])} of arrays"
        )
    out.append(
        f"total: {est['runs']} runs, about {seconds_text(est['seconds'])}, peak "
        f"{bytes_text(est['peak_bytes'])} of arrays (from real steps of each task timed "
        "here before the run)"
    )
    return out


class _Eta(ProgressColumn):
    """The row's remaining time from the estimate (see the module docstring)."""

    def __init__(self, bars: TaskBars):
        super().__init__()
        self.bars = bars

    def render(self, task: Any) -> Text:
        return Text(self.bars.eta_text(task.id), style="progress.remaining")


class TaskBars:
    """One progress row per task; ``advance(task, optimizer, epoch)`` is the engine's
    ``on_epoch``.  Units: epochs of each optimizer's batch, each costed by the estimate.
    Tasks train one after another, so the clock of the work in progress is the time of
    the last event (the start, or the last epoch of any task)."""

    def __init__(self, est: dict[str, Any], epochs: int):
        self.epochs = epochs
        self.order = [t["task"] for t in est["tasks"]]
        self.unit: dict[tuple[str, str], float] = {}  # (task, optimizer) -> s per epoch
        self.left: dict[str, float] = {}  # task -> estimated seconds left
        self.units_left: dict[str, int] = {}
        self.done_est = self.done_real = 0.0
        self.clock = self.batch_start = time.monotonic()
        self.active = self.order[0] if self.order else None
        self.progress = Progress(
            TextColumn("{task.description}", style="progress.description", markup=False),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            TextColumn("eta"),
            _Eta(self),
            console=err_console,
            transient=True,
            disable=not err_console.is_terminal,
        )
        self.rows: dict[str, Any] = {}
        self.names: dict[Any, str] = {}
        for t in est["tasks"]:
            name = t["task"]
            for b in t["batches"]:
                self.unit[(name, b["optimizer"])] = b["seconds"] / epochs
            self.left[name] = t["seconds"]
            self.units_left[name] = len(t["batches"]) * epochs
            row = self.progress.add_task(name, total=self.units_left[name], start=False)
            self.rows[name], self.names[row] = row, name

    def __enter__(self) -> TaskBars:
        self.progress.__enter__()
        self.clock = self.batch_start = time.monotonic()
        if self.active is not None:
            self.progress.start_task(self.rows[self.active])
        return self

    def __exit__(self, *exc: Any) -> None:
        self.progress.__exit__(*exc)

    def ratio(self) -> float:
        """Measured / estimated seconds of the finished optimizer batches (1 before any)."""
        if self.done_est <= 0:
            return 1.0
        lo, hi = RATIO_BOUNDS
        return min(hi, max(lo, self.done_real / self.done_est))

    def advance(self, task: str, optimizer: str, epoch: int) -> None:
        now = time.monotonic()
        if task != self.active:
            self.active = task
            self.progress.start_task(self.rows[task])
        unit = self.unit[(task, optimizer)]
        self.left[task] = max(0.0, self.left[task] - unit)
        self.units_left[task] -= 1
        if epoch == self.epochs:  # a batch finished: its real time against its estimate
            self.done_est += unit * self.epochs
            self.done_real += now - self.batch_start
            self.batch_start = now
        self.clock = now
        self.progress.update(self.rows[task], advance=1, description=f"{task} {optimizer}")
        if self.units_left[task] <= 0:
            self.left[task] = 0.0
            self.progress.update(self.rows[task], description=task)
            later = self.order[self.order.index(task) + 1 :]
            self.active = later[0] if later else None
            if later:
                self.progress.start_task(self.rows[later[0]])

    def eta_seconds(self, task: str) -> float:
        """The estimated seconds left of ``task`` (see the module docstring)."""
        left = self.ratio() * self.left[task]
        if task == self.active:
            left -= time.monotonic() - self.clock
        return max(0.0, left)

    def eta_text(self, row: Any) -> str:
        task = self.names[row]
        text = _clock(self.eta_seconds(task))
        return text if task == self.active or self.units_left[task] <= 0 else f"~{text}"


def interrupted_line(done: list[dict[str, Any]], path: Any) -> str:
    """``interrupted: kept N finished task(s) [and T's k finished optimizer(s)] in PATH``."""
    full = [t for t in done if t.get("complete", True)]
    part = [t for t in done if not t.get("complete", True)]
    text = f"interrupted: kept {len(full)} finished task(s)"
    for t in part:
        text += (
            f" and {t['task']['name']}'s {len(t['optimizers'])} finished optimizer(s) "
            f"(marked incomplete)"
        )
    return f"{text} in {path}"


def interrupt_record(e: BaseException, cfg: Any, done: list[dict[str, Any]]) -> dict[str, Any]:
    """The results document's ``interrupted`` section: the signal, what finished."""
    signum = getattr(e, "signum", signal.SIGINT)
    finished = [t["task"]["name"] for t in done if t.get("complete", True)]
    return {
        "signal": signal.Signals(signum).name,
        "finished_tasks": finished,
        "incomplete_tasks": [t["task"]["name"] for t in done if not t.get("complete", True)],
        "not_started": [n for n in cfg.tasks if n not in {t["task"]["name"] for t in done}],
    }
