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
