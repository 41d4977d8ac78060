"""Results files: versioned JSON with the configuration, seeds and environment.

Written atomically (temporary file in the same folder, then rename), so a crash or a
bad input never leaves a half-written result (docs/design.md, "Results are data").
A command's results file gets a new name, ``<command>-<UTC time>-<id>.json``, created
without replacing any file (``write_new_json``); its folder is checked before any work
(``prepare_out``); a write that still fails at the end leaves the results in the system
temporary folder and says so (``save_new_json``, ``WriteFailed``).  Files follow the
umask like any other (0644 under 022).
"""

from __future__ import annotations

import errno
import functools
import json
import math
import os
import platform
import secrets
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
    """Python, library versions, CPU model, cores and memory of this machine; its load
    average (1/5/15 min) now and at the start of the command; the git commit of the source
    tree (``git``: commit and dirty, only when run from a checkout; asked once, cached)."""
    from .machine import LOAD_AT_START, load_average, source_revision

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


def write_json(path: str | os.PathLike[str], doc: dict[str, Any]) -> Path:
    """Write ``doc`` to ``path`` atomically, replacing it; create the folder if needed.

    For a file named on purpose (a baseline, a sweep's merged file); a command's results
    file is ``write_new_json``'s, which never replaces one.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = _write_temp(path.parent, path.name, doc)
    try:
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return path


def _new_file(folder: Path, prefix: str) -> tuple[int, Path]:
    """A new hidden file ``.prefix.<random>.tmp`` in ``folder``, open for writing.

    Mode 0666 less the umask, as for any file a program creates (``mkstemp`` would make
    it 0600, and a rename keeps the mode).
    """
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0)
    for _ in range(100):
        tmp = folder / f".{prefix}.{secrets.token_hex(4)}.tmp"
        try:
            return os.open(tmp, flags, 0o666), tmp
        except FileExistsError:
            continue
    raise FileExistsError(errno.EEXIST, "no free temporary file name", str(folder))


def _write_temp(folder: Path, prefix: str, doc: dict[str, Any], sync: bool = False) -> Path:
    """``doc`` as JSON in a new temporary file of ``folder``; nothing left on any failure."""
    fd, tmp = _new_file(folder, prefix)
    try:
        with os.fdopen(fd, "w") as f:
            json.dump(to_jsonable(doc), f, indent=1)
            f.write("\n")
            if sync:
                f.flush()
                os.fsync(f.fileno())
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return tmp


def utc_stamp() -> str:
    """The UTC time in file names: ``20250131-235959``."""
    return datetime.now(timezone.utc).strftime("%Y%m%d-%H%M%S")


def results_name(command: str) -> str:
    """``<command>-<UTC time>-<6 hex digits>.json``: a results file name."""
    return f"{command}-{utc_stamp()}-{secrets.token_hex(3)}.json"


# errno values of a file system without hard links (os.link is then emulated below)
_NO_LINKS = {errno.EPERM, errno.ENOTSUP, errno.EOPNOTSUPP, errno.ENOSYS, errno.EMLINK}


def _link_new(tmp: Path, path: Path) -> None:
    """Give the complete file ``tmp`` the name ``path`` atomically; FileExistsError if taken.

    A hard link never replaces a file.  Where the file system has none, ``path`` is
    first created empty and exclusively, then replaced by ``tmp`` (removed again if that
    fails or is interrupted: no empty results file is left).
    """
    try:
        os.link(tmp, path)
        return
    except FileExistsError:
        raise
    except OSError as e:
        if e.errno not in _NO_LINKS:
            raise
    os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666))
    try:
        os.replace(tmp, path)
    except BaseException:
        path.unlink(missing_ok=True)
        raise


def write_new_json(folder: str | os.PathLike[str], command: str, doc: dict[str, Any]) -> Path:
    """Write ``doc`` to a new file ``folder/<command>-<UTC time>-<id>.json``; return it.

    Atomic (a temporary file, flushed to disk, then linked to its name) and exclusive:
    an existing file is never replaced, a taken name is followed by another.  The folder
    is created if needed.  Interrupted or failed, it leaves no temporary file behind.
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    tmp = _write_temp(folder, command, doc, sync=True)
    try:
        for _ in range(100):
            path = folder / results_name(command)
            try:
                _link_new(tmp, path)
            except FileExistsError:
                continue
            return path
        raise FileExistsError(errno.EEXIST, "no free results file name", str(folder))
    finally:
        tmp.unlink(missing_ok=True)


class WriteFailed(Exception):
    """Results that could not be written where asked; ``rescued`` is where they went
    instead (a file in the system temporary folder), None if that failed too."""

    def __init__(self, message: str, rescued: Path | None):
        super().__init__(message)
        self.rescued = rescued


def _reason(e: OSError) -> str:
    return e.strerror or str(e)


def _rescue(command: str, doc: dict[str, Any], target: Path, error: OSError) -> WriteFailed:
    """Write ``doc`` to the system temporary folder after ``error``; the WriteFailed to raise."""
    spare = Path(tempfile.gettempdir())
    try:
        saved = write_new_json(spare, command, doc)
    except OSError as e:
        return WriteFailed(
            f"cannot write the results to {target} ({_reason(error)}) nor to {spare} "
            f"({_reason(e)}); the results document follows on stdout",
            None,
        )
    return WriteFailed(
        f"cannot write the results to {target} ({_reason(error)}); they are in {saved} instead",
        saved,
    )


def save_new_json(folder: str | os.PathLike[str], command: str, doc: dict[str, Any]) -> Path:
    """``write_new_json``; if that fails (disk full, folder removed meanwhile) the results
    go to a new file in the system temporary folder and WriteFailed names it."""
    try:
        return write_new_json(folder, command, doc)
    except OSError as e:
        raise _rescue(command, doc, Path(folder), e) from None


def save_json(path: str | os.PathLike[str], command: str, doc: dict[str, Any]) -> Path:
    """``write_json`` (replacing ``path``), rescued like ``save_new_json`` on failure."""
    try:
        return write_json(path, doc)
    except OSError as e:
        raise _rescue(command, doc, Path(path), e) from None


def check_writable(folder: str | os.PathLike[str], where: str) -> Path:
    """ValueError ``<where>: <why>`` unless files can be created in ``folder``.

    ``folder`` need not exist: then its nearest existing ancestor must be a folder where
    it can be created.  Checked by creating and removing a probe file, so nothing that
    lasts is made: call it with the other checks, before any work.
    """
    folder = probe_in = Path(folder)
    try:
        if folder.exists() or folder.is_symlink():
            if not folder.is_dir():
                if where.endswith(f" {folder}"):
                    raise ValueError(f"{where} exists and is not a folder")
                raise ValueError(f"{where}: {folder} exists and is not a folder")
            probe_in = folder
        else:
            probe_in = folder.parent
            while not probe_in.exists() and probe_in != probe_in.parent:
                probe_in = probe_in.parent
            if not probe_in.is_dir():
                raise ValueError(f"{where}: {probe_in} is a file, not a folder")
        fd, probe = _new_file(probe_in, "adambench-probe")
        os.close(fd)
        probe.unlink()
    except OSError as e:
        raise ValueError(f"{where}: cannot write in {probe_in} ({_reason(e)})") from None
    return folder


def prepare_out(folder: str | os.PathLike[str], option: str = "--out") -> Path:
    """Check a command's results folder before any work (``check_writable``); return it.

    ``--out`` is always a folder, whose results file gets a new name: a path that does
    not exist and ends in ``.json`` is refused as a likely file name.
    """
    folder = Path(folder)
    if folder.suffix.lower() == ".json" and not (folder.exists() or folder.is_symlink()):
        raise ValueError(
            f"{option} {folder}: {option} is the folder the results file is written into "
            f"(named <command>-<time>-<id>.json), not a file name; give a folder"
        )
    return check_writable(folder, f"{option} {folder}")


def prepare_file(path: str | os.PathLike[str], option: str) -> Path:
    """Check a file named on purpose (a baseline, a Markdown summary) before any work:
    not a folder nor a special file, in a folder where it can be written."""
    path = Path(path)
    try:
        if path.is_dir():
            raise ValueError(f"{option} {path} is a folder; give a file name")
        if path.exists() and not path.is_file():
            raise ValueError(f"{option} {path} exists and is not a regular file")
    except OSError as e:
        raise ValueError(f"{option} {path}: {_reason(e)}") from None
    check_writable(path.parent, f"{option} {path}")
    return path


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
