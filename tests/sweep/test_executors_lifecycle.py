"""Local workers live no longer than their driver (executors.py).

* The driver of a real ``adambench sweep --jobs 2`` killed with SIGKILL: its workers,
  the forkserver and the resource tracker are gone soon after (each held 220 MB for good).
* SIGTERM and Ctrl-C (SIGINT) on the driver: a clean stop, exit 143 / 130, one
  ``interrupted: ...`` line, no ``leaked semaphore`` warning, no process left.
* The portable part of the mechanism (no prctl, e.g. macOS): a worker's watchdog ends
  its process when the driver's end of the pipe closes.
* An error in the driver (not an interrupt) also stops the workers at once.

The processes of a sweep are found from /proc (Linux; skipped elsewhere).
"""

from __future__ import annotations

import dataclasses
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sweep_helpers import tiny

from adambench.sweep import executors
from adambench.sweep.executors import ProcessExecutor

PROC = Path("/proc")
linux = pytest.mark.skipif(not (PROC / "self" / "task").is_dir(), reason="needs /proc")
MAIN = "import sys; from adambench.cli.app import main; sys.argv[0] = 'adambench'; main()"

SWEEP = """
[sweep]
kind = "regret"
name = "lifecycle"
seeds = 2
runs_per_unit = 2

[regret]
problems = ["reddi"]
T = 20000000

[optimizers.adam]
beta1 = [0.0, 0.3, 0.6, 0.9]
"""  # 4 units of minutes each: signalled while they run


def descendants(pid: int) -> list[int]:
    """Every process below ``pid`` (its children, theirs, ...), from /proc."""
    out = []
    try:
        tasks = list((PROC / str(pid) / "task").iterdir())
    except OSError:
        return out
    for t in tasks:
        try:
            kids = (t / "children").read_text().split()
        except OSError:
            continue
        for k in map(int, kids):
            out += [k, *descendants(k)]
    return out


def alive(pids: list[int]) -> list[int]:
    """Those of ``pids`` still running (a zombie, dead but not yet reaped, is not)."""
    out = []
    for p in pids:
        try:
            state = (PROC / str(p) / "stat").read_text().rsplit(")", 1)[1].split()[0]
        except (OSError, IndexError):
            continue
        if state not in ("Z", "X"):
            out.append(p)
    return out


def cmdline(pid: int) -> str:
    try:
        return (PROC / str(pid) / "cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return ""


def wait_gone(pids: list[int], limit: float = 20.0) -> list[int]:
    """Poll until none of ``pids`` runs, at most ``limit`` seconds; those still running."""
    deadline = time.monotonic() + limit
    while alive(pids) and time.monotonic() < deadline:
        time.sleep(0.1)
    return alive(pids)


def start_sweep(tmp_path: Path) -> tuple[subprocess.Popen, list[int]]:
    """A running ``adambench sweep --jobs 2`` and its processes once both workers run."""
    cfg = tmp_path / "sweep.toml"
    cfg.write_text(SWEEP)
    env = dict(os.environ, NO_COLOR="1", COLUMNS="200", TERM="dumb")
    proc = subprocess.Popen(
        [sys.executable, "-c", MAIN, "sweep", str(cfg), "--jobs", "2", "--out",
         str(tmp_path / "out")],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL,
        text=True, env=env,
    )  # fmt: skip
    deadline = time.monotonic() + 120
    while True:
        assert proc.poll() is None, proc.communicate()
        procs = descendants(proc.pid)
        # the resource tracker, the forkserver and two workers forked from it
        workers = [p for p in procs if "forkserver" in cmdline(p)][1:]
        if len(workers) >= 2:
            break
        assert time.monotonic() < deadline, f"no workers: {[cmdline(p) for p in procs]}"
        time.sleep(0.1)
    time.sleep(1.0)  # at work on their units
    return proc, descendants(proc.pid)


@linux
def test_workers_die_with_a_killed_driver(tmp_path):
    proc, procs = start_sweep(tmp_path)
    assert len(procs) >= 4, [cmdline(p) for p in procs]  # tracker, forkserver, 2 workers
    try:
        proc.kill()  # SIGKILL: the driver cleans nothing up
        proc.wait(timeout=30)
        left = wait_gone(procs)
    finally:
        for p in alive(procs):  # do not leave them to the machine when the test fails
            os.kill(p, signal.SIGKILL)
    assert left == [], [cmdline(p) for p in left]


@linux
@pytest.mark.parametrize("sig, code", [(signal.SIGTERM, 143), (signal.SIGINT, 130)])
def test_terminated_driver_stops_cleanly(tmp_path, sig, code):
    proc, procs = start_sweep(tmp_path)
    try:
        proc.send_signal(sig)
        _, err = proc.communicate(timeout=60)
        left = wait_gone(procs)
    finally:
        if proc.poll() is None:
            proc.kill()
        for p in alive(procs):
            os.kill(p, signal.SIGKILL)
    assert proc.returncode == code, err
    assert left == [], [cmdline(p) for p in left]
    assert "Traceback" not in err and "leaked" not in err, err
    lines = err.strip().splitlines()
    assert lines[-1].startswith("interrupted: ") and "--resume" in lines[-1], err
    assert not list((tmp_path / "out").rglob("*.tmp*"))


def test_worker_watchdog_exits_when_the_driver_end_closes():
    """Without prctl (macOS, or a parent that is not the driver) the pipe still works."""
    import multiprocessing

    ctx = multiprocessing.get_context("spawn")
    reader, writer = ctx.Pipe(duplex=False)
    child = ctx.Process(target=executors._watch_driver, args=(reader,))
    child.start()
    try:
        time.sleep(0.5)
        assert child.is_alive()  # it waits as long as the driver holds its end
        writer.close()
        child.join(timeout=30)
    finally:
        if child.is_alive():
            child.kill()
            child.join()
    assert child.exitcode == 1
    reader.close()


def test_an_error_in_the_driver_stops_the_workers():
    """A callback raising in the driver (say, the store cannot be written) stops the
    workers at once rather than leaving them to finish their units."""
    _, units, _ = tiny(regret={"T": 20_000_000, "problems": ["reddi"]})
    bad = dataclasses.replace(units[0], key="bad", spec={**units[0].spec, "kind": "nope"})
    ex = ProcessExecutor(2, threads=1)
    pids: list[int] = []

    class StoreBroke(RuntimeError):
        pass

    def failed(unit, message):  # the bad unit fails at once, the others run for minutes
        assert "unknown unit kind" in message
        pids.extend(ex.worker_pids())
        raise StoreBroke

    try:
        with pytest.raises(StoreBroke):
            ex.map([bad, *units[1:3]], lambda u, p: None, failed)
        assert pids and ex.pool is None
        if PROC.is_dir():
            assert wait_gone(pids, 10) == []
    finally:
        ex._stop()
        ex.close()
