"""The GPU regret engine (problems/online/engine_cuda.py) against the numba engine.

* Without a device: the CUDA kernel compiled for the host with a one-lane "warp"
  (``host_engine_source``) stands in for ``DeviceBlocks`` inside ``engine.run``, so the
  stream hash, every sampler and loss, the update dispatch, all three projections and the
  statistics are checked against the CPU engine here.
* With a device (``backend`` = cupy, marker ``gpu``): ``engine.run(..., backend="cupy")``
  equals the CPU engine to float tolerance (the warp reductions add in another order).
"""

from __future__ import annotations

import ctypes
import shutil
import subprocess

import numpy as np
import pytest

from adambench.core.kernels_cuda import NVRTC_OPTIONS
from adambench.core.rules import RULES
from adambench.problems.online import engine, engine_cuda
from adambench.problems.online.engine import RunPoint
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
]
IDS = [f"{p}-{o.get('feasible', '')}{pr}" for p, o, pr in PROBLEMS]
T = 2500


def _ptr(a: np.ndarray) -> ctypes.c_void_p:
    assert a.flags.c_contiguous
    return a.ctypes.data_as(ctypes.c_void_p)


class HostBlocks:
    """``DeviceBlocks``' interface over the host-compiled kernel (arrays updated in place)."""

    lib_dir = None
    cache: dict = {}

    def __init__(self, problem, keys, prm, host):
        self.problem, self.host = problem, host
        self.keys = np.ascontiguousarray(keys, np.uint64)
        self.prm = np.ascontiguousarray(prm, np.float64)
        dt = host["x"].dtype.name
        spec = (dt, problem.family, problem.d, problem.nnz)
        if spec not in self.cache:
            src = self.lib_dir / ("eng_{}_{}_{}_{}.cpp".format(*spec))
            lib = src.with_suffix(".so")
            src.write_text(engine_cuda.host_engine_source(*spec))
            subprocess.run(
                [CXX, "-O1", "-ffp-contract=off", "-shared", "-fPIC", "-o", str(lib), str(src)],
                check=True, capture_output=True,
            )  # fmt: skip
            self.cache[spec] = ctypes.CDLL(str(lib)).host_run_block
        self.fn = self.cache[spec]

    def run(self, t0, table, proj):
        h = self.host
        table = np.ascontiguousarray(table)
        n, P, kmax = table.shape
        i32, i64 = ctypes.c_int, ctypes.c_longlong
        self.fn(
            i32(self.problem.loss), _ptr(self.keys), _ptr(self.prm), i32(self.prm.shape[1]),
            i64(t0), i32(n), _ptr(h["run_seed"]), _ptr(h["run_point"]), _ptr(h["kinds"]),
            _ptr(table), i32(P), i32(kmax), _ptr(h["x"]), _ptr(h["s0"]), _ptr(h["s1"]),
            _ptr(h["s2"]), i32(proj), ctypes.c_double(self.problem.radius),
            _ptr(h["loss_sum"]), _ptr(h["loss_comp"]), _ptr(h["gsq"]), _ptr(h["gmax2"]),
            _ptr(h["gmaxinf"]), _ptr(h["xmin"]), _ptr(h["xmax"]), _ptr(h["ams_acc"]),
            _ptr(h["diverged"]), i32(len(h["x"])),
        )  # fmt: skip

    def download(self):
        pass


CXX = shutil.which("g++") or shutil.which("clang++")


@pytest.fixture
def host_engine(monkeypatch, tmp_path_factory):
    if CXX is None:
        pytest.skip("no C++ compiler to check the CUDA engine on the host")
    if HostBlocks.lib_dir is None:
        HostBlocks.lib_dir = tmp_path_factory.mktemp("engine_host")
    monkeypatch.setattr(engine_cuda, "DeviceBlocks", HostBlocks)


def _compare(cpu, other, rtol):
    np.testing.assert_array_equal(cpu.diverged, other.diverged)
    np.testing.assert_allclose(other.cum_loss, cpu.cum_loss, rtol=rtol, atol=rtol)
    np.testing.assert_allclose(other.regret, cpu.regret, rtol=rtol, atol=rtol * 10)
    np.testing.assert_allclose(other.x_final, cpu.x_final, rtol=rtol, atol=rtol)
    for k, v in cpu.stats.items():
        np.testing.assert_allclose(other.stats[k], v, rtol=rtol, atol=rtol, err_msg=k)


@pytest.mark.parametrize(("name", "opts", "projection"), PROBLEMS, ids=IDS)
def test_cuda_engine_on_host_matches_cpu_engine(host_engine, name, opts, projection):
    prob = make_problem(name, **opts)
    cpu = engine.run(prob, ALL, [0, 3], T, projection=projection, block=700)
    other = engine.run(prob, ALL, [0, 3], T, projection=projection, block=700,
                       backend="cupy", comparator=cpu.comparator)  # fmt: skip
    assert np.isfinite(cpu.cum_loss).all()
    _compare(cpu, other, 1e-9)


def test_cuda_engine_on_host_float32_and_mixed_blocks(host_engine):
    prob = make_problem("sparse-logistic", dim=40)
    kw = dict(dtype="float32", block=300)
    cpu = engine.run(prob, ALL, [1, 2, 5], 3000, **kw)
    other = engine.run(prob, ALL, [1, 2, 5], 3000, backend="cupy", comparator=cpu.comparator, **kw)
    _compare(cpu, other, 1e-5)


def test_host_check_sees_a_wrong_stream(host_engine, monkeypatch):
    """The comparison is sharp: a GPU stream keyed off by one step is caught."""
    prob = make_problem("logistic", dim=4)
    pts = [RunPoint("adam", {"lr": 0.05})]
    cpu = engine.run(prob, pts, [0], 500)
    real = HostBlocks.run
    monkeypatch.setattr(HostBlocks, "run", lambda self, t0, tab, pj: real(self, t0 + 1, tab, pj))
    other = engine.run(prob, pts, [0], 500, backend="cupy", comparator=cpu.comparator)
    with pytest.raises(AssertionError):
        _compare(cpu, other, 1e-6)


def test_engine_rejects_unknown_backend():
    with pytest.raises(ValueError, match="backend must be numpy | cupy"):
        engine.run(make_problem("reddi"), ALL[:1], [0], 10, backend="jax")


@pytest.mark.parametrize(("name", "opts", "projection"), PROBLEMS, ids=IDS)
def test_regret_run_on_backend_matches_cpu(backend, name, opts, projection):
    """The same configuration on each backend: same data, results equal to float tolerance."""
    prob = make_problem(name, **opts)
    cpu = engine.run(prob, ALL, [0, 3], T, projection=projection)
    other = engine.run(prob, ALL, [0, 3], T, projection=projection, backend=backend,
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
