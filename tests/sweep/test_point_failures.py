"""One bad grid point fails alone: the unit completes with the other points' rows and a
failed row for the bad one, the summary, the merged document and the exit code say so;
a failure of every point of a unit stays a unit failure (not stored, retried)."""

from __future__ import annotations

import pytest
from sweep_helpers import Counting, run_sweep, tiny

from adambench.engines.regret import engine
from adambench.experiments import bounds
from adambench.experiments import regret as policy
from adambench.sweep import runner, work
from adambench.sweep.executors import InlineExecutor

BAD_BETA2 = 0.5
GRID = {"adam": {"beta2": [BAD_BETA2, 0.999]}}  # one unit of 2 points per problem


@pytest.fixture
def bad_bound(monkeypatch):
    """Theorem 4.1 raises for the beta2 = 0.5 point only (as beta2 = 0 did)."""
    real = bounds.THEOREMS["kingma-ba-4.1"]

    def theorem(hp, *args):
        if bounds._scalar(hp, "beta2") == BAD_BETA2:
            raise ZeroDivisionError("float division by zero")
        return real(hp, *args)

    monkeypatch.setitem(bounds.THEOREMS, "kingma-ba-4.1", theorem)


def _check_failed(doc, stage):
    bad = [r for r in doc["rows"] if r.get("failed")]
    good = [r for r in doc["rows"] if not r.get("failed")]
    assert len(bad) == 2 and len(good) == 4  # reddi and logistic: 1 bad point each
    for r in bad:
        assert r["hyperparameters"]["beta2"] == BAD_BETA2
        assert r["failed"]["stage"] == stage and "Error" in r["failed"]["error"]
        assert r["verdict"]["class"] == "failed" and r["verdict"]["text"].startswith("failed in")
        assert r["R_T"] is None and not r["bound"]["applies"]
        assert len(r["curve"]["T"]) == len(r["curve"]["R_mean"]) > 0
    assert all(isinstance(r["R_T"], float) for r in good)
    listed = doc["sweep"]["failed_points"]
    assert [f["problem"] for f in listed] == ["reddi", "logistic"]
    assert all(f["stage"] == stage and f["unit"].endswith("adam x2") for f in listed)


def test_a_point_failing_in_its_row_fails_alone(tmp_path, bad_bound):
    out, doc, units = run_sweep(tmp_path / "o", optimizers=GRID)
    assert out.complete and not out.failed and out.computed == len(units)
    _check_failed(doc, "rows")
    assert "2 grid point(s) failed" in out.summary()
    assert "ZeroDivisionError: float division by zero" in out.summary()
    assert out.exit_code == runner.PARTIAL == 3
    # the failure is part of the unit's stored result: a second run computes nothing
    ex = Counting(InlineExecutor(threads=1))
    again, doc2, _ = run_sweep(tmp_path / "o", ex, optimizers=GRID)
    assert ex.asked == 0 and again.exit_code == runner.PARTIAL and doc2["rows"] == doc["rows"]


def test_good_rows_are_those_of_a_sweep_without_the_bad_point(tmp_path, bad_bound):
    def adam_999(doc):
        return [r["R_T"] for r in doc["rows"]
                if r["optimizer"] == "adam" and r["hyperparameters"]["beta2"] == 0.999]  # fmt: skip

    _, doc, _ = run_sweep(tmp_path / "a", optimizers=GRID)
    _, alone, _ = run_sweep(tmp_path / "b", optimizers={"adam": {"beta2": [0.999]}})
    assert len(adam_999(doc)) == 2 and adam_999(doc) == adam_999(alone)


def test_a_point_failing_in_the_engine_fails_alone(tmp_path, monkeypatch):
    real = engine.run

    def run(problem, points, *args, **kw):
        if any(p.hp.get("beta2") == BAD_BETA2 for p in points):
            raise FloatingPointError("overflow in the coefficient table")
        return real(problem, points, *args, **kw)

    monkeypatch.setattr(engine, "run", run)
    out, doc, _ = run_sweep(tmp_path / "o", optimizers=GRID)
    assert out.complete and out.exit_code == runner.PARTIAL
    _check_failed(doc, "engine")
    assert all("FloatingPointError" in f["error"] for f in doc["sweep"]["failed_points"])


def test_every_point_failing_is_a_unit_failure(tmp_path, monkeypatch):
    def run(*args, **kw):
        raise RuntimeError("broken engine")

    monkeypatch.setattr(engine, "run", run)
    out, doc, units = run_sweep(tmp_path / "o", optimizers=GRID)
    assert doc is None and not out.complete and len(out.failed) == len(units)
    assert out.exit_code == 1 and "RuntimeError" in next(iter(out.failed.values()))


def test_machine_errors_are_not_point_failures(monkeypatch):
    def rows(res):
        raise MemoryError

    monkeypatch.setattr(policy, "rows", rows)
    _, units, _ = tiny(optimizers=GRID)
    with pytest.raises(MemoryError):
        work.run_unit(units[0].spec, threads=1)


def test_no_failure_no_change(tmp_path):
    out, doc, _ = run_sweep(tmp_path / "o", optimizers=GRID)
    assert out.exit_code == 0 and doc["sweep"]["failed_points"] == []
    assert "failed" not in out.summary() and not any("failed" in r for r in doc["rows"])
