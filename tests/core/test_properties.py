"""Property tests (hypothesis) for what the papers say about single steps.

Each property is checked on both layers, the fused kernel (``opt.step``) and the float64
reference (``opt.reference_step``), in float64 with eps = 0, over gradient sequences
drawn by hypothesis (finite, magnitudes 1e-6..1e6, with zeros, so sparse sequences and
the first step are included).

What holds exactly, and what does not (derived, docs/theory.md §1.3 and §1.8):

* Adam's step is invariant to rescaling every gradient by c > 0 (Kingma & Ba 2.1).
* Adam: with weights w_k = (1-b1) b1^k / (1-b1^t) and u_k = (1-b2) b2^k / (1-b2^t) (the
  bias-corrected averages m_hat = sum w_k g_{t-k}, v_hat = sum u_k g_{t-k}^2),
  Cauchy-Schwarz gives |Delta_t| <= alpha * C_t with C_t = sqrt(sum_k w_k^2 / u_k), and
  g_{t-k} proportional to w_k / u_k attains it.  The paper's bounds (section 2.1),
  alpha (1-b1)/sqrt(1-b2) when 1-b1 > sqrt(1-b2) and alpha otherwise, are exact on the
  first step (|Delta_1| = alpha) and in the paper's own worst case, a gradient that was
  zero at every earlier step; over long arbitrary sequences C_t exceeds them (3.70 alpha
  at t = 300 with the default betas, against 3.16 alpha, and 7.27 alpha as t grows;
  1.23 alpha against alpha for b1 = 0.99, b2 = 0.999), which the last tests pin.
* AdaMax: |g_{t-k}| <= u_t / b2^k gives |Delta_t| <= alpha (1-b1)/(1-b1^t) sum_k
  (b1/b2)^k, which is alpha at t = 1 and above it from t = 2 whenever b2 < 1.  The
  paper's |Delta_t| <= alpha (section 7.1) holds whenever u_t is at least every |g_i|
  so far (e.g. the current gradient is the largest yet), and is pinned as exceeded by
  1.00047 alpha for the defaults with g = (1, 0.999).
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from adambench import make_optimizer

PROPS = settings(
    max_examples=40,
    derandomize=True,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow],
)
D = 3  # coordinates per gradient
REL = 1e-12  # float64 headroom on a bound (a few ulps per step is ~1e-15)

magnitude = st.floats(min_value=1e-6, max_value=1e6)
entry = st.one_of(st.just(0.0), magnitude, magnitude.map(lambda x: -x))
sequences = hnp.arrays(np.float64, st.tuples(st.integers(1, 25), st.just(D)), elements=entry)
beta1s = st.floats(min_value=0.0, max_value=0.99)
beta2s = st.floats(min_value=0.5, max_value=0.9999)
lrs = st.floats(min_value=1e-4, max_value=1.0)


def steps(name: str, grads: np.ndarray, **hp) -> dict[str, np.ndarray]:
    """The step Delta_t = theta_{t-1} - theta_t at every t, from the kernel and from the
    reference (parameters reset to 0 before each step, so Delta_t is read off exactly)."""
    opt = make_optimizer(name, **hp)
    out = {}
    for layer in ("kernel", "reference"):
        p = np.zeros(grads.shape[1])
        state = opt.init(p)
        rows = []
        for g in grads:
            p[...] = 0.0
            (opt.step if layer == "kernel" else opt.reference_step)(p, g.copy(), state)
            rows.append(-p.copy())
        out[layer] = np.array(rows)
    assert np.isfinite(out["kernel"]).all() and np.isfinite(out["reference"]).all()
    return out


def adam_sup(b1: float, b2: float, t: int) -> float:
    """C_t = sqrt(sum_k w_k^2 / u_k): the largest |Delta_t| / alpha over all sequences."""
    k = np.arange(t)
    w = (1 - b1) * b1**k / (1 - b1**t)
    u = (1 - b2) * b2**k / (1 - b2**t)
    return math.sqrt(np.sum(w * w / u))


def paper_bound(b1: float, b2: float) -> float:
    """Kingma & Ba 2.1: (1-b1)/sqrt(1-b2) if 1-b1 > sqrt(1-b2), else 1 (times alpha)."""
    r = (1 - b1) / math.sqrt(1 - b2)
    return r if r > 1 else 1.0


def adamax_sup(b1: float, b2: float, t: int) -> float:
    """(1-b1)/(1-b1^t) sum_k (b1/b2)^k: the largest |Delta_t| / alpha for AdaMax."""
    return (1 - b1) / (1 - b1**t) * float(np.sum((b1 / b2) ** np.arange(t)))


@PROPS
@given(grads=sequences, c=st.floats(min_value=1e-3, max_value=1e3), b1=beta1s, b2=beta2s)
def test_adam_step_is_invariant_to_gradient_scale(grads, c, b1, b2):
    assume(np.any(grads != 0))
    hp = dict(lr=1e-3, beta1=b1, beta2=b2, eps=0.0)
    one = steps("adam", grads, **hp)
    scaled = steps("adam", c * grads, **hp)
    bound = 1e-3 * max(adam_sup(b1, b2, t) for t in range(1, len(grads) + 1))
    for layer in one:
        np.testing.assert_allclose(scaled[layer], one[layer], rtol=1e-12, atol=1e-12 * bound)


@PROPS
@given(grads=sequences, b1=beta1s, b2=beta2s, lr=lrs)
def test_adam_step_within_its_exact_bound(grads, b1, b2, lr):
    assume(np.any(grads != 0))
    out = steps("adam", grads, lr=lr, beta1=b1, beta2=b2, eps=0.0)
    for t in range(1, len(grads) + 1):
        limit = lr * adam_sup(b1, b2, t) * (1 + REL)
        for layer, delta in out.items():
            assert (np.abs(delta[t - 1]) <= limit).all(), (layer, t)


@PROPS
@given(grads=sequences, b1=beta1s, b2=beta2s, lr=lrs)
def test_adam_first_step_is_lr(grads, b1, b2, lr):
    """|Delta_1| = alpha on every coordinate with g_1 != 0 (m_hat = g, v_hat = g^2)."""
    g1 = grads[:1]
    assume(np.any(g1 != 0))
    out = steps("adam", g1, lr=lr, beta1=b1, beta2=b2, eps=0.0)
    for delta in out.values():
        expected = np.where(g1[0] != 0, lr * np.sign(g1[0]), 0.0)
        np.testing.assert_allclose(delta[0], expected, rtol=1e-14, atol=0)
        assert (np.abs(delta[0]) <= lr * paper_bound(b1, b2) * (1 + REL)).all()


@PROPS
@given(
    t=st.integers(1, 10**6),
    b1=beta1s,
    b2=beta2s,
    g=st.one_of(magnitude, magnitude.map(lambda x: -x)),
)
def test_adam_paper_bound_in_the_sparse_worst_case(t, b1, b2, g):
    """Kingma & Ba 2.1's extreme case: zero gradients at steps 1..t-1, then g.  The step
    is alpha (1-b1)/(1-b1^t) sqrt((1-b2^t)/(1-b2)), within the paper's bound."""
    lr = 1e-3
    opt = make_optimizer("adam", lr=lr, beta1=b1, beta2=b2, eps=0.0)
    expected = lr * (1 - b1) / (1 - b1**t) * math.sqrt((1 - b2**t) / (1 - b2))
    for step in (opt.step, opt.reference_step):
        p = np.zeros(2)
        state = opt.init(p)
        state.t = t - 1  # t - 1 zero gradients leave m = v = 0 and p = 0 exactly
        step(p, np.array([g, 0.0]), state)
        assert p[1] == 0.0
        assert abs(p[0]) == pytest.approx(expected, rel=1e-9)
        assert abs(p[0]) <= lr * paper_bound(b1, b2) * (1 + REL)


def test_adam_sparse_worst_case_approaches_the_paper_bound():
    """With the defaults the spike step tends to alpha (1-b1)/sqrt(1-b2) = 3.16 alpha."""
    opt = make_optimizer("adam", eps=0.0)
    for step in (opt.step, opt.reference_step):
        p = np.zeros(1)
        state = opt.init(p)
        state.t = 10**5 - 1
        step(p, np.array([-5.0]), state)
        assert p[0] == pytest.approx(1e-3 * 0.1 / math.sqrt(0.001), rel=1e-12)


@PROPS
@given(grads=sequences, b1=beta1s, b2=beta2s, lr=lrs)
def test_adamax_step_within_its_exact_bound(grads, b1, b2, lr):
    assume(np.any(grads != 0))
    out = steps("adamax", grads, lr=lr, beta1=b1, beta2=b2, eps=0.0)
    for t in range(1, len(grads) + 1):
        limit = lr * adamax_sup(b1, b2, t) * (1 + REL)
        for layer, delta in out.items():
            assert (np.abs(delta[t - 1]) <= limit).all(), (layer, t)


@PROPS
@given(grads=sequences, b1=beta1s, b2=beta2s, lr=lrs)
def test_adamax_step_at_most_lr_while_u_covers_every_gradient(grads, b1, b2, lr):
    """|Delta_t| <= alpha whenever u_t >= max_{i<=t} |g_i| (docs/theory.md §1.8), which
    includes the first step and every step whose gradient is the largest so far."""
    assume(np.any(grads != 0))
    out = steps("adamax", grads, lr=lr, beta1=b1, beta2=b2, eps=0.0)
    u = np.zeros(D)
    for t, g in enumerate(grads, start=1):
        u = np.maximum(b2 * u, np.abs(g))
        covered = u >= np.abs(grads[:t]).max(axis=0)
        for layer, delta in out.items():
            assert (np.abs(delta[t - 1][covered]) <= lr * (1 + REL)).all(), (layer, t)


# --- Pinned: where the papers' informal bounds are exceeded (DERIVED, see docstring) ---


@pytest.mark.parametrize(("b1", "b2", "t"), [(0.9, 0.999, 300), (0.99, 0.999, 300)])
def test_adam_exact_bound_is_attained_and_exceeds_the_paper_bound(b1, b2, t):
    """g_{t-k} proportional to w_k / u_k, i.e. (b1/b2)^k: gradients growing by b2/b1
    per step.  The step reaches alpha C_t, above the paper's bound."""
    k = np.arange(t)[::-1]  # k = t - i for i = 1..t
    grads = ((b1 / b2) ** k).reshape(-1, 1)
    out = steps("adam", grads, lr=1e-3, beta1=b1, beta2=b2, eps=0.0)
    sup = adam_sup(b1, b2, t)
    assert sup > 1.15 * paper_bound(b1, b2)
    for delta in out.values():
        assert delta[-1, 0] == pytest.approx(1e-3 * sup, rel=1e-9)
    if (b1, b2) == (0.9, 0.999):
        assert sup == pytest.approx(3.70, abs=0.01) and paper_bound(b1, b2) < 3.17


def test_adamax_exact_bound_is_attained_and_exceeds_lr():
    """Defaults, g = (1, b2): u_2 = b2, m_hat_2 = (b1 + b2)/(1 + b1), so
    |Delta_2| = alpha (1 + b1/b2)/(1 + b1) = 1.00047 alpha."""
    b1, b2, lr = 0.9, 0.999, 2e-3
    out = steps("adamax", np.array([[1.0], [b2]]), lr=lr, eps=0.0)
    for delta in out.values():
        assert delta[0, 0] == pytest.approx(lr, rel=1e-15)
        assert delta[1, 0] == pytest.approx(lr * adamax_sup(b1, b2, 2), rel=1e-12)
        assert delta[1, 0] == pytest.approx(1.00047 * lr, rel=1e-5)
        assert delta[1, 0] > lr
