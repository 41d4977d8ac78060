"""The CPU timing harness: warm-up, calibration, interleaved repeats, two clocks, summaries.

docs/design.md, "Timing is relative": every kernel is timed beside the same-run roofline loop
with its own access pattern, after a warm-up (numba compilation and first-touch page
faults are never counted), over many repeats, summarised by the median and the IQR.
The callables of one group are timed *interleaved*: repeat ``r`` runs each of them in
turn, so the per-repeat ratio kernel / roofline cancels the slow drifts of a shared
machine (other jobs, clock changes) that an absolute time carries.  Those per-repeat
samples are kept for the regression gate's Mann-Whitney test (bench/compare.py).
Single-thread timings use the thread's CPU time, multi-thread ones wall time (Timings).
"""

from __future__ import annotations

import math
import os
import time
from collections.abc import Callable, Mapping
from contextlib import AbstractContextManager
from dataclasses import dataclass

import numpy as np

from ..machine import thread_limits

# Test-only fault injection for measuring the gate's miss rate (scripts/measure_gate.py):
# when set to a fraction f, every adambench kernel call is padded with a busy wait to
# (1 + f) times its own duration.  Nothing else reads it; never set it in normal use.
SLOWDOWN_ENV = "ADAMBENCH_INJECT_SLOWDOWN"


def max_threads() -> int:
    """Threads numba may use here (NUMBA_NUM_THREADS, by default the core count)."""
    import numba

    return int(numba.config.NUMBA_NUM_THREADS)


def threads(n: int) -> AbstractContextManager[None]:
    """Run numba's thread pool (and torch's, if torch is loaded) with ``n`` threads."""
    return thread_limits(numba=n, torch=n)


def injected_slowdown() -> float:
    """The test-only slowdown fraction from ``ADAMBENCH_INJECT_SLOWDOWN`` (0 when unset)."""
    raw = os.environ.get(SLOWDOWN_ENV, "").strip()
    if not raw:
        return 0.0
    try:
        f = float(raw)
    except ValueError:
        raise ValueError(f"{SLOWDOWN_ENV} must be a number in [0, 10), got {raw!r}") from None
    if not 0.0 <= f < 10.0:
        raise ValueError(f"{SLOWDOWN_ENV} must be a number in [0, 10), got {raw!r}")
    return f


def slowed(fn: Callable[[], None], fraction: float) -> Callable[[], None]:
    """``fn`` padded with a busy wait to (1 + fraction) times its CPU time (test-only)."""
    if fraction <= 0:
        return fn
    clock = time.thread_time

    def run() -> None:
        t0 = clock()
        fn()
        end = t0 + (clock() - t0) * (1.0 + fraction)
        while clock() < end:
            pass

    return run


@dataclass(frozen=True)
class Summary:
    """Median and quartiles of per-call times (seconds)."""

    median: float
    q1: float
    q3: float
    best: float

    @property
    def iqr(self) -> float:
        return self.q3 - self.q1


def summarize(samples: np.ndarray) -> Summary:
    q1, med, q3 = np.percentile(samples, [25, 50, 75])
    return Summary(float(med), float(q1), float(q3), float(np.min(samples)))


def _time_calls(fn: Callable[[], None], number: int) -> float:
    clock = time.perf_counter
    t0 = clock()
    for _ in range(number):
        fn()
    return (clock() - t0) / number


def calibrate(fn: Callable[[], None], min_sample_s: float) -> tuple[int, float]:
    """Calls per sample so that one sample lasts at least ``min_sample_s``; and one call's time.

    Timer resolution and call jitter then stay far below the kernel's own time at small
    sizes.  One call's time is the best of three, so one preemption does not mislead it.
    """
    one = min(_time_calls(fn, 1) for _ in range(3))
    number = 1
    while one * number < min_sample_s and number < 1_000_000:
        number = max(number * 2, math.ceil(min_sample_s / max(one, 1e-9)))
        one = _time_calls(fn, number)
    return number, one


@dataclass
class Timings:
    """Per-call seconds of every repeat, by both clocks, and the calls per sample.

    ``wall`` is elapsed time (perf_counter).  ``cpu`` is the calling thread's CPU time
    (thread_time): time the thread was descheduled is not in it, which is what a timing
    on a shared machine must leave out; it is the kernel's own cost only when the work
    runs on the calling thread, i.e. with one thread (numba and torch both run a
    one-thread parallel region on the caller).
    """

    wall: dict[str, np.ndarray]
    cpu: dict[str, np.ndarray]
    numbers: dict[str, int]

    def samples(self, clock: str) -> dict[str, np.ndarray]:
        return self.cpu if clock == "cpu" else self.wall


def measure(
    fns: Mapping[str, Callable[[], None]],
    repeats: int,
    *,
    warmup: int = 2,
    min_sample_s: float = 1e-3,
    budget_s: float | None = None,
    min_repeats: int = 5,
) -> Timings:
    """Time each callable ``repeats`` times, interleaved, after ``warmup`` untimed calls.

    Repeat ``r`` times every callable once, in a fixed order, so ratios between them are
    taken over the same instant of a shared machine.  With ``budget_s``, the repeats are
    reduced (never below ``min_repeats``) so the whole group takes about that long:
    large sizes with slow peers stay affordable (an infinite budget caps nothing).
    """
    if repeats < 1:
        raise ValueError(f"repeats must be >= 1, got {repeats}")
    for fn in fns.values():
        for _ in range(warmup):
            fn()
    numbers: dict[str, int] = {}
    per_repeat = 0.0
    for name, fn in fns.items():
        numbers[name], one = calibrate(fn, min_sample_s)
        per_repeat += numbers[name] * one
    if budget_s is not None and math.isfinite(budget_s) and per_repeat > 0:  # inf: no cap
        fit = int(min(budget_s / per_repeat, repeats))
        repeats = max(min(repeats, fit), min(min_repeats, repeats))
    wall = {name: np.empty(repeats) for name in fns}
    cpu = {name: np.empty(repeats) for name in fns}
    wclock, cclock = time.perf_counter, time.thread_time
    for r in range(repeats):
        for name, fn in fns.items():
            number = numbers[name]
            w0, c0 = wclock(), cclock()
            for _ in range(number):
                fn()
            c1, w1 = cclock(), wclock()
            wall[name][r] = (w1 - w0) / number
            cpu[name][r] = (c1 - c0) / number
    return Timings(wall, cpu, numbers)


def best_of(fn: Callable[[], None], repeats: int, min_sample_s: float = 1e-3) -> float:
    """The fastest per-call time of ``repeats`` samples (a roofline is a best case)."""
    return float(measure({"fn": fn}, repeats, min_sample_s=min_sample_s).wall["fn"].min())
