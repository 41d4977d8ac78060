"""The experiment policy that the CLI and the sweeps share ("policy once").

Defaults, validation and grids of a regret run (experiments/regret.py, grid.py), the
bound table keyed by ``Rule.theorem`` (bounds.py), the one t interval (stats/intervals.py) and the
one thread-pool setter (machine.py).
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats as sps

from adambench import machine, stats
from adambench.core.registry import RULES, get_rule
from adambench.experiments import bounds, grid
from adambench.experiments import regret as policy
from adambench.problems.online.registry import make_problem


def test_t_interval_edge_convention():
    v = np.array([0.1, 0.14, 0.12, 0.18])
    mean, lo, hi = stats.t_interval(v)
    assert isinstance(mean, float) and isinstance(lo, float)
    assert (lo, hi) == pytest.approx(sps.t.interval(0.95, 3, loc=v.mean(), scale=sps.sem(v)))
    assert all(math.isnan(x) for x in stats.t_interval([0.3])[1:])  # one sample: none
    assert stats.t_interval([2.0, 2.0, 2.0]) == (2.0, 2.0, 2.0)  # zero spread: zero width
    assert all(math.isnan(x) for x in stats.t_interval([1.0, np.inf])[1:])
    cols = np.array([[1.0, 5.0, 1.0], [3.0, 5.0, np.nan]])
    mean, lo, hi = stats.t_interval(cols)
    assert mean.shape == lo.shape == (3,) and lo[1] == hi[1] == 5.0
    assert np.isnan(lo[2]) and lo[0] < 2 < hi[0]


def test_option_errors_are_worded_for_the_flag_and_the_file():
    with pytest.raises(policy.OptionError) as e:
        policy.validate_options("1e5", per_decade=3)
    assert e.value.for_flag() == "--per-decade must be an integer in [5, 100], got 3"
    assert (
        e.value.for_config() == "config regret.per_decade: expected an integer in [5, 100], got 3"
    )
    for bad in (0, "0", "2.5", "abc", "inf", True, -3):
        with pytest.raises(policy.OptionError, match=r"T must be an integer in \[1, 1e10\]"):
            policy.horizon(bad)
    assert policy.horizon("1e6") == policy.horizon(10**6) == policy.horizon(1e6) == 10**6
    for kw, field in [({"dtype": "float16"}, "dtype"), ({"projection": "l1"}, "projection"),
                      ({"schedule": "cosine"}, "schedule"), ({"dim": 0}, "dim")]:  # fmt: skip
        with pytest.raises(policy.OptionError) as e:
            policy.validate_options(10, **kw)
        assert e.value.field == field


def test_default_point_follows_the_rule_declarations():
    reddi = make_problem("reddi", C=3.0)
    for name, rule in RULES.items():
        point = policy.default_point(reddi, rule)
        scale = 1.0 if rule.scale_free else reddi.constants["G_inf"]
        assert point["lr"] == reddi.default_lr / scale
        assert point["lr_schedule"] == rule.online_schedule
        has = {p.name for p in rule.params}
        assert {k for k in point if k not in ("lr", "lr_schedule")} == set(reddi.overrides) & has
        assert policy.default_point(reddi, rule, "constant")["lr_schedule"] == "constant", name
    assert get_rule("adagrad").online_schedule == "constant" and not get_rule("sgd").scale_free


def test_points_are_the_product_in_the_rules_order_over_the_default():
    prob = make_problem("logistic")
    adam = get_rule("adam")
    pts = policy.points(prob, adam, {"beta2": [0.99, 0.999], "lr": [1, 0.5]})
    assert [(p["lr"], p["beta2"]) for p in pts] == [(1.0, 0.99), (1.0, 0.999), (0.5, 0.99),
                                                    (0.5, 0.999)]  # fmt: skip
    assert list(pts[0]) == ["lr", "lr_schedule", "beta2"] and isinstance(pts[0]["lr"], float)
    with pytest.raises(ValueError, match="unknown hyperparameter 'momentum'"):
        grid.expand(adam, {}, {"momentum": [0.9]})
    with pytest.raises(ValueError, match=r"beta1 must be in \[0, 1\)"):
        grid.expand(adam, {}, {"beta1": [1.0]})


def test_budget_bounds_name_the_callers_options():
    prob = make_problem("logistic")
    work = [(prob, [object()] * 4)]
    policy.check_budget(1000, 2, work)
    with pytest.raises(ValueError, match="exceeds the bound.*lower --T, the grids, --seeds"):
        policy.check_budget(10**12, 2, work, {"T": "--T", "seeds": "--seeds", "dim": "--dim"})
    assert policy.run_work(10, 3, 5) == 10 * 3 * 15 and policy.state_bytes(3, 5) == 3 * 5 * 64


def test_every_declared_theorem_has_a_bound():
    for rule in RULES.values():
        assert rule.theorem is None or rule.theorem in bounds.THEOREMS
    hp = get_rule("adamax").validate({})
    c = dict.fromkeys(("G", "G_inf", "D", "D_inf", "sum_g_norms"), 1.0)
    assert bounds.bound("adamax", hp, 100, 1, c, True, "weighted")["why"] == bounds.NO_THEOREM


def test_thread_limits_set_and_restore():
    import numba

    before = numba.get_num_threads()
    with machine.thread_limits(numba=1, blas=1):
        assert numba.get_num_threads() == 1
    assert numba.get_num_threads() == before
    with machine.thread_limits():  # nothing asked: nothing changed
        assert numba.get_num_threads() == before
