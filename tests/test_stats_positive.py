"""``stats.log_t_interval``: the geometric mean of positive samples and the Student-t
interval of their logs, back-transformed, checked against scipy.stats on the log scale;
its ends are positive where the plain t interval of the same losses goes below zero."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

from adambench.stats import log_t_interval, t_interval


@pytest.mark.parametrize("level", [0.95, 0.9])
def test_matches_scipy_on_the_log_scale(level):
    x = np.array([0.059, 0.012, 0.11, 0.031, 0.074])
    y = np.log(x)
    lo, hi = stats.t.interval(level, y.size - 1, loc=y.mean(), scale=stats.sem(y))
    gm, glo, ghi = log_t_interval(x, level)
    assert gm == pytest.approx(stats.gmean(x), rel=1e-12)
    assert (glo, ghi) == pytest.approx((math.exp(lo), math.exp(hi)), rel=1e-12)


def test_the_losses_of_the_report_get_a_positive_interval():
    """Three seeds whose plain t interval is [-0.009, 0.127] (the table's old cell)."""
    x = np.array([0.03, 0.048, 0.099])
    _, lo_t, _ = t_interval(x)
    assert lo_t < 0
    gm, lo, hi = log_t_interval(x)
    assert 0 < lo < gm < hi and lo < x.min() and hi > x.max()


def test_edges():
    gm, lo, hi = log_t_interval([0.2])
    assert gm == pytest.approx(0.2) and math.isnan(lo) and math.isnan(hi)
    assert log_t_interval([0.3, 0.3, 0.3]) == pytest.approx((0.3, 0.3, 0.3))
    for bad in ([0.1, 0.0], [0.1, -0.2], [0.1, float("nan")], [0.1, float("inf")], []):
        assert all(math.isnan(v) for v in log_t_interval(bad)), bad
