"""The GPU regret engine (problems/online/engine_cuda.py) against the numba engine.

``engine.run(..., backend="cupy")`` must equal the CPU engine to float tolerance (the
warp reductions add in another order) for every family, projection and rule:

* on a device (``backend`` = cupy, marker ``gpu``), and
* on the host CUDA emulator (``backend`` = emulated: the engine's CUDA module compiled
  for the host, 32-lane warps in lock step, so the lane split, the shuffles, the stream
  hash, every sampler and loss, the update dispatch, the projections and the statistics
  are all checked on a machine without a GPU; shorter horizons, as it is slow).
"""

from __future__ import annotations

import sys

import numpy as np
import pytest

from adambench.core.kernels_cuda import NVRTC_OPTIONS
from adambench.core.registry import RULES
from adambench.engines.regret import cuda as engine_cuda
from adambench.engines.regret import engine
from adambench.engines.regret.engine import RunPoint
from adambench.problems.online.registry import make_problem

ALL = [RunPoint(name, {"lr": 0.05, "lr_schedule": "inv_sqrt"}) for name in RULES]
ALL[3] = RunPoint("rmsprop-momentum", {"lr": 0.01, "centered": True})
ALL.append(RunPoint("sgd", {"lr": 0.02, "momentum": 0.9}))
ALL.append(RunPoint("amsgrad", {"lr": 0.05, "bias_correction": True, "eps": 1e-8}))

# (problem, options, projection): every family, every projection kind.
PROBLEMS = [
    ("logistic", {"dim": 5}, "weighted"),
    ("sparse-logistic", {"dim": 20}, "weighted"),
    ("reddi", {}, "weighted"),
    ("reddi-synthetic", {}, "weighted"),
    ("reddi-stochastic", {}, "weighted"),
    ("linear", {"dim": 4, "feasible": "ball"}, "weighted"),
    ("linear", {"dim": 4, "feasible": "ball"}, "euclidean"),
    ("least-squares", {"dim": 3}, "weighted"),
    ("hinge", {"dim": 6}, "weighted"),
    ("logistic", {"dim": 70}, "weighted"),  # 3 coordinates per lane, a part-filled last row
    ("linear", {"dim": 33, "feasible": "ball"}, "euclidean"),
]
IDS = [f"{p}{o.get('dim', '')}-{o.get('feasible', '')}{pr}" for p, o, pr in PROBLEMS]
T = 2500
T_EMULATED = 500


def _compare(cpu, other, rtol):
    np.testing.assert_array_equal(cpu.diverged, other.diverged)
    np.testing.assert_allclose(other.cum_loss, cpu.cum_loss, rtol=rtol, atol=rtol)
    np.testing.assert_allclose(other.regret, cpu.regret, rtol=rtol, atol=rtol * 10)
    np.testing.assert_allclose(other.x_final, cpu.x_final, rtol=rtol, atol=rtol)
    for k, v in cpu.stats.items():
        np.testing.assert_allclose(other.stats[k], v, rtol=rtol, atol=rtol, err_msg=k)


def test_engine_on_emulator_float32_and_mixed_blocks(emulated_cupy):
    prob = make_problem("sparse-logistic", dim=40)
    kw = dict(dtype="float32", block=300)
    cpu = engine.run(prob, ALL, [1, 2, 5], 700, **kw)
    other = engine.run(prob, ALL, [1, 2, 5], 700, backend="cupy", comparator=cpu.comparator, **kw)
    _compare(cpu, other, 1e-5)


def test_emulator_check_sees_a_wrong_stream(emulated_cupy, monkeypatch):
    """The comparison is sharp: a GPU stream keyed off by one step is caught."""
    prob = make_problem("logistic", dim=4)
    pts = [RunPoint("adam", {"lr": 0.05})]
    cpu = engine.run(prob, pts, [0], 300)
    real = engine_cuda.DeviceBlocks.run
    monkeypatch.setattr(engine_cuda.DeviceBlocks, "run",
                        lambda self, t0, tab, pj: real(self, t0 + 1, tab, pj))  # fmt: skip
    other = engine.run(prob, pts, [0], 300, backend="cupy", comparator=cpu.comparator)
    with pytest.raises(AssertionError):
        _compare(cpu, other, 1e-6)


def test_engine_rejects_unknown_backend():
    with pytest.raises(ValueError, match="backend must be numpy | cupy"):
        engine.run(make_problem("reddi"), ALL[:1], [0], 10, backend="jax")


@pytest.mark.parametrize(("name", "opts", "projection"), PROBLEMS, ids=IDS)
def test_regret_run_on_backend_matches_cpu(backend, name, opts, projection):
    """The same configuration on each backend: same data, results equal to float tolerance."""
    prob = make_problem(name, **opts)
    steps = T_EMULATED if getattr(sys.modules.get("cupy"), "EMULATED", False) else T
    cpu = engine.run(prob, ALL, [0, 3], steps, projection=projection)
    other = engine.run(prob, ALL, [0, 3], steps, projection=projection, backend=backend,
                       comparator=cpu.comparator)  # fmt: skip
    _compare(cpu, other, 1e-8)


@pytest.mark.parametrize(("name", "opts", "projection"), PROBLEMS, ids=IDS)
def test_engine_source_compiles_with_nvrtc(name, opts, projection):
    """Every family's engine module compiles for sm_90 without a device, where NVRTC loads."""
    nvrtc = pytest.importorskip("cupy_backends.cuda.libs.nvrtc")
    try:
        nvrtc.getVersion()
    except Exception as e:  # noqa: BLE001 - no libnvrtc here
        pytest.skip(f"NVRTC not loadable: {e}")
    prob = make_problem(name, **opts)
    for dt in ("float32", "float64"):
        src = engine_cuda.engine_source(dt, prob.family, prob.d, prob.nnz)
        prog = nvrtc.createProgram(src, "e.cu", [], [])
        try:
            nvrtc.compileProgram(prog, ["-arch=compute_90", *NVRTC_OPTIONS])
        except Exception:  # noqa: BLE001 - show the compiler's log
            pytest.fail(nvrtc.getProgramLog(prog))


@pytest.mark.parametrize(
    ("name", "opts"),
    [("linear", {"dim": 7}), ("linear", {"dim": 40, "feasible": "ball"}), ("reddi-stochastic", {})],
    ids=["linear7-box", "linear40-ball", "reddi-stochastic"],
)
def test_linear_comparator_on_backend_matches_cpu(backend, name, opts):
    """The linear comparator's pass (sums of a_t up to each checkpoint) on the backend."""
    from adambench.problems.online import comparator

    prob = make_problem(name, **opts)
    ends = engine.checkpoints(3000, 5)
    seeds = [0, 4, 9]
    cpu = comparator.compute(prob, seeds, ends)
    device_sums = engine_cuda.stream_sums if backend == "cupy" else None
    other = comparator.compute(prob, seeds, ends, device_sums=device_sums)
    scale = np.abs(cpu.value).max()
    np.testing.assert_allclose(other.value, cpu.value, rtol=1e-12, atol=1e-12 * scale)
    np.testing.assert_allclose(other.argmin, cpu.argmin, rtol=1e-12, atol=1e-12)
    sums = comparator.stream_sums(prob, seeds, ends)
    if backend == "cupy":
        np.testing.assert_allclose(engine_cuda.stream_sums(prob, seeds, ends), sums,
                                   rtol=1e-12, atol=1e-11 * np.abs(sums).max())  # fmt: skip
    # the running sums are newton_pass's gradient sums, bit for bit
    S, K, d = sums.shape
    grad = comparator._pass(prob, seeds, ends, np.ones((S, K), bool), np.zeros((S, K, d)))[1]
    np.testing.assert_array_equal(sums, grad)
