"""A phase sweep (kind = "phase"): the map of `adambench phase`, cut into units of cells,
merged into the phase command's document; its file's errors name the file's keys."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from adambench.cli.app import app
from adambench.engines.regret.engine import run
from adambench.experiments import phase as policy
from adambench.sweep import config, plan, runner
from adambench.sweep.executors import InlineExecutor
from adambench.sweep.store import Store

MAP = {
    "sweep": {"kind": "phase", "name": "map", "seeds": 2, "runs_per_unit": 6},
    "phase": {"problem": "reddi-stochastic", "x": "beta1=0:0.9:3", "y": "beta2=0.5:0.999:3",
              "T": 1500},
    "optimizers": {"adam": {"lr": 0.5}},
}  # fmt: skip


def _doc(**tables):
    doc = {k: dict(v) for k, v in MAP.items()}
    for k, v in tables.items():
        doc[k] = {**doc.get(k, {}), **v}
    return doc


def _sweep(doc, folder):
    cfg = config.parse(doc)
    units, sid = plan.plan(cfg), plan.sweep_id(cfg)
    store = Store.open(folder, sid, cfg.name, cfg.identity(), units)
    ex = InlineExecutor(threads=1)
    out = runner.execute(units, store, ex)
    assert out.complete and out.exit_code == 0
    return units, runner.merge(cfg, sid, units, out, ex.description)


def _command(doc):
    """The same map as `adambench phase` computes it: the whole of each batch at once."""
    t = config.parse(doc).engine
    the_map, T = policy.plan_from_table(t, "adam", dict(doc["optimizers"]["adam"]))
    seeds = list(range(doc["sweep"]["seeds"]))
    records = []
    for prob, points, cells_of in the_map.work:
        records += policy.cells(run(prob, points, seeds, T), cells_of)
    return policy.analysis(the_map, records)


@pytest.mark.parametrize(
    "tables",
    [
        {},
        {
            "phase": {"problem": "reddi", "x": "beta2=0.2:0.9:2", "y": "C=3:6:3"},
            "optimizers": {"adam": {"beta1": 0.0}},
        },
    ],  # fmt: skip
    ids=["rule axes", "problem axis"],
)
def test_units_merge_into_the_phase_commands_map(tmp_path, tables):
    doc = _doc(**tables)
    units, merged = _sweep(doc, tmp_path / "out")
    assert len(units) > 1  # 6 runs a unit: 3 cells of 2 seeds
    assert merged["command"] == "phase" and merged["sweep"]["kind"] == "phase"
    want = _command(doc)
    for key in ("cells", "counts", "boundaries", "theory", "theorem3_region"):
        assert merged[key] == json.loads(json.dumps(want[key])), key
    assert merged["config"]["x"]["name"] == doc["phase"]["x"].split("=")[0]


@pytest.mark.parametrize(
    "tables, message",
    [
        ({"optimizers": {"adam": {"lr": 0.5}, "amsgrad": {}}},
         "config optimizers: a phase sweep maps one optimizer, got 2 (adam, amsgrad)"),
        ({"optimizers": {"adam": {"lr": [0.1, 0.5]}}},
         "config optimizers.adam.lr: expected one value in a phase sweep"),
        ({"phase": {"x": "beta1=0:0.9"}}, "config: phase.x"),
        ({"phase": {"x": "gamma=0:1:3"}}, "config: phase.x 'gamma' is neither"),
        ({"phase": {"T": 0}}, "config phase.T: expected an integer in [1,"),
        ({"optimizers": {"adam": {"beta1": 0.5}}}, "config: optimizers.adam.beta1 is also an axis"),
        ({"regret": {"problems": ["reddi"]}}, "config: table [regret] does not apply to kind"),
        ({"phase": {"y": 3}}, "config phase.y: expected a string"),
    ],
)  # fmt: skip
def test_bad_phase_files_are_one_line_errors_naming_the_key(tables, message):
    doc = _doc(**{k: v for k, v in tables.items() if k != "optimizers"})
    if "optimizers" in tables:
        doc["optimizers"] = tables["optimizers"]
    with pytest.raises(ValueError) as err:
        plan.plan(config.parse(doc))
    assert str(err.value).startswith(message) and "\n" not in str(err.value), str(err.value)


def test_missing_axis_and_default_unit_size():
    doc = _doc()
    del doc["phase"]["x"]
    with pytest.raises(ValueError, match=r"^config: missing key phase.x"):
        config.parse(doc)
    doc = _doc()
    del doc["sweep"]["runs_per_unit"]
    assert config.parse(doc).runs_per_unit == config.PHASE_RUNS_PER_UNIT


def test_the_sweep_command_writes_the_map_and_its_report(tmp_path):
    toml = tmp_path / "map.toml"
    toml.write_text(
        '[sweep]\nkind = "phase"\nseeds = 2\nruns_per_unit = 6\n'
        '[phase]\nproblem = "reddi-stochastic"\nx = "beta1=0:0.9:3"\ny = "beta2=0.5:0.999:2"\n'
        "T = 1500\n[optimizers.adam]\n"
    )
    out = tmp_path / "out"
    cli = CliRunner()
    res = cli.invoke(app, ["sweep", str(toml), "--out", str(out)])
    assert res.exit_code == 0, res.output
    assert "cells" in res.output and "verdict" in res.output
    doc = json.loads((out / "sweep.json").read_text())
    assert doc["command"] == "phase" and len(doc["cells"]) == 6
    rep = cli.invoke(app, ["report", str(out), "--out", str(tmp_path / "rep")])
    assert rep.exit_code == 0, rep.output
    assert (tmp_path / "rep" / "report.md").is_file()
    (out / "sweep.json").unlink()  # an unfinished map: not drawn, one line says why
    rep = cli.invoke(app, ["report", str(out), "--out", str(tmp_path / "rep2")])
    assert rep.exit_code == 2 and "adambench sweep --resume" in rep.output
