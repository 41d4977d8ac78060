"""Properties of Yogi, AdaBelief and Lion that their papers state (docs/theory.md §8).

* Yogi (Zaheer et al. 2018, Algorithm 2): v stays >= 0 given v_0 >= 0 (also in float32,
  kernel and reference); v moves in the direction Adam's v would from the same v_{t-1}
  (up where v_{t-1} < g_t^2, down where v_{t-1} > g_t^2, not at all where equal) and by
  exactly (1 - beta2) g_t^2, whatever the gap.
* AdaBelief (Zhuang et al. 2020, Algorithm 2): a line-by-line loop of the paper's
  pseudo-code with eps in both places, against kernel and reference; s_t >= eps.
* Lion (Chen et al. 2023, Algorithm 2): without weight decay each coordinate moves by
  exactly lr_t (x - lr_t sign(c_t) in floating point) or not at all where c_t = 0
  (sign(0) = 0); weight decay is decoupled (lr_t lambda theta_{t-1}); one state array,
  20 bytes per parameter against Adam's 28.
"""

from __future__ import annotations

import numpy as np
import pytest

from adambench import make_optimizer
from adambench.core.registry import RULES

DTYPES = [np.float64, np.float32]
MODES = ("kernel", "reference")


def mixed(rng, steps, shape, lo=-8, hi=3):
    """Gradients with per-element magnitudes over many decades and 20 % exact zeros."""
    g = rng.standard_normal((steps, *shape)) * 10.0 ** rng.uniform(lo, hi, (steps, *shape))
    g[rng.random(g.shape) < 0.2] = 0.0
    return g


def _stepper(opt, mode):
    return opt.step if mode == "kernel" else opt.reference_step


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("dtype", DTYPES, ids=["f64", "f32"])
@pytest.mark.parametrize("v0", [0.0, 1e-6, 3.0])
def test_yogi_v_stays_nonnegative_and_follows_adams_sign(v0, dtype, mode):
    if mode == "reference" and dtype == np.float32:
        pytest.skip("the reference is float64 only")
    rng = np.random.default_rng(11)
    b2 = 0.99
    opt = make_optimizer("yogi", beta2=b2, initial_accumulator=v0, eps=0.0)
    p = rng.standard_normal((3, 200)).astype(dtype)
    s = opt.init(p)
    step = _stepper(opt, mode)
    for g in mixed(rng, 300, p.shape).astype(dtype):
        v_prev = s.buffers["v"].astype(np.float64).copy()
        step(p, g, s)
        v = s.buffers["v"].astype(np.float64)
        assert (v >= 0).all()
        g2 = (g * g).astype(np.float64)  # g^2 as the step computes it (in dtype)
        adam_dv = (1 - b2) * (g2 - v_prev)  # Adam's v_t - v_{t-1} from the same v_{t-1}
        dv = v - v_prev
        # Where v_{t-1} and g^2 differ by more than the rounding of (1 - b2) g^2 added to
        # v_{t-1}, the sign of the move is Adam's; where equal, v does not move.
        tol = 4 * np.finfo(dtype).eps * np.maximum(v_prev, g2)
        clear = (np.abs(g2 - v_prev) > tol) & (np.abs(dv) > tol)
        assert (np.sign(dv[clear]) == np.sign(adam_dv[clear])).all()
        assert (dv[g2 == v_prev] == 0).all()
        # the size of the move is (1 - b2) g^2 (up to the rounding of v's new value)
        moved = g2 != v_prev
        rtol = 1e-5 if dtype == np.float32 else 1e-12
        atol = 4 * np.finfo(dtype).eps * np.maximum(v, v_prev)[moved]
        assert (np.abs(np.abs(dv[moved]) - (1 - b2) * g2[moved])
                <= rtol * (1 - b2) * g2[moved] + atol).all()  # fmt: skip
    assert np.isfinite(p).all()


def test_yogi_moves_v_less_than_adam_when_the_gap_is_large():
    """The paper's point: with v_{t-1} >> g_t^2 Adam's v drops by (1 - b2)(v - g^2),
    Yogi's only by (1 - b2) g^2, so Yogi's effective rate grows more slowly."""
    b2, v0, g = 0.9, 100.0, 1.0
    yogi = make_optimizer("yogi", beta2=b2, initial_accumulator=v0)
    p = np.zeros(1)
    s = yogi.init(p)
    yogi.step(p, np.array([g]), s)
    assert s.buffers["v"][0] == pytest.approx(v0 - (1 - b2) * g * g)
    adam_v = b2 * v0 + (1 - b2) * g * g
    assert v0 - s.buffers["v"][0] < v0 - adam_v


@pytest.mark.parametrize("placement", ["paper", "outside", "root"])
@pytest.mark.parametrize("mode", MODES)
def test_adabelief_is_algorithm_2_line_by_line(mode, placement):
    rng = np.random.default_rng(12)
    lr, b1, b2, eps = 3e-3, 0.9, 0.99, 1e-8
    shape = (2, 40)
    x0 = rng.standard_normal(shape)
    grads = mixed(rng, 500, shape)
    x, m, s = x0.copy(), np.zeros(shape), np.zeros(shape)
    for t in range(1, 501):  # Zhuang et al. Algorithm 2, eps where the placement puts it
        g = grads[t - 1]
        m = b1 * m + (1 - b1) * g
        s = b2 * s + (1 - b2) * (g - m) ** 2 + (eps if placement == "paper" else 0.0)
        m_hat = m / (1 - b1**t)
        s_hat = s / (1 - b2**t)
        if placement == "root":
            x = x - lr * m_hat / np.sqrt(s_hat + eps)
        else:
            x = x - lr * m_hat / (np.sqrt(s_hat) + eps)
    opt = make_optimizer("adabelief", lr=lr, beta1=b1, beta2=b2, eps=eps, eps_placement=placement)
    p = x0.copy()
    st = opt.init(p)
    step = _stepper(opt, mode)
    for g in grads:
        step(p, g, st)
    moved = np.abs(x - x0).max()
    np.testing.assert_allclose(p, x, rtol=0, atol=1e-10 * moved)
    if placement == "paper":
        assert (st.buffers["s"] >= eps).all()


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("schedule", ["constant", "inv_sqrt"])
def test_lion_moves_each_coordinate_by_exactly_lr(schedule, mode):
    rng = np.random.default_rng(13)
    lr, b1, b2 = 1e-3, 0.9, 0.99
    opt = make_optimizer("lion", lr=lr, beta1=b1, beta2=b2, lr_schedule=schedule)
    p = rng.standard_normal((2, 300)) * 10.0 ** rng.uniform(-3, 2, (2, 300))
    s = opt.init(p)
    m = np.zeros_like(p)
    step = _stepper(opt, mode)
    grads = mixed(rng, 200, p.shape)
    grads[:, :, 0] = 0.0  # a coordinate that never sees a gradient
    for t, g in enumerate(grads, start=1):
        a = lr / np.sqrt(t) if schedule == "inv_sqrt" else lr
        c = b1 * m + (1 - b1) * g
        expect = p - a * np.sign(c)  # sign(0) = 0: no move
        step(p, g, s)
        np.testing.assert_array_equal(p, expect)
        m = b2 * m + (1 - b2) * g
        np.testing.assert_array_equal(s.buffers["m"], m)


def test_lion_weight_decay_is_decoupled():
    """theta_t = theta_{t-1} - lr (sign(c_t) + lambda theta_{t-1}): the decay uses the
    parameter before the step and is scaled by lr, not by the gradient."""
    lr, wd = 1e-2, 0.5
    for mode in MODES:
        opt = make_optimizer("lion", lr=lr, weight_decay=wd)
        p = np.array([2.0, -4.0, 1.0])
        s = opt.init(p)
        _stepper(opt, mode)(p, np.array([1e-9, -1e6, 0.0]), s)
        np.testing.assert_allclose(p, [2.0 - lr * (1 + wd * 2.0), -4.0 - lr * (-1 + wd * -4.0),
                                       1.0 - lr * wd * 1.0], rtol=1e-15)  # fmt: skip


def test_bytes_per_param():
    """What each kernel moves in float32: Lion reads and writes p and m and reads g (5 x 4
    bytes), Adam also v (7 x 4); Yogi and AdaBelief keep two arrays like Adam."""
    assert RULES["lion"].bytes_per_param == 20 == RULES["adam"].bytes_per_param - 8
    assert RULES["yogi"].bytes_per_param == RULES["adabelief"].bytes_per_param == 28
    assert RULES["lion"].buffers({}) == ("m",)
    assert RULES["lion"].kernel.weight is None  # V_t = I: the Euclidean projection
