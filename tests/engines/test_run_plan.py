"""``adambench run``'s plan, cost, default target and interrupt, on the experiment API.

* ``initial_losses`` is the epoch-0 loss of every run with that seed (the shared start);
  the default target is a fraction of its mean, so adding an optimizer to a run changes
  no other optimizer's target or epochs;
* ``measure_cost`` / ``estimate``: real steps timed, the estimate is the arithmetic of
  those measurements over the plan's batches;
* an interrupt during a task keeps the finished tasks and the current task's finished
  optimizers, marked incomplete;
* the chosen point's loss interval is the log-scale t interval: positive ends.
"""

from __future__ import annotations

import numpy as np
import pytest

from adambench.engines.training import TaskData, initial_losses, train_batch
from adambench.engines.training_cost import measure_cost
from adambench.experiments.training import (
    RunConfig,
    default_target,
    estimate,
    run_benchmark,
    task_batches,
)
from adambench.problems.nn import make_task
from adambench.stats import log_t_interval

pytestmark = pytest.mark.usefixtures("one_thread")  # tests/engines/conftest.py


TINY = dict(epochs=2, seeds=(0, 1), lr_grid=(0.01, 0.1), width=0.05)


def test_initial_losses_are_the_shared_start(digits):
    task = make_task("mlp", digits.n_features, digits.n_classes, digits.image_shape, 0.05)
    data = TaskData.prepare(task, digits, np.float64)
    start = initial_losses(task, data, [0, 1], np.float64)
    res = train_batch(task, data, "sgd", [0.1, 0.01, 0.1], [0, 1, 1], 1, dtype=np.float64)
    np.testing.assert_allclose(res.train_loss[:, 0], start[[0, 1, 1]], rtol=1e-12)


def test_adding_an_optimizer_keeps_the_target_and_the_others_epochs(digits):
    two = run_benchmark(RunConfig(tasks=("logreg",), optimizers=("adam", "sgd"), **TINY), digits)
    three = run_benchmark(
        RunConfig(tasks=("logreg",), optimizers=("adam", "adagrad", "sgd"), **TINY), digits
    )
    (a,), (b,) = two, three
    assert (
        a["target_loss"]
        == b["target_loss"]
        == pytest.approx(default_target("logreg", a["initial_train_loss"]["per_seed"]))
    )
    assert a["target_loss"] == pytest.approx(0.1 * a["initial_train_loss"]["mean"])
    assert "0.1 x the mean initial training loss" in a["target_rule"]
    for opt in ("adam", "sgd"):
        ea = next(e for e in a["optimizers"] if e["optimizer"] == opt)
        eb = next(e for e in b["optimizers"] if e["optimizer"] == opt)
        assert ea["chosen"]["epochs_to_target"] == eb["chosen"]["epochs_to_target"]
    assert a["complete"] and b["complete"]


def test_the_chosen_loss_interval_is_positive_and_log_scale(digits):
    (t,) = run_benchmark(RunConfig(tasks=("logreg",), optimizers=("sgd",), **TINY), digits)
    c = t["optimizers"][0]["chosen"]
    f = c["final_train_loss"]
    gm, lo, hi = log_t_interval(c["final_train_loss_per_seed"])
    assert (f["geometric_mean"], f["ci95_low"], f["ci95_high"]) == pytest.approx((gm, lo, hi))
    assert 0 < f["ci95_low"] <= f["geometric_mean"] <= f["ci95_high"]
    assert f["mean"] == pytest.approx(np.mean(c["final_train_loss_per_seed"]))
    assert f["interval"].startswith("t on log(loss) across 2 seeds")


def test_an_interrupt_keeps_finished_tasks_and_optimizers(digits):
    cfg = RunConfig(tasks=("logreg", "mlp", "vae"), optimizers=("adam", "sgd"), **TINY)

    def on_epoch(task: str, opt: str, epoch: int) -> None:
        if (task, opt, epoch) == ("mlp", "sgd", 1):
            raise KeyboardInterrupt

    done: list = []
    with pytest.raises(KeyboardInterrupt):
        run_benchmark(cfg, digits, on_epoch, done)
    assert [(t["task"]["name"], t["complete"]) for t in done] == [
        ("logreg", True),
        ("mlp", False),
    ]
    logreg, mlp = done
    assert [e["optimizer"] for e in logreg["optimizers"]] == ["adam", "sgd"]
    assert [e["optimizer"] for e in mlp["optimizers"]] == ["adam"]
    assert mlp["missing_optimizers"] == ["sgd"] and "interrupted" in mlp["ranking"]["note"]
    assert "missing_optimizers" not in logreg


def test_measure_cost_times_real_steps(digits):
    task = make_task("mlp", digits.n_features, digits.n_classes, digits.image_shape, 0.05)
    data = TaskData.prepare(task, digits, np.float32)
    c = measure_cost(task, data, "adam", [1e-3] * 4, [0, 1, 0, 1], 64, np.float32)
    assert c.runs == 4 and c.batch_size == 64 and 3 <= c.steps_timed <= 20
    assert c.step_seconds > 0 and c.eval_seconds_per_example > 0
    assert c.array_bytes >= 3 * 4 * task.size * 4  # params, grads, two Adam moments


def test_the_estimate_is_the_plan_costed_by_its_measurements(digits, monkeypatch):
    from adambench.engines import training_cost as engine
    from adambench.experiments import training as exp

    calls = []

    def fake(task, data, optimizer, lrs, seeds, batch_size, dtype, hps):
        calls.append((task.name, optimizer, len(lrs)))
        return engine.StepCost(len(lrs), min(batch_size, 1437), 0.01 * len(lrs), 1e-5, 3, 512, 100)

    monkeypatch.setattr(exp, "measure_cost", fake)
    cfg = RunConfig(tasks=("logreg",), optimizers=("adam", "sgd"), beta1_grid=(0.5, 0.9), **TINY)
    est = estimate(cfg, digits)
    # adam: 2 lr x 2 beta1 x 2 seeds = 8 runs; sgd (no beta1): 4 runs; one measurement each
    assert calls == [("logreg", "adam", 8), ("logreg", "sgd", 4)]
    n, n_test = digits.x_train.shape[0], digits.x_test.shape[0]
    (t,) = est["tasks"]
    for b, runs in zip(t["batches"], (8, 4), strict=True):
        per_epoch = n / 128 * 0.01 * runs + n * 1e-5
        assert b["runs"] == runs
        assert b["seconds"] == pytest.approx(2 * per_epoch + (n + n_test) * 1e-5)
    initial = n * 1e-5 * 2 / 4
    assert est["seconds"] == pytest.approx(initial + sum(b["seconds"] for b in t["batches"]))
    assert est["runs"] == 12
    assert [b.optimizer for b in task_batches(cfg, make_task("logreg", 64, 10, None))] == [
        "adam",
        "sgd",
    ]
