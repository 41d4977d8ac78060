"""adambench's step on a list of bfloat16 tensors against torch.optim.Adam(fused=True) on
the CPU with bfloat16 parameters (torch's state: bfloat16, its parameter dtype).

The bound (docs/theory.md §9: a low-precision step is the float32 step of the widened
values followed by one rounding per stored value).  Both sides widen the same bfloat16 p
and g exactly to float32 and compute the update Delta in float32; they differ only in the
order of operations (torch: ``m.lerp_(g, 1 - b1)``, ``sqrt(v) / sqrt(bc2) + eps``; ours:
``b1 * m + (1 - b1) * g`` ...), a few float32 ulps (2^-24 relative), far below bfloat16's
u = 2^-8.  Rounding two float32 values that close to bfloat16 gives the same value unless
a rounding boundary lies between them, and then adjacent values: one bfloat16 ulp apart,
at most 2u|p|.  So each step adds at most 2u * P to |p_ours - p_torch|, P bounding |p| over
the steps.  A bfloat16 state (torch's, and ours with ``state_dtype="bfloat16"``) may flip
one ulp in m and in v the same way: after j steps m differs by at most j * 2u relative and
v by j * 2u, so Delta (m over sqrt v) by at most 3 j u relative; and |Delta| <= lr (1 - b1)
/ sqrt(1 - b2) (Kingma & Ba 2015, §2.1, the case 1 - b1 > sqrt(1 - b2)).  After k steps:

    |p_ours - p_torch| <= 2u * k * P  +  3u * k (k + 1) / 2 * D,   D = lr (1 - b1) / sqrt(1 - b2)

With a float32 state the second term is float32-sized; the same bound holds.  The test also
asks that most elements agree exactly (a flip needs a boundary between two close values).
"""

from __future__ import annotations

import ml_dtypes
import numpy as np
import pytest

from adambench.core.optimizer import make_optimizer

torch = pytest.importorskip("torch")

BF16 = np.dtype(ml_dtypes.bfloat16)
SHAPES = [(16, 24), (40,), (3, 5, 7)]
LR, B1, B2, EPS = 0.05, 0.9, 0.999, 1e-8  # lr large enough that p moves several ulps a step
K = 5
U = 2.0**-8


def _lists(seed=0):
    rng = np.random.default_rng(seed)
    ps = [rng.standard_normal(s).astype(np.float32).astype(BF16) for s in SHAPES]
    gs = [[rng.standard_normal(s).astype(np.float32).astype(BF16) for s in SHAPES]
          for _ in range(K)]  # fmt: skip
    return ps, gs


def _torch_fused(ps, gs):
    """torch.optim.Adam(fused=True), CPU, bfloat16 params and grads, K steps."""
    params = [torch.nn.Parameter(torch.from_numpy(p.astype(np.float32)).bfloat16()) for p in ps]
    opt = torch.optim.Adam(params, lr=LR, betas=(B1, B2), eps=EPS, fused=True)
    for step in gs:
        for t, g in zip(params, step, strict=True):
            t.grad = torch.from_numpy(g.astype(np.float32)).bfloat16()
        opt.step()
    return [t.detach().float().numpy() for t in params]


@pytest.mark.parametrize("state_dtype", ["bfloat16", None])
def test_bfloat16_list_matches_torch_fused_within_the_rounding_bound(state_dtype):
    ps, gs = _lists()
    start = [p.astype(np.float32) for p in ps]
    want = _torch_fused(ps, gs)
    opt = make_optimizer("adam", lr=LR, beta1=B1, beta2=B2, eps=EPS)
    ours = [p.copy() for p in ps]
    state = opt.init(ours, state_dtype=state_dtype)
    for step in gs:
        opt.step(ours, step, state)
    d = LR * (1 - B1) / np.sqrt(1 - B2)
    same = total = 0
    for got, w, p0 in zip(ours, want, start, strict=True):
        assert got.dtype == BF16 and got.shape == w.shape
        got = got.astype(np.float32)
        big = np.maximum(np.abs(p0), np.maximum(np.abs(got), np.abs(w))) + K * d
        bound = 2 * U * K * big + 3 * U * K * (K + 1) / 2 * d
        assert np.all(np.abs(got - w) <= bound), np.max(np.abs(got - w) / bound)
        assert np.mean(got != p0) > 0.9  # lr is large enough that p moves
        same += int(np.sum(got == w))
        total += got.size
    assert same >= 0.8 * total, f"only {same} of {total} elements agree exactly"
