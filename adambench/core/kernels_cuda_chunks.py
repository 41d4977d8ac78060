"""Multi-tensor CuPy kernels: one launch steps every tensor of a dtype group.

Invariant: a launch updates every element of every tensor named by a chunk table exactly
once, with the rule's own ``<kernel>_step`` (the ``Kernel.cuda`` body that
``kernels_cuda`` wraps), on values widened exactly from their storage dtype to the
layout's compute dtype ``T``, and stores each value rounded once to nearest even
(``__float2bfloat16_rn``, ``__float2half_rn``; float and double store as they are).  So
a list step is, bit for bit, the per-tensor float32 (or float64) step of the widened
values followed by one rounding per stored value (core/precision.py, docs/theory.md §9),
the same numbers as the CPU pass of ``core/multi_tensor.py``.

The launch is the multi_tensor_apply scheme: the host builds, once per group, a pointer
table (L, 6) int64 of device addresses (columns p, g, s0, s1, s2, master; 0 where
absent) and a chunk table (C, 3) int64 of rows (tensor, offset, length) with lengths of
at most ``CHUNK``; block ``b`` of the grid walks rows b, b + gridDim.x, ... and its
threads stride through the row's elements (coalesced loads of consecutive elements).
One kernel per (rule kernel, number of states) in each layout's module: with a master
copy, the step reads the float32 master instead of p and writes the master and p =
master rounded.

Nothing here imports CuPy at module level; ``apply_chunks`` imports it on first use.
"""

from __future__ import annotations

from functools import cache
from typing import Any

import numpy as np

from .kernels_cuda import NVRTC_OPTIONS, _dtype_header, _step_functions, _variants
from .precision import BFLOAT16, FLOAT16, FLOAT32, FLOAT64, Layout
from .registry import KINDS
from .spec import Kernel

CHUNK = 65536  # elements per chunk-table row
THREADS = 256
COLUMNS = 6  # pointer table: p, g, s0, s1, s2, master
MAX_BLOCKS = 2**31 - 1
launches = 0  # kernel launches made by apply_chunks (tests count them)

# Storage dtype -> (C type, widening of a stored x to T, rounding of a T x to storage).
_STORAGE = {
    FLOAT32: ("float", "(T)x", "(float)x"),
    FLOAT64: ("double", "(T)x", "(double)x"),
    BFLOAT16: ("__nv_bfloat16", "__bfloat162float(x)", "__float2bfloat16_rn(x)"),
    FLOAT16: ("__half", "__half2float(x)", "__float2half_rn(x)"),
}
_INCLUDES = {BFLOAT16: "#include <cuda_bf16.h>\n", FLOAT16: "#include <cuda_fp16.h>\n"}


def _conversions(tag: str, dtype: np.dtype) -> str:
    """``typedef <C type> <tag>T``, ``ld_<tag>`` (stored -> T) and ``st_<tag>`` (T -> stored)."""
    ctype, load, store = _STORAGE[dtype]
    return (
        f"typedef {ctype} {tag}T;\n"
        f"__device__ __forceinline__ T ld_{tag}(const {tag}T x) {{ return {load}; }}\n"
        f"__device__ __forceinline__ {tag}T st_{tag}(const T x) {{ return {store}; }}\n"
    )


def kernel_name(name: str, nstates: int, master: bool) -> str:
    return f"{name}_chunks{nstates}" + ("_master" if master else "")


def _body(name: str, nstates: int, master: bool) -> str:
    """One element: load (widen), step, store (round); only the ``nstates`` states used."""
    lines = ["T pj = m[j];" if master else "T pj = ld_P(p[j]);"]
    for k in range(3):
        lines.append(f"T a{k} = ld_S(s{k}[j]);" if k < nstates else f"T a{k} = ZERO;")
    lines.append(f"{name}_step(pj, ld_P(g[j]), a0, a1, a2, c);")
    lines += [f"s{k}[j] = st_S(a{k});" for k in range(nstates)]
    if master:
        lines.append("m[j] = pj;")
    lines.append("p[j] = st_P(pj);")
    return "\n            ".join(lines)


def _kernel(name: str, nstates: int, master: bool) -> str:
    arrays = [
        "PT* __restrict__ p = reinterpret_cast<PT*>(row[0]) + off;",
        "const PT* __restrict__ g = reinterpret_cast<const PT*>(row[1]) + off;",
    ]
    arrays += [f"ST* __restrict__ s{k} = reinterpret_cast<ST*>(row[{2 + k}]) + off;"
               for k in range(nstates)]  # fmt: skip
    if master:
        arrays.append("float* __restrict__ m = reinterpret_cast<float*>(row[5]) + off;")
    pointers = "\n        ".join(arrays)
    return (
        f'extern "C" __global__ void {kernel_name(name, nstates, master)}('
        "const long long* __restrict__ ptrs, const long long* __restrict__ chunks, "
        "const T* __restrict__ coef, const long long nrows) {\n"
        "    const T* c = coef;\n"
        "    for (long long r = blockIdx.x; r < nrows; r += gridDim.x) {\n"
        f"        const long long* row = ptrs + {COLUMNS} * chunks[3 * r];\n"
        "        const long long off = chunks[3 * r + 1], n = chunks[3 * r + 2];\n"
        f"        {pointers}\n"
        "        for (long long j = threadIdx.x; j < n; j += blockDim.x) {\n"
        f"            {_body(name, nstates, master)}\n"
        "        }\n    }\n}\n"
    )


def cuda_source(layout: Layout) -> str:
    """The CUDA C++ module of every chunk kernel for ``layout``: ``typedef <compute> T``,
    the storage types ``PT`` (p, g) and ``ST`` (states) with their conversions, the step
    functions of ``kernels_cuda``, and one ``<rule>_chunks<n>[_master]`` per variant."""
    stored = {layout.param, layout.state}
    includes = "".join(sorted(_INCLUDES[d] for d in stored if d in _INCLUDES))
    parts = [
        includes + _dtype_header(layout.compute),
        _conversions("P", layout.param) + _conversions("S", layout.state),
        _step_functions(),
    ]
    parts += [_kernel(name, n, layout.master) for name, n in _variants()]
    return "\n".join(parts)


@cache
def _module(cupy: Any, param: str, state: str, master: bool) -> Any:
    """Keyed by the ``cupy`` module too: a test that swaps CuPy for the emulated one (or
    back) gets kernels of the module it imports."""
    layout = Layout(np.dtype(_DTYPES[param]), np.dtype(_DTYPES[state]), master)
    return cupy.RawModule(code=cuda_source(layout), options=NVRTC_OPTIONS)


_DTYPES = {d.name: d for d in (FLOAT32, FLOAT64, BFLOAT16, FLOAT16)}


def get_kernel(kernel: str, nstates: int, layout: Layout) -> Any:
    """The compiled ``cupy.RawKernel`` (compiled once per layout and device, then cached)."""
    import cupy

    module = _module(cupy, layout.param.name, layout.state.name, layout.master)
    return module.get_function(kernel_name(kernel, nstates, layout.master))


def _int64_table(x: Any, columns: int, what: str) -> None:
    if x.dtype != np.int64 or x.ndim != 2 or x.shape[1] != columns or not x.flags.c_contiguous:
        raise ValueError(
            f"{what} must be a C-contiguous int64 (n, {columns}) array, got {x.dtype} {x.shape}"
        )


def apply_chunks(
    kernel: Kernel, nstates: int, ptrs: Any, chunks: Any, coef: Any, layout: Layout
) -> None:
    """Step every tensor of one dtype group in place: one launch.

    ``ptrs`` (L, 6) and ``chunks`` (C, 3) are CuPy int64 arrays (pointer and chunk tables,
    rows of at most ``CHUNK`` elements; ``multi_tensor.chunk_table``), ``coef`` a CuPy
    (1, K) row in ``layout.compute``.  The caller keeps the arrays alive and checked
    (dtypes, sizes, contiguity): the kernel trusts the addresses.
    """
    global launches
    if kernel.name not in KINDS:
        raise ValueError(f"unknown kernel {kernel.name!r}; choose from: {', '.join(KINDS)}")
    if nstates not in kernel.states:
        raise ValueError(f"kernel {kernel.name!r} takes no {nstates} state arrays")
    _int64_table(ptrs, COLUMNS, "ptrs")
    _int64_table(chunks, 3, "chunks")
    if coef.dtype != layout.compute or coef.ndim != 2 or coef.shape[0] != 1:
        raise ValueError(f"coef must be (1, K) {layout.compute}, got {coef.dtype} {coef.shape}")
    rows = chunks.shape[0]
    if rows == 0:
        return
    blocks = min(rows, MAX_BLOCKS)
    fn = get_kernel(kernel.name, nstates, layout)
    fn((blocks,), (THREADS,), (ptrs, chunks, coef, np.int64(rows)))
    launches += 1
