"""Plugins through entry points: the example package's optimizer and task, a broken
plugin reported and skipped, ``adambench list`` showing origins."""

from __future__ import annotations

import numpy as np
import pytest
from plugin_fixtures import install, uninstall
from typer.testing import CliRunner

from adambench.cli.app import app
from adambench.core import plugins


@pytest.fixture
def with_broken(monkeypatch, tmp_path):
    install(monkeypatch, tmp_path, broken=True)
    yield
    uninstall()


def test_no_plugins_by_default():
    plugins.reset()
    assert "signsgd" not in plugins.optimizers()
    with pytest.raises(ValueError, match="unknown optimizer 'signsgd'"):
        from adambench import make_optimizer

        make_optimizer("signsgd")


def test_signsgd_steps_through_make_optimizer(example):
    from adambench import make_optimizer

    opt = make_optimizer("signsgd", lr=np.array([0.1, 0.01]), momentum=0.5)
    p = np.zeros((2, 3), np.float32)
    g = np.array([[1.0, -2.0, 0.0], [-1.0, 3.0, 2.0]], np.float32)
    state = opt.init(p)
    opt.step(p, g, state)
    np.testing.assert_allclose(p, [[-0.1, 0.1, 0.0], [0.01, -0.01, -0.01]], rtol=1e-6)
    assert p.dtype == np.float32
    opt.step(p, -3 * g, state)  # m = 0.25 g - 1.5 g: the sign flips
    np.testing.assert_allclose(p, [[0.0, 0.0, 0.0], [0.0, 0.0, 0.0]], atol=1e-7)


def test_hinge_task_gradient_matches_finite_differences(example):
    task = plugins.problems()["hinge-linear"].obj(4, 3, None, 1.0)
    rng = np.random.default_rng(0)
    params = rng.standard_normal((2, task.size))
    x = rng.standard_normal((1, 7, 4))
    y = rng.integers(0, 3, (1, 7))
    grads = np.zeros_like(params)
    task.loss_and_grad(params, x, y, {}, grads)
    h = 1e-6
    for j in (0, 5, task.size - 1):
        e = np.zeros_like(params)
        e[:, j] = h
        fd = (task.evaluate(params + e, x, y, {})[0] - task.evaluate(params - e, x, y, {})[0]) / (
            2 * h
        )
        np.testing.assert_allclose(grads[:, j], fd, rtol=1e-5, atol=1e-8)


def test_list_shows_plugins_with_origin(example):
    res = CliRunner().invoke(app, ["list", "--json"])
    assert res.exit_code == 0, res.output
    import json

    docs = {d["name"]: d for d in json.loads(res.stdout)["optimizers"]}
    assert docs["adam"]["origin"] == "built-in"
    assert docs["signsgd"]["origin"].startswith("plugin: adambench_example_plugin 0.1.0")
    res = CliRunner().invoke(app, ["list", "problems"])
    assert res.exit_code == 0, res.output
    assert "hinge-linear" in res.stdout and "plugin" in res.stdout


def test_broken_plugin_is_reported_and_skipped(with_broken, capsys):
    good = plugins.optimizers()
    err = capsys.readouterr().err
    assert "signsgd" in good and "ghost" not in good
    assert "skipping broken optimizer plugin 'ghost'" in err
    assert "'adam' is a built-in optimizer" in err
    assert {b.name for b in plugins.broken()} == {"ghost", "adam"}
    res = CliRunner().invoke(app, ["list", "--json"])  # other commands still work
    assert res.exit_code == 0
    from adambench import make_optimizer

    assert make_optimizer("adam").rule.kernel.name == "adam"  # the built-in wins


def test_plugin_rule_plans_in_a_regret_sweep(example):
    """Once refused (the regret engine ran compiled kernels only), a rule without a kernel
    now plans into units: the engine runs it on its reference step
    (tests/core/test_plugin_commands.py runs such a sweep)."""
    from adambench.sweep import config, plan

    cfg = config.parse(
        {
            "sweep": {"kind": "regret", "seeds": 1},
            "regret": {"problems": ["reddi"], "T": 100},
            "optimizers": {"signsgd": {}},
        }
    )
    (unit,) = plan.plan(cfg)
    assert unit.spec["optimizer"] == "signsgd" and unit.runs == 1


def test_plugin_optimizer_and_task_in_a_run_sweep(example, tmp_path):
    from adambench.sweep import config, plan, runner
    from adambench.sweep.executors import InlineExecutor
    from adambench.sweep.store import Store

    cfg = config.parse(
        {
            "sweep": {"kind": "run", "seeds": 2},
            "run": {"tasks": ["hinge-linear"], "epochs": 2, "batch_size": 256},
            "optimizers": {"signsgd": {"lr": [1e-3, 1e-2]}, "adam": {"lr": 1e-2}},
        }
    )
    units = plan.plan(cfg)
    sid = plan.sweep_id(cfg)
    store = Store.open(tmp_path / "out", sid, cfg.name, cfg.identity(), units)
    out = runner.execute(units, store, InlineExecutor(threads=1))
    assert out.complete and not out.failed
    rows = runner.merge(cfg, sid, units, out, "inline")["rows"]
    assert [(r["optimizer"], r["hyperparameters"]["lr"]) for r in rows] == [
        ("signsgd", 1e-3), ("signsgd", 1e-2), ("adam", 1e-2)
    ]  # fmt: skip
    for r in rows:  # training reduced the loss from its start (about 1 for the hinge)
        assert r["final_train_loss"] < r["train_loss_mean_curve"][0]


def test_a_plugin_rule_with_a_kernel_is_refused():
    """The compiled dispatch is generated from the built-in rules: a plugin steps with its
    NumPy reference, so a plugin Rule carrying a Kernel is reported, not half-used.  A
    plugin Rule without a training lr grid centre gets its lr default."""
    import dataclasses

    from adambench.core.registry import RULES

    with pytest.raises(TypeError, match="set kernel=None"):
        plugins._check_optimizer("adam2", dataclasses.replace(RULES["adam"], name="adam2"))
    bare = dataclasses.replace(RULES["adam"], name="adam2", kernel=None, train_lr={})
    checked = plugins._check_optimizer("adam2", bare)
    assert checked.train_lr == {"constant": 1e-3, "inv_sqrt": 1e-3}
