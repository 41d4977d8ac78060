"""Fused CuPy update kernels: one pass over memory, in place, one thread per element.

The GPU twin of ``kernels_cpu``: the same kernels (``registry.KERNELS``), the same per-run
coefficient rows from ``rules/<rule>.py``, and the same ``apply(kernel, p, g, buffers,
coef)`` interface, on C-contiguous CuPy arrays of shape (B, d).

Each kernel's per-element update is its ``Kernel.cuda`` body, written in the rule's file
beside the numba row it mirrors operation for operation (the zero-denominator guard
``zero if denom < floor else num / denom`` is ``(denom < ROOT_TINY) ? ZERO : num / denom``,
docs/theory.md §6.2); its coefficients are ``const T`` locals by name.  ``cuda_source``
wraps those bodies into ``__device__`` step functions (and the kernels' weight and track
functions), shared by

* the elementwise kernels here (a grid-stride loop: load, step, store), and
* the regret engine's fused kernel (``engines/regret/cuda.py``).

The source is compiled by NVRTC with ``--fmad=false`` (no contraction of a*b + c into
an FMA, as numba's LLVM does not contract either), so CPU and GPU do the same IEEE
operations in the same order.  (On a machine without a GPU the tests run this very
source on the host CUDA emulator of ``tests/emulated_cuda`` against the numba kernels.)

Nothing here imports CuPy at module level: ``cuda_source`` is a pure string builder;
``apply`` imports CuPy on first use.
"""

from __future__ import annotations

from functools import cache
from typing import Any

import numpy as np

from .registry import KERNELS, KINDS
from .spec import Kernel

THREADS = 256
# NVRTC options: IEEE-exact arithmetic (no FMA contraction; correctly rounded sqrt and /).
NVRTC_OPTIONS = ("--fmad=false", "--prec-sqrt=true", "--prec-div=true")


# C type, the smallest normal number (TINY) and its square root (ROOT_TINY, an exact power
# of two: 2^-63, 2^-511; spec.root_tiny) of each dtype.
_CTYPES = {
    np.dtype(np.float32): ("float", "1.17549435082228750797e-38f", "1.08420217248550443401e-19f"),
    np.dtype(np.float64): ("double", "2.22507385850720138309e-308", "1.49166814624004134866e-154"),
}
# 16-byte vector types (one 128-bit load or store per array per thread) and their lanes.
VECTORS = {np.dtype(np.float32): ("float4", "xyzw"), np.dtype(np.float64): ("double2", "xy")}
VECTOR_BYTES = 16


def _dtype_header(dtype: Any) -> str:
    ctype, tiny, root_tiny = _CTYPES[np.dtype(dtype)]
    vtype, lanes = VECTORS[np.dtype(dtype)]
    return (
        f"typedef {ctype} T;\ntypedef {vtype} V;\n#define VEC {len(lanes)}\n"
        f"#define TINY ((T){tiny})\n#define ROOT_TINY ((T){root_tiny})\n#define ZERO ((T)0)\n"
        "__device__ __forceinline__ T py_max(const T a, const T b) { return b > a ? b : a; }\n"
    )


def _locals(kernel: Kernel) -> str:
    """The coefficient row as ``const T`` locals named as ``kernel.coefs``."""
    return "\n".join(f"    const T {c} = c[{k}];" for k, c in enumerate(kernel.coefs))


def _step_functions() -> str:
    """``__device__`` ``<kernel>_step(p, g, s0, s1, s2, c)`` for every kernel, and where a
    kernel has them its ``<kernel>_weight(a0, a1, a2, c)`` and track functions."""
    out = []
    for k in KERNELS:
        out.append(
            f"__device__ __forceinline__ void {k.name}_step(T& p, const T g, T& s0, T& s1, "
            f"T& s2, const T* __restrict__ c) {{\n{_locals(k)}\n{k.cuda}\n}}\n"
        )
        if k.weight is not None:
            out.append(
                f"__device__ __forceinline__ double {k.name}_weight(const T a0, const T a1, "
                f"const T a2, const T* __restrict__ c) {{\n{_locals(k)}\n"
                f"    return {k.weight_cuda};\n}}\n"
            )
        if k.track is not None:
            tr = k.track
            out.append(
                f"__device__ __forceinline__ bool {k.name}_track_on(const T* __restrict__ c) "
                f"{{\n{_locals(k)}\n    return {tr.on_cuda};\n}}\n"
                f"__device__ __forceinline__ double {k.name}_track_term(const T a0, const T a1, "
                f"const T a2) {{\n    return {tr.term_cuda};\n}}\n"
                f"__device__ __forceinline__ double {k.name}_track_add(const double sum, "
                f"const T* __restrict__ c) {{\n{_locals(k)}\n    return {tr.add_cuda};\n}}\n"
            )
    return "\n".join(out)


def _element(name: str, nstates: int) -> str:
    """Load one element's state, step it, store it back: only the ``nstates`` arrays used.

    Arrays past ``nstates`` are aliases of ``p`` (as in ``kernels_cpu.apply``) and are
    neither read nor written; the body sees a local zero in their place.
    """
    lines = ["T pj = p[j];"]
    for k in range(3):
        lines.append(f"T a{k} = s{k}[j];" if k < nstates else f"T a{k} = ZERO;")
    lines.append(f"{name}_step(pj, g[j], a0, a1, a2, c);")
    lines += [f"s{k}[j] = a{k};" for k in range(nstates)]
    lines.append("p[j] = pj;")
    return "\n        ".join(lines)


def _element_vector(name: str, nstates: int, lanes: str) -> str:
    """``_element`` for VEC consecutive elements: one 16-byte load and store per array,
    then the same per-element step on each lane of the vector, in element order."""
    lines = ["V pv = reinterpret_cast<V*>(p)[q];", "const V gv = reinterpret_cast<const V*>(g)[q];"]
    lines += [f"V v{k} = reinterpret_cast<V*>(s{k})[q];" for k in range(nstates)]
    for ch in lanes:
        args = [f"v{k}.{ch}" if k < nstates else f"u{k}" for k in range(3)]
        unused = "".join(f" T u{k} = ZERO;" for k in range(nstates, 3))
        lines.append(f"{{{unused} {name}_step(pv.{ch}, gv.{ch}, {', '.join(args)}, c); }}")
    lines += [f"reinterpret_cast<V*>(s{k})[q] = v{k};" for k in range(nstates)]
    lines.append("reinterpret_cast<V*>(p)[q] = pv;")
    return "\n        ".join(lines)


def kernel_name(name: str, nstates: int, vector: bool = False) -> str:
    return f"{name}_apply{nstates}" + ("_vec" if vector else "")


def _variants() -> list[tuple[str, int]]:
    """Every (kernel, number of state arrays) a rule can use (``Kernel.states``)."""
    return [(k.name, n) for k in KERNELS for n in k.states]


_ARGS = (
    "T* __restrict__ p, const T* __restrict__ g, T* __restrict__ s0, T* __restrict__ s1, "
    "T* __restrict__ s2, const T* __restrict__ coef, const long long n, const long long d, "
    "const int per_run, const int K"
)


def cuda_source(dtype: Any) -> str:
    """The CUDA C++ module of every update kernel for ``dtype`` (float32 or float64).

    Two kernels per (rule, state count): ``<rule>_apply<n>``, one element per thread, and
    ``<rule>_apply<n>_vec``, VEC consecutive elements per thread through 16-byte vector
    loads and stores (the arrays 16-byte aligned; with per-run rows, d a multiple of VEC
    so that a vector never straddles two runs), the n % VEC tail one element per thread.
    Both apply the same ``<rule>_step`` to each element: the same numbers.
    """
    lanes = VECTORS[np.dtype(dtype)][1]
    parts = [_dtype_header(dtype), _step_functions()]
    first = "(long long)blockIdx.x * blockDim.x + threadIdx.x"
    coef = "const T* c = coef + (per_run ? (j / d) * K : 0);"
    for name, nstates in _variants():
        parts.append(
            f'extern "C" __global__ void {kernel_name(name, nstates)}({_ARGS}) {{\n'
            "    const long long stride = (long long)blockDim.x * gridDim.x;\n"
            f"    for (long long j = {first}; j < n; j += stride) {{\n"
            f"        {coef}\n        {_element(name, nstates)}\n    }}\n}}\n"
        )
        parts.append(
            f'extern "C" __global__ void {kernel_name(name, nstates, True)}({_ARGS}) {{\n'
            "    const long long stride = (long long)blockDim.x * gridDim.x;\n"
            f"    const long long nv = n / VEC;\n"
            f"    for (long long q = {first}; q < nv; q += stride) {{\n"
            "        const long long j = q * VEC;\n"
            f"        {coef}\n        {_element_vector(name, nstates, lanes)}\n    }}\n"
            f"    const long long j = nv * VEC + {first};  // the tail\n"
            f"    if (j < n) {{\n        {coef}\n        {_element(name, nstates)}\n    }}\n}}\n"
        )
    return "\n".join(parts)


def nstates_used(kernel: Kernel, buffers: list[Any]) -> int:
    """How many state arrays a call uses: its buffers, checked against the kernel's range."""
    n = len(buffers)
    if n not in kernel.states:
        raise ValueError(f"kernel {kernel.name!r} takes no {n} state arrays")
    return n


@cache
def _module(dtype_str: str) -> Any:
    import cupy

    return cupy.RawModule(code=cuda_source(dtype_str), options=NVRTC_OPTIONS)


def get_kernel(kernel: str, nstates: int, dtype: Any, vector: bool = False) -> Any:
    """The compiled ``cupy.RawKernel`` (compiled once per dtype and device, then cached)."""
    return _module(np.dtype(dtype).name).get_function(kernel_name(kernel, nstates, vector))


def launch_shape(n: int) -> tuple[int, int]:
    """(blocks, threads): one thread per element up to 2^31 - 1 blocks (grid-stride beyond)."""
    blocks = max(1, min((n + THREADS - 1) // THREADS, 2**31 - 1))
    return blocks, THREADS


def vector_width(arrays: list[Any], d: int, per_run: bool) -> int:
    """VEC when every array is 16-byte aligned (and, per run, d % VEC == 0), else 1."""
    vec = len(VECTORS[np.dtype(arrays[0].dtype)][1])
    aligned = all(a.data.ptr % VECTOR_BYTES == 0 for a in arrays)
    return vec if aligned and (not per_run or d % vec == 0) else 1


def apply(kernel: Kernel, p: Any, g: Any, buffers: list[Any], coef: Any) -> None:
    """Run ``kernel`` in place on C-contiguous (B, d) CuPy arrays of one dtype.

    Same contract as ``kernels_cpu.apply``: ``buffers`` are the rule's state arrays in
    its kernel's order, ``coef`` is (R, K) in the arrays' dtype with R = 1 or B.
    """
    if kernel.name not in KINDS:
        raise ValueError(f"unknown kernel {kernel.name!r}; choose from: {', '.join(KINDS)}")
    nstates = nstates_used(kernel, buffers)
    import cupy

    coef = cupy.ascontiguousarray(coef, dtype=p.dtype)
    if coef.ndim != 2 or coef.shape[0] not in (1, p.shape[0]):
        raise ValueError(f"coef must be (1, K) or ({p.shape[0]}, K), got {coef.shape}")
    s = list(buffers) + [p] * (3 - nstates)
    n, d, per_run = p.size, p.shape[-1], coef.shape[0] > 1
    vec = vector_width([p, g, *buffers], d, per_run)
    blocks, threads = launch_shape(-(-n // vec))
    args = (p, g, s[0], s[1], s[2], coef, np.int64(n), np.int64(d))
    args += (np.int32(per_run), np.int32(coef.shape[1]))
    get_kernel(kernel.name, nstates, p.dtype, vec > 1)((blocks,), (threads,), args)
