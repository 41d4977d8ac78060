"""Build a report from results files: plots, Markdown, self-contained HTML, all or nothing.

The report is assembled in a temporary folder beside its destination and moved into
place only when every file is written, so a bad input or a crash leaves nothing behind
(docs/design.md, "Results are data"; reports are rebuilt from results alone).
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

from ..results import to_jsonable
from . import figures, html, markdown, plots_ablation, plots_bench, plots_regret, plots_training
from .load import Source, check_sources, load
from .model import Figure, Report, Section
from .summary import SUMMARIES
from .tables import TABLES, key_values

PLOTS = {
    "regret": plots_regret.plots,
    "bench": plots_bench.plots,
    "run": plots_training.plots,
    "ablate": plots_ablation.plots,
}
TITLES = {
    "regret": "adambench regret: online regret against the theory",
    "bench": "adambench bench: update kernels against the memory roofline",
    "run": "adambench run: optimizers on the paper's tasks",
    "ablate": "adambench ablate: bias correction (Kingma & Ba section 6.4)",
}
MARKER = "report.md"  # a folder holding this is a report and may be replaced


@dataclass
class Written:
    """What ``build_report`` wrote (``--json`` prints this)."""

    out: str
    command: str
    sources: list[str]
    files: list[str]
    plots: list[str]

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def parse_formats(text: str) -> tuple[str, ...]:
    """'png,svg' -> ('png', 'svg'); ValueError naming the allowed values."""
    items = tuple(dict.fromkeys(s.strip().lower() for s in text.split(",") if s.strip()))
    if not items or any(f not in figures.FORMATS for f in items):
        raise ValueError(f"--format must be png, svg or png,svg, got {text!r}")
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


def read_section(source: Source, command: str, suffix: str = "") -> tuple[list, list, list]:
    """The plots, tables and summary of one checked document.

    The loader checks the sections a report reads; a value it missed that still breaks
    the reading (a wrong type deep in a row, a zero where a division needs a number) is
    bad input too: a one-line ValueError naming the file, never a traceback.
    """
    doc = source.doc
    try:  # the figures are plain matplotlib Figures (no pyplot): nothing to close
        return PLOTS[command](doc, suffix), TABLES[command](doc), SUMMARIES[command](doc)
    except (KeyError, TypeError, IndexError, AttributeError, ArithmeticError, ValueError) as e:
        raise ValueError(
            f"{source.name}: malformed {command} results ({type(e).__name__}: {e})"
        ) from None


def _section(
    source: Source,
    command: str,
    suffix: str,
    folder: Path,
    formats: tuple[str, ...],
    dpi: int,
    on_step: Callable[[str], None] | None,
) -> Section:
    doc = source.doc
    drawn, tables, summary = read_section(source, command, suffix)
    figs = []
    try:
        for plot in drawn:
            files, data = {}, {}
            for fmt in formats:
                blob = figures.render(plot, fmt, dpi)
                name = f"{plot.name}.{fmt}"
                (folder / name).write_bytes(blob)
                files[fmt], data[fmt] = name, blob
            figs.append(Figure(plot.name, plot.title, plot.caption, files, data))
            if on_step is not None:
                on_step(plot.name)
    except (KeyError, TypeError, IndexError, AttributeError, ArithmeticError, ValueError) as e:
        raise ValueError(
            f"{source.name}: malformed {command} results ({type(e).__name__}: {e})"
        ) from None
    return Section(
        source=source.name,
        created=str(doc.get("created", "?")),
        summary=summary,
        figures=figs,
        tables=tables,
        config=key_values("", doc["config"]),
        environment=key_values("", doc.get("machine") or doc.get("environment") or {}),
    )


def build(
    sources: list[Source],
    out: str | os.PathLike[str] | None = None,
    formats: Sequence[str] = ("png", "svg"),
    dpi: int = 100,
    on_step: Callable[[str], None] | None = None,
) -> Written:
    """Build the report of ``sources`` (documents of one command) into ``out``."""
    command, sources = check_sources(sources)
    formats = tuple(formats)
    if not formats or any(f not in figures.FORMATS for f in formats):
        raise ValueError(f"plot formats must be among {', '.join(figures.FORMATS)}, got {formats}")
    if not 20 <= dpi <= 600:
        raise ValueError(f"--dpi must be in [20, 600], got {dpi}")
    dest = Path(out) if out is not None else default_out(command)
    check_out(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{dest.name}.", dir=dest.parent))
    try:
        report = Report(command, TITLES[command])
        many = len(sources) > 1
        for i, s in enumerate(sources):
            suffix = f"-{i + 1}" if many else ""
            report.sections.append(_section(s, command, suffix, tmp, formats, dpi, on_step))
        # The first format is the one shown: linked from the Markdown, embedded in the HTML.
        (tmp / "report.md").write_text(markdown.render(report, formats[0]))
        (tmp / "report.html").write_text(html.render(report, formats[0]))
        _move_into_place(tmp, dest)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    files = sorted(p.name for p in dest.iterdir())
    plots = [f.name for s in report.sections for f in s.figures]
    return Written(str(dest), command, [s.name for s in sources], files, plots)


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
    dpi: int = 100,
    on_step: Callable[[str], None] | None = None,
) -> Written:
    """Read results files (one command) and build their report; ValueError on bad input."""
    _, sources = load(paths)
    return build(sources, out, formats, dpi, on_step)


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
