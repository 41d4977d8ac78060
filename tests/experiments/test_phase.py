"""Phase maps' policy: axes, the grid of runs, cells, boundaries and the theory's curves."""

import math

import pytest

from adambench.engines.regret.engine import run
from adambench.experiments import phase


def test_axes_linear_and_log():
    a = phase.parse_axis("beta1=0:0.9:4")
    assert a.name == "beta1" and a.values == pytest.approx((0.0, 0.3, 0.6, 0.9)) and not a.log
    b = phase.parse_axis("lr=0.001:0.1:3:log", "--y")
    assert b.log and b.values == pytest.approx((0.001, 0.01, 0.1))
    assert phase.parse_axis("C=3:3:1").values == (3.0,)


@pytest.mark.parametrize(
    "text, match",
    [("beta1", "name=lo:hi:n"), ("=0:1:3", "name=lo:hi:n"), ("beta1=0:1", "name=lo:hi:n"),
     ("beta1=0:1:3:lin", "name=lo:hi:n"), ("beta1=a:1:3", "numbers"), ("beta1=0:1:2.5", "integer"),
     ("beta1=0:nan:3", "finite"), ("beta1=0:1:0", r"\[1, 1000\]"), ("beta1=1:0:3", "lo < hi"),
     ("lr=0:1:3:log", "lo > 0")],
)  # fmt: skip
def test_bad_axes_are_one_line_errors(text, match):
    with pytest.raises(ValueError, match=match) as e:
        phase.parse_axis(text, "--x")
    assert "\n" not in str(e.value) and "--x" in str(e.value)


def test_plan_errors():
    x, y = phase.parse_axis("beta1=0:0.9:2"), phase.parse_axis("beta2=0.5:0.99:2")
    with pytest.raises(ValueError, match="must differ"):
        phase.plan("reddi", "adam", x, x)
    with pytest.raises(ValueError, match="neither a hyperparameter of adam .* parameter of"):
        phase.plan("reddi", "adam", x, phase.parse_axis("zeta=0:1:2"))
    with pytest.raises(ValueError, match="cell beta1=0, beta2=1.5"):
        phase.plan("reddi", "adam", x, phase.parse_axis("beta2=0.5:1.5:2"))
    with pytest.raises(ValueError, match="also an axis"):
        phase.plan("reddi", "adam", x, y, {"beta1": 0.5})


def test_plan_with_a_problem_axis_runs_one_problem_per_value():
    p = phase.plan("reddi", "adam", phase.parse_axis("beta2=0.1:0.9:3"),
                   phase.parse_axis("C=3:5:2"), {"beta1": 0.0})  # fmt: skip
    assert len(p.work) == 2 and p.cells == 6
    assert [prob.options["C"] for prob, _, _ in p.work] == [3.0, 5.0]
    for j, (_prob, points, cells) in enumerate(p.work):
        assert [c[1] for c in cells] == [j] * 3 and [c[0] for c in cells] == [0, 1, 2]
        assert [pt.hp["beta2"] for pt in points] == pytest.approx([0.1, 0.5, 0.9])


def test_boundaries_skip_undetermined_cells():
    L, S, U = "linear", "sublinear", "undetermined"
    classes = [[L, U, S, S], [S, S, S, S], [L, L, S, L]]
    b = phase.boundaries(classes, [0, 1, 2, 3], [10, 20, 30])
    assert [(e["at"], e["between"]) for e in b["along_x"]] == [
        (10, [0, 2]), (30, [1, 2]), (30, [2, 3])]  # fmt: skip
    assert [(e["at"], e["between"], e["from"]) for e in b["along_y"]] == [
        (0, [10, 20], L), (0, [20, 30], S), (1, [20, 30], S), (3, [20, 30], S)]  # fmt: skip


def test_theory_curves_on_their_axes():
    x, y = phase.parse_axis("beta1=0:0.99:5"), phase.parse_axis("beta2=0.5:0.9999:5")
    curves = {c["label"]: c for c in phase.theory(x, y, "reddi-stochastic")}
    assert set(curves) == {"beta1 = sqrt(beta2)", "beta1^2 / sqrt(beta2) = 1"}
    for b1, b2 in curves["beta1 = sqrt(beta2)"]["points"]:
        assert b1 == pytest.approx(math.sqrt(b2)) and 0 <= b1 <= 0.99
    for b1, b2 in curves["beta1^2 / sqrt(beta2) = 1"]["points"]:
        assert b1 * b1 / math.sqrt(b2) == pytest.approx(1.0)
    c = phase.theory(phase.parse_axis("C=2.5:10:4"), phase.parse_axis("beta2=0.01:0.2:4"), "reddi")
    assert [k["label"] for k in c] == ["beta2 = 1 / (1 + C^2)"]
    for cc, b2 in c[0]["points"]:
        assert b2 == pytest.approx(1 / (1 + cc * cc))
    assert phase.theory(phase.parse_axis("lr=0.1:1:2"), y, "reddi") == []


def test_cells_on_reddi_adam_fails_amsgrad_converges():
    # Reddi et al. Theorem 1: beta1 = 0, beta2 = 1/(1 + C^2): Adam at +1, linear regret;
    # AMSGrad on the same sequence: sublinear (deterministic, so one exact curve)
    x, y = phase.parse_axis("beta1=0:0:1"), phase.parse_axis("beta2=0.1:0.1:1")
    out = {}
    for opt in ("adam", "amsgrad"):
        p = phase.plan("reddi", opt, x, y, {"lr": 0.5})
        prob, points, cells = p.work[0]
        res = run(prob, points, [0, 1], 100_000)
        (rec,) = phase.cells(res, cells)
        out[opt] = rec
    assert out["adam"]["class"] == "linear" and out["adam"]["x_final"] > 0.99
    assert out["adam"]["R_over_T"] == pytest.approx(2 * (3 - 2) / 3, rel=0.05)
    assert out["amsgrad"]["class"] == "sublinear" and out["amsgrad"]["x_final"] < 0
    counts = phase.counts([out["adam"], out["amsgrad"]])
    assert counts == {"linear": 1, "sublinear": 1, "undetermined": 0, "diverged": 0}


def test_theorem3_region_counts():
    x, y = phase.parse_axis("beta1=0:0.9:2"), phase.parse_axis("beta2=0.25:0.64:2")
    recs = [{"ix": ix, "iy": iy, "class": "linear"} for ix in (0, 1) for iy in (0, 1)]
    r = phase.condition_shares(recs, x, y)
    # beta1 < sqrt(beta2): (0, .25), (0, .64) inside; (0.9, 0.25), (0.9, 0.64) outside
    assert r["inside"]["linear"] == 2 and r["outside"]["linear"] == 2
    assert phase.condition_shares(recs, phase.parse_axis("lr=0.1:1:2"), y) is None
