"""Zero and underflowed denominators (docs/theory.md §6.2): no step beyond the rule's bound.

With eps = 0 and gradients so small that g^2 underflows (|g| < 2^-63 in float32,
2^-511 in float64), the numerator m survives while v is 0 or rounding noise: the former
guard max(D, tiny) then divided m by the smallest normal number, and Adam moved a
float32 coordinate by -255,211 in 3 steps of g = 1e-30.  The convention now: a
denominator below its floor (sqrt(smallest normal); the smallest normal for AdaMax) means
"no gradient seen": the coordinate stays put.  Checked here for every rule with a
denominator, in float32 and float64, on the numba kernel, the float64 reference, the
CUDA body (on the host emulator, bit for bit) and the weights of the weighted projection.

The bounds per step (docs/theory.md §1.3, and the module docstrings):

* Adam (and AMSGrad with bias correction, whose v_hat >= v): |Delta_t| <= alpha C_t,
  C_t = sqrt(sum_k w_k^2 / u_k) (tests/core/test_properties.py);
* Adam without bias correction (and paper AMSGrad): the same with the uncorrected
  weights (1 - b1) b1^k and (1 - b2) b2^k;
* AdaMax: alpha (1 - b1)/(1 - b1^t) sum_k (b1/b2)^k;
* RMSprop (uncentred): alpha sum_{k<t} mu^k / sqrt(1 - rho);
* AdaGrad (s_0 = 0): alpha.

SLACK covers what underflowed of v where the denominator is kept: a relative
sqrt(1.5 * 2^-23 / (1 - beta2)) at most in float32, 1.4% for beta2 = 0.999.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from adambench import make_optimizer
from adambench.core import kernels_cpu, kernels_cuda
from adambench.core.registry import KINDS, RULES

SLACK = 1.02
LR = 1e-2

# (rule, hyperparameters): every rule with a denominator, with eps = 0.
ZERO_EPS = [
    ("adam", {"eps": 0.0}),
    ("adam", {"eps_hat": 0.0}),
    ("adam-nobias", {"eps": 0.0}),
    ("amsgrad", {"eps": 0.0}),
    ("amsgrad", {"eps": 0.0, "bias_correction": True}),
    ("adamax", {"eps": 0.0}),
    ("rmsprop-momentum", {"eps": 0.0}),
    ("rmsprop-momentum", {"eps": 0.0, "eps_inside": True}),
    ("adagrad", {"eps": 0.0}),
]
IDS = [f"{n}-{'-'.join(f'{k}={v}' for k, v in hp.items())}" for n, hp in ZERO_EPS]
DTYPES = [np.float32, np.float64]


def sup_weights(w: np.ndarray, u: np.ndarray) -> float:
    """max |sum w_k g_k| / sqrt(sum u_k g_k^2) over all g: sqrt(sum w_k^2 / u_k)."""
    return math.sqrt(float(np.sum(w * w / u)))


def bound(name: str, hp: dict, t: int) -> float:
    """The largest |Delta_t| / alpha the rule allows at step t (module docstring)."""
    rule = RULES[name]
    v = {p.name: hp.get(p.name, p.default) for p in rule.params}
    k = np.arange(t, dtype=np.float64)
    if name == "adagrad":
        return 1.0
    if name == "rmsprop-momentum":
        return float(np.sum(v["momentum"] ** k)) / math.sqrt(1.0 - v["decay"])
    b1, b2 = v["beta1"], v["beta2"]
    if name == "adamax":
        return (1 - b1) / (1 - b1**t) * float(np.sum((b1 / b2) ** k))
    w, u = (1 - b1) * b1**k, (1 - b2) * b2**k
    if name == "adam" or (name == "amsgrad" and v["bias_correction"]):
        w, u = w / (1 - b1**t), u / (1 - b2**t)
    return sup_weights(w, u)


def tiny_gradients(kind: str, dtype, steps: int, d: int, seed: int = 0) -> np.ndarray:
    """Gradient sequences at and below the underflow of g^2 in ``dtype``."""
    rng = np.random.default_rng(seed)
    f32 = dtype == np.float32
    sign = rng.choice([-1.0, 1.0], size=(steps, d))
    if kind == "issue":  # the reported case: a constant 1e-30 (g^2 = 0 in float32)
        g = np.full((steps, d), 1e-30 if f32 else 1e-170)
    elif kind == "square-subnormal":  # g^2 subnormal, g normal
        g = np.full((steps, d), 3e-21 if f32 else 1e-160) * sign
    elif kind == "subnormal":  # g itself subnormal
        g = np.full((steps, d), 1e-41 if f32 else 1e-310) * sign
    else:  # log-uniform magnitudes across the whole underflow range, signs, zeros
        lo, hi = (-46, -15) if f32 else (-330, -140)
        g = sign * 10.0 ** rng.uniform(lo, hi, size=(steps, d))
        g[rng.random((steps, d)) < 0.2] = 0.0
    return g.astype(dtype)


KINDS_OF_GRADIENTS = ["issue", "square-subnormal", "subnormal", "mixed"]


def steps_taken(opt, grads: np.ndarray, dtype, layer: str) -> np.ndarray:
    """Delta_t = theta_{t-1} - theta_t per step (p reset to 0 before each step)."""
    wide = layer == "reference"
    p = np.zeros(grads.shape[1], np.float64 if wide else dtype)
    state = opt.init(p)
    out = []
    for g in grads:
        p[...] = 0.0
        g = g.astype(np.float64) if wide else g.copy()
        with np.errstate(divide="raise", invalid="raise", over="raise"):
            (opt.reference_step if wide else opt.step)(p, g, state)
        out.append(-p.astype(np.float64))
    return np.array(out)


@pytest.mark.parametrize("kind", KINDS_OF_GRADIENTS)
@pytest.mark.parametrize("dtype", DTYPES, ids=["f32", "f64"])
@pytest.mark.parametrize(("name", "hp"), ZERO_EPS, ids=IDS)
def test_tiny_gradients_step_within_the_rules_bound(name, hp, dtype, kind):
    opt = make_optimizer(name, lr=LR, **hp)
    grads = tiny_gradients(kind, dtype, steps=30, d=64)
    for layer in ("kernel", "reference"):
        delta = steps_taken(opt, grads, dtype, layer)
        assert np.isfinite(delta).all(), layer
        for t in range(1, len(grads) + 1):
            limit = LR * bound(name, hp, t) * SLACK
            worst = float(np.abs(delta[t - 1]).max())
            assert worst <= limit, f"{layer} step {t}: |Delta| = {worst:.4g} > {limit:.4g}"


def test_the_reported_case():
    """make_optimizer("adam", eps=0), float32 g = 1e-30: stays put (was -255,211)."""
    opt = make_optimizer("adam", eps=0)
    p = np.zeros(4, np.float32)
    state = opt.init(p)
    for _ in range(3):
        opt.step(p, np.full(4, 1e-30, np.float32), state)
    np.testing.assert_array_equal(p, 0.0)
    assert (state.buffers["m"] > 0).all()  # the state still follows the gradients


@pytest.mark.parametrize("dtype", DTYPES, ids=["f32", "f64"])
@pytest.mark.parametrize(("name", "hp"), ZERO_EPS, ids=IDS)
def test_normal_gradients_after_tiny_ones_move_again(name, hp, dtype):
    """Coordinates put by underflow are 'no gradient yet': a normal gradient moves them."""
    opt = make_optimizer(name, lr=LR, **hp)
    p = np.zeros(8, dtype)
    state = opt.init(p)
    f32 = dtype == np.float32
    tiny = (1e-41 if f32 else 1e-310) if name == "adamax" else (1e-30 if f32 else 1e-170)
    for _ in range(5):  # below the floor: for AdaMax, |g| itself subnormal
        opt.step(p, np.full(8, tiny, dtype), state)
    np.testing.assert_array_equal(p, 0.0)
    opt.step(p, np.ones(8, dtype), state)
    assert (p < 0).all() and (np.abs(p) <= LR * bound(name, hp, 6) * SLACK).all()


@pytest.mark.parametrize("kind", KINDS_OF_GRADIENTS)
@pytest.mark.parametrize(("name", "hp"), ZERO_EPS, ids=IDS)
def test_float64_kernel_follows_the_reference_below_the_floor(name, hp, kind):
    """In float64 both layers use the same floor: the same coordinates stay put, and the
    others agree to rounding."""
    opt = make_optimizer(name, lr=LR, **hp)
    grads = tiny_gradients(kind, np.float64, steps=30, d=64, seed=1)
    rng = np.random.default_rng(2)
    grads[::4, ::2] += rng.standard_normal(grads[::4, ::2].shape) * 1e-150  # representable
    pk, pr = np.zeros(64), np.zeros(64)
    sk, sr = opt.init(pk), opt.init(pr)
    put = moved = 0
    for g in grads:
        pk[...] = pr[...] = 0.0
        opt.step(pk, g.copy(), sk)
        opt.reference_step(pr, g.copy(), sr)
        # A coordinate put by one layer and moved by the other would differ by a step of
        # order LR; steps far below LR round differently in the two operation orders.
        np.testing.assert_allclose(pk, pr, rtol=1e-12, atol=1e-9 * LR)
        put += int((pr == 0).sum())
        moved += int((np.abs(pr) > 1e-3 * LR).sum())
    linear = name == "adamax" and kind in ("issue", "square-subnormal")  # nothing to put
    assert moved > 0 and (put > 0 or linear)
    for k in sr.buffers:
        np.testing.assert_allclose(sk.buffers[k], sr.buffers[k], rtol=1e-12, atol=0)


def test_nan_still_propagates():
    """A denominator test that is False for NaN: a diverged run shows NaN, never freezes."""
    for name, hp in ZERO_EPS:
        opt = make_optimizer(name, lr=LR, **hp)
        for dtype in DTYPES:
            p = np.zeros(3, dtype)
            state = opt.init(p)
            with np.errstate(invalid="ignore"):
                opt.step(p, np.array([np.nan, 1.0, 0.0], dtype), state)
            assert np.isnan(p[0]) and np.isfinite(p[1:]).all(), (name, dtype)
            pr = np.zeros(3)
            sr = opt.init(pr)
            with np.errstate(invalid="ignore"):
                opt.reference_step(pr, np.array([np.nan, 1.0, 0.0]), sr)
            assert np.isnan(pr[0]) and np.isfinite(pr[1:]).all(), name


# --- The floors, the weights of the weighted projection, and the CUDA twins ---------------


@pytest.mark.parametrize(("dtype", "exponent"), [(np.float32, -63), (np.float64, -511)])
def test_the_floors_are_one_exact_constant_everywhere(dtype, exponent):
    """spec.root_tiny, numba's np.sqrt(np.finfo(c.dtype).tiny) and CUDA's ROOT_TINY are
    the same power of two; TINY is the smallest normal number."""
    from numba import njit

    from adambench.core.spec import root_tiny

    assert root_tiny(dtype) == 2.0**exponent
    floor = njit(lambda c: np.sqrt(np.finfo(c.dtype).tiny))
    assert floor(np.zeros(1, dtype)) == 2.0**exponent
    assert str(floor.nopython_signatures[0].return_type) == np.dtype(dtype).name  # no upcast
    _, tiny, root = kernels_cuda._CTYPES[np.dtype(dtype)]
    assert dtype(root.rstrip("f")) == 2.0**exponent and float(root.rstrip("f")) == 2.0**exponent
    assert dtype(tiny.rstrip("f")) == np.finfo(dtype).tiny
    header = kernels_cuda.cuda_source(dtype)
    assert f"#define ROOT_TINY ((T){root})" in header


@pytest.mark.parametrize("dtype", DTYPES, ids=["f32", "f64"])
def test_a_denominator_at_the_floor_moves_one_below_stays(dtype):
    """AdaGrad with s = tiny (D = sqrt(tiny), exactly the floor) moves; with s one ulp
    below (a subnormal, D < floor) it stays put; the reference in float64 agrees."""
    opt = make_optimizer("adagrad", eps=0.0, lr=1.0)
    tiny = np.finfo(dtype).tiny
    p = np.zeros(2, dtype)
    state = opt.init(p)
    state.buffers["s"][...] = [tiny, np.nextafter(tiny, dtype(0))]
    g = np.full(2, 2.0**-100 if dtype == np.float32 else 2.0**-600, dtype)  # g^2 == 0
    opt.step(p, g, state)
    assert p[0] < 0 and p[1] == 0
    np.testing.assert_allclose(p[0], -g[0] / np.sqrt(tiny), rtol=1e-6)
    if dtype == np.float64:
        pr = np.zeros(2)
        sr = opt.init(pr)
        sr.buffers["s"][...] = [tiny, np.nextafter(tiny, 0.0)]
        opt.reference_step(pr, g.copy(), sr)
        np.testing.assert_array_equal(pr, p)


def floor_of(kernel_name: str, dtype) -> float:
    tiny = float(np.finfo(dtype).tiny)
    return tiny if kernel_name == "adamax" else math.sqrt(tiny)


def states_around_the_floor(opt, dtype) -> tuple[np.ndarray, list[np.ndarray], np.ndarray]:
    """p = 0, state arrays whose denominators span 0, subnormal, the floor +- an ulp and
    normal values, a numerator that is not 0, and a gradient whose square is 0."""
    names = opt.rule.buffers(opt.hp)
    f = floor_of(opt.rule.kernel.name, dtype)
    below, above = np.nextafter(dtype(f), dtype(0)), np.nextafter(dtype(f), dtype(1))
    tiny = np.finfo(dtype).tiny
    roots = np.array([0.0, tiny, f / 8, below, f, above, 4 * f, 1e-3, 1.0], dtype=np.float64)
    roots = np.concatenate([roots, roots * 1.3])  # the bias factors move the floor's place
    linear = opt.rule.kernel.name == "adamax"
    second = (roots if linear else roots**2).astype(dtype)  # u, or v = D^2
    sub = np.array([0.0, 2e-45 if dtype == np.float32 else 5e-324], dtype)
    second = np.concatenate([second, sub])
    d = second.size
    bufs = []
    for n in names:
        if n in ("v", "u", "s", "v_hat"):
            bufs.append(second.copy())
        elif n == "m":
            bufs.append(np.ones(d, dtype))
        else:  # rmsprop's b, gbar
            bufs.append(np.zeros(d, dtype))
    if linear:  # u = max(b2 u, |g|): g = 0, the numerator is m
        g = np.zeros(d, dtype)
    else:  # a numerator that is not 0 (AdaGrad's, RMSprop's is g) and g^2 == 0
        g = np.full(d, 2.0**-100 if dtype == np.float32 else 2.0**-600, dtype)
    return np.zeros(d, dtype), bufs, g


WEIGHTED = [(n, hp) for n, hp in ZERO_EPS if RULES[n].kernel.weight is not None]


def _step_once(opt, dtype, t: int = 3):
    p, bufs, g = states_around_the_floor(opt, dtype)
    coef = np.ascontiguousarray(opt.rule.coefficients(opt.hp, t), dtype)
    p2, g2 = p.reshape(1, -1), g.reshape(1, -1)
    b2 = [b.reshape(1, -1) for b in bufs]
    kernels_cpu.apply(opt.rule.kernel, p2, g2, b2, coef)
    return p, bufs, g, coef[0]


@pytest.mark.parametrize("dtype", DTYPES, ids=["f32", "f64"])
@pytest.mark.parametrize(("name", "hp"), WEIGHTED, ids=[f"{n}-{h}" for n, h in WEIGHTED])
def test_weight_is_zero_exactly_where_the_step_stays_put(name, hp, dtype):
    opt = make_optimizer(name, **hp)
    p, bufs, _, c = _step_once(opt, dtype)
    moved = p != 0
    assert moved.any() and not moved.all()  # the fixture straddles the floor
    slots = bufs + [np.zeros_like(p)] * (3 - len(bufs))
    kernel = opt.rule.kernel
    kind = KINDS[kernel.name]
    w_numba = np.array([kernels_cpu.weight(kind, *(s[i] for s in slots), c) for i in range(p.size)])
    w_numpy = kernel.weight(*slots, c)
    np.testing.assert_array_equal(w_numba, w_numpy)
    np.testing.assert_array_equal(w_numba == 0, ~moved)
    assert (w_numba[moved] >= floor_of(kernel.name, dtype) * (1 - 1e-6)).all()


@pytest.mark.parametrize("dtype", DTYPES, ids=["f32", "f64"])
@pytest.mark.parametrize(("name", "hp"), ZERO_EPS, ids=IDS)
def test_cuda_matches_numba_around_the_floor(emulated_cupy, name, hp, dtype):
    """The CUDA bodies and weights, on the emulator, equal numba's bit for bit."""
    cp = emulated_cupy
    opt = make_optimizer(name, **hp)
    p, bufs, g, c = _step_once(opt, dtype)
    p0, b0, _ = states_around_the_floor(opt, dtype)
    pd, bd = cp.asarray(p0.reshape(1, -1)), [cp.asarray(b.reshape(1, -1)) for b in b0]
    kernels_cuda.apply(opt.rule.kernel, pd, cp.asarray(g.reshape(1, -1)), bd,
                       cp.asarray(c.reshape(1, -1)))  # fmt: skip
    np.testing.assert_array_equal(pd.get().reshape(-1), p)
    for got, want in zip(bd, bufs, strict=True):
        np.testing.assert_array_equal(got.get().reshape(-1), want)
    kernel = opt.rule.kernel
    if kernel.weight is None:
        return
    source = kernels_cuda.cuda_source(dtype) + (
        'extern "C" __global__ void weights(const T* a0, const T* a1, const T* a2, '
        "const T* c, double* out, const long long n) {\n"
        "    const long long j = (long long)blockIdx.x * blockDim.x + threadIdx.x;\n"
        f"    if (j < n) out[j] = {kernel.name}_weight(a0[j], a1[j], a2[j], c);\n}}\n"
    )
    fn = cp.RawModule(code=source, options=kernels_cuda.NVRTC_OPTIONS).get_function("weights")
    slots = bufs + [np.zeros_like(p)] * (3 - len(bufs))
    out = cp.zeros(p.size, dtype=cp.float64)
    args = (*(cp.asarray(s) for s in slots), cp.asarray(c), out, np.int64(p.size))
    fn((1,), (64,), args)
    np.testing.assert_array_equal(out.get(), kernel.weight(*slots, c))
