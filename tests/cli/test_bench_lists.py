"""``adambench bench --shapes / --tensors --numel / --dtype LAYOUT`` and ``adambench list``'s
bytes per layout, from the command line.

End to end on a tiny grid (a preset such as gpt2-124m takes gigabytes: only its plan and
its memory refusal are run here); every bad input is one ``error:`` line, exit 2, before
any work and without a results file.  The bytes are written out by hand (docs/design.md §8).
"""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from adambench import machine
from adambench.cli.app import app

runner = CliRunner()
GRID = ["--tensors", "2,3", "--numel", "64", "-o", "adam", "--threads", "1"]
FAST = ["--repeats", "5", "--budget", "0.2", "--no-peers"]


def invoke(*args: str):
    return runner.invoke(app, list(args), env={"NO_COLOR": "1", "COLUMNS": "200"})


BAD = [
    (["--shapes", "gpt3"], "--shapes: unknown preset 'gpt3'; choose from: gpt2-124m"),
    (["--tensors", "10"], "--tensors needs --numel"),
    (["--numel", "10"], "--numel needs --tensors"),
    (["--tensors", "0", "--numel", "10"], "--tensors must list whole numbers >= 1"),
    (["--tensors", "10", "--numel", "-4"], "--numel must list whole numbers >= 1"),
    (["--shapes", "resnet50", "--tensors", "2", "--numel", "8"], "alternatives"),
    (["--shapes", "resnet50", "--quick"], "--quick times flat arrays"),
    (["--tensors", "2", "--numel", "8", "--compare", "x.json"], "--compare times flat arrays"),
    (["--tensors", "2", "--numel", "8", "--dtype", "bf16"], "dtype must be one of float32"),
    (["--tensors", "100000", "--numel", "100000"], "exceeds the bound"),
]


@pytest.mark.parametrize("args, phrase", BAD, ids=[" ".join(a) for a, _ in BAD])
def test_bad_list_input_is_one_line_exit_2_and_writes_nothing(tmp_path, args, phrase):
    out = tmp_path / "out"
    r = invoke("bench", *args, *FAST, "--out", str(out))
    assert r.exit_code == 2, r.output
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and phrase in lines[0], r.stderr
    assert "Traceback" not in r.output and not out.exists()


def test_a_list_beyond_memory_is_refused_before_any_work(tmp_path, monkeypatch):
    monkeypatch.setattr(machine, "available_memory", lambda: 2**30)
    out = tmp_path / "out"
    r = invoke("bench", "--shapes", "gpt2-124m", *FAST, "--out", str(out))
    assert r.exit_code == 2 and not out.exists(), r.output
    line = r.stderr.strip()
    assert line.startswith("error: parameter list gpt2-124m (124,439,808 parameters) needs")
    assert "GiB of memory is available" in line and "\n" not in line


def test_dry_run_plans_every_preset(tmp_path, monkeypatch):
    monkeypatch.setattr(machine, "available_memory", lambda: 2**40)  # any machine's plan
    r = invoke("bench", "--shapes", "all", "-o", "adam,sgd", "--dtype", "float32,mixed",
               "--threads", "1", "--dry-run", "--json", "--out", str(tmp_path / "o"))  # fmt: skip
    assert r.exit_code == 0, r.output
    doc = json.loads(r.stdout)
    assert [s["shapes"] for s in doc["lists"]] == [
        "gpt2-124m", "resnet50", "bert-base", "llama-7b-layer",
    ]  # fmt: skip
    assert [s["tensors"] for s in doc["lists"]] == [148, 161, 199, 9]
    assert doc["groups"] == 4 * 2 * 2 and doc["sizes"] == []
    assert doc["estimate"]["peak_bytes"] > 202_383_360 * 28  # llama layer, adam, both copies
    assert not (tmp_path / "o").exists()


def test_grid_end_to_end_json_rows(tmp_path):
    out = tmp_path / "res"
    r = invoke("bench", *GRID, *FAST, "--dtype", "float32,bfloat16,mixed", "--json",
               "--out", str(out))  # fmt: skip
    assert r.exit_code == 0, r.output
    doc = json.loads(r.stdout)
    assert doc["config"]["lists"] == [
        {"shapes": "grid", "tensors": n, "numel_per_tensor": 64, "size": 64 * n} for n in (2, 3)
    ]
    rows = doc["rows"]
    assert {(r["tensors"], r["dtype"], r["impl"]) for r in rows} == {
        (n, d, i)
        for n in (2, 3)
        for d in ("float32", "bfloat16", "mixed")
        for i in ("adambench", "adambench-flat")
    }
    per_param = {"float32": 28, "bfloat16": 22, "mixed": 28}  # adam: 16+12, 12+10, 14+14
    for row in rows:
        assert row["bytes_per_step"] == per_param[row["dtype"]] * row["size"]
        assert row["shapes"] == "grid" and row["numel_per_tensor"] == 64
        assert (row["list_overhead"] is None) == (row["impl"] != "adambench")
    assert len(list(out.glob("bench-*.json"))) == 1


def test_grid_table_shows_the_list_overhead(tmp_path):
    r = invoke("bench", *GRID, *FAST, "--out", str(tmp_path / "res"))
    assert r.exit_code == 0, r.output
    assert "Parameter lists" in r.stdout and "list/flat" in r.stdout
    assert "2x64" in r.stdout and "3x64" in r.stdout and "adambench-flat" in r.stdout
    assert "Update step" not in r.stdout  # no flat sizes asked for


def test_list_prints_bytes_per_layout():
    r = invoke("list")
    assert r.exit_code == 0, r.output
    table = r.stdout[r.stdout.index("Bytes per parameter") :]
    line = next(ln for ln in table.splitlines() if ln.startswith("adam "))
    assert line.split()[1:] == ["16+12=28", "32+24=56", "12+10=22", "12+10=22", "14+14=28"]
    doc = json.loads(invoke("list", "--json").stdout)
    by = {o["name"]: o["bytes_per_param"] for o in doc["optimizers"]}
    assert by["adam"]["bfloat16"] == {"read": 12, "written": 10}
    assert by["adam"]["mixed"] == {"read": 14, "written": 14}
    assert by["sgd"]["float16"] == {"read": 4, "written": 2}
    assert by["amsgrad"]["float64"] == {"read": 40, "written": 32}
