"""``adambench run`` interrupted, and its plan: what is kept, what is said, what is written.

A real signal, sent by the process to itself when a chosen (task, optimizer) batch
starts (a hook around ``train_batch``), goes through the entry point's handlers
(cli/app.py): the finished tasks, and the finished optimizers of the current task marked
incomplete, are written to a results file marked ``"complete": false``; one line
``interrupted: kept N finished task(s) ... in PATH``; exit 130 (143 on SIGTERM); and
``adambench report`` reads the file and says it is partial.  Interrupted before any
optimizer finished: nothing is written.  ``--dry-run`` plans, costs and writes nothing.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys

import pytest

from adambench.results import read_json

HOOKED = """
import os, signal, sys
import adambench.experiments.training as t
orig = t.train_batch
def train_batch(task, data, optimizer, *a, **k):
    if f"{task.name}:{optimizer}" == os.environ["KILL_AT"]:
        os.kill(os.getpid(), getattr(signal, os.environ["KILL_SIG"]))
    return orig(task, data, optimizer, *a, **k)
t.train_batch = train_batch
from adambench.cli.app import main
sys.argv[0] = "adambench"
main()
"""
MAIN = "import sys; from adambench.cli.app import main; sys.argv[0] = 'adambench'; main()"
TINY = ["--problems", "logreg,mlp", "-o", "adam,sgd", "--epochs", "2", "--seeds", "2"]
TINY += ["--lr", "0.01,0.1", "--width", "0.05"]


def _run(code: str, *args: str, **env: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-c", code, *args],
        capture_output=True,
        text=True,
        timeout=600,
        stdin=subprocess.DEVNULL,
        env=dict(os.environ, NO_COLOR="1", COLUMNS="200", TERM="dumb", **env),
    )


@pytest.mark.parametrize(("sig", "code"), [("SIGINT", 130), ("SIGTERM", 143)])
def test_interrupt_keeps_the_finished_task_and_optimizers(tmp_path, sig, code):
    out = tmp_path / "out"
    proc = _run(HOOKED, "run", *TINY, "--out", str(out), KILL_AT="mlp:sgd", KILL_SIG=sig)
    assert proc.returncode == code, proc.stderr
    assert "Traceback" not in proc.stderr and proc.stdout == ""
    (path,) = out.glob("run-*.json")
    last = proc.stderr.strip().splitlines()[-1]
    assert last == (
        "interrupted: kept 1 finished task(s) and mlp's 1 finished optimizer(s) (marked "
        f"incomplete) in {path}"
    ), proc.stderr
    doc = read_json(path, command="run")
    assert doc["complete"] is False
    assert doc["interrupted"] == {
        "signal": sig,
        "finished_tasks": ["logreg"],
        "incomplete_tasks": ["mlp"],
        "not_started": [],
    }
    logreg, mlp = doc["tasks"]
    assert logreg["complete"] is True and [e["optimizer"] for e in logreg["optimizers"]] == [
        "adam",
        "sgd",
    ]
    assert mlp["complete"] is False and mlp["missing_optimizers"] == ["sgd"]
    assert [e["optimizer"] for e in mlp["optimizers"]] == ["adam"]
    if sig == "SIGINT":  # the report reads the partial file and says so
        rep = tmp_path / "rep"
        proc = _run(MAIN, "report", str(path), "--out", str(rep))
        assert proc.returncode == 0, proc.stderr
        md = " ".join((rep / "report.md").read_text().split())
        assert "Partial results: the run was interrupted (SIGINT); 1 task(s) finished" in md
        assert "mlp (incomplete: not trained: sgd)" in md


def test_interrupt_before_anything_finished_writes_nothing(tmp_path):
    out = tmp_path / "out"
    proc = _run(HOOKED, "run", *TINY, "--out", str(out), KILL_AT="logreg:adam", KILL_SIG="SIGINT")
    assert proc.returncode == 130, proc.stderr
    assert proc.stderr.strip().splitlines()[-1] == "interrupted"
    assert not out.exists() or list(out.iterdir()) == []


def test_a_complete_run_says_its_estimate_first_and_is_marked_complete(tmp_path):
    proc = _run(MAIN, "run", *TINY, "--out", str(tmp_path))
    assert proc.returncode == 0, proc.stderr
    first = proc.stderr.splitlines()[0]
    assert re.match(
        r"estimate: 16 runs, about [\d.]+ (s|min), peak [\d.]+ [KMG]?i?B of arrays", first
    )
    (path,) = tmp_path.glob("run-*.json")
    doc = read_json(path, command="run")
    assert doc["complete"] is True and "interrupted" not in doc
    est = doc["estimate"]
    assert est["runs"] == 16 and est["seconds"] > 0 and "timed" in est["method"]
    assert [t["task"] for t in est["tasks"]] == ["logreg", "mlp"]


def test_dry_run_plans_and_writes_nothing(tmp_path):
    out = tmp_path / "out"
    args = ["run", "-p", "mlp,cnn", "-o", "adam,sgd", "--epochs", "50", "--seeds", "5"]
    args += ["--width", "0.05", "--dry-run", "--out", str(out)]
    proc = _run(MAIN, *args)
    assert proc.returncode == 0, proc.stderr
    text = " ".join(proc.stdout.split())
    assert "plan: tasks mlp, cnn; optimizers adam, sgd; 5 seed(s) (0..4); 50 epochs" in text
    for task in ("mlp", "cnn"):
        assert re.search(
            rf"{task} \(\d+ parameters\): 2 optimizer\(s\) x 5 grid point\(s\) x 5 seed\(s\) "
            r"= 50 runs x 50 epochs: about [\d.]+ (s|min|h), peak [\d.]+ [KMG]?i?B of arrays",
            text,
        ), text
    assert "total: 100 runs, about" in text and "timed here before the run" in text
    assert not out.exists()
    proc = _run(MAIN, *args, "--json")
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(proc.stdout)
    assert doc["dry_run"] is True and doc["plan"]["epochs"] == 50
    assert doc["estimate"]["runs"] == 100 and doc["estimate"]["seconds"] > 0
    assert [b["runs"] for t in doc["estimate"]["tasks"] for b in t["batches"]] == [25] * 4
    assert not out.exists()
