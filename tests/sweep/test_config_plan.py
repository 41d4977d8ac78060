"""Sweep files: validation (key and expected type named), empty grids, the product cut
into units that keep the engine's batching, keys and the dry-run estimates."""

from __future__ import annotations

import pytest
from sweep_helpers import DOC, tiny

from adambench.sweep import config, plan


def _doc(**tables):
    doc = {k: dict(v) for k, v in DOC.items()}
    for k, v in tables.items():
        if v is None:
            doc.pop(k)
        else:
            doc[k] = v
    return doc


def test_load_toml_file(tmp_path):
    path = tmp_path / "grid.toml"
    path.write_text(
        '[sweep]\nkind = "regret"\nseeds = [3, 4]\n\n[regret]\nproblems = ["reddi"]\nT = "1e3"\n\n'
        "[optimizers.adam]\nbeta1 = [0.0, 0.9]\n[optimizers.sgd]\n"
    )
    cfg = config.load(path)
    assert cfg.name == "grid" and cfg.seeds == (3, 4) and cfg.engine["T"] == "1e3"
    units = plan.plan(cfg)
    assert sum(u.runs for u in units) == (2 + 1) * 2
    assert units[0].spec["T"] == 1000


@pytest.mark.parametrize(
    "doc, message",
    [
        (_doc(sweep={"kind": "regret", "sedes": 3}), r"unknown key sweep\.sedes; allowed: kind"),
        (
            _doc(sweep={"kind": "regret", "seeds": "3"}),
            r"sweep\.seeds: expected an integer count or a list of integers, got str '3'",
        ),
        (_doc(sweep={"kind": "train"}), r"sweep\.kind: expected regret \| run"),
        (
            _doc(sweep={"kind": "regret", "seeds": 0}),
            r"sweep\.seeds: expected a count in \[1, 10000\], got 0",
        ),
        (_doc(regret={"problems": []}), r"regret\.problems: empty list"),
        (_doc(regret={"problems": "reddi"}), r"regret\.problems: expected a list of strings"),
        (
            _doc(regret={"problems": ["reddi"], "T": 1.5}),
            r"regret\.T: expected an integer or a string",
        ),
        (
            _doc(regret={"problems": ["reddi"], "dim": "3"}),
            r"regret\.dim: expected an integer, got str",
        ),
        (_doc(regret=None), r"missing key regret\.problems"),
        (_doc(optimizers={"adam": {"lr": []}}), r"optimizers\.adam\.lr: empty grid"),
        (_doc(optimizers={"adam": {"lr": [{"a": 1}]}}), r"optimizers\.adam\.lr: expected a number"),
        (_doc(optimizers={"adam": 3}), r"optimizers\.adam: expected a table"),
        (_doc(optimizers=None), r"missing table \[optimizers\.NAME\]"),
        (_doc(extra={"a": 1}), r"unknown table \[extra\]"),
        (_doc(run={"tasks": ["mlp"]}), r"table \[run\] does not apply to kind = 'regret'"),
    ],
)
def test_bad_config_names_key_and_type(doc, message):
    with pytest.raises(ValueError, match=message):
        config.parse(doc)


@pytest.mark.parametrize(
    "optimizers, message",
    [
        ({"adam": {"beta1": [0.9, 1.0]}}, r"optimizers\.adam: beta1 must be in \[0, 1\), got 1\.0"),
        ({"adam": {"betaone": 0.9}}, r"optimizers\.adam: unknown hyperparameter 'betaone'"),
        ({"nadamq": {}}, r"unknown optimizer 'nadamq'"),
    ],
)
def test_bad_grid_values_are_refused_at_plan_time(optimizers, message):
    cfg = config.parse(_doc(optimizers=optimizers))
    with pytest.raises(ValueError, match=message):
        plan.plan(cfg)


def test_bad_problem_and_T():
    with pytest.raises(ValueError, match="unknown problem 'nope'"):
        plan.plan(config.parse(_doc(regret={"problems": ["nope"]})))
    with pytest.raises(ValueError, match=r"regret\.T: expected an integer in \[1, 1e10\]"):
        plan.plan(config.parse(_doc(regret={"problems": ["reddi"], "T": 0})))


def test_units_keep_batching_and_seeds_together():
    cfg, units, _ = tiny()
    # 2 problems x (adam: 4 points -> 2 units of 2 points x 2 seeds; amsgrad: 1 unit)
    assert [u.label for u in units] == [
        "reddi adam x2", "reddi adam x2", "reddi amsgrad x1",
        "logistic adam x2", "logistic adam x2", "logistic amsgrad x1",
    ]  # fmt: skip
    for u in units:
        assert u.spec["seeds"] == [0, 1] and u.runs == 2 * len(u.spec["points"])
        assert u.est_seconds > 0 and u.est_bytes > 0
    # every point is present once, with the problem's defaults filled in explicitly
    adam = [hp for u in units[:2] for hp in u.spec["points"]]
    assert [(p["beta1"], p["beta2"]) for p in adam] == [
        (0.0, 0.99),
        (0.0, 0.999),
        (0.9, 0.99),
        (0.9, 0.999),
    ]
    assert all(p["lr_schedule"] == "inv_sqrt" and p["lr"] > 0 for p in adam)


def test_keys_depend_on_the_full_configuration_only():
    _, a, sid_a = tiny()
    _, b, sid_b = tiny(sweep={"name": "other", "runs_per_unit": 4})
    assert [u.key for u in a] == [u.key for u in b] and sid_a == sid_b
    _, c, sid_c = tiny(regret={"T": 3001})
    assert not {u.key for u in a} & {u.key for u in c} and sid_c != sid_a
    _, d, sid_d = tiny(sweep={"runs_per_unit": 100})  # one unit per (problem, optimizer)
    assert len(d) == 4 and sid_d == sid_a


def test_non_float_settings_split_units():
    cfg = config.parse(
        _doc(optimizers={"adam": {"lr_schedule": ["constant", "inv_sqrt"], "lr": [0.1, 0.2]}})
    )
    units = plan.plan(cfg)
    for u in units:
        assert len({hp["lr_schedule"] for hp in u.spec["points"]}) == 1
