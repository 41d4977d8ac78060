"""Fits, bounds and verdicts: on synthetic curves, and on the real engine (logistic)."""

import math

import numpy as np
import pytest

from adambench import stats as fits
from adambench.core.registry import get_rule
from adambench.engines.regret.engine import RunPoint, checkpoints, run
from adambench.experiments import bounds, regret
from adambench.problems.online.registry import make_problem


def test_growth_exponent_recovers_power_laws():
    T = checkpoints(10**6).astype(float)
    rng = np.random.default_rng(0)
    for p in (0.5, 1.0, 0.3):
        R = 3.0 * T**p * np.exp(rng.normal(0, 0.02, size=(4, T.size)))
        e = fits.growth_exponent(T, R)
        assert abs(e["slope"] - p) < 0.01 and 0 < e["high"] - e["low"] < 0.05
        assert e["T_from"] >= T[-1] / 100
    assert fits.growth_exponent(T, -np.ones((2, T.size))) is None


def test_linear_rate_separates_the_transient():
    T = checkpoints(10**6).astype(float)
    R = 0.2 * T + 40 * np.sqrt(T) + 7
    r = fits.linear_rate(T, R[None])
    assert r["rate"] == pytest.approx(0.2, rel=1e-6)
    assert fits.linear_rate(T, (40 * np.sqrt(T))[None])["rate"] == pytest.approx(0, abs=1e-9)


def test_interval_uses_t_distribution():
    vals = np.array([[1.0], [2.0], [3.0]])
    mean, lo, hi = fits.t_interval(vals)
    half = 4.302652729911275 * 1.0 / math.sqrt(3)  # t_{0.975, 2} * sd / sqrt(n)
    assert mean[0] == 2 and hi[0] - 2 == pytest.approx(half)
    assert np.isnan(fits.t_interval(vals[:1])[1][0])


def test_verdicts():
    lin = {"slope": 0.99, "low": 0.98, "high": 1.0}
    sq = {"slope": 0.52, "low": 0.45, "high": 0.6}
    assert regret.verdict(lin, None, 1e5, 10**5, True, False).startswith("linear")
    assert "exceeds its theoretical bound" in regret.verdict(lin, None, 1e5, 10**5, True, False)
    assert regret.verdict(sq, None, 100, 10**5, False, False) == (
        "sublinear, consistent with O(sqrt T)"
    )
    fast = {"slope": 0.7, "low": 0.65, "high": 0.75}
    assert regret.verdict(fast, None, 100, 10**5, False, False) == "sublinear (exponent 0.70)"
    assert regret.verdict(sq, None, -1.0, 10**5, False, False) == "sublinear: R(T) <= 0"
    assert regret.verdict(sq, None, 1.0, 10, False, True) == "diverged (NaN/Inf)"
    rate = {"rate": 0.2, "low": 0.19, "high": 0.21}
    slow = {"slope": 0.8, "low": 0.7, "high": 0.92}  # transient on top of a linear part
    assert regret.verdict(slow, rate, 0.3 * 10**5, 10**5, False, False).startswith("linear")
    assert regret.verdict(fast, rate, 0.3 * 10**5, 10**5, False, False).startswith("sublinear")


CONSTS = {"G": 2.0, "G_inf": 1.5, "D": 2.0, "D_inf": 1.0, "sum_g_norms": 50.0,
          "sum_sqrt_T_vhat": 30.0, "sum_sqrt_vhat": 0.3, "ams_mid": 7.0}  # fmt: skip


def hp(name, **kw):
    return get_rule(name).validate(kw)


def test_bound_formulas_and_conditions():
    T = 10_000
    b = bounds.bound("sgd", hp("sgd", lr=0.5, lr_schedule="inv_sqrt"), T, 3, CONSTS, True, "x")
    assert b["value"] == pytest.approx(4 * 100 / 1.0 + 0.5 * 4 * 100)
    assert not bounds.bound("sgd", hp("sgd", lr=0.5), T, 3, CONSTS, True, "x")["applies"]
    b = bounds.bound("adagrad", hp("adagrad", lr=0.5), T, 3, CONSTS, False, "weighted")
    assert b["value"] == pytest.approx((1 / (2 * 0.5) + 0.5) * 50)
    # at the optimal alpha = D_inf / sqrt(2) it is sqrt(2) D_inf sum_i ||g_1:T,i||
    b = bounds.bound("adagrad", hp("adagrad", lr=1 / math.sqrt(2)), T, 3, CONSTS, True, "")
    assert b["value"] == pytest.approx(math.sqrt(2) * 50)
    assert not bounds.bound("adagrad", hp("adagrad", lr=0.5), T, 3, CONSTS, False, "euclidean")[
        "applies"
    ]
    # Adam Thm 4.1: beta1 = 0 -> lambda -> 0; beta1 > 0 needs lambda < 1
    a = hp("adam", lr=0.5, beta1=0.0, beta2=0.1, lr_schedule="inv_sqrt")
    b = bounds.bound("adam", a, T, 1, CONSTS, True, "")
    t1 = 4 / (2 * 0.5) * 30
    t2 = 0.5 * 1.5 / math.sqrt(0.9) * 50
    t3 = 1 * 1.5 * math.sqrt(0.9) / (2 * 0.5)
    assert b["value"] == pytest.approx(t1 + t2 + t3)
    assert not bounds.bound("adam", hp("adam", lr=0.1, lr_schedule="inv_sqrt"), T, 1, CONSTS,
                            True, "")["applies"]  # fmt: skip
    a = hp("adam", lr=0.1, beta1_decay=0.99, lr_schedule="inv_sqrt")
    assert bounds.bound("adam", a, T, 1, CONSTS, True, "")["applies"]
    a = hp("adam", lr=0.1, beta1=0.99, beta2=0.5, beta1_decay=0.9, lr_schedule="inv_sqrt")
    assert "beta1^2/sqrt(beta2)" in bounds.bound("adam", a, T, 1, CONSTS, True, "")["why"]
    a = hp("amsgrad", lr=0.1, beta1=0.0, beta2=0.25, lr_schedule="inv_sqrt")
    b = bounds.bound("amsgrad", a, T, 1, CONSTS, True, "")
    t3 = 0.1 * math.sqrt(1 + math.log(T)) / math.sqrt(0.75) * 50
    assert b["value"] == pytest.approx(100 / 0.1 * 0.3 + 7 / 2 + t3)
    assert not bounds.bound("adamax", hp("adamax"), T, 1, CONSTS, True, "")["applies"]


def test_logistic_exponents_from_the_engine():
    """Issue check: every optimizer's interval below 0.75, Adam's covering <= 0.6."""
    problem = make_problem("logistic")
    pts = [RunPoint(o, {"lr": 0.1, "lr_schedule": "constant" if o == "adagrad" else "inv_sqrt"})
           for o in ("adam", "amsgrad", "sgd", "adagrad", "adamax", "rmsprop-momentum",
                     "adam-nobias")]  # fmt: skip
    res = run(problem, pts, [0, 1, 2], 30_000)
    out = {r["optimizer"]: r for r in regret.rows(res)}
    for name, r in out.items():
        assert r["exponent"]["high"] < 0.75, name
        assert r["comparator_gap_over_R"] < 1e-4, name
        assert r["verdict"].startswith("sublinear"), name
    assert out["adam"]["exponent"]["low"] <= 0.6


def test_reddi_adam_row_exceeds_thm41():
    C = 3.0
    problem = make_problem("reddi", C=C)
    b = {"beta1": 0.0, "beta2": 1 / (1 + C * C), "lr": 0.5, "lr_schedule": "inv_sqrt"}
    res = run(problem, [RunPoint("adam", b), RunPoint("amsgrad", b)], [0], 20_000)
    adam, ams = regret.rows(res)
    assert adam["bound"]["applies"] and adam["R_T"] > adam["bound"]["value"]
    assert adam["verdict"] == "linear: does not converge; exceeds its theoretical bound"
    assert adam["R_over_T"] == pytest.approx(2 * (C - 2) / 3, rel=0.01)
    assert ams["bound"]["applies"] and ams["R_T"] < ams["bound"]["value"]
    assert ams["verdict"] == "sublinear, consistent with O(sqrt T)"
