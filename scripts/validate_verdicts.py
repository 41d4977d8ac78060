"""The regret verdicts' error rate on cases whose truth the theory knows (full grid).

Runs ``adambench.experiments.validation.cases()`` (8 problems: Adam-type rules on the
Reddi problems are linear; SGD, AdaGrad and AMSGrad with beta1 decay are sublinear
wherever their sound theorem applies) at every T of --T (plus --reddi-T on the three
Reddi problems), prints one line per case and the counts of right / wrong / undetermined
per T, and writes the records as JSON with --out.  The test suite runs the same table at
a small T (tests/experiments/test_verdict_validation.py).

    python scripts/validate_verdicts.py --T 1e4,1e5,1e6 --reddi-T 1e7 --seeds 5 \
        --out reports/validation.json
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from adambench.experiments import validation as v
from adambench.experiments.regret import horizon
from adambench.results import to_jsonable


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--T", default="1e4,1e5,1e6", help="comma list of horizons")
    ap.add_argument("--reddi-T", default="1e7", help="extra horizons for the Reddi problems")
    ap.add_argument("--seeds", type=int, default=5)
    ap.add_argument("--out", type=Path, default=None, help="write the records as JSON")
    args = ap.parse_args(argv)
    if args.out is not None and args.out.exists():
        print(f"error: {args.out} exists; choose another --out", file=sys.stderr)
        return 2
    plan = [(horizon(t), v.PROBLEM_NAMES) for t in args.T.split(",") if t.strip()]
    plan += [(horizon(t), v.REDDI) for t in args.reddi_T.split(",") if t.strip()]
    seeds = list(range(args.seeds))
    table, records = {}, []
    for T, problems in plan:
        start = time.perf_counter()

        def show(case: v.Case, row: dict, score: str, T: int = T) -> None:
            text = row["verdict"]["text"]
            print(f"T={T:<9.0e} {case.label():46s} {case.truth:9s} {score:12s} {text}", flush=True)

        recs = v.run_cases(v.cases(problems), T, seeds, show)
        for r in recs:
            records.append({"T": T, "case": r["case"].label(), "truth": r["case"].truth,
                            "score": r["score"], "verdict": r["row"]["verdict"],
                            "R_over_T": r["row"]["R_over_T"],
                            "limit_R_over_T": r["row"]["limit_R_over_T"],
                            "known_limit": r["known_limit"]})  # fmt: skip
        table[T] = v.counts(recs)
        print(f"T={T:.0e}: {table[T]} ({time.perf_counter() - start:.0f} s)", flush=True)
    print("\nT        cases  right  wrong  undetermined  excluded  bound exceeded")
    for T, c in table.items():
        n = sum(c.values())
        print(f"{T:<8.0e} {n:5d}  {c.get('right', 0):5d}  {c.get('wrong', 0):5d}  "
              f"{c.get('undetermined', 0):12d}  {c.get('excluded', 0):8d}  "
              f"{c.get('bound exceeded', 0):14d}")  # fmt: skip
    if args.out is not None:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(to_jsonable({"seeds": seeds, "records": records}), indent=1))
    return 1 if any(c.get("wrong") or c.get("bound exceeded") for c in table.values()) else 0


if __name__ == "__main__":
    sys.exit(main())
