"""Executors: where work units run.  In this process, in local worker processes, or on
a Dask distributed cluster.

Every executor has ``map(units, done, failed)``: it runs ``work.run_unit`` on each unit
and calls ``done(unit, payload)`` in the calling thread as each one finishes, in whatever
order they finish (the driver writes the result file then, so one process writes the
store).  The inline and the local-process executors (``reports_progress``) also take
``progress(unit, fraction)``, called in the calling thread when a unit starts (0) and
as its engine advances: local workers send (key, fraction) on a queue, at most every
``PROGRESS_INTERVAL`` seconds a unit, which the driver drains while it waits.

On KeyboardInterrupt it stops its workers and re-raises; on a lost worker it
runs the lost units again.  A unit whose computation raises is reported to
``failed(unit, message)`` and the others go on.

Local workers die with their driver, however the driver ends (SIGKILL included): each
one watches a pipe that only the driver holds open (end of file: the driver is gone) and,
on Linux, also asks the kernel for SIGKILL when its parent (the forkserver, which itself
exits with the driver) dies.  ``adambench.cli.app.main`` turns SIGTERM into the same
KeyboardInterrupt as Ctrl-C, so a terminated sweep stops its workers the same way.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from .plan import Unit
from .work import run_unit

Done = Callable[[Unit, dict[str, Any]], None]
Failed = Callable[[Unit, str], None]
Progress = Callable[[Unit, float], None]
PROGRESS_INTERVAL = 0.25  # seconds between a worker's progress messages for one unit
MAX_ATTEMPTS = 3  # runs of one unit whose worker died before giving up on it


def _message(e: BaseException) -> str:
    return " ".join(f"{type(e).__name__}: {e}".split())


def cores() -> int:
    """Cores this process may use."""
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


class InlineExecutor:
    """Units one after another in this process (numba on ``threads`` threads)."""

    reports_progress = True

    def __init__(self, threads: int | None = None):
        self.threads = threads
        self.description = "this process"

    def map(
        self, units: list[Unit], done: Done, failed: Failed, progress: Progress | None = None
    ) -> None:
        for u in units:
            tell = None
            if progress is not None:
                progress(u, 0.0)
                tell = _throttled(lambda f, u=u: progress(u, f))
            try:
                payload = run_unit(u.spec, self.threads, tell)
            except Exception as e:
                failed(u, _message(e))
                continue
            done(u, payload)

    def close(self) -> None:
        pass


def _throttled(tell: Callable[[float], None]) -> Callable[[float], None]:
    """``tell`` at most every ``PROGRESS_INTERVAL`` seconds (and always at 1.0)."""
    last = 0.0

    def call(fraction: float) -> None:
        nonlocal last
        now = time.monotonic()
        if fraction >= 1.0 or now - last >= PROGRESS_INTERVAL:
            last = now
            tell(fraction)

    return call


_PROGRESS_QUEUE: Any = None  # in a local worker: where its units' progress goes


def _run_reporting(key: str, spec: dict[str, Any], threads: int | None) -> dict[str, Any]:
    """``run_unit`` in a local worker, its progress sent to the driver as (key, fraction)."""
    queue = _PROGRESS_QUEUE
    if queue is None:
        return run_unit(spec, threads)

    def send(fraction: float) -> None:
        try:
            queue.put_nowait((key, fraction))
        except Exception:  # noqa: BLE001 - a full or closed queue costs only the bar
            pass

    send(0.0)
    return run_unit(spec, threads, _throttled(send))


PR_SET_PDEATHSIG = 1  # linux/prctl.h


def _die_with_parent() -> None:
    """Linux: the kernel sends this process SIGKILL when its parent dies (elsewhere: no-op)."""
    if not sys.platform.startswith("linux"):
        return
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, int(signal.SIGKILL), 0, 0, 0)
    except (OSError, AttributeError):  # no prctl (another libc): the watchdog suffices
        pass


def _watch_driver(alive: Any) -> None:
    """Exit this worker when the driver is gone: ``alive`` is the read end of a pipe whose
    only write end the driver holds (it never writes, so a read returns at its death)."""
    try:
        alive.recv_bytes()
    except (EOFError, OSError):
        pass
    os._exit(1)  # a worker has nothing to save: its unit is recomputed by a later run


def _worker_init(alive: Any = None, queue: Any = None) -> None:
    """Set up a local worker.

    * Progress of its units goes to ``queue`` (``_run_reporting``).
    * Ctrl-C is ignored: the driver stops the workers (and keeps what finished).
    * The worker dies with its driver (``_die_with_parent``, ``_watch_driver``).
    * ``spawn`` becomes this process's default start method (it starts no process): numba
      makes a cross-process lock for its threading layer whenever "fork" is in the start
      method's name, a named semaphore that a worker stopped by SIGTERM (Ctrl-C on the
      sweep) cannot release, hence the resource tracker's "leaked semaphore" warning.
      The lock would be this worker's own, so it guards nothing.
    """
    global _PROGRESS_QUEUE
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    _PROGRESS_QUEUE = queue
    _die_with_parent()
    if alive is not None:
        threading.Thread(target=_watch_driver, args=(alive,), name="adambench-driver-watch",
                         daemon=True).start()  # fmt: skip
    try:
        multiprocessing.set_start_method("spawn", force=True)
    except (RuntimeError, ValueError):
        pass


class ProcessExecutor:
    """``jobs`` local worker processes (concurrent.futures, forkserver or spawn start).

    Each worker runs numba on cores // jobs threads (at least one) so that the workers
    together do not oversubscribe the machine.  A worker that dies (killed, out of
    memory) breaks the pool: a new pool runs the units that had not finished.
    """

    reports_progress = True

    def __init__(self, jobs: int, threads: int | None = None):
        if jobs < 1:
            raise ValueError(f"--jobs must be an integer >= 1, got {jobs}")
        self.jobs = jobs
        self.threads = threads or max(1, cores() // jobs)
        method = (
            "forkserver" if "forkserver" in multiprocessing.get_all_start_methods() else "spawn"
        )
        self.context = multiprocessing.get_context(method)
        self.description = f"{jobs} local process(es), {self.threads} numba thread(s) each"
        self.pool: Any = None
        self.restarts = 0
        self._alive: tuple[Any, Any] | None = None  # (read end for the workers, write end)
        self._queue: Any = None  # the workers' progress messages (key, fraction)

    def _new_pool(self) -> Any:
        from concurrent.futures import ProcessPoolExecutor

        if self._alive is None:
            self._alive = self.context.Pipe(duplex=False)
        if self._queue is None:
            self._queue = self.context.Queue()
        return ProcessPoolExecutor(
            self.jobs, mp_context=self.context, initializer=_worker_init,
            initargs=(self._alive[0], self._queue),
        )  # fmt: skip

    def worker_pids(self) -> list[int]:
        """Process ids of the current workers (tests kill one to check the retry)."""
        procs = getattr(self.pool, "_processes", None) or {}
        return [p.pid for p in list(procs.values()) if p.pid is not None]

    def _drain(self, by_key: dict[str, Unit], progress: Progress | None) -> None:
        """Hand the workers' queued progress messages to ``progress`` (this thread)."""
        if self._queue is None:
            return
        import queue as queue_mod

        while True:
            try:
                key, fraction = self._queue.get_nowait()
            except (queue_mod.Empty, OSError, EOFError, ValueError):
                return
            if progress is not None and key in by_key:
                progress(by_key[key], float(fraction))

    def map(
        self, units: list[Unit], done: Done, failed: Failed, progress: Progress | None = None
    ) -> None:
        from concurrent.futures import FIRST_COMPLETED, wait
        from concurrent.futures.process import BrokenProcessPool

        attempts = dict.fromkeys((u.key for u in units), 0)
        by_key = {u.key: u for u in units}
        todo = list(units)
        tick = PROGRESS_INTERVAL if progress is not None else None
        try:
            while todo:
                self.pool = self.pool or self._new_pool()
                pending = {
                    self.pool.submit(_run_reporting, u.key, u.spec, self.threads): u for u in todo
                }
                for u in todo:
                    attempts[u.key] += 1
                todo = []
                while pending:
                    finished, _ = wait(pending, timeout=tick, return_when=FIRST_COMPLETED)
                    self._drain(by_key, progress)
                    for f in finished:
                        u = pending.pop(f)
                        try:
                            payload = f.result()
                        except BrokenProcessPool:
                            if attempts[u.key] >= MAX_ATTEMPTS:
                                failed(u, f"its worker died {MAX_ATTEMPTS} times")
                            else:
                                todo.append(u)
                            continue
                        except Exception as e:
                            failed(u, _message(e))
                            continue
                        done(u, payload)
                if todo:  # the pool broke: every unfinished unit goes to a new pool
                    self._stop()
                    self.restarts += 1
        except BaseException:  # Ctrl-C, SIGTERM (the CLI), or the driver's own error
            self._stop()
            raise

    def _stop(self) -> None:
        """Stop the workers now (running units are lost; finished ones are stored)."""
        pool, self.pool = self.pool, None
        if pool is None:
            return
        procs = list((getattr(pool, "_processes", None) or {}).values())
        for p in procs:
            if p.is_alive():
                p.terminate()
        pool.shutdown(wait=True, cancel_futures=True)
        for p in procs:  # reaped: none is left behind as a zombie
            p.join(timeout=5)

    def close(self) -> None:
        pool, self.pool = self.pool, None
        try:
            if pool is not None:
                pool.shutdown(wait=True)
        finally:
            alive, self._alive = self._alive, None
            for end in alive or ():
                end.close()
            queue, self._queue = self._queue, None
            if queue is not None:
                queue.close()
                queue.cancel_join_thread()  # unread progress messages are not waited for


class _NoDaskErrors(logging.Filter):
    """Drops distributed's error records (tracebacks included): a lost scheduler or worker
    reaches the sweep as failed units, which it reports itself, in one line."""

    def filter(self, record: logging.LogRecord) -> bool:
        return record.levelno < logging.ERROR and not record.exc_info


@contextmanager
def _quiet_distributed() -> Iterator[None]:
    """While it lasts, distributed's loggers print warnings only, without tracebacks."""
    quiet = _NoDaskErrors()
    names = [n for n in list(logging.root.manager.loggerDict) if n.split(".")[0] == "distributed"]
    handlers = {h for n in names for h in logging.getLogger(n).handlers}
    for h in handlers:
        h.addFilter(quiet)
    try:
        yield
    finally:
        for h in handlers:
            h.removeFilter(quiet)


class DaskExecutor:
    """Units as tasks on a Dask distributed cluster (``dask``/``distributed``: the
    ``dask`` extra, imported only here).

    Dask reruns the tasks of a worker that is lost (up to its ``allowed-failures``), so a
    killed worker costs only its running units.  Each task runs numba on ``threads``
    threads (default 1: a Dask worker runs one task per worker thread).
    """

    def __init__(
        self,
        address: str | None = None,
        client: Any = None,
        threads: int = 1,
        timeout: float = 5.0,
    ):
        try:
            from distributed import Client
        except ImportError:
            raise ValueError(
                "--scheduler needs Dask: pip install 'adambench[dask]' (dask and distributed)"
            ) from None
        self.threads = threads
        self._own = client is None
        if client is None:
            if not address or "://" not in address:
                raise ValueError(f"--scheduler must look like tcp://HOST:PORT, got {address!r}")
            try:
                client = Client(address, timeout=f"{timeout}s", set_as_default=False)
            except Exception as e:  # OSError / TimeoutError from the comm layer
                raise ValueError(
                    f"cannot reach the Dask scheduler at {address} within {timeout:g} s "
                    f"({_message(e)})"
                ) from None
        self.client = client
        self.address = client.scheduler.address
        self.dashboard = getattr(client, "dashboard_link", None)
        workers = len(client.scheduler_info().get("workers", {}))
        self.description = f"Dask scheduler {self.address} ({workers} worker(s) now)"

    def map(self, units: list[Unit], done: Done, failed: Failed) -> None:
        with _quiet_distributed():
            self._map(units, done, failed)

    def _map(self, units: list[Unit], done: Done, failed: Failed) -> None:
        from distributed import as_completed

        futures = {}
        for u in units:
            fut = self.client.submit(
                run_unit, u.spec, self.threads, key=f"adambench-unit-{u.key}", pure=False
            )
            futures[fut] = u
        try:
            for fut in as_completed(list(futures), loop=self.client.loop):
                u = futures[fut]
                try:
                    payload = fut.result()
                except Exception as e:
                    failed(u, _message(e))
                    continue
                done(u, payload)
        except KeyboardInterrupt:
            self.client.cancel(list(futures), force=True)
            raise
        finally:
            for fut in futures:
                fut.release()

    def close(self) -> None:
        if self._own:
            with _quiet_distributed():
                try:
                    self.client.close(timeout=5)
                except Exception as e:  # closing must not hide the sweep's own outcome
                    print(f"warning: closing the Dask client: {_message(e)}", file=sys.stderr)
