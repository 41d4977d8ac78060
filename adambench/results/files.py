"""Results files on disk: written atomically, under new names, in folders checked first.

A results file is never half-written nor silently replaced (docs/design.md, "Results are
data"): it is written to a temporary file in the same folder, then renamed.  A command's
results file gets a new name, ``<command>-<UTC time>-<id>.json``, created without
replacing any file (``write_new_json``); its folder is checked before any work
(``prepare_out``); a write that still fails at the end leaves the results in the system
temporary folder and says so (``save_new_json``, ``WriteFailed``).  Files follow the
umask like any other (0644 under 022).
"""

from __future__ import annotations

import errno
import json
import os
import secrets
import tempfile
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from .document import to_jsonable


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
