"""``--backend`` on bench, regret, run and ablate: numpy | cupy | auto, one-line errors,
device runs.

Without a usable CUDA device (or without CuPy) ``--backend cupy`` is one line on stderr,
exit 2, no traceback, no results file; ``auto`` falls back to NumPy.  With a device (the
``gpu`` cases) the commands run on it and the results file names the GPU.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from adambench.core import backend as backend_mod

MAIN = "from adambench.cli.app import main; main()"


def cuda_usable() -> bool:
    return backend_mod.cuda_status()[0]


def cli(*args, cwd=None):
    env = dict(os.environ, NO_COLOR="1", COLUMNS="200", TERM="dumb")
    return subprocess.run(
        [sys.executable, "-c", MAIN, *args], capture_output=True, text=True, cwd=cwd, env=env,
        stdin=subprocess.DEVNULL,
    )  # fmt: skip


def test_select_backend():
    assert backend_mod.select_backend("numpy") == "numpy"
    assert backend_mod.select_backend("auto") in ("numpy", "cupy")
    with pytest.raises(
        ValueError, match=r"^--backend: unknown backend 'tpu'; choose from: numpy \|"
    ):
        backend_mod.select_backend("tpu")


def test_select_backend_without_device(monkeypatch):
    monkeypatch.setattr(backend_mod, "cuda_status", lambda: (False, "no CUDA device found"))
    assert backend_mod.select_backend("auto") == "numpy"
    with pytest.raises(ValueError) as e:
        backend_mod.select_backend("cupy")
    assert str(e.value) == backend_mod.no_device_message("no CUDA device found")
    assert str(e.value).startswith("backend 'cupy' (--backend cupy) needs CuPy and a usable")


NO_DEVICE = [
    ("regret", "--T", "100", "-p", "reddi", "-o", "adam"),
    ("bench", "-o", "adam", "--sizes", "1e3"),
    ("run", "--tasks", "logreg", "--epochs", "1"),
    ("ablate", "bias-correction", "--short", "1", "--long", "1"),
]


@pytest.mark.parametrize("args", NO_DEVICE, ids=[a[0] for a in NO_DEVICE])
def test_backend_cupy_without_device_is_one_line(tmp_path, args):
    if cuda_usable():
        pytest.skip("a CUDA device is usable here: the no-device error cannot be shown")
    out = tmp_path / "out"
    target = ["--out", str(out)]
    proc = cli(*args, "--backend", "cupy", *target, cwd=tmp_path)
    assert proc.returncode == 2, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and "cupy" in lines[0], lines
    assert "Traceback" not in proc.stderr and proc.stdout == ""
    assert not out.exists()


def test_backend_cupy_error_is_one_message_on_every_command(tmp_path):
    """bench, regret, run and ablate word a missing device the same (core/backend.py's
    ``no_device_message``), reason included."""
    ok, why = backend_mod.cuda_status()
    if ok:
        pytest.skip("a CUDA device is usable here: the no-device error cannot be shown")
    want = "error: " + backend_mod.no_device_message(why)
    for args in NO_DEVICE:
        proc = cli(*args, "--backend", "cupy", "--out", str(tmp_path / "o"), cwd=tmp_path)
        assert proc.returncode == 2 and proc.stderr.strip() == want, (args, proc.stderr)


def test_regret_backend_auto_runs_and_records_backend(tmp_path):
    proc = cli("regret", "--T", "300", "-p", "reddi", "-o", "adam", "--seeds", "1",
               "--backend", "auto", "--out", str(tmp_path), "--json")  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(proc.stdout)
    assert doc["config"]["backend"] == ("cupy" if cuda_usable() else "numpy")
    assert ("gpu" in doc["environment"]) == cuda_usable()


def test_regret_cupy_equals_numpy(device, tmp_path):
    """The same configuration through the CLI on both backends: the same rows."""
    docs = []
    # The emulator runs every lane on the host: there three rules (tests/engines compare
    # the emulated engine with the CPU rule by rule), on a device every default rule.
    T = "5000" if device == "cupy" else "800"
    rules = [] if device == "cupy" else ["-o", "adam,amsgrad,sgd"]
    for b in ("numpy", "cupy"):
        proc = cli("regret", "--T", T, "-p", "logistic,sparse-logistic,reddi", *rules,
                   "--seeds", "2", "--backend", b, "--json", "--out", str(tmp_path))  # fmt: skip
        assert proc.returncode == 0, proc.stderr
        docs.append(json.loads(proc.stdout))
    assert docs[1]["environment"]["gpu"]["name"]
    for a, b in zip(docs[0]["rows"], docs[1]["rows"], strict=True):
        assert (a["problem"], a["optimizer"]) == (b["problem"], b["optimizer"])
        assert b["R_T"] == pytest.approx(a["R_T"], rel=1e-6, abs=1e-6)


def test_bench_cupy_small(device, tmp_path):
    """A tiny GPU bench: rows on the cupy backend, copy bandwidth, results name the GPU."""
    proc = cli("bench", "--backend", "cupy", "-o", "adam,sgd", "--sizes", "1e5",
               "--repeats", "5", "--out", str(tmp_path))  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    (out,) = tmp_path.glob("bench-*.json")  # --out is the results folder
    doc = json.loads(out.read_text())
    assert doc["environment"]["gpu"]["name"] and doc["config"]["backend"] == "cupy"
    rows = [r for r in doc["rows"] if r["impl"] == "adambench"]
    assert {r["optimizer"] for r in rows} == {"adam", "sgd"}
    assert all(r["backend"] == "cupy" and r["clock"] == "cuda-event" for r in rows)
    assert all(r["median_s"] > 0 and 0 < r["fraction_of_copy"] for r in rows)
    assert doc["references"][0]["copy_gbps"] > 0


def test_run_and_ablate_on_device(device, tmp_path):
    """run and ablate train on the device; the results record the backend and the GPU."""
    proc = cli("run", "--tasks", "logreg,mlp", "-o", "adam,sgd", "--epochs", "2", "--seeds",
               "1", "--backend", "cupy", "--out", str(tmp_path), "--json")  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(proc.stdout)
    assert doc["config"]["backend"] == "cupy" and doc["environment"]["gpu"]["name"]
    for task in doc["tasks"]:
        for entry in task["optimizers"]:
            assert entry["chosen"]["final_train_loss"]["mean"] < 2.3  # it learned
    proc = cli("ablate", "bias-correction", "--short", "1", "--long", "2", "--beta1", "0.9",
               "--beta2", "0.999", "--log10-lr", "-3,-2", "--backend", "auto",
               "--out", str(tmp_path), "--json")  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(proc.stdout)
    assert doc["config"]["backend"] == "cupy" and len(doc["ablation"]["rows"]) == 2
