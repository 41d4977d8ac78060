"""Sweep files: seeds bounded and never wrapped, sizes bounded before any grid x seeds is
expanded, and no silent leniency (a bool in a numeric list, a set the problem lacks, a
key that applies to nothing): each refused in one config-style line."""

from __future__ import annotations

import time

import pytest
from sweep_helpers import DOC

from adambench.experiments import regret as policy
from adambench.sweep import config, plan


def _doc(**tables):
    doc = {k: dict(v) for k, v in DOC.items()}
    for k, v in tables.items():
        doc[k] = v
    return doc


def _run_doc(**sweep):
    return {"sweep": {"kind": "run", **sweep}, "run": {"tasks": ["logreg"]},
            "optimizers": {"adam": {}}}  # fmt: skip


def test_seed_bounds_agree_with_the_policy():
    assert config.MAX_SEEDS == policy.MAX_SEEDS
    assert config.MAX_SEED["regret"] == policy.MAX_SEED == 2**64 - 1
    assert config.MAX_SEED["run"] == 2**31 - 1  # cli/training_options.check_common


@pytest.mark.parametrize(
    "doc, message",
    [
        (
            _doc(sweep={"kind": "regret", "seeds": 1, "seed_start": 2**64 + 1}),
            r"config sweep\.seed_start: expected an integer in \[0, 18446744073709551615\] "
            r"\(the last of 1 seeds is at most 2\^64 - 1\), got 18446744073709551617",
        ),
        (
            _doc(sweep={"kind": "regret", "seeds": 2, "seed_start": 2**64 - 1}),
            r"sweep\.seed_start: expected an integer in \[0, 18446744073709551614\]",
        ),
        (
            _doc(sweep={"kind": "regret", "seeds": [0, 2**64]}),
            r"config sweep\.seeds: expected seeds in \[0, 2\^64 - 1\], got 18446744073709551616",
        ),
        (
            _doc(sweep={"kind": "regret", "seeds": [0, -1]}),
            r"config sweep\.seeds: expected seeds in \[0, 2\^64 - 1\], got -1",
        ),
        (
            _doc(sweep={"kind": "regret", "seeds": [3, 4], "seed_start": 7}),
            r"config sweep\.seed_start: expected only with a count of seeds",
        ),
        (
            _run_doc(seeds=[2**31]),
            r"config sweep\.seeds: expected seeds in \[0, 2\^31 - 1\], got 2147483648",
        ),
        (_run_doc(seeds=2, seed_start=2**31 - 1), r"sweep\.seed_start: expected an integer in"),
        (
            _doc(sweep={"kind": "regret", "seeds": 10_000_000}),
            r"config sweep\.seeds: expected a count in \[1, 10000\], got 10000000",
        ),
        (
            _doc(sweep={"kind": "regret", "seeds": list(range(10_001))}),
            r"config sweep\.seeds: expected at most 10000 seeds, got 10001",
        ),
    ],
)
def test_seeds_outside_the_stream_key_are_refused(doc, message):
    start = time.perf_counter()
    with pytest.raises(ValueError, match=message):
        config.parse(doc)
    assert time.perf_counter() - start < 1  # before any list of seeds is built


def test_largest_seeds_are_accepted():
    cfg = config.parse(_doc(sweep={"kind": "regret", "seeds": 2, "seed_start": 2**64 - 2}))
    assert cfg.seeds == (2**64 - 2, 2**64 - 1)
    assert config.parse(_run_doc(seeds=[2**31 - 1])).seeds == (2**31 - 1,)


@pytest.mark.parametrize(
    "doc, message",
    [
        (
            _doc(regret={"problems": ["logistic"], "set": "cube"}),
            r"config regret\.set: expected box for logistic .*, got 'cube'",
        ),
        (
            _doc(regret={"problems": ["linear", "logistic"], "set": "ball"}),
            r"config regret\.set: expected box for logistic .*, got 'ball'",
        ),
        (
            _doc(regret={"problems": ["logistic"], "reddi_c": 5.0}),
            r"config regret\.reddi_c: expected only with the reddi problem",
        ),
        (
            _doc(optimizers={"adam": {"beta1": [0, False]}}),
            r"config optimizers\.adam\.beta1: expected a list of numbers \(one kind per list\), "
            r"got bool False",
        ),
        (
            _doc(optimizers={"adam": {"bias_correction": [True, 1]}}),
            r"optimizers\.adam\.bias_correction: expected a list of booleans .*got int 1",
        ),
        (
            _doc(optimizers={"adam": {"beta1": [0.9, "0.5"]}}),
            r"optimizers\.adam\.beta1: expected a list of numbers .*got str '0\.5'",
        ),
        (
            _doc(optimizers={"adam": {"beta1": False}}),
            r"optimizers\.adam\.beta1: expected a number, got bool False",
        ),
        (
            _doc(optimizers={"adam": {"lr_schedule": 1}}),
            r"optimizers\.adam\.lr_schedule: expected a string, got int 1",
        ),
        (
            _doc(regret={"problems": ["logistic"], "per_decade": 5.0}),
            r"config regret\.per_decade: expected an integer, got float 5\.0",
        ),
        (
            _doc(sweep={"kind": "regret", "runs_per_unit": 4.0}),
            r"config sweep\.runs_per_unit: expected an integer, got float",
        ),
        (
            _doc(regret={"problems": ["logistic"], "reddi_c": "3"}),
            r"config regret\.reddi_c: expected a number, got str",
        ),
    ],
)
def test_no_silent_leniency(doc, message):
    with pytest.raises(ValueError, match=message):
        plan.plan(config.parse(doc))


def test_a_set_every_problem_has_is_accepted_and_keeps_unit_keys():
    cfg = config.parse(_doc(regret={"problems": ["logistic", "reddi"], "T": 100, "set": "box"}))
    same = config.parse(_doc(regret={"problems": ["logistic", "reddi"], "T": 100}))
    assert [u.key for u in plan.plan(cfg)] == [u.key for u in plan.plan(same)]
    # one kind per list: equal numbers still merge
    assert config.parse(_doc(optimizers={"adam": {"beta1": [0, 0.0]}})).grids["adam"] == {
        "beta1": [0]
    }


@pytest.mark.parametrize(
    "doc, message",
    [
        (
            _doc(regret={"problems": ["logistic"], "T": 1e300}),
            r"config regret\.T: expected an integer in \[1, 1e10\] such as 1e6 or 1000000 \(a "
            r"larger T exceeds the bound 2e\+11 on one command's work\), got 1e\+300",
        ),
        (
            _doc(regret={"problems": ["logistic"], "T": "1e300"}),
            r"config regret\.T: expected an integer in \[1, 1e10\]",
        ),
        (
            _doc(regret={"problems": ["logistic"], "per_decade": 10**9}),
            r"config regret\.per_decade: expected an integer in \[5, 100\], got 1000000000",
        ),
        (
            _doc(
                optimizers={
                    "adam": {
                        "lr": [0.01 * (i + 1) for i in range(100)],
                        "beta1": [0.001 * i for i in range(100)],
                        "beta2": [0.5 + 0.001 * i for i in range(100)],
                    }
                }
            ),  # fmt: skip
            r"config: the sweep has 4,000,000 runs \(regret\.problems x grid points x "
            r"sweep\.seeds\), above the bound 1,000,000",
        ),
        (
            _doc(
                sweep={"kind": "regret", "seeds": 10_000, "runs_per_unit": 10**6},
                regret={"problems": ["linear"], "dim": 10_000},
            ),  # fmt: skip
            r"config: a unit of linear adam \(40,000 runs at d = 10000\) holds 23\.8 GiB of "
            r"state, above the bound 2 GiB",
        ),
    ],
)
def test_sizes_are_bounded_before_expanding(doc, message):
    start = time.perf_counter()
    with pytest.raises(ValueError, match=message):
        plan.plan(config.parse(doc))
    assert time.perf_counter() - start < 5  # arithmetic, not an expansion


def test_grid_size_is_the_product_of_the_axes():
    assert plan.grid_size({}) == 1
    assert plan.grid_size({"lr": [1, 2, 3], "beta1": [0.0, 0.9]}) == 6
