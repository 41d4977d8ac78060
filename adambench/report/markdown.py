"""The Markdown report: per section (``## title``: command, files and times), the summary,
plots (files beside it), tables, configuration and environment."""

from __future__ import annotations

from .model import Report
from .tables import Table


def _cell(text: str) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def table(t: Table) -> str:
    lines = [f"**{t.title}**", ""] if t.title else []
    lines.append("| " + " | ".join(map(_cell, t.header)) + " |")
    lines.append("|" + "|".join("---" for _ in t.header) + "|")
    lines += ["| " + " | ".join(map(_cell, r)) + " |" for r in t.rows]
    if t.note:
        lines += ["", f"_{t.note}_"]
    return "\n".join(lines) + "\n"


def sources_line(files: list[tuple[str, str, str]]) -> str:
    """The results files a section reads, with their series labels when several."""
    if len(files) == 1:
        _, name, created = files[0]
        return f"Results: `{name}`, created {created}."
    return (
        "Results, one series per file: "
        + "; ".join(f"`{name}` as {label}, created {created}" for label, name, created in files)
        + "."
    )


def render(report: Report, image_format: str) -> str:
    """Markdown text; images link to the ``image_format`` files in the same folder."""
    out = [f"# {report.title}", ""]
    for s in report.sections:
        out += [f"## {_cell(s.title)}", "", sources_line(s.files), ""]
        out += ["### Summary", ""] + [f"- {line}" for line in s.summary] + [""]
        out += ["### Plots", ""]
        for f in s.figures:
            fmt = image_format if image_format in f.files else next(iter(f.files))
            other = [f"[{k.upper()}]({v})" for k, v in f.files.items() if k != fmt]
            out += [f"![{f.title}]({f.files[fmt]})", "", f"*{f.title}.* {f.caption}"]
            out += [" ".join(other), ""] if other else [""]
        out += ["### Tables", ""]
        for t in s.tables:
            out += [table(t)]
        out += [
            "### Configuration",
            "",
            table(s.config),
            "### Environment",
            "",
            table(s.environment),
        ]
    return "\n".join(out).rstrip() + "\n"
