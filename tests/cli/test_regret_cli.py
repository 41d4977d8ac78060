"""``adambench regret``: results file, JSON, table, and bad input (exit 2, no file)."""

import json
import subprocess
import sys

import pytest
from typer.testing import CliRunner

from adambench.cli.app import app
from adambench.cli.regret import parse_T


def cli(*args, cwd=None):
    return subprocess.run(
        [sys.executable, "-c", "from adambench.cli.app import main; main()", *args],
        capture_output=True, text=True, cwd=cwd,
    )  # fmt: skip


def test_parse_T():
    assert parse_T("1e6") == parse_T("1000000") == 10**6
    for bad in ("0", "-5", "1.5", "abc", "nan", "inf", "1e-3"):
        with pytest.raises(ValueError, match="T must be"):
            parse_T(bad)


def test_small_run_writes_results(tmp_path):
    r = cli("regret", "--T", "2000", "-p", "reddi,logistic", "-o", "adam", "-o", "sgd",
            "--seeds", "2", "--out", str(tmp_path), "--json")  # fmt: skip
    assert r.returncode == 0, r.stderr
    doc = json.loads(r.stdout)
    (path,) = tmp_path.glob("regret-*.json")  # a new name each run, never regret.json
    saved = json.loads(path.read_text())
    assert saved["rows"] == doc["rows"]
    assert doc["command"] == "regret" and doc["schema_version"] == 2
    assert doc["seeds"] == [0, 1] and doc["config"]["T"] == 2000
    assert {"versions", "cpu"} <= set(doc["environment"])
    assert [(r["problem"], r["optimizer"]) for r in doc["rows"]] == [
        ("reddi", "adam"),
        ("reddi", "sgd"),
        ("logistic", "adam"),
        ("logistic", "sgd"),
    ]
    row = doc["rows"][0]
    assert row["hyperparameters"]["beta1"] == 0.0 and row["hyperparameters"]["beta2"] == 0.1
    assert len(row["curve"]["T"]) == len(row["curve"]["R_mean"]) >= 15
    assert {"exponent", "bound", "verdict", "limit_R_over_T", "growth"} <= set(row)
    assert set(row["verdict"]) == {"class", "text", "reason", "decide"}
    # reddi is deterministic: two seeds are one exact curve, no interval across them
    assert row["identical_curves"] and row["exponent"]["low"] is None
    logistic = doc["rows"][2]
    assert not logistic["identical_curves"] and logistic["growth"]["windows"][0]["rate"]["n"] == 2


def test_beta1_decay_makes_theorem_4_1_reachable_with_beta1_above_0(tmp_path):
    r = cli("regret", "--T", "3000", "-p", "logistic", "-o", "adam,amsgrad", "--beta1", "0.9",
            "--beta1-decay", "0.99", "--seeds", "2", "--json", cwd=tmp_path)  # fmt: skip
    assert r.returncode == 0, r.stderr
    adam, ams = json.loads(r.stdout)["rows"]
    assert adam["hyperparameters"]["beta1_decay"] == 0.99 and adam["bound"]["applies"]
    assert adam["bound"]["theorem"] == "Kingma & Ba Thm 4.1" and not adam["bound"]["sound"]
    assert "Cor 1" in ams["bound"]["theorem"] and ams["bound"]["guarantee"] == "O(sqrt T)"


def test_table_and_grid(tmp_path):
    r = cli("regret", "--T", "1e3", "-p", "linear", "-o", "adam", "--lr", "0.1,0.3",
            "--beta1", "0,0.9", "--seeds", "1", "--set", "ball", cwd=tmp_path)  # fmt: skip
    assert r.returncode == 0, r.stderr
    assert "Regret at T = 1,000" in r.stdout and "lr=0.3" in r.stdout
    (path,) = (tmp_path / "results").glob("regret-*.json")  # written by default
    assert f"results: {path.relative_to(tmp_path)}" in r.stderr


@pytest.mark.parametrize(
    "args, words",
    [
        (["--T", "0"], "T must be"),
        (["--T", "2.5"], "T must be"),
        (["-p", "nope"], "unknown problem"),
        (["-o", "adamq"], "unknown optimizer"),
        (["--dim", "0"], "dim"),
        (["--lr", ","], "grid is empty"),
        (["--beta1", "1.0"], "beta1 must be in [0, 1)"),
        (["--beta2", "-0.1"], "beta2 must be in [0, 1)"),
        (["--beta1-decay", "0"], "beta1-decay must be in (0, 1]"),
        (["--beta1-decay", "1.5"], "beta1-decay must be in (0, 1]"),
        (["--lr", "nan"], "lr"),
        (["--T", "1e12"], "exceeds the bound"),
        (["--schedule", "cosine"], "schedule"),
        (["--projection", "l1"], "projection"),
        (["-p", "logistic", "--set", "ball"], "set for logistic"),
        (["--reddi-c", "1.5"], "C for reddi"),
    ],
)
def test_bad_input_exit_2_one_line_no_file(tmp_path, args, words):
    r = CliRunner().invoke(app, ["regret", "--out", str(tmp_path / "o"), *args])
    assert r.exit_code == 2, r.output
    err = r.stderr
    assert words in err and "Traceback" not in err
    assert len(err.strip().splitlines()) == 1
    assert not (tmp_path / "o").exists()


def test_bad_input_through_main(tmp_path):
    """The console entry point: one line on stderr, exit 2, no file."""
    r = cli("regret", "--T", "1e12", "--out", str(tmp_path / "o"))
    assert r.returncode == 2 and "exceeds the bound" in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1 and not (tmp_path / "o").exists()


def test_list_problems():
    r = cli("list", "problems", "--json")
    assert r.returncode == 0
    names = [p["name"] for p in json.loads(r.stdout)["problems"]]
    assert {"linear", "logistic", "least-squares", "hinge", "sparse-logistic", "reddi",
            "reddi-synthetic", "reddi-stochastic"} == set(names)  # fmt: skip
