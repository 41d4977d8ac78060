"""The benchmark runner: each optimizer x size x dtype x threads group, timed side by side.

A group allocates the adambench arrays, the roofline loop with the rule's own access
pattern (bench/roofline.py) and the peers (textbook NumPy, torch.optim variants), then
times them interleaved (bench/timing.py).  Each implementation becomes one row:
median and IQR per step, ns per parameter, effective GB/s from the bytes the rule must
move (docs/design.md §8), the fraction of the same-run roofline (its best time over the
row's median), and the per-repeat samples the regression gate compares:
``norm_samples`` = time / roofline time of the same repeat.  Single-thread rows are timed
by the thread's CPU time (a shared machine's preemptions left out), multi-thread rows by
wall time (``clock`` in each row; bench/timing.py).

Figures that cannot be right (above the roofline, an IQR wider than half the median, a
bandwidth or a time far off the same run's one-thread figure, an overcommitted machine)
are flagged by bench/reliability.py; a flagged group is re-measured once, and every row
then carries ``reliable`` and ``flags`` (``first_pass_flags`` where it was re-measured).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

import numpy as np

from ..core.optimizer import make_optimizer
from ..core.registry import runs_reference
from ..machine import load_average
from . import peers_numpy, peers_torch, reliability, roofline
from .config import BenchConfig, Case
from .cuda import run_bench_cuda
from .peers import textbook_peer
from .timing import Timings, injected_slowdown, measure, slowed, summarize, threads

ADAMBENCH = "adambench"
TEXTBOOK = "numpy-textbook"
ROOFLINE = "roofline"
# A rule without a compiled kernel is timed on its reference step (core.registry): its
# row says so, and claims no share of the roofline (a fused kernel's limit, not its).
REFERENCE = "reference"
REFERENCE_NOTE = "reference implementation (no compiled kernel): no roofline share"
Group = tuple[Case, int, str, int]  # case, size, dtype, threads
# timing.measure's signature: (callables, repeats, min_sample_s=..., budget_s=...) -> Timings.
# Tests pass a fake one to drive the re-measurement with chosen numbers.
Measure = Callable[..., Timings]


def row_key(row: dict[str, Any]) -> tuple[Any, ...]:
    """What identifies a row across runs (and machines)."""
    return (
        row["optimizer"],
        row["impl"],
        row["backend"],
        row["dtype"],
        row["size"],
        row["threads"],
    )


def plan(config: BenchConfig) -> list[Group]:
    return [
        (case, n, dtype, nt)
        for n in config.sizes
        for dtype in config.dtypes
        for nt in config.threads
        for case in config.cases
    ]


class Arrays:
    """Arrays kept across the groups of one size and dtype, so each is drawn (and its pages
    faulted in) once per run instead of once per optimizer: the quick gate stays quick."""

    def __init__(self, rng: np.random.Generator):
        self.rng = rng
        self._key: tuple[int, str] | None = None
        self._pg: tuple[np.ndarray, np.ndarray] | None = None
        self._scratch: list[np.ndarray] = []

    def _switch(self, n: int, dtype: str) -> None:
        if self._key != (n, dtype):
            self._key, self._pg, self._scratch = (n, dtype), None, []

    def params_grads(self, n: int, dtype: str) -> tuple[np.ndarray, np.ndarray]:
        """Standard-normal parameters and gradients (the kernel updates p in place)."""
        self._switch(n, dtype)
        if self._pg is None:
            self._pg = tuple(self.rng.standard_normal(n, dtype=np.dtype(dtype)) for _ in "pg")
        return self._pg

    def scratch(self, n: int, dtype: str, count: int) -> list[np.ndarray]:
        """Arrays for the copy and triad loops, values in [0.5, 1.5)."""
        self._switch(n, dtype)
        while len(self._scratch) < count:
            self._scratch.extend(roofline.filled(n, dtype, self.rng, 1))
        return self._scratch[:count]


def run_group(
    group: Group,
    config: BenchConfig,
    arrays: Arrays,
    slowdown: float = 0.0,
    measure_fn: Measure = measure,
) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """Time one group; return its rows and its roofline record."""
    case, n, dtype, nthreads = group
    opt = make_optimizer(case.name, **case.hp)
    p, g = arrays.params_grads(n, dtype)
    pattern = roofline.rule_pattern(opt.rule, opt.hp)
    state = opt.init(p)
    # The roofline loop runs over the kernel's own arrays (and leaves them unchanged).
    own = [p, g, *(state.buffers[b] for b in opt.rule.buffers(opt.hp))]
    fns: dict[str, Callable[[], None]] = {ROOFLINE: roofline.pattern_loop(pattern, own)}
    notes: dict[str, str] = {}
    if config.textbook and case.name in peers_numpy.STEPS:  # plugin rules have none
        fns[TEXTBOOK] = textbook_peer(case.name, opt, p, g)
    if config.torch and peers_torch.available():
        tcalls, notes = peers_torch.peers(case.name, peers_numpy.scalar_hp(opt.hp), p, g)
        fns.update(tcalls)
    kernel = slowed(lambda: opt.step(p, g, state), slowdown)
    fns = {ADAMBENCH: kernel, **fns}
    with threads(nthreads):
        timed = measure_fn(
            fns, config.repeats, min_sample_s=config.min_sample_s, budget_s=config.budget_s
        )
    clock = "cpu" if nthreads == 1 else "wall"
    samples = timed.samples(clock)
    itemsize = np.dtype(dtype).itemsize
    bytes_step = roofline.rule_bytes(opt.rule, opt.hp, itemsize) * n
    roof = summarize(samples[ROOFLINE])
    base = summarize(samples[ADAMBENCH]).median
    rows = []
    for impl, s in samples.items():
        if impl == ROOFLINE:
            continue
        st = summarize(s)
        row = {
            "optimizer": case.label,
            "rule": case.name,
            "impl": impl,
            "backend": config.backend,
            "dtype": dtype,
            "size": n,
            "threads": nthreads,
            "clock": clock,
            "median_s": st.median,
            "q1_s": st.q1,
            "q3_s": st.q3,
            "iqr_s": st.iqr,
            "best_s": st.best,
            "wall_median_s": float(np.median(timed.wall[impl])),
            "ns_per_param": st.median / n * 1e9,
            "bytes_per_step": bytes_step,
            "gbps": bytes_step / st.median / 1e9,
            "roofline_pattern": pattern.name,
            "roofline_gbps": bytes_step / roof.best / 1e9,
            "fraction_of_roofline": roof.best / st.median,
            "ratio_to_adambench": st.median / base,
            "implementation": impl,
            "repeats": len(s),
            "calls_per_sample": timed.numbers[impl],
            "samples_s": s,
            "norm_samples": s / samples[ROOFLINE],
        }
        if TEXTBOOK in samples:
            row["textbook_samples"] = s / samples[TEXTBOOK]
        if impl in notes:
            row["note"] = notes[impl]
        if impl == ADAMBENCH and runs_reference(opt.rule):  # no kernel: no roofline claim
            row.update(implementation=REFERENCE, fraction_of_roofline=None, note=REFERENCE_NOTE)
        rows.append(row)
    missing = {k: v for k, v in notes.items() if k not in samples}
    record = {
        "optimizer": case.label,
        "dtype": dtype,
        "size": n,
        "threads": nthreads,
        "pattern": pattern.name,
        "reads": pattern.reads,
        "writes": pattern.writes,
        "bytes_per_param": roofline.rule_bytes(opt.rule, opt.hp, itemsize),
        "best_s": roof.best,
        "median_s": roof.median,
        "gbps": bytes_step / roof.best / 1e9,
        "clock": clock,
        "missing_peers": missing,
    }
    return rows, record


def reference_loops(
    n: int, dtype: str, nthreads: int, repeats: int, arrays: Arrays, measure_fn: Measure = measure
) -> dict[str, Any]:
    """Best-of copy and triad bandwidth at this size (reference only; not the roofline)."""
    itemsize = np.dtype(dtype).itemsize
    out: dict[str, Any] = {"size": n, "dtype": dtype, "threads": nthreads}
    for name, make, arrays_used in (
        ("copy", roofline.copy_loop, roofline.COPY_ARRAYS),
        ("triad", roofline.triad_loop, roofline.TRIAD_ARRAYS),
    ):
        fn = make(arrays.scratch(n, dtype, arrays_used))
        with threads(nthreads):  # timing.best_of, with the measure given
            best = float(measure_fn({"fn": fn}, repeats, min_sample_s=1e-3).wall["fn"].min())
        out[f"{name}_s"] = best
        out[f"{name}_gbps"] = arrays_used * itemsize * n / best / 1e9
        del fn
    return out


def _cpu_pass(
    config: BenchConfig,
    todo: list[Group],
    arrays: Arrays,
    slowdown: float,
    measure_fn: Measure,
    refs_for: set[tuple[int, str, int]] | None,
    on_step: Callable[[str], None] | None,
) -> dict[str, Any]:
    """Time ``todo``; references for every (size, dtype, threads) met (``refs_for`` None)
    or for those in ``refs_for`` only."""
    rows: list[dict[str, Any]] = []
    records: list[dict[str, Any]] = []
    refs: list[dict[str, Any]] = []
    seen_refs: set[tuple[int, str, int]] = set()
    for group in todo:
        case, n, dtype, nt = group
        key = (n, dtype, nt)
        if key not in seen_refs and (refs_for is None or key in refs_for):
            seen_refs.add(key)
            repeats = max(3, min(config.repeats, 10))
            refs.append(reference_loops(n, dtype, nt, repeats, arrays, measure_fn))
        r, rec = run_group(group, config, arrays, slowdown, measure_fn)
        rows.extend(r)
        records.append(rec)
        if on_step is not None:
            on_step(f"{case.label} n={n:.0e} {dtype} {nt} thr")
    return {"rows": rows, "rooflines": records, "references": refs}


def _replace(old: list[dict], new: list[dict], key: Callable[[dict], Any]) -> list[dict]:
    """``old`` with the items of every key in ``new`` replaced by ``new``'s, in place."""
    fresh: dict[Any, list[dict]] = {}
    for item in new:
        fresh.setdefault(key(item), []).append(item)
    out: list[dict] = []
    for item in old:
        k = key(item)
        if k not in fresh:
            out.append(item)
        elif fresh[k]:
            out.extend(fresh[k])
            fresh[k] = []
    return out + [item for items in fresh.values() for item in items]


def run_bench(
    config: BenchConfig,
    on_step: Callable[[str], None] | None = None,
    groups: list[Group] | None = None,
    *,
    measure_fn: Measure = measure,
    load: tuple[float, ...] | None = None,
) -> dict[str, Any]:
    """Run every group (or just ``groups``); return rows, roofline records and references.

    ``on_step(description)`` is called after each unit of work, for a progress bar (also
    for the groups re-measured).  A full run (``groups`` None) flags what cannot be right
    (bench/reliability.py) and re-measures each flagged group once; ``load`` is the load
    average at its start (default: read now) and ``measure_fn`` the CPU timing harness
    (timing.measure; tests pass a fake).  With ``groups`` (the gate's re-measurement) the
    caller assesses the rows against its own document's references.
    """
    if load is None:
        load = load_average()  # before any timing of ours adds to it
    loaded = reliability.load_flag(load[0] if load else None, os.cpu_count())
    if config.backend == "cupy":  # CUDA kernels, CUDA-event timing (bench/cuda.py)

        def time_groups(todo: list[Group], refs_for: Any, step: Any) -> dict[str, Any]:
            return run_bench_cuda(config, on_step=step, groups=todo)

        slowdown = 0.0
    else:
        arrays = Arrays(np.random.default_rng(config.seed))
        slowdown = injected_slowdown()

        def time_groups(todo: list[Group], refs_for: Any, step: Any) -> dict[str, Any]:
            return _cpu_pass(config, todo, arrays, slowdown, measure_fn, refs_for, step)

    if groups is not None:
        out = time_groups(groups, set(), on_step)
    else:
        todo = plan(config)
        if config.backend == "cupy":  # one device group per (optimizer, size, dtype)
            todo = list(dict.fromkeys((c, n, dt, 1) for c, n, dt, _ in todo))
        out = time_groups(todo, None, on_step)
        reliability.assess(out, loaded)
        redo, redo_refs = reliability.to_remeasure(out)
        if redo:
            by_label = {c.label: c for c in config.cases}
            step = None if on_step is None else (lambda d: on_step(f"re-measuring {d}"))
            todo = [(by_label[o], n, dt, nt) for o, n, dt, nt in redo]
            again = time_groups(todo, redo_refs, step)
            first = {reliability.group_key(r) + (r["impl"],): r["flags"] for r in out["rows"]}
            for r in again["rows"]:
                r["first_pass_flags"] = first.get(reliability.group_key(r) + (r["impl"],), [])
            for name, key in (
                ("rows", reliability.group_key),
                ("rooflines", reliability.group_key),
                ("references", lambda r: (r["size"], r["dtype"], r["threads"])),
            ):
                out[name] = _replace(out[name], again[name], key)
            reliability.assess(out, loaded)
        out["reliability"] = {
            "load_at_start": list(load) if load else None,
            "cores": os.cpu_count(),
            "loaded": loaded,
            **reliability.summary(out),
        }
    if slowdown:
        out["injected_slowdown"] = slowdown
    return out


def units_of_work(config: BenchConfig) -> int:
    return len(plan(config))
