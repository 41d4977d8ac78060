"""Executors: where work units run.  In this process, in local worker processes, or on
a Dask distributed cluster.

Every executor has ``map(units, done)``: it runs ``work.run_unit`` on each unit and
calls ``done(unit, payload)`` in the calling thread as each one finishes, in whatever
order they finish (the driver writes the result file then, so one process writes the
store).  On KeyboardInterrupt it stops its workers and re-raises; on a lost worker it
runs the lost units again.  A unit whose computation raises is reported to
``failed(unit, message)`` and the others go on.
"""

from __future__ import annotations

import multiprocessing
import os
import signal
import sys
from collections.abc import Callable
from typing import Any

from .plan import Unit
from .work import run_unit

Done = Callable[[Unit, dict[str, Any]], None]
Failed = Callable[[Unit, str], None]
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

    def __init__(self, threads: int | None = None):
        self.threads = threads
        self.description = "this process"

    def map(self, units: list[Unit], done: Done, failed: Failed) -> None:
        for u in units:
            try:
                payload = run_unit(u.spec, self.threads)
            except Exception as e:
                failed(u, _message(e))
                continue
            done(u, payload)

    def close(self) -> None:
        pass


def _worker_init() -> None:
    """Local workers ignore Ctrl-C: the driver stops them (and keeps what finished)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)


class ProcessExecutor:
    """``jobs`` local worker processes (concurrent.futures, forkserver or spawn start).

    Each worker runs numba on cores // jobs threads (at least one) so that the workers
    together do not oversubscribe the machine.  A worker that dies (killed, out of
    memory) breaks the pool: a new pool runs the units that had not finished.
    """

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

    def _new_pool(self) -> Any:
        from concurrent.futures import ProcessPoolExecutor

        return ProcessPoolExecutor(self.jobs, mp_context=self.context, initializer=_worker_init)

    def worker_pids(self) -> list[int]:
        """Process ids of the current workers (tests kill one to check the retry)."""
        procs = getattr(self.pool, "_processes", None) or {}
        return [p.pid for p in list(procs.values()) if p.pid is not None]

    def map(self, units: list[Unit], done: Done, failed: Failed) -> None:
        from concurrent.futures import FIRST_COMPLETED, wait
        from concurrent.futures.process import BrokenProcessPool

        attempts = dict.fromkeys((u.key for u in units), 0)
        todo = list(units)
        try:
            while todo:
                self.pool = self.pool or self._new_pool()
                pending = {self.pool.submit(run_unit, u.spec, self.threads): u for u in todo}
                for u in todo:
                    attempts[u.key] += 1
                todo = []
                while pending:
                    finished, _ = wait(pending, return_when=FIRST_COMPLETED)
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
        except KeyboardInterrupt:
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

    def close(self) -> None:
        pool, self.pool = self.pool, None
        if pool is not None:
            pool.shutdown(wait=True)


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
            try:
                self.client.close(timeout=5)
            except Exception as e:  # closing must not hide the sweep's own outcome
                print(f"warning: closing the Dask client: {_message(e)}", file=sys.stderr)
