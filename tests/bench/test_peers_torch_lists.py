"""torch.optim peers on parameter lists (bench/peers_torch.list_peers) against torch.optim
run on each tensor alone, and the dtypes and notes each layout gets."""

from __future__ import annotations

import ml_dtypes
import numpy as np
import pytest

from adambench.bench import peers_numpy
from adambench.core.optimizer import make_optimizer
from adambench.core.precision import NAMED

torch = pytest.importorskip("torch")
from adambench.bench import peers_torch  # noqa: E402

SHAPES = [(3, 4), (5,), (2, 3, 2)]
STEPS = 3


def _arrays(dtype, seed=0):
    rng = np.random.default_rng(seed)
    ps = [rng.standard_normal(s).astype(np.float32).astype(dtype) for s in SHAPES]
    gs = [rng.standard_normal(s).astype(np.float32).astype(dtype) for s in SHAPES]
    return ps, gs


def _params(call):
    """The torch parameters a variant's ``opt.step`` updates (a bound method's optimizer)."""
    return call.__self__.param_groups[0]["params"]


def _alone(cls, p, g, dtype, **kw):
    """torch.optim on one tensor, from values widened exactly to float32 (NumPy astype)."""
    t = torch.nn.Parameter(torch.from_numpy(p.astype(np.float32)).to(dtype))
    t.grad = torch.from_numpy(g.astype(np.float32)).to(dtype)
    opt = cls([t], foreach=False, **kw)
    for _ in range(STEPS):
        opt.step()
    return t.detach().float().numpy()


@pytest.mark.parametrize("name,cls", [("adam", "Adam"), ("adamw", "AdamW")])
def test_each_variant_equals_torch_on_each_tensor_alone_float32(name, cls):
    hp = peers_numpy.scalar_hp(make_optimizer(name).hp)
    ps, gs = _arrays(np.float32)
    want = [
        _alone(getattr(torch.optim, cls), p, g, torch.float32, lr=hp["lr"],
               betas=(hp["beta1"], hp["beta2"]), eps=hp["eps"],
               weight_decay=hp["weight_decay"])
        for p, g in zip(ps, gs, strict=True)
    ]  # fmt: skip
    for variant in peers_torch.VARIANTS:
        calls, notes = peers_torch.list_peers(name, hp, ps, gs, NAMED["float32"])
        assert set(calls) == set(peers_torch.VARIANTS), notes
        params = _params(calls[variant])
        assert [tuple(t.shape) for t in params] == SHAPES
        # building the peers moves nothing: the probe step ran on a throwaway tensor
        for t, p in zip(params, ps, strict=True):
            np.testing.assert_array_equal(t.detach().numpy(), p)
        for _ in range(STEPS):
            calls[variant]()
        for t, w in zip(params, want, strict=True):
            assert t.dtype == torch.float32
            # single-tensor: the same operations; foreach/fused: a few float32 ulps apart
            np.testing.assert_allclose(t.detach().numpy(), w, rtol=4e-7, atol=1e-9)
    assert ps[0].dtype == np.float32 and np.all(ps[0] == _arrays(np.float32)[0][0])


@pytest.mark.parametrize("layout", ["bfloat16", "mixed"])
def test_bfloat16_lists_run_in_torch_bfloat16(layout):
    hp = peers_numpy.scalar_hp(make_optimizer("adam").hp)
    ps, gs = _arrays(ml_dtypes.bfloat16, seed=1)
    for variant in peers_torch.VARIANTS:  # the variants share their parameters: one each
        calls, notes = peers_torch.list_peers("adam", hp, ps, gs, NAMED[layout])
        assert set(calls) == set(peers_torch.VARIANTS), notes
        call = calls[variant]
        params = _params(call)
        # the 16-bit patterns travel unchanged: the same values as ml_dtypes' bfloat16
        for t, p in zip(params, ps, strict=True):
            assert t.dtype == torch.bfloat16
            np.testing.assert_array_equal(t.detach().float().numpy(), p.astype(np.float32))
        for _ in range(STEPS):
            call()
        for t, p, g in zip(params, ps, gs, strict=True):
            assert t.dtype == torch.bfloat16
            state = call.__self__.state[t]
            assert state["exp_avg"].dtype == torch.bfloat16  # torch's state: the param dtype
            w = _alone(torch.optim.Adam, p, g, torch.bfloat16, lr=hp["lr"])
            # each of the 3 steps rounds p to bfloat16 once (u = 2^-8): the variants agree
            # with the single-tensor path to within one bfloat16 ulp per step
            got = t.detach().float().numpy()
            assert np.all(np.abs(got - w) <= STEPS * 2.0**-7 * np.abs(w))
            assert not np.array_equal(got, p.astype(np.float32))  # it moved
        assert "torch state in bfloat16 (adambench's: float32)" in notes[variant]
        assert ("no built-in master weights" in notes[variant]) == (layout == "mixed")


def test_float16_and_float64_layouts_and_a_rule_torch_lacks():
    hp = peers_numpy.scalar_hp(make_optimizer("adam").hp)
    ps, gs = _arrays(np.float32)
    calls, notes = peers_torch.list_peers("adam", hp, ps, gs, "float16")
    assert calls and all(t.dtype == torch.float16 for t in _params(next(iter(calls.values()))))
    assert all("torch state in float16" in n for v, n in notes.items() if v in calls)
    p64, g64 = [p.astype(np.float64) for p in ps], [g.astype(np.float64) for g in gs]
    calls, notes = peers_torch.list_peers("adam", hp, p64, g64, NAMED["float64"])
    assert calls["torch"].__self__.param_groups[0]["params"][0].dtype == torch.float64
    assert notes["torch"] == "torch.optim.Adam(foreach=False)"
    nobias = peers_numpy.scalar_hp(make_optimizer("adam-nobias").hp)
    none, why = peers_torch.list_peers("adam-nobias", nobias, ps, gs, NAMED["float32"])
    assert none == {} and "no form" in why["torch"]
    with pytest.raises(ValueError, match="as many grads"):
        peers_torch.list_peers("adam", hp, ps, gs[:2], NAMED["float32"])
