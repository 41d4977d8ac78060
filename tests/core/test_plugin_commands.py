"""A plugin rule without a compiled kernel in every command, on its reference step.

The example plugin (``signsgd``, registered through the entry-point mechanism by
``plugin_fixtures.install``) runs in the regret engine, the training engine, ``bench`` and
sweeps; each result is held against a plain Python loop of the rule's reference step
(and the problem's projection), written here from the protocol.  Commands say once on
stderr that the rule runs on its reference implementation; a problem of the wrong kind
is refused in one line that names its kind and the command that takes it.
"""

from __future__ import annotations

import json

import numpy as np
import pytest
from plugin_fixtures import NOTE, cli, install, uninstall

from adambench.core import plugins, registry

# ---- the regret engine ---------------------------------------------------------------


def plain_regret_loop(problem, hp, seed, T, x0=0.0):
    """sum_t f_t(x_t) and x_{T+1} of one signsgd run, the protocol written out: play x_t,
    reveal f_t (the problem's stream), g_t = phi'(<a_t, x_t>) a_t, the rule's reference
    step, then the Euclidean projection onto F (box: clip; ball: rescale)."""
    from adambench.engines.regret.reference import phi_np
    from adambench.problems.online import generate
    from adambench.problems.streams import stream_key

    rule = registry.get_rule("signsgd")
    hp = rule.validate(hp)
    d = problem.d
    idx = np.empty((1, T, problem.nnz), np.int64)
    val = np.empty((1, T, problem.nnz))
    yv = np.empty((1, T))
    keys = np.array([stream_key(seed)], dtype=np.uint64)
    generate.gen_block(problem.family, keys, problem.params(seed)[None], 1, idx, val, yv)
    x = np.full((1, d), x0)
    state = {"m": np.zeros((1, d))}
    total = 0.0
    for t in range(1, T + 1):
        ii, vv = idx[0, t - 1], val[0, t - 1]
        f, df = phi_np(problem.loss, float(vv @ x[0, ii]), float(yv[0, t - 1]))
        total += f
        g = np.zeros((1, d))
        g[0, ii] = df * vv
        rule.reference(x, g, state, hp, t)
        if problem.set_kind == "box":
            np.clip(x, -problem.radius, problem.radius, out=x)
        else:
            norm = np.linalg.norm(x)
            if norm > problem.radius:
                x *= problem.radius / norm
    return total, x[0]


@pytest.mark.parametrize("name", ["logistic", "hinge", "sparse-logistic", "reddi"])
def test_regret_of_a_plugin_rule_equals_the_plain_reference_loop(example, name):
    from adambench.engines.regret.engine import RunPoint, run
    from adambench.problems.online.registry import make_problem

    prob = make_problem(name)
    points = [
        RunPoint("signsgd", {"lr": 0.05, "momentum": 0.5, "lr_schedule": "inv_sqrt"}),
        RunPoint("signsgd", {"lr": 0.2, "momentum": 0.5, "lr_schedule": "inv_sqrt"}),
    ]
    seeds, T = [0, 3], 300
    res = run(prob, points, seeds, T, block=128)  # several blocks of steps
    for r in range(len(points) * len(seeds)):
        p, s = points[res.run_point(r)], seeds[res.run_seed(r)]
        total, x = plain_regret_loop(prob, p.hp, s, T)
        np.testing.assert_allclose(res.cum_loss[r, -1], total, rtol=1e-12)
        np.testing.assert_allclose(res.x_final[r], x, rtol=1e-12, atol=1e-15)
        want = total - res.comparator.value[res.run_seed(r), -1]
        np.testing.assert_allclose(res.regret[r, -1], want, rtol=1e-9, atol=1e-9)
    assert not res.diverged.any()
    assert np.isfinite(res.stats["G"]).all() and np.isfinite(res.stats["D"]).all()


def test_a_plugin_rule_batched_with_compiled_rules_leaves_them_unchanged(example):
    """The compiled runs of a mixed batch give what they give alone (the reference runs
    are skipped by the compiled loop and advanced beside it)."""
    from adambench.engines.regret.engine import RunPoint, run
    from adambench.problems.online.registry import make_problem

    prob = make_problem("logistic")
    adam = RunPoint("adam", {"lr": 0.1})
    sign = RunPoint("signsgd", {"lr": 0.1, "lr_schedule": "inv_sqrt"})
    mixed = run(prob, [sign, adam, sign], [0, 1], 500)
    alone = run(prob, [adam], [0, 1], 500)
    np.testing.assert_array_equal(mixed.regret[2:4], alone.regret)
    np.testing.assert_array_equal(mixed.x_final[2:4], alone.x_final)
    np.testing.assert_array_equal(mixed.regret[0:2], mixed.regret[4:6])


def test_regret_of_a_plugin_rule_in_float32(example):
    from adambench.engines.regret.engine import RunPoint, run
    from adambench.problems.online.registry import make_problem

    prob = make_problem("hinge")
    p = RunPoint("signsgd", {"lr": 0.1, "lr_schedule": "inv_sqrt"})
    res = run(prob, [p], [0], 200, dtype="float32")
    total, _ = plain_regret_loop(prob, p.hp, 0, 200)
    np.testing.assert_allclose(res.cum_loss[0, -1], total, rtol=1e-4)


def test_the_plain_numpy_engine_runs_a_plugin_rule(example):
    """``engines/regret/reference.run_numpy`` (the independent per-step loop) takes a rule
    without a kernel: no weight, a Euclidean projection."""
    from adambench.engines.regret.reference import run_numpy
    from adambench.problems.online.registry import make_problem

    prob = make_problem("hinge")
    hp = {"lr": 0.1, "lr_schedule": "inv_sqrt"}
    total, x = run_numpy(prob, "signsgd", hp, 1, 150)
    want, wx = plain_regret_loop(prob, hp, 1, 150)
    np.testing.assert_allclose(total, want, rtol=1e-12)
    np.testing.assert_allclose(x, wx, rtol=1e-12)


def test_regret_command_runs_a_plugin_rule_and_says_so_once(example, tmp_path):
    r = cli("regret", "-o", "signsgd,adam", "-p", "reddi,logistic", "--T", "200", "--seeds", "2",
            "--out", tmp_path, "--json")  # fmt: skip
    assert r.exit_code == 0, r.output
    assert r.stderr.count(NOTE) == 1, r.stderr
    rows = json.loads(r.stdout)["rows"]
    assert {(x["problem"], x["optimizer"]) for x in rows} == {
        (p, o) for p in ("reddi", "logistic") for o in ("signsgd", "adam")
    }
    r = cli("regret", "-o", "adam", "-p", "reddi", "--T", "100", "--seeds", "1", "--out", tmp_path)
    assert r.exit_code == 0 and "note:" not in r.stderr  # compiled rules: no note


def test_a_plugin_rule_is_refused_on_cupy_in_one_line(example):
    rule = registry.get_rule("signsgd")
    assert registry.backends(rule) == ("numpy",)
    with pytest.raises(ValueError, match=r"runs on NumPy arrays only.*use --backend numpy"):
        registry.require_backend(rule, "cupy")
    registry.require_backend(rule, "numpy")
    registry.require_backend(registry.get_rule("adam"), "cupy")  # compiled: both


# ---- the training engine and `run` ----------------------------------------------------


def test_training_loss_of_a_plugin_rule_equals_the_reference_loop(example):
    """``train_batch`` with signsgd against the protocol written out: each seed's initial
    weights and minibatch order, the task's gradient, the rule's reference step."""
    from adambench.engines.training import TaskData, seed_rng, train_batch
    from adambench.problems.data import load_dataset
    from adambench.problems.nn import make_task

    data = load_dataset("digits", None)
    task = make_task("logreg", data.n_features, data.n_classes)
    prepared = TaskData.prepare(task, data, np.float64)
    lrs, seeds, epochs, bs = np.array([0.01, 0.03]), np.array([0, 1]), 2, 512
    res = train_batch(task, prepared, "signsgd", lrs, seeds, epochs, bs, np.float64,
                      {"momentum": 0.5})  # fmt: skip

    rule = registry.get_rule("signsgd")
    hp = rule.validate({"lr": lrs, "momentum": 0.5, "lr_schedule": task.lr_schedule})
    params = np.stack([task.init_params(seed_rng(s, 0), np.float64) for s in seeds])
    state = {"m": np.zeros_like(params)}
    order = [seed_rng(s, 1) for s in seeds]
    n, t = prepared.x_train.shape[0], 0
    grads = np.zeros_like(params)
    for _ in range(epochs):
        perms = np.stack([o.permutation(n) for o in order])
        for start in range(0, n, bs):
            idx = perms[:, start : start + bs]
            task.loss_and_grad(params, prepared.x_train[idx], prepared.y_train[idx], {}, grads)
            t += 1
            rule.reference(params, grads, state, hp, t)
    loss, _ = task.evaluate(params, prepared.x_train[None], prepared.y_train[None], {})
    np.testing.assert_allclose(res.train_loss[:, -1], loss, rtol=1e-10)
    assert (res.train_loss[:, -1] < res.train_loss[:, 0]).all()


def test_run_command_trains_a_plugin_rule_and_says_so_once(example, tmp_path):
    r = cli("run", "-o", "signsgd,adam", "-t", "logreg,mlp", "-e", "1", "-s", "1", "--width",
            "0.05", "--lr", "0.01", "--out", tmp_path, "--json")  # fmt: skip
    assert r.exit_code == 0, r.output
    assert r.stderr.count(NOTE) == 1, r.stderr
    tasks = json.loads(r.stdout)["tasks"]
    assert [[e["optimizer"] for e in t["optimizers"]] for t in tasks] == [["signsgd", "adam"]] * 2


def test_run_default_grid_of_a_plugin_rule_is_centred_on_its_lr_default(example):
    from adambench.experiments.training import default_grid

    assert registry.get_rule("signsgd").train_lr == {"constant": 1e-3, "inv_sqrt": 1e-3}
    assert default_grid("signsgd", "constant") == [1e-4, 3e-4, 1e-3, 3e-3, 1e-2]


def test_run_optimizers_all_means_the_built_in_rules(example):
    from adambench.cli.run import _optimizers

    assert _optimizers("all") == tuple(registry.RULES)
    assert _optimizers("adam,signsgd") == ("adam", "signsgd")
    with pytest.raises(ValueError, match="unknown 'nadamx'.*signsgd"):
        _optimizers("nadamx")


# ---- bench and sweeps -----------------------------------------------------------------


def test_bench_times_the_reference_and_claims_no_roofline_share(example, tmp_path):
    r = cli("bench", "-o", "signsgd,adam", "--sizes", "1e3", "--threads", "1", "--repeats", "5",
            "--budget", "0.2", "--no-peers", "--out", tmp_path, "--json")  # fmt: skip
    assert r.exit_code == 0, r.output
    assert r.stderr.count(NOTE) == 1, r.stderr
    rows = {x["optimizer"]: x for x in json.loads(r.stdout)["rows"]}
    assert rows["signsgd"]["implementation"] == "reference"
    assert rows["signsgd"]["fraction_of_roofline"] is None
    assert "reference implementation" in rows["signsgd"]["note"]
    assert rows["adam"]["implementation"] == "adambench" and rows["adam"]["fraction_of_roofline"]
    r = cli("bench", "-o", "signsgd", "--sizes", "1e3", "--threads", "1", "--repeats", "5",
            "--budget", "0.2", "--no-peers", "--out", tmp_path)  # fmt: skip
    assert r.exit_code == 0, r.output
    line = next(x for x in r.stdout.splitlines() if x.strip().startswith("signsgd"))
    assert "reference" in line and line.count("%") == 1  # the IQR's; no roofline share


def test_a_regret_sweep_runs_a_plugin_rule_as_the_engine_does(example, tmp_path):
    from adambench.engines.regret.engine import RunPoint, run
    from adambench.problems.online.registry import make_problem
    from adambench.sweep import config, plan, runner
    from adambench.sweep.executors import InlineExecutor
    from adambench.sweep.store import Store

    cfg = config.parse(
        {
            "sweep": {"kind": "regret", "seeds": 2},
            "regret": {"problems": ["reddi"], "T": 300},
            "optimizers": {"signsgd": {"lr": [0.1, 0.3]}},
        }
    )
    units = plan.plan(cfg)
    sid = plan.sweep_id(cfg)
    store = Store.open(tmp_path / "out", sid, cfg.name, cfg.identity(), units)
    out = runner.execute(units, store, InlineExecutor(threads=1))
    assert out.complete and not out.failed
    rows = runner.merge(cfg, sid, units, out, "inline")["rows"]
    prob = make_problem("reddi", C=3.0)
    for row in rows:
        hp = {"lr": row["hyperparameters"]["lr"], "lr_schedule": "inv_sqrt"}
        res = run(prob, [RunPoint("signsgd", hp)], [0, 1], 300)
        assert row["R_T"] == pytest.approx(float(res.regret[:, -1].mean()), rel=1e-12)


# ---- the kind of a problem --------------------------------------------------------------


@pytest.mark.parametrize(
    "args, line",
    [
        (["regret", "-p", "hinge-linear"], "error: hinge-linear is a training task, not an "
         "online problem: use adambench run -p hinge-linear"),
        (["regret", "-p", "mlp"], "error: mlp is a training task, not an online problem: use "
         "adambench run -p mlp"),
        (["run", "-t", "logistic"], "error: logistic is an online problem, not a training "
         "task: use adambench regret -p logistic"),
        (["ablate", "bias-correction", "-p", "reddi"], "error: reddi is an online problem, "
         "not a training task: use adambench regret -p reddi"),
    ],
)  # fmt: skip
def test_a_problem_of_the_wrong_kind_is_refused_in_one_line(monkeypatch, tmp_path, args, line):
    """As a user sees it: the installed command, the plugin on its path, exit code 2."""
    import os
    import subprocess
    import sys

    paths = install(monkeypatch, tmp_path)
    try:
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(paths), "COLUMNS": "200"}
        code = "from adambench.cli.app import main; main()"
        proc = subprocess.run(
            [sys.executable, "-c", code, *args, "--out", str(tmp_path / "out")],
            capture_output=True, text=True, env=env, stdin=subprocess.DEVNULL,
        )  # fmt: skip
    finally:
        uninstall()
    assert proc.returncode == 2, proc.stderr
    assert proc.stderr.strip() == line
    assert not (tmp_path / "out").exists()


def test_catalog_builds_a_plugin_task(example):
    from adambench.problems import catalog

    task = catalog.make_task("hinge-linear", 4, 3)
    assert task.size == 4 * 3 + 3
    assert catalog.kind_of("hinge-linear") == catalog.TASK
    assert catalog.kind_of("reddi") == catalog.ONLINE and catalog.kind_of("nope") is None
    with pytest.raises(ValueError, match="unknown training task 'nope'; choose from: logreg"):
        catalog.make_task("nope", 4, 3)


# ---- listings -----------------------------------------------------------------------------


def test_list_says_where_each_rule_comes_from_and_what_it_runs_on(example):
    r = cli("list", "--json")
    assert r.exit_code == 0, r.output
    docs = {d["name"]: d for d in json.loads(r.stdout)["optimizers"]}
    assert list(docs) == [*registry.RULES, "signsgd"]
    for name in registry.RULES:
        assert docs[name]["origin"] == "built-in" and docs[name]["distribution"] is None
        assert docs[name]["kernels"] == ["numba-cpu", "cuda"]
        assert docs[name]["backends"] == ["numpy", "cupy"]
    sign = docs["signsgd"]
    assert sign["distribution"] == "adambench_example_plugin"
    assert sign["kernels"] == ["reference"] and sign["backends"] == ["numpy"]
    assert sign["commands"] == ["run", "regret", "bench", "sweep"]
    r = cli("list", "--format", "csv")
    line = next(x for x in r.stdout.splitlines() if x.startswith("signsgd,"))
    assert "reference only" in line and "plugin: adambench_example_plugin 0.1.0" in line


def test_list_problems_says_the_kind_and_the_commands_of_each(example):
    r = cli("list", "problems", "--json")
    assert r.exit_code == 0, r.output
    docs = {d["name"]: d for d in json.loads(r.stdout)["problems"]}
    assert docs["reddi"]["kind"] == "online problem"
    assert docs["reddi"]["commands"] == ["regret", "sweep"]
    assert docs["reddi"]["origin"] == "built-in" and docs["reddi"]["dim_fixed"]
    assert "vae" not in docs  # the built-in tasks: `adambench run --help`
    hinge = docs["hinge-linear"]
    assert hinge["kind"] == "training task"
    assert hinge["commands"] == ["run", "ablate", "sweep"]
    assert hinge["distribution"] == "adambench_example_plugin"
    assert hinge["origin"].startswith("plugin: adambench_example_plugin 0.1.0")
    r = cli("list", "problems", "--format", "csv")
    line = next(x for x in r.stdout.splitlines() if x.startswith("hinge-linear,"))
    assert "training task" in line and "sweep" in line


def test_the_registry_answers_the_kernel_choice():
    """The kernel/reference choice is the rule's property, read through the registry."""
    import dataclasses

    adam = registry.get_rule("adam")
    assert registry.implementation(adam) == ("numba-cpu", "cuda")
    assert registry.reference_note(adam) is None
    bare = dataclasses.replace(adam, name="adam-ref", kernel=None)
    assert registry.implementation(bare) == ("reference",) and registry.runs_reference(bare)
    assert registry.reference_note(bare) == NOTE.replace("signsgd", "adam-ref")
    plugins.reset()
