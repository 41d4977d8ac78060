"""``adambench report`` through the real entry point: files written, --json, and bad
input (malformed, mixed, unknown options) as one line on stderr, exit 2, nothing written."""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("matplotlib")

_spec = importlib.util.spec_from_file_location(
    "report_docs", Path(__file__).parents[1] / "report" / "report_docs.py"
)
report_docs = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(report_docs)

MAIN = "import sys; from adambench.cli.app import main; sys.argv[0] = 'adambench'; main()"


def run_cli(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    env = dict(os.environ, NO_COLOR="1", COLUMNS="200", TERM="dumb")
    return subprocess.run(
        [sys.executable, "-c", MAIN, *args],
        capture_output=True, text=True, env=env, timeout=300, cwd=cwd, stdin=subprocess.DEVNULL,
    )  # fmt: skip


def one_line_error(proc: subprocess.CompletedProcess, phrase: str) -> None:
    assert proc.returncode == 2, proc
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error:"), proc.stderr
    assert phrase in lines[0]
    assert "Traceback" not in proc.stderr and proc.stdout == ""


def test_report_json_lists_what_was_written(tmp_path: Path) -> None:
    src = report_docs.write(tmp_path, "run")
    proc = run_cli("report", str(src), "--out", str(tmp_path / "r"), "--json", "--dpi", "40")
    assert proc.returncode == 0, proc.stderr
    got = json.loads(proc.stdout)
    assert got["command"] == "run" and got["out"] == str(tmp_path / "r")
    assert set(got["files"]) == set(os.listdir(tmp_path / "r"))
    assert {"report.html", "report.md", "loss-logreg.png", "loss-logreg.svg"} <= set(got["files"])


def test_default_out_folder_and_table(tmp_path: Path) -> None:
    src = report_docs.write(tmp_path, "ablate")
    proc = run_cli("report", str(src), "--plot-format", "svg", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    made = list((tmp_path / "reports").iterdir())
    assert len(made) == 1 and made[0].name.startswith("ablate-")
    assert sorted(os.listdir(made[0])) == ["ablation.svg", "report.html", "report.md"]
    assert "ablation.svg" in proc.stdout


@pytest.mark.parametrize(
    "make, phrase",
    [
        (lambda d: (d / "x.json").write_text("{not json"), "is not valid JSON"),
        (lambda d: (d / "x.json").write_text('{"schema": "other"}'), "not an adambench results"),
        (lambda d: (d / "x.json").write_text(json.dumps({**report_docs.regret_doc(), "rows": []})),
         "rows is empty"),
    ],
)  # fmt: skip
def test_malformed_results_exit_2(tmp_path: Path, make, phrase) -> None:
    make(tmp_path)
    proc = run_cli("report", str(tmp_path / "x.json"), "--out", str(tmp_path / "r"))
    one_line_error(proc, phrase)
    assert not (tmp_path / "r").exists()


def test_mixed_and_missing_exit_2(tmp_path: Path) -> None:
    a, b = report_docs.write(tmp_path, "bench"), report_docs.write(tmp_path, "regret")
    one_line_error(  # files of two commands are two sections; a wrong label count is refused
        run_cli("report", str(a), str(b), "--labels", "x", "--out", str(tmp_path / "r")),
        "--labels: give one label per results file or folder (2 inputs, 1 label(s))",
    )
    one_line_error(run_cli("report", str(tmp_path / "none.json")), "cannot read")
    one_line_error(run_cli("report", str(a), "--format", "jpg"), "--format must be")
    one_line_error(run_cli("report", str(a), "--plot-format", "jpg"), "--plot-format must be")
    one_line_error(run_cli("report", str(a), "--format", "svg"), "use --plot-format svg")
    one_line_error(run_cli("report", str(a), "--dpi", "5"), "--dpi must be in [20, 600]")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bench.json", "regret.json"]


def test_attach_report_takes_a_document_in_memory(tmp_path: Path, capsys) -> None:
    """What other commands' --report call: NumPy arrays and NaN as a command makes them."""
    import numpy as np

    from adambench.cli.report import attach_report

    doc = report_docs.run_doc()
    point = doc["tasks"][0]["optimizers"][0]["grid"][0]
    point["train_loss_curves"] = np.asarray(point["train_loss_curves"])
    point["test_accuracy"] = np.array([np.nan, 0.5])
    path = attach_report(doc, "run-x.json", tmp_path / "r")
    assert path == tmp_path / "r" / "report.html" and path.is_file()
    assert "report: " in capsys.readouterr().err
    assert "run-x.json" in path.read_text()
