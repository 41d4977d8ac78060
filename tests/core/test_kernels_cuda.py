"""The CuPy kernels (core/kernels_cuda.py) against the numba kernels and the references.

Three layers, so that most of it runs without a GPU:

* the CUDA step bodies, compiled as plain C++ by the host compiler (``host_source``),
  must agree with ``kernels_cpu.apply`` for every rule and option, both dtypes, (d,) and
  (B, d) shapes with per-run coefficient rows: this checks the transcription of every
  loop body (operation order, the ``max(denom, tiny)`` and ``if denom > 0`` conventions);
* the CUDA module compiles with NVRTC, where NVRTC is importable (no device needed);
* on a device (``backend`` = cupy, marker ``gpu``): ``opt.step`` on CuPy arrays equals
  the NumPy backend's step, and both follow the float64 reference.
"""

from __future__ import annotations

import ctypes
import shutil
import subprocess

import numpy as np
import pytest
from test_kernels import CASE_IDS, CASES, DTYPES, gradients, per_run, run_both

from adambench import make_optimizer
from adambench.core import kernels_cpu, kernels_cuda
from adambench.core.rules import RULES

SHAPES = [(1,), (257,), (3, 1), (4, 131)]
STEPS = 25


@pytest.fixture(scope="module")
def host_lib(tmp_path_factory):
    """The step bodies compiled for the host: {dtype: ctypes library}."""
    cxx = shutil.which("g++") or shutil.which("clang++")
    if cxx is None:
        pytest.skip("no C++ compiler to check the CUDA step bodies on the host")
    libs = {}
    for dt in ("float32", "float64"):
        d = tmp_path_factory.mktemp(f"host_{dt}")
        src, lib = d / "k.cpp", d / "k.so"
        src.write_text(kernels_cuda.host_source(dt))
        # -ffp-contract=off: no FMA contraction, like NVRTC's --fmad=false and numba.
        subprocess.run(
            [cxx, "-O2", "-ffp-contract=off", "-shared", "-fPIC", "-o", str(lib), str(src)],
            check=True,
            capture_output=True,
        )
        libs[np.dtype(dt)] = ctypes.CDLL(str(lib))
    return libs


def _host_apply(lib, kernel, p, g, buffers, coef):
    nst = kernels_cuda.nstates_used(kernel, buffers)
    s = list(buffers) + [p] * (3 - nst)
    fn = getattr(lib, "host_" + kernels_cuda.kernel_name(kernel, nst))
    ptr = [a.ctypes.data_as(ctypes.c_void_p) for a in (p, g, *s, coef)]
    fn(*ptr, ctypes.c_longlong(p.size), ctypes.c_longlong(p.shape[-1]),
       ctypes.c_int(int(coef.shape[0] > 1)), ctypes.c_int(coef.shape[1]))  # fmt: skip


@pytest.mark.parametrize("dtype", DTYPES, ids=["f64", "f32"])
@pytest.mark.parametrize("shape", SHAPES, ids=lambda s: "x".join(map(str, s)))
@pytest.mark.parametrize(("name", "hp"), CASES, ids=CASE_IDS)
def test_cuda_bodies_match_numba_on_host(host_lib, name, hp, shape, dtype):
    """Same inputs, same coefficient rows: the C++ bodies and numba agree bit for bit."""
    if len(shape) == 2:
        hp = per_run(name, hp, shape[0])
    opt = make_optimizer(name, **hp)
    rng = np.random.default_rng(1)
    p_cpu = rng.standard_normal(shape).astype(dtype).reshape(-1, shape[-1])
    p_host = p_cpu.copy()
    st_cpu, st_host = opt.init(p_cpu), opt.init(p_host)
    names = opt.rule.buffers(opt.hp)
    grads = gradients(rng, STEPS, p_cpu.shape, dtype)
    for t in range(STEPS):
        st_cpu.t = st_host.t = t + 1
        coef = np.ascontiguousarray(opt.rule.coefficients(opt.hp, t + 1), dtype)
        bc = [st_cpu.buffers[n] for n in names]
        bh = [st_host.buffers[n] for n in names]
        kernels_cpu.apply(opt.rule.kernel, p_cpu, grads[t], bc, coef)
        _host_apply(host_lib[np.dtype(dtype)], opt.rule.kernel, p_host, grads[t], bh, coef)
    assert np.isfinite(p_cpu).all()
    np.testing.assert_array_equal(p_host, p_cpu)
    for n in names:
        np.testing.assert_array_equal(st_host.buffers[n], st_cpu.buffers[n], err_msg=n)


def test_host_check_sees_a_changed_body(host_lib):
    """The host comparison is sharp: Adam's body with the bias factor dropped differs."""
    body = kernels_cuda.STEP_BODIES["adam"]
    assert "sqrt(vj) * isb" in body.code  # the line the mutation below removes
    opt = make_optimizer("adam")
    p = np.linspace(-1, 1, 64)
    coef = opt.rule.coefficients(opt.hp, 3)
    mutated = coef.copy()
    mutated[:, 5] = 1.0  # what dropping "* isb" computes
    out = []
    for c in (coef, mutated):
        q, m, v = p.copy().reshape(1, -1), np.full((1, 64), 0.1), np.full((1, 64), 0.01)
        _host_apply(host_lib[np.dtype(np.float64)], "adam", q, q * 0.5, [m, v], c)
        out.append(q)
    assert np.abs(out[0] - out[1]).max() > 1e-6


def test_every_kernel_and_state_count_has_a_variant():
    for rule in RULES.values():
        for hp in ({}, {"momentum": 0.9}, {"centered": True}):
            try:
                full = rule.validate(hp)
            except ValueError:
                continue
            n = len(rule.buffers(full))
            assert (rule.kernel, n) in kernels_cuda._variants()
            name = kernels_cuda.kernel_name(rule.kernel, n)
            assert f'extern "C" __global__ void {name}(' in kernels_cuda.cuda_source("float32")
    with pytest.raises(ValueError, match="no 2 state arrays"):
        kernels_cuda.nstates_used("adagrad", [1, 2])


def test_cuda_source_compiles_with_nvrtc():
    """The module compiles for sm_90 (H100/H200) without a device, where NVRTC loads."""
    nvrtc = pytest.importorskip("cupy_backends.cuda.libs.nvrtc")
    try:
        nvrtc.getVersion()
    except Exception as e:  # noqa: BLE001 - no libnvrtc: nothing to check here
        pytest.skip(f"NVRTC not loadable: {e}")
    for dt in ("float32", "float64"):
        prog = nvrtc.createProgram(kernels_cuda.cuda_source(dt), "k.cu", [], [])
        try:
            nvrtc.compileProgram(prog, ["-arch=compute_90", *kernels_cuda.NVRTC_OPTIONS])
        except Exception:  # noqa: BLE001 - show the compiler's log, not the wrapper
            pytest.fail(nvrtc.getProgramLog(prog))
        ptx = nvrtc.getPTX(prog).decode()
        assert ptx.count(".entry") == len(kernels_cuda._variants())
        assert "fma.rn" not in ptx  # --fmad=false: the same roundings as the CPU


@pytest.mark.parametrize("dtype", DTYPES, ids=["f64", "f32"])
@pytest.mark.parametrize("shape", [(1000,), (4, 513)], ids=["1000", "4x513"])
@pytest.mark.parametrize(("name", "hp"), CASES, ids=CASE_IDS)
def test_step_on_backend_matches_numpy(backend, xp, name, hp, shape, dtype):
    """``opt.step`` on the backend's arrays: equal to the NumPy backend, near the reference."""
    if len(shape) == 2:
        hp = per_run(name, hp, shape[0])
    pk, sk, pr, _sr, sum_p, sum_step = run_both(name, hp, shape, dtype, steps=STEPS)
    opt = make_optimizer(name, **hp)
    rng = np.random.default_rng(0)
    p0 = rng.standard_normal(shape).astype(dtype)  # run_both's draws, in its order
    grads = gradients(rng, STEPS, shape, dtype)
    p = xp.asarray(p0)
    state = opt.init(p)
    for t in range(STEPS):
        opt.step(p, xp.asarray(grads[t]), state)
    got = p.get() if hasattr(p, "get") else p
    # Same IEEE operations in the same order (no FMA): equal to the NumPy backend up to
    # the last bit of a correctly rounded sqrt/divide; allow a few ulps.
    rtol = 1e-13 if dtype == np.float64 else 2e-6
    np.testing.assert_allclose(got, pk, rtol=rtol, atol=rtol * np.abs(pk).max())
    for k, buf in state.buffers.items():
        host = buf.get() if hasattr(buf, "get") else buf
        np.testing.assert_allclose(host, sk.buffers[k], rtol=rtol, atol=0, err_msg=k)
    # and the backend follows the float64 reference as the CPU kernel does
    tol = 1e-10 * (np.abs(pr).max() + 1) if dtype == np.float64 else 1e-6 * sum_p + 1e-5 * sum_step
    assert (np.abs(got - pr) <= tol).all()
