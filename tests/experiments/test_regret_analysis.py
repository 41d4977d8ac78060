"""Fits, bounds and verdicts: on synthetic curves, and on the real engine (logistic)."""

import math

import numpy as np
import pytest

from adambench import stats as fits
from adambench.core.registry import get_rule
from adambench.engines.regret.engine import RunPoint, checkpoints, run
from adambench.experiments import bounds, regret
from adambench.problems.online.registry import make_problem


def test_log_slope_recovers_power_laws_per_seed_with_an_interval_across_seeds():
    T = checkpoints(10**6).astype(float)
    rng = np.random.default_rng(0)
    for p in (0.5, 1.0, 0.3):
        R = 3.0 * T**p * np.exp(rng.normal(0, 0.02, size=(4, T.size)))
        for row in R:
            assert abs(fits.log_slope(T, row) - p) < 0.03
        e = fits.growth_evidence(T, R)["windows"][0]["exponent"]
        assert e["n"] == 4 and abs(e["mean"] - p) < 0.02 and 0 < e["high"] - e["low"] < 0.05
    assert fits.log_slope(T, -np.ones(T.size)) is None


def test_slope_is_scipys_and_interval_is_scipys_to_the_bit():
    # computed without scipy's per-call wrappers (stats/intervals.py): the same numbers
    # (the slope of every curve in one pass: linregress's to rounding)
    from scipy import stats as st

    rng = np.random.default_rng(5)
    T = checkpoints(10**6).astype(float)
    R = 2.0 * T**0.6 * np.exp(rng.normal(0, 0.05, T.size))
    mask = fits.window(T) & (R > 0)
    slope = st.linregress(np.log(T[mask]), np.log(R[mask])).slope
    assert fits.log_slope(T, R) == pytest.approx(slope, rel=1e-12)
    cut = np.where(T < 1e5, -1.0, R)  # R <= 0 on part of the window: those points drop
    keep = mask & (T >= 1e5)
    other = st.linregress(np.log(T[keep]), np.log(R[keep])).slope
    slopes = fits.log_slopes(T, np.stack([R, 3.0 * R, cut]))
    assert slopes == pytest.approx([slope, slope, other], rel=1e-12) and other != slope
    v = rng.normal(0, 1, (5, 7))
    mean, lo, hi = fits.t_interval(v)
    half = st.t.ppf(0.975, 4) * st.sem(v, axis=0)
    assert np.array_equal(lo, v.mean(axis=0) - half) and np.array_equal(hi, mean + half)
    for k in range(v.shape[1]):  # one quantity's seeds (1-D): floats, the same bits
        m, low, high = fits.t_interval(v[:, k])
        assert (m, low, high) == (mean[k], lo[k], hi[k]) and isinstance(low, float)
    for n in (3, 9, 40):  # past numpy's 8-way unrolled sums
        w = rng.lognormal(0, 3, n)
        m, low, _ = fits.t_interval(w)
        assert (m, low) == (w.mean(), w.mean() - st.t.ppf(0.975, n - 1) * st.sem(w))


def test_rate_model_separates_the_transient():
    T = checkpoints(10**6).astype(float)
    f = fits.rate_model(T, 0.2 * T + 40 * np.sqrt(T) + 7)
    assert f["a"] == pytest.approx(0.2, rel=1e-6) and f["b"] == pytest.approx(40, rel=1e-6)
    assert f["T_from"] == pytest.approx(T[-1] / 100, rel=0.01)
    assert fits.rate_model(T, 40 * np.sqrt(T))["a"] == pytest.approx(0, abs=1e-9)
    assert fits.rate_model(T[:3], T[:3]) is None


def test_interval_uses_t_distribution():
    vals = np.array([[1.0], [2.0], [3.0]])
    mean, lo, hi = fits.t_interval(vals)
    half = 4.302652729911275 * 1.0 / math.sqrt(3)  # t_{0.975, 2} * sd / sqrt(n)
    assert mean[0] == 2 and hi[0] - 2 == pytest.approx(half)
    assert np.isnan(fits.t_interval(vals[:1])[1][0])


def test_across_seeds_gives_an_interval_only_from_distinct_seeds():
    rec = fits.across_seeds([1.0, 2.0, 3.0])
    assert rec["high"] - 2 == pytest.approx(4.302652729911275 / math.sqrt(3))
    assert rec["interval"].startswith("t, 95% across 3 seeds")
    one = fits.across_seeds([1.5])
    assert one["mean"] == 1.5 and one["low"] is None and one["interval"] == "none: one seed"
    exact = fits.across_seeds([2.0, 2.0], exact=True)
    assert exact["low"] is None and exact["n"] == 1 and "exact" in exact["interval"]
    assert fits.across_seeds([None, float("nan")])["mean"] is None


def test_seeds_needed_is_the_fewest_clearing_the_half_width():
    from scipy import stats as st

    n = fits.seeds_needed(1.0, 0.5)
    assert st.t.ppf(0.975, n - 1) / math.sqrt(n) < 0.5 <= st.t.ppf(0.975, n - 2) / math.sqrt(n - 1)
    assert fits.seeds_needed(1.0, 1e-6) is None and fits.seeds_needed(1.0, 0) is None


def _noisy(T, mean_curve, sd, seeds=5, seed=1):
    """Seeds of a curve with random-walk noise of sd * sqrt(T) (independent increments)."""
    rng = np.random.default_rng(seed)
    steps = np.diff(np.concatenate([[0.0], T]))
    walk = np.cumsum(rng.normal(0, 1, (seeds, T.size)) * np.sqrt(steps) * sd, axis=1)
    return mean_curve + walk


def test_growth_class_three_ways_on_synthetic_curves():
    T = checkpoints(10**6).astype(float)
    linear = fits.growth_class(fits.growth_evidence(T, _noisy(T, 0.2 * T + 50 * np.sqrt(T), 2)))
    assert linear["class"] == "linear" and linear["decide"] is None
    root = fits.growth_class(fits.growth_evidence(T, _noisy(T, 30 * np.sqrt(T) + 5, 0.05)))
    assert root["class"] == "sublinear" and root["sqrt_T"]
    slow = fits.growth_class(fits.growth_evidence(T, T**0.3 * 100, random=False))
    assert slow["class"] == "sublinear" and slow["sqrt_T"]
    for p in (0.6, 0.7, 0.8, 0.9):  # exact curves between: never called linear or sqrt(T)
        g = fits.growth_class(fits.growth_evidence(T, T**p, random=False))
        assert g["class"] == "undetermined" and g["decide"] == "a longer T", p
    # the noise of reddi-stochastic: five seeds cannot separate a = 0.4 from a sqrt(T) curve
    noisy = fits.growth_class(fits.growth_evidence(T, _noisy(T, 0.4 * T, 200)))
    assert noisy["class"] == "undetermined" and "more seeds" in noisy["decide"]
    assert fits.growth_class(fits.growth_evidence(T, -np.ones((3, T.size))))["class"] == (
        "sublinear"
    )


def test_one_or_five_identical_seeds_give_the_same_verdict_and_no_interval():
    T = checkpoints(10**5).astype(float)
    curve = 0.2 * T + 40 * np.sqrt(T) + np.sin(T)
    one = fits.growth_evidence(T, curve[None], random=False)
    five = fits.growth_evidence(T, np.tile(curve, (5, 1)), random=False)
    assert five["identical_curves"] and five["exact"] and one["exact"]
    for ev in (one, five):
        assert all(w["rate"]["low"] is None for w in ev["windows"])
    assert fits.growth_class(one) == fits.growth_class(five)
    assert fits.growth_class(one)["class"] == "linear"
    # one seed of a random problem decides nothing
    g = fits.growth_class(fits.growth_evidence(T, curve[None], random=True))
    assert g["class"] == "undetermined" and "--seeds" in g["decide"]


def _bound(applies=True, sound=True, guarantee="O(sqrt T)", over=0, theorem="OGD: D^2 ..."):
    return {"applies": applies, "sound": sound, "guarantee": guarantee,
            "exceeded_by_seeds": over, "theorem": theorem}  # fmt: skip


def test_verdict_uses_a_sound_theorem_against_a_transient():
    T = checkpoints(10**5).astype(float)
    ev = fits.growth_evidence(T, (0.2 * T + 40 * np.sqrt(T))[None], random=False)
    v = regret.verdict(ev, _bound(), False, False)
    assert v["class"] == "undetermined" and v["decide"] == "a longer T"
    assert v["text"] == "not yet asymptotic; OGD guarantees O(sqrt T)"
    unsound = regret.verdict(ev, _bound(sound=False, theorem="Kingma & Ba Thm 4.1"), True, False)
    assert unsound["class"] == "linear"
    assert unsound["text"].endswith("; exceeds its theoretical bound")
    assert regret.verdict(ev, _bound(guarantee=None), False, False)["class"] == "linear"
    assert regret.verdict(ev, _bound(over=1), False, False)["class"] == "linear"
    assert regret.verdict(None, _bound(), False, True)["text"] == "diverged (NaN/Inf)"
    root = fits.growth_evidence(T, (40 * np.sqrt(T))[None], random=False)
    v = regret.verdict(root, _bound(applies=False), False, False)
    assert v["class"] == "sublinear"
    assert v["text"].startswith("sublinear, consistent with O(sqrt T)")


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
    assert b["guarantee"] == "O(sqrt T)" and b["sound"]
    assert not bounds.bound("adamax", hp("adamax"), T, 1, CONSTS, True, "")["applies"]
    # constant beta1 > 0: Thm 4 with the exact middle sum, no O(sqrt T) guarantee
    a = hp("amsgrad", lr=0.1, beta1=0.5, beta2=0.81, lr_schedule="inv_sqrt")
    b = bounds.bound("amsgrad", a, T, 2, CONSTS, True, "")
    assert b["guarantee"] is None and "T^(3/2)" in b["why"]
    assert b["terms"]["momentum"] == pytest.approx(1 / (2 * 0.5) * 7)
    # Corollary 1: beta1_t = beta1 lambda^(t-1): the closed form, O(sqrt T)
    a = hp("amsgrad", lr=0.1, beta1=0.5, beta2=0.81, beta1_decay=0.9, lr_schedule="inv_sqrt")
    b = bounds.bound("amsgrad", a, T, 2, CONSTS, True, "")
    assert "Cor 1" in b["theorem"] and b["guarantee"] == "O(sqrt T)"
    assert b["terms"]["momentum"] == pytest.approx(0.5 * 1 * 2 * 1.5 / (2 * 0.1 * 0.5 * 0.01))
    # Kingma & Ba Thm 4.1 is evaluated but is not sound
    a = hp("adam", lr=0.1, beta1_decay=0.99, lr_schedule="inv_sqrt")
    assert bounds.bound("adam", a, T, 1, CONSTS, True, "")["sound"] is False
    assert bounds.trivial_bound(T, CONSTS) == T * 2.0 * 2.0


def test_corollary_1_closed_form_bounds_the_exact_middle_term():
    """On a real run the summed middle term of Thm 4 stays below Corollary 1's constant."""
    problem = make_problem("logistic")
    point = {"lr": 0.1, "lr_schedule": "inv_sqrt", "beta1_decay": 0.99}
    res = run(problem, [RunPoint("amsgrad", point)], [0], 20_000)
    (row,) = regret.rows(res)
    c = {k: float(v[0, -1]) for k, v in res.stats.items()}
    exact = c["D_inf"] ** 2 / (2 * (1 - 0.9)) * c["ams_mid"]
    assert 0 < exact <= row["bound"]["terms"]["momentum"]
    assert row["bound"]["guarantee"] == "O(sqrt T)"


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
        assert r["verdict"]["class"] in ("sublinear", "undetermined"), (name, r["verdict"])
        assert r["exponent"]["seeds"] == 3 and r["exponent"]["low"] is not None
    assert out["adam"]["exponent"]["low"] <= 0.6


def test_reddi_adam_row_exceeds_thm41():
    C = 3.0
    problem = make_problem("reddi", C=C)
    b = {"beta1": 0.0, "beta2": 1 / (1 + C * C), "lr": 0.5, "lr_schedule": "inv_sqrt"}
    res = run(problem, [RunPoint("adam", b), RunPoint("amsgrad", b)], [0], 20_000)
    adam, ams = regret.rows(res)
    assert adam["bound"]["applies"] and adam["R_T"] > adam["bound"]["value"]
    assert adam["verdict"]["class"] == "linear"
    assert adam["verdict"]["text"].endswith("; exceeds its theoretical bound")
    assert adam["R_over_T"] == pytest.approx(2 * (C - 2) / 3, rel=0.01)
    assert adam["limit_R_over_T"]["rate"] == pytest.approx(2 * (C - 2) / 3, rel=1e-3)
    assert ams["bound"]["applies"] and ams["R_T"] < ams["bound"]["value"]
    assert ams["verdict"]["class"] == "sublinear"
    assert ams["verdict"]["text"].startswith("sublinear, consistent with O(sqrt T)")


def test_reddi_synthetic_one_and_five_seeds_same_verdict_no_interval():
    problem = make_problem("reddi-synthetic")
    point = {"lr": 0.5, "lr_schedule": "inv_sqrt", "beta1": 0.9, "beta2": 0.99}
    rows = [regret.rows(run(problem, [RunPoint("adam", point)], list(range(n)), 200_000))[0]
            for n in (1, 5)]  # fmt: skip
    one, five = rows
    assert five["identical_curves"] and five["R_T_interval"] == [None, None]
    assert one["verdict"] == five["verdict"]
    for r in rows:
        assert r["exponent"]["low"] is None and r["limit_R_over_T"]["low"] is None


def test_vacuous_bound_is_marked():
    """AMSGrad at a constant beta1 on reddi-stochastic: Thm 4 is far above T G D."""
    problem = make_problem("reddi-stochastic")
    point = {"lr": 0.5, "lr_schedule": "inv_sqrt", "beta1": 0.9, "beta2": 0.99}
    (row,) = regret.rows(run(problem, [RunPoint("amsgrad", point)], [0, 1], 20_000))
    b = row["bound"]
    assert b["applies"] and b["guarantee"] is None
    assert b["vacuous"] and b["value"] > b["trivial_bound"] > 0
