"""The runs-as-lanes loop: bit for bit the per-run loop's results, and its coefficient rows."""

import dataclasses

import numpy as np
import pytest

from adambench.core.registry import RULES, get_rule
from adambench.engines.regret import lanes
from adambench.engines.regret.engine import RunPoint, run
from adambench.problems.online.base import PROJ_BALL, PROJ_BALL_WEIGHTED, PROJ_BOX
from adambench.problems.online.registry import make_problem

# points that settle early, late, never (alpha/sqrt(t)) and with a decaying beta1
_SCHEDULES = ("constant", "inv_sqrt")
_GRID = [
    {"beta1": b1, "beta2": b2, "lr": 0.3, "lr_schedule": s}
    for b1 in (0.0, 0.9)
    for b2 in (0.5, 0.999)
    for s in _SCHEDULES
]


def _same(a, b):
    assert np.array_equal(a.regret, b.regret, equal_nan=True)
    assert np.array_equal(a.cum_loss, b.cum_loss, equal_nan=True)
    assert np.array_equal(a.x_final, b.x_final, equal_nan=True)
    assert np.array_equal(a.diverged, b.diverged)
    for name in a.stats:
        assert np.array_equal(a.stats[name], b.stats[name], equal_nan=True), name


# each rule's own switches and decays, beside the grid's (both schedules for each)
_OWN = {
    "sgd": [{"momentum": 0.9}, {"momentum": 0.5, "weight_decay": 0.1},
            {"momentum": 0.9, "nesterov": True}],
    "adagrad": [{"initial_accumulator": 0.5}, {"eps": 0.0, "weight_decay": 0.1}],
    "rmsprop-momentum": [{"decay": 0.5, "momentum": 0.9}, {"centered": True, "momentum": 0.5},
                         {"eps_inside": True, "eps": 0.1}],
    "adamax": [{"eps": 1e-3, "weight_decay": 0.1}],
    "lion": [{"weight_decay": 0.1, "beta2": 0.5}],
    "adamw": [{"weight_decay": 0.1}, {"weight_decay": 0.1, "amsgrad": True}],
    "nadam": [{"momentum_decay": 0.01, "weight_decay": 0.1},
              {"decoupled_weight_decay": True, "weight_decay": 0.1}],
    "radam": [{"rho_threshold": 100.0}, {"decoupled_weight_decay": True, "weight_decay": 0.1}],
}  # fmt: skip
LANE_RULES = sorted(n for n, r in RULES.items() if r.kernel is not None and r.kernel.lane)


def _points(optimizer):
    has = {p.name for p in get_rule(optimizer).params}
    grid = [{k: v for k, v in hp.items() if k in has} for hp in _GRID]
    grid += [{**own, "lr_schedule": s} for own in _OWN.get(optimizer, []) for s in _SCHEDULES]
    pts = [RunPoint(optimizer, hp) for hp in grid]
    if "beta1_decay" in has:
        pts.append(RunPoint(optimizer, {"beta1": 0.9, "beta1_decay": 0.999, "lr": 0.3}))
    return pts


def test_every_rule_has_a_lane():
    assert LANE_RULES == sorted(RULES)


@pytest.mark.parametrize(
    "optimizer, dtype", [(n, "float64") for n in LANE_RULES] + [("adam", "float32")]
)
def test_lanes_equal_steps_bit_for_bit_on_reddi_stochastic(optimizer, dtype):
    problem = make_problem("reddi-stochastic")
    pts = _points(optimizer)
    # blocks of 300 steps: the settled rows change between blocks, tables in pieces
    a = run(problem, pts, [0, 1, 2], 3000, dtype=dtype, loop="steps", block=300)
    b = run(problem, pts, [0, 1, 2], 3000, dtype=dtype, loop="auto", block=300)
    _same(a, b)


@pytest.mark.parametrize("name", ["reddi", "reddi-synthetic"])
def test_lanes_equal_steps_on_the_deterministic_reddi_problems(name):
    problem = make_problem(name)
    pts = _points("amsgrad") + [RunPoint("amsgrad", {"bias_correction": True, "lr": 0.1})]
    _same(run(problem, pts, [0, 1], 2000, loop="steps"), run(problem, pts, [0, 1], 2000))


def test_forced_lanes_equal_steps_in_three_dimensions_on_the_ball():
    # (the box's clipping is the d = 1 tests'); a_t dense: every coordinate's selects.
    # An alpha near the largest float overflows the step: x_t = inf, scaled onto the ball
    # to nan, so that those runs diverge inside a block, among runs that do not: the fast
    # loop counts it, and the block runs again on the exact one
    projection = "euclidean"
    problem = make_problem("linear", dim=3, feasible="ball")
    huge = [RunPoint("adam", {"beta1": 0.9, "beta2": b2, "lr": 1.7e308}) for b2 in (0.5, 0.999)]
    pts = _points("adam") + huge
    with np.errstate(over="ignore"):
        a = run(problem, pts, [4, 5], 1500, projection=projection, loop="steps", block=500)
        b = run(problem, pts, [4, 5], 1500, projection=projection, loop="lanes", block=500)
    _same(a, b)
    assert a.diverged[-4:].all() and not a.diverged[:-4].any()


@pytest.mark.parametrize(
    "name, dim, optimizer, projection",
    [("logistic", 4, "adam", "weighted"), ("least-squares", 4, "adam", "weighted"),
     ("hinge", 3, "amsgrad", "euclidean"), ("sparse-logistic", 6, "adam", "weighted")],
)  # fmt: skip
def test_lanes_equal_steps_in_several_dimensions(name, dim, optimizer, projection):
    # dense a_t in coordinate order (logistic on a box, hinge on a ball: entry e is
    # coordinate e, no selects) and sparse (3 entries of 6 coordinates: the selects), with
    # a loss whose slope varies, so that every run keeps its own gradient statistics.
    # logistic and least-squares have one loop but for the loss: numba's disk cache once
    # served the first's loop for the second (the loss is a constant, not in its source)
    problem = make_problem(name, dim=dim)
    proj = problem.projection_kind(projection)
    assert lanes.supports(get_rule(optimizer), dim, proj, "lanes")
    pts = _points(optimizer)
    a = run(problem, pts, [0, 1], 1200, projection=projection, loop="steps", block=400)
    b = run(problem, pts, [0, 1], 1200, projection=projection, loop="lanes", block=400)
    _same(a, b)


def test_which_runs_take_the_lanes_loop():
    adam = get_rule("adam")
    assert lanes.supports(adam, 1, PROJ_BOX)
    assert not lanes.supports(adam, 1, PROJ_BOX, "steps")
    no_lane = dataclasses.replace(adam, kernel=dataclasses.replace(adam.kernel, lane=None))
    assert not lanes.supports(no_lane, 1, PROJ_BOX)  # no lane step: the per-run loop
    assert not lanes.supports(adam, 3, PROJ_BOX) and lanes.supports(adam, 3, PROJ_BOX, "lanes")
    assert not lanes.supports(adam, lanes.MAX_D + 1, PROJ_BOX, "lanes")
    assert lanes.supports(adam, 1, PROJ_BALL)
    assert not lanes.supports(adam, 1, PROJ_BALL_WEIGHTED)  # Newton per run stays there
    assert lanes.supports(get_rule("sgd"), 1, PROJ_BALL_WEIGHTED)  # V_t = I: the ball's


def test_bad_loop_is_refused():
    with pytest.raises(ValueError, match="loop must be auto | steps | lanes"):
        run(make_problem("reddi"), [RunPoint("adam", {})], [0], 10, loop="fast")


def _given(rule, rng, n):
    """n runs' values: betas, decays and momenta across [0, 1), lr across [0.01, 1], half
    the runs with weight decay, half with a decaying beta1; switches on where they exist
    (bias correction, amsgrad, the rule's other forms)."""
    names = {p.name for p in rule.params}
    given = {"lr": rng.uniform(0.01, 1, n), "lr_schedule": "constant"}
    for name, top in (("beta1", 0.999), ("beta2", 0.9999), ("decay", 0.999), ("momentum", 0.999)):
        if name in names:
            given[name] = rng.uniform(0, top, n)
    if "weight_decay" in names:
        given["weight_decay"] = np.where(rng.random(n) < 0.5, 0.0, rng.uniform(0, 0.1, n))
    if "beta1_decay" in names:
        given["beta1_decay"] = np.where(rng.random(n) < 0.5, 1.0, rng.uniform(0.9, 1, n))
    for name in ("bias_correction", "amsgrad", "centered", "decoupled_weight_decay"):
        if name in names:
            given[name] = True
    return given


def _one(hp, k, n):
    """Run k's values alone (a value shared by the runs is kept as it is)."""
    return {key: v[k : k + 1] if np.ndim(v) and np.size(v) == n else v for key, v in hp.items()}


SETTLING = [n for n in LANE_RULES if RULES[n].settles is not None]


def test_the_rules_whose_rows_never_settle():
    # NAdam's mu_t product changes every step: its rows are computed for every step
    assert sorted(set(LANE_RULES) - set(SETTLING)) == ["nadam"]


@pytest.mark.parametrize("optimizer", SETTLING)
def test_rows_are_constant_from_the_settling_step(optimizer):
    rule = get_rule(optimizer)
    rng = np.random.default_rng(3)
    n = 64
    given = _given(rule, rng, n)
    hp = rule.validate(given)
    t_star = rule.settles(hp)
    assert np.all(np.isfinite(t_star)) and np.all(t_star >= 1)
    for k in range(n):
        one = _one(hp, k, n)
        t = int(t_star[k])
        row = rule.coefficients(one, t)
        # each run's row from its own values alone (the engine computes rows for subsets)
        assert row.shape == (1, len(rule.kernel.coefs))
        assert np.array_equal(rule.coefficients(hp, t)[k], row[0]), (optimizer, k)
        for later in (t + 1, t + 7, 3 * t + 11, 10**9):
            assert np.array_equal(rule.coefficients(one, later), row), (optimizer, k, later)
    # alpha/sqrt(t): the same rows but for the alpha_t columns, which are lr / sqrt(t);
    # a row with another column that alpha_t moves (a decay 1 - alpha_t lambda) never settles
    hp = rule.validate({**given, "lr_schedule": "inv_sqrt"})
    cols = [rule.kernel.index(c) for c in rule.kernel.alpha_coefs]
    t_star = rule.settles(hp)
    assert np.all(t_star >= 1) and (cols or not np.isfinite(t_star).any())
    for k in np.flatnonzero(np.isfinite(t_star)):
        t = int(t_star[k])
        one = _one(hp, k, n)
        row = rule.coefficients(one, t)
        for later in (t + 1, 5 * t + 3, 10**9):
            got = rule.coefficients(one, later)
            want = row.copy()
            want[..., cols] = hp["lr"][k] / np.sqrt(later)
            assert np.array_equal(got, want), (optimizer, k, later)
