"""What a timing depends on besides the code: CPU, memory, BLAS, thread pools, free memory,
the load of the machine, and which source (git commit) it ran.

Also the one place that sets the thread pools (``thread_limits``): numba's (the
optimizer kernels and the regret engine), BLAS's (threadpoolctl: the matmuls) and
torch's (the bench's peers).  Everything that limits threads goes through it.
"""

from __future__ import annotations

import functools
import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any

GIT_TIMEOUT_S = 2.0


def load_average() -> tuple[float, float, float] | None:
    """The 1-, 5- and 15-minute load averages (os.getloadavg); None where unknown."""
    try:
        one, five, fifteen = os.getloadavg()
    except (OSError, AttributeError):
        return None
    return (one, five, fifteen)


# The load when the command started: the CLI imports this module as it starts (cli/bench.py
# at module level), before any work of its own adds to the load.
LOAD_AT_START = load_average()


def _git(cwd: Path, *args: str) -> str | None:
    """``git args`` in ``cwd``: its stdout, or None (no git, not a checkout, slow, failed).

    Local commands only (no network); no optional locks, so a concurrent git in the same
    checkout is never disturbed; never a prompt.
    """
    env = dict(os.environ, GIT_OPTIONAL_LOCKS="0", GIT_TERMINAL_PROMPT="0", LC_ALL="C")
    try:
        proc = subprocess.run(
            ["git", *args], cwd=cwd, capture_output=True, text=True, timeout=GIT_TIMEOUT_S,
            env=env, stdin=subprocess.DEVNULL, check=False,
        )  # fmt: skip
    except (OSError, subprocess.SubprocessError, ValueError):
        return None
    return proc.stdout if proc.returncode == 0 else None


@functools.lru_cache(maxsize=4)
def _revision(package_dir: str) -> dict[str, Any] | None:
    here = Path(package_dir)
    if not here.is_dir():
        return None
    # The package's own files must be tracked there: an installed copy inside some other
    # repository (a virtual environment in a project's folder) is not a checkout of it.
    if not (_git(here, "ls-files", "--", "__init__.py") or "").strip():
        return None
    out = (_git(here, "rev-parse", "HEAD") or "").strip()
    if len(out) < 40:
        return None
    status = _git(here, "status", "--porcelain", "--untracked-files=no")
    return {"commit": out, "dirty": None if status is None else bool(status.strip())}


def source_revision(package_dir: str | os.PathLike[str] | None = None) -> dict[str, Any] | None:
    """The git commit of the adambench source tree this runs from, and whether it is dirty.

    ``{"commit": sha, "dirty": bool}`` when the package's files are tracked by a git
    checkout (``dirty``: tracked files changed, untracked ones not counted; None when git
    status did not answer in time); None otherwise (an installed wheel, no git).  Asked
    once per process (each git call times out after GIT_TIMEOUT_S).
    """
    if package_dir is None:
        package_dir = Path(__file__).resolve().parent
    return _revision(str(package_dir))


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


def machine_details() -> dict[str, Any]:
    """BLAS, numba's threading and the memory free now: what a bench results file adds to
    ``results.environment()`` (bench/gate.machine_info; this module does not import
    results, which asks it for the load and the source revision)."""
    import numba

    info: dict[str, Any] = {}
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
