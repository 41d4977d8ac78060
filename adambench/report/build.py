"""Build a report from results files: plots, Markdown, self-contained HTML, all or nothing.

The report is assembled in a temporary folder beside its destination and moved into
place only when every file is written, so a bad input or a crash leaves nothing behind
(docs/design.md, "Results are data"; reports are rebuilt from results alone).

Sections: one per command (``sections.py``).  Several results files of one command make
one section whose plots overlay them, one labelled series per file (``overlay.py``; the
label is the file's stem or ``labels``), with each file's tables and summary under its
label; files of different commands make a section each; a sweep's results folder is a
section of its own (``sweeps.py``).  Every section is titled by its command, files and
times.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from ..results import read_json, to_jsonable
from . import figures, html, markdown, overlay, sweeps
from .load import Source, check, report_name
from .model import Report
from .sections import (
    PLOTS,
    TITLES,
    Group,
    build_section,
    groups,
    read_section,
    report_title,
    side_by_side,
    title,
    when,
)

__all__ = [
    "MARKER",
    "PLOTS",
    "TITLES",
    "Group",
    "Written",
    "build",
    "build_report",
    "check_all",
    "check_out",
    "default_out",
    "groups",
    "load",
    "parse_formats",
    "read_section",
    "report_for",
    "report_title",
    "side_by_side",
    "title",
    "when",
]

MARKER = "report.md"  # a folder holding this is a report and may be replaced


@dataclass
class Written:
    """What ``build_report`` wrote (``--json`` prints this)."""

    out: str
    command: str  # the command of every source, or "report" for several
    sources: list[str]
    files: list[str]
    plots: list[str]
    sections: list[str]

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def parse_formats(text: str, option: str = "--format") -> tuple[str, ...]:
    """'png,svg' -> ('png', 'svg'); ValueError naming the allowed values."""
    items = tuple(dict.fromkeys(s.strip().lower() for s in text.split(",") if s.strip()))
    if not items or any(f not in figures.FORMATS for f in items):
        raise ValueError(f"{option} must be png, svg or png,svg, got {text!r}")
    return items


def default_out(command: str, root: str | os.PathLike[str] = "reports") -> Path:
    """``reports/<command>-<UTC time>-<6 hex digits>``: a folder name not in use.

    The random part keeps two reports made in the same second (two processes) apart, so
    neither replaces the other (``build`` replaces only a report it was told to).
    """
    stamp = datetime.now(timezone.utc).strftime("%Y%m%d-%H%M%S")
    while True:
        path = Path(root) / f"{command}-{stamp}-{secrets.token_hex(3)}"
        if not path.exists():
            return path


def check_out(out: Path) -> None:
    """ValueError unless ``out`` is new, an empty folder, or a previous report."""
    if not out.exists():
        return
    if not out.is_dir():
        raise ValueError(f"--out {out} exists and is not a folder")
    if any(out.iterdir()) and not (out / MARKER).exists():
        raise ValueError(f"--out {out} is a folder with other files; give a new or empty folder")


def load(paths: Sequence[str | os.PathLike[str]]) -> tuple[str, list[Source]]:
    """Read and check every input: results files and sweeps' results folders (or their
    manifest, or their merged ``sweep.json``); return the report's name (the command,
    or ``report`` for several) and the sources.  ValueError (one line) on bad input."""
    if not paths:
        raise ValueError("RESULTS: give at least one results file or sweep folder")
    sources = []
    for p in paths:
        if sweeps.is_sweep(p):
            source = sweeps.read_sweep(p)
        elif Path(p).is_dir():
            raise ValueError(
                f"{p} is a folder without {sweeps.MANIFEST}: give results files or a sweep's "
                "results folder"
            )
        else:
            source = Source(Path(p).name, read_json(p), str(p))
            if source.doc.get("command") == "sweep":
                source = sweeps.from_merged(source)
        sources.append(source)
    check_all(sources)
    return report_name(sources), sources


def check_all(sources: list[Source]) -> None:
    """Check every source's layout (results files: ``load.check``; sweeps: ``sweeps``)."""
    for s in sources:
        if s.doc.get("command") == "sweep" and isinstance(s.doc.get("units"), list):
            sweeps.check(s)
        else:
            check(s)


def build(
    sources: list[Source],
    out: str | os.PathLike[str] | None = None,
    formats: Sequence[str] = ("png", "svg"),
    dpi: int = figures.DPI,
    on_step: Callable[[str], None] | None = None,
    labels: Sequence[str] | None = None,
) -> Written:
    """Build the report of ``sources`` into ``out`` (module docstring: its sections)."""
    check_all(sources)
    name = report_name(sources)
    formats = tuple(formats)
    if not formats or any(f not in figures.FORMATS for f in formats):
        raise ValueError(f"plot formats must be among {', '.join(figures.FORMATS)}, got {formats}")
    if not 20 <= dpi <= 600:
        raise ValueError(f"--dpi must be in [20, 600], got {dpi}")
    given = overlay.labels([s.path or s.name for s in sources], list(labels) if labels else None)
    parts = groups(sources, given)
    dest = Path(out) if out is not None else default_out(name)
    check_out(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{dest.name}.", dir=dest.parent))
    try:
        report = Report(name, report_title(parts))
        used: set[str] = set()
        for g in parts:
            report.sections.append(build_section(g, tmp, formats, dpi, used, on_step))
        # The first format is the one shown: linked from the Markdown, embedded in the HTML.
        (tmp / "report.md").write_text(markdown.render(report, formats[0]))
        (tmp / "report.html").write_text(html.render(report, formats[0]))
        _move_into_place(tmp, dest)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    files = sorted(p.name for p in dest.iterdir())
    plots = [f.name for s in report.sections for f in s.figures]
    return Written(
        str(dest), name, [s.name for s in sources], files, plots, [s.title for s in report.sections]
    )


def _move_into_place(tmp: Path, dest: Path) -> None:
    """Rename ``tmp`` to ``dest``; an existing report (or empty folder) there is replaced."""
    old = None
    if dest.exists():
        old = Path(tempfile.mkdtemp(prefix=f".{dest.name}.old.", dir=dest.parent))
        os.replace(dest, old / "report")
    try:
        os.replace(tmp, dest)
    except BaseException:
        if old is not None:
            os.replace(old / "report", dest)
        raise
    finally:
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
    os.chmod(dest, 0o777 & ~_umask())  # mkdtemp made it 0700


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def build_report(
    paths: Sequence[str | os.PathLike[str]],
    out: str | os.PathLike[str] | None = None,
    formats: Sequence[str] = ("png", "svg"),
    dpi: int = figures.DPI,
    on_step: Callable[[str], None] | None = None,
    labels: Sequence[str] | None = None,
) -> Written:
    """Read results files and sweep folders and build their report; ValueError on bad
    input.  ``labels``: one per path, naming its series where files are overlaid."""
    _, sources = load(paths)
    return build(sources, out, formats, dpi, on_step, labels)


def report_for(
    doc: dict[str, Any],
    out: str | os.PathLike[str] | None = None,
    name: str = "results",
    on_step: Callable[[str], None] | None = None,
) -> Written:
    """The report of one in-memory results document (for other commands' ``--report``).

    The document is first made exactly what its results file holds (NumPy to lists,
    NaN/Inf to null, ``results.to_jsonable``), so the report is the same as one rebuilt from
    the file.
    """
    plain = json.loads(json.dumps(to_jsonable(doc)))
    return build([Source(name, plain)], out, on_step=on_step)
