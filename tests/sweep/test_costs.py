"""The sweep's cost model (sweep/costs.py) and progress inside units (sweep/progress.py).

The estimate's structure, not its accuracy (that is a wall-clock matter, measured by
scripts/calibrate_sweep_costs.py): fixed + per-step terms, every fixed cost included,
monotone in T and the seeds, totals that add up, and the calibration script rewriting
only its table.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

from adambench.experiments.regret import run_work
from adambench.sweep import config, costs, plan
from adambench.sweep.executors import InlineExecutor, ProcessExecutor
from adambench.sweep.progress import SweepProgress

ROOT = Path(__file__).resolve().parents[2]
C = {
    "worker_start_seconds": 1.5,
    "kernel_load_seconds": 0.25,
    "kernel_compile_seconds": 10.0,
    "unit_fixed_seconds": 0.01,
    "regret_seconds_per_work": 2e-8,
    "comparator_seconds_per_step": 3e-6,
    "train_seconds_per_work": 4e-10,
    "data_load_seconds": 0.5,
}


def _units(problem="reddi", T=1000, seeds=2, points=1, dim=None, per_unit=64):
    reg = {"problems": [problem], "T": T, **({"dim": dim} if dim else {})}
    cfg = config.parse({
        "sweep": {"kind": "regret", "seeds": seeds, "runs_per_unit": per_unit},
        "regret": reg,
        "optimizers": {"adam": {"beta1": [0.1 * k for k in range(points)]}},
    })  # fmt: skip
    return plan.plan(cfg)


def test_unit_seconds_is_fixed_plus_per_step_terms():
    assert costs.unit_seconds(kind="regret", work=0, costs=C) == C["unit_fixed_seconds"]
    got = costs.unit_seconds(kind="regret", work=1e6, comparator_steps=1e4, costs=C)
    assert got == pytest.approx(0.01 + 1e6 * 2e-8 + 1e4 * 3e-6, rel=1e-12)
    assert costs.unit_seconds(kind="run", work=1e9, costs=C) == pytest.approx(0.01 + 0.4)
    with pytest.raises(ValueError, match=">= 0"):
        costs.unit_seconds(kind="regret", work=-1)


def test_plan_estimate_includes_the_fixed_cost_and_the_comparator():
    """A tiny unit costs at least its fixed part (the old per-step-only estimate of a
    T = 2000 unit was 0.44 ms); a smooth problem adds its Newton comparator, T x seeds."""
    (u,) = _units("reddi", 2000)
    assert u.est_seconds >= costs.COSTS["unit_fixed_seconds"] > 0
    (lin,) = _units("linear", 10_000, dim=10)  # closed-form comparator
    (smooth,) = _units("logistic", 10_000, dim=10)
    engine = run_work(10_000, 2, 10) * costs.COSTS["regret_seconds_per_work"]
    assert lin.est_seconds == pytest.approx(costs.COSTS["unit_fixed_seconds"] + engine)
    comp = 10_000 * 2 * costs.COSTS["comparator_seconds_per_step"]
    assert smooth.est_seconds == pytest.approx(lin.est_seconds + comp)


def test_estimate_is_monotone_in_T_and_seeds():
    by_T = [_units("logistic", T, dim=10)[0].est_seconds for T in (100, 1000, 10_000, 100_000)]
    assert all(a < b for a, b in zip(by_T, by_T[1:], strict=False))
    by_seeds = [_units("logistic", 1000, seeds=s, dim=10)[0].est_seconds for s in (1, 2, 4, 8)]
    assert all(a < b for a, b in zip(by_seeds, by_seeds[1:], strict=False))
    by_points = [sum(u.est_seconds for u in _units(points=p)) for p in (1, 2, 4)]
    assert all(a < b for a, b in zip(by_points, by_points[1:], strict=False))


def test_totals_add_startup_per_worker():
    units = [4.0, 1.0, 1.0, 1.0, 1.0]
    e = costs.estimate("regret", units, 2, costs=C)
    start = C["worker_start_seconds"] + C["kernel_load_seconds"]
    assert e["workers"] == 2 and e["startup_seconds_per_worker"] == pytest.approx(start)
    assert e["units_seconds"] == pytest.approx(8.0)
    assert e["cpu_seconds"] == pytest.approx(8.0 + 2 * start)
    assert e["wall_seconds"] == pytest.approx(start + 4.0)  # the 4 s unit alone on a worker
    inline = costs.estimate("regret", units, 1, new_processes=False, costs=C)
    assert inline["wall_seconds"] == pytest.approx(C["kernel_load_seconds"] + 8.0)
    run = costs.estimate("run", [1.0], 8, costs=C)  # one unit: one worker used
    assert run["workers"] == 1
    assert run["startup_seconds_per_worker"] == pytest.approx(start + C["data_load_seconds"])
    cold = costs.estimate("regret", units, 2, cold_cache=True, costs=C)
    assert cold["startup_seconds_per_worker"] == pytest.approx(start + 10.0)
    assert "cold" in cold["covers"] and "process start" in cold["covers"]
    assert costs.estimate("regret", [], 4, costs=C)["wall_seconds"] == 0.0


def test_makespan_longest_first():
    assert costs.makespan([1.0] * 4, 2) == 2.0
    assert costs.makespan([3.0, 3.0, 2.0, 2.0, 2.0], 2) == 7.0  # LPT (optimum 6)
    assert costs.makespan([5.0], 16) == 5.0
    with pytest.raises(ValueError):
        costs.makespan([1.0], 0)


def test_sweep_estimate_executor_choice():
    units = _units(points=2)
    assert costs.sweep_estimate("regret", units, 1, None, 2)["executor"] == "this process"
    assert costs.sweep_estimate("regret", units, 2, None, 2)["executor"] == "2 local process(es)"
    assert costs.sweep_estimate("regret", units, None, None, 3)["executor"] == "3 local process(es)"
    assert "Dask" in costs.sweep_estimate("regret", units, None, "tcp://h:1", 2)["executor"]


def _script():
    spec = importlib.util.spec_from_file_location(
        "calibrate_sweep_costs", ROOT / "scripts" / "calibrate_sweep_costs.py"
    )
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_calibration_script_rewrites_only_its_table(tmp_path, monkeypatch, capsys):
    mod = _script()
    copy = tmp_path / "costs.py"
    original = (ROOT / "adambench" / "sweep" / "costs.py").read_text()
    copy.write_text(original)
    monkeypatch.setattr(mod, "COSTS_FILE", copy)
    new = {k: v * 2 for k, v in costs.COSTS.items()}
    mod.write(new)
    text = copy.read_text()
    ns: dict = {}
    block = text.split("# CALIBRATED BEGIN\n")[1].split("\n# CALIBRATED END")[0]
    exec(block, ns)  # noqa: S102 - the generated table is plain literals
    assert ns["COSTS"] == pytest.approx(new, rel=1e-2) and set(ns["COSTS"]) == set(costs.COSTS)
    head, tail = original.split("# CALIBRATED BEGIN")[0], original.split("# CALIBRATED END")[1]
    assert text.startswith(head) and text.endswith(tail)


def test_progress_state():
    now = [100.0]
    units = _units(points=3, per_unit=2)
    p = SweepProgress(units, clock=lambda: now[0])
    assert p.total == pytest.approx(sum(u.est_seconds for u in units))
    a, b, c = units
    p.cached([a.key])
    assert p.completed == pytest.approx(a.est_seconds)
    p.advance(b.key, 0.0)
    now[0] += 7
    p.advance(b.key, 0.5)
    assert p.completed == pytest.approx(a.est_seconds + 0.5 * b.est_seconds)
    text = p.status()
    assert text.startswith("1/3 units done, 1 running: reddi adam x1 50% 7 s (")
    p.advance(b.key, 0.25)  # out of order: never goes back
    assert p.completed == pytest.approx(a.est_seconds + 0.5 * b.est_seconds)
    p.unit_done(b.key)
    p.advance(b.key, 0.9)  # a late message of a finished unit
    assert p.completed == pytest.approx(a.est_seconds + b.est_seconds) and not p.running
    p.unit_done(c.key)
    assert p.completed == pytest.approx(p.total) and p.status() == "3/3 units done"


def test_inline_executor_reports_progress_inside_units():
    units = _units("reddi", 20_000, points=2, per_unit=2)
    events = []
    InlineExecutor(threads=1).map(
        units, lambda u, p: events.append(("done", u.key)), lambda u, m: None,
        lambda u, f: events.append((u.key, f)),
    )  # fmt: skip
    for u in units:
        mine = [e for e in events if e[0] in (u.key, "done") and (e[0] == u.key or e[1] == u.key)]
        fractions = [f for k, f in mine if k == u.key]
        assert fractions[0] == 0.0 and fractions[-1] == 1.0 and mine[-1] == ("done", u.key)
        assert fractions == sorted(fractions)


def test_process_executor_reports_units_from_workers():
    units = _units("reddi", 2000, points=2, per_unit=2)
    events = []
    ex = ProcessExecutor(1, threads=1)
    try:
        ex.map(units, lambda u, p: events.append(("done", u.key)), lambda u, m: None,
               lambda u, f: events.append(("progress", u.key, f)))  # fmt: skip
    finally:
        ex.close()
    keys = {u.key for u in units}
    assert {e[1] for e in events if e[0] == "done"} == keys
    progress = [e for e in events if e[0] == "progress"]
    assert progress and all(e[1] in keys and 0.0 <= e[2] <= 1.0 for e in progress)
    first = units[0].key  # its start (sent before the worker's imports) precedes its end
    assert events.index(("progress", first, 0.0)) < events.index(("done", first))


def test_runner_passes_progress_only_to_executors_that_report(tmp_path):
    from sweep_helpers import Counting, tiny

    from adambench.sweep.runner import execute
    from adambench.sweep.store import Store

    cfg, units, sid = tiny()
    store = Store.open(tmp_path / "o", sid, cfg.name, cfg.identity(), units)
    seen, cached = [], []
    counting = Counting(InlineExecutor(1))
    out = execute(units, store, counting, on_progress=lambda u, f: seen.append(f),
                  on_cache=cached.append)  # fmt: skip
    assert out.complete and seen == [] and cached == [[]]  # Counting has no progress
    store = Store.open(tmp_path / "o", sid, cfg.name, cfg.identity(), units)
    out = execute(units, store, InlineExecutor(1), on_cache=cached.append)
    assert [u.key for u in cached[-1]] == [u.key for u in units]
