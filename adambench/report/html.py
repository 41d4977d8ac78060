"""The HTML report: one self-contained file, plots embedded as base64 data URIs.

No external resource of any kind (no http(s) src or href, no web fonts, no scripts):
the file opens the same offline, attached to an e-mail or pasted into a pull request.
"""

from __future__ import annotations

import base64
from html import escape

from .model import Figure, Report
from .tables import Table

MIME = {"png": "image/png", "svg": "image/svg+xml"}

CSS = """
body{font-family:system-ui,-apple-system,"Segoe UI",sans-serif;max-width:1100px;margin:2em auto;
padding:0 1em;color:#222;line-height:1.4}
h1{font-size:1.6em}h2{border-bottom:1px solid #ddd;padding-bottom:.2em;font-size:1.3em}
table{border-collapse:collapse;font-size:.85em;margin:.5em 0 1.5em}
th,td{border:1px solid #ddd;padding:.2em .5em;text-align:left;vertical-align:top}
th{background:#f4f4f4}td.n{text-align:right;font-variant-numeric:tabular-nums}
figure{margin:1em 0 2em}figure img{max-width:100%;height:auto;border:1px solid #eee}
figcaption{font-size:.85em;color:#555}.note{font-size:.85em;color:#555}
ul.summary li{margin:.3em 0}details{margin:1em 0}
"""


def _numeric(text: str) -> bool:
    t = text.rstrip("%x*").split(" ", 1)[0]
    try:
        float(t)
    except ValueError:
        return False
    return True


def table(t: Table) -> str:
    head = "".join(f"<th>{escape(h)}</th>" for h in t.header)
    body = "".join(
        "<tr>"
        + "".join(
            f'<td class="n">{escape(c)}</td>' if _numeric(c) else f"<td>{escape(c)}</td>" for c in r
        )
        + "</tr>"
        for r in t.rows
    )
    note = f'<p class="note">{escape(t.note)}</p>' if t.note else ""
    title = f"<h4>{escape(t.title)}</h4>" if t.title else ""
    return f"{title}<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>{note}"


def image(f: Figure, prefer: str) -> str:
    fmt = prefer if prefer in f.data else next(iter(f.data))
    uri = f"data:{MIME[fmt]};base64," + base64.b64encode(f.data[fmt]).decode("ascii")
    return (
        f'<figure id="{escape(f.name)}"><img src="{uri}" alt="{escape(f.title)}">'
        f"<figcaption><b>{escape(f.title)}.</b> {escape(f.caption)}</figcaption></figure>"
    )


def _sources(files: list[tuple[str, str, str]]) -> str:
    if len(files) == 1:
        _, name, created = files[0]
        return f"Results: <code>{escape(name)}</code>, created {escape(created)}."
    return (
        "Results, one series per file: "
        + "; ".join(
            f"<code>{escape(name)}</code> as <b>{escape(label)}</b>, created {escape(created)}"
            for label, name, created in files
        )
        + "."
    )


def render(report: Report, prefer: str = "svg") -> str:
    """The HTML document; each plot embedded once, in format ``prefer`` when saved in it."""
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{escape(report.title)}</title><style>{CSS}</style></head><body>",
        f"<h1>{escape(report.title)}</h1>",
    ]
    for s in report.sections:
        parts.append("<section>")
        parts.append(f"<h2>{escape(s.title)}</h2>")
        parts.append(f'<p class="note">{_sources(s.files)}</p>')
        parts.append('<h3>Summary</h3><ul class="summary">')
        parts += [f"<li>{escape(line)}</li>" for line in s.summary]
        parts.append("</ul><h3>Plots</h3>")
        parts += [image(f, prefer) for f in s.figures]
        parts.append("<h3>Tables</h3>")
        parts += [table(t) for t in s.tables]
        parts.append("<h3>Configuration</h3>" + table(s.config))
        parts.append("<details><summary>Environment</summary>" + table(s.environment))
        parts.append("</details></section>")
    parts.append("</body></html>")
    return "\n".join(parts) + "\n"
