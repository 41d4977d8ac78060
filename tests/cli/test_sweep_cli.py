"""``adambench sweep``: dry run, run, cache, --json, bad input (exit 2, one line), and a
real Ctrl-C (SIGINT) on a running sweep followed by --resume."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from adambench.cli.app import app

TINY = """
[sweep]
kind = "regret"
name = "cli"
seeds = 2
runs_per_unit = 2

[regret]
problems = ["reddi"]
T = {T}

[optimizers.adam]
beta1 = [0.0, 0.9]

[optimizers.adagrad]
"""


def _cfg(tmp_path: Path, T: int = 2000, extra: str = "") -> Path:
    path = tmp_path / "sweep.toml"
    path.write_text(TINY.replace("{T}", str(T)) + extra)
    return path


def _invoke(*args: str):
    return CliRunner().invoke(app, list(args))


def test_dry_run_writes_nothing(tmp_path):
    res = _invoke("sweep", str(_cfg(tmp_path)), "--dry-run", "--json", "--out", str(tmp_path / "o"))
    assert res.exit_code == 0, res.output
    doc = json.loads(res.stdout)
    assert [u["label"] for u in doc["units"]] == [
        "reddi adam x1",
        "reddi adam x1",
        "reddi adagrad x1",
    ]
    assert doc["runs"] == 6 and doc["estimated_peak_bytes_per_worker"] > 0
    assert not (tmp_path / "o").exists()
    res = _invoke("sweep", str(_cfg(tmp_path)), "--dry-run", "--out", str(tmp_path / "o"))
    assert res.exit_code == 0 and "est. memory" in res.stdout


def test_run_then_cache_then_json(tmp_path):
    out = tmp_path / "o"
    res = _invoke("sweep", str(_cfg(tmp_path)), "--jobs", "1", "--out", str(out))
    assert res.exit_code == 0, res.output
    assert "3 of 3 units done (3 computed now, 0 from the cache)" in res.stdout
    res = _invoke("sweep", str(_cfg(tmp_path)), "--jobs", "1", "--out", str(out), "--json")
    assert res.exit_code == 0, res.output
    doc = json.loads(res.stdout)
    assert doc["command"] == "sweep" and doc["sweep"]["computed_now"] == 0
    assert doc["sweep"]["from_cache"] == 3 and len(doc["rows"]) == 3
    assert json.loads((out / "sweep.json").read_text())["rows"] == doc["rows"]
    res = _invoke("sweep", str(_cfg(tmp_path)), "--out", str(out), "--dry-run", "--json")
    assert all(u["cached"] for u in json.loads(res.stdout)["units"])


@pytest.mark.parametrize(
    "extra, args, message",
    [
        ("[optimizers.amsgrad]\nlr = []\n", [], "optimizers.amsgrad.lr: empty grid"),
        (
            "[optimizers.sgd]\nmomentum = '0.9'\n",
            [],
            "optimizers.sgd.momentum: expected a number, got str '0.9'",
        ),
        ("[optimizers.sgd]\nlr = [0.1]\nfoo = 1\n", [], "unknown hyperparameter 'foo'"),
        ("", ["--jobs", "0"], "--jobs must be an integer >= 1"),
        (
            "",
            ["--scheduler", "tcp://127.0.0.1:9"],
            "cannot reach the Dask scheduler at tcp://127.0.0.1:9",
        ),
    ],
)
def test_bad_input_is_one_line_exit_2(tmp_path, extra, args, message):
    if "--scheduler" in args:
        pytest.importorskip("distributed")
    res = _invoke("sweep", str(_cfg(tmp_path, extra=extra)), "--out", str(tmp_path / "o"), *args)
    assert res.exit_code == 2, res.output
    assert message in res.stderr and len(res.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "o").exists()


def test_unknown_key_and_missing_file(tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text('[sweep]\nkind = "regret"\nseed = 3\n')
    res = _invoke("sweep", str(bad))
    assert res.exit_code == 2 and "unknown key sweep.seed; allowed: kind" in res.stderr
    res = _invoke("sweep", str(tmp_path / "none.toml"))
    assert res.exit_code == 2 and "cannot read config" in res.stderr


def test_results_folder_of_another_sweep(tmp_path):
    out = tmp_path / "o"
    assert _invoke("sweep", str(_cfg(tmp_path)), "--jobs", "1", "--out", str(out)).exit_code == 0
    before = (out / "manifest.json").read_text()
    res = _invoke("sweep", str(_cfg(tmp_path, T=2001)), "--jobs", "1", "--out", str(out))
    assert res.exit_code == 2 and "holds another sweep" in res.stderr
    assert (out / "manifest.json").read_text() == before


def test_ctrl_c_then_resume_equals_uninterrupted(tmp_path):
    """SIGINT to a running ``adambench sweep --jobs 2``, then ``--resume``."""
    cfg = tmp_path / "big.toml"
    cfg.write_text(
        TINY.replace("{T}", "200000").replace("beta1 = [0.0, 0.9]", "beta1 = [0.0, 0.3, 0.6, 0.9]")
    )
    out = tmp_path / "o"
    cmd = [sys.executable, "-c", "from adambench.cli.app import main; main()", "sweep", str(cfg)]
    proc = subprocess.Popen(
        [*cmd, "--jobs", "2", "--out", str(out)], stderr=subprocess.PIPE, text=True
    )
    units = out / "units"
    while proc.poll() is None and not (units.is_dir() and any(units.glob("*.json"))):
        time.sleep(0.05)
    os.kill(proc.pid, signal.SIGINT)
    err = proc.communicate()[1]
    assert proc.returncode == 130, err
    assert "interrupted:" in err and "remain" in err and "--resume" in err
    done = len(list(units.glob("*.json")))
    assert 1 <= done < 5
    res = subprocess.run([*cmd, "--jobs", "1", "--out", str(out), "--resume", "--json"],
                         capture_output=True, text=True)  # fmt: skip
    assert res.returncode == 0, res.stderr
    resumed = json.loads(res.stdout)
    assert resumed["sweep"]["from_cache"] == done and resumed["sweep"]["computed_now"] == 5 - done
    full = _invoke("sweep", str(cfg), "--jobs", "1", "--out", str(tmp_path / "full"), "--json")
    assert full.exit_code == 0
    assert json.loads(full.stdout)["rows"] == resumed["rows"]


def _backend_cfg(tmp_path: Path, backend: str | None, T: int = 400) -> Path:
    text = TINY.replace("{T}", str(T))
    if backend is not None:
        text = text.replace(f"T = {T}\n", f'T = {T}\nbackend = "{backend}"\n')
    path = tmp_path / f"sweep-{backend}.toml"
    path.write_text(text)
    return path


def test_sweep_on_device_equals_numpy(device, tmp_path):
    """backend = "cupy" runs the units on the device: the same rows to float tolerance."""
    docs = []
    for backend in ("numpy", "cupy"):
        res = _invoke("sweep", str(_backend_cfg(tmp_path, backend)), "--out",
                      str(tmp_path / backend), "--json")  # fmt: skip
        assert res.exit_code == 0, res.output
        docs.append(json.loads(res.stdout))
    assert docs[1]["config"]["engine"]["backend"] == "cupy"
    for a, b in zip(docs[0]["rows"], docs[1]["rows"], strict=True):
        assert b["R_T"] == pytest.approx(a["R_T"], rel=1e-8, abs=1e-8)


def test_sweep_backend_default_keeps_unit_keys(tmp_path):
    """An explicit backend = "numpy" is the default: the same sweep, the same cached units."""
    from adambench.sweep.config import load
    from adambench.sweep.plan import plan, sweep_id

    plain, explicit = load(_backend_cfg(tmp_path, None)), load(_backend_cfg(tmp_path, "numpy"))
    assert sweep_id(plain) == sweep_id(explicit)
    assert [u.key for u in plan(plain)] == [u.key for u in plan(explicit)]
    assert sweep_id(load(_backend_cfg(tmp_path, "cupy"))) != sweep_id(plain)


def test_sweep_backend_bad_input(tmp_path):
    res = _invoke("sweep", str(_backend_cfg(tmp_path, "tpu")), "--out", str(tmp_path / "o"))
    assert res.exit_code == 2 and "regret.backend: expected numpy | cupy, got 'tpu'" in res.stderr
    from adambench.core.backend import cuda_status

    if not cuda_status()[0]:
        res = _invoke("sweep", str(_backend_cfg(tmp_path, "cupy")), "--out", str(tmp_path / "o"))
        assert res.exit_code == 2 and len(res.stderr.strip().splitlines()) == 1
        assert "backend 'cupy' (config regret.backend = cupy) needs CuPy" in res.stderr
    assert not (tmp_path / "o").exists()
