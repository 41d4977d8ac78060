"""One section of a report: the plots, tables and summary of one command's results.

A section is a group of sources of one command (a sweep is a group alone), read by that
command's own readers (``PLOTS``, ``report.tables.TABLES``, ``report.summary.SUMMARIES``;
a sweep's in ``sweeps.py``).  Several files of one command make one section whose plots
overlay them, one labelled series per file (``overlay.py``), with each file's tables and
summary under its label.  Every section is titled by its command, files and times, so no
two sections of a report read the same.  A value that breaks a reader is bad input: a
one-line ValueError naming the file, never a traceback.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from . import (
    figures,
    overlay,
    phase,
    plots_ablation,
    plots_bench,
    plots_regret,
    plots_training,
    sweeps,
)
from .load import Source
from .model import Figure, Section
from .summary import SUMMARIES
from .tables import TABLES, Table, flatten, key_values

PLOTS = {
    "regret": plots_regret.plots,
    "bench": plots_bench.plots,
    "run": plots_training.plots,
    "ablate": plots_ablation.plots,
    "phase": phase.plots,
}
TITLES = {
    "regret": "adambench regret: online regret against the theory",
    "bench": "adambench bench: update kernels against the memory roofline",
    "run": "adambench run: optimizers on the paper's tasks",
    "ablate": "adambench ablate: bias correction (Kingma & Ba section 6.4)",
    "sweep": "adambench sweep: a grid of runs",
    "phase": "adambench phase: where a rule converges, cell by cell",
}
# The phase section's tables and summary live beside its plots (report/phase.py).
TABLES["phase"], SUMMARIES["phase"] = phase.tables, phase.summary
_BAD = (KeyError, TypeError, IndexError, AttributeError, ArithmeticError, ValueError)


def read_section(source: Source, command: str, suffix: str = "") -> tuple[list, list, list]:
    """The plots, tables and summary of one checked document.

    The loader checks the sections a report reads; a value it missed that still breaks
    the reading (a wrong type deep in a row, a zero where a division needs a number) is
    bad input too: a one-line ValueError naming the file, never a traceback.
    """
    doc = source.doc
    try:  # the figures are plain matplotlib Figures (no pyplot): nothing to close
        if command == "sweep":
            return sweeps.plots(doc, suffix), sweeps.tables(doc), sweeps.summary(doc)
        return PLOTS[command](doc, suffix), TABLES[command](doc), SUMMARIES[command](doc)
    except _BAD as e:
        raise ValueError(
            f"{source.name}: malformed {command} results ({type(e).__name__}: {e})"
        ) from None


@dataclass
class Group:
    """The sources of one section and their labels."""

    command: str
    sources: list[Source]
    labels: list[str]


def groups(sources: list[Source], labels: list[str]) -> list[Group]:
    """One group per command in order of first appearance; a sweep is a group alone."""
    out: list[Group] = []
    by_command: dict[str, Group] = {}
    for s, label in zip(sources, labels, strict=True):
        command = str(s.doc["command"])
        if command == "sweep":
            out.append(Group(command, [s], [label]))
            continue
        if command not in by_command:
            by_command[command] = Group(command, [], [])
            out.append(by_command[command])
        by_command[command].sources.append(s)
        by_command[command].labels.append(label)
    return out


def when(created: Any) -> str:
    """'2026-12-02T07:47:24+00:00' -> '2026-12-02 07:47:24 UTC' (as given if not a time)."""
    try:
        t = datetime.fromisoformat(str(created))
    except ValueError:
        return str(created)
    if t.tzinfo is not None:
        t = t.astimezone(timezone.utc)
    return t.strftime("%Y-%m-%d %H:%M:%S") + (" UTC" if t.tzinfo is not None else "")


def title(group: Group) -> str:
    """The section's title: its command, its files (with their labels when several) and
    when they were made, so that no two sections of any report read the same."""
    if group.command == "sweep":
        s, doc = group.sources[0], group.sources[0].doc
        sw = doc["sweep"]
        return (
            f"sweep {sw['name']} ({sw['kind']}, id {sw['id']}): {s.name}, "
            f"{when(doc.get('created'))}"
        )
    if len(group.sources) == 1:
        s = group.sources[0]
        return f"{group.command}: {s.name}, {when(s.doc.get('created', '?'))}"
    files = "; ".join(
        f"{label} = {s.name}, {when(s.doc.get('created', '?'))}"
        for s, label in zip(group.sources, group.labels, strict=True)
    )
    return f"{group.command}, {len(group.sources)} files overlaid: {files}"


def _labelled(t: Table, label: str) -> Table:
    return replace(t, title=f"{t.title} ({label})" if t.title else label)


def side_by_side(docs: list[dict[str, Any]], labels: list[str]) -> Table:
    """Nested configurations (or environments) as one table, a column per file."""
    flat = [dict(flatten(d)) for d in docs]
    keys = list(dict.fromkeys(k for f in flat for k in f))
    rows = [[k, *(f.get(k, "-") for f in flat)] for k in keys]
    return Table("", ["key", *labels], rows)


def _read_group(group: Group) -> tuple[list, list, list, Table, Table]:
    """Plots, tables, summary, configuration and environment of one section."""
    if len(group.sources) == 1:
        s = group.sources[0]
        drawn, tables, summary = read_section(s, group.command)
        env = s.doc.get("machine") or s.doc.get("environment") or {}
        return drawn, tables, summary, key_values("", s.doc["config"]), key_values("", env)
    pairs = [(label, s.doc) for s, label in zip(group.sources, group.labels, strict=True)]
    names = ", ".join(s.name for s in group.sources)
    try:
        drawn = PLOTS[group.command](overlay.merge(group.command, pairs))
    except _BAD as e:
        raise ValueError(
            f"{names}: malformed {group.command} results ({type(e).__name__}: {e})"
        ) from None
    tables, summary = [], []
    for s, label in zip(group.sources, group.labels, strict=True):
        t, lines = _tables_summary(s, group.command)
        tables += [_labelled(x, label) for x in t]
        summary += [f"{label}: {line}" for line in lines]
    docs = [s.doc for s in group.sources]
    config = side_by_side([d["config"] for d in docs], group.labels)
    env = side_by_side([d.get("machine") or d.get("environment") or {} for d in docs], group.labels)
    return drawn, tables, summary, config, env


def _tables_summary(source: Source, command: str) -> tuple[list, list]:
    try:
        return TABLES[command](source.doc), SUMMARIES[command](source.doc)
    except _BAD as e:
        raise ValueError(
            f"{source.name}: malformed {command} results ({type(e).__name__}: {e})"
        ) from None


def _unique(name: str, used: set[str]) -> str:
    """``name``, or ``name-2``, ``name-3``... when a section before took it."""
    out, k = name, 1
    while out in used:
        k += 1
        out = f"{name}-{k}"
    used.add(out)
    return out


def build_section(
    group: Group,
    folder: Path,
    formats: tuple[str, ...],
    dpi: int,
    used: set[str],
    on_step: Callable[[str], None] | None,
) -> Section:
    """The section of ``group``: its plots written to ``folder`` in every format (names
    unique in the report: ``used``), its tables, summary, configuration and environment."""
    drawn, tables, summary, config, env = _read_group(group)
    names = ", ".join(s.name for s in group.sources)
    figs = []
    try:
        for plot in drawn:
            stem = _unique(plot.name, used)
            files, data = {}, {}
            for fmt in formats:
                blob = figures.render(plot, fmt, dpi)
                name = f"{stem}.{fmt}"
                (folder / name).write_bytes(blob)
                files[fmt], data[fmt] = name, blob
            figs.append(Figure(stem, plot.title, plot.caption, files, data))
            if on_step is not None:
                on_step(stem)
    except _BAD as e:
        raise ValueError(
            f"{names}: malformed {group.command} results ({type(e).__name__}: {e})"
        ) from None
    return Section(
        title=title(group),
        command=group.command,
        files=[
            (label, s.name, when(s.doc.get("created", "?")))
            for s, label in zip(group.sources, group.labels, strict=True)
        ],
        summary=summary,
        figures=figs,
        tables=tables,
        config=config,
        environment=env,
    )


def report_title(groups: list[Group]) -> str:
    commands = list(dict.fromkeys(g.command for g in groups))
    if len(commands) > 1:
        return "adambench report: " + ", ".join(commands)
    if commands == ["sweep"] and len(groups) == 1:
        return f"adambench sweep: {groups[0].sources[0].doc['sweep']['name']}"
    return TITLES[commands[0]]
