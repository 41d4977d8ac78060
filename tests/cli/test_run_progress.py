"""``adambench run``'s progress rows (cli/run_progress.py): one row per task, advanced per
epoch of each optimizer's batch, ETA from the estimate of the work left, rescaled by the
measured / estimated time of the finished batches, counting down between epochs."""

from __future__ import annotations

import pytest

from adambench.cli import run_progress as rp


def _task(name: str, each: float) -> dict:
    batches = [{"optimizer": o, "seconds": each} for o in ("adam", "sgd")]
    return {"task": name, "seconds": 2 * each, "batches": batches}


EST = {"tasks": [_task("mlp", 20.0), _task("cnn", 200.0)]}


class Clock:
    def __init__(self):
        self.t = 1000.0

    def __call__(self) -> float:
        return self.t


def test_rows_and_eta_follow_the_estimate(monkeypatch):
    clock = Clock()
    monkeypatch.setattr(rp.time, "monotonic", clock)
    with rp.TaskBars(EST, epochs=2) as bars:
        rows = bars.progress.tasks
        assert [r.description for r in rows] == ["mlp", "cnn"]
        assert [r.total for r in rows] == [4, 4]
        assert bars.eta_seconds("mlp") == 40 and bars.eta_seconds("cnn") == 400
        assert bars.eta_text(bars.rows["cnn"]) == "~6:40"  # not started: its estimate
        clock.t += 4  # counts down between epochs
        assert bars.eta_seconds("mlp") == 36
        clock.t += 36  # adam's batch took twice its estimate (40 s for 20 s)
        bars.advance("mlp", "adam", 1)
        bars.advance("mlp", "adam", 2)
        assert bars.ratio() == pytest.approx(2.0)
        assert bars.eta_seconds("mlp") == pytest.approx(40.0)  # 20 s left x 2
        assert bars.eta_seconds("cnn") == pytest.approx(800.0)
        clock.t += 40
        bars.advance("mlp", "sgd", 1)
        bars.advance("mlp", "sgd", 2)  # mlp done: cnn is the active row
        assert bars.active == "cnn" and bars.eta_seconds("mlp") == 0
        assert bars.ratio() == pytest.approx(2.0)  # 80 s measured for 40 s estimated
        assert bars.eta_text(bars.rows["cnn"]) == "13:20"


def test_the_ratio_is_bounded(monkeypatch):
    clock = Clock()
    monkeypatch.setattr(rp.time, "monotonic", clock)
    with rp.TaskBars(EST, epochs=2) as bars:
        clock.t += 1000
        bars.advance("mlp", "adam", 1)
        bars.advance("mlp", "adam", 2)
        assert bars.ratio() == rp.RATIO_BOUNDS[1]


def test_texts():
    """The wording of every command's estimate (cli/dry_run.py), "about" before a time."""
    assert rp.seconds_text(0.3) == "0.3 s" and rp.seconds_text(42) == "42 s"
    assert rp.seconds_text(600) == "10 min" and rp.seconds_text(3 * 3600) == "3 h"
    assert rp.bytes_text(286_600_000) == "273 MiB" and rp.bytes_text(512) == "512 B"
