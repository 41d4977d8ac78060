"""The CuPy kernels (core/kernels_cuda.py) against the numba kernels and the references.

Three layers, so that most of it runs without a GPU:

* on the host CUDA emulator (``tests/emulated_cuda``: the CUDA source itself, compiled by
  the host compiler, no FMA contraction), ``kernels_cuda.apply`` must agree bit for bit
  with ``kernels_cpu.apply`` for every rule and option, both dtypes, (d,) and (B, d)
  shapes with per-run coefficient rows: this checks the transcription of every loop body
  (operation order, the ``denom < floor`` guard of docs/theory.md §6.2) and the
  launch (grid, argument types, per-run rows);
* the CUDA module compiles with NVRTC, where NVRTC is importable (no device needed);
* ``opt.step`` on the backend's arrays (real CuPy on a device, marker ``gpu``, and the
  emulated CuPy) equals the NumPy backend's step, and both follow the float64 reference.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from test_kernels import CASE_IDS, CASES, DTYPES, gradients, per_run, run_both

from adambench import make_optimizer
from adambench.core import kernels_cpu, kernels_cuda
from adambench.core.registry import RULES

# (257,): 16-byte vectors and a tail; (3, 64): vectors with per-run rows; (4, 131): per-run
# rows across vectors, so one element per thread
SHAPES = [(1,), (257,), (3, 1), (3, 64), (4, 131)]
STEPS = 25


@pytest.mark.parametrize("dtype", DTYPES, ids=["f64", "f32"])
@pytest.mark.parametrize("shape", SHAPES, ids=lambda s: "x".join(map(str, s)))
@pytest.mark.parametrize(("name", "hp"), CASES, ids=CASE_IDS)
def test_cuda_kernels_match_numba_on_emulator(emulated_cupy, name, hp, shape, dtype):
    """Same inputs, same coefficient rows: the CUDA kernels and numba agree bit for bit."""
    cp = emulated_cupy
    if len(shape) == 2:
        hp = per_run(name, hp, shape[0])
    opt = make_optimizer(name, **hp)
    rng = np.random.default_rng(1)
    p_cpu = rng.standard_normal(shape).astype(dtype).reshape(-1, shape[-1])
    p_dev = cp.asarray(p_cpu)
    st_cpu = opt.init(p_cpu)
    names = opt.rule.buffers(opt.hp)
    st_dev = {n: cp.asarray(st_cpu.buffers[n]) for n in names}
    grads = gradients(rng, STEPS, p_cpu.shape, dtype)
    for t in range(STEPS):
        coef = np.ascontiguousarray(opt.rule.coefficients(opt.hp, t + 1), dtype)
        kernels_cpu.apply(opt.rule.kernel, p_cpu, grads[t], [st_cpu.buffers[n] for n in names],
                          coef)  # fmt: skip
        kernels_cuda.apply(opt.rule.kernel, p_dev, cp.asarray(grads[t]),
                           [st_dev[n] for n in names], cp.asarray(coef))  # fmt: skip
    assert np.isfinite(p_cpu).all()
    np.testing.assert_array_equal(p_dev.get(), p_cpu)
    for n in names:
        np.testing.assert_array_equal(st_dev[n].get(), st_cpu.buffers[n], err_msg=n)


def _adam_steps(cp, steps=3):
    opt = make_optimizer("adam")
    p = cp.asarray(np.linspace(-1, 1, 64).reshape(1, -1))
    m, v = cp.full((1, 64), 0.1), cp.full((1, 64), 0.01)
    for t in range(1, steps + 1):
        coef = cp.asarray(opt.rule.coefficients(opt.hp, t))
        kernels_cuda.apply(opt.rule.kernel, p, p * 0.5, [m, v], coef)
    return p.get()


def test_emulator_check_sees_a_changed_body(emulated_cupy, monkeypatch):
    """The comparison is sharp: Adam's CUDA body with the bias factor dropped differs."""
    kernel = RULES["adam"].kernel
    assert "sqrt(vj) * isb" in kernel.cuda  # the factor the mutation below removes
    right = _adam_steps(emulated_cupy)
    mutated = dataclasses.replace(kernel, cuda=kernel.cuda.replace("sqrt(vj) * isb", "sqrt(vj)"))
    kernels = tuple(mutated if k is kernel else k for k in kernels_cuda.KERNELS)
    monkeypatch.setattr(kernels_cuda, "KERNELS", kernels)
    kernels_cuda._module.cache_clear()
    wrong = _adam_steps(emulated_cupy)
    kernels_cuda._module.cache_clear()
    assert np.abs(right - wrong).max() > 1e-6


def test_vector_kernels_only_where_vectors_fit(emulated_cupy):
    """16-byte vectors need 16-byte aligned arrays and, per run, rows of whole vectors; the
    one-element-per-thread kernel takes the rest, with the same numbers."""
    cp = emulated_cupy
    base = cp.zeros(1025, dtype=cp.float32)
    assert kernels_cuda.vector_width([base, base], 1025, False) == 4
    assert kernels_cuda.vector_width([base[1:], base[:-1]], 1024, False) == 1  # 4-byte offset
    assert kernels_cuda.vector_width([base[:1020]], 30, True) == 1  # rows of 30: 7.5 vectors
    assert kernels_cuda.vector_width([base[:1024]], 32, True) == 4
    assert kernels_cuda.vector_width([cp.zeros(9)], 9, False) == 2  # float64: double2
    opt = make_optimizer("adam")
    rng = np.random.default_rng(3)
    p0, g0 = rng.standard_normal(1025).astype(np.float32), rng.standard_normal(1025)
    out = []
    for offset in (0, 1):  # aligned (vectors) and misaligned (one element per thread)
        p = cp.zeros(1026, dtype=cp.float32)[offset : offset + 1025]
        p[...] = cp.asarray(p0)
        state = opt.init(p)
        opt.step(p, cp.asarray(g0.astype(np.float32)), state)
        out.append(p.get())
    cpu = p0.copy()
    opt.step(cpu, g0.astype(np.float32), opt.init(cpu))
    np.testing.assert_array_equal(out[0], cpu)
    np.testing.assert_array_equal(out[1], cpu)


def test_apply_checks_its_arguments(emulated_cupy):
    """One-line errors for a wrong state count or coefficient shape, before any launch."""
    cp = emulated_cupy
    p, g = cp.zeros((2, 8)), cp.ones((2, 8))
    with pytest.raises(ValueError, match="takes no 1 state arrays"):
        kernels_cuda.apply(RULES["adam"].kernel, p, g, [cp.zeros((2, 8))], cp.zeros((1, 7)))
    with pytest.raises(ValueError, match=r"coef must be \(1, K\) or \(2, K\)"):
        kernels_cuda.apply(RULES["sgd"].kernel, p, g, [], cp.zeros((3, 4)))


def test_every_kernel_and_state_count_has_a_variant():
    for rule in RULES.values():
        for hp in ({}, {"momentum": 0.9}, {"centered": True}):
            try:
                full = rule.validate(hp)
            except ValueError:
                continue
            n = len(rule.buffers(full))
            assert (rule.kernel.name, n) in kernels_cuda._variants()
            name = kernels_cuda.kernel_name(rule.kernel.name, n)
            assert f'extern "C" __global__ void {name}(' in kernels_cuda.cuda_source("float32")
    with pytest.raises(ValueError, match="no 2 state arrays"):
        kernels_cuda.nstates_used(RULES["adagrad"].kernel, [1, 2])


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
        assert ptx.count(".entry") == 2 * len(kernels_cuda._variants())  # and the _vec ones
        assert ("ld.global.v4.f32" if dt == "float32" else "ld.global.v2.f64") in ptx
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
