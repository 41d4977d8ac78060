"""The regret engine: equal to a plain NumPy loop, batched == one by one, Reddi checks."""

import numpy as np
import pytest

from adambench.engines.regret.engine import RunPoint, checkpoints, run
from adambench.engines.regret.reference import run_numpy
from adambench.problems.online.comparator import Comparator
from adambench.problems.online.registry import make_problem

INV = {"lr_schedule": "inv_sqrt"}


def test_checkpoints_log_spaced():
    ends = checkpoints(10**6)
    assert ends[0] == 1 and ends[-1] == 10**6 and np.all(np.diff(ends) > 0)
    for lo in range(6):  # at least 5 per decade
        assert ((ends > 10**lo) & (ends <= 10 ** (lo + 1))).sum() >= 5
    assert checkpoints(1).tolist() == [1]
    assert checkpoints(37)[-1] == 37


@pytest.mark.parametrize(
    "name, kw, optimizer, hp, projection",
    [
        ("logistic", {"dim": 5}, "adam", {"lr": 0.3, **INV}, "weighted"),
        ("sparse-logistic", {"dim": 20}, "adagrad", {"lr": 0.5}, "weighted"),
        (
            "least-squares",
            {"dim": 4, "feasible": "ball"},
            "amsgrad",
            {"lr": 0.2, **INV},
            "weighted",
        ),
        ("hinge", {"dim": 6}, "adam", {"lr": 0.3, **INV}, "weighted"),
        ("hinge", {"dim": 6}, "adagrad", {"lr": 0.3}, "weighted"),
        ("hinge", {"dim": 6}, "adam", {"lr": 0.3, **INV}, "euclidean"),
        ("linear", {"dim": 3}, "sgd", {"lr": 0.1, **INV}, "weighted"),
        ("reddi", {}, "adam", {"lr": 0.5, "beta1": 0.0, "beta2": 0.1, **INV}, "weighted"),
    ],
)
def test_engine_equals_numpy_reference(name, kw, optimizer, hp, projection):
    problem = make_problem(name, **kw)
    T = 700
    res = run(problem, [RunPoint(optimizer, hp)], [2], T, projection=projection, block=64)
    total, x = run_numpy(problem, optimizer, hp, 2, T, projection=projection)
    assert res.cum_loss[0, -1] == pytest.approx(total, rel=1e-9, abs=1e-9)
    np.testing.assert_allclose(res.x_final[0], x, rtol=1e-8, atol=1e-10)


def test_weighted_and_euclidean_projections_differ_on_the_ball():
    problem = make_problem("hinge", dim=6)
    pts = [RunPoint("adam", {"lr": 0.3, **INV})]
    a = run(problem, pts, [0], 2000, projection="weighted")
    b = run(problem, pts, [0], 2000, projection="euclidean")
    assert a.projection == "weighted" and b.projection == "euclidean"
    assert abs(a.regret[0, -1] - b.regret[0, -1]) > 1e-6
    for res in (a, b):
        assert np.linalg.norm(res.x_final[0]) <= problem.radius * (1 + 1e-12)


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_batched_equals_one_by_one(dtype):
    problem = make_problem("logistic", dim=6)
    points = [
        RunPoint("adam", {"lr": 0.2, **INV}),
        RunPoint("adam", {"lr": 0.05, "beta1": 0.5, **INV}),
        RunPoint("amsgrad", {"lr": 0.2, **INV}),
        RunPoint("sgd", {"lr": 0.1, **INV}),
        RunPoint("adagrad", {"lr": 0.3}),
        RunPoint("rmsprop-momentum", {"lr": 0.01, **INV}),
        RunPoint("adamax", {"lr": 0.2, **INV}),
    ]
    seeds = [0, 5]
    T = 800
    batch = run(problem, points, seeds, T, dtype=dtype, block=200)
    c = batch.comparator
    for p, point in enumerate(points):
        for s, seed in enumerate(seeds):
            own = Comparator(c.ends, c.value[s : s + 1], c.argmin[s : s + 1], c.gap[s : s + 1], "")
            one = run(problem, [point], [seed], T, dtype=dtype, block=512, comparator=own)
            r = p * len(seeds) + s
            np.testing.assert_array_equal(batch.regret[r], one.regret[0])
            np.testing.assert_array_equal(batch.x_final[r], one.x_final[0])


def test_memory_is_independent_of_T():
    """Nothing in the result or the engine grows with T beyond the checkpoints."""
    problem = make_problem("reddi")
    pts = [RunPoint("sgd", {"lr": 0.5, **INV})]
    small = run(problem, pts, [0], 10**3)
    big = run(problem, pts, [0], 10**5)
    assert big.x_final.shape == small.x_final.shape
    assert big.regret.shape[1] == len(checkpoints(10**5)) <= 5 * 5 + 2


def reddi_runs(name, T, optimizers, **hp):
    """lr 0.5 (0.5/sqrt(t) but AdaGrad's own decay); SGD's lr divided by G_inf, as the CLI
    does: SGD is not scale-invariant, and at 0.5/sqrt(t) with |g| = 1010 its R(T)/T on
    reddi-synthetic still grows up to T ~ 1e6 (observed; it falls after)."""
    problem = make_problem(name)
    pts = []
    for o in optimizers:
        lr = 0.5 / problem.constants["G_inf"] if o == "sgd" else 0.5
        sched = "constant" if o == "adagrad" else "inv_sqrt"
        extra = hp if o in ("adam", "amsgrad") else {}
        pts.append(RunPoint(o, {"lr": lr, "lr_schedule": sched, **extra}))
    return problem, run(problem, pts, [0], T)


def test_reddi_synthetic_adam_to_plus_one_amsgrad_to_minus_one():
    from adambench.stats import rate_model

    T = 200_000
    _, res = reddi_runs(
        "reddi-synthetic", T, ["adam", "amsgrad", "sgd", "adagrad"], beta1=0.9, beta2=0.99
    )
    RT = res.regret / res.ends
    # Adam: iterate -> +1 and R(T)/T -> 20/101 (a T + b sqrt(T) fit separates the transient)
    assert res.x_final[0, 0] > 0.98 and res.stats["x0"][0, -6:].min() > 0.95
    assert rate_model(res.ends, res.regret[0])["a"] == pytest.approx(20 / 101, rel=0.05)
    assert 20 / 101 < RT[0, -1] < 0.35
    # AMSGrad: iterate -> -1 and R(T)/T falls towards 0
    assert res.x_final[1, 0] < -0.9
    assert RT[1, -1] < RT[1, -6] / 2 and RT[1, -1] < 0.1
    # SGD and AdaGrad: R(T)/T falls over the last decade
    for r in (2, 3):
        assert RT[r, -1] < 0.8 * RT[r, -6]
        assert res.x_final[r, 0] < 0


def test_reddi_adam_linear_regret_others_converge():
    C = 3.0
    _, res = reddi_runs("reddi", 50_000, ["adam", "amsgrad", "sgd", "adagrad"], beta1=0.0,
                        beta2=1 / (1 + C**2))  # fmt: skip
    RT = res.regret[:, -1] / res.ends[-1]
    assert RT[0] == pytest.approx(2 * (C - 2) / 3, rel=0.01)
    assert res.x_final[0, 0] > 0.99
    for r in (1, 2, 3):
        assert RT[r] < 0.02 and res.x_final[r, 0] < -0.99
