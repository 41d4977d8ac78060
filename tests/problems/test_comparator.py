"""The comparator against brute force on small instances, and its certified gap."""

import numpy as np
import pytest
from scipy import optimize

from adambench.problems.online import comparator
from adambench.problems.online import generate as kernels
from adambench.problems.online.reddi import coefficient_sum
from adambench.problems.online.registry import make_problem
from adambench.problems.streams import stream_key

LOSSES = {
    "logistic": lambda z, y: np.logaddexp(0, -y * z),
    "sparse-logistic": lambda z, y: np.logaddexp(0, -y * z),
    "least-squares": lambda z, y: 0.5 * (z - y) ** 2,
    "hinge": lambda z, y: np.maximum(0, 1 - y * z) ** 2,
    "linear": lambda z, y: z,
}


def explicit(problem, seed, T):
    """The stream's first T steps as a dense matrix A (T, d) and labels y."""
    keys = np.array([stream_key(seed)], dtype=np.uint64)
    prm = problem.params(seed)[None]
    idx = np.zeros((1, T, problem.nnz), np.int64)
    val = np.zeros((1, T, problem.nnz))
    y = np.zeros((1, T))
    kernels.gen_block(problem.family, keys, prm, 1, idx, val, y)
    A = np.zeros((T, problem.d))
    for t in range(T):
        np.add.at(A[t], idx[0, t], val[0, t])
    return A, y[0]


def brute(problem, A, y, x_hint):
    fun = LOSSES[problem.name]
    best = np.inf
    for x0 in (np.zeros(problem.d), x_hint):
        if problem.set_kind == "box":
            r = optimize.minimize(
                lambda x: fun(A @ x, y).sum(), x0, method="L-BFGS-B",
                bounds=[(-problem.radius, problem.radius)] * problem.d,
                options={"ftol": 1e-15, "gtol": 1e-12, "maxiter": 5000},
            )  # fmt: skip
            best = min(best, r.fun)
        else:
            r = optimize.minimize(
                lambda x: fun(A @ x, y).sum(), x0, method="SLSQP",
                constraints=[{"type": "ineq", "fun": lambda x: problem.radius**2 - x @ x}],
                options={"ftol": 1e-15, "maxiter": 1000},
            )  # fmt: skip
            if r.x @ r.x <= problem.radius**2 * (1 + 1e-9):
                best = min(best, r.fun)
    return best


@pytest.mark.parametrize(
    "name, kw",
    [
        ("logistic", {"dim": 4}),
        ("sparse-logistic", {"dim": 12}),
        ("least-squares", {"dim": 3}),
        ("least-squares", {"dim": 3, "feasible": "ball"}),
        ("hinge", {"dim": 3}),
        ("linear", {"dim": 3}),
        ("linear", {"dim": 3, "feasible": "ball"}),
    ],
)
def test_against_brute_force(name, kw):
    problem = make_problem(name, **kw)
    ends = np.array([1, 2, 7, 40, 250])
    c = comparator.compute(problem, [0, 3], ends)
    for s, seed in enumerate([0, 3]):
        A, y = explicit(problem, seed, ends[-1])
        for k, T in enumerate(ends):
            value_at = LOSSES[name](A[:T] @ c.argmin[s, k], y[:T]).sum()
            assert value_at == pytest.approx(c.value[s, k], rel=1e-10, abs=1e-10)
            assert np.all(np.abs(problem.project(c.argmin[s, k]) - c.argmin[s, k]) < 1e-12)
            best = brute(problem, A[:T], y[:T], c.argmin[s, k])
            # never worse than brute force beyond its certified gap, never below it
            assert c.value[s, k] <= best + c.gap[s, k] + 1e-9 * (1 + abs(best))
            assert c.gap[s, k] < 1e-8 * (1 + abs(best))


def test_reddi_closed_forms_count_exactly():
    for T in (1, 2, 3, 4, 100, 101, 102, 10**7):
        t = np.arange(1, T + 1) if T < 10**6 else None
        if t is not None:
            assert coefficient_sum("reddi", 3.0, T) == np.where(t % 3 == 1, 3.0, -1.0).sum()
            assert (
                coefficient_sum("reddi-synthetic", 0, T)
                == np.where(t % 101 == 1, 1010.0, -10.0).sum()
            )
    p = make_problem("reddi", C=5.0)
    c = comparator.compute(p, [0], np.array([1, 2, 3, 30]))
    # S_1 = 5 > 0 -> x* = -1, min = -5; S_3 = 3; S_30 = 10*5 - 20 = 30
    np.testing.assert_allclose(c.value[0], [-5, -4, -3, -30])


def test_stochastic_reddi_comparator_counts_the_stream():
    p = make_problem("reddi-stochastic")
    ends = np.array([10, 1000])
    c = comparator.compute(p, [4], ends)
    A, _ = explicit(p, 4, 1000)
    for k, T in enumerate(ends):
        assert c.value[0, k] == pytest.approx(-abs(A[:T, 0].sum()), rel=1e-12)
