"""Property tests (hypothesis) for the rules of docs/theory.md §7-§8, where the paper (or
the algorithm as printed) gives one; tests/core/test_yogi_adabelief_lion.py already pins
Yogi's v >= 0 and its (1 - beta2) g^2 moves, AdaBelief line by line and s_t >= eps, and
Lion's +-lr steps and decoupled decay.  Here, on both layers (``opt.step`` and
``opt.reference_step``), in float64, over gradient sequences drawn by hypothesis:

* AdamW (Loshchilov & Hutter 2019, Algorithm 2): the decay is decoupled, so the step
  with lambda is the step without it plus alpha lambda theta_{t-1} (same gradients); at
  lambda = 0 it is Adam (Kingma & Ba 2015, Algorithm 1).
* NAdam (Dozat 2016; torch's weight decay): L2 is exactly the gradient g + lambda theta;
  decoupled decay is exactly alpha lambda theta on top; with eps = 0 the step is
  invariant to rescaling every gradient.
* RAdam (Liu et al. 2020, Algorithm 2): while rho_t <= the threshold the step is the
  momentum step alpha m_hat_t; after it, with eps = 0, it is r_t times Adam's step, one
  r_t for every coordinate, 0 < r_t <= 1 and increasing in t.
* Yogi (Zaheer et al. 2018): with eps = 0 and v_0 = 0 the step is scale invariant
  (sign(v - g^2) is).
* AdaBelief (Zhuang et al. 2020, section 2): with a constant gradient the belief s_t is
  at most Adam's v_t, so its step is at least Adam's (eps = 0, eps outside).
* Lion (Chen et al. 2023): scale invariant (a sign), whatever the magnitudes.

The expected values are computed here from the equations, not from the rules' code.
"""

from __future__ import annotations

import math

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from adambench import make_optimizer

PROPS = settings(max_examples=30, derandomize=True, deadline=None, database=None,
                 suppress_health_check=[HealthCheck.too_slow])  # fmt: skip
D = 3
REL = 1e-10

magnitude = st.floats(min_value=1e-4, max_value=1e4)
entry = st.one_of(magnitude, magnitude.map(lambda x: -x))
sparse = st.one_of(st.just(0.0), entry)
sequences = hnp.arrays(np.float64, st.tuples(st.integers(1, 20), st.just(D)), elements=sparse)
dense = hnp.arrays(np.float64, st.tuples(st.integers(1, 20), st.just(D)), elements=entry)
thetas = hnp.arrays(np.float64, st.just(D), elements=st.floats(-3.0, 3.0))
scales = st.floats(min_value=1e-3, max_value=1e3)
lams = st.floats(min_value=1e-3, max_value=0.5)
LAYERS = ("kernel", "reference")


def deltas(name, grads, theta0=None, layer="kernel", **hp):
    """theta_{t-1} - theta_t at every t, theta reset to ``theta0`` before each step (so the
    step is read off exactly while the state evolves with the gradients)."""
    opt = make_optimizer(name, **hp)
    start = np.zeros(grads.shape[1]) if theta0 is None else np.asarray(theta0, float)
    p = start.copy()
    state = opt.init(p)
    out = []
    for g in grads:
        p[...] = start
        (opt.step if layer == "kernel" else opt.reference_step)(p, g.copy(), state)
        out.append(start - p)
    out = np.array(out)
    assert np.isfinite(out).all()
    return out


def close(a, b, rel=REL):
    scale = max(np.abs(a).max(initial=0), np.abs(b).max(initial=0), 1e-300)
    np.testing.assert_allclose(a, b, rtol=0, atol=rel * scale)


@PROPS
@given(grads=sequences, theta=thetas, lam=lams, lr=st.floats(1e-4, 0.1))
def test_adamw_decay_is_decoupled_and_zero_decay_is_adam(grads, theta, lam, lr):
    for layer in LAYERS:
        with_decay = deltas("adamw", grads, theta, layer, lr=lr, weight_decay=lam)
        without = deltas("adamw", grads, theta, layer, lr=lr, weight_decay=0.0)
        close(with_decay, without + lr * lam * theta)
        close(without, deltas("adam", grads, theta, layer, lr=lr), 1e-13)


@PROPS
@given(grads=sequences, theta=thetas, lam=lams)
def test_nadam_l2_is_the_gradient_plus_lambda_theta(grads, theta, lam):
    for layer in LAYERS:
        l2 = deltas("nadam", grads, theta, layer, lr=2e-3, weight_decay=lam)
        shifted = deltas("nadam", grads + lam * theta, theta, layer, lr=2e-3)
        close(l2, shifted)
        dec = deltas("nadam", grads, theta, layer, lr=2e-3, weight_decay=lam,
                     decoupled_weight_decay=True)  # fmt: skip
        close(dec, deltas("nadam", grads, theta, layer, lr=2e-3) + 2e-3 * lam * theta)


@PROPS
@given(grads=sequences, c=scales)
def test_nadam_yogi_lion_steps_are_scale_invariant(grads, c):
    for name, hp in (("nadam", {"eps": 0.0}), ("yogi", {"eps": 0.0}), ("lion", {})):
        for layer in LAYERS:
            scaled = deltas(name, c * grads, None, layer, **hp)
            close(scaled, deltas(name, grads, None, layer, **hp), 1e-9)


def rho(b2: float, t: int) -> float:
    rho_inf = 2 / (1 - b2) - 1
    return rho_inf - 2 * t * b2**t / (1 - b2**t)


@PROPS
@given(grads=dense, b1=st.floats(0.0, 0.99), threshold=st.sampled_from([4.0, 5.0]))
def test_radam_momentum_then_rectified_adam(grads, b1, threshold):
    b2, lr = 0.999, 1e-2
    m = np.zeros(D)
    for layer in LAYERS:
        got = deltas("radam", grads, None, layer, lr=lr, beta1=b1, eps=0.0,
                     rho_threshold=threshold)  # fmt: skip
        adam = deltas("adam", grads, None, layer, lr=lr, beta1=b1, eps=0.0)
        m[...] = 0.0
        ratios = []
        for t, g in enumerate(grads, start=1):
            m = b1 * m + (1 - b1) * g
            if rho(b2, t) <= threshold:  # Algorithm 2's un-adapted branch
                close(got[t - 1], lr * m / (1 - b1**t))
                continue
            r = got[t - 1] / adam[t - 1]
            assert np.ptp(r) <= 1e-9 * abs(r[0]), r  # one r_t for every coordinate
            assert 0 < r[0] <= 1 + 1e-12
            ratios.append(r[0])
        assert all(a < b for a, b in zip(ratios, ratios[1:], strict=False))


@PROPS
@given(g=hnp.arrays(np.float64, st.just(D), elements=entry), t=st.integers(1, 30),
       b1=st.floats(0.1, 0.99))  # fmt: skip
def test_adabelief_steps_at_least_adams_on_a_constant_gradient(g, t, b1):
    grads = np.tile(g, (t, 1))
    for layer in LAYERS:
        belief = deltas("adabelief", grads, None, layer, beta1=b1, eps=0.0,
                        eps_placement="outside")  # fmt: skip
        adam = deltas("adam", grads, None, layer, beta1=b1, eps=0.0)
        assert (np.abs(belief) >= np.abs(adam) * (1 - 1e-12)).all()
        assert (np.sign(belief) == np.sign(g)).all()


def test_radam_threshold_4_and_5_differ_only_at_t_5():
    """rho_5 = 4.996 for beta2 = 0.999 (docs/theory.md §7.4): the paper's test rho_t > 4
    adapts at t = 5, torch's rho_t > 5 from t = 6."""
    assert rho(0.999, 4) < 4 < rho(0.999, 5) < 5 < rho(0.999, 6)
    g = np.random.default_rng(0).standard_normal((8, D))
    four = deltas("radam", g, rho_threshold=4.0)
    five = deltas("radam", g, rho_threshold=5.0)
    same = [bool(np.array_equal(four[t], five[t])) for t in range(8)]
    assert same == [True, True, True, True, False, True, True, True]
    assert math.isfinite(float(np.abs(four).sum()))
