"""Fused CuPy update kernels: one pass over memory, in place, one thread per element.

The GPU twin of ``kernels_cpu``: the same kernels (``KINDS``), the same per-run
coefficient rows from ``rules/<rule>.py`` (the math and its equations live there,
paper-spec 1.1-3.4), and the same ``apply(kernel, p, g, buffers, coef)`` interface, on
C-contiguous CuPy arrays of shape (B, d).

Each rule's update is written ONCE, in ``STEP_BODIES``, as CUDA C++ over one element
(``p``, ``g`` and the state values ``s0..s2``, coefficients ``c[k]``): a line-by-line
transcription of the numba loop body in ``kernels_cpu``, with its conventions (a zero
denominator gives ``0 / tiny = 0`` via Python's ``max``; ``if denom > 0 else 0``).
``cuda_source`` wraps those bodies into ``__device__`` step functions, shared by

* the elementwise kernels here (a grid-stride loop: load, step, store), and
* the regret engine's fused kernel (``problems/online/engine_cuda.py``).

The source is compiled by NVRTC with ``--fmad=false`` (no contraction of a*b + c into
an FMA, as numba's LLVM does not contract either), so CPU and GPU do the same IEEE
operations in the same order.  (On a machine without a GPU the tests run this very
source on the host CUDA emulator of ``tests/emulated_cuda`` against the numba kernels.)

Nothing here imports CuPy at module level: ``cuda_source`` is a pure string builder;
``apply`` imports CuPy on first use.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from typing import Any

import numpy as np

from .kernels_cpu import KINDS

THREADS = 256
# NVRTC options: IEEE-exact arithmetic (no FMA contraction; correctly rounded sqrt and /).
NVRTC_OPTIONS = ("--fmad=false", "--prec-sqrt=true", "--prec-div=true")


@dataclass(frozen=True)
class StepBody:
    """One rule's per-element update: coefficient names (c[0], c[1], ...) and its C++ body.

    ``states`` is the largest number of state arrays the kernel takes; the body may read
    and write ``p``, ``s0``..``s2`` (references) and read ``g``; ``TINY`` and ``ZERO`` are
    the dtype's smallest normal number and zero; ``py_max(a, b)`` is Python's (and
    numba's) ``max``: ``b if b > a else a``.
    """

    states: int
    coefs: tuple[str, ...]
    code: str


# Transcriptions of kernels_cpu._<rule> loop bodies (same names, same operation order).
STEP_BODIES: dict[str, StepBody] = {
    "adam": StepBody(  # Kingma & Ba Algorithm 1 / section 2 efficient form (rules/adam.py)
        2,
        ("b1", "ob1", "b2", "ob2", "step", "isb", "eps"),
        """
        const T mj = b1 * s0 + ob1 * g;
        const T vj = b2 * s1 + ob2 * g * g;
        s0 = mj;
        s1 = vj;
        p -= step * (mj / py_max(sqrt(vj) * isb + eps, TINY));
        """,
    ),
    "amsgrad": StepBody(  # Reddi et al. Algorithm 2 (rules/amsgrad.py)
        3,
        ("b1", "ob1", "b2", "ob2", "step", "isb", "eps"),
        """
        const T mj = b1 * s0 + ob1 * g;
        const T vj = b2 * s1 + ob2 * g * g;
        const T hj = py_max(s2, vj);
        s0 = mj;
        s1 = vj;
        s2 = hj;
        const T denom = sqrt(hj) * isb + eps;
        p -= (denom > ZERO) ? step * (mj / denom) : ZERO;
        """,
    ),
    "adamax": StepBody(  # Kingma & Ba Algorithm 2, eq. 12 (rules/adamax.py)
        2,
        ("b1", "ob1", "b2", "step", "eps"),
        """
        const T mj = b1 * s0 + ob1 * g;
        const T uj = py_max(b2 * s1, fabs(g) + eps);
        s0 = mj;
        s1 = uj;
        p -= (uj > ZERO) ? step * (mj / uj) : ZERO;
        """,
    ),
    "adagrad": StepBody(  # Duchi et al. 2011, diagonal (rules/adagrad.py)
        1,
        ("step", "eps"),
        """
        const T sj = s0 + g * g;
        s0 = sj;
        const T denom = sqrt(sj) + eps;
        p -= (denom > ZERO) ? step * (g / denom) : ZERO;
        """,
    ),
    "rmsprop": StepBody(  # torch.optim.RMSprop with momentum (rules/rmsprop.py)
        3,
        ("rho", "orho", "mu", "step", "eps", "centered", "inside"),
        """
        const T vj = rho * s0 + orho * g * g;
        s0 = vj;
        T w = vj;
        if (centered != ZERO) {
            const T aj = rho * s2 + orho * g;
            s2 = aj;
            w = vj - aj * aj;
        }
        const T denom = (inside != ZERO) ? sqrt(w + eps) : sqrt(w) + eps;
        const T bj = mu * s1 + g / py_max(denom, TINY);
        s1 = bj;
        p -= step * bj;
        """,
    ),
    "sgd": StepBody(  # torch.optim.SGD form (rules/sgd.py)
        1,
        ("mu", "step", "nesterov", "has_momentum"),
        """
        if (has_momentum == ZERO) {
            p -= step * g;
        } else {
            const T bj = mu * s0 + g;
            s0 = bj;
            p -= step * ((nesterov != ZERO) ? g + mu * bj : bj);
        }
        """,
    ),
}

_CTYPES = {
    np.dtype(np.float32): ("float", "1.17549435082228750797e-38f"),
    np.dtype(np.float64): ("double", "2.22507385850720138309e-308"),
}
# 16-byte vector types (one 128-bit load or store per array per thread) and their lanes.
VECTORS = {np.dtype(np.float32): ("float4", "xyzw"), np.dtype(np.float64): ("double2", "xy")}
VECTOR_BYTES = 16


def _dtype_header(dtype: Any) -> str:
    ctype, tiny = _CTYPES[np.dtype(dtype)]
    vtype, lanes = VECTORS[np.dtype(dtype)]
    return (
        f"typedef {ctype} T;\ntypedef {vtype} V;\n#define VEC {len(lanes)}\n"
        f"#define TINY ((T){tiny})\n#define ZERO ((T)0)\n"
        "__device__ __forceinline__ T py_max(const T a, const T b) { return b > a ? b : a; }\n"
    )


def _step_functions() -> str:
    """``__device__`` ``<kernel>_step(p, g, s0, s1, s2, c)`` for every kernel."""
    out = []
    for name, body in STEP_BODIES.items():
        coefs = "\n".join(f"    const T {c} = c[{k}];" for k, c in enumerate(body.coefs))
        out.append(
            f"__device__ __forceinline__ void {name}_step(T& p, const T g, T& s0, T& s1, "
            f"T& s2, const T* __restrict__ c) {{\n{coefs}\n{body.code}\n}}\n"
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
    """Every (kernel, number of state arrays) a rule can use (SGD without momentum: 0)."""
    out = []
    for name, body in STEP_BODIES.items():
        low = {"sgd": 0, "rmsprop": 2}.get(name, body.states)
        out += [(name, n) for n in range(low, body.states + 1)]
    return out


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


def nstates_used(kernel: str, buffers: list[Any]) -> int:
    """How many state arrays a call uses: its buffers, checked against the kernel's range."""
    n = len(buffers)
    if (kernel, n) not in _variants():
        raise ValueError(f"kernel {kernel!r} takes no {n} state arrays")
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


def apply(kernel: str, p: Any, g: Any, buffers: list[Any], coef: Any) -> None:
    """Run ``kernel`` in place on C-contiguous (B, d) CuPy arrays of one dtype.

    Same contract as ``kernels_cpu.apply``: ``buffers`` are the rule's state arrays in
    its kernel's order, ``coef`` is (R, K) in the arrays' dtype with R = 1 or B.
    """
    if kernel not in KINDS:
        raise ValueError(f"unknown kernel {kernel!r}; choose from: {', '.join(KINDS)}")
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
    get_kernel(kernel, nstates, p.dtype, vec > 1)((blocks,), (threads,), args)
