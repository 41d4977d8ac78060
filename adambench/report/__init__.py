"""Reports from results files: plots (PNG/SVG), a Markdown file and a self-contained HTML file.

``build_report(paths, out)`` reads results files (regret, bench, run, ablate) and sweeps'
results folders and writes ``out/report.html``, ``out/report.md`` and the plots beside
them: a section per command, several files of one command overlaid in its plots, a
section per sweep (``build.py``); ``report_for(doc, out)`` does the same for a document
in memory.  matplotlib is imported only when a plot is drawn.
"""

from .build import Written, build_report, default_out, report_for

__all__ = ["Written", "build_report", "default_out", "report_for"]
