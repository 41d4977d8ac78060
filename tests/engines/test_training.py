"""The training runner, the run engine and the bias-correction ablation.

The end-to-end checks are here, on the real digits data: every optimizer at its best
grid lr reduces the training loss well below its start, and Adam's best final training
loss on ``mlp`` is within the interval of, or better than, SGD-Nesterov's and
AdaGrad's (the paper's Figure 2 ordering), at the default ``adambench run`` settings.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

from adambench.engines.training import TaskData, train_batch
from adambench.experiments.ablation import AblationConfig, run_ablation
from adambench.experiments.training import OPTIMIZERS, RunConfig, default_grid, run_benchmark
from adambench.experiments.training_results import epochs_to, rank_and_target
from adambench.problems.nn import make_task
from adambench.stats import t_interval

pytestmark = pytest.mark.usefixtures("one_thread")  # tests/engines/conftest.py


def _prep(name, data, dtype=np.float64, width=0.05):
    task = make_task(name, data.n_features, data.n_classes, data.image_shape, width)
    return task, TaskData.prepare(task, data, dtype)


@pytest.mark.parametrize("name", ["mlp", "vae"])
def test_a_run_is_the_same_alone_or_batched(digits, name):
    task, data = _prep(name, digits)
    batched = train_batch(task, data, "adam", [1e-3, 3e-3, 1e-3], [0, 0, 1], 2, dtype=np.float64)
    for r, (lr, seed) in enumerate([(1e-3, 0), (3e-3, 0), (1e-3, 1)]):
        alone = train_batch(task, data, "adam", [lr], [seed], 2, dtype=np.float64)
        np.testing.assert_allclose(alone.train_loss[0], batched.train_loss[r], rtol=1e-9)
        np.testing.assert_allclose(alone.test_loss[0], batched.test_loss[r], rtol=1e-9)
    # same seed: same start for every learning rate (the paper's protocol)
    assert batched.train_loss[0, 0] == batched.train_loss[1, 0] != batched.train_loss[2, 0]


@pytest.mark.parametrize("name", ["logreg", "mlp", "cnn", "vae"])
def test_training_on_backend_matches_numpy(backend, xp, digits, name):
    """The runs train where the data live: CuPy arrays give the NumPy backend's curves."""
    task = make_task(name, digits.n_features, digits.n_classes, digits.image_shape, 0.05)
    args = (["adam", [1e-3, 3e-3], [0, 1], 2], dict(batch_size=256, dtype=np.float64))
    cpu = train_batch(task, TaskData.prepare(task, digits, np.float64), *args[0], **args[1])
    dev = train_batch(task, TaskData.prepare(task, digits, np.float64, xp), *args[0], **args[1])
    assert type(dev.train_loss) is np.ndarray and type(dev.test_loss) is np.ndarray
    assert np.isfinite(cpu.train_loss).all()
    # float64; the device's matmuls add in another order than the host's BLAS
    np.testing.assert_allclose(dev.train_loss, cpu.train_loss, rtol=1e-8)
    np.testing.assert_allclose(dev.test_loss, cpu.test_loss, rtol=1e-8)
    np.testing.assert_allclose(dev.test_accuracy, cpu.test_accuracy, atol=0.006)
    assert dev.times["optimizer"] > 0 and dev.times["forward_backward"] > 0


def test_divergence_is_marked_and_the_other_runs_go_on(digits):
    task, data = _prep("mlp", digits, np.float32)
    hp = {"momentum": 0.9, "nesterov": True}
    res = train_batch(
        task, data, "sgd", [1e-2, 1e3], [0, 0], 3, dtype=np.float32, hyperparameters=hp
    )
    assert res.diverged.tolist() == [False, True]
    assert res.diverged_epoch[1] == 1
    assert np.isnan(res.train_loss[1, 1:]).all() and np.isnan(res.test_loss[1])
    assert np.isfinite(res.train_loss[0]).all() and res.train_loss[0, -1] < res.train_loss[0, 0]
    assert 0.5 < res.test_accuracy[0] <= 1.0


def test_timings_and_curves_are_recorded(digits):
    task, data = _prep("cnn", digits, np.float32, width=0.05)
    res = train_batch(task, data, "adam", [1e-3, 1e-2], [0, 1], 2, batch_size=256)
    assert res.train_loss.shape == (2, 3) and np.isfinite(res.train_loss).all()
    assert len(res.epoch_seconds) == 2
    for key in ("data", "forward_backward", "optimizer", "evaluate"):
        assert res.times[key] > 0
    assert res.train_loss[:, -1].max() < res.train_loss[:, 0].min()


def test_eval_epochs_limits_evaluation(digits):
    task, data = _prep("logreg", digits)
    res = train_batch(task, data, "adam", [0.1], [0], 4, eval_epochs={2})
    assert np.isnan(res.train_loss[0, [1, 3]]).all()
    assert np.isfinite(res.train_loss[0, [0, 2, 4]]).all()


def test_t_interval_matches_scipy():
    v = np.array([0.1, 0.14, 0.12, 0.18])
    mean, lo, hi = t_interval(v)
    ref = stats.t.interval(0.95, 3, loc=v.mean(), scale=stats.sem(v))
    assert mean == pytest.approx(v.mean()) and (lo, hi) == pytest.approx(ref)
    assert all(math.isnan(x) for x in t_interval(np.array([0.3]))[1:])


def test_epochs_to_target_and_ranking():
    assert epochs_to(np.array([2.0, 1.0, 0.5, 0.4]), 0.5) == 2
    assert epochs_to(np.array([2.0, 1.0]), 0.5) is None

    def chosen(per_seed, curve):
        mean = float(np.mean(per_seed))
        return {"final_train_loss": {"mean": mean}, "final_train_loss_per_seed": per_seed,
                "mean_curve": np.array(curve)}  # fmt: skip

    entries = [
        {"optimizer": "a", "chosen": chosen([0.29, 0.31, 0.30], [2, 0.3])},
        {"optimizer": "b", "chosen": None},
        {"optimizer": "c", "chosen": chosen([0.09, 0.11, 0.10], [2, 0.2, 0.1])},
        {"optimizer": "d", "chosen": chosen([0.05, 0.25, 0.05], [2, 0.2, 0.1])},
    ]
    target = rank_and_target(entries, 0.3)
    assert target == pytest.approx(0.3)
    # c beats a by a paired t test (the same +0.2 on every seed); d's spread ties it
    # with both
    assert [e["rank"] for e in entries] == [2, None, 1, 1]
    assert [e["rank_label"] for e in entries] == ["2", "-", "1=", "1="]
    assert [e["better_than"] for e in entries] == [[], [], ["a"], []]
    assert entries[2]["chosen"]["epochs_to_target"] == 1


def test_default_grids_are_half_decades_around_a_center():
    assert default_grid("adam", "constant") == [3e-4, 1e-3, 3e-3, 1e-2, 3e-2]
    assert default_grid("sgd", "inv_sqrt") == [0.1, 0.3, 1.0, 3.0, 10.0]


def test_every_optimizer_at_its_best_lr_reduces_the_training_loss(digits):
    """Issue 6 check 1, on logreg and mlp with the default grids (one seed, 10 epochs)."""
    tasks = run_benchmark(RunConfig(epochs=10, seeds=(0,)), digits)
    for t in tasks:
        assert {e["optimizer"] for e in t["optimizers"]} == set(OPTIMIZERS)
        for e in t["optimizers"]:
            c = e["chosen"]
            assert c is not None, (t["task"]["name"], e["optimizer"])
            start = c["mean_curve"][0]
            assert c["final_train_loss"]["mean"] < 0.1 * start, (t["task"]["name"], e)


def test_adam_on_mlp_is_within_or_better_than_sgd_nesterov_and_adagrad(digits):
    """Issue 6 check 2 (the paper's Figure 2 ordering) at the default ``adambench run``
    settings: 20 epochs, 3 seeds, default grids, batch 128, float32, width 0.25."""
    cfg = RunConfig(tasks=("mlp",), optimizers=("adam", "sgd", "adagrad"))
    (mlp,) = run_benchmark(cfg, digits)
    final = {e["optimizer"]: e["chosen"]["final_train_loss"] for e in mlp["optimizers"]}
    for rival in ("sgd", "adagrad"):
        assert final["adam"]["mean"] <= final[rival]["ci95_high"], (rival, final)


def test_bias_correction_ablation_reproduces_the_papers_finding(digits):
    """Section 6.4 on the VAE, on a reduced grid (two beta2, four learning rates, 5 and
    20 epochs) to keep the test short; the full default grid is `adambench ablate`."""
    cfg = AblationConfig(
        beta1=(0.0, 0.9),
        beta2=(0.99, 0.9999),
        log10_lr=(-4.0, -3.0, -2.0, -1.0),
        short_epochs=5,
        long_epochs=20,
        seeds=(0, 1),
    )
    result = run_ablation(cfg, digits)
    assert len(result["rows"]) == 16
    f = result["findings"]
    assert sum(f["diverged_points"]["adam"].values()) == 0
    assert (
        f["diverged_points"]["adam-nobias"]["0.9999"] > f["diverged_points"]["adam-nobias"]["0.99"]
    )
    # the robust claim: without correction beta2 -> 1 is unstable, on every seed
    claim = f["claims"]["unstable_without_correction"]
    assert claim["status"] == "holds", claim
    assert [s["result"] for s in claim["per_seed"]] == ["holds", "holds"]
    assert f["reproduced"] in ("yes", "no", "not decided")
