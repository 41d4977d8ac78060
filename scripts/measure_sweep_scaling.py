"""Figures for docs/scaling.md: per-unit cost, 2-worker speed-up, Dask overhead per unit.

    python scripts/measure_sweep_scaling.py [--quick]

Every figure is a ratio or a difference measured side by side in this one process run.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from adambench.sweep import config, plan, runner
from adambench.sweep.executors import InlineExecutor, ProcessExecutor
from adambench.sweep.store import Store


def sweep(problems, T, optimizers, seeds=2, runs_per_unit=4, dim=10):
    cfg = config.parse({
        "sweep": {"kind": "regret", "seeds": seeds, "runs_per_unit": runs_per_unit},
        "regret": {"problems": problems, "T": T, "dim": dim},
        "optimizers": optimizers,
    })  # fmt: skip
    return cfg, plan.plan(cfg), plan.sweep_id(cfg)


def timed(cfg, units, sid, ex) -> float:
    with tempfile.TemporaryDirectory() as d:
        store = Store.open(Path(d) / "o", sid, cfg.name, cfg.identity(), units)
        t = time.perf_counter()
        out = runner.execute(units, store, ex)
        assert out.complete and out.computed == len(units)
        return time.perf_counter() - t


def unit_rss(spec) -> int:
    code = (
        "import json, sys, resource; from adambench.sweep.work import run_unit; "
        "import numba, adambench.engines.regret.engine; "
        "base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss; "
        f"run_unit(json.loads({json.dumps(json.dumps(spec))}), 1); "
        "print(base, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)"
    )
    base, peak = map(int, subprocess.check_output([sys.executable, "-c", code]).split())
    return base * 1024, peak * 1024


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true")
    args = ap.parse_args()
    res: dict = {}
    T = 100_000 if args.quick else 300_000
    # 1. per-unit cost on one thread: linear problem (closed-form comparator), d = 10
    grid = {"beta1": [0.1 * k for k in range(8)]}
    cfg, units, sid = sweep(["linear"], T, {"adam": grid, "amsgrad": grid})
    inline = InlineExecutor(threads=1)
    timed(*sweep(["linear"], 1000, {"adam": {}, "amsgrad": {}}), inline)  # compile / warm
    t1 = timed(cfg, units, sid, inline)
    work = sum(u.spec["T"] * u.runs * (10 + 10) for u in units)
    res["units"] = len(units)
    res["runs_per_unit"] = units[0].runs
    res["inline_seconds"] = t1
    res["seconds_per_work"] = t1 / work
    res["seconds_per_unit"] = t1 / len(units)
    # 2. speed-up of 2 worker processes over 1 (pools warmed first), interleaved
    times = {1: [], 2: []}
    pools = {j: ProcessExecutor(j, threads=1) for j in (1, 2)}
    warm = sweep(["linear"], 1000, {"adam": {}, "amsgrad": {}})
    for j in (1, 2):
        timed(*warm, pools[j])
    for _ in range(1 if args.quick else 2):
        for j in (1, 2):
            times[j].append(timed(cfg, units, sid, pools[j]))
    for p in pools.values():
        p.close()
    res["process_seconds"] = {j: v for j, v in times.items()}
    res["speedup_2_over_1"] = min(times[1]) / min(times[2])
    # 3. Dask overhead per unit on loopback: tiny units, Dask minus inline
    try:
        import distributed

        from adambench.sweep.executors import DaskExecutor
    except ImportError:
        distributed = None
    if distributed is not None:
        small = sweep(
            ["reddi"],
            200,
            {"sgd": {"lr": [0.01 * (k + 1) for k in range(40)]}},
            seeds=1,
            runs_per_unit=1,
        )
        t_inline = timed(*small, inline)
        loopback = dict(protocol="tcp", host="127.0.0.1", dashboard_address=None)
        with distributed.LocalCluster(
            n_workers=1, threads_per_worker=1, processes=True, **loopback
        ) as c:
            ex = DaskExecutor(c.scheduler_address)
            timed(*sweep(["reddi"], 100, {"sgd": {}}, seeds=1), ex)  # warm the worker
            t_dask = timed(*small, ex)
            ex.close()
        n = len(small[1])
        res["dask_units"] = n
        res["dask_seconds"], res["inline_small_seconds"] = t_dask, t_inline
        res["dask_overhead_per_unit_ms"] = 1e3 * (t_dask - t_inline) / n
    # 4. memory of one worker running a 64-run unit, d = 100 (peak RSS, fresh process)
    big = sweep(
        ["linear"],
        20_000,
        {"adam": {"beta1": [0.0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7]}},
        seeds=8,
        runs_per_unit=64,
        dim=100,
    )
    base, peak = unit_rss(big[1][0].spec)
    res["rss_bytes_after_imports"], res["rss_bytes_peak_64x100"] = base, peak
    res["load_average"] = open("/proc/loadavg").read().split()[:3]
    print(json.dumps(res, indent=1))


if __name__ == "__main__":
    main()
