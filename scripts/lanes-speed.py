"""The regret engine's cost per run-step against a minimal compiled loop, in one run.

For d = 1 (reddi-stochastic) and d = 10, 100 (linear, dense a_t on a box), the engine
runs 20 x 20 Adam points x 3 seeds on its per-run loop ("steps") and, where it applies,
on the runs-as-lanes loop ("lanes"); the minimal loop is the same arithmetic with nothing
else (Adam step, linear loss, clipping, regret sum; runs in the inner loop, no statistics,
no checkpoints), compiled by numba.  One thread each (numba.set_num_threads(1)); best of
three.  With --rules, a second table: every rule on the 1-D reddi-stochastic, 400 points
(lr from 1e-3 to 1, constant) x 3 seeds, per-run loop against lanes.
Usage: python scripts/lanes-speed.py [T] [--rules]
"""

from __future__ import annotations

import sys
import time

import numba
import numpy as np
from numba import njit

from adambench.core.registry import RULES
from adambench.engines.regret import lanes
from adambench.engines.regret.engine import RunPoint, run
from adambench.problems.online.registry import make_problem


@njit(cache=True, error_model="numpy")
def minimal(a, x, m, v, loss, b1, b2, step, eps, radius):
    """Adam (constant step, bias correction folded in step) on f_t = <a_t, x>, runs inner."""
    n, d = a.shape
    R = x.shape[1]
    for t in range(n):
        for i in range(d):
            g = a[t, i]
            for r in range(R):
                loss[r] += g * x[i, r]
                mi = b1[r] * m[i, r] + (1.0 - b1[r]) * g
                vi = b2[r] * v[i, r] + (1.0 - b2[r]) * g * g
                m[i, r] = mi
                v[i, r] = vi
                xi = x[i, r] - step * mi / (np.sqrt(vi) + eps)
                x[i, r] = -radius if xi < -radius else (radius if xi > radius else xi)


def best(fn, repeat=3):
    out = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        out.append(time.perf_counter() - t0)
    return min(out)


def main(T: int) -> None:
    numba.set_num_threads(1)
    b1s, b2s = np.linspace(0, 0.99, 20), np.linspace(0.5, 0.9999, 20)
    pts = [RunPoint("adam", {"beta1": a, "beta2": b, "lr_schedule": "constant"})
           for a in b1s for b in b2s]  # fmt: skip
    S = 3
    runs = len(pts) * S
    print(f"ns per run-step, one thread, {len(pts)} points x {S} seeds, T = {T:,}")
    print(
        f"{'d':>4} {'problem':>17} {'steps':>8} {'lanes':>8} {'minimal':>8} {'lanes/minimal':>14}"
    )
    for d, name in ((1, "reddi-stochastic"), (10, "linear"), (100, "linear")):
        prob = make_problem(name) if d == 1 else make_problem(name, dim=d)
        Td = max(1000, T // d)
        cost = {}
        for loop in ("steps", "lanes"):
            if loop == "lanes" and d > lanes.MAX_D:
                continue
            run(prob, pts[:2], [0], 300, loop=loop)  # compile
            sec = best(
                lambda loop=loop, prob=prob, Td=Td: run(prob, pts, list(range(S)), Td, loop=loop)
            )
            cost[loop] = sec / (runs * Td) * 1e9
        rng = np.random.default_rng(0)
        a = (
            rng.choice([1010.0, -10.0], p=[0.01, 0.99], size=(Td, d))
            if d == 1
            else rng.standard_normal((Td, d))
        )
        b1 = np.repeat(np.repeat(b1s, 20), S)
        b2 = np.repeat(np.tile(b2s, 20), S)

        def go(a=a, b1=b1, b2=b2, d=d):
            z = np.zeros((d, runs))
            minimal(a, z, z.copy(), z.copy(), np.zeros(runs), b1, b2, 0.5, 1e-8, 1.0)

        go()
        cost["minimal"] = best(go) / (runs * Td) * 1e9
        laned = cost.get("lanes")
        ratio = f"{laned / cost['minimal']:.1f}x" if laned else "-"
        cells = [
            f"{cost[k]:8.2f}" if k in cost else f"{'-':>8}" for k in ("steps", "lanes", "minimal")
        ]
        print(f"{d:>4} {name:>17} {' '.join(cells)} {ratio:>14}")


def rules(T: int) -> None:
    """Every rule's per-run loop against its lanes loop on the 1-D reddi-stochastic."""
    numba.set_num_threads(1)
    prob, S = make_problem("reddi-stochastic"), 3
    print(f"\nns per run-step, one thread, reddi-stochastic, 400 points x {S} seeds, T = {T:,}")
    print(f"{'rule':>17} {'steps':>8} {'lanes':>8} {'steps/lanes':>12}")
    for name in RULES:
        pts = [RunPoint(name, {"lr": lr, "lr_schedule": "constant"})
               for lr in np.geomspace(1e-3, 1.0, 400)]  # fmt: skip
        cost = {}
        for loop in ("steps", "lanes"):
            run(prob, pts[:2], [0], 300, loop=loop)  # compile
            sec = best(lambda loop=loop, pts=pts: run(prob, pts, list(range(S)), T, loop=loop))
            cost[loop] = sec / (len(pts) * S * T) * 1e9
        ratio = cost["steps"] / cost["lanes"]
        print(f"{name:>17} {cost['steps']:8.2f} {cost['lanes']:8.2f} {ratio:11.1f}x")


if __name__ == "__main__":
    args = [a for a in sys.argv[1:] if a != "--rules"]
    T = int(float(args[0])) if args else 100_000
    main(T)
    if "--rules" in sys.argv[1:]:
        rules(T)
