"""``--report`` on the commands builds a report beside their results file:
``<results folder>/<results file name>-report/`` (results/ by default), not in reports/."""

from __future__ import annotations

import subprocess
import sys
from html.parser import HTMLParser

import pytest

MAIN = "from adambench.cli.app import main; main()"

CASES = {
    "regret": ["regret", "-p", "reddi", "-o", "adam,amsgrad", "--T", "2000", "--seeds", "2"],
    "run": [
        "run",
        "--tasks",
        "logreg",
        "--optimizers",
        "adam",
        "--epochs",
        "2",
        "--seeds",
        "2",
        "--lr-grid",
        "0.01,0.1",
        "--out",
        "results",
    ],  # fmt: skip
}


@pytest.mark.parametrize("command", sorted(CASES))
def test_report_flag_builds_a_report(tmp_path, command):
    proc = subprocess.run(
        [sys.executable, "-c", MAIN, *CASES[command], "--report", "--json"],
        cwd=tmp_path, capture_output=True, text=True, timeout=900,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.lstrip().startswith("{")  # --json stays machine-readable
    (results,) = (tmp_path / "results").glob(f"{command}-*.json")
    reports = list((tmp_path / "results").glob(f"{command}-*-report/report.html"))
    assert reports == [tmp_path / "results" / f"{results.stem}-report" / "report.html"]
    assert not (tmp_path / "reports").exists()
    assert f"report: {reports[0].relative_to(tmp_path)}" in proc.stderr.replace("\n", "") or (
        "report:" in proc.stderr
    )
    html = reports[0].read_text()
    HTMLParser().feed(html)
    assert "<img" in html or "<svg" in html
