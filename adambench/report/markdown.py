"""The Markdown report: summary, plots (files beside it), tables, configuration, environment."""

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


def render(report: Report, image_format: str) -> str:
    """Markdown text; images link to the ``image_format`` files in the same folder."""
    out = [f"# {report.title}", ""]
    many = len(report.sections) > 1
    for s in report.sections:
        h = "##" if not many else "###"
        if many:
            out += [f"## {s.source}", ""]
        out += [f"Results: `{s.source}`, created {s.created}.", ""]
        out += [f"{h} Summary", ""] + [f"- {line}" for line in s.summary] + [""]
        out += [f"{h} Plots", ""]
        for f in s.figures:
            fmt = image_format if image_format in f.files else next(iter(f.files))
            other = [f"[{k.upper()}]({v})" for k, v in f.files.items() if k != fmt]
            out += [f"![{f.title}]({f.files[fmt]})", "", f"*{f.title}.* {f.caption}"]
            out += [" ".join(other), ""] if other else [""]
        out += [f"{h} Tables", ""]
        for t in s.tables:
            out += [table(t)]
        out += [
            f"{h} Configuration",
            "",
            table(s.config),
            f"{h} Environment",
            "",
            table(s.environment),
        ]
    return "\n".join(out).rstrip() + "\n"
