"""Regret engine speed of two checkouts, side by side: ns per run-step, old vs new.

Runs the same batch (7 rules x 8 seeds, comparator precomputed and excluded, one numba
thread, CPU time, best of 7) in two processes at once, one pinned to each core, and
swaps the cores every pair, so that both trees see the same machine.  Prints per-pair
ratios new/old: on a shared VM single runs move 10-15 %, pairs much less.

    python scripts/compare_engine_trees.py OLD_CHECKOUT NEW_CHECKOUT [--pairs 6]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys

CHILD = r"""
import json, time
try:
    from adambench.engines.regret.engine import RunPoint, run
except ImportError:  # checkouts before the engines/ layout
    from adambench.problems.online.engine import RunPoint, run
from adambench.problems.online.registry import make_problem

RULES = ("adam", "amsgrad", "sgd", "adagrad", "adamax", "rmsprop-momentum", "adam-nobias")
out = {}
for name, kw, T in (("reddi-stochastic", {}, 100000), ("logistic", {}, 20000),
                    ("least-squares", {"feasible": "ball"}, 20000)):
    prob = make_problem(name, **kw)
    pts = [RunPoint(o, {"lr": prob.default_lr,
                        "lr_schedule": "constant" if o == "adagrad" else "inv_sqrt"})
           for o in RULES]
    seeds = list(range(8))
    comp = run(prob, pts, seeds, T).comparator  # warm-up: compile or load the cache

    def once():
        t0 = time.process_time()
        run(prob, pts, seeds, T, comparator=comp)
        return time.process_time() - t0

    out[name + ("-ball" if kw else "")] = min(once() for _ in range(7)) / (T * len(pts) * 8) * 1e9
print(json.dumps(out))
"""


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("old")
    ap.add_argument("new")
    ap.add_argument("--pairs", type=int, default=6)
    args = ap.parse_args()
    trees = {"old": os.path.abspath(args.old), "new": os.path.abspath(args.new)}
    res: dict[str, list[dict[str, float]]] = {"old": [], "new": []}
    for pair in range(args.pairs):
        cores = ("0", "1") if pair % 2 == 0 else ("1", "0")
        procs = {}
        for (k, path), core in zip(trees.items(), cores, strict=True):
            env = dict(os.environ, PYTHONPATH=path, NUMBA_NUM_THREADS="1")
            procs[k] = subprocess.Popen(
                ["taskset", "-c", core, sys.executable, "-c", CHILD], env=env, cwd="/",
                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
            )  # fmt: skip
        for k, p in procs.items():
            out, err = p.communicate()
            if p.returncode:
                sys.exit(f"error: the {k} checkout failed: {err.strip().splitlines()[-1]}")
            res[k].append(json.loads(out.strip().splitlines()[-1]))
    for name in res["old"][0]:
        r = [n[name] / o[name] for n, o in zip(res["new"], res["old"], strict=True)]
        old = statistics.median(x[name] for x in res["old"])
        new = statistics.median(x[name] for x in res["new"])
        print(
            f"{name:22s} old {old:7.1f} ns  new {new:7.1f} ns  new/old per pair: median "
            f"{statistics.median(r):.3f} [{min(r):.3f}, {max(r):.3f}] ({args.pairs} pairs)"
        )


if __name__ == "__main__":
    main()
