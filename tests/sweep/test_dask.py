"""The Dask executor on a LocalCluster (loopback only): same results as the local
executor, a killed worker's units rerun, an unreachable scheduler a clear error."""

from __future__ import annotations

import os
import signal

import pytest
from sweep_helpers import run_sweep

from adambench.sweep.executors import DaskExecutor

distributed = pytest.importorskip("distributed")


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    out, doc, _ = run_sweep(tmp_path_factory.mktemp("ref") / "out")
    return doc


def test_local_cluster_equals_local_executor(tmp_path, reference):
    with distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=False, protocol="tcp", host="127.0.0.1",
        dashboard_address=None,
    ) as cluster:  # fmt: skip
        ex = DaskExecutor(cluster.scheduler_address)
        try:
            assert "2 worker(s)" in ex.description
            out, doc, units = run_sweep(tmp_path / "out", ex)
        finally:
            ex.close()
    assert out.complete and out.computed == len(units)
    assert doc["rows"] == reference["rows"]


def test_killed_dask_worker_units_are_rerun(tmp_path, reference):
    with distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
        dashboard_address=None,
    ) as cluster, distributed.Client(cluster) as client:  # fmt: skip
        ex = DaskExecutor(client=client)
        killed = []

        def kill_one(unit, ok):
            if not killed:
                pids = client.run(os.getpid)
                pid = sorted(pids.values())[0]
                os.kill(pid, signal.SIGKILL)
                killed.append(pid)

        out, doc, units = run_sweep(tmp_path / "out", ex, on_unit=kill_one)
    assert killed and out.complete and not out.failed
    assert out.computed == len(units)
    assert len(list((tmp_path / "out" / "units").glob("*.json"))) == len(units)
    assert doc["rows"] == reference["rows"]


def test_unreachable_scheduler_is_one_clear_error():
    with pytest.raises(
        ValueError, match=r"cannot reach the Dask scheduler at tcp://127\.0\.0\.1:9 within 2 s"
    ):
        DaskExecutor("tcp://127.0.0.1:9", timeout=2.0)
    with pytest.raises(ValueError, match="must look like tcp://HOST:PORT"):
        DaskExecutor("localhost")


def test_lost_scheduler_is_one_error_line_without_tracebacks(tmp_path):
    """The scheduler dies under a running ``adambench sweep --scheduler``: the sweep ends
    with its own ``error:`` line; distributed logs no traceback of its reconnects."""
    import json
    import subprocess
    import sys
    import time

    info = tmp_path / "scheduler.json"
    env = dict(os.environ, NO_COLOR="1", COLUMNS="200", TERM="dumb")
    sched = subprocess.Popen(
        [sys.executable, "-m", "distributed.cli.dask_scheduler", "--host", "127.0.0.1",
         "--port", "0", "--no-dashboard", "--scheduler-file", str(info)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env,
    )  # fmt: skip
    drv = None
    try:
        deadline = time.monotonic() + 60
        while not (info.exists() and info.read_text().strip()):
            assert sched.poll() is None and time.monotonic() < deadline, "no scheduler"
            time.sleep(0.1)
        address = json.loads(info.read_text())["address"]
        cfg = tmp_path / "sweep.toml"  # no worker: the units wait on the scheduler
        cfg.write_text(
            '[sweep]\nkind = "regret"\nname = "lost"\nseeds = 1\n\n'
            '[regret]\nproblems = ["reddi"]\nT = 300\n\n[optimizers.adam]\n'
        )
        drv = subprocess.Popen(
            [sys.executable, "-c", "from adambench.cli.app import main; main()", "sweep",
             str(cfg), "--scheduler", address, "--out", str(tmp_path / "out")],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
            stdin=subprocess.DEVNULL,
        )  # fmt: skip
        assert drv.stderr is not None
        for line in drv.stderr:  # until it has submitted its units
            if line.startswith("sweep 'lost'"):
                break
        else:
            raise AssertionError(drv.communicate())
        time.sleep(1.0)
        sched.kill()
        sched.wait(timeout=30)
        _, err = drv.communicate(timeout=120)
    finally:
        for p in (sched, drv):
            if p is not None and p.poll() is None:
                p.kill()
                p.wait()
    assert drv.returncode == 1, err
    assert "Traceback" not in err and " - ERROR - " not in err, err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), err
    assert "scheduler" in lines[0], err
