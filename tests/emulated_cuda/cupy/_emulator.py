"""Run CUDA C++ kernels on the host: the device side of the emulated ``cupy`` package.

A module's source (the very string adambench hands to ``cupy.RawModule``) is compiled by
the host C++ compiler behind a prelude that supplies what NVRTC would: ``blockIdx``,
``threadIdx``, ``blockDim``, ``gridDim``, the math functions and the warp intrinsics
``__shfl_sync``, ``__shfl_xor_sync`` and ``__any_sync``.  Launches follow CUDA's model:

* every thread of the grid runs the kernel body once, with its own indices;
* a kernel that uses warp intrinsics runs its warps in lock step: the 32 lanes of a warp
  are user-level contexts (``ucontext``) that stop at each warp-synchronous call, and the
  call completes only when all 32 lanes reached the same call site, with the values the
  device would exchange.  A lane that has returned while others still shuffle with the
  full mask, or lanes that meet at different call sites, are errors (undefined behaviour
  on a device), reported as ``EmulatorError`` instead of a wrong answer;
* arguments are checked as a device would need them: the count, each array's dtype
  against its pointer parameter, C-contiguity (a device kernel reads raw memory), each
  scalar's exact numpy type against its C type; launch shapes within CUDA's limits.

Floating point: compiled with ``-ffp-contract=off`` (NVRTC runs with ``--fmad=false``),
so the emulated device rounds as the device does, except for the order of a warp
reduction, which is the device's own (the butterfly above) and therefore exact too.
"""

from __future__ import annotations

import ctypes
import hashlib
import os
import re
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Any

import ml_dtypes
import numpy as np

CXX = shutil.which("g++") or shutil.which("clang++")
WARP = 32


class EmulatorError(RuntimeError):
    """A launch that a device would reject or run with undefined behaviour."""


_PRELUDE = r"""
#include <cmath>
#include <cstdio>
#include <cstring>
#include <cstdint>
#include <ucontext.h>
using std::sqrt; using std::fabs; using std::exp; using std::log; using std::log1p;
using std::isfinite; using std::isnan; using std::fmax; using std::fmin;
#define __global__
#define __device__
#define __host__
#define __forceinline__ inline
#define __restrict__
struct emu_dim3 { unsigned x, y, z; };
struct alignas(16) float4 { float x, y, z, w; };
struct alignas(16) double2 { double x, y; };
static emu_dim3 threadIdx, blockIdx, blockDim, gridDim;

// cuda_fp16.h / cuda_bf16.h: 16-bit storage types and their conversions, bit for bit as
// the device's: widening is exact; narrowing rounds to nearest, ties to even, overflows
// to infinity, and turns a NaN into the canonical NaN 0x7fff (as CUDA's headers do).
struct __half { unsigned short __x; };
struct __nv_bfloat16 { unsigned short __x; };
static inline float emu_float(uint32_t u) { float f; std::memcpy(&f, &u, 4); return f; }
static inline uint32_t emu_bits(float f) { uint32_t u; std::memcpy(&u, &f, 4); return u; }
inline float __bfloat162float(const __nv_bfloat16 h) { return emu_float((uint32_t)h.__x << 16); }
inline __nv_bfloat16 __float2bfloat16_rn(const float f) {
    const uint32_t x = emu_bits(f);
    __nv_bfloat16 r;
    const bool nan = (x & 0x7fffffffu) > 0x7f800000u;
    r.__x = nan ? 0x7fffu : (unsigned short)((x + 0x7fffu + ((x >> 16) & 1u)) >> 16);
    return r;
}
inline float __half2float(const __half h) {
    const uint32_t sign = ((uint32_t)h.__x & 0x8000u) << 16, e = (h.__x >> 10) & 0x1fu;
    uint32_t m = h.__x & 0x3ffu;
    if (e == 0x1fu) return emu_float(sign | 0x7f800000u | (m << 13));
    if (e == 0) {
        if (m == 0) return emu_float(sign);
        uint32_t k = 0;
        while (!(m & 0x400u)) { m <<= 1; ++k; }
        return emu_float(sign | ((113u - k) << 23) | ((m & 0x3ffu) << 13));
    }
    return emu_float(sign | ((e + 112u) << 23) | (m << 13));
}
inline __half __float2half_rn(const float f) {
    const uint32_t x = emu_bits(f), sign = (x >> 16) & 0x8000u, a = x & 0x7fffffffu;
    __half r;
    if (a > 0x7f800000u) { r.__x = 0x7fffu; return r; }  // NaN
    if (a >= 0x477ff000u) { r.__x = (unsigned short)(sign | 0x7c00u); return r; }  // >= 65520
    if (a >= 0x38800000u) {  // a normal half: rebias, round the 13 dropped bits
        const uint32_t h = a - (112u << 23);
        r.__x = (unsigned short)(sign | ((h + 0xfffu + ((h >> 13) & 1u)) >> 13));
        return r;
    }
    const uint32_t e = a >> 23, s = 126u - e;  // a subnormal half: units of 2^-24
    if (s > 24) { r.__x = (unsigned short)sign; return r; }
    const uint32_t m = (a & 0x7fffffu) | 0x800000u, half = 1u << (s - 1);
    uint32_t q = m >> s;
    const uint32_t rem = m & ((1u << s) - 1);
    if (rem > half || (rem == half && (q & 1u))) ++q;
    r.__x = (unsigned short)(sign | q);
    return r;
}

namespace emu {
const int W = 32;
struct Lane {
    ucontext_t ctx;
    int done, site, src, op;
    unsigned long long val, res;
    emu_dim3 tid;
};
static Lane lanes[W];
static ucontext_t sched;
static int cur;
static char* stacks = nullptr;
static const size_t STACK = 1 << 18;
static char error[512];
static void (*body)(void**) = nullptr;
static void** body_args = nullptr;

// A warp-synchronous call: park this lane with its value until the whole warp arrives.
static unsigned long long sync_call(int site, int op, int src, unsigned long long v) {
    Lane& L = lanes[cur];
    L.site = site; L.op = op; L.src = src; L.val = v;
    swapcontext(&L.ctx, &sched);
    return lanes[cur].res;
}
static void entry() {
    body(body_args);
    lanes[cur].done = 1;
}  // returns to sched through uc_link

static int fail(const char* msg, int a, int b) {
    snprintf(error, sizeof error, msg, a, b);
    return 1;
}

// Run one warp (lanes with consecutive thread indices) in lock step.
static int run_warp(const emu_dim3* tids, int n) {
    if (!stacks) stacks = new char[STACK * W];
    for (int i = 0; i < n; ++i) {
        Lane& L = lanes[i];
        getcontext(&L.ctx);
        L.ctx.uc_stack.ss_sp = stacks + STACK * i;
        L.ctx.uc_stack.ss_size = STACK;
        L.ctx.uc_link = &sched;
        makecontext(&L.ctx, entry, 0);
        L.done = 0; L.tid = tids[i];
    }
    while (true) {
        for (int i = 0; i < n; ++i) {
            if (lanes[i].done) continue;
            cur = i; threadIdx = lanes[i].tid;
            swapcontext(&sched, &lanes[i].ctx);
        }
        int waiting = -1, finished = 0;
        for (int i = 0; i < n; ++i) {
            if (lanes[i].done) { ++finished; continue; }
            if (waiting < 0) waiting = i;
            else if (lanes[i].site != lanes[waiting].site)
                return fail("divergent warp-synchronous calls: lines %d and %d", lanes[i].site,
                            lanes[waiting].site);
        }
        if (waiting < 0) return 0;
        if (finished || n < W)
            return fail("warp-synchronous call (line %d) with %d inactive lanes in the full mask",
                        lanes[waiting].site, W - n + finished);
        unsigned long long any = 0;
        for (int i = 0; i < n; ++i) any |= lanes[i].val != 0;
        for (int i = 0; i < n; ++i) {
            Lane& L = lanes[i];
            L.res = L.op == 1 ? any : lanes[L.src].val;
        }
    }
}

// Every thread of the grid; warps in lock step when the kernel synchronises.
static int launch(const emu_dim3 g, const emu_dim3 b, int synced, void (*fn)(void**),
                  void** args) {
    gridDim = g; blockDim = b; body = fn; body_args = args; error[0] = 0;
    const unsigned nb = b.x * b.y * b.z;
    emu_dim3 tids[W];
    for (unsigned bz = 0; bz < g.z; ++bz) for (unsigned by = 0; by < g.y; ++by)
    for (unsigned bx = 0; bx < g.x; ++bx) {
        blockIdx = {bx, by, bz};
        int n = 0;
        for (unsigned t = 0; t < nb; ++t) {
            const emu_dim3 tid = {t % b.x, (t / b.x) % b.y, t / (b.x * b.y)};
            if (!synced) { threadIdx = tid; fn(args); continue; }
            tids[n++] = tid;
            if (n == W || t == nb - 1) {
                if (run_warp(tids, n)) return 1;
                n = 0;
            }
        }
    }
    return 0;
}
}  // namespace emu

template <class V> static inline V emu_sync(int site, int op, int src, V v) {
    static_assert(sizeof(V) <= 8, "warp values of at most 8 bytes");
    unsigned long long u = 0;
    std::memcpy(&u, &v, sizeof(V));
    u = emu::sync_call(site, op, src, u);
    V out;
    std::memcpy(&out, &u, sizeof(V));
    return out;
}
#define __shfl_sync(mask, v, lane) emu_sync(__LINE__, 0, (int)(lane) & 31, (v))
#define __shfl_xor_sync(mask, v, off) \
    emu_sync(__LINE__, 0, (int)((threadIdx.x & 31) ^ (off)) & 31, (v))
#define __any_sync(mask, b) ((int)emu_sync<unsigned long long>(__LINE__, 1, 0, (b) ? 1ull : 0ull))
extern "C" const char* emu_error() { return emu::error; }
"""

_KERNEL = re.compile(r'extern\s+"C"\s+__global__\s+void\s+(\w+)\s*\(([^)]*)\)')
_TYPEDEF = re.compile(r"typedef\s+([A-Za-z_][\w ]*?)\s+(\w+)\s*;")
# The CUDA headers the prelude stands in for (their types and conversions are above).
_HEADERS = re.compile(r"^[ \t]*#[ \t]*include[ \t]*<cuda_(?:fp16|bf16)\.h>[ \t]*$", re.M)
_C_DTYPES = {
    "float": np.float32,
    "double": np.float64,
    "int": np.int32,
    "unsigned": np.uint32,
    "long long": np.int64,
    "unsigned long long": np.uint64,
    "u64": np.uint64,
    "bool": np.bool_,
    "__half": np.float16,
    "__nv_bfloat16": ml_dtypes.bfloat16,
}
_SYNC = ("__shfl_sync", "__shfl_xor_sync", "__any_sync", "__syncthreads")


def _param(decl: str, typedefs: dict[str, str]) -> tuple[str, bool, Any]:
    """(name, is_pointer, numpy dtype) of one kernel parameter declaration."""
    words = decl.replace("*", " * ").split()
    name = words[-1]
    pointer = "*" in words
    base = " ".join(w for w in words[:-1] if w not in ("const", "__restrict__", "*"))
    if base == "T" and "T" not in typedefs:
        raise EmulatorError("a kernel parameter uses T but the module has no typedef of T")
    base = typedefs.get(base, base)
    if base not in _C_DTYPES:
        raise EmulatorError(f"the emulator knows no C type {base!r} (parameter {name})")
    return name, pointer, np.dtype(_C_DTYPES[base])


class Kernel:
    """One ``extern "C" __global__`` function of a compiled module."""

    def __init__(
        self, lib: ctypes.CDLL, name: str, params: list[tuple[str, bool, Any]], synced: bool
    ):
        self.name, self.params, self.synced = name, params, synced
        self.fn = getattr(lib, f"emu_launch_{name}")
        self.fn.restype = ctypes.c_int
        self.error = lib.emu_error
        self.error.restype = ctypes.c_char_p

    def launch(
        self, grid: tuple[int, ...], block: tuple[int, ...], args: tuple[Any, ...], buffer: Any
    ) -> None:
        g = tuple(grid) + (1,) * (3 - len(grid))
        b = tuple(block) + (1,) * (3 - len(block))
        if not (1 <= g[0] < 2**31 and 1 <= g[1] <= 65535 and 1 <= g[2] <= 65535):
            raise EmulatorError(f"{self.name}: invalid grid {grid}")
        if min(b) < 1 or b[0] * b[1] * b[2] > 1024 or b[2] > 64:
            raise EmulatorError(f"{self.name}: invalid block {block}")
        if len(args) != len(self.params):
            raise EmulatorError(f"{self.name} takes {len(self.params)} arguments, got {len(args)}")
        keep, ptrs = [], []
        for a, (name, pointer, dtype) in zip(args, self.params, strict=True):
            if pointer:
                arr = buffer(a)
                if arr is None:
                    raise EmulatorError(
                        f"{self.name}: {name} needs a device array, got {type(a).__name__}"
                    )
                if arr.dtype != dtype:
                    raise EmulatorError(
                        f"{self.name}: {name} is {dtype} *, got a {arr.dtype} array"
                    )
                if not arr.flags.c_contiguous:
                    raise EmulatorError(f"{self.name}: {name} is not C-contiguous")
                cell = ctypes.c_void_p(arr.ctypes.data)
            else:
                if not isinstance(a, np.generic) or a.dtype != dtype:
                    raise EmulatorError(
                        f"{self.name}: {name} is a C {dtype}, got {a!r} ({type(a).__name__})"
                    )
                cell = np.array(a)  # one cell holding the scalar's bytes
            keep.append(cell)
            ptrs.append(
                ctypes.cast(ctypes.pointer(cell), ctypes.c_void_p)
                if pointer
                else cell.ctypes.data_as(ctypes.c_void_p)
            )
        argv = (ctypes.c_void_p * max(1, len(ptrs)))(*ptrs)
        dims = [ctypes.c_uint(v) for v in (*g, *b)]
        if self.fn(*dims, argv):
            raise EmulatorError(f"{self.name}: {self.error().decode()}")


class Module:
    """A CUDA source compiled for the host; ``get_function(name)`` -> ``Kernel``."""

    def __init__(self, code: str, options: tuple[str, ...] = ()):
        if CXX is None:
            raise EmulatorError("no C++ compiler: the CUDA emulator cannot compile kernels")
        for opt in options:
            if not (isinstance(opt, str) and opt.startswith("-")):
                raise EmulatorError(f"not a compiler option: {opt!r}")
        code = _HEADERS.sub("", code)
        visible = _preprocess(code)  # kernels inside a false #if do not exist
        typedefs = {alias: base for base, alias in _TYPEDEF.findall(visible)}
        kernels = {
            name: [_param(d, typedefs) for d in args.split(",") if d.strip()]
            for name, args in _KERNEL.findall(visible)
        }
        if not kernels:
            raise EmulatorError('no extern "C" __global__ kernel in the module')
        synced = any(s in code for s in _SYNC)
        wrappers = []
        for name, params in kernels.items():
            unpack = ", ".join(
                f"*reinterpret_cast<decltype(emu_arg<{i}>(&{name}))*>(a[{i}])"
                for i in range(len(params))
            )
            wrappers.append(
                f"static void emu_body_{name}(void** a) {{ {name}({unpack}); }}\n"
                f'extern "C" int emu_launch_{name}(unsigned gx, unsigned gy, unsigned gz, '
                "unsigned bx, unsigned by, unsigned bz, void** a) {\n"
                f"    return emu::launch({{gx, gy, gz}}, {{bx, by, bz}}, {int(synced)}, "
                f"emu_body_{name}, a);\n}}\n"
            )
        src = _PRELUDE + f'#line 1 "module.cu"\n{code}\n' + _ARG_TYPES + "".join(wrappers)
        self.lib = ctypes.CDLL(str(_build(src)))
        self.kernels = {n: Kernel(self.lib, n, p, synced) for n, p in kernels.items()}

    def get_function(self, name: str) -> Kernel:
        if name not in self.kernels:
            raise EmulatorError(f"no kernel {name!r} in the module")
        return self.kernels[name]


# The i-th parameter type of a kernel, with const and references dropped.
_ARG_TYPES = r"""
#include <tuple>
#include <type_traits>
template <int I, class... A> auto emu_arg(void (*)(A...))
    -> std::remove_cv_t<std::tuple_element_t<I, std::tuple<A...>>>;
"""


def _preprocess(code: str) -> str:
    """The module as the compiler sees it after #define / #if (no line markers)."""
    proc = subprocess.run(
        [CXX, "-E", "-P", "-x", "c++", "-"], input=code, capture_output=True, text=True
    )
    if proc.returncode != 0:
        raise EmulatorError("the module does not preprocess:\n" + proc.stderr[-3000:])
    return proc.stdout


def _build(src: str) -> Path:
    """Compile once per source text into a cache folder; the shared library's path."""
    tag = hashlib.sha256(src.encode()).hexdigest()[:20]
    folder = Path(
        os.environ.get(
            "ADAMBENCH_EMULATOR_CACHE",
            Path(tempfile.gettempdir()) / f"adambench-cuda-emulator-{os.getuid()}",
        )
    )
    folder.mkdir(parents=True, exist_ok=True)
    lib = folder / f"m{tag}.so"
    if not lib.exists():
        cpp = folder / f"m{tag}.{os.getpid()}.cpp"
        cpp.write_text(src)
        tmp = folder / f"m{tag}.{os.getpid()}.so"
        proc = subprocess.run(
            [
                CXX,
                "-std=c++17",
                "-O1",
                "-ffp-contract=off",
                "-fno-fast-math",
                "-shared",
                "-fPIC",
                "-w",
                "-o",
                str(tmp),
                str(cpp),
            ],
            capture_output=True,
            text=True,
        )
        cpp.unlink()
        if proc.returncode != 0:
            raise EmulatorError("the module does not compile on the host:\n" + proc.stderr[-3000:])
        os.replace(tmp, lib)
    return lib
