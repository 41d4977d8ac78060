"""Measure the regression gate's own error rates on this machine.

    python scripts/measure_gate.py [--runs 20] [--slowdown 0.25] [--baseline FILE]
                                   [--out reports/gate.json]

1. A baseline: ``--baseline FILE`` (e.g. the committed reports/baselines/ci.json), or one
   fresh ``bench --quick`` run made now.
2. False alarms: ``--runs`` gate runs of the unchanged build against it, each exactly
   what ``adambench bench --quick --compare BASELINE`` does (quick benchmark, compare,
   re-measure a suspicious row once, decide).
3. Misses: ``--runs`` gate runs with every adambench kernel call slowed by ``--slowdown``
   (25 % by default) through ADAMBENCH_INJECT_SLOWDOWN, the test-only busy-wait wrapper
   in bench/timing.py that nothing else reads.

Prints the rates (targets: at most 1 false alarm in 20, at least 19 of 20 caught) and the
largest normalised change seen per run; ``--out`` keeps every verdict as JSON.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np

from adambench.bench.config import quick_config
from adambench.bench.gate import bench_document, check_overlap, gate
from adambench.bench.timing import SLOWDOWN_ENV
from adambench.results import read_json, write_json


def one_gate(baseline: dict, seed: int, threshold: float, alpha: float) -> dict:
    config = quick_config(seed)
    t0 = time.perf_counter()
    doc = bench_document(config)
    verdicts = gate(config, doc, baseline, threshold, alpha)
    changes = [v.change for v in verdicts]
    return {
        "failed": any(v.status == "regressed" for v in verdicts),
        "remeasured": len(doc.get("compare_first_pass", [])),
        "first_pass": doc.get("compare_first_pass", []),
        "max_change": max(changes),
        "min_change": min(changes),
        "seconds": time.perf_counter() - t0,
        "verdicts": [v.to_dict() for v in verdicts],
    }


def series(label: str, n: int, baseline: dict, args: argparse.Namespace, seed0: int) -> list:
    out = []
    for i in range(n):
        r = one_gate(baseline, seed0 + i, args.threshold, args.alpha)
        out.append(r)
        worst = max(r["verdicts"], key=lambda v: v["change"])
        print(
            f"{label} {i + 1:2d}/{n}: {'FAIL' if r['failed'] else 'pass'}  "
            f"re-measured {r['remeasured']}  change {r['min_change']:+.1%}..{r['max_change']:+.1%}"
            f" (worst {worst['optimizer']} {worst['size']:.0e})  {r['seconds']:.1f} s",
            flush=True,
        )
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--runs", type=int, default=20, help="gate runs per series (>= 1)")
    ap.add_argument("--slowdown", type=float, default=0.25, help="injected slowdown fraction")
    ap.add_argument("--threshold", type=float, default=0.10, help="gate minimum effect")
    ap.add_argument("--alpha", type=float, default=0.01, help="gate significance level")
    ap.add_argument("--baseline", type=Path, help="baseline file (default: make one now)")
    ap.add_argument("--out", type=Path, help="write every run's verdicts here (JSON)")
    args = ap.parse_args()
    if args.runs < 1 or not 0 < args.slowdown < 10:
        ap.error("--runs must be >= 1 and --slowdown in (0, 10)")
    os.environ.pop(SLOWDOWN_ENV, None)
    if args.baseline is not None:
        baseline = read_json(args.baseline, command="bench")
        source = str(args.baseline)
    else:
        baseline = bench_document(quick_config(seed=12345))
        source = "fresh bench --quick run"
    check_overlap(baseline, quick_config(0), source)
    print(f"baseline: {source}; threshold {args.threshold:.0%}, alpha {args.alpha:g}")
    clean = series("unchanged", args.runs, baseline, args, 1000)
    os.environ[SLOWDOWN_ENV] = str(args.slowdown)
    try:
        slow = series(f"slowed {args.slowdown:.0%}", args.runs, baseline, args, 2000)
    finally:
        os.environ.pop(SLOWDOWN_ENV, None)
    alarms = sum(r["failed"] for r in clean)
    caught = sum(r["failed"] for r in slow)
    secs = np.array([r["seconds"] for r in clean + slow])
    clean_max = np.array([r["max_change"] for r in clean])
    slow_min = np.array([r["min_change"] for r in slow])
    print(
        f"\nfalse alarms: {alarms}/{len(clean)} (target <= 1 in 20)"
        f"\ncaught {args.slowdown:.0%} slowdowns: {caught}/{len(slow)} (target >= 19 in 20)"
        f"\nunchanged runs: largest change per run, median {np.median(clean_max):+.1%}, "
        f"max {clean_max.max():+.1%}; first-pass suspicious rows re-measured in "
        f"{sum(r['remeasured'] > 0 for r in clean)} runs"
        f"\nslowed runs: smallest change per run, median {np.median(slow_min):+.1%}, "
        f"min {slow_min.min():+.1%}"
        f"\nseconds per gate run: median {np.median(secs):.1f}, max {secs.max():.1f}"
    )
    if args.out is not None:
        write_json(
            args.out,
            {
                "baseline": source,
                "threshold": args.threshold,
                "alpha": args.alpha,
                "slowdown": args.slowdown,
                "false_alarms": alarms,
                "caught": caught,
                "runs": args.runs,
                "unchanged": clean,
                "slowed": slow,
            },
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
