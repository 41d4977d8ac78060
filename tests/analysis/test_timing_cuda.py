"""The CUDA bench (analysis/timing_cuda.py): roofline kernels compile; on a device they
leave the kernel's arrays unchanged, and the timing harness returns per-round samples."""

from __future__ import annotations

import numpy as np
import pytest

from adambench.analysis import roofline, timing_cuda
from adambench.core.kernels_cuda import NVRTC_OPTIONS


def _nvrtc():
    nvrtc = pytest.importorskip("cupy_backends.cuda.libs.nvrtc")
    try:
        nvrtc.getVersion()
    except Exception as e:  # noqa: BLE001 - no libnvrtc here
        pytest.skip(f"NVRTC not loadable: {e}")
    return nvrtc


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("writes", [1, 2, 3, 4])
def test_pattern_kernels_compile(dtype, writes):
    nvrtc = _nvrtc()
    src = timing_cuda._pattern_source(dtype, writes)
    assert src.count("c0 * ") == writes  # one multiply-add per written array
    prog = nvrtc.createProgram(src, "p.cu", [], [])
    try:
        nvrtc.compileProgram(prog, ["-arch=compute_90", *NVRTC_OPTIONS])
    except Exception:  # noqa: BLE001
        pytest.fail(nvrtc.getProgramLog(prog))


@pytest.mark.parametrize("writes", [1, 3, 4])
def test_pattern_kernel_leaves_arrays_and_times(device, writes):
    import cupy

    arrays = [cupy.arange(1000, dtype=cupy.float32) + k for k in range(writes + 1)]
    before = [a.get() for a in arrays]
    fn = timing_cuda.pattern_kernel(roofline.Pattern(writes + 1, writes), arrays)
    samples = timing_cuda.measure({"roof": fn}, 5)["roof"]
    assert samples.shape == (5,) and (samples > 0).all()
    for a, b in zip(arrays, before, strict=True):
        np.testing.assert_array_equal(a.get(), b)


def test_copy_bandwidth_is_positive(device):
    ref = timing_cuda.copy_bandwidth(10**6, "float32", 3)
    assert ref["copy_gbps"] > 0 and ref["copy_s"] > 0
