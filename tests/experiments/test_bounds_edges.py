"""Legal values at the edges never crash a bound or a row (beta2 = 0, alpha = 5e-324, a
beta2 so small that gamma overflows), and the shared policy bounds every size before
anything is allocated (T, checkpoints per decade, seeds)."""

from __future__ import annotations

import math

import pytest

from adambench.core.registry import get_rule
from adambench.engines.regret.engine import RunPoint, run
from adambench.experiments import bounds
from adambench.experiments import regret as policy
from adambench.problems.online.registry import make_problem

CONSTS = {"G": 2.0, "G_inf": 1.5, "D": 2.0, "D_inf": 1.0, "sum_g_norms": 50.0,
          "sum_sqrt_T_vhat": 30.0, "sum_sqrt_vhat": 0.3, "ams_mid": 7.0}  # fmt: skip
TINY = 5e-324  # the smallest positive double: a legal lr (> 0)


def hp(name, **kw):
    return get_rule(name).validate(kw)


@pytest.mark.parametrize("beta1", [0.0, 0.5])
@pytest.mark.parametrize("name", ["adam", "amsgrad"])
def test_beta2_zero_does_not_apply_and_says_why(name, beta1):
    extra = {"bias_correction": False} if name == "amsgrad" else {"beta1_decay": 0.9}
    point = hp(name, lr=0.1, beta1=beta1, beta2=0.0, lr_schedule="inv_sqrt", **extra)
    b = bounds.bound(name, point, 1000, 2, CONSTS, True, "weighted")
    assert not b["applies"] and b["value"] is None
    assert b["why"].startswith("needs beta2 > 0") and "undefined at beta2 = 0" in b["why"]


def test_beta2_so_small_that_gamma_overflows_fails_the_condition():
    point = hp("adam", lr=0.1, beta1=0.5, beta2=TINY, beta1_decay=0.5, lr_schedule="inv_sqrt")
    b = bounds.bound("adam", point, 1000, 1, CONSTS, True, "")
    assert not b["applies"] and "needs beta1^2/sqrt(beta2) < 1, got 1.1" in b["why"]
    point = hp("amsgrad", lr=0.1, beta1=0.5, beta2=TINY, lr_schedule="inv_sqrt",
               bias_correction=False)  # fmt: skip
    b = bounds.bound("amsgrad", point, 1000, 1, CONSTS, True, "")
    assert not b["applies"] and "needs beta1/sqrt(beta2) < 1" in b["why"]


@pytest.mark.parametrize(
    "name, extra",
    [
        ("sgd", {"lr_schedule": "inv_sqrt"}),
        ("adagrad", {}),
        ("adam", {"beta1": 0.0, "lr_schedule": "inv_sqrt"}),
        ("adam", {"beta1_decay": 0.99, "lr_schedule": "inv_sqrt"}),
        ("amsgrad", {"lr_schedule": "inv_sqrt", "bias_correction": False}),
        ("amsgrad", {"lr_schedule": "inv_sqrt", "bias_correction": False, "beta1_decay": 0.9}),
    ],
)
def test_tiny_lr_gives_an_infinite_marked_bound(name, extra):
    b = bounds.bound(name, hp(name, lr=TINY, **extra), 1000, 2, CONSTS, True, "weighted")
    assert b["applies"] and b["value"] == math.inf
    assert bounds.OVERFLOW in b["why"]
    assert all(v >= 0 and not math.isnan(v) for v in b["terms"].values())


def test_huge_constants_overflow_to_inf_and_zero_stays_zero():
    point = hp("sgd", lr=0.5, lr_schedule="inv_sqrt")
    huge = {**CONSTS, "D": 1e200}  # D ** 2 raised OverflowError
    b = bounds.bound("sgd", point, 1000, 1, huge, True, "")
    assert b["value"] == math.inf and bounds.OVERFLOW in b["why"]
    zero = {**CONSTS, "D": 0.0}  # 0 / (2 alpha) is 0 even where 2 alpha underflows
    b = bounds.bound("sgd", hp("sgd", lr=TINY, lr_schedule="inv_sqrt"), 1000, 1, zero, True, "")
    assert b["terms"]["distance"] == 0.0 and b["value"] == b["terms"]["gradient"]
    nan = {**CONSTS, "D": math.nan}
    b = bounds.bound("sgd", point, 1000, 1, nan, True, "")
    assert math.isnan(b["value"]) and bounds.NOT_A_NUMBER in b["why"]


def test_ratio_is_exact_where_it_can_be_and_never_raises():
    assert bounds._ratio([2.0, 3.0], [4.0]) == 1.5
    assert bounds._ratio([1.0], [TINY, 2.0]) == math.inf  # den 1e-323 is fine: 1/1e-323 inf
    assert bounds._ratio([1.0], [TINY, TINY]) == math.inf  # den underflows to 0
    assert bounds._ratio([0.0, math.inf], [TINY]) == 0.0
    assert bounds._ratio([1e300, 1e300], [1e300]) == pytest.approx(1e300)  # via logs
    assert bounds._ratio([1e-300], [1e300]) == 0.0  # underflow: 0, no error
    assert math.isnan(bounds._ratio([math.nan], [1.0]))


@pytest.mark.parametrize(
    "name, point",
    [
        ("adam", {"beta2": 0.0, "lr_schedule": "inv_sqrt"}),
        ("amsgrad", {"beta2": 0.0, "lr_schedule": "inv_sqrt", "bias_correction": False}),
        ("amsgrad", {"lr": TINY, "lr_schedule": "inv_sqrt", "bias_correction": False}),
        ("sgd", {"lr": TINY, "lr_schedule": "inv_sqrt"}),
    ],
)
def test_rows_of_edge_points_are_complete(name, point):
    """The engine then the rows: what `regret --beta2 0` / `--lr 5e-324` crashed on."""
    res = run(make_problem("logistic"), [RunPoint(name, point)], [0], 10)
    (row,) = policy.rows(res)
    b = row["bound"]
    if point.get("beta2") == 0.0:
        assert not b["applies"] and "beta2 > 0" in b["why"]
    else:
        assert b["applies"] and b["vacuous"] and b["value"] == math.inf
    assert row["verdict"]["class"] in policy.VERDICT_CLASSES


def test_sizes_are_bounded_by_the_policy():
    assert policy.horizon(policy.MAX_T) == policy.MAX_T == 10**10
    assert policy.MAX_T * 11 <= policy.MAX_WORK  # one run at d = 1 fits the budget
    for bad in (policy.MAX_T + 1, "1e300", 1e300, "1e11"):
        with pytest.raises(policy.OptionError, match=r"T must be an integer in \[1, 1e10\]"):
            policy.horizon(bad)
    with pytest.raises(policy.OptionError) as e:
        policy.validate_options(10, per_decade=10**9)
    assert e.value.for_flag() == "--per-decade must be an integer in [5, 100], got 1000000000"
    assert policy.validate_options(10, per_decade=policy.MAX_PER_DECADE) == 10


def test_seeds_are_bounded_without_building_them():
    policy.validate_seeds(policy.MAX_SEEDS, 0)
    policy.validate_seeds(1, 2**64 - 1)
    policy.validate_seeds(2, 2**64 - 2)
    with pytest.raises(policy.OptionError) as e:
        policy.validate_seeds(10**9, 0)  # would be a 10^9-long list
    assert e.value.for_flag() == "--seeds must be an integer in [1, 10000], got 1000000000"
    for n, start in ((1, 2**64), (1, 2**64 + 1), (2, 2**64 - 1), (1, -1)):
        with pytest.raises(policy.OptionError) as e:
            policy.validate_seeds(n, start)
        assert e.value.field == "seed_start"
        assert e.value.for_flag().startswith("--seed-start must be an integer in [0, 2^64 - ")
    for bad in (0, True, 2.0):
        with pytest.raises(policy.OptionError, match="seeds must be an integer in"):
            policy.validate_seeds(bad)
