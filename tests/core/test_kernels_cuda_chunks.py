"""The multi-tensor CUDA kernels (core/kernels_cuda_chunks.py) on the host CUDA emulator.

The reference is the per-tensor definition of core/precision.py, written out here with
NumPy and ml_dtypes: widen each stored array with ``astype`` to the compute dtype, run the
rule's flat numba kernel (``kernels_cpu.apply``), round each stored array back with
``astype`` (with a master copy: p = master rounded).  One launch must step a list of
tensors of odd sizes (one of them longer than a chunk row) to the same bits, for every
layout, and the launch count is one per call.
"""

from __future__ import annotations

import ml_dtypes
import numpy as np
import pytest

from adambench import make_optimizer
from adambench.core import kernels_cpu, kernels_cuda_chunks
from adambench.core.multi_tensor import chunk_table
from adambench.core.precision import BFLOAT16, FLOAT32, NAMED, Layout

pytestmark = pytest.mark.emulated

SIZES = [1, 7, 1000, 70000]  # 70000 > CHUNK: two rows
STEPS = 3
CASES = [
    ("adam", {}),
    ("adam", {"weight_decay": 0.1, "eps_hat": 1e-6}),
    ("sgd", {"momentum": 0.9}),
    ("sgd", {}),
    ("lion", {}),
    ("amsgrad", {"lr": 1e-2}),
]
LAYOUTS = {**NAMED, "bfloat16/bfloat16": Layout(BFLOAT16, BFLOAT16)}


def _tensors(rng, opt, layout):
    """Per tensor: stored p, master (or None) and states, in their storage dtypes."""
    out = []
    for n in SIZES:
        p32 = rng.standard_normal(n).astype(layout.compute)
        init = opt.init(np.zeros((1, n), layout.compute)).buffers
        states = [
            (init[b].reshape(-1) + 0.01 * np.abs(rng.standard_normal(n))).astype(layout.state)
            for b in opt.rule.buffers(opt.hp)
        ]
        master = p32.astype(FLOAT32) if layout.master else None
        out.append([p32.astype(layout.param), master, states])
    return out


def _reference_step(opt, tensor, g, coef, layout):
    """The contract's definition: widen (astype), the flat kernel, round (astype)."""
    p, master, states = tensor
    c = layout.compute
    w = (master if layout.master else p).astype(c).reshape(1, -1)
    wide = [s.astype(c).reshape(1, -1) for s in states]
    kernels_cpu.apply(opt.rule.kernel, w, g.astype(c).reshape(1, -1), wide, coef.astype(c))
    tensor[0] = w.reshape(-1).astype(layout.param)
    tensor[1] = w.reshape(-1).copy() if layout.master else None
    tensor[2] = [s.reshape(-1).astype(layout.state) for s in wide]


def _tables(cp, dev, grads):
    """The pointer table (L, 6) and chunk table of the device tensors, as CuPy int64."""
    ptrs = np.zeros((len(dev), 6), np.int64)
    for i, ((p, master, states), g) in enumerate(zip(dev, grads, strict=True)):
        ptrs[i, 0], ptrs[i, 1] = p.data.ptr, g.data.ptr
        for k, s in enumerate(states):
            ptrs[i, 2 + k] = s.data.ptr
        if master is not None:
            ptrs[i, 5] = master.data.ptr
    return cp.asarray(ptrs), cp.asarray(chunk_table(SIZES, kernels_cuda_chunks.CHUNK))


@pytest.mark.parametrize("layout", LAYOUTS.values(), ids=list(LAYOUTS))
@pytest.mark.parametrize(("name", "hp"), CASES, ids=[f"{n}{hp or ''}" for n, hp in CASES])
def test_one_launch_steps_every_tensor_like_the_reference(emulated_cupy, name, hp, layout):
    cp = emulated_cupy
    opt = make_optimizer(name, **hp)
    rng = np.random.default_rng(7)
    host = _tensors(rng, opt, layout)
    dev = [
        [cp.asarray(p), None if m is None else cp.asarray(m), [cp.asarray(s) for s in st]]
        for p, m, st in host
    ]
    nstates = len(opt.rule.buffers(opt.hp))
    for t in range(1, STEPS + 1):
        grads = [rng.standard_normal(n).astype(layout.param) for n in SIZES]
        coef = np.ascontiguousarray(opt.rule.coefficients(opt.hp, t), layout.compute)
        for tensor, g in zip(host, grads, strict=True):
            _reference_step(opt, tensor, g, coef, layout)
        dgrads = [cp.asarray(g) for g in grads]
        ptrs, chunks = _tables(cp, dev, dgrads)
        before = kernels_cuda_chunks.launches
        kernels_cuda_chunks.apply_chunks(
            opt.rule.kernel, nstates, ptrs, chunks, cp.asarray(coef), layout
        )
        assert kernels_cuda_chunks.launches == before + 1
    for (p, m, st), (dp, dm, dst) in zip(host, dev, strict=True):
        assert dp.dtype == p.dtype and np.isfinite(p.astype(np.float64)).all()
        np.testing.assert_array_equal(dp.get().view(np.uint8), p.view(np.uint8))
        if m is not None:
            np.testing.assert_array_equal(dm.get(), m)
        for s, ds in zip(st, dst, strict=True):
            np.testing.assert_array_equal(ds.get().view(np.uint8), s.view(np.uint8))


def test_rounding_is_per_store_not_truncation(emulated_cupy):
    """Sharpness: a bfloat16 step stores round-to-nearest values, which differ from the
    truncated float32 result for some elements (so the comparison above can fail)."""
    cp = emulated_cupy
    opt = make_optimizer("sgd", lr=0.1)
    layout = Layout(BFLOAT16, FLOAT32)
    rng = np.random.default_rng(3)
    p = rng.standard_normal(4096).astype(BFLOAT16)
    g = rng.standard_normal(4096).astype(BFLOAT16)
    dp, dg = cp.asarray(p), cp.asarray(g)
    ptrs = cp.asarray(np.array([[dp.data.ptr, dg.data.ptr, 0, 0, 0, 0]], np.int64))
    chunks = cp.asarray(chunk_table([4096], kernels_cuda_chunks.CHUNK))
    coef = cp.asarray(np.ascontiguousarray(opt.rule.coefficients(opt.hp, 1), np.float32))
    kernels_cuda_chunks.apply_chunks(opt.rule.kernel, 0, ptrs, chunks, coef, layout)
    wide = p.astype(np.float32) - np.float32(0.1) * g.astype(np.float32)
    truncated = (wide.view(np.uint32) >> 16).astype(np.uint16)
    got = dp.get().view(np.uint16)
    np.testing.assert_array_equal(got, wide.astype(ml_dtypes.bfloat16).view(np.uint16))
    assert (got != truncated).any()


def test_bad_tables_are_one_line_errors(emulated_cupy):
    cp = emulated_cupy
    opt = make_optimizer("adam")
    layout = NAMED["float32"]
    coef = cp.asarray(np.ascontiguousarray(opt.rule.coefficients(opt.hp, 1), np.float32))
    chunks = cp.asarray(chunk_table([8]))
    with pytest.raises(ValueError, match="ptrs must be"):
        kernels_cuda_chunks.apply_chunks(
            opt.rule.kernel, 2, cp.zeros((1, 6), np.int32), chunks, coef, layout
        )
    with pytest.raises(ValueError, match="coef must be"):
        kernels_cuda_chunks.apply_chunks(
            opt.rule.kernel, 2, cp.zeros((1, 6), np.int64), chunks, coef.astype(np.float64), layout
        )
    with pytest.raises(ValueError, match="takes no 1 state"):
        kernels_cuda_chunks.apply_chunks(
            opt.rule.kernel, 1, cp.zeros((1, 6), np.int64), chunks, coef, layout
        )


def test_source_declares_the_storage_types():
    src = kernels_cuda_chunks.cuda_source(NAMED["mixed"])
    assert "#include <cuda_bf16.h>" in src and "typedef __nv_bfloat16 PT;" in src
    assert "typedef float ST;" in src and "adam_chunks2_master" in src
    assert "cuda_fp16" not in src
