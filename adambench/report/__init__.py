"""Reports from results files: plots (PNG/SVG), a Markdown file and a self-contained HTML file.

``build_report(paths, out)`` reads results files of one command (regret, bench, run,
ablate) and writes ``out/report.html``, ``out/report.md`` and the plots beside them;
``report_for(doc, out)`` does the same for a document in memory.  matplotlib is imported
only when a plot is drawn.
"""

from .build import Written, build_report, default_out, report_for

__all__ = ["Written", "build_report", "default_out", "report_for"]
