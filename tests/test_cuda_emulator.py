"""The host CUDA emulator (tests/emulated_cuda) that the ``emulated`` test cases run on.

It stands in for a device only if it fails where a device would misbehave: these tests
show that it computes warp intrinsics as CUDA defines them, and that it refuses (with an
``EmulatorError``) divergent or partial-warp shuffles, wrong argument types, counts and
layouts, impossible launch shapes, and implicit device-to-host conversions.  Where the
real CuPy imports, the emulated interface is checked to exist there too.
"""

from __future__ import annotations

import importlib
import importlib.util
import inspect
from pathlib import Path

import numpy as np
import pytest

WARP_SRC = r"""
#define FULL 0xffffffffu
extern "C" __global__ void warp_ops(const double* __restrict__ x, double* out, int* anyv,
                                    const int n) {
    const int i = blockIdx.x * blockDim.x + threadIdx.x;
    double v = i < n ? x[i] : 0.0;
    double s = v;
    for (int off = 16; off >= 1; off >>= 1) s += __shfl_xor_sync(FULL, s, off);
    const double first = __shfl_sync(FULL, v, 0);
    const int any = __any_sync(FULL, v > 100.0);
    if (i < n) { out[2 * i] = s; out[2 * i + 1] = first; anyv[i] = any; }
}
extern "C" __global__ void divergent(double* x) {
    double v = x[threadIdx.x];
    if (threadIdx.x % 2) v = __shfl_xor_sync(FULL, v, 1);
    else v = __shfl_xor_sync(FULL, v, 1);
    x[threadIdx.x] = v;
}
extern "C" __global__ void early_exit(double* x, const int live) {
    if ((int)threadIdx.x >= live) return;
    x[threadIdx.x] = __shfl_xor_sync(FULL, x[threadIdx.x], 1);
}
extern "C" __global__ void scale(float* x, const float a, const long long n) {
    const long long j = (long long)blockIdx.x * blockDim.x + threadIdx.x;
    if (j < n) x[j] *= a;
}
"""


@pytest.fixture
def emu(emulated_cupy):
    from cupy._emulator import EmulatorError

    return emulated_cupy, EmulatorError, emulated_cupy.RawModule(code=WARP_SRC)


def test_warp_intrinsics_follow_cuda(emu):
    cp, _, mod = emu
    n = 80  # two full warps and a part-filled third (its tail lanes hold zeros)
    x = np.arange(n, dtype=np.float64) + 0.25  # all below 100...
    x[37] = 500.0  # ...but one: only warp 1 has a value above 100
    out, anyv = cp.zeros(2 * 96), cp.zeros(96, dtype=cp.int32)
    mod.get_function("warp_ops")((3,), (32,), (cp.asarray(x), out, anyv, np.int32(n)))
    got = out.get().reshape(-1, 2)[:n]
    pad = np.concatenate([x, np.zeros(96 - n)]).reshape(3, 32)
    np.testing.assert_array_equal(got[:, 0], np.repeat(pad.sum(axis=1), 32)[:n])
    np.testing.assert_array_equal(got[:, 1], np.repeat(pad[:, 0], 32)[:n])
    np.testing.assert_array_equal(anyv.get()[:n], np.repeat([0, 1, 0], 32)[:n])


def test_divergent_shuffle_is_an_error(emu):
    cp, err, mod = emu
    with pytest.raises(err, match="divergent warp-synchronous calls"):
        mod.get_function("divergent")((1,), (32,), (cp.zeros(32),))


@pytest.mark.parametrize("live", [31, 16])
def test_shuffle_after_lanes_returned_is_an_error(emu, live):
    cp, err, mod = emu
    with pytest.raises(err, match=f"with {32 - live} inactive lanes"):
        mod.get_function("early_exit")((1,), (32,), (cp.zeros(32), np.int32(live)))
    mod.get_function("early_exit")((1,), (32,), (cp.zeros(32), np.int32(32)))  # all: fine


def test_partial_warp_block_cannot_shuffle(emu):
    cp, err, mod = emu
    with pytest.raises(err, match="inactive lanes"):
        mod.get_function("early_exit")((1,), (16,), (cp.zeros(32), np.int32(16)))


def test_arguments_are_checked_as_a_device_needs_them(emu):
    cp, err, mod = emu
    k = mod.get_function("scale")
    x = cp.ones(100, dtype=cp.float32)
    k((1,), (128,), (x, np.float32(3.0), np.int64(100)))
    np.testing.assert_array_equal(x.get(), 3.0)
    bad = {
        "is float32 \\*, got a float64 array": (cp.ones(100), np.float32(1), np.int64(100)),
        "not C-contiguous": (cp.ones(200, dtype=cp.float32)[::2], np.float32(1), np.int64(100)),
        "needs a device array": (np.ones(100, np.float32), np.float32(1), np.int64(100)),
        "is a C float32, got 2.0": (x, 2.0, np.int64(100)),
        "is a C int64": (x, np.float32(1), np.int32(100)),
        "takes 3 arguments, got 2": (x, np.float32(1)),
    }
    for msg, args in bad.items():
        with pytest.raises(err, match=msg):
            k((1,), (128,), args)
    for grid, block in (((1,), (2048,)), ((0,), (32,)), ((1, 70000), (32,))):
        with pytest.raises(err, match="invalid"):
            k(grid, block, (x, np.float32(1), np.int64(100)))


def test_source_that_does_not_compile_is_an_error(emu):
    cp, err, _ = emu
    mod = cp.RawModule(code='extern "C" __global__ void f(float* x) { x[0] = undefined_name; }')
    with pytest.raises(err, match="does not compile"):
        mod.get_function("f")


def test_arrays_follow_cupys_host_boundary(emulated_cupy):
    cp = emulated_cupy
    x = cp.arange(4, dtype=cp.float64)
    with pytest.raises(TypeError, match="Implicit conversion to a NumPy array"):
        np.asarray(x)
    with pytest.raises(TypeError, match="NumPy array where a cupy array"):
        x + np.ones(4)
    y = cp.sqrt(x * 2.0 + 1.0)
    assert type(y) is cp.ndarray and type(y.get()) is np.ndarray
    np.testing.assert_allclose(y.get(), np.sqrt(np.arange(4) * 2.0 + 1.0))
    assert float(x.sum()) == 6.0


def test_only_the_allowed_numpy_names_are_forwarded(emulated_cupy):
    """A NumPy function CuPy lacks (``numpy.asmatrix``: CuPy has no matrix class) is an
    AttributeError, not a silent NumPy call; the allow-listed ones work on device arrays."""
    from cupy._forwarded import FORWARDED

    cp = emulated_cupy
    assert hasattr(np, "asmatrix") and "asmatrix" not in FORWARDED
    with pytest.raises(AttributeError, match="no attribute 'asmatrix'"):
        cp.asmatrix  # noqa: B018 - the attribute access is the test
    assert not hasattr(cp, "asmatrix")
    z = cp.zeros_like(cp.ones(3))
    assert type(z) is cp.ndarray and float(z.sum()) == 0.0


def test_emulated_names_exist_in_real_cupy():
    """Every CuPy name the emulator offers (and adambench calls) exists in the real CuPy."""
    try:
        real = importlib.import_module("cupy")
    except ImportError:
        pytest.skip("the real cupy is not installed here")
    if getattr(real, "EMULATED", False):
        pytest.skip("cupy is the emulator in this process")
    profiler = importlib.import_module("cupyx.profiler")
    for path in ("RawModule", "RawKernel", "asarray", "ascontiguousarray", "get_array_module",
                 "get_default_memory_pool", "random.default_rng", "cuda.runtime.getDeviceCount",
                 "cuda.runtime.getDeviceProperties", "cuda.runtime.memGetInfo",
                 "cuda.runtime.driverGetVersion", "cuda.runtime.runtimeGetVersion",
                 "cuda.MemoryPointer.copy_from_device_async", "ndarray.get",
                 *sorted(_forwarded_names())):  # fmt: skip
        obj = real
        for part in path.split("."):
            obj = getattr(obj, part)
    params = inspect.signature(profiler.benchmark).parameters
    assert {"func", "args", "n_repeat", "n_warmup"} <= set(params)


def _forwarded_names() -> frozenset[str]:
    """The emulator's allow-list of NumPy names, read without importing the emulated cupy."""
    path = Path(__file__).with_name("emulated_cuda") / "cupy" / "_forwarded.py"
    spec = importlib.util.spec_from_file_location("_emulated_cupy_forwarded", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.FORWARDED


def test_kernels_behind_a_false_if_do_not_exist(emulated_cupy):
    from cupy._emulator import EmulatorError

    src = (
        '#define ON 0\n#if ON\nextern "C" __global__ void hidden(float* x) { x[0] = 1; }\n#endif\n'
    )
    src += 'extern "C" __global__ void shown(float* x) { x[0] = 2; }\n'
    mod = emulated_cupy.RawModule(code=src)
    x = emulated_cupy.zeros(1, dtype=emulated_cupy.float32)
    mod.get_function("shown")((1,), (1,), (x,))
    assert float(x[0]) == 2.0
    with pytest.raises(EmulatorError, match="no kernel 'hidden'"):
        mod.get_function("hidden")


HALF_SRC = r"""
#include <cuda_fp16.h>
#include <cuda_bf16.h>
typedef __half H;
extern "C" __global__ void widen(const H* h, const __nv_bfloat16* b, float* fh, float* fb,
                                 const long long n) {
    const long long j = (long long)blockIdx.x * blockDim.x + threadIdx.x;
    if (j < n) { fh[j] = __half2float(h[j]); fb[j] = __bfloat162float(b[j]); }
}
extern "C" __global__ void narrow(const float* x, H* h, __nv_bfloat16* b, const long long n) {
    const long long j = (long long)blockIdx.x * blockDim.x + threadIdx.x;
    if (j < n) { h[j] = __float2half_rn(x[j]); b[j] = __float2bfloat16_rn(x[j]); }
}
"""


def _run(mod, name, n, *arrays):
    mod.get_function(name)(((n + 255) // 256,), (256,), (*arrays, np.int64(n)))


def test_16_bit_types_widen_exactly(emulated_cupy):
    """All 65536 patterns of __half and __nv_bfloat16 widen as numpy / ml_dtypes do,
    NaN payloads included."""
    import ml_dtypes

    cp, mod = emulated_cupy, emulated_cupy.RawModule(code=HALF_SRC)
    bits = np.arange(65536, dtype=np.uint16)
    fh, fb = cp.zeros(65536, np.float32), cp.zeros(65536, np.float32)
    h, b = bits.view(np.float16), bits.view(ml_dtypes.bfloat16)
    _run(mod, "widen", 65536, cp.asarray(h), cp.asarray(b), fh, fb)
    np.testing.assert_array_equal(fh.get().view(np.uint32), h.astype(np.float32).view(np.uint32))
    np.testing.assert_array_equal(fb.get().view(np.uint32), b.astype(np.float32).view(np.uint32))


def test_16_bit_types_round_to_nearest_even(emulated_cupy):
    """float32 -> __half / __nv_bfloat16 rounds as astype for every non-NaN value of a
    large sample (random patterns, ties, the overflow and subnormal boundaries); a NaN
    becomes the device's canonical NaN 0x7fff."""
    import ml_dtypes

    cp, mod = emulated_cupy, emulated_cupy.RawModule(code=HALF_SRC)
    rng = np.random.default_rng(0)
    patterns = [rng.integers(0, 2**32, 1 << 20, dtype=np.uint64).astype(np.uint32)]
    low = np.arange(0, 2**16, dtype=np.uint32)  # bit patterns near each boundary below
    for edge in (0x477FE000, 0x477FF000, 0x38800000, 0x33000000, 0x3F808000, 0x7F7F8000):
        patterns.append(edge - 2**15 + low)
    x = np.concatenate(patterns).view(np.float32)
    x = np.concatenate([x, -x])
    n = x.size
    h, b = cp.zeros(n, np.float16), cp.zeros(n, ml_dtypes.bfloat16)
    _run(mod, "narrow", n, cp.asarray(x), h, b)
    nan = np.isnan(x)
    with np.errstate(over="ignore", invalid="ignore"):
        want_h, want_b = x.astype(np.float16), x.astype(ml_dtypes.bfloat16)
    got_h, got_b = h.get().view(np.uint16), b.get().view(np.uint16)
    np.testing.assert_array_equal(got_h[~nan], want_h.view(np.uint16)[~nan])
    np.testing.assert_array_equal(got_b[~nan], want_b.view(np.uint16)[~nan])
    assert nan.any() and (got_h[nan] == 0x7FFF).all() and (got_b[nan] == 0x7FFF).all()


def test_16_bit_arguments_are_checked(emulated_cupy):
    from cupy._emulator import EmulatorError

    cp, mod = emulated_cupy, emulated_cupy.RawModule(code=HALF_SRC)
    f = cp.zeros(4, np.float32)
    with pytest.raises(EmulatorError, match="h is float16 \\*, got a float32 array"):
        _run(mod, "widen", 4, f, f, f, f)
