"""``cupyx.profiler.benchmark`` for the emulated cupy: host wall time stands for GPU time.

Same call signature and result attributes as CuPy's (``cpu_times`` of shape
(n_repeat,), ``gpu_times`` of shape (devices, n_repeat)); the emulated "device" runs on
the host, so both are the host's perf_counter times of each call.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from typing import Any

import numpy as np


@dataclass
class _PerfCaseResult:
    name: str
    cpu_times: np.ndarray
    gpu_times: np.ndarray


def benchmark(
    func: Any,
    args: tuple = (),
    kwargs: dict | None = None,
    n_repeat: int = 10000,
    *,
    name: str | None = None,
    n_warmup: int = 10,
    max_duration: float = math.inf,
    devices: Any = None,
) -> _PerfCaseResult:
    kwargs = kwargs or {}
    for _ in range(n_warmup):
        func(*args, **kwargs)
    times = []
    start = time.perf_counter()
    for _ in range(n_repeat):
        t0 = time.perf_counter()
        func(*args, **kwargs)
        times.append(time.perf_counter() - t0)
        if time.perf_counter() - start > max_duration:
            break
    cpu = np.array(times)
    return _PerfCaseResult(name or getattr(func, "__name__", "func"), cpu, cpu.reshape(1, -1))
