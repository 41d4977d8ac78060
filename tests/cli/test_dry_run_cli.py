"""``--dry-run`` on regret, bench and ablate: the plan and its estimated time and memory,
exit 0, nothing run and nothing written; bad input still exit 2 before any plan."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
from typer.testing import CliRunner

from adambench.cli.app import app
from adambench.core.registry import RULES
from adambench.sweep import costs

MAIN = "from adambench.cli.app import main; main()"


def _invoke(tmp_path, *args: str):
    cwd = os.getcwd()
    os.chdir(tmp_path)  # a default results/ folder would appear here
    try:
        return CliRunner().invoke(app, list(args))
    finally:
        os.chdir(cwd)


def _nothing_written(tmp_path):
    assert sorted(p.name for p in tmp_path.iterdir()) == []


def test_regret_dry_run_plan(tmp_path):
    res = _invoke(tmp_path, "regret", "-p", "reddi,logistic", "-o", "adam,amsgrad", "--lr",
                  "0.01,0.1", "--T", "1e6", "--seeds", "3", "--dry-run", "--json")  # fmt: skip
    assert res.exit_code == 0, res.output
    doc = json.loads(res.stdout)
    assert doc["dry_run"] and doc["command"] == "regret" and doc["T"] == 10**6
    assert [p["problem"] for p in doc["problems"]] == ["reddi", "logistic"]
    assert [p["points"] for p in doc["problems"]] == [2 * 2, 2 * 2]  # optimizers x lr grid
    assert doc["runs"] == 2 * 2 * 2 * 3
    logistic = doc["problems"][1]
    # fixed + engine (T x runs x (d + 10)) + Newton comparator (T x seeds), costs.py
    c = costs.COSTS
    want = (c["unit_fixed_seconds"] + 1e6 * 12 * (10 + 10) * c["regret_seconds_per_work"]
            + 1e6 * 3 * c["comparator_seconds_per_step"])  # fmt: skip
    assert logistic["d"] == 10 and logistic["estimated_seconds"] == pytest.approx(want)
    est = doc["estimate"]
    assert est["seconds"] > sum(p["estimated_seconds"] for p in doc["problems"])  # + startup
    assert est["peak_bytes"] == max(p["estimated_bytes"] for p in doc["problems"]) > 0
    _nothing_written(tmp_path)
    res = _invoke(tmp_path, "regret", "--T", "1e5", "--dry-run")
    assert res.exit_code == 0, res.output
    assert f"3 problem(s) x {len(RULES)} optimizer(s)" in res.stdout
    assert "estimated: about" in res.stdout and "nothing was run or written" in res.stdout
    _nothing_written(tmp_path)


def test_bench_dry_run_plan(tmp_path):
    res = _invoke(tmp_path, "bench", "-o", "adam,sgd:momentum=0.9", "--sizes", "1e4,1e5",
                  "--dtype", "float64", "--threads", "1", "--budget", "2", "--dry-run",
                  "--json", "--out", "results/")  # fmt: skip
    assert res.exit_code == 0, res.output
    doc = json.loads(res.stdout)
    assert doc["optimizers"] == ["adam", "sgd:momentum=0.9"]
    assert doc["sizes"] == [10**4, 10**5] and doc["groups"] == 2 * 2 * 1 * 1
    assert doc["estimate"]["seconds"] >= 4 * 2.0  # the budget bounds each group
    assert doc["estimate"]["peak_bytes"] >= 10**5 * 8 * 2  # at least p and g at 1e5
    _nothing_written(tmp_path)


def test_ablate_dry_run_plan(tmp_path):
    res = _invoke(tmp_path, "ablate", "bias-correction", "--beta1", "0.9", "--beta2",
                  "0.99,0.999", "--log10-lr", "-3,-2,-1", "--seeds", "2", "--short", "2",
                  "--long", "4", "--dry-run", "--json")  # fmt: skip
    assert res.exit_code == 0, res.output
    doc = json.loads(res.stdout)
    assert doc["grid_points"] == 1 * 2 * 3 and doc["runs"] == 2 * 6 * 2
    assert doc["long_epochs"] == 4 and doc["data"] == "digits" and doc["parameters"] > 0
    assert doc["estimate"]["seconds"] > 0 and doc["estimate"]["peak_bytes"] > 0
    _nothing_written(tmp_path)


BAD = [
    (["regret", "--T", "0"], "--T must be an integer"),
    (["regret", "-o", "adamq"], "adamq"),
    (["bench", "--sizes", "0"], "size must be a whole number >= 1"),
    (["bench", "-o", "adam,sgd:momentum=2"], "momentum"),
    (["ablate", "bias-correction", "--beta1", "1.5"], "--beta1"),
    (["ablate", "bias-correction", "--data", "mnist"], "--data-dir"),
]


@pytest.mark.parametrize("args, message", BAD, ids=[" ".join(a) for a, _ in BAD])
def test_dry_run_validates_first(tmp_path, args, message):
    """Through the console entry point (a ValueError raised by a command is exit 2 there)."""
    env = dict(os.environ, NO_COLOR="1", COLUMNS="200", TERM="dumb")
    proc = subprocess.run([sys.executable, "-c", MAIN, *args, "--dry-run"], cwd=tmp_path,
                          capture_output=True, text=True, env=env)  # fmt: skip
    assert proc.returncode == 2, proc.stderr
    assert message in proc.stderr and len(proc.stderr.strip().splitlines()) == 1
    assert proc.stdout == ""  # no plan printed
    _nothing_written(tmp_path)
