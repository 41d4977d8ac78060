"""``adambench bench`` and ``adambench compare`` from the command line.

End to end on tiny sizes (so each run takes a second or two), the exit codes 0 / 1 / 2,
and every bad input of the issue as one line on stderr with exit 2 and no file written.
Regressions are made deterministic by editing a real baseline's normalised samples
(x 1/3 or x 3), never by trusting two timings to differ.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from adambench.cli.app import app

MAIN = "import sys; from adambench.cli.app import main; sys.argv[0] = 'adambench'; main()"
TINY = ["--quick", "--sizes", "3000", "--repeats", "5", "-o", "adam,sgd"]
runner = CliRunner()


def invoke(*args: str):
    return runner.invoke(app, list(args), env={"NO_COLOR": "1", "COLUMNS": "200"})


@pytest.fixture(scope="module")
def baseline(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("bench") / "base.json"
    r = invoke("bench", *TINY, "--save-baseline", str(path), "--out", str(path.parent / "res"))
    assert r.exit_code == 0, r.output
    return path


def _scaled(src: Path, dst: Path, factor: float, tight: bool = False) -> Path:
    """A copy of ``src`` with its normalised samples times ``factor``.

    ``tight`` first replaces a row's samples by a 1%-spread around their median, so a
    file-to-file comparison does not depend on how noisy the live baseline happened to be
    (a 1.5x scaled copy of samples with a 2x outlier overlaps the original).
    """
    doc = json.loads(src.read_text())
    for row in doc["rows"]:
        samples = row["norm_samples"]
        if tight:
            med = sorted(samples)[len(samples) // 2]
            samples = [med * (1 + 0.0025 * i) for i in range(len(samples))]
        row["norm_samples"] = [x * factor for x in samples]
    dst.write_text(json.dumps(doc))
    return dst


def test_quick_bench_end_to_end(baseline, tmp_path):
    doc = json.loads(baseline.read_text())
    assert doc["schema"] == "adambench-results" and doc["command"] == "bench"
    assert doc["config"]["quick"] and doc["config"]["sizes"] == [3000]
    machine = doc["machine"]
    for key in ("cpu", "cores", "memory_bytes", "versions", "numpy_blas", "numba_threads"):
        assert key in machine
    assert {"numpy", "numba"} <= set(machine["versions"])
    assert [(r["optimizer"], r["impl"]) for r in doc["rows"]] == [
        ("adam", "adambench"),
        ("sgd", "adambench"),
    ]
    assert all(len(r["norm_samples"]) == 5 for r in doc["rows"])
    # --json prints the same kind of document on stdout and nothing else there
    r = invoke("bench", *TINY, "--json", "--out", str(tmp_path / "o"))
    assert r.exit_code == 0, r.output
    printed = json.loads(r.stdout)
    (saved,) = (tmp_path / "o").glob("bench-*.json")  # --out is the results folder
    assert printed["rows"] and json.loads(saved.read_text())["rows"] == printed["rows"]


def test_table_output_with_peers(tmp_path):
    pytest.importorskip("torch")
    r = invoke("bench", "--sizes", "3000", "--repeats", "5", "--threads", "1", "-o", "adam",
               "--out", str(tmp_path))  # fmt: skip
    assert r.exit_code == 0, r.output
    for word in ("adambench", "numpy-textbook", "torch-fused", "r4w3", "copy GB/s"):
        assert word in r.stdout


def test_compare_exit_codes_and_markdown(baseline, tmp_path):
    same = invoke("compare", str(baseline), str(baseline))
    assert same.exit_code == 0 and "no regression" in same.stdout
    base = _scaled(baseline, tmp_path / "base.json", 1.0, tight=True)
    slower = _scaled(baseline, tmp_path / "slower.json", 1.5, tight=True)
    md = tmp_path / "pr.md"
    r = invoke("compare", str(base), str(slower), "--markdown", str(md))
    assert r.exit_code == 1 and "regressed" in r.stdout
    assert md.read_text().startswith("**adambench compare: 2 regression(s)**")
    r = invoke("compare", str(base), str(slower), "--json", "--threshold", "0.6")
    assert r.exit_code == 0
    out = json.loads(r.stdout)
    assert out["regressions"] == 0 and out["threshold"] == 0.6


def test_bench_compare_fails_on_a_confirmed_regression(baseline, tmp_path):
    # Baseline 3x better than this code can be: regressed twice (re-measured), exit 1.
    strict = _scaled(baseline, tmp_path / "strict.json", 1 / 3)
    md = tmp_path / "gate.md"
    r = invoke("bench", *TINY, "--compare", str(strict), "--markdown", str(md), "--out",
               str(tmp_path / "run"))  # fmt: skip
    assert r.exit_code == 1, r.output
    assert "re-measuring 2 row(s)" in r.output and "(re-measured)" in md.read_text()
    (run,) = (tmp_path / "run").glob("bench-*.json")
    doc = json.loads(run.read_text())
    assert all(v["status"] == "regressed" for v in doc["compare"]["verdicts"])
    # Baseline 3x worse: this run is faster, exit 0.
    lax = _scaled(baseline, tmp_path / "lax.json", 3.0)
    r = invoke("bench", *TINY, "--compare", str(lax), "--out", str(tmp_path / "lax"))
    assert r.exit_code == 0, r.output
    assert "faster" in r.stdout


def _files(tmp_path: Path) -> dict[str, Path]:
    bad = {
        "corrupt.json": "{not json",
        "foreign.json": json.dumps({"hello": 1}),
        "schema.json": json.dumps({"schema": "adambench-results", "schema_version": 99}),
        "regret.json": json.dumps(
            {"schema": "adambench-results", "schema_version": 1, "command": "regret"}
        ),
    }
    out = {}
    for name, text in bad.items():
        (tmp_path / name).write_text(text)
        out[name] = tmp_path / name
    return out


BENCH_BAD = [
    (["-o", "adamq"], "unknown optimizer 'adamq'"),
    (["-o", "adam:beta1=1.5"], "beta1 must be in [0, 1)"),
    (["--backend", "tpu"], "unknown backend 'tpu'"),
    (["--backend", "cupy"], "backend 'cupy'"),
    (["--sizes", "0"], "size must be a whole number >= 1"),
    (["--sizes", "-5"], "size must be a whole number >= 1"),
    (["--sizes", "1e4,abc"], "size must be a whole number >= 1"),
    (["--sizes", "1e13"], "GiB of memory is available"),
    (["--threads", "0"], "threads must be 'all' or an integer"),
    (["--repeats", "4"], "repeats must be >= 5"),
    (["--budget", "0"], "budget must be > 0"),
    (["--budget", "inf"], "budget must be a finite number of seconds"),
    (["--budget", "nan"], "budget must be"),
    (["--budget", "1e9"], "budget must be a finite number of seconds in (0, 86400]"),
    (["--dtype", "int8"], "dtype must be one of float32, float64, bfloat16, float16, mixed"),
    (["--threshold", "1.5"], "threshold must be in (0, 1)"),
    (["--threshold", "0"], "threshold must be in (0, 1)"),
    (["--alpha", "2"], "alpha must be in (0, 1)"),
    (["--metric", "wall"], "metric must be one of"),
    (["--markdown", "x.md"], "--markdown needs --compare"),
    (["--compare", "missing.json"], "cannot read"),
    (["--compare", "corrupt.json"], "is not valid JSON"),
    (["--compare", "foreign.json"], "is not an adambench results file"),
    (["--compare", "schema.json"], "schema version 99"),
    (["--compare", "regret.json"], "holds results of 'regret'"),
]


@pytest.mark.parametrize("args, phrase", BENCH_BAD, ids=[" ".join(a) for a, _ in BENCH_BAD])
def test_bench_bad_input_is_one_line_exit_2_and_writes_nothing(tmp_path, args, phrase):
    _files(tmp_path)
    args = [str(tmp_path / a) if a.endswith(".json") else a for a in args]
    out = tmp_path / "out"
    r = invoke("bench", "--sizes", "1000", "--repeats", "5", *args, "--out", str(out))
    if "--sizes" in args:
        r = invoke("bench", "--repeats", "5", *args, "--out", str(out))
    assert r.exit_code == 2, r.output
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and phrase in lines[0], r.stderr
    assert "Traceback" not in r.output and not out.exists()


def test_optimizers_as_one_comma_list_with_hyperparameters(tmp_path, monkeypatch):
    # README: adambench bench -o adam,sgd:momentum=0.9 (the same as -o adam -o sgd:...)
    monkeypatch.chdir(tmp_path)  # whatever the command writes by default stays here
    r = invoke("bench", *TINY[:-2], "-o", "adam,sgd:momentum=0.9,nesterov=true", "--json")
    assert r.exit_code == 0, r.output
    rows = json.loads(r.stdout)["rows"]
    assert [row["optimizer"] for row in rows] == ["adam", "sgd:momentum=0.9,nesterov=true"]
    assert all(isinstance(row["reliable"], bool) and "flags" in row for row in rows)
    lines = invoke("bench", "--help").stdout.splitlines()
    help_text = " ".join(" ".join(line.strip(" │").split()) for line in lines)
    assert "belongs to the optimizer before it" in help_text


def test_bench_compare_without_overlap_is_exit_2(baseline, tmp_path):
    out = tmp_path / "out"
    r = invoke("bench", *TINY[:-2], "-o", "adagrad", "--compare", str(baseline), "--out", str(out))
    assert r.exit_code == 2 and "no overlapping rows" in r.stderr and not out.exists()


@pytest.mark.parametrize(
    "which, phrase",
    [
        ("corrupt.json", "is not valid JSON"),
        ("foreign.json", "is not an adambench results file"),
        ("schema.json", "schema version 99"),
        ("regret.json", "holds results of 'regret'"),
        ("missing.json", "cannot read"),
    ],
)
def test_compare_bad_files(baseline, tmp_path, which, phrase):
    _files(tmp_path)
    for args in ([str(baseline), str(tmp_path / which)], [str(tmp_path / which), str(baseline)]):
        r = invoke("compare", *args)
        assert r.exit_code == 2 and phrase in r.stderr, r.output


def test_compare_threshold_and_overlap_errors(baseline, tmp_path):
    for t in ("0", "1", "-0.2", "7"):
        r = invoke("compare", str(baseline), str(baseline), "--threshold", t)
        assert r.exit_code == 2 and "threshold must be in (0, 1)" in r.stderr
    doc = json.loads(baseline.read_text())
    for row in doc["rows"]:
        row["size"] = 12345
    other = tmp_path / "other.json"
    other.write_text(json.dumps(doc))
    md = tmp_path / "x.md"
    r = invoke("compare", str(baseline), str(other), "--markdown", str(md))
    assert r.exit_code == 2 and "no overlapping rows" in r.stderr and not md.exists()


def _main(*args: str) -> subprocess.CompletedProcess:
    env = dict(os.environ, NO_COLOR="1", COLUMNS="200", TERM="dumb")
    return subprocess.run(
        [sys.executable, "-c", MAIN, *args], capture_output=True, text=True, env=env,
        stdin=subprocess.DEVNULL,
    )  # fmt: skip


@pytest.mark.parametrize(
    "args, phrase",
    [
        (["bench", "--sizes", "0"], "size must be a whole number >= 1"),
        (["bench", "--backend", "cupy"], "backend 'cupy'"),
        (["compare", "nope.json", "nope.json"], "cannot read"),
    ],
)
def test_real_entry_point_prints_one_line(tmp_path, args, phrase):
    args = [str(tmp_path / a) if a.endswith(".json") else a for a in args]
    proc = _main(*args, *(["--out", str(tmp_path / "o")] if args[0] == "bench" else []))
    assert proc.returncode == 2 and proc.stdout == "" and "Traceback" not in proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and phrase in lines[0]
    assert not (tmp_path / "o").exists()


def test_help_documents_every_option():
    for cmd, options in (
        ("bench", ("--optimizers", "--backend", "--sizes", "--dtype", "--threads", "--repeats",
                   "--quick", "--json", "--out", "--save-baseline", "--compare", "--threshold",
                   "--markdown", "--peers")),
        ("compare", ("--threshold", "--alpha", "--metric", "--markdown", "--json")),
    ):  # fmt: skip
        r = invoke(cmd, "--help")
        assert r.exit_code == 0
        for opt in options:
            assert opt in r.stdout, (cmd, opt)
