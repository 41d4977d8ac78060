"""Every built-in rule in every command that takes an optimizer (``registry.COMMANDS``:
run, regret, bench, sweep), with tiny sizes: ``run`` and ``regret`` really run, ``bench``
and ``sweep`` plan (``--dry-run``); ``compare`` reads bench results of the rules of
docs/theory.md §7-§8; ``adambench list`` shows each rule with its update, source and the
meaning of each definitional switch.  ``--weight-decay`` of ``run`` applies each rule's
own weight_decay, is on record in the results file, and a rule without one is refused.
Sweep files (both kinds) take the new rules' switches as grid axes, and a plugin rule
built on a new rule (``dataclasses.replace``, kernel None) runs in a sweep.
"""

from __future__ import annotations

import csv
import io
import json
import math

import pytest
from typer.testing import CliRunner

from adambench.cli.app import app
from adambench.core.registry import COMMANDS, RULES

ALL = list(RULES)
NEW = ["adamw", "nadam", "radam", "yogi", "adabelief", "lion"]
# The definitional switches (docs/theory.md §7-§8) and a phrase of what each means.
SWITCHES = {
    ("adabelief", "eps_placement"): "outside the root",
    ("nadam", "decoupled_weight_decay"): "AdamW-style",
    ("radam", "rho_threshold"): "the paper's Algorithm 2",
    ("yogi", "bias_correction"): "optax.scale_by_yogi",
    ("yogi", "initial_accumulator"): "v_0",
    ("adamw", "amsgrad"): "running max",
}


def cli(*args: str, columns: int = 200):
    res = CliRunner().invoke(app, list(args), env={"COLUMNS": str(columns), "NO_COLOR": "1"})
    return res


def ok(res):
    assert res.exit_code == 0, (res.output, res.exception)
    return res


def test_every_rule_is_offered_to_every_command():
    assert len(ALL) == 13 and set(NEW) <= set(ALL)
    assert COMMANDS == ("run", "regret", "bench", "sweep")


@pytest.mark.parametrize("name", ALL)
def test_run_trains_each_rule(name, tmp_path):
    res = ok(cli("run", "-o", name, "-p", "logreg", "--epochs", "1", "--seeds", "1",
                 "--width", "0.05", "--out", str(tmp_path), "--json"))  # fmt: skip
    doc = json.loads(res.stdout)
    (entry,) = doc["tasks"][0]["optimizers"]
    assert entry["optimizer"] == name and entry["chosen"] is not None
    assert math.isfinite(entry["chosen"]["final_train_loss"]["mean"])
    assert len(entry["grid"]) == 5  # the rule's default grid (Rule.train_lr)
    (path,) = tmp_path.glob("run-*.json")
    assert [e["optimizer"] for e in json.loads(path.read_text())["tasks"][0]["optimizers"]] == [
        name]  # fmt: skip


@pytest.mark.parametrize("name", ALL)
def test_regret_runs_each_rule(name, tmp_path):
    res = ok(cli("regret", "-o", name, "-p", "logistic", "--T", "300", "--seeds", "1",
                 "--out", str(tmp_path), "--json"))  # fmt: skip
    rows = json.loads(res.stdout)["rows"]
    assert rows and all(r["optimizer"] == name for r in rows)
    assert all(math.isfinite(r["R_T"]) for r in rows)


@pytest.mark.parametrize("name", ALL)
def test_bench_plans_each_rule(name, tmp_path):
    res = ok(cli("bench", "-o", name, "--sizes", "1e4", "--quick", "--dry-run", "--json",
                 "--out", str(tmp_path)))  # fmt: skip
    assert name in res.stdout
    assert not list(tmp_path.glob("*.json"))


@pytest.mark.parametrize("name", ALL)
def test_sweep_plans_each_rule(name, tmp_path):
    cfg = tmp_path / "s.toml"
    cfg.write_text(
        f'[sweep]\nkind = "regret"\nseeds = 1\n[regret]\nproblems = ["logistic"]\nT = 200\n'
        f"[optimizers.{name}]\n"
    )
    res = ok(cli("sweep", str(cfg), "--dry-run", "--json", "--out", str(tmp_path / "o")))
    assert name in res.stdout


def test_bench_results_of_the_new_rules_compare(tmp_path):
    res = ok(cli("bench", "-o", ",".join(NEW), "--sizes", "1e4", "--repeats", "5",
                 "--budget", "0.05", "--no-peers", "--threads", "1",
                 "--out", str(tmp_path)))  # fmt: skip
    (base,) = tmp_path.glob("bench-*.json")
    doc = json.loads(base.read_text())
    assert sorted({r["optimizer"] for r in doc["rows"]}) == sorted(NEW)
    res = ok(cli("compare", str(base), str(base), "--format", "csv"))
    rows = list(csv.DictReader(io.StringIO(res.stdout)))
    assert sorted({r["optimizer"] for r in rows}) == sorted(NEW)
    assert {r["status"] for r in rows} == {"ok"}


# ---- list ----------------------------------------------------------------------------


def test_list_text_shows_every_rule_with_its_update_source_and_switches():
    out = ok(cli("list", columns=200)).stdout
    flat = " ".join(out.split())
    for name, rule in RULES.items():
        assert rule.equation in flat and rule.source in flat, name
    meanings = flat[flat.index("Hyperparameters optimizer hyperparameter meaning") :]
    for (name, param), phrase in SWITCHES.items():
        doc = " ".join(RULES[name].param(param).doc.split())
        assert phrase in doc  # the phrase is the rule's own words...
        assert doc in meanings, (name, param)  # ...and the listing shows them whole
        block = meanings[meanings.index(f" {name} ") :]
        assert param in block.split(" " + ALL[(ALL.index(name) + 1) % 13] + " ")[0]


def test_list_csv_has_all_13_with_equation_source_and_meanings():
    rows = list(csv.DictReader(io.StringIO(ok(cli("list", "--format", "csv")).stdout)))
    assert [r["name"] for r in rows] == ALL
    by = {r["name"]: r for r in rows}
    for name, rule in RULES.items():
        assert by[name]["update"] == rule.equation and by[name]["source"] == rule.source
        lines = by[name]["meaning of each hyperparameter"].split("\n")
        assert lines == [f"{p.name}: {p.doc}" for p in rule.params]
    for (name, param), phrase in SWITCHES.items():
        assert any(line.startswith(f"{param}: ") and phrase in line
                   for line in by[name]["meaning of each hyperparameter"].split("\n"))  # fmt: skip


# ---- run: weight decay ----------------------------------------------------------------


def test_run_weight_decay_is_searched_and_on_record(tmp_path):
    res = ok(cli("run", "-o", "adamw,nadam,radam,lion", "-p", "mlp", "--epochs", "1",
                 "--seeds", "1", "--width", "0.05", "--lr", "0.001", "--weight-decay",
                 "0,0.1", "--out", str(tmp_path), "--json"))  # fmt: skip
    doc = json.loads(res.stdout)
    assert doc["config"]["weight_decay_grid"] == [0.0, 0.1]
    for e in doc["tasks"][0]["optimizers"]:
        assert [p["weight_decay"] for p in e["grid"]] == [0.0, 0.1]
        assert e["weight_decay"] == [0.0, 0.1] and "weight_decay" in e["chosen"]
        finals = [p["mean_final_train_loss"] for p in e["grid"]]
        assert all(math.isfinite(f) for f in finals) and finals[0] != finals[1], e["optimizer"]


def test_run_weight_decay_applies_to_the_rules_that_have_it(tmp_path):
    """As --beta1/--beta2: a rule without weight_decay (yogi) trains with its own rule."""
    res = ok(cli("run", "-o", "adamw,yogi", "-p", "logreg", "--epochs", "1", "--seeds", "1",
                 "--lr", "0.01", "--weight-decay", "0,0.1", "--out", str(tmp_path),
                 "--json"))  # fmt: skip
    entries = {e["optimizer"]: e for e in json.loads(res.stdout)["tasks"][0]["optimizers"]}
    assert entries["adamw"]["weight_decay"] == [0.0, 0.1]
    assert [p["weight_decay"] for p in entries["adamw"]["grid"]] == [0.0, 0.1]
    assert entries["yogi"]["weight_decay"] is None
    assert all("weight_decay" not in p for p in entries["yogi"]["grid"])


def test_run_records_a_rules_own_default_weight_decay(tmp_path):
    res = ok(cli("run", "-o", "adamw,yogi", "-p", "logreg", "--epochs", "1", "--seeds", "1",
                 "--lr", "0.01", "--out", str(tmp_path), "--json"))  # fmt: skip
    entries = {e["optimizer"]: e for e in json.loads(res.stdout)["tasks"][0]["optimizers"]}
    assert entries["adamw"]["weight_decay"] == [RULES["adamw"].param("weight_decay").default]
    assert entries["yogi"]["weight_decay"] is None


@pytest.mark.parametrize(
    "args, words",
    [
        (
            ["-o", "adabelief,yogi", "--weight-decay", "0.01"],
            ["none of the selected optimizers has weight_decay", "adabelief, yogi"],
        ),
        (["-o", "lion", "--weight-decay", "-1"], ["lion", "weight_decay must be >= 0"]),
        (["-o", "lion", "--weight-decay", "x"], ["--weight-decay must be numbers >= 0"]),
    ],
)
def test_run_weight_decay_refusals_are_one_line(args, words, tmp_path, monkeypatch, capsys):
    import sys

    from adambench.cli.app import main

    monkeypatch.setattr(sys, "argv", ["adambench", "run", *args, "--dry-run", "--out",
                                      str(tmp_path)])  # fmt: skip
    with pytest.raises(SystemExit) as exit_info:
        main()
    out = capsys.readouterr()
    assert exit_info.value.code == 2 and out.out == "" and "Traceback" not in out.err
    lines = out.err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: --weight-decay")
    for w in words:
        assert w in lines[0]


# ---- sweeps and plugins ----------------------------------------------------------------

SWITCH_GRIDS = """
[optimizers.adabelief]
eps_placement = ["paper", "outside"]
[optimizers.nadam]
decoupled_weight_decay = [true, false]
weight_decay = 0.01
[optimizers.radam]
rho_threshold = [4.0, 5.0]
[optimizers.yogi]
bias_correction = [true, false]
initial_accumulator = 1e-6
[optimizers.adamw]
amsgrad = [true, false]
[optimizers.lion]
lr = [1e-4, 1e-3]
"""


@pytest.mark.parametrize(
    "engine",
    [
        '[regret]\nproblems = ["logistic"]\nT = 300\n',
        '[run]\ntasks = ["logreg"]\nepochs = 1\nwidth = 0.05\n',
    ],  # fmt: skip
    ids=["regret", "run"],
)
def test_sweep_runs_the_new_rules_switches(engine, tmp_path):
    kind = "regret" if engine.startswith("[regret]") else "run"
    cfg = tmp_path / "s.toml"
    cfg.write_text(f'[sweep]\nkind = "{kind}"\nseeds = 1\n{engine}{SWITCH_GRIDS}')
    res = ok(cli("sweep", str(cfg), "-j", "1", "--json", "--out", str(tmp_path / "o")))
    rows = json.loads(res.stdout)["rows"]
    assert {r["optimizer"] for r in rows} == set(NEW)
    want = {
        ("adabelief", "eps_placement"): {"paper", "outside"},
        ("nadam", "decoupled_weight_decay"): {True, False},
        ("radam", "rho_threshold"): {4.0, 5.0},
        ("yogi", "bias_correction"): {True, False},
        ("adamw", "amsgrad"): {True, False},
        ("lion", "lr"): {1e-4, 1e-3},
    }
    seen = {k: {r["hyperparameters"][k[1]] for r in rows if r["optimizer"] == k[0]} for k in want}
    assert seen == want
    nadam = [r["hyperparameters"] for r in rows if r["optimizer"] == "nadam"]
    assert {h["weight_decay"] for h in nadam} == {0.01}
    assert all(math.isfinite(r["R_T"] if kind == "regret" else _loss(r)) for r in rows)


def _loss(row: dict) -> float:
    """A run-kind sweep row's final training loss (mean over seeds)."""
    return row["final_train_loss"]


PLUGIN = """
import dataclasses
from adambench.core.registry import get_rule
from adambench.core.spec import Param

_base = get_rule("adabelief")
ADABELIEF_OUTSIDE = dataclasses.replace(
    _base,
    name="adabelief-outside",
    title="AdaBelief, eps outside the root only",
    kernel=None,
    params=tuple(
        dataclasses.replace(p, default="outside") if p.name == "eps_placement" else p
        for p in _base.params
    ),
)
"""


def test_a_plugin_variant_of_a_new_rule_runs_in_a_sweep(monkeypatch, tmp_path):
    from adambench.core import plugins

    site = tmp_path / "site"
    info = site / "variant_plugin-0.1.0.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: variant_plugin\nVersion: 0.1.0\n")
    (info / "entry_points.txt").write_text(
        "[adambench.optimizers]\nadabelief-outside = variant_plugin_rules:ADABELIEF_OUTSIDE\n"
    )
    (site / "variant_plugin_rules.py").write_text(PLUGIN)
    monkeypatch.syspath_prepend(str(site))
    plugins.reset()
    try:
        cfg = tmp_path / "s.toml"
        cfg.write_text('[sweep]\nkind = "regret"\nseeds = 1\n[regret]\nproblems = '
                       '["logistic"]\nT = 300\n[optimizers.adabelief-outside]\n'
                       '[optimizers.adabelief]\neps_placement = "outside"\n')  # fmt: skip
        res = ok(cli("sweep", str(cfg), "-j", "1", "--json", "--out", str(tmp_path / "o")))
        rows = {r["optimizer"]: r for r in json.loads(res.stdout)["rows"]}
        assert set(rows) == {"adabelief", "adabelief-outside"}
        variant, built_in = rows["adabelief-outside"], rows["adabelief"]
        assert variant["hyperparameters"]["eps_placement"] == "outside"
        # the variant steps with AdaBelief's float64 reference, the built-in with its
        # compiled kernel: the same algorithm, the same regret to rounding
        assert math.isfinite(variant["R_T"])
        assert variant["R_T"] == pytest.approx(built_in["R_T"], rel=1e-9)
    finally:
        plugins.reset()
