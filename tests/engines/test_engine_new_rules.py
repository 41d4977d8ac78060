"""The six rules of docs/theory.md §7-§8 in the regret engine: the CPU engine against a
plain NumPy loop written here (each update by hand from its paper, its own sqrt(V_t),
and the weighted ball projection Pi_{F, sqrt(V_t)} of Reddi et al. 2018 solved by
``scipy.optimize.brentq`` on the KKT multiplier, docs/theory.md §2.1 and §5.1); the
emulated CUDA engine against the CPU engine; their bound rows (n/a with a reason).

V_t (the projection's metric) per rule, as the updates divide by it (weight decay is no
part of it): AdamW, NAdam: sqrt(v_hat_t) + eps (AdamW's amsgrad: from the running max);
RAdam: (sqrt(v_t) + eps) / sqrt(1 - beta2^t) once rho_t > threshold, the identity in its
un-adapted phase; Yogi: sqrt(v_t) (/ sqrt(1 - beta2^t)) + eps; AdaBelief: sqrt(s_hat_t)
+ eps (eps where ``eps_placement`` puts it); Lion: the identity (Euclidean).
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import optimize

from adambench.engines.regret.engine import RunPoint, run
from adambench.experiments import bounds
from adambench.experiments import regret as policy
from adambench.problems.online import generate
from adambench.problems.online.registry import make_problem
from adambench.problems.streams import stream_key

T = 200
INV = {"lr_schedule": "inv_sqrt"}

# (optimizer, hyperparameters): defaults and the options that change V_t or the step.
CASES = [
    ("adamw", {"lr": 0.2, "weight_decay": 0.3, **INV}),
    ("adamw", {"lr": 0.2, "weight_decay": 0.1, "amsgrad": True, "beta2": 0.9}),
    ("nadam", {"lr": 0.2, "weight_decay": 0.05, **INV}),
    ("nadam", {"lr": 0.2, "weight_decay": 0.2, "decoupled_weight_decay": True}),
    ("radam", {"lr": 0.3, "beta2": 0.9, **INV}),
    (
        "radam",
        {"lr": 0.3, "rho_threshold": 4.0, "weight_decay": 0.2, "decoupled_weight_decay": True},
    ),  # fmt: skip
    ("yogi", {"lr": 0.2, **INV}),
    (
        "yogi",
        {
            "lr": 0.2,
            "bias_correction": True,
            "initial_accumulator": 1e-6,
            "initial_m": 1e-6,
            "beta1_decay": 0.99,
        },
    ),  # fmt: skip
    ("adabelief", {"lr": 0.2, "beta1_decay": 0.99, "eps": 1e-8, **INV}),
    ("adabelief", {"lr": 0.2, "eps": 1e-4, "eps_placement": "outside"}),
    ("adabelief", {"lr": 0.2, "eps": 1e-4, "eps_placement": "root", "beta2": 0.9}),
    ("lion", {"lr": 0.05, "weight_decay": 0.5, **INV}),
]
IDS = [f"{n}-{i}" for i, (n, _) in enumerate(CASES)]
# Ball problems (where the weighted and Euclidean projections differ), d = 3.
BALLS = [("linear", {"dim": 3, "feasible": "ball"}), ("hinge", {"dim": 3}),
         ("least-squares", {"dim": 3, "feasible": "ball", "radius": 0.5})]  # fmt: skip


def _hp(name: str, given: dict) -> dict:
    """Every hyperparameter as a Python scalar: the defaults of the papers' settings."""
    defaults = {
        "adamw": dict(lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-8, weight_decay=1e-2,
                      amsgrad=False, lr_schedule="constant"),
        "nadam": dict(lr=2e-3, beta1=0.9, beta2=0.999, eps=1e-8, momentum_decay=4e-3,
                      weight_decay=0.0, decoupled_weight_decay=False, lr_schedule="constant"),
        "radam": dict(lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-8, rho_threshold=5.0,
                      weight_decay=0.0, decoupled_weight_decay=False, lr_schedule="constant"),
        "yogi": dict(lr=1e-2, beta1=0.9, beta2=0.999, eps=1e-3, bias_correction=False,
                     initial_accumulator=0.0, initial_m=0.0, lr_schedule="constant",
                     beta1_decay=1.0),
        "adabelief": dict(lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-16, eps_placement="paper",
                          lr_schedule="constant", beta1_decay=1.0),
        "lion": dict(lr=1e-4, beta1=0.9, beta2=0.99, weight_decay=0.0, lr_schedule="constant"),
    }  # fmt: skip
    return {**defaults[name], **given}


def _step(name: str, h: dict, x: np.ndarray, g: np.ndarray, st: dict, t: int):
    """One update by hand (the papers' equations, docs/theory.md §7-§8); returns the new
    x before projection and the diagonal of sqrt(V_t), or None for V_t = I."""
    a = h["lr"] / (math.sqrt(t) if h["lr_schedule"] == "inv_sqrt" else 1.0)
    b1, b2 = h["beta1"], h["beta2"]
    if name == "lion":  # Chen et al. 2023, Algorithm 2
        c = b1 * st["m"] + (1 - b1) * g
        x = x - a * (np.sign(c) + h["weight_decay"] * x)
        st["m"] = b2 * st["m"] + (1 - b2) * g
        return x, None
    if name in ("nadam", "radam") and not h["decoupled_weight_decay"]:
        g = g + h["weight_decay"] * x  # L2 (docs/theory.md §7.1)
    decay = h["weight_decay"] if name == "adamw" or h.get("decoupled_weight_decay") else 0.0
    x = x * (1 - a * decay)  # decoupled (docs/theory.md §7.2): not through g, not in V_t
    if name in ("yogi", "adabelief"):
        b1 = b1 * h["beta1_decay"] ** (t - 1)
    m = st["m"] = b1 * st["m"] + (1 - b1) * g
    if name == "yogi":  # Zaheer et al. 2018, Algorithm 2
        v = st["v"] = st["v"] - (1 - b2) * np.sign(st["v"] - g * g) * g * g
        scale = 1 / (1 - b2**t) if h["bias_correction"] else 1.0
        w = np.sqrt(v * scale) + h["eps"]
        step = a / (1 - h["beta1"] ** t) if h["bias_correction"] else a
        return x - step * m / w, w
    if name == "adabelief":  # Zhuang et al. 2020, Algorithm 2
        e = h["eps"]
        e_s, e_in, e_out = {"paper": (e, 0, e), "outside": (0, 0, e), "root": (0, e, 0)}[
            h["eps_placement"]
        ]
        s = st["s"] = b2 * st["s"] + (1 - b2) * (g - m) ** 2 + e_s
        w = np.sqrt(s / (1 - b2**t) + e_in) + e_out
        return x - a * (m / (1 - h["beta1"] ** t)) / w, w
    v = st["v"] = b2 * st["v"] + (1 - b2) * g * g
    if name == "adamw":  # Loshchilov & Hutter 2019, Algorithm 2 (torch's form)
        if h["amsgrad"]:
            v = st["vmax"] = np.maximum(st["vmax"], v)
        w = np.sqrt(v / (1 - b2**t)) + h["eps"]
        return x - a * (m / (1 - b1**t)) / w, w
    if name == "nadam":  # Dozat 2016, torch's form; mu_t's product as a running product
        psi = h["momentum_decay"]
        mu = b1 * (1 - 0.5 * 0.96 ** (t * psi))
        mu_next = b1 * (1 - 0.5 * 0.96 ** ((t + 1) * psi))
        st["pi"] = st.get("pi", 1.0) * mu
        w = np.sqrt(v / (1 - b2**t)) + h["eps"]
        m_bar = (1 - mu) / (1 - st["pi"]) * g + mu_next / (1 - st["pi"] * mu_next) * m
        return x - a * m_bar / w, w
    # RAdam, Liu et al. 2020, Algorithm 2 (torch's form: eps added to sqrt(v_t))
    rho_inf = 2 / (1 - b2) - 1
    rho = rho_inf - 2 * t * b2**t / (1 - b2**t)
    m_hat = m / (1 - b1**t)
    if rho <= h["rho_threshold"]:
        return x - a * m_hat, None  # un-adapted: V_t = I
    r = math.sqrt((rho - 4) * (rho - 2) * rho_inf / ((rho_inf - 4) * (rho_inf - 2) * rho))
    w = (np.sqrt(v) + h["eps"]) / math.sqrt(1 - b2**t)
    return x - a * r * m_hat / w, w


def _project(y: np.ndarray, radius: float, w: np.ndarray | None) -> np.ndarray:
    """argmin_{||x|| <= r} sum_i w_i (x_i - y_i)^2: x_i = w_i y_i / (w_i + mu), mu >= 0
    the KKT multiplier (a root of ||x(mu)|| = r, by brentq); w None: Euclidean."""
    n = float(np.linalg.norm(y))
    if n <= radius:
        return y
    if w is None:
        return y * (radius / n)

    def excess(mu: float) -> float:
        return float(np.sum((w * y / (w + mu)) ** 2)) - radius * radius

    hi = float(w.max()) * n / radius
    mu = optimize.brentq(excess, 0.0, hi, xtol=1e-300, rtol=4 * np.finfo(float).eps)
    return w * y / (w + mu)


def _phi(family_loss: str, z: float, y: float) -> tuple[float, float]:
    """(f, f') of the generalised linear losses of docs/theory.md §5.2."""
    if family_loss == "linear":
        return z, 1.0
    if family_loss == "least-squares":
        return 0.5 * (z - y) ** 2, z - y
    h = max(0.0, 1.0 - y * z)  # squared hinge
    return h * h, -2.0 * y * h


def _numpy_loop(problem, name: str, given: dict, seed: int, steps: int, weighted: bool = True):
    """sum_{t <= T_k} f_t(x_t) at every t, and x_{T+1}, one NumPy step at a time."""
    h = _hp(name, given)
    d = problem.d
    st = {"m": np.full(d, float(h.get("initial_m", 0.0))), "v": np.zeros(d),
          "vmax": np.zeros(d), "s": np.zeros(d)}  # fmt: skip
    st["v"][:] = h.get("initial_accumulator", 0.0)
    keys = np.array([stream_key(seed)], dtype=np.uint64)
    prm = problem.params(seed)[None]
    idx = np.empty((1, steps, problem.nnz), np.int64)
    val = np.empty((1, steps, problem.nnz))
    yv = np.empty((1, steps))
    generate.gen_block(problem.family, keys, prm, 1, idx, val, yv)
    x = np.zeros(d)
    cum, total = np.empty(steps), 0.0
    for k in range(steps):
        a = np.zeros(d)
        np.add.at(a, idx[0, k], val[0, k])
        f, df = _phi(problem.name, float(a @ x), float(yv[0, k]))
        total += f
        cum[k] = total
        y, w = _step(name, h, x, df * a, st, k + 1)
        x = _project(y, problem.radius, w if weighted else None)
    return cum, x


@pytest.mark.parametrize(("pname", "opts"), BALLS, ids=[p for p, _ in BALLS])
@pytest.mark.parametrize(("name", "given"), CASES, ids=IDS)
def test_cpu_engine_equals_numpy_loop_with_own_weighted_projection(pname, opts, name, given):
    problem = make_problem(pname, **opts)
    res = run(problem, [RunPoint(name, given)], [3], T, block=64)
    cum, x = _numpy_loop(problem, name, given, 3, T)
    np.testing.assert_allclose(res.cum_loss[0], cum[res.ends - 1], rtol=1e-10, atol=1e-10)
    np.testing.assert_allclose(res.x_final[0], x, rtol=1e-10, atol=1e-10)
    assert np.linalg.norm(res.x_final[0]) <= problem.radius * (1 + 1e-12)


@pytest.mark.parametrize(("name", "given"), [c for c in CASES if c[0] != "lion"],
                         ids=[i for i in IDS if not i.startswith("lion")])  # fmt: skip
def test_the_check_sees_the_metric(name, given):
    """Sharpness: the same loop with the Euclidean projection is far from the engine's
    weighted run on a small linear ball (iterates on the sphere), so the match above is
    the rule's own V_t, not any projection."""
    problem = make_problem("linear", dim=3, feasible="ball", radius=0.2)
    res = run(problem, [RunPoint(name, given)], [3], T, block=64)
    cum, x_euclid = _numpy_loop(problem, name, given, 3, T, weighted=False)
    apart = max(np.abs(res.x_final[0] - x_euclid).max(), np.abs(res.cum_loss[0, -1] - cum[-1]))
    assert apart > 1e-6


def test_lion_weighted_is_euclidean():
    """Lion's V_t = I: the engine's weighted and Euclidean projections coincide."""
    problem = make_problem("linear", dim=3, feasible="ball")
    pts = [RunPoint(n, g) for n, g in CASES if n == "lion"]
    a = run(problem, pts, [1], T, projection="weighted")
    b = run(problem, pts, [1], T, projection="euclidean")
    np.testing.assert_array_equal(a.x_final, b.x_final)
    np.testing.assert_array_equal(a.cum_loss, b.cum_loss)


def test_radam_unadapted_phase_is_euclidean(monkeypatch):
    """rho_t <= 5 (beta2 = 0.999: t <= 5) is RAdam's un-adapted phase, V_t = I: the
    engine matches the loop's Euclidean projection there, and not the loop that projects
    with the adapted phase's denominator (sqrt(v_t) + eps) / sqrt(1 - beta2^t) instead."""
    problem = make_problem("linear", dim=3, feasible="ball", radius=0.01)
    given = {"lr": 0.5, "beta2": 0.999}
    res = run(problem, [RunPoint("radam", given)], [0], 5)
    _, x = _numpy_loop(problem, "radam", given, 0, 5)
    np.testing.assert_allclose(res.x_final[0], x, rtol=1e-12, atol=1e-14)
    assert np.linalg.norm(x) == pytest.approx(0.01, rel=1e-12)  # projected every step
    real = _step

    def adapted_metric(name, h, x, g, st, t):
        y, w = real(name, h, x, g, st, t)
        return y, (np.sqrt(st["v"]) + h["eps"]) / math.sqrt(1 - h["beta2"] ** t)

    monkeypatch.setitem(globals(), "_step", adapted_metric)
    _, x_wrong = _numpy_loop(problem, "radam", given, 0, 5)
    assert np.abs(res.x_final[0] - x_wrong).max() > 1e-6


@pytest.mark.parametrize(
    ("pname", "opts"),
    [("linear", {"dim": 3, "feasible": "ball"}), ("hinge", {"dim": 3}), ("reddi-synthetic", {})],
    ids=["linear3-ball", "hinge3", "reddi-synthetic"],
)
def test_emulated_cuda_engine_equals_cpu(emulated_cupy, pname, opts):
    problem = make_problem(pname, **opts)
    pts = [RunPoint(n, g) for n, g in CASES]
    cpu = run(problem, pts, [0, 2], 300)
    gpu = run(problem, pts, [0, 2], 300, backend="cupy", comparator=cpu.comparator)
    np.testing.assert_array_equal(gpu.diverged, cpu.diverged)
    np.testing.assert_allclose(gpu.cum_loss, cpu.cum_loss, rtol=1e-9, atol=1e-9)
    np.testing.assert_allclose(gpu.x_final, cpu.x_final, rtol=1e-9, atol=1e-10)
    for k, v in cpu.stats.items():
        np.testing.assert_allclose(gpu.stats[k], v, rtol=1e-9, atol=1e-9, err_msg=k)


def test_bound_rows_of_new_rules_are_na_with_a_reason():
    """Every new rule's bound row on a real run: n/a and why, never an exception.
    AdaBelief's (zhuang-2.1) is n/a because the run does not establish s_t non-decreasing;
    granted that hypothesis it evaluates (inv_sqrt, beta1 decay, eps in s_t)."""
    problem = make_problem("reddi-synthetic")
    pts = [RunPoint(n, g) for n, g in CASES]
    pts.append(RunPoint("adabelief", {"lr": 0.2, "eps": 1e-8, "beta1_decay": 0.99, **INV}))
    res = run(problem, pts, [0], 500)
    for row in policy.rows(res):
        b = row["bound"]
        assert not b["applies"] and b["value"] is None and b["why"], row["point"]
        if row["optimizer"] == "adabelief" and row["hyperparameters"]["lr_schedule"] == "constant":
            assert b["why"].startswith("needs lr_schedule = inv_sqrt")
        elif row["optimizer"] == "adabelief":
            assert "s_{t,i} <= s_{t+1,i}" in b["why"]
        else:
            assert b["why"] == bounds.NO_THEOREM
    last = len(pts) - 1
    consts = {k: float(v[last, -1]) for k, v in res.stats.items()}
    b = bounds.bound("adabelief", res.validated[last], 500, 1,
                     {**consts, "s_nondecreasing": True}, True, "")  # fmt: skip
    assert b["applies"] and b["guarantee"] == "O(sqrt(T log T))"
    Di, b1, a = consts["D_inf"], 0.9, 0.2
    s_term = Di * Di * math.sqrt(500) * consts["sum_sqrt_s"] / (2 * a * (1 - b1))
    assert b["terms"]["s"] == pytest.approx(s_term, rel=1e-12)
