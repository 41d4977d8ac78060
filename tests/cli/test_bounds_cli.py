"""Accepted values never crash after the work, sizes and seeds are bounded before it:
``adambench regret`` at beta2 = 0 and lr = 5e-324 (the bounds), seeds past 2^64 - 1,
huge --seeds / --per-decade / --T (exit 2, one line, at once), ``run``/``ablate`` seeds,
and sweeps: beta2 = [0.0, 0.999] runs, and sizes, seeds and leniency are refused."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from adambench.cli import training_options as opts
from adambench.cli.app import app


def _invoke(*args: str):
    return CliRunner().invoke(app, list(args))


def _regret(tmp_path: Path, *args: str):
    return _invoke("regret", "-p", "logistic", "--T", "10", "--seeds", "1", "--json",
                   "--out", str(tmp_path / "o"), *args)  # fmt: skip


def _one_line_exit_2(res, message: str) -> None:
    assert res.exit_code == 2, res.output
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and message in lines[0], lines
    assert "Traceback" not in res.output


def _rows(res) -> list[dict]:
    assert res.exit_code == 0, res.output
    return json.loads(res.stdout)["rows"]


@pytest.mark.parametrize("optimizer", ["adam", "amsgrad"])
def test_regret_beta2_zero_completes_and_says_why(tmp_path, optimizer):
    (row,) = _rows(_regret(tmp_path, "-o", optimizer, "--beta2", "0"))
    assert not row["bound"]["applies"] and "needs beta2 > 0" in row["bound"]["why"]


@pytest.mark.parametrize("optimizer", ["amsgrad", "sgd", "adagrad"])
def test_regret_tiny_lr_completes_with_an_infinite_marked_bound(tmp_path, optimizer):
    (row,) = _rows(_regret(tmp_path, "-o", optimizer, "--lr", "5e-324"))
    b = row["bound"]
    assert b["applies"] and b["value"] is None and b["vacuous"]  # inf is null in JSON
    assert "overflows float64" in b["why"]


def test_regret_seeds_past_the_stream_key_are_refused(tmp_path):
    res = _regret(tmp_path, "-o", "adam", "--seed-start", str(2**64 + 1))
    _one_line_exit_2(res, "--seed must be an integer in [0, 2^64 - 1]")
    res = _regret(tmp_path, "-o", "adam", "--seeds", "2", "--seed-start", str(2**64 - 1))
    _one_line_exit_2(res, "--seed must be an integer in [0, 2^64 - 2]")
    assert not (tmp_path / "o").exists()
    rows = _rows(_regret(tmp_path, "-o", "sgd", "--seeds", "2", "--seed-start", str(2**64 - 2)))
    assert rows[0]["seeds"] == 2


@pytest.mark.parametrize(
    "args, message",
    [
        (["--per-decade", "1000000000"], "--per-decade must be an integer in [5, 100]"),
        (["--seeds", "1000000000"], "--seeds must be an integer in [1, 10000], got 1000000000"),
        (["--T", "1e300"], "--T must be an integer in [1, 1e10]"),
    ],
)
def test_regret_sizes_are_refused_before_allocating(tmp_path, args, message):
    start = time.perf_counter()
    _one_line_exit_2(_regret(tmp_path, "-o", "adam", *args), message)
    assert time.perf_counter() - start < 10 and not (tmp_path / "o").exists()


def _common(**kw):
    args = {"seeds": 1, "first_seed": 0, "batch_size": 8, "threads": 1, "dtype": "float32",
            "width": 0.25, "backend": "numpy", "data": "digits", "data_dir": None,
            "out": Path("."), "cnn_option": None}  # fmt: skip
    return opts.check_common(**{**args, **kw})


def test_run_and_ablate_seeds_are_bounded_last_seed_included():
    assert _common(seeds=100, first_seed=2**31 - 100) == "numpy"
    with pytest.raises(ValueError, match=r"--seed must be in \[0, 2147483548\] \(the last of "):
        _common(seeds=100, first_seed=2**31 - 99)
    with pytest.raises(ValueError, match=r"--seed must be in \[0, 2147483647\]"):
        _common(first_seed=2**64 + 1)
    with pytest.raises(ValueError, match=r"--seeds must be in \[1, 100\]"):
        _common(seeds=10**9)


@pytest.mark.parametrize("command", [["run"], ["ablate", "bias-correction"]])
def test_run_and_ablate_refuse_a_seed_past_the_bound(tmp_path, command):
    proc = subprocess.run(
        [sys.executable, "-c", "from adambench.cli.app import main; main()", *command,
         "--seed", str(2**64 + 1), "--seeds", "1", "--out", str(tmp_path / "o")],
        capture_output=True, text=True, cwd=tmp_path,
    )  # fmt: skip
    assert proc.returncode == 2, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert lines == [f"error: --seed must be in [0, 2147483647] (the last of --seeds 1 seeds is "
                     f"at most 2^31 - 1), got {2**64 + 1}"]  # fmt: skip
    assert not (tmp_path / "o").exists()


SWEEP = """
[sweep]
kind = "regret"
seeds = {seeds}
[regret]
problems = ["logistic"]
T = {T}
{regret}
[optimizers.adam]
{adam}
"""


def _sweep(tmp_path: Path, *args: str, seeds="2", T="300", regret="", adam=""):
    path = tmp_path / "s.toml"
    path.write_text(SWEEP.format(seeds=seeds, T=T, regret=regret, adam=adam))
    return _invoke("sweep", str(path), "--out", str(tmp_path / "o"), *args)


def test_sweep_with_beta2_zero_in_the_grid_runs_every_point(tmp_path):
    res = _sweep(tmp_path, "--jobs", "1", "--json", adam="beta2 = [0.0, 0.999]")
    assert res.exit_code == 0, res.output
    doc = json.loads(res.stdout)
    assert [r["hyperparameters"]["beta2"] for r in doc["rows"]] == [0.0, 0.999]
    assert not any(r.get("failed") for r in doc["rows"]) and not doc["sweep"]["failed_points"]
    assert "needs beta2 > 0" in doc["rows"][0]["bound"]["why"]


@pytest.mark.parametrize(
    "kw, message",
    [
        ({"seeds": "10000000"}, "config sweep.seeds: expected a count in [1, 10000]"),
        ({"seeds": f"[{2**64 - 1}]"}, None),  # the largest seed is fine
        ({"T": "1e300"}, "config regret.T: expected an integer in [1, 1e10]"),
        ({"regret": 'set = "cube"'}, "config regret.set: expected box for logistic"),
        ({"adam": "beta1 = [0, false]"}, "config optimizers.adam.beta1: expected a list of"),
        ({"regret": "per_decade = 1000000000"}, "config regret.per_decade: expected an integer"),
    ],
)
def test_sweep_dry_run_bounds_and_leniency(tmp_path, kw, message):
    start = time.perf_counter()
    res = _sweep(tmp_path, "--dry-run", "--json", **kw)
    if message is None:
        assert res.exit_code == 0, res.output
        return
    _one_line_exit_2(res, message)
    assert time.perf_counter() - start < 10
