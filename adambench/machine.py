"""What a timing depends on besides the code: CPU, memory, BLAS, thread pools, free memory."""

from __future__ import annotations

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
