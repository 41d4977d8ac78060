"""``bench --compare``: run the benchmark, compare with a baseline, re-measure once, decide.

A row that looks regressed (or slower beyond the threshold but not significantly) is
re-timed once, in a fresh group, and only the re-measurement decides: a transient burst
of load on a shared machine then needs to strike twice to fail the gate, while a real
slowdown shows both times.  scripts/measure_gate.py measures the resulting error rates.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ..machine import machine_details
from ..results import environment, make_result
from . import reliability
from .compare import Verdict, compare_docs, needs_remeasure
from .config import BenchConfig
from .run import ADAMBENCH, plan, row_key, run_bench

NAMES = ("baseline", "this run")


def machine_info() -> dict[str, Any]:
    """``results.environment()`` plus BLAS, numba's threading and memory free at the start."""
    return {**environment(), **machine_details()}


def bench_document(config: BenchConfig, on_step: Callable[[str], None] | None = None) -> dict:
    """Run the benchmark and wrap it in a results document (with machine information)."""
    sections = run_bench(config, on_step=on_step)
    cfg = config.to_dict()
    if "injected_slowdown" in sections:  # test-only fault injection: say so in the file
        cfg["injected_slowdown"] = sections.pop("injected_slowdown")
    return make_result("bench", cfg, machine=machine_info(), notes=config.notes, **sections)


def check_overlap(baseline: dict[str, Any], config: BenchConfig, where: str) -> None:
    """ValueError before any timing when no planned row exists in the baseline."""
    rows = baseline.get("rows")
    if not isinstance(rows, list):
        raise ValueError(f"{where} has no list of benchmark rows")
    try:
        have = {row_key(r) for r in rows}
    except (KeyError, TypeError):
        raise ValueError(f"{where} has a malformed benchmark row") from None
    planned = {
        (case.label, ADAMBENCH, config.backend, dtype, n, nt) for case, n, dtype, nt in plan(config)
    }
    if not have & planned:
        raise ValueError(
            f"no overlapping rows between {where} and this run (same optimizer, backend, "
            "dtype, size and threads); run with the baseline's settings"
        )


def remeasure(config: BenchConfig, doc: dict[str, Any], verdicts: list[Verdict]) -> None:
    """Re-time the groups of ``verdicts`` once and replace their rows in ``doc``."""
    by_label = {c.label: c for c in config.cases}
    groups = list(
        dict.fromkeys((by_label[v.optimizer], v.size, v.dtype, v.threads) for v in verdicts)
    )
    redo = run_bench(config, groups=groups)
    keys = {(g[0].label, g[1], g[2], g[3]) for g in groups}
    kept = [
        r for r in doc["rows"] if (r["optimizer"], r["size"], r["dtype"], r["threads"]) not in keys
    ]
    for r in redo["rows"]:
        r["remeasured"] = True
    doc["rows"] = kept + redo["rows"]
    if "reliability" in doc:  # judge the new rows against this run's references
        reliability.assess(doc, bool(doc["reliability"].get("loaded")))
        doc["reliability"].update(reliability.summary(doc))


def gate(
    config: BenchConfig,
    doc: dict[str, Any],
    baseline: dict[str, Any],
    threshold: float,
    alpha: float,
    metric: str = "roofline",
    on_remeasure: Callable[[int], None] | None = None,
) -> list[Verdict]:
    """Compare ``doc`` with ``baseline``; re-measure suspicious rows once; final verdicts.

    The verdicts are also stored in ``doc["compare"]``.
    """
    verdicts = compare_docs(baseline, doc, threshold, alpha, metric, names=NAMES)
    again = needs_remeasure(verdicts)
    if again:
        if on_remeasure is not None:
            on_remeasure(len(again))
        first = {v.key: v for v in again}
        remeasure(config, doc, again)
        verdicts = compare_docs(baseline, doc, threshold, alpha, metric, names=NAMES)
        doc["compare_first_pass"] = [v.to_dict() for v in first.values()]
    doc["compare"] = {
        "threshold": threshold,
        "alpha": alpha,
        "metric": metric,
        "verdicts": [v.to_dict() for v in verdicts],
    }
    return verdicts
