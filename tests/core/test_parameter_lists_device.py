"""A parameter structure on CuPy arrays, stepped through ``Optimizer.step`` (one launch
per layout group, core/kernels_cuda_chunks.py), gives the NumPy structure's results bit
for bit: float32 and float64 tensors, bf16/fp16 with float32 state, and bf16 with a
float32 master copy, in one list; with any tensor's array replaced between steps."""

from __future__ import annotations

import importlib

import numpy as np
import pytest

from adambench import make_optimizer
from adambench.core import kernels_cuda_chunks
from adambench.core.precision import BFLOAT16, FLOAT16

SHAPES = [(3, 4), (7,), (0,), (300, 10), (5000,), (2, 3, 5)]
DTYPES = [np.float32, BFLOAT16, FLOAT16, np.float32, BFLOAT16, FLOAT16]
CASES = [
    ("adam", {}, False),
    ("adamw", {"weight_decay": 0.1}, True),
    ("sgd", {"momentum": 0.9, "nesterov": True}, True),
    ("lion", {}, False),
    ("adabelief", {}, True),
]


def _host(rng, shapes=SHAPES, dtypes=DTYPES):
    return [rng.standard_normal(s).astype(d) for s, d in zip(shapes, dtypes, strict=True)]


def _bits(x):
    return np.ascontiguousarray(x).reshape(-1).view(np.uint8)


@pytest.mark.parametrize(("name", "hp", "master"), CASES, ids=[c[0] for c in CASES])
def test_device_structure_matches_numpy_bit_for_bit(device, name, hp, master):
    cp = importlib.import_module("cupy")
    rng = np.random.default_rng(3)
    opt = make_optimizer(name, lr=1e-2, **hp)
    host = _host(rng)
    dev = [cp.asarray(x) for x in host]
    kw = {"state_dtype": "float32", "master_weights": master}
    hstate, dstate = opt.init(host, **kw), opt.init(dev, **kw)
    launches = kernels_cuda_chunks.launches
    for t in range(5):
        grads = _host(rng)
        opt.step(host, grads, hstate)
        opt.step(dev, [cp.asarray(g) for g in grads], dstate)
        if t == 2:  # a tensor replaced by a new array: the pointer table follows it
            dev[3] = dev[3].copy()
            host[3] = host[3].copy()
    groups = len({(np.dtype(d), master and np.dtype(d) != np.float32) for d in DTYPES})
    assert kernels_cuda_chunks.launches - launches == 5 * groups  # one launch per group
    for h, d in zip(host, dev, strict=True):
        assert d.dtype == h.dtype and d.shape == h.shape
        np.testing.assert_array_equal(_bits(cp.asnumpy(d)), _bits(h))
    for buf in opt.rule.buffers(opt.hp):
        for h, d in zip(hstate.buffers[buf], dstate.buffers[buf], strict=True):
            np.testing.assert_array_equal(_bits(cp.asnumpy(d)), _bits(h))


def test_mixing_numpy_and_cupy_tensors_is_one_line_and_changes_nothing(device):
    cp = importlib.import_module("cupy")
    opt = make_optimizer("adam")
    params = [cp.zeros(3, np.float32), cp.zeros(4, BFLOAT16)]
    state = opt.init(params, state_dtype="float32")
    grads = [cp.ones(3, np.float32), np.ones(4, BFLOAT16)]
    with pytest.raises(ValueError, match=r"grads\[1\] is a NumPy array but the state is on CuPy"):
        opt.step(params, grads, state)
    assert state.t == 0 and float(cp.abs(params[0]).sum()) == 0
