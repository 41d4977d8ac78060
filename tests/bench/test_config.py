"""``bench`` options checked up front: ``-o`` comma lists with hyperparameters, budgets."""

from __future__ import annotations

import math

import pytest

from adambench.bench import config as bc
from adambench.bench import timing


def _cases(*values: str) -> list[tuple[str, str, dict]]:
    return [(c.label, c.name, c.hp) for c in bc.parse_cases(list(values))]


def test_the_readme_comma_list_with_hyperparameters():
    # README: adambench bench -o adam,sgd:momentum=0.9 --sizes 1e6,1e7
    assert _cases("adam,sgd:momentum=0.9") == [
        ("adam", "adam", {}),
        ("sgd:momentum=0.9", "sgd", {"momentum": 0.9}),
    ]


def test_a_key_value_item_belongs_to_the_optimizer_before_it():
    assert _cases("sgd:momentum=0.9,nesterov=true,adagrad, adam:beta1=0.8") == [
        ("sgd:momentum=0.9,nesterov=true", "sgd", {"momentum": 0.9, "nesterov": True}),
        ("adagrad", "adagrad", {}),
        ("adam:beta1=0.8", "adam", {"beta1": 0.8}),
    ]
    # comma lists and repeats mix; a case named twice is timed once
    assert [c[0] for c in _cases("adam", "sgd,adam", "sgd:momentum=0.9")] == [
        "adam", "sgd", "sgd:momentum=0.9",
    ]  # fmt: skip
    # the labels of before (one NAME:k=v,k=v per -o) are unchanged, so baselines still match
    assert _cases("sgd:momentum=0.9,nesterov=true")[0][0] == "sgd:momentum=0.9,nesterov=true"


@pytest.mark.parametrize(
    "value, phrase",
    [
        ("momentum=0.9,sgd", "comes before any optimizer name"),
        ("adam,sgd:", "key=value"),
        ("adam,sgd:momentum", "key=value"),
        ("adam,sgd:momentum=0.9,nesterov", "unknown optimizer 'nesterov'"),
        ("adam,sgd:momentum=1.5", "momentum"),
        ("adam,adamq", "unknown optimizer 'adamq'"),
    ],
)
def test_comma_lists_reject_what_they_cannot_read(value, phrase):
    with pytest.raises(ValueError, match=phrase):
        bc.parse_cases([value])


@pytest.mark.parametrize("budget", [math.inf, -math.inf, math.nan, 0.0, -1.0, 1e9, 1e308])
def test_non_finite_or_out_of_range_budgets_are_refused(budget):
    with pytest.raises(ValueError, match=r"budget must be a finite number of seconds in \(0, "):
        bc.BenchConfig(bc.parse_cases(["adam"]), [1000], ["float32"], [1], budget_s=budget)


@pytest.mark.parametrize("budget", [1e-6, 4.0, bc.MAX_BUDGET_S])
def test_budgets_in_range_are_kept(budget):
    cfg = bc.BenchConfig(bc.parse_cases(["adam"]), [1000], ["float32"], [1], budget_s=budget)
    assert cfg.budget_s == budget


def test_measure_takes_an_infinite_budget_as_no_cap():
    # the harness itself (library use) must not overflow on int(inf) either
    t = timing.measure({"x": lambda: None}, repeats=6, min_sample_s=0.0, budget_s=math.inf)
    assert len(t.wall["x"]) == 6
