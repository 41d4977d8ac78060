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

A parameter-list group (bench/shapes.py: a model preset or a tensor-count x size grid
point) steps every tensor in one ``opt.step`` call and is timed interleaved with one flat
array of the same total size and dtype layout (``adambench-flat``), the flat roofline of
that size and layout, and torch.optim on the same list; its ``list_overhead`` is the list's
median over the flat array's, both over the same repeats.  A ``dtype`` is a layout name
(core/precision.py: float32, float64, bfloat16, float16, mixed); 16-bit layouts move
``Layout.bytes`` and have no textbook peer.

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
from .config import BenchConfig, Case, ListSpec, layout_of
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
FLAT = "adambench-flat"  # a list group's flat array of the same total size and layout
FLAT_NOTE = "one flat array of the list's total size and dtype layout (the list overhead's base)"
Group = tuple[Case, int, str, int]  # case, size, dtype, threads
ListGroup = tuple[Case, ListSpec, str, int]  # case, parameter list, dtype, threads
# timing.measure's signature: (callables, repeats, min_sample_s=..., budget_s=...) -> Timings.
# Tests pass a fake one to drive the re-measurement with chosen numbers.
Measure = Callable[..., Timings]


def row_key(row: dict[str, Any]) -> tuple[Any, ...]:
    """What identifies a row across runs (and machines); a list row adds its list."""
    key = (row["optimizer"], row["impl"], row["backend"], row["dtype"], row["size"], row["threads"])
    if "shapes" in row:
        return (*key, row["shapes"], row.get("tensors"), row.get("numel_per_tensor"))
    return key


def _groups(config: BenchConfig, what: list[Any]) -> list[Any]:
    """(case, item, dtype, threads) for every item of ``what`` (sizes or lists), in order."""
    return [
        (case, x, dtype, nt)
        for x in what
        for dtype in config.dtypes
        for nt in config.threads
        for case in config.cases
    ]


def plan(config: BenchConfig) -> list[Group]:
    return _groups(config, config.sizes)


def list_plan(config: BenchConfig) -> list[ListGroup]:
    return _groups(config, config.lists)


def group_of(group: Group | ListGroup) -> tuple[Any, ...]:
    """The ``reliability.group_key`` of the rows a group makes."""
    case, what, dtype, nt = group
    row = {"optimizer": case.label, "size": what, "dtype": dtype, "threads": nt}
    if isinstance(what, ListSpec):
        row.update(what.to_dict())
    return reliability.group_key(row)


class Arrays:
    """Arrays kept across the groups of one size and dtype, so each is drawn (and its pages
    faulted in) once per run instead of once per optimizer: the quick gate stays quick."""

    def __init__(self, rng: np.random.Generator):
        self.rng = rng
        self._key: tuple[int, str] | None = None
        self._pg: tuple[np.ndarray, np.ndarray] | None = None
        self._scratch: list[np.ndarray] = []
        self._lkey: tuple[ListSpec, str] | None = None
        self._lists: tuple[list[np.ndarray], list[np.ndarray]] | None = None

    def _switch(self, n: int, dtype: str) -> None:
        if self._key != (n, dtype):
            self._key, self._pg, self._scratch = (n, dtype), None, []

    def params_grads(self, n: int, dtype: str) -> tuple[np.ndarray, np.ndarray]:
        """Standard-normal parameters and gradients (the kernel updates p in place), in the
        layout's parameter dtype (16-bit: drawn in float32, rounded by ``astype``)."""
        self._switch(n, dtype)
        if self._pg is None:
            lay = layout_of(dtype)
            pair = (self.rng.standard_normal(n, dtype=lay.compute) for _ in "pg")
            self._pg = tuple(a if a.dtype == lay.param else a.astype(lay.param) for a in pair)
        return self._pg

    def lists(self, spec: ListSpec, dtype: str) -> tuple[list[np.ndarray], list[np.ndarray]]:
        """The list's tensors: copies of consecutive stretches of ``params_grads`` of the
        total size (so list and flat array step the same values), each its own allocation."""
        if self._lkey != (spec, dtype):
            self._lkey, self._lists = (spec, dtype), None
        if self._lists is None:
            flat = self.params_grads(spec.size, dtype)
            ends = np.cumsum([0] + [int(np.prod(s)) for s in spec.tensor_shapes])
            cuts = list(zip(ends[:-1], ends[1:], spec.tensor_shapes, strict=True))
            self._lists = tuple([a[i:j].reshape(s).copy() for i, j, s in cuts] for a in flat)
        return self._lists

    def scratch(self, n: int, dtype: str, count: int) -> list[np.ndarray]:
        """Arrays for the copy and triad loops, values in [0.5, 1.5), in the compute dtype."""
        self._switch(n, dtype)
        while len(self._scratch) < count:
            self._scratch.extend(roofline.filled(n, layout_of(dtype).compute, self.rng, 1))
        return self._scratch[:count]


def _init(opt: Any, params: Any, dtype: str) -> Any:
    """``opt.init`` in ``dtype``'s layout (a uniform layout: the plain call)."""
    lay = layout_of(dtype)
    if lay.uniform:
        return opt.init(params)
    return opt.init(params, state_dtype=lay.state, master_weights=lay.master)


def _roofline(opt: Any, dtype: str, p: np.ndarray, g: np.ndarray, state: Any) -> Any:
    """The layout's roofline loop over a flat array's own p, g, states (and master)."""
    lay = layout_of(dtype)
    own = [state.buffers[b] for b in opt.rule.buffers(opt.hp)]
    return roofline.layout_loop(lay, p, g, own, state.master if lay.master else None)


def _torch(case: Case, opt: Any, dtype: str, params: list, grads: list) -> tuple[dict, dict]:
    """torch.optim on a list (``peers_torch.list_peers``), in the layout's dtypes."""
    list_peers = getattr(peers_torch, "list_peers", None)
    if list_peers is None:
        return {}, {"torch": "torch.optim peers on parameter lists are not available"}
    hp = peers_numpy.scalar_hp(opt.hp)
    return list_peers(case.name, hp, params, grads, layout_of(dtype))


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
    lay = layout_of(dtype)
    p, g = arrays.params_grads(n, dtype)
    state = _init(opt, p, dtype)
    # The roofline loop runs over the kernel's own arrays (and leaves them unchanged).
    fns: dict[str, Callable[[], None]] = {ROOFLINE: _roofline(opt, dtype, p, g, state)}
    notes: dict[str, str] = {}
    if config.textbook and case.name in peers_numpy.STEPS and lay.uniform:  # plugins: none
        fns[TEXTBOOK] = textbook_peer(case.name, opt, p, g)
    if config.torch and peers_torch.available():
        if lay.uniform:
            tcalls, notes = peers_torch.peers(case.name, peers_numpy.scalar_hp(opt.hp), p, g)
        else:  # 16-bit: torch's own dtypes, through the list peers (a list of one)
            tcalls, notes = _torch(case, opt, dtype, [p], [g])
        fns.update(tcalls)
    kernel = slowed(lambda: opt.step(p, g, state), slowdown)
    fns = {ADAMBENCH: kernel, **fns}
    return _timed_rows(group, opt, config, fns, notes, n, measure_fn, {})


def run_list_group(
    group: ListGroup,
    config: BenchConfig,
    arrays: Arrays,
    slowdown: float = 0.0,
    measure_fn: Measure = measure,
) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """Time one parameter list: one ``step`` over every tensor, beside the flat array of the
    same total size and layout, that array's roofline, and torch.optim on the same list."""
    case, spec, dtype, nthreads = group
    opt = make_optimizer(case.name, **case.hp)
    pf, gf = arrays.params_grads(spec.size, dtype)
    ps, gs = arrays.lists(spec, dtype)
    flat, state = _init(opt, pf, dtype), _init(opt, ps, dtype)
    # The roofline loop on its own copy: on the flat twin's arrays it would leave them warm
    # in cache just before the twin runs (at sizes that fit in the last-level cache), and
    # the list overhead would be measured against a favoured twin.
    rp, rg = pf.copy(), gf.copy()
    fns: dict[str, Callable[[], None]] = {
        ADAMBENCH: slowed(lambda: opt.step(ps, gs, state), slowdown),
        FLAT: slowed(lambda: opt.step(pf, gf, flat), slowdown),
        ROOFLINE: _roofline(opt, dtype, rp, rg, _init(opt, rp, dtype)),
    }
    notes = {FLAT: FLAT_NOTE}
    if config.torch and peers_torch.available():
        tcalls, tnotes = _torch(case, opt, dtype, ps, gs)
        fns.update(tcalls)
        notes.update(tnotes)
    extra = {k: v for k, v in spec.to_dict().items() if k != "size"}
    return _timed_rows(group, opt, config, fns, notes, spec.size, measure_fn, extra)


def _timed_rows(
    group: Group | ListGroup,
    opt: Any,
    config: BenchConfig,
    fns: dict[str, Callable[[], None]],
    notes: dict[str, str],
    n: int,
    measure_fn: Measure,
    extra: dict[str, Any],
) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """Time ``fns`` interleaved; rows (``extra`` fields on each) and the roofline record."""
    case, _, dtype, nthreads = group
    lay = layout_of(dtype)
    with threads(nthreads):
        timed = measure_fn(
            fns, config.repeats, min_sample_s=config.min_sample_s, budget_s=config.budget_s
        )
    clock = "cpu" if nthreads == 1 else "wall"
    samples = timed.samples(clock)
    pattern = roofline.layout_pattern(opt.rule, opt.hp, lay)
    per_param = roofline.layout_bytes(opt.rule, opt.hp, lay)
    bytes_step = per_param * n
    roof = summarize(samples[ROOFLINE])
    roof_gbps = bytes_step / roof.best / 1e9
    peer_bytes = roofline.layout_bytes(opt.rule, opt.hp, peers_torch.torch_layout(lay)) * n
    base = summarize(samples[ADAMBENCH]).median
    listed = FLAT in samples
    rows = []
    for impl, s in samples.items():
        if impl == ROOFLINE:
            continue
        st = summarize(s)
        # torch keeps 16-bit state and no master: its rows count the bytes it moves, and
        # their fraction is of the same-run roofline's bandwidth (docs/design.md §8)
        moved = peer_bytes if impl.startswith("torch") else bytes_step
        row = {
            "optimizer": case.label,
            "rule": case.name,
            "impl": impl,
            "backend": config.backend,
            "dtype": dtype,
            "size": n,
            "threads": nthreads,
            **extra,
            "clock": clock,
            "median_s": st.median,
            "q1_s": st.q1,
            "q3_s": st.q3,
            "iqr_s": st.iqr,
            "best_s": st.best,
            "wall_median_s": float(np.median(timed.wall[impl])),
            "ns_per_param": st.median / n * 1e9,
            "bytes_per_step": moved,
            "gbps": moved / st.median / 1e9,
            "roofline_pattern": pattern.name,
            "roofline_gbps": roof_gbps,
            "fraction_of_roofline": moved / st.median / 1e9 / roof_gbps,
            "ratio_to_adambench": st.median / base,
            "implementation": impl,
            "repeats": len(s),
            "calls_per_sample": timed.numbers[impl],
            "samples_s": s,
            "norm_samples": s / samples[ROOFLINE],
        }
        if listed:  # the list's time against the flat array's, over the same repeats
            flat = summarize(samples[FLAT]).median
            row["list_overhead"] = st.median / flat if impl == ADAMBENCH else None
        if TEXTBOOK in samples:
            row["textbook_samples"] = s / samples[TEXTBOOK]
        if impl in notes:
            row["note"] = notes[impl]
        if impl in (ADAMBENCH, FLAT) and runs_reference(opt.rule):  # no kernel: no claim
            row.update(implementation=REFERENCE, fraction_of_roofline=None, note=REFERENCE_NOTE)
        rows.append(row)
    missing = {k: v for k, v in notes.items() if k not in samples}
    record = {
        "optimizer": case.label,
        "dtype": dtype,
        "size": n,
        "threads": nthreads,
        **extra,
        "pattern": pattern.name,
        "reads": pattern.reads,
        "writes": pattern.writes,
        "bytes_per_param": per_param,
        "best_s": roof.best,
        "median_s": roof.median,
        "gbps": bytes_step / roof.best / 1e9,
        "clock": clock,
        "missing_peers": missing,
    }
    if not lay.uniform:
        record["layout"] = lay.describe()
    return rows, record


def reference_loops(
    n: int, dtype: str, nthreads: int, repeats: int, arrays: Arrays, measure_fn: Measure = measure
) -> dict[str, Any]:
    """Best-of copy and triad bandwidth at this size (reference only; not the roofline), in
    the layout's compute dtype."""
    itemsize = layout_of(dtype).compute.itemsize
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
    todo: list[Group | ListGroup],
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
        case, what, dtype, nt = group
        n = what.size if isinstance(what, ListSpec) else what
        key = (n, dtype, nt)
        if key not in seen_refs and (refs_for is None or key in refs_for):
            seen_refs.add(key)
            repeats = max(3, min(config.repeats, 10))
            refs.append(reference_loops(n, dtype, nt, repeats, arrays, measure_fn))
        if isinstance(what, ListSpec):
            r, rec = run_list_group(group, config, arrays, slowdown, measure_fn)  # type: ignore[arg-type]
            where = what.label
        else:
            r, rec = run_group(group, config, arrays, slowdown, measure_fn)  # type: ignore[arg-type]
            where = f"n={n:.0e}"
        rows.extend(r)
        records.append(rec)
        if on_step is not None:
            on_step(f"{case.label} {where} {dtype} {nt} thr")
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

        def time_groups(todo: list[Any], refs_for: Any, step: Any) -> dict[str, Any]:
            flat = [g for g in todo if not isinstance(g[1], ListSpec)]
            lists = [g for g in todo if isinstance(g[1], ListSpec)]
            out = run_bench_cuda(config, on_step=step, groups=flat) if flat else _empty()
            if lists:  # bench/cuda.py's list groups (lists_supported says whether it has them)
                more = _cuda_lists()(config, on_step=step, groups=lists)
                out = {k: out[k] + more[k] for k in out}
            return out

        slowdown = 0.0
    else:
        arrays = Arrays(np.random.default_rng(config.seed))
        slowdown = injected_slowdown()

        def time_groups(todo: list[Any], refs_for: Any, step: Any) -> dict[str, Any]:
            return _cpu_pass(config, todo, arrays, slowdown, measure_fn, refs_for, step)

    if groups is not None:
        out = time_groups(groups, set(), on_step)
    else:
        planned: list[Any] = [*plan(config), *list_plan(config)]
        if config.backend == "cupy":  # one device group per (optimizer, size or list, dtype)
            planned = list(dict.fromkeys((c, n, dt, 1) for c, n, dt, _ in planned))
        out = time_groups(planned, None, on_step)
        reliability.assess(out, loaded)
        redo, redo_refs = reliability.to_remeasure(out)
        if redo:
            step = None if on_step is None else (lambda d: on_step(f"re-measuring {d}"))
            keys = set(redo)  # a list and a flat group of one total size are both re-timed
            todo = [g for g in planned if group_of(g) in keys]
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
    return len(plan(config)) + len(list_plan(config))


def _empty() -> dict[str, Any]:
    return {"rows": [], "rooflines": [], "references": []}


def _cuda_lists() -> Callable[..., dict[str, Any]] | None:
    """bench/cuda.py's ``run_lists_cuda(config, on_step=, groups=)`` for list groups, if any."""
    from . import cuda

    return getattr(cuda, "run_lists_cuda", None)


def lists_supported(backend: str) -> bool:
    """Whether ``backend`` times parameter lists (CPU always; CUDA when bench/cuda.py can)."""
    return backend != "cupy" or _cuda_lists() is not None
