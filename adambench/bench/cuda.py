"""``adambench bench --backend cupy``: update kernels timed by CUDA events on the device.

The GPU twin of ``bench/run.run_bench`` (same rows, same records, so the tables,
results files and the regression gate work unchanged).  docs/design.md, "Timing is relative":

* every timing is CUDA-event time from ``cupyx.profiler.benchmark`` (the GPU's own
  clock, launch overhead on the host not counted), after warm-up (NVRTC compilation and
  first-touch allocation are never counted), interleaved across implementations in
  rounds so that ratios are taken over the same minutes of the device;
* the roofline of a row is a trivial kernel with the rule's own access pattern (read
  p, g and the states, write p and the states back: ``x <- c0 x + c1 g`` with c0 = 1,
  c1 = 0, leaving them unchanged), run on the kernel's own arrays; beside it, the
  device-to-device copy bandwidth (``cudaMemcpyAsync``, 2 bytes moved per byte copied)
  of the same run is recorded, and every row carries ``fraction_of_copy``;
* peers: the textbook rule on CuPy arrays (one CuPy call per line, fresh temporaries:
  ``peers_numpy`` run on CuPy arrays), and torch.optim on CUDA (single-tensor, foreach,
  fused) when torch sees a CUDA device.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from ..core import kernels_cuda
from ..core.optimizer import make_optimizer
from . import peers_numpy, peers_torch, roofline
from .config import BenchConfig, Case
from .peers import textbook_peer
from .timing import summarize

ADAMBENCH = "adambench"
TEXTBOOK = "cupy-textbook"
ROOFLINE = "roofline"
CLOCK = "cuda-event"
# Per-call samples: each is the mean of as many calls as last MIN_SAMPLE_S of device time.
MIN_SAMPLE_S = 2e-3

_PATTERN_SRC = r"""
extern "C" __global__ void pattern_KIND(T* __restrict__ p, const T* __restrict__ g,
        T* __restrict__ s0, T* __restrict__ s1, T* __restrict__ s2, const T c0, const T c1,
        const long long n, const int vec) {
    const long long stride = (long long)blockDim.x * gridDim.x;
    const long long first = (long long)blockIdx.x * blockDim.x + threadIdx.x;
    long long done = 0;
    if (vec > 1) {  // 16-byte loads and stores, as the update kernels' _vec variants
        done = n / VEC * VEC;
        for (long long q = first; q < n / VEC; q += stride) {
            const V gv = reinterpret_cast<const V*>(g)[q];
            VBODY
        }
    }
    for (long long j = done + first; j < n; j += stride) {
        const T gj = c1 * g[j];
        BODY
    }
}
"""


def _pattern_source(dtype: str, writes: int) -> str:
    ctype = "float" if dtype == "float32" else "double"
    vtype, lanes = kernels_cuda.VECTORS[np.dtype(dtype)]
    arrays = ["p"] + [f"s{k}" for k in range(writes - 1)]
    body = [f"{a}[j] = c0 * {a}[j] + gj;" for a in arrays]
    vbody = []
    for a in arrays:
        vbody.append(f"V {a}v = reinterpret_cast<V*>({a})[q];")
        vbody += [f"{a}v.{c} = c0 * {a}v.{c} + c1 * gv.{c};" for c in lanes]
        vbody.append(f"reinterpret_cast<V*>({a})[q] = {a}v;")
    head = f"typedef {ctype} T;\ntypedef {vtype} V;\n#define VEC {len(lanes)}\n"
    src = _PATTERN_SRC.replace("KIND", str(writes)).replace("VBODY", "\n            ".join(vbody))
    return head + src.replace("BODY", "\n        ".join(body))


def device_free_memory() -> int | None:
    """Bytes free on the current CUDA device (cudaMemGetInfo)."""
    try:
        import cupy

        return int(cupy.cuda.runtime.memGetInfo()[0])
    except Exception:  # noqa: BLE001 - no device: no figure
        return None


def pattern_kernel(pattern: roofline.Pattern, arrays: list[Any]) -> Callable[[], None]:
    """The roofline kernel over the kernel's own arrays (left unchanged: 1 * x + 0 * g)."""
    import cupy

    if not 1 <= pattern.writes <= 4 or len(arrays) != pattern.reads:
        raise ValueError(f"no roofline kernel for access pattern {pattern.name}")
    p, g, states = arrays[0], arrays[1], list(arrays[2:])
    s = states + [p] * (3 - len(states))
    src = _pattern_source(p.dtype.name, pattern.writes)
    fn = cupy.RawKernel(src, f"pattern_{pattern.writes}", options=kernels_cuda.NVRTC_OPTIONS)
    # the vector width the update kernel would use on these arrays
    vec = kernels_cuda.vector_width(arrays, p.shape[-1], False)
    blocks, threads = kernels_cuda.launch_shape(-(-p.size // vec))
    args = (p, g, s[0], s[1], s[2], p.dtype.type(1.0), p.dtype.type(0.0), np.int64(p.size),
            np.int32(vec))  # fmt: skip

    def run() -> None:
        fn((blocks,), (threads,), args)

    return run


def copy_kernel(src: Any, dst: Any) -> Callable[[], None]:
    """Device-to-device cudaMemcpyAsync of ``src`` into ``dst`` on the current stream."""

    def run() -> None:
        dst.data.copy_from_device_async(src.data, src.nbytes)

    return run


def measure(fns: dict[str, Callable[[], None]], repeats: int) -> dict[str, np.ndarray]:
    """Per-call CUDA-event seconds of each callable, ``repeats`` rounds, interleaved.

    A warm-up call first (compilation, allocation); then each round times every callable
    once as the mean over ``number`` calls (``cupyx.profiler.benchmark``'s GPU times),
    ``number`` chosen so one sample lasts about MIN_SAMPLE_S.
    """
    from cupyx.profiler import benchmark

    numbers = {}
    for name, fn in fns.items():
        one = float(benchmark(fn, n_repeat=3, n_warmup=2).gpu_times.min())
        numbers[name] = int(max(1, min(1000, np.ceil(MIN_SAMPLE_S / max(one, 1e-7)))))
    out = {name: np.empty(repeats) for name in fns}
    for r in range(repeats):
        for name, fn in fns.items():
            res = benchmark(fn, n_repeat=numbers[name], n_warmup=0)
            out[name][r] = float(np.mean(res.gpu_times))
    return out


class DeviceArrays:
    """Parameters and gradients on the device, kept across the groups of one size and dtype."""

    def __init__(self, seed: int):
        import cupy

        self.rng = cupy.random.default_rng(seed)
        self.key: tuple[int, str] | None = None
        self.pg: tuple[Any, Any] | None = None

    def params_grads(self, n: int, dtype: str) -> tuple[Any, Any]:
        if self.key != (n, dtype):
            self.key, self.pg = (n, dtype), None
            self.pg = tuple(self.rng.standard_normal(n, dtype=np.dtype(dtype)) for _ in "pg")
        return self.pg


def copy_bandwidth(n: int, dtype: str, repeats: int) -> dict[str, Any]:
    """Best-of device-to-device copy bandwidth at this size (2 x bytes copied per call)."""
    import cupy

    src = cupy.ones(n, dtype=dtype)
    dst = cupy.empty_like(src)
    best = float(measure({"copy": copy_kernel(src, dst)}, repeats)["copy"].min())
    del src, dst
    _release()
    nbytes = n * np.dtype(dtype).itemsize
    return {"size": n, "dtype": dtype, "threads": 1, "copy_s": best,
            "copy_gbps": 2 * nbytes / best / 1e9, "copy_kind": "cudaMemcpyAsync D2D"}  # fmt: skip


def run_group(
    case: Case, n: int, dtype: str, config: BenchConfig, arrays: DeviceArrays, copy_gbps: float
) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """Time one optimizer at one size and dtype on the device; its rows and roofline record."""
    opt = make_optimizer(case.name, **case.hp)
    p, g = arrays.params_grads(n, dtype)
    pattern = roofline.rule_pattern(opt.rule, opt.hp)
    state = opt.init(p)
    own = [p, g, *(state.buffers[b] for b in opt.rule.buffers(opt.hp))]
    fns: dict[str, Callable[[], None]] = {
        ADAMBENCH: lambda: opt.step(p, g, state),
        ROOFLINE: pattern_kernel(pattern, own),
    }
    notes: dict[str, str] = {}
    if config.textbook and case.name in peers_numpy.STEPS:
        fns[TEXTBOOK] = textbook_peer(case.name, opt, p, g)
    if config.torch:
        if peers_torch.available():
            tcalls, notes = peers_torch.peers(case.name, peers_numpy.scalar_hp(opt.hp), p, g)
            fns.update(tcalls)
        else:
            notes = {"torch": "torch is not installed"}
    samples = measure(fns, config.repeats)
    bytes_step = roofline.rule_bytes(opt.rule, opt.hp, np.dtype(dtype).itemsize) * n
    roof = summarize(samples[ROOFLINE])
    base = summarize(samples[ADAMBENCH]).median
    rows = []
    for impl, s in samples.items():
        if impl == ROOFLINE:
            continue
        st = summarize(s)
        row = {
            "optimizer": case.label, "rule": case.name, "impl": impl, "backend": "cupy",
            "dtype": dtype, "size": n, "threads": 1, "clock": CLOCK, "median_s": st.median,
            "q1_s": st.q1, "q3_s": st.q3, "iqr_s": st.iqr, "best_s": st.best,
            "wall_median_s": st.median, "ns_per_param": st.median / n * 1e9,
            "bytes_per_step": bytes_step, "gbps": bytes_step / st.median / 1e9,
            "roofline_pattern": pattern.name, "roofline_gbps": bytes_step / roof.best / 1e9,
            "fraction_of_roofline": roof.best / st.median,
            "fraction_of_copy": bytes_step / st.median / 1e9 / copy_gbps,
            "ratio_to_adambench": st.median / base, "repeats": len(s),
            "calls_per_sample": 0, "samples_s": s, "norm_samples": s / samples[ROOFLINE],
        }  # fmt: skip
        if TEXTBOOK in samples:
            row["textbook_samples"] = s / samples[TEXTBOOK]
        if impl in notes:
            row["note"] = notes[impl]
        rows.append(row)
    record = {
        "optimizer": case.label, "dtype": dtype, "size": n, "threads": 1,
        "pattern": pattern.name, "reads": pattern.reads, "writes": pattern.writes,
        "bytes_per_param": bytes_step // n, "best_s": roof.best, "median_s": roof.median,
        "gbps": bytes_step / roof.best / 1e9, "clock": CLOCK,
        "missing_peers": {k: v for k, v in notes.items() if k not in samples},
    }  # fmt: skip
    return rows, record


def _release() -> None:
    """Return freed device memory to the driver (CuPy's pool, torch's cache) between sizes."""
    import sys

    import cupy

    cupy.get_default_memory_pool().free_all_blocks()
    torch = sys.modules.get("torch")
    if torch is not None and torch.cuda.is_available():
        torch.cuda.empty_cache()


def run_bench_cuda(
    config: BenchConfig,
    on_step: Callable[[str], None] | None = None,
    groups: list[Any] | None = None,
) -> dict[str, Any]:
    """Every (optimizer, size, dtype) group on the device: rows, rooflines, copy references."""
    arrays = DeviceArrays(config.seed)
    rows: list[dict[str, Any]] = []
    records: list[dict[str, Any]] = []
    refs: dict[tuple[int, str], dict[str, Any]] = {}
    todo = groups
    if todo is None:
        todo = [(c, n, dt, 1) for n in config.sizes for dt in config.dtypes for c in config.cases]
    for case, n, dtype, _threads in todo:
        if (n, dtype) not in refs:
            arrays.key, arrays.pg = None, None  # free the last size before measuring a copy
            refs[(n, dtype)] = copy_bandwidth(n, dtype, max(3, min(config.repeats, 10)))
        r, rec = run_group(case, n, dtype, config, arrays, refs[(n, dtype)]["copy_gbps"])
        _release()
        rows.extend(r)
        records.append(rec)
        if on_step is not None:
            on_step(f"{case.label} n={n:.0e} {dtype} cuda")
    return {"rows": rows, "rooflines": records, "references": list(refs.values())}
