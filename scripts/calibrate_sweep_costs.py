"""Measure the cost constants of ``adambench sweep --dry-run`` on this machine.

    python scripts/calibrate_sweep_costs.py [--write] [--quick] [--check]

Prints the table of ``adambench/sweep/costs.py`` (``--write`` replaces it there) and,
with ``--check``, three example units: each one's estimate against its measured time in
a fresh worker process.  Every figure comes from the real code paths (``work.run_unit``
in a new Python process, ``Store.save``), the median of a few repeats, one numba thread:

* worker_start_seconds: a new interpreter importing what a worker imports;
* kernel_load_seconds: the first tiny regret unit in that process minus the second (the
  compiled kernels loaded from numba's cache);
* kernel_compile_seconds: the same with an empty ``NUMBA_CACHE_DIR`` (a cold cache);
* unit_fixed_seconds: a tiny warm unit (T = 10) plus its checksummed atomic write;
* regret_seconds_per_work: engine seconds / (T x runs x (d + 10)), linear problem;
* comparator_seconds_per_step: Newton comparator seconds / (T x seeds), logistic d = 10;
* train_seconds_per_work, data_load_seconds: one MLP epoch on the digits, its load.

Run it on a quiet machine: other load inflates every figure.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
COSTS_FILE = ROOT / "adambench" / "sweep" / "costs.py"
IMPORTS = (
    "import numpy, scipy, numba; import adambench.sweep.work, adambench.engines.regret.engine, "
    "adambench.experiments.regret, adambench.experiments.training"
)


def regret_spec(problem: str, T: int, runs_points: int, seeds: int, d: int = 10) -> dict:
    """The spec of one regret unit (as plan.py builds it) via the planner itself."""
    from adambench.sweep import config, plan

    cfg = config.parse({
        "sweep": {"kind": "regret", "seeds": seeds, "runs_per_unit": runs_points * seeds},
        "regret": {"problems": [problem], "T": T, "dim": d},
        "optimizers": {"adam": {"beta1": [0.1 * k for k in range(runs_points)]}},
    })  # fmt: skip
    (unit,) = plan.plan(cfg)
    return unit


def in_fresh_process(code: str, env: dict | None = None) -> dict:
    """Run ``code`` in a new interpreter; it prints one JSON object, returned."""
    t0 = time.perf_counter()
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         env={**os.environ, **(env or {})}, check=True)  # fmt: skip
    doc = json.loads(out.stdout.strip().splitlines()[-1])
    doc["process_seconds"] = time.perf_counter() - t0
    return doc


TWO_TINY_UNITS = """
import json, time
{imports}
from adambench.sweep.work import run_unit
spec = json.loads({spec!r})
a = time.perf_counter(); run_unit(spec, 1); b = time.perf_counter(); run_unit(spec, 1)
c = time.perf_counter()
print(json.dumps({{"first": b - a, "second": c - b}}))
"""

WARM_UNIT = """
import json, time, tempfile
from pathlib import Path
from adambench.sweep.work import run_unit
from adambench.sweep.plan import Unit
from adambench.sweep.store import Store
warm, spec = json.loads({warm!r}), json.loads({spec!r})
run_unit(warm, 1)
t = time.perf_counter(); payload = run_unit(spec, 1); seconds = time.perf_counter() - t
store = Store(Path(tempfile.mkdtemp()), "x"); store.units_dir.mkdir()
u = Unit("k" * 32, spec, 1, "u", 0.0, 0)
t = time.perf_counter(); store.save(u, payload); write = time.perf_counter() - t
print(json.dumps({{"seconds": seconds, "write": write, "timing": payload["timing"]}}))
"""

FIRST_UNIT = """
import json, time
t0 = time.perf_counter()
from adambench.sweep.work import run_unit
payload = run_unit(json.loads({spec!r}), 1)
print(json.dumps({{"seconds": time.perf_counter() - t0, "timing": payload["timing"]}}))
"""


def median(xs: list[float]) -> float:
    return float(statistics.median(xs))


def measure(quick: bool) -> dict[str, float]:
    reps = 2 if quick else 3
    tiny = regret_spec("reddi", 10, 1, 1).spec
    costs: dict[str, float] = {}

    starts = []
    for _ in range(reps):
        t = time.perf_counter()
        subprocess.run([sys.executable, "-c", IMPORTS], check=True)
        starts.append(time.perf_counter() - t)
    costs["worker_start_seconds"] = median(starts)

    code = TWO_TINY_UNITS.format(imports=IMPORTS, spec=json.dumps(tiny))  # imports apart
    in_fresh_process(code)  # fill the cache
    pairs = [in_fresh_process(code) for _ in range(reps)]
    costs["kernel_load_seconds"] = median([p["first"] - p["second"] for p in pairs])
    with tempfile.TemporaryDirectory() as cache:
        cold = in_fresh_process(code, {"NUMBA_CACHE_DIR": cache})
    costs["kernel_compile_seconds"] = cold["first"] - cold["second"]

    warm = [in_fresh_process(WARM_UNIT.format(warm=json.dumps(tiny), spec=json.dumps(tiny)))
            for _ in range(reps)]  # fmt: skip
    costs["unit_fixed_seconds"] = median([w["seconds"] + w["write"] for w in warm])

    T = 50_000 if quick else 200_000
    unit = regret_spec("linear", T, 4, 2)
    doc = in_fresh_process(WARM_UNIT.format(warm=json.dumps(tiny), spec=json.dumps(unit.spec)))
    work = T * unit.runs * (unit.spec["problem"]["dim"] + 10)
    costs["regret_seconds_per_work"] = doc["timing"]["engine"] / work

    Tc = 20_000 if quick else 100_000
    unit = regret_spec("logistic", Tc, 1, 2)
    doc = in_fresh_process(WARM_UNIT.format(warm=json.dumps(tiny), spec=json.dumps(unit.spec)))
    costs["comparator_seconds_per_step"] = doc["timing"]["comparator"] / (Tc * 2)

    costs.update(measure_training())
    return costs


TRAIN = """
import json, time
from adambench.sweep.work import run_unit, dataset
t = time.perf_counter(); data = dataset("digits", None); load = time.perf_counter() - t
spec = json.loads({spec!r})
run_unit({{**spec, "epochs": 1}}, 1)
t = time.perf_counter(); run_unit(spec, 1); seconds = time.perf_counter() - t
print(json.dumps({{"load": load, "seconds": seconds, "n": len(data.y_train)}}))
"""


def run_unit_of(task: str, epochs: int, points: int, seeds: int):
    from adambench.sweep import config, plan

    cfg = config.parse({
        "sweep": {"kind": "run", "seeds": seeds, "runs_per_unit": points * seeds},
        "run": {"tasks": [task], "epochs": epochs},
        "optimizers": {"adam": {"lr": [10.0 ** -k for k in range(1, points + 1)]}},
    })  # fmt: skip
    (unit,) = plan.plan(cfg)
    return unit


def measure_training() -> dict[str, float]:
    from adambench.sweep.work import dataset, make_train_task

    unit = run_unit_of("mlp", 3, 2, 2)
    doc = in_fresh_process(TRAIN.format(spec=json.dumps(unit.spec)))
    size = make_train_task("mlp", dataset("digits", None), unit.spec["width"]).size
    work = unit.spec["epochs"] * doc["n"] * unit.runs * size
    return {"train_seconds_per_work": doc["seconds"] / work, "data_load_seconds": doc["load"]}


def check() -> None:
    """Three example units: estimate (startup + unit) against a fresh worker's time."""
    from adambench.sweep import costs

    examples = [("reddi T=2000, 2 runs", regret_spec("reddi", 2000, 1, 2)),
                ("logistic T=1e5, 8 runs", regret_spec("logistic", 100_000, 4, 2)),
                ("linear T=1e6, 4 runs", regret_spec("linear", 1_000_000, 2, 2))]  # fmt: skip
    print(f"{'unit':28} {'estimated s':>12} {'measured s':>11} {'ratio':>6}")
    for name, unit in examples:
        doc = in_fresh_process(FIRST_UNIT.format(spec=json.dumps(unit.spec)))
        est = costs.startup_seconds("regret") + unit.est_seconds
        got = doc["process_seconds"]
        print(f"{name:28} {est:12.3g} {got:11.3g} {got / est:6.2f}")


def write(values: dict[str, float]) -> None:
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    where = (f"{platform.machine()}, {os.cpu_count()} cores, {date.today().isoformat()}, "
             f"load average {load:.1f}")  # fmt: skip
    body = [f'MEASURED_ON = "{where}"', "COSTS = {"]
    body += [f'    "{k}": {v:.3g},' for k, v in values.items()] + ["}"]
    text = COSTS_FILE.read_text()
    new = re.sub(r"(# CALIBRATED BEGIN\n).*?(\n# CALIBRATED END)",
                 lambda m: m.group(1) + "\n".join(body) + m.group(2), text, flags=re.S)  # fmt: skip
    COSTS_FILE.write_text(new)
    print(f"wrote {COSTS_FILE}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--write", action="store_true", help="replace the table in costs.py")
    ap.add_argument("--quick", action="store_true", help="fewer repeats, shorter runs")
    ap.add_argument("--check", action="store_true", help="three example units, est. vs measured")
    args = ap.parse_args()
    if not args.check or args.write:
        values = measure(args.quick)
        for k, v in values.items():
            print(f"{k:30} {v:.3g}")
        if args.write:
            write(values)
    if args.check:
        check()


if __name__ == "__main__":
    main()
