"""Which benchmark figures cannot be right: flags, from the measured numbers alone.

A shared machine can turn a timing into nonsense that still looks like a number: a
fraction of the roofline of 3054%, a two-thread step of 9.89 ms against 12 us on one
thread, a copy at 0.007 GB/s, an IQR of 163% of the median.  ``row_flags`` and
``bandwidth_flags`` are pure functions of the measured figures; ``assess`` applies them to
the sections of one run (rows, roofline records, copy/triad references) and sets
``reliable`` and ``flags`` on each.  ``bench/run.run_bench`` re-measures a flagged group
once and assesses again; what is still flagged is reported as unreliable (tables, results
file, report), never as a headline figure.

The bounds, and why (figures of the project's 2-core VM, docs/design.md §9):

* ``above-roofline``: fraction of roofline > 1 + FRACTION_TOLERANCE.  The roofline is a
  trivial loop with the rule's own reads and writes over the kernel's own arrays, its
  best of the repeats; a row's fraction is that best over the row's *median*, so a real
  implementation cannot exceed 1 but by noise in the roofline's best or by code
  generation luck.  Quiet runs top out near 0.8-0.9 (adam 77%, sgd 82% at 1e7; below
  70% at cache sizes); 10% is also the gate's minimum effect (bench/compare.py).
* ``wide-iqr``: IQR > IQR_BOUND x median.  Quiet runs show up to 45% at 1e6 (two threads,
  wall clock); at 50% the median's 95% notch (1.58 IQR / sqrt(n), McGill et al.) is
  already +-18% at 20 repeats, wider than the gate's threshold and than any difference a
  fraction of roofline is quoted for.  The pathological rows were at 71% to 2300%.
* ``low-bandwidth``: with more than one thread, the row's roofline GB/s (or, for the
  copy/triad references, their GB/s) below BANDWIDTH_FLOOR x the one-thread figure of the
  same size and dtype measured in the same run.  More threads never need 4x longer for
  the same bytes; quiet runs show at worst 0.55x (copy at 1e4, where a parallel region's
  fork/join is most of the time), the pathological ones 0.0001x-0.001x.  A row inherits
  the flag of the references of its size, dtype and thread count.
* ``slow-threads``: with more than one thread, the row's median above THREAD_SLOWDOWN x
  the median of the same row on one thread.  Quiet runs show at worst 3.4x (Adam at 1e4,
  all fork/join); the pathological 2-thread rows took 8-10 ms (a scheduler quantum) for
  a step of 12-35 us, 250-800x.  Only a multi-thread row is judged so: one thread, timed
  by the thread's own CPU time, is the yardstick.
* ``loaded``: the 1-minute load average at the start of the run above the core count:
  other jobs wanted more cores than there are, so every CPU row competed for them.  A
  re-measurement does not clear it (the load was measured once, before any timing of
  ours), so it never triggers one.  Device rows (CUDA-event time) are not judged by it.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

FRACTION_TOLERANCE = 0.10
IQR_BOUND = 0.50
BANDWIDTH_FLOOR = 0.25
THREAD_SLOWDOWN = 4.0

ABOVE_ROOFLINE = "above-roofline"
WIDE_IQR = "wide-iqr"
LOW_BANDWIDTH = "low-bandwidth"
SLOW_THREADS = "slow-threads"
LOADED = "loaded"
# flag -> (one-letter marker of the tables, legend)
FLAGS = {
    ABOVE_ROOFLINE: ("R", f"above the roofline by > {FRACTION_TOLERANCE:.0%}"),
    WIDE_IQR: ("Q", f"IQR > {IQR_BOUND:.0%} of the median"),
    LOW_BANDWIDTH: ("B", f"roofline/copy/triad GB/s < {BANDWIDTH_FLOOR:.0%} of 1 thread's"),
    SLOW_THREADS: ("T", f"> {THREAD_SLOWDOWN:g}x the 1-thread time"),
    LOADED: ("L", "load average > cores at start"),
}
# Flags a second measurement can clear (the load average was read once, at the start).
REMEASURE = frozenset(FLAGS) - {LOADED}
DEVICE_CLOCK = "cuda-event"


def _num(x: Any) -> float | None:
    """A finite float, or None (missing, null in a results file, NaN/Inf, not a number)."""
    if isinstance(x, bool) or not isinstance(x, (int, float)):
        return None
    x = float(x)
    return x if math.isfinite(x) else None


def row_flags(
    *,
    fraction: float | None = None,
    median_s: float | None = None,
    iqr_s: float | None = None,
    threads: int = 1,
    single_median_s: float | None = None,
    roofline_gbps: float | None = None,
    single_roofline_gbps: float | None = None,
    references_low: bool = False,
    loaded: bool = False,
) -> list[str]:
    """The flags of one measured row (an empty list: nothing impossible about it).

    ``single_*``: the same row's figures on one thread, same size and dtype, same run
    (None when not measured); ``references_low``: the copy/triad references of this size,
    dtype and thread count are themselves flagged (``bandwidth_flags``).
    """
    flags = []
    fraction, median, iqr = _num(fraction), _num(median_s), _num(iqr_s)
    if fraction is not None and fraction > 1.0 + FRACTION_TOLERANCE:
        flags.append(ABOVE_ROOFLINE)
    if median is not None and iqr is not None and median > 0 and iqr > IQR_BOUND * median:
        flags.append(WIDE_IQR)
    roof, single_roof = _num(roofline_gbps), _num(single_roofline_gbps)
    low = references_low or (
        threads > 1 and roof is not None and single_roof is not None
        and roof < BANDWIDTH_FLOOR * single_roof
    )  # fmt: skip
    if low:
        flags.append(LOW_BANDWIDTH)
    single = _num(single_median_s)
    if threads > 1 and median is not None and single is not None and single > 0:
        if median > THREAD_SLOWDOWN * single:
            flags.append(SLOW_THREADS)
    if loaded:
        flags.append(LOADED)
    return flags


def bandwidth_flags(
    gbps: Iterable[float | None],
    single_gbps: Iterable[float | None],
    threads: int,
    loaded: bool = False,
) -> list[str]:
    """The flags of a bandwidth figure (copy and triad, or a roofline loop) at ``threads``.

    ``gbps`` and ``single_gbps`` pair up: each figure against the same loop's on one thread
    (None where that was not measured).
    """
    flags = []
    if threads > 1:
        for x, one in zip(gbps, single_gbps, strict=True):
            x, one = _num(x), _num(one)
            if x is not None and one is not None and x < BANDWIDTH_FLOOR * one:
                flags.append(LOW_BANDWIDTH)
                break
    if loaded:
        flags.append(LOADED)
    return flags


def load_flag(load_1min: float | None, cores: int | None) -> bool:
    """Whether the machine was overcommitted: 1-minute load average above the cores."""
    load = _num(load_1min)
    return load is not None and bool(cores) and load > cores


def group_key(row: dict[str, Any]) -> tuple[Any, ...]:
    """The group (optimizer, size, dtype, threads) a row or roofline record belongs to."""
    return (row["optimizer"], row["size"], row["dtype"], row["threads"])


def _ref_key(ref: dict[str, Any]) -> tuple[Any, ...]:
    return (ref["size"], ref["dtype"], ref["threads"])


def _set(item: dict[str, Any], flags: list[str]) -> None:
    item["reliable"] = not flags
    item["flags"] = flags


def assess(sections: dict[str, Any], loaded: bool = False) -> None:
    """Set ``reliable`` and ``flags`` on every row, roofline record and reference, in place.

    ``sections``: what ``run_bench`` returns (``rows``; ``rooflines`` and ``references``
    where present).  ``loaded``: the run started on an overcommitted machine (``load_flag``).
    """
    refs = sections.get("references") or []
    single_ref = {(r["size"], r["dtype"]): r for r in refs if r.get("threads") == 1}
    ref_flags: dict[tuple[Any, ...], list[str]] = {}
    for r in refs:
        one = single_ref.get((r["size"], r["dtype"]), {})
        cpu = "copy_kind" not in r  # a device reference names its copy kind
        names = [k for k in ("copy_gbps", "triad_gbps") if k in r]
        flags = bandwidth_flags(
            [r.get(k) for k in names], [one.get(k) for k in names], r["threads"], loaded and cpu
        )
        ref_flags[_ref_key(r)] = flags
        _set(r, flags)
    rows = sections.get("rows") or []
    single = {
        (r["optimizer"], r["impl"], r.get("backend"), r["dtype"], r["size"]): r
        for r in rows
        if r["threads"] == 1
    }
    for r in rows:
        one = single.get((r["optimizer"], r["impl"], r.get("backend"), r["dtype"], r["size"]), {})
        flags = row_flags(
            fraction=r.get("fraction_of_roofline"),
            median_s=r.get("median_s"),
            iqr_s=r.get("iqr_s"),
            threads=r["threads"],
            single_median_s=one.get("median_s"),
            roofline_gbps=r.get("roofline_gbps"),
            single_roofline_gbps=one.get("roofline_gbps"),
            references_low=LOW_BANDWIDTH in ref_flags.get(_ref_key(r), []),
            loaded=loaded and r.get("clock") != DEVICE_CLOCK,
        )
        _set(r, flags)
    records = sections.get("rooflines") or []
    single_rec = {(r["optimizer"], r["size"], r["dtype"]): r for r in records if r["threads"] == 1}
    for r in records:
        one = single_rec.get((r["optimizer"], r["size"], r["dtype"]), {})
        flags = bandwidth_flags(
            [r.get("gbps")], [one.get("gbps")], r["threads"],
            loaded and r.get("clock") != DEVICE_CLOCK,
        )  # fmt: skip
        _set(r, flags)


def to_remeasure(sections: dict[str, Any]) -> tuple[list[tuple[Any, ...]], set[tuple[Any, ...]]]:
    """Groups (optimizer label, size, dtype, threads) with a row whose flags a second
    measurement could clear, in order; and the (size, dtype, threads) of such references."""
    groups = [
        group_key(r) for r in sections.get("rows") or [] if REMEASURE & set(r.get("flags") or [])
    ]
    refs = {
        _ref_key(r)
        for r in sections.get("references") or []
        if REMEASURE & set(r.get("flags") or [])
    }
    return list(dict.fromkeys(groups)), refs


def markers(flags: Iterable[str]) -> str:
    """The tables' one-letter markers of ``flags``, e.g. "RQ"."""
    return "".join(FLAGS[f][0] if f in FLAGS else "?" for f in flags)


def legend(flags: Iterable[str] | None = None) -> str:
    """The legend of ``flags`` (default: all) in FLAGS order: "R = above the ...; Q = ..."."""
    seen = set(FLAGS) if flags is None else set(flags)
    return "; ".join(f"{m} = {text}" for f, (m, text) in FLAGS.items() if f in seen)


def summary(sections: dict[str, Any]) -> dict[str, Any]:
    """Counts for the results file: rows judged, unreliable, and the bounds used."""
    rows = sections.get("rows") or []
    return {
        "rows": len(rows),
        "unreliable_rows": sum(1 for r in rows if r.get("reliable") is False),
        "remeasured_rows": sum(1 for r in rows if "first_pass_flags" in r),
        "bounds": {
            "fraction_of_roofline_max": 1.0 + FRACTION_TOLERANCE,
            "iqr_over_median_max": IQR_BOUND,
            "bandwidth_vs_one_thread_min": BANDWIDTH_FLOOR,
            "time_vs_one_thread_max": THREAD_SLOWDOWN,
            "load_average_max": "cores",
        },
    }
