"""Small real sweeps shared by the sweep tests (regret engine, tiny T: fast)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from adambench.sweep import config, plan, runner
from adambench.sweep.executors import InlineExecutor
from adambench.sweep.store import Store

DOC: dict[str, Any] = {
    "sweep": {"kind": "regret", "name": "tiny", "seeds": 2, "runs_per_unit": 4},
    "regret": {"problems": ["reddi", "logistic"], "T": 3000, "dim": 3},
    "optimizers": {"adam": {"beta1": [0.0, 0.9], "beta2": [0.99, 0.999]}, "amsgrad": {}},
}


def tiny(**changes: Any):
    doc = {k: dict(v) for k, v in DOC.items()}
    for k, v in changes.items():
        doc[k].update(v)
    cfg = config.parse(doc)
    return cfg, plan.plan(cfg), plan.sweep_id(cfg)


class Counting:
    """Wraps an executor and counts the units it was asked to compute."""

    def __init__(self, inner: Any):
        self.inner, self.asked = inner, 0
        self.description = inner.description

    def map(self, units, done, failed):
        self.asked += len(units)
        self.inner.map(units, done, failed)

    def close(self):
        self.inner.close()


def run_sweep(folder: Path, executor: Any = None, on_unit=None, **changes: Any):
    """(outcome, merged document or None, units) of the tiny sweep in ``folder``."""
    cfg, units, sid = tiny(**changes)
    store = Store.open(folder, sid, cfg.name, cfg.identity(), units)
    ex = executor or InlineExecutor(threads=1)
    out = runner.execute(units, store, ex, on_unit=on_unit)
    doc = runner.merge(cfg, sid, units, out, ex.description) if out.complete else None
    return out, doc, units
