"""What a timing depends on besides the code: CPU, memory, BLAS, thread pools, free memory.

Also the one place that sets the thread pools (``thread_limits``): numba's (the
optimizer kernels and the regret engine), BLAS's (threadpoolctl: the matmuls) and
torch's (the bench's peers).  Everything that limits threads goes through it.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from typing import Any

from .results import environment


def available_memory() -> int | None:
    """Bytes the kernel says can be allocated without swapping (MemAvailable), if known."""
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    try:
        import os

        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_AVPHYS_PAGES")
    except (ValueError, OSError, AttributeError):
        return None


def blas_info() -> dict[str, Any]:
    """NumPy's BLAS library, name and version (numpy.show_config)."""
    import numpy as np

    try:
        deps = np.show_config(mode="dicts").get("Build Dependencies", {})
        blas = deps.get("blas", {})
        return {k: blas.get(k) for k in ("name", "version", "openblas configuration") if k in blas}
    except Exception:  # noqa: BLE001 - older NumPy has no dict mode; the info is optional
        return {}


def machine_info() -> dict[str, Any]:
    """``results.environment()`` plus BLAS, numba's threading and memory free at the start."""
    import numba

    info = environment()
    info["numpy_blas"] = blas_info()
    info["numba_threads"] = int(numba.config.NUMBA_NUM_THREADS)
    info["numba_threading_layer"] = str(numba.config.THREADING_LAYER)
    info["memory_available_bytes"] = available_memory()
    return info


@contextmanager
def thread_limits(
    numba: int | None = None, blas: int | None = None, torch: int | None = None
) -> Iterator[None]:
    """Limit the thread pools inside the block and restore them afterwards.

    ``numba``: numba's pool, clamped to [1, NUMBA_NUM_THREADS]; ``blas``: the BLAS
    libraries' pools (``threadpoolctl``); ``torch``: torch's intra-op pool, only if torch
    is already imported (this never imports it).  ``None`` leaves that pool as it is, and
    with all three None nothing is imported or changed.
    """
    with ExitStack() as stack:
        if numba is not None:
            import numba as nb

            before = nb.get_num_threads()
            nb.set_num_threads(max(1, min(int(numba), nb.config.NUMBA_NUM_THREADS)))
            stack.callback(nb.set_num_threads, before)
        tm = sys.modules.get("torch") if torch is not None else None
        if tm is not None:
            before_torch = tm.get_num_threads()
            tm.set_num_threads(int(torch))
            stack.callback(tm.set_num_threads, before_torch)
        if blas is not None:
            from threadpoolctl import threadpool_limits

            stack.enter_context(threadpool_limits(int(blas), user_api="blas"))
        yield
