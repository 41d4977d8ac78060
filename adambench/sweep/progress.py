"""Progress of a running sweep inside its units: what the progress bar shows.

Each unit weighs its estimated seconds (``plan.Unit.est_seconds``, at least a
millisecond so that no unit weighs nothing).  Done = the weight of the finished (or
cached, or failed) units plus, for each unit in flight, its weight times the share of
its run-steps or epochs done (``work.run_unit``'s ``on_progress``, sent by the inline
and local-process executors).  ``status`` names the units in flight with their elapsed
time and estimated share of the sweep, so the line changes within seconds even while a
worker is still starting.  Plain data only: the CLI draws it (cli/sweep.py).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import Any

MIN_WEIGHT = 1e-3  # seconds: a unit's weight is never 0


class SweepProgress:
    """State of a sweep's progress; ``clock`` is injectable for tests."""

    def __init__(self, units: Sequence[Any], clock: Callable[[], float] = time.monotonic):
        self.weight = {u.key: max(MIN_WEIGHT, float(u.est_seconds)) for u in units}
        self.label = {u.key: u.label for u in units}
        self.total = sum(self.weight.values())
        self.finished: set[str] = set()
        self.running: dict[str, tuple[float, float]] = {}  # key -> (start time, fraction)
        self.clock = clock

    def cached(self, keys: Sequence[str]) -> None:
        for k in keys:
            self.unit_done(k)

    def advance(self, key: str, fraction: float) -> None:
        """A unit started (0) or advanced; late messages of a finished unit are ignored."""
        if key in self.finished or key not in self.weight:
            return
        start = self.running.get(key, (self.clock(), 0.0))[0]
        prev = self.running.get(key, (start, 0.0))[1]
        self.running[key] = (start, max(prev, min(1.0, max(0.0, float(fraction)))))

    def unit_done(self, key: str) -> None:
        self.running.pop(key, None)
        self.finished.add(key)

    @property
    def completed(self) -> float:
        """Estimated seconds of work done (finished units + shares of those in flight)."""
        done = sum(self.weight[k] for k in self.finished)
        return done + sum(self.weight[k] * f for k, (_, f) in self.running.items())

    def status(self, limit: int = 2) -> str:
        """``1/4 units done, 2 running: reddi adam x1 43% 3 s (25% of the sweep), ...``."""
        head = f"{len(self.finished)}/{len(self.weight)} units done"
        if not self.running:
            return head
        now = self.clock()
        parts = []
        by_start = sorted(self.running.items(), key=lambda kv: kv[1][0])
        for k, (start, f) in by_start[:limit]:
            share = self.weight[k] / self.total if self.total else 0.0
            parts.append(f"{self.label[k]} {f:.0%} {now - start:.0f} s ({share:.0%} of the sweep)")
        more = f", +{len(by_start) - limit} more" if len(by_start) > limit else ""
        return f"{head}, {len(self.running)} running: " + ", ".join(parts) + more
