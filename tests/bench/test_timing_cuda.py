"""The CUDA bench (analysis/timing_cuda.py): roofline kernels compile; on a device they
leave the kernel's arrays unchanged, and the timing harness returns per-round samples."""

from __future__ import annotations

import numpy as np
import pytest

from adambench.bench import cuda as timing_cuda
from adambench.bench import roofline
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
    lanes = 4 if dtype == "float32" else 2  # one multiply-add per written array and lane
    assert src.count("c0 * ") == writes * (1 + lanes)
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


def _adam_group(config_torch: bool = True):
    from adambench.bench.config import BenchConfig, Case

    case = Case("adam", "adam")
    config = BenchConfig([case], [2000], ["float32"], [1], repeats=3, backend="cupy",
                         torch=config_torch)  # fmt: skip
    return timing_cuda.run_group(case, 2000, "float32", config, timing_cuda.DeviceArrays(0), 1.0)


def test_run_group_rows_and_torch_peers_on_emulator(emulated_cupy, monkeypatch):
    """A device group: rows per implementation, torch.optim variants on the device's arrays
    (torch reads the emulated device memory over DLPack, as it reads CuPy's on CUDA)."""
    torch = pytest.importorskip("torch")
    rows, record = _adam_group()
    assert {r["impl"] for r in rows} == {"adambench", "cupy-textbook"}
    assert record["missing_peers"] == {"torch": "torch has no CUDA device (a CPU-only build?)"}
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    rows, record = _adam_group()
    impls = {r["impl"]: r for r in rows}
    assert set(impls) == {"adambench", "cupy-textbook", "torch", "torch-foreach", "torch-fused"}
    assert impls["torch-fused"]["note"] == "torch.optim.Adam(fused=True) on CUDA"
    for r in rows:
        assert r["backend"] == "cupy" and r["clock"] == "cuda-event" and r["median_s"] > 0
        assert r["fraction_of_copy"] > 0 and r["ratio_to_adambench"] > 0
    assert record["pattern"] == "r4w3" and record["gbps"] > 0
