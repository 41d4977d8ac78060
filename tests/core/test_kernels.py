"""Fused kernels (``opt.step``) against the float64 references (``opt.reference_step``).

Issue 2, item 5 ("fast kernel vs reference"): every rule and every option, float32 and
float64, shapes (d,) and (B, d) with per-run hyperparameter vectors, sizes from 1 to past
the kernel's parallel CHUNK.  Also: a batched step equals B separate steps, the
coefficient table equals per-step coefficients, zero-gradient coordinates stay put, long
runs keep their coefficients normal, and the eps_hat equivalence of docs/theory.md §1.2.

Tolerances.  float64: kernel and reference do the same arithmetic in a different order
(e.g. step * m / (sqrt(v) * isb + eps) against alpha * m_hat / (sqrt(v_hat) + eps), and
beta^t as exp(t log beta) against beta**t), so they agree to a few ulps per step:
1e-12 relative is ~1e4 ulps of headroom over T <= 60 steps.

float32: the float32 kernel is compared with the float64 reference started from the
same float32 parameters and fed the same float32 gradients (exact in float64), so the
reference is the exact answer to within 1e-16.  The kernel's error after T steps is at
most the sum over steps of (a) rounding p_t - Delta_t to float32, <= u |p_t| with
u = 2^-24, and (b) the error of the computed step Delta_t: about 20 float32 roundings
(coefficients cast to float32, the state averages, sqrt, divide, multiply), and the
state's own rounding errors do not grow because every average is a contraction.  So
|p32 - p64| <= u * sum_t |p_t| + K u sum_t max_i |Delta_t,i| per run, with K = 32
(measured: (a) alone accounts for nearly all of it).  A coefficient wrong by 1e-3
relative moves p by 1e-3 sum_t |Delta_t|, which is ~30 times this tolerance here.
A kernel that also multiplies p by a coefficient (``decay`` = 1 - alpha_t lambda, the
decoupled weight decay of docs/theory.md §7.2) rounds p three times per step in place of
(a) once: the float32 cast of decay, the product and the subtraction, so (a) counts 3 u.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from adambench import make_optimizer
from adambench.core import kernels_cpu
from adambench.core.registry import RULES
from adambench.core.schedules import decay_power

U32 = np.finfo(np.float32).eps / 2  # unit roundoff of float32, 2^-24
K32 = 32  # roundings allowed per computed step in float32 (module docstring)
RTOL64 = 1e-12

# (rule, hyperparameters): every rule, and every option value at least once
# (test_cases_cover_every_rule_and_option checks that).
CASES = [
    ("adam", {}),
    ("adam", {"eps": 0.0, "lr": 1e-2}),
    ("adam", {"eps_hat": 1e-6}),
    ("adam", {"eps_hat": 0.0}),
    ("adam", {"beta1": 0.0, "beta2": 0.99}),
    ("adam", {"lr": 1e-2, "lr_schedule": "inv_sqrt", "beta1_decay": 0.95}),
    ("adam-nobias", {}),
    ("adam-nobias", {"lr_schedule": "inv_sqrt", "beta1_decay": 0.99, "eps": 0.0}),
    ("adamax", {}),
    ("adamax", {"eps": 1e-8, "lr_schedule": "inv_sqrt", "beta1_decay": 0.9}),
    ("amsgrad", {"lr": 1e-2}),
    ("amsgrad", {"bias_correction": True, "eps": 1e-8}),
    ("amsgrad", {"bias_correction": True, "lr_schedule": "inv_sqrt", "beta1_decay": 0.97}),
    ("rmsprop-momentum", {}),
    ("rmsprop-momentum", {"centered": True}),
    ("rmsprop-momentum", {"eps_inside": True, "eps": 1e-6}),
    ("rmsprop-momentum", {"centered": True, "eps_inside": True, "eps": 1e-4, "decay": 0.95}),
    ("rmsprop-momentum", {"momentum": 0.0, "lr_schedule": "inv_sqrt"}),
    ("sgd", {}),
    ("sgd", {"momentum": 0.9}),
    ("sgd", {"momentum": 0.9, "nesterov": True}),
    ("sgd", {"momentum": 0.5, "nesterov": True, "lr_schedule": "inv_sqrt"}),
    ("adagrad", {}),
    ("adagrad", {"initial_accumulator": 0.1, "eps": 0.0}),
    ("adagrad", {"initial_accumulator": 1e-3, "lr_schedule": "inv_sqrt"}),
    # weight_decay (L2, docs/theory.md §7.1) on the rules that had none
    ("adam", {"weight_decay": 0.1}),
    ("adam", {"weight_decay": 1e-2, "eps_hat": 1e-6}),
    ("adam-nobias", {"weight_decay": 0.05, "lr_schedule": "inv_sqrt"}),
    ("adamax", {"weight_decay": 0.1, "eps": 1e-8}),
    ("amsgrad", {"weight_decay": 0.1, "bias_correction": True, "eps": 1e-8}),
    ("rmsprop-momentum", {"weight_decay": 0.1, "centered": True}),
    ("sgd", {"weight_decay": 0.1}),
    ("sgd", {"weight_decay": 0.1, "momentum": 0.9, "nesterov": True}),
    ("adagrad", {"weight_decay": 0.1}),
    # AdamW, NAdam, RAdam (docs/theory.md §7.2-§7.4)
    ("adamw", {}),
    ("adamw", {"amsgrad": True, "weight_decay": 0.1}),
    ("adamw", {"weight_decay": 0.0, "eps": 0.0, "lr": 1e-2, "lr_schedule": "inv_sqrt"}),
    ("nadam", {}),
    ("nadam", {"weight_decay": 0.1}),
    ("nadam", {"weight_decay": 0.1, "decoupled_weight_decay": True, "lr_schedule": "inv_sqrt"}),
    ("nadam", {"momentum_decay": 0.5, "beta1": 0.5, "eps": 0.0}),
    ("radam", {}),
    ("radam", {"rho_threshold": 4.0, "weight_decay": 0.1}),
    ("radam", {"decoupled_weight_decay": True, "weight_decay": 0.1, "lr_schedule": "inv_sqrt"}),
    ("radam", {"beta2": 0.9, "eps": 0.0, "lr": 1e-2}),
    ("yogi", {}),
    ("yogi", {"eps": 0.0, "lr": 1e-3}),
    ("yogi", {"bias_correction": True, "initial_accumulator": 1e-6, "initial_m": 1e-6}),
    ("yogi", {"lr_schedule": "inv_sqrt", "beta1_decay": 0.95, "beta2": 0.99}),
    ("adabelief", {}),
    ("adabelief", {"eps": 1e-8, "eps_placement": "outside"}),
    ("adabelief", {"eps": 1e-8, "eps_placement": "root", "lr_schedule": "inv_sqrt"}),
    ("adabelief", {"eps": 0.0, "beta1_decay": 0.97, "beta2": 0.99}),
    ("lion", {}),
    ("lion", {"weight_decay": 0.1, "lr": 1e-3}),
    ("lion", {"lr_schedule": "inv_sqrt", "beta1": 0.0, "beta2": 0.9}),
]
CASE_IDS = [f"{n}-{'-'.join(f'{k}={v}' for k, v in hp.items()) or 'default'}" for n, hp in CASES]

# Shapes: tiny, ordinary, a batch of one-element runs, a batch with a ragged tail.
SHAPES = [(1,), (1000,), (3, 1), (4, 513)]
DTYPES = [np.float64, np.float32]
STEPS = 40

# Per-run factors for a batched sweep: steps scale by these, (1 - beta) scale by these.
FACTORS = (1.0, 0.5, 0.8, 0.3)


def per_run(name: str, hp: dict, runs: int) -> dict:
    """``hp`` with every float hyperparameter turned into a length-``runs`` vector.

    Step sizes, eps and accumulators are scaled; betas, decays and momenta move towards
    1 (1 - beta scaled), so every vector stays in its allowed range and every run
    differs.  eps_hat = -1 (off) stays -1 for every run (mixing is not allowed).
    """
    rule = RULES[name]
    f = np.resize(np.array(FACTORS), runs)
    out = dict(hp)
    for p in rule.params:
        if p.kind != "float":
            continue
        x = float(hp.get(p.name, p.default))
        if p.name in ("lr", "eps", "initial_accumulator") or (p.name == "eps_hat" and x >= 0):
            out[p.name] = x * (1.0 + f)
        elif p.high == 1.0 and x < 1.0:  # betas, decay, momentum, beta1_decay < 1
            out[p.name] = 1.0 - (1.0 - x) * f
    return out


def gradients(rng: np.random.Generator, steps: int, shape: tuple, dtype) -> np.ndarray:
    """Random gradients with per-coordinate scales over 4 decades, some zero entries, and
    (when d > 1) the first coordinate of every run zero at every step."""
    scale = 10.0 ** rng.uniform(-2, 2, size=shape)
    g = rng.standard_normal((steps, *shape)) * scale
    g[rng.random(g.shape) < 0.2] = 0.0
    if shape[-1] > 1:
        g[..., 0] = 0.0
    return g.astype(dtype)


def run_both(name, hp, shape, dtype, steps=STEPS, seed=0):
    """Run the kernel in ``dtype`` and the float64 reference from the same inputs.

    Returns the kernel's params and state, the reference's, and per run the sums
    sum_t |p_t| (elementwise) and sum_t max_i |Delta_t,i| from the reference trajectory.
    """
    rng = np.random.default_rng(seed)
    opt = make_optimizer(name, **hp)
    p0 = rng.standard_normal(shape).astype(dtype)
    grads = gradients(rng, steps, shape, dtype)
    pk = p0.copy()
    sk = opt.init(pk)
    pr = p0.astype(np.float64)
    sr = opt.init(pr)
    sum_p = np.zeros(shape)
    sum_step = np.zeros(shape[:-1] + (1,))
    for t in range(steps):
        before = pr.copy()
        opt.step(pk, grads[t], sk)
        opt.reference_step(pr, grads[t].astype(np.float64), sr)
        sum_p += np.abs(pr)
        sum_step += np.abs(pr - before).max(axis=-1, keepdims=True)
    assert sk.t == sr.t == steps
    return pk, sk, pr, sr, sum_p, sum_step


def assert_close(kernel: np.ndarray, ref: np.ndarray, what: str, rtol: float = RTOL64):
    """|kernel - ref| <= rtol * (|ref| + max |ref|): relative, and not blown up near 0."""
    np.testing.assert_allclose(
        kernel.astype(np.float64), ref, rtol=rtol, atol=rtol * np.abs(ref).max(), err_msg=what
    )


@pytest.mark.parametrize("dtype", DTYPES, ids=["f64", "f32"])
@pytest.mark.parametrize("shape", SHAPES, ids=lambda s: "x".join(map(str, s)))
@pytest.mark.parametrize(("name", "hp"), CASES, ids=CASE_IDS)
def test_kernel_matches_reference(name, hp, shape, dtype):
    if len(shape) == 2:
        hp = per_run(name, hp, shape[0])
    pk, sk, pr, sr, sum_p, sum_step = run_both(name, hp, shape, dtype)
    assert np.isfinite(pk).all() and np.isfinite(pr).all()
    assert (sum_step > 0).all(), "a run did not move"
    assert sk.buffers.keys() == sr.buffers.keys()
    if dtype == np.float64:
        assert_close(pk, pr, f"{name} params")
        for k in sr.buffers:
            assert_close(sk.buffers[k], sr.buffers[k], f"{name} state {k}")
    else:
        p_roundings = 3 if "decay" in RULES[name].kernel.coefs else 1  # module docstring
        tol = p_roundings * U32 * sum_p + K32 * U32 * sum_step
        err = np.abs(pk.astype(np.float64) - pr)
        worst = np.unravel_index(np.argmax(err - tol), err.shape)
        assert (err <= tol).all(), f"{name}: error {err[worst]:.3g} > tolerance {tol[worst]:.3g}"
        for k in sr.buffers:  # the averages: a few float32 ulps of their own size
            assert_close(sk.buffers[k], sr.buffers[k], f"{name} state {k}", rtol=1e-5)


def test_float32_tolerance_catches_a_wrong_coefficient():
    """The float32 tolerance is tight enough to see a step size wrong by 0.3%."""
    shape = (2, 300)
    pk, _, pr, _, sum_p, sum_step = run_both("adam", {"lr": 1.003e-3}, shape, np.float32)
    _, _, pr_true, _, _, _ = run_both("adam", {}, shape, np.float32)
    tol = U32 * sum_p + K32 * U32 * sum_step
    assert (np.abs(pk - pr) <= tol).all()
    assert (np.abs(pk - pr_true) > tol).any()


@pytest.mark.parametrize(
    ("name", "hp", "shape", "dtype"),
    [
        ("adam", {}, (2, 40000), np.float32),
        ("amsgrad", {"bias_correction": True, "eps": 1e-8}, (40000,), np.float64),
        ("rmsprop-momentum", {"centered": True}, (2, 40000), np.float64),
        ("adagrad", {"eps": 0.0}, (40000,), np.float32),
    ],
    ids=["adam-f32", "amsgrad-f64", "rmsprop-f64", "adagrad-f32"],
)
def test_kernel_matches_reference_across_chunks(name, hp, shape, dtype):
    """Rows longer than two parallel work items (CHUNK elements each), ragged tail."""
    assert shape[-1] > 2 * kernels_cpu.CHUNK and shape[-1] % kernels_cpu.CHUNK
    if len(shape) == 2:
        hp = per_run(name, hp, shape[0])
    pk, sk, pr, sr, sum_p, sum_step = run_both(name, hp, shape, dtype, steps=30)
    if dtype == np.float64:
        assert_close(pk, pr, name)
        for k in sr.buffers:
            assert_close(sk.buffers[k], sr.buffers[k], f"{name} state {k}")
    else:
        assert (np.abs(pk - pr) <= U32 * sum_p + K32 * U32 * sum_step).all()


def test_cases_cover_every_rule_and_option():
    assert {name for name, _ in CASES} == set(RULES)
    for name, rule in RULES.items():
        for p in rule.params:
            used = {hp.get(p.name, p.default) for n, hp in CASES if n == name}
            if p.kind == "bool":
                assert used == {False, True}, (name, p.name)
            elif p.kind == "choice":
                assert used == set(p.choices), (name, p.name)
            elif p.name == "beta1_decay":
                assert any(v < 1 for v in used), name


@pytest.mark.parametrize(("name", "hp"), CASES, ids=CASE_IDS)
def test_batched_step_equals_separate_runs(name, hp):
    """One (B, d) call with per-run vectors == B (d,) optimizers, bit for bit (float64)."""
    runs, d, steps = 3, 70, 30
    hpv = per_run(name, hp, runs)
    rng = np.random.default_rng(1)
    p0 = rng.standard_normal((runs, d))
    grads = gradients(rng, steps, (runs, d), np.float64)
    batch = make_optimizer(name, **hpv)
    pb = p0.copy()
    sb = batch.init(pb)
    singles = []
    for i in range(runs):
        one = {k: (v[i] if isinstance(v, np.ndarray) else v) for k, v in hpv.items()}
        opt = make_optimizer(name, **one)
        p = p0[i].copy()
        singles.append((opt, p, opt.init(p)))
    for t in range(steps):
        batch.step(pb, grads[t], sb)
        for i, (opt, p, s) in enumerate(singles):
            opt.step(p, grads[t, i].copy(), s)
    for i, (_, p, s) in enumerate(singles):
        np.testing.assert_array_equal(pb[i], p)
        for k in s.buffers:
            np.testing.assert_array_equal(sb.buffers[k][i], s.buffers[k])


@pytest.mark.parametrize(("name", "hp"), CASES, ids=CASE_IDS)
def test_coefficient_table_equals_per_step_calls(name, hp):
    rule = RULES[name]
    values = rule.validate(per_run(name, hp, 3))
    t = np.arange(1, 601).reshape(-1, 1)
    table = rule.coefficients(values, t)
    assert table.shape[:2] == (600, 3)
    # laid out column by column (core/spec.stack_columns), as the lanes engine reads it
    assert np.moveaxis(table, -1, 0).flags.c_contiguous
    for k in (1, 2, 3, 17, 255, 256, 257, 600):
        np.testing.assert_array_equal(table[k - 1], rule.coefficients(values, k), f"t={k}")


# Rules whose denominator is 0 on a coordinate with an all-zero gradient history when
# eps = 0: each must leave that coordinate exactly where it was (no 0/0).
ZERO_EPS = [
    ("adamax", {"eps": 0.0}),
    ("amsgrad", {"eps": 0.0}),
    ("amsgrad", {"eps": 0.0, "bias_correction": True}),
    ("adagrad", {"eps": 0.0}),
    ("adam", {"eps": 0.0}),
    ("adam", {"eps_hat": 0.0}),
    ("adam-nobias", {"eps": 0.0}),
    ("rmsprop-momentum", {"eps": 0.0}),
    ("rmsprop-momentum", {"eps": 0.0, "centered": True, "eps_inside": True}),
    ("adamw", {"eps": 0.0, "weight_decay": 0.0}),
    ("adamw", {"eps": 0.0, "weight_decay": 0.0, "amsgrad": True}),
    ("nadam", {"eps": 0.0}),
    ("radam", {"eps": 0.0}),
    ("yogi", {"eps": 0.0}),
    ("yogi", {"eps": 0.0, "bias_correction": True}),
    ("adabelief", {"eps": 0.0}),
    ("lion", {}),
]


@pytest.mark.parametrize("dtype", DTYPES, ids=["f64", "f32"])
@pytest.mark.parametrize(("name", "hp"), ZERO_EPS, ids=[f"{n}-{h}" for n, h in ZERO_EPS])
def test_zero_gradient_coordinates_stay_put(name, hp, dtype):
    rng = np.random.default_rng(2)
    opt = make_optimizer(name, **hp)
    p0 = rng.standard_normal((2, 50)).astype(dtype)
    pk, pr = p0.copy(), p0.astype(np.float64)
    sk, sr = opt.init(pk), opt.init(pr)
    quiet = np.zeros(50, dtype=bool)
    quiet[::3] = True
    for t in range(25):
        g = rng.standard_normal((2, 50)).astype(dtype)
        g[:, quiet] = 0.0
        if t < 5:
            g[:, 1] = 0.0  # a coordinate that is quiet for a while, then moves
        with np.errstate(divide="raise", invalid="raise"):
            opt.step(pk, g, sk)
            opt.reference_step(pr, g.astype(np.float64), sr)
        if t < 5:
            assert pk[0, 1] == p0[0, 1] and pr[0, 1] == p0[0, 1]
    for p in (pk, pr):
        assert np.isfinite(p).all()
        np.testing.assert_array_equal(p[:, quiet], p0[:, quiet])
        assert (p[:, ~quiet] != p0[:, ~quiet]).all()


@pytest.mark.parametrize("name", list(RULES))
def test_long_runs_keep_coefficients_normal(name):
    """At t ~ 1e6 every kernel coefficient is finite and either 0 or a normal float32."""
    rule = RULES[name]
    hp = {"beta1_decay": 0.999} if any(p.name == "beta1_decay" for p in rule.params) else {}
    values = rule.validate(hp)
    t = np.arange(10**6, 10**6 + 256).reshape(-1, 1)
    for table in (rule.coefficients(values, t), rule.coefficients(values, 10**6)):
        assert np.isfinite(table).all()
        mags = np.abs(table[table != 0])
        assert (mags >= np.finfo(np.float32).tiny).all(), name


@pytest.mark.parametrize("beta", [0.0, 0.5, 0.9, 0.99, 0.999, 0.9999, 1 - 1e-8])
@pytest.mark.parametrize("t", [1, 7, 1000, 7000, 7 * 10**5, 10**6, 10**7])
def test_decay_power_never_subnormal(beta, t):
    got = float(decay_power(np.array([beta]), t)[0])
    assert got == 0.0 or got >= 2.0**-60
    assert got == pytest.approx(beta**t, rel=1e-9, abs=2.0**-60)
    if got == 0.0:
        assert 1.0 - beta**t == 1.0  # flushing changed no bias correction


def test_decay_power_flushes_beta1_at_a_million_steps():
    assert decay_power(np.array([0.9]), 10**6)[0] == 0.0


def test_decay_power_table_of_shared_betas_is_each_runs_own():
    # a table computes a shared beta once: the same bits as every run's own column, and as
    # one step at a time
    rng = np.random.default_rng(7)
    betas = rng.choice([0.0, 0.5, 0.9, 0.999, 0.9999, 1.0, *rng.uniform(0, 1, 5)], 300)
    t = np.arange(1, 3001).reshape(-1, 1)
    table = decay_power(betas, t)
    assert np.unique(betas).size < betas.size and table.shape == (3000, 300)
    alone = np.stack([decay_power(np.array([b]), t)[:, 0] for b in betas], axis=1)
    assert np.array_equal(table, alone)
    for k in (0, 1, 17, 2999):
        assert np.array_equal(table[k], decay_power(betas, int(t[k, 0])))


def test_nadam_momentum_tables_of_shared_values_are_each_runs_own():
    # NAdam's mu_t and its product computed once per distinct (beta1, psi): each run's own
    from adambench.core.rules.nadam import momentum_at, momentum_product

    rng = np.random.default_rng(8)
    b1 = rng.choice([0.0, 0.5, 0.9, 0.99], 60)
    psi = rng.choice([0.0, 0.004, 0.01], 60)
    t = np.arange(1, 2001).reshape(-1, 1)
    for f in (momentum_at, momentum_product):
        table = f(b1, psi, t)
        alone = np.stack([f(b1[r : r + 1], psi[r : r + 1], t)[:, 0] for r in range(60)], axis=1)
        assert table.shape == (2000, 60) and np.array_equal(table, alone), f.__name__
        assert np.array_equal(table[99], f(b1, psi, 100)), f.__name__


@pytest.mark.parametrize("dtype", DTYPES, ids=["f64", "f32"])
@pytest.mark.parametrize("name", ["adam", "adamax", "amsgrad"])
def test_steps_near_a_million_match_reference(name, dtype):
    """Starting the step count near 1e6 (beta1^t flushed to 0): no NaN, same as reference."""
    hp = {"beta1_decay": 0.9999999, "eps": 1e-8}
    if name == "amsgrad":
        hp["bias_correction"] = True
    opt = make_optimizer(name, **hp)
    rng = np.random.default_rng(3)
    p0 = rng.standard_normal((2, 64)).astype(dtype)
    pk, pr = p0.copy(), p0.astype(np.float64)
    sk, sr = opt.init(pk), opt.init(pr)
    sk.t = sr.t = 10**6 - 3
    for _ in range(6):
        g = rng.standard_normal((2, 64)).astype(dtype)
        opt.step(pk, g, sk)
        opt.reference_step(pr, g.astype(np.float64), sr)
    assert np.isfinite(pk).all()
    assert_close(pk, pr, name, rtol=RTOL64 if dtype == np.float64 else 1e-6)


def test_eps_hat_equals_algorithm_1_with_time_varying_eps():
    """docs/theory.md §1.2 (derived): the efficient form with constant eps_hat = c is
    Algorithm 1 with eps_t = c / sqrt(1 - beta2^t).  Algorithm 1 is written out here."""
    c, lr, b1, b2, steps = 1e-3, 1e-2, 0.8, 0.99, 60
    rng = np.random.default_rng(4)
    shape = (3, 40)
    theta0 = rng.standard_normal(shape)
    grads = rng.standard_normal((steps, *shape)) * 10.0 ** rng.uniform(-4, -2, size=shape)

    theta, m, v = theta0.copy(), np.zeros(shape), np.zeros(shape)
    for t in range(1, steps + 1):  # Algorithm 1, with eps_t in place of eps
        g = grads[t - 1]
        m = b1 * m + (1 - b1) * g
        v = b2 * v + (1 - b2) * g**2
        m_hat = m / (1 - b1**t)
        v_hat = v / (1 - b2**t)
        eps_t = c / math.sqrt(1 - b2**t)
        theta = theta - lr * m_hat / (np.sqrt(v_hat) + eps_t)

    opt = make_optimizer("adam", lr=lr, beta1=b1, beta2=b2, eps_hat=c)
    pk, pr = theta0.copy(), theta0.copy()
    sk, sr = opt.init(pk), opt.init(pr)
    for t in range(steps):
        opt.step(pk, grads[t], sk)
        opt.reference_step(pr, grads[t], sr)
    assert_close(pk, theta, "kernel")
    assert_close(pr, theta, "reference")
    # eps matters here: Algorithm 1 with the constant eps = c is visibly different.
    plain = make_optimizer("adam", lr=lr, beta1=b1, beta2=b2, eps=c)
    pp = theta0.copy()
    sp = plain.init(pp)
    for t in range(steps):
        plain.step(pp, grads[t], sp)
    assert np.abs(pp - theta).max() > 1e-3 * np.abs(theta - theta0).max()
