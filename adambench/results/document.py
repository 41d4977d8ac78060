"""A results document: what it holds, and which documents this version reads back.

A document is data, complete in itself (docs/design.md, "Results are data"): the schema
and its version, the command, its configuration and the environment it ran in
(``make_result``), then the command's sections, every value JSON-safe (``to_jsonable``:
NumPy to lists, NaN/Inf to null).  ``read_json`` refuses in one line anything that is
not such a document of a version this one reads (``SCHEMA_VERSION``, ``READS``).
"""

from __future__ import annotations

import functools
import json
import math
import os
import platform
from datetime import datetime, timezone
from importlib import metadata
from pathlib import Path
from typing import Any

from .._version import __version__

SCHEMA_VERSION = 2
# What each version changed, and which older versions of a command's files this one
# still reads (their layout did not change): 2 gave regret rows per-seed fits, across-seed
# intervals and three-way verdicts, run rankings with ties and ablate per-claim findings.
READS = {"bench": (1, 2)}


def environment() -> dict[str, Any]:
    """Python, library versions, CPU model, cores and memory of this machine; its load
    average (1/5/15 min) now and at the start of the command; the git commit of the source
    tree (``git``: commit and dirty, only when run from a checkout; asked once, cached)."""
    from ..machine import LOAD_AT_START, load_average, source_revision

    versions = {"adambench": __version__, "python": platform.python_version()}
    for pkg in ("numpy", "scipy", "numba", "cupy", "torch"):
        try:
            versions[pkg] = metadata.version(pkg)
        except metadata.PackageNotFoundError:
            pass
    env: dict[str, Any] = {
        "versions": versions,
        "platform": platform.platform(),
        "machine": platform.machine(),
        "cpu": cpu_model(),
        "cores": os.cpu_count(),
        "memory_bytes": memory_bytes(),
    }
    gpu = gpu_info()
    if gpu is not None:
        env["gpu"] = gpu
    load = load_average()
    if load is not None:
        env["load_average"] = list(load)
    if LOAD_AT_START is not None:
        env["load_average_at_start"] = list(LOAD_AT_START)
    git = source_revision()
    if git is not None:
        env["git"] = git
    return env


@functools.lru_cache(maxsize=1)
def gpu_info() -> dict[str, Any] | None:
    """CUDA device 0: name, memory, compute capability, driver, CUDA runtime and CuPy versions.

    None when CuPy is not installed (it is then never imported) or sees no device.
    """
    import importlib.util

    if importlib.util.find_spec("cupy") is None:
        return None
    try:
        import cupy

        rt = cupy.cuda.runtime
        count = rt.getDeviceCount()
        if count < 1:
            return None
        props = rt.getDeviceProperties(0)
        name = props["name"]

        def version(v: int) -> str:  # 12040 -> "12.4"
            return f"{v // 1000}.{(v % 1000) // 10}"

        return {
            "name": name.decode() if isinstance(name, bytes) else str(name),
            "count": count,
            "memory_bytes": int(props["totalGlobalMem"]),
            "compute_capability": f"{props['major']}.{props['minor']}",
            "multiprocessors": int(props["multiProcessorCount"]),
            "driver": version(rt.driverGetVersion()),
            "cuda_runtime": version(rt.runtimeGetVersion()),
            "cupy": cupy.__version__,
        }
    except Exception:  # noqa: BLE001 - no driver, no device: no GPU entry
        return None


def cpu_model() -> str:
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def memory_bytes() -> int | None:
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):
        return None


def make_result(command: str, config: dict[str, Any], **sections: Any) -> dict[str, Any]:
    """A results document: schema version, command, config, environment, then ``sections``."""
    return {
        "schema": "adambench-results",
        "schema_version": SCHEMA_VERSION,
        "command": command,
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "config": config,
        "environment": environment(),
        **sections,
    }


def to_jsonable(x: Any) -> Any:
    """A JSON-safe copy of ``x``: what a results file holds.

    Dict keys become strings, tuples lists, NumPy (or CuPy) scalars and arrays Python
    numbers and nested lists (``.tolist()``), and NaN/Inf None (JSON has no such numbers).
    Anything else is returned as is.  ``write_json`` writes this; ``json.dumps`` of it
    never needs ``allow_nan``.
    """
    if isinstance(x, dict):
        return {str(k): to_jsonable(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [to_jsonable(v) for v in x]
    if hasattr(x, "tolist"):
        return to_jsonable(x.tolist())
    if isinstance(x, float) and not math.isfinite(x):
        return None
    return x


MAX_RESULTS_BYTES = 1 << 30  # a results file larger than this is refused unread


def read_json(path: str | os.PathLike[str], command: str | None = None) -> dict[str, Any]:
    """Read a results file; ValueError (one line) if unreadable, foreign or mismatched.

    A file that is not a regular file, is larger than ``MAX_RESULTS_BYTES`` or nests too
    deeply for the JSON decoder is refused with a one-line ValueError, like bad JSON.
    The layout of the sections is checked by ``report.load.check`` (every reader of
    results files calls it).
    """
    path = Path(path)
    try:
        if path.is_dir():
            raise ValueError(f"{path} is a folder, not a results file")
        size = path.stat().st_size
        if size > MAX_RESULTS_BYTES:
            raise ValueError(
                f"{path} is {size / 2**30:.1f} GiB, larger than any results file "
                f"(at most {MAX_RESULTS_BYTES / 2**30:.0f} GiB)"
            )
        doc = json.loads(path.read_text())
    except OSError as e:
        raise ValueError(f"cannot read {path}: {e.strerror or e}") from None
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise ValueError(f"{path} is not valid JSON") from None
    except RecursionError:
        raise ValueError(f"{path} nests too deeply to be a results file") from None
    if not isinstance(doc, dict) or doc.get("schema") != "adambench-results":
        raise ValueError(f"{path} is not an adambench results file")
    other = doc.get("command")
    if command is not None and isinstance(other, str) and other != command:
        raise ValueError(f"{path} holds results of {other!r}, not {command!r}")
    version = doc.get("schema_version")
    readable = READS.get(str(doc.get("command")), (SCHEMA_VERSION,))
    if version not in readable:
        older = (
            isinstance(version, int) and not isinstance(version, bool) and version < SCHEMA_VERSION
        )
        hint = f": re-run `adambench {doc.get('command')}` to regenerate it" if older else ""
        raise ValueError(
            f"{path} has schema version {version!r}, this adambench reads "
            f"{' or '.join(map(str, readable))} for {doc.get('command')!r} results{hint}"
        )
    if command is not None and other != command:
        raise ValueError(f"{path} holds results of {other!r}, not {command!r}")
    return doc
