"""AdaBelief's convex regret bound (Zhuang et al. 2020, Theorem 2.1; docs/theory.md §8.3):
its formula against a hand evaluation, its conditions (n/a with the reason where they do
not hold) and its statistics from a real run; Yogi and Lion have no theorem."""

from __future__ import annotations

import math

import pytest

from adambench.core.registry import get_rule
from adambench.engines.regret.engine import RunPoint, run
from adambench.experiments import bounds
from adambench.experiments import regret as policy
from adambench.problems.online.registry import make_problem

CONSTS = {"G": 2.0, "G_inf": 1.5, "D": 2.0, "D_inf": 1.0, "sum_g_norms": 50.0,
          "sum_sqrt_s": 0.4, "belief_mid": 9.0, "s_nondecreasing": True}  # fmt: skip
T = 10_000


def hp(**kw):
    return get_rule("adabelief").validate({"lr_schedule": "inv_sqrt", "eps": 1e-4, **kw})


def test_formula_by_hand():
    a, b1, eps = 0.1, 0.5, 1e-4
    b = bounds.bound("adabelief", hp(lr=a, beta1=b1, beta1_decay=0.9), T, 3, CONSTS, True, "")
    assert b["applies"] and b["sound"] and b["guarantee"] == "O(sqrt(T log T))"
    t1 = 1.0**2 * math.sqrt(T) / (2 * a * (1 - b1)) * 0.4  # D_inf^2 sqrt(T) sum sqrt(s_T)
    # (1 + b1) a sqrt(1 + log T) / (2 sqrt(c) (1 - b1)^3) * G_inf * sum_i ||g_1:T,i||
    t2 = (1 + b1) * a * math.sqrt(1 + math.log(T)) / (2 * math.sqrt(eps) * 0.5**3) * 1.5 * 50
    t3 = 1.0**2 / (2 * (1 - b1)) * 9.0  # D_inf^2 / (2 (1 - b1)) * belief_mid
    assert b["terms"] == pytest.approx({"s": t1, "gradients": t2, "momentum": t3}, rel=1e-14)
    assert b["value"] == pytest.approx(t1 + t2 + t3, rel=1e-14)
    assert "c = eps" in b["why"]
    # constant beta1 > 0: the exact last term grows like T^(3/2): no guarantee
    b = bounds.bound("adabelief", hp(lr=a, beta1=b1), T, 3, CONSTS, True, "")
    assert b["applies"] and b["guarantee"] is None and "T^(3/2)" in b["why"]
    # beta1 = 0: no momentum term, O(sqrt(T log T)) whatever lambda
    b = bounds.bound("adabelief", hp(lr=a, beta1=0.0), T, 3, {**CONSTS, "belief_mid": 0.0},
                     True, "")  # fmt: skip
    assert b["terms"]["momentum"] == 0 and b["guarantee"] == "O(sqrt(T log T))"


@pytest.mark.parametrize(
    "point, consts, box, projection, why",
    [
        ({"lr_schedule": "constant"}, CONSTS, True, "", "needs lr_schedule = inv_sqrt"),
        ({"eps_placement": "outside"}, CONSTS, True, "", "needs s_{t,i} >= c > 0"),
        ({"eps_placement": "root"}, CONSTS, True, "", "needs s_{t,i} >= c > 0"),
        ({"eps": 0.0}, CONSTS, True, "", "needs s_{t,i} >= c > 0"),
        ({}, CONSTS, False, "euclidean", "needs the sqrt(s_hat)-weighted projection"),
        ({}, {**CONSTS, "s_nondecreasing": False}, True, "", "needs s_{t,i} <= s_{t+1,i}"),
        (
            {},
            {k: v for k, v in CONSTS.items() if k != "s_nondecreasing"},
            True,
            "",
            "needs s_{t,i} <= s_{t+1,i}",
        ),
    ],
)
def test_not_applicable_says_why(point, consts, box, projection, why):
    b = bounds.bound("adabelief", hp(lr=0.1, beta1_decay=0.9, **point), T, 3, consts, box,
                     projection)  # fmt: skip
    assert not b["applies"] and b["value"] is None and b["why"].startswith(why)


def test_yogi_and_lion_have_no_theorem():
    for name in ("yogi", "lion"):
        assert get_rule(name).theorem is None
        b = bounds.bound(name, get_rule(name).validate({}), T, 1, CONSTS, True, "")
        assert not b["applies"] and b["why"] == bounds.NO_THEOREM


def test_engine_records_the_statistics_and_the_row_is_na():
    """A real run: sum_sqrt_s and belief_mid are recorded (belief_mid by hand from the
    iterates is out of reach, so: positive, and 0 at beta1 = 0), the row says n/a."""
    problem = make_problem("logistic")
    pts = [RunPoint("adabelief", {"lr": 0.1, "lr_schedule": "inv_sqrt", "beta1_decay": 0.99,
                                  "eps": 1e-8}),
           RunPoint("adabelief", {"lr": 0.1, "lr_schedule": "inv_sqrt", "beta1": 0.0,
                                  "eps": 1e-8})]  # fmt: skip
    res = run(problem, pts, [0], 2000)
    c = {k: float(v[0, -1]) for k, v in res.stats.items()}
    assert c["sum_sqrt_s"] > 0 and c["belief_mid"] > 0
    assert float(res.stats["belief_mid"][1, -1]) == 0.0
    rows = policy.rows(res)
    assert not rows[0]["bound"]["applies"]
    assert "s_{t,i} <= s_{t+1,i}" in rows[0]["bound"]["why"]
    # and with the hypothesis granted, the formula evaluates on the run's constants
    b = bounds.bound("adabelief", res.validated[0], 2000, problem.d,
                     {**c, "s_nondecreasing": True}, True, "")  # fmt: skip
    assert b["applies"] and b["value"] > 0


def test_statistics_match_a_hand_loop_on_reddi_synthetic():
    """belief_mid = sum_t beta1_t sqrt(s_t) / alpha_t and sum_sqrt_s = sqrt(s_T), by hand
    on reddi-synthetic (f_t = 1010 x if t mod 101 = 1 else -10 x, F = [-1, 1], x_1 = 0)."""
    import numpy as np

    from adambench import make_optimizer

    a, b1, lam, steps = 0.5, 0.9, 0.999, 3000
    point = {"lr": a, "lr_schedule": "inv_sqrt", "beta1": b1, "beta2": 0.99,
             "beta1_decay": lam, "eps": 1e-8}  # fmt: skip
    res = run(make_problem("reddi-synthetic"), [RunPoint("adabelief", point)], [0], steps)
    opt = make_optimizer("adabelief", **point)
    x = np.zeros(1)
    st = opt.init(x)
    mid = 0.0
    for t in range(1, steps + 1):
        g = np.array([1010.0 if t % 101 == 1 else -10.0])
        opt.reference_step(x, g, st)
        np.clip(x, -1.0, 1.0, out=x)
        mid += b1 * lam ** (t - 1) * math.sqrt(st.buffers["s"][0]) / (a / math.sqrt(t))
    assert float(res.stats["belief_mid"][0, -1]) == pytest.approx(mid, rel=1e-9)
    assert float(res.stats["sum_sqrt_s"][0, -1]) == pytest.approx(
        math.sqrt(st.buffers["s"][0]), rel=1e-9
    )
    assert float(res.stats["x0"][0, -1]) == pytest.approx(x[0], rel=1e-9, abs=1e-12)
