"""Results files: versioned JSON with the configuration, seeds and environment.

Written atomically (temporary file in the same folder, then rename), so a crash or a
bad input never leaves a half-written result (docs/design.md, "Results are data").
"""

from __future__ import annotations

import functools
import json
import math
import os
import platform
import tempfile
from datetime import datetime, timezone
from importlib import metadata
from pathlib import Path
from typing import Any

from ._version import __version__

SCHEMA_VERSION = 2
# What each version changed, and which older versions of a command's files this one
# still reads (their layout did not change): 2 gave regret rows per-seed fits, across-seed
# intervals and three-way verdicts, run rankings with ties and ablate per-claim findings.
READS = {"bench": (1, 2)}


def environment() -> dict[str, Any]:
    """Python, library versions, CPU model, cores and memory of this machine."""
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


def write_json(path: str | os.PathLike[str], doc: dict[str, Any]) -> Path:
    """Write ``doc`` to ``path`` atomically; create the folder if needed."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w") as f:
            json.dump(to_jsonable(doc), f, indent=1)
            f.write("\n")
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def read_json(path: str | os.PathLike[str], command: str | None = None) -> dict[str, Any]:
    """Read a results file; ValueError (one line) if unreadable, foreign or mismatched."""
    path = Path(path)
    try:
        doc = json.loads(path.read_text())
    except OSError as e:
        raise ValueError(f"cannot read {path}: {e.strerror or e}") from None
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise ValueError(f"{path} is not valid JSON") from None
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
