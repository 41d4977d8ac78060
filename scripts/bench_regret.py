"""Speed of the regret engine: engine vs a plain NumPy loop, and the default suite.

1. Time per run-step of the compiled engine (a batch of runs: every optimizer x seeds,
   the comparator excluded) against ``problems.online.reference.run_numpy``, the same
   algorithm one NumPy step at a time, measured in this one process after warm-up
   (compilation is never timed).  Target: >= 50x.
2. Wall and CPU time (user + sys of the child) of ``adambench regret --T 1e6`` (the
   default suite).  Target: < 60 s on 2 cores.  On a shared machine the CPU time is the
   steadier figure: the wall time counts the time other jobs held the cores.

    python scripts/bench_regret.py [--T 200000] [--numpy-steps 3000] [--skip-cli]
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import time

from adambench.engines.regret.engine import RunPoint, run
from adambench.engines.regret.reference import run_numpy
from adambench.problems.online.registry import make_problem

OPTIMIZERS = ("adam", "amsgrad", "sgd", "adagrad", "adamax", "rmsprop-momentum", "adam-nobias")


def points(problem) -> list[RunPoint]:
    out = []
    for o in OPTIMIZERS:
        hp = {"lr": problem.default_lr, "lr_schedule": "constant" if o == "adagrad" else "inv_sqrt"}
        out.append(RunPoint(o, hp))
    return out


def engine_vs_numpy(name: str, T: int, numpy_steps: int, seeds: int) -> dict:
    problem = make_problem(name)
    pts = points(problem)
    run(problem, pts, [0], 100)  # compile (cache=True) outside the timing
    res = run(problem, pts, list(range(seeds)), T)
    per_engine = res.seconds["engine"] / (T * len(pts) * seeds)
    t0 = time.perf_counter()
    for p in pts[:3]:
        run_numpy(problem, p.optimizer, p.hp, 0, numpy_steps)
    per_numpy = (time.perf_counter() - t0) / (3 * numpy_steps)
    return {
        "problem": name,
        "d": problem.d,
        "runs": len(pts) * seeds,
        "engine_ns_per_run_step": per_engine * 1e9,
        "numpy_us_per_step": per_numpy * 1e6,
        "speedup": per_numpy / per_engine,
    }


def default_suite(T: str) -> dict:
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    cmd = [sys.executable, "-c", "from adambench.cli.app import main; main()", "regret", "--T", T]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    if proc.returncode != 0:
        raise SystemExit(f"adambench regret failed: {proc.stderr.strip()}")
    return {"T": T, "wall_s": wall, "cpu_s": cpu}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--T", type=int, default=200_000, help="engine steps per run")
    ap.add_argument("--numpy-steps", type=int, default=3000, help="NumPy loop steps per run")
    ap.add_argument("--seeds", type=int, default=5)
    ap.add_argument("--suite-T", default="1e6", help="T of the default-suite timing")
    ap.add_argument("--skip-cli", action="store_true", help="skip the default-suite timing")
    args = ap.parse_args()
    print(f"cores: {os.cpu_count()}, load average: {os.getloadavg()}")
    for name in ("reddi", "logistic", "sparse-logistic"):
        r = engine_vs_numpy(name, args.T, args.numpy_steps, args.seeds)
        print(
            f"{r['problem']:16s} d={r['d']:<4d} runs={r['runs']:<3d} engine "
            f"{r['engine_ns_per_run_step']:8.1f} ns/run-step   numpy loop "
            f"{r['numpy_us_per_step']:7.1f} us/step   speedup {r['speedup']:7.0f}x"
        )
    if not args.skip_cli:
        s = default_suite(args.suite_T)
        print(f"adambench regret --T {s['T']}: wall {s['wall_s']:.1f} s, cpu {s['cpu_s']:.1f} s")
    print(f"load average after: {os.getloadavg()}")


if __name__ == "__main__":
    main()
