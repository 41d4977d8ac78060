"""A plugin's training task in ``run`` and ``ablate``, and plugin rules in ``sweep``.

The example plugin's ``hinge-linear`` task (installed through the entry-point mechanism by
``tests/core/plugin_fixtures.install``) is trained by ``adambench run -p`` and ``adambench
ablate -p`` as a built-in task is; each result is held against the protocol written out
here: each seed's initial weights and minibatch order (engines/training.seed_rng), the
task's gradient, and Adam's step as Kingma & Ba 2015, Algorithm 1 write it (without the
two bias corrections for ``adam-nobias``, section 6.4).  A sweep says once that a plugin
rule runs on its reference step, and refuses a plugin rule on cupy before any unit runs.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "core"))
from plugin_fixtures import NOTE, cli  # noqa: E402


def adam_losses(seed: int, lr: float, b1: float, b2: float, epochs: int, bs: int,
                correct: bool = True) -> list[float]:  # fmt: skip
    """The training loss of hinge-linear on the digits after each epoch (0..epochs) of
    one Adam run in float64: Algorithm 1 (eps = 1e-8, constant step size), m and v from
    zero, with or without m / (1 - b1^t) and v / (1 - b2^t)."""
    from adambench_example_plugin.tasks import HingeLinear

    from adambench.engines.training import TaskData, seed_rng
    from adambench.problems.data import load_dataset

    data = load_dataset("digits", None)
    task = HingeLinear(data.n_features, data.n_classes)
    prepared = TaskData.prepare(task, data, np.float64)
    x, y = prepared.x_train, prepared.y_train
    params = task.init_params(seed_rng(seed, 0), np.float64)[None].copy()
    order = seed_rng(seed, 1)
    m, v, g = np.zeros_like(params), np.zeros_like(params), np.zeros_like(params)
    losses = [float(task.evaluate(params, x[None], y[None], {})[0][0])]
    t = 0
    for _ in range(epochs):
        perm = order.permutation(x.shape[0])
        for start in range(0, x.shape[0], bs):
            idx = perm[start : start + bs]
            task.loss_and_grad(params, x[idx][None], y[idx][None], {}, g)
            t += 1
            m = b1 * m + (1 - b1) * g
            v = b2 * v + (1 - b2) * g * g
            mh, vh = (m / (1 - b1**t), v / (1 - b2**t)) if correct else (m, v)
            params -= lr * mh / (np.sqrt(vh) + 1e-8)
        losses.append(float(task.evaluate(params, x[None], y[None], {})[0][0]))
    return losses


def test_run_trains_a_plugin_task_as_the_protocol_written_out(example, tmp_path):
    r = cli("run", "-p", "hinge-linear", "-o", "adam", "-e", "2", "-s", "2", "--lr", "0.01",
            "--batch-size", "256", "--dtype", "float64", "--out", tmp_path, "--json")  # fmt: skip
    assert r.exit_code == 0, r.output
    (task,) = json.loads(r.stdout)["tasks"]
    assert task["task"]["name"] == "hinge-linear" and task["complete"]
    chosen = task["optimizers"][0]["chosen"]
    want = [adam_losses(s, 0.01, 0.9, 0.999, 2, 256)[-1] for s in (0, 1)]
    np.testing.assert_allclose(chosen["final_train_loss_per_seed"], want, rtol=1e-9)
    assert want[0] != want[1]  # two seeds, two runs
    assert list(tmp_path.glob("run-*.json"))


def test_run_takes_plugin_tasks_beside_built_in_ones_and_all_means_the_built_in(example):
    from adambench.cli.run import _tasks

    assert _tasks("all") == ("logreg", "mlp", "cnn", "vae")
    assert _tasks("hinge-linear,logreg,hinge-linear") == ("hinge-linear", "logreg")
    with pytest.raises(ValueError, match=r"unknown 'nope'; choose from: .*vae, hinge-linear"):
        _tasks("nope")
    with pytest.raises(ValueError, match="reddi is an online problem"):
        _tasks("reddi")


def test_ablate_trains_a_plugin_task_with_and_without_bias_correction(example, tmp_path):
    r = cli("ablate", "bias-correction", "-p", "hinge-linear", "--short", "1", "--long", "2",
            "--lr", "0.01", "--beta1", "0.9", "--beta2", "0.999", "-s", "2", "-b", "256",
            "--dtype", "float64", "--out", tmp_path, "--json")  # fmt: skip
    assert r.exit_code == 0, r.output
    ablation = json.loads(r.stdout)["ablation"]
    assert ablation["task"]["name"] == "hinge-linear"
    (row,) = ablation["rows"]
    for variant, correct in (("adam", True), ("adam-nobias", False)):
        curves = [adam_losses(s, 0.01, 0.9, 0.999, 2, 256, correct) for s in (0, 1)]
        np.testing.assert_allclose(row[f"{variant}_short_per_seed"], [c[1] for c in curves],
                                   rtol=1e-9)  # fmt: skip
        np.testing.assert_allclose(row[f"{variant}_long_per_seed"], [c[2] for c in curves],
                                   rtol=1e-9)  # fmt: skip
    assert row["adam_long"] != row["adam-nobias_long"]


def test_ablate_refuses_other_kinds_and_unknown_tasks_in_one_line(example, tmp_path):
    """The ValueError that ``cli.app.main`` prints as one ``error:`` line, exit code 2
    (as a user sees it: tests/core/test_plugin_commands.py)."""
    r = cli("ablate", "bias-correction", "-p", "logistic", "--out", tmp_path)
    assert isinstance(r.exception, ValueError) and str(r.exception) == (
        "logistic is an online problem, not a training task: use adambench regret -p logistic"
    )
    r = cli("ablate", "bias-correction", "-p", "nope", "--out", tmp_path)
    assert isinstance(r.exception, ValueError)
    assert str(r.exception).endswith("choose one of: logreg, mlp, cnn, vae, hinge-linear")
    assert not list(tmp_path.glob("ablate-*"))


def test_list_problems_names_the_commands_of_a_plugin_task(example):
    r = cli("list", "problems", "--json")
    assert r.exit_code == 0, r.output
    hinge = {d["name"]: d for d in json.loads(r.stdout)["problems"]}["hinge-linear"]
    assert hinge["kind"] == "training task"
    assert hinge["commands"] == ["run", "ablate", "sweep"]


# ---- sweeps -------------------------------------------------------------------------------

SWEEP = """
[sweep]
kind = "{kind}"
name = "plugin"
seeds = 2

[{kind}]
{body}
{backend}
[optimizers.signsgd]
lr = [0.01, 0.03]

[optimizers.adam]
"""
BODY = {
    "run": 'tasks = ["hinge-linear"]\nepochs = 1\n',
    "regret": 'problems = ["reddi"]\nT = 200\n',
}


def sweep_file(tmp_path: Path, kind: str, backend: str | None = None) -> Path:
    path = tmp_path / f"{kind}-{backend}.toml"
    line = f'backend = "{backend}"\n' if backend else ""
    path.write_text(SWEEP.format(kind=kind, body=BODY[kind], backend=line))
    return path


@pytest.mark.parametrize("kind", ["run", "regret"])
def test_a_sweep_says_once_that_a_plugin_rule_runs_on_its_reference(example, tmp_path, kind):
    r = cli("sweep", sweep_file(tmp_path, kind), "--jobs", "1", "--out", tmp_path / "o", "--json")
    assert r.exit_code == 0, r.output
    assert r.stderr.count(NOTE) == 1, r.stderr
    rows = json.loads(r.stdout)["rows"]
    assert sorted({x["optimizer"] for x in rows}) == ["adam", "signsgd"]
    r = cli("sweep", sweep_file(tmp_path, kind), "--dry-run")
    assert r.exit_code == 0 and r.stderr.count(NOTE) == 1


@pytest.mark.parametrize("kind", ["run", "regret"])
def test_a_cupy_sweep_of_a_plugin_rule_is_refused_up_front(example, tmp_path, kind):
    """Refused while planning, before the device is asked for and before any unit."""
    from adambench.sweep import config, plan

    want = (
        f"config optimizers.signsgd: optimizer 'signsgd' has no compiled kernel and its "
        f"reference implementation runs on NumPy arrays only, not cupy ({kind}.backend = "
        f"cupy); use {kind}.backend = numpy"
    )
    with pytest.raises(ValueError) as err:
        plan.plan(config.load(sweep_file(tmp_path, kind, "cupy")))
    assert str(err.value) == want
    out = tmp_path / "o"
    r = cli("sweep", sweep_file(tmp_path, kind, "cupy"), "--out", out)
    assert r.exit_code == 2
    assert r.stderr.strip() == f"error: {want}"
    assert not out.exists()
