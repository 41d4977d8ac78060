"""The tied ranking of ``adambench run`` (experiments/training.paired_ranks): A is better
than B when a two-sided paired t test across seeds rejects equal means at 5% and A's
mean is lower; rank = 1 + the number better; a shared rank reads "k=".  Also how the
report table and summary show it, old documents (plain ``rank``) included."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest
from scipy import stats

from adambench.experiments.training import default_target, target_rule
from adambench.experiments.training_results import rank_and_target, ranking_info
from adambench.report import summary, tables
from adambench.stats import RANK_LEVEL, paired_ranks


def _labels(result: dict) -> dict[str, str]:
    return {k: v["rank_label"] for k, v in result.items()}


def _hand_p(a, b) -> float:
    """Two-sided p of the paired t test, by hand: t = mean(d) / (sd(d) / sqrt(n))."""
    d = np.asarray(a, dtype=float) - np.asarray(b, dtype=float)
    n = d.size
    t = d.mean() / (d.std(ddof=1) / math.sqrt(n))
    return float(2 * stats.t.sf(abs(t), n - 1))


def test_the_level_is_five_percent_per_pair_and_stated():
    assert RANK_LEVEL == 0.05
    doc = paired_ranks.__doc__ or ""
    assert "0.05" in doc and "ttest_rel" in doc and "not corrected for multiple" in doc


def test_clear_winner():
    a = [0.10, 0.12, 0.11, 0.13]
    b = [0.30, 0.33, 0.31, 0.32]
    r = paired_ranks({"b": b, "a": a})
    assert r["a"] == {"rank": 1, "rank_label": "1", "better_than": ["b"]}
    assert r["b"] == {"rank": 2, "rank_label": "2", "better_than": []}


def test_overlapping_losses_tie():
    a = [0.10, 0.30, 0.20]
    b = [0.25, 0.15, 0.22]
    assert _hand_p(a, b) > 0.05
    r = paired_ranks({"a": a, "b": b})
    assert _labels(r) == {"a": "1=", "b": "1="}
    assert [r[k]["rank"] for k in "ab"] == [1, 1]
    assert r["a"]["better_than"] == r["b"]["better_than"] == []


@pytest.mark.parametrize(
    ("d", "winner"),
    [([-0.10, -0.20, -0.30], "tie"), ([-0.15, -0.20, -0.25], "a"), ([0.15, 0.2, 0.25], "b")],
)
def test_decision_matches_a_t_statistic_by_hand(d, winner):
    """The same decision as t = mean(d) / (s_d / sqrt(n)) against Student's t, n-1 df."""
    b = np.array([0.9, 1.4, 0.7])
    a = b + np.array(d)
    p = _hand_p(a, b)
    assert p == pytest.approx(stats.ttest_rel(a, b).pvalue, rel=1e-9)
    assert (p < 0.05) == (winner != "tie")
    r = paired_ranks({"a": a, "b": b})
    expected = {
        "tie": ({"a": "1=", "b": "1="}, [], []),
        "a": ({"a": "1", "b": "2"}, ["b"], []),
        "b": ({"a": "2", "b": "1"}, [], ["a"]),
    }[winner]
    assert (_labels(r), r["a"]["better_than"], r["b"]["better_than"]) == expected


def test_three_way_not_transitive():
    """A beats C; B is tied with both: A and B share rank 1, C is 2 (one better)."""
    base = np.array([1.0, 2.0, 3.0, 4.0])
    A = base
    B = base + np.array([0.9, -0.4, 0.6, -0.1])
    C = base + np.array([0.5, 0.52, 0.49, 0.51])
    assert _hand_p(A, C) < 0.05 and _hand_p(A, B) > 0.05 and _hand_p(B, C) > 0.05
    r = paired_ranks({"A": A, "B": B, "C": C})
    assert _labels(r) == {"A": "1=", "B": "1=", "C": "2"}
    assert [r[k]["rank"] for k in "ABC"] == [1, 1, 2]
    assert r["A"]["better_than"] == ["C"] and r["B"]["better_than"] == []


def test_three_ranks_with_a_tie_below():
    a = [0.10, 0.11, 0.12]
    b = [0.50, 0.40, 0.62]
    c = [0.45, 0.55, 0.50]
    r = paired_ranks({"a": a, "b": b, "c": c})
    assert _labels(r) == {"a": "1", "b": "2=", "c": "2="}
    assert r["a"]["better_than"] == ["b", "c"]


def test_one_seed_gives_no_ranking():
    r = paired_ranks({"a": [0.1], "b": [0.3], "gone": None})
    assert {k: (v["rank"], v["rank_label"]) for k, v in r.items()} == {
        "a": (None, "?"),
        "b": (None, "?"),
        "gone": (None, "-"),
    }
    assert all(v["better_than"] == [] for v in r.values())
    info = ranking_info(1)
    assert info == {
        "test": "paired t test across seeds",
        "level": 0.05,
        "seeds": 1,
        "note": "ranking needs --seeds >= 2",
    }
    assert ranking_info(3)["seeds"] == 3 and "5%" in ranking_info(3)["note"]


def test_zero_spread_differences_decide_without_nan():
    """Identical per-seed differences (e.g. deterministic runs): better when non-zero,
    tied when zero; scipy's NaN / inf never shows, and no warning is raised."""
    x = np.array([0.5, 1.0, 2.0])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        r = paired_ranks({"a": x, "same": x.copy(), "worse": x + 0.25})
        flat = paired_ranks({"p": [0.2, 0.2, 0.2], "q": [0.3, 0.3, 0.3]})
    assert _labels(r) == {"a": "1=", "same": "1=", "worse": "3"}
    assert r["a"]["better_than"] == r["same"]["better_than"] == ["worse"]
    assert _labels(flat) == {"p": "1", "q": "2"}
    assert all(isinstance(v["rank"], int) for v in r.values())


def test_diverged_optimizers_are_unranked_and_beat_nobody():
    r = paired_ranks(
        {
            "gone": None,
            "a": [0.1, 0.12, 0.11],
            "nan": [0.1, float("nan"), 0.1],
            "b": [0.3, 0.31, 0.33],
        }
    )
    assert _labels(r) == {"gone": "-", "a": "1", "nan": "-", "b": "2"}
    assert r["gone"]["rank"] is None and r["nan"]["rank"] is None
    assert r["a"]["better_than"] == ["b"]
    assert paired_ranks({"x": None}) == {"x": {"rank": None, "rank_label": "-", "better_than": []}}


def test_unequal_seed_counts_are_an_error():
    with pytest.raises(ValueError, match="different lengths"):
        paired_ranks({"a": [0.1, 0.2], "b": [0.1, 0.2, 0.3]})


def test_rank_and_target_with_one_seed_uses_the_given_target():
    entries = [
        {"optimizer": o, "chosen": {"final_train_loss": {"mean": m},
         "final_train_loss_per_seed": np.array([m]), "mean_curve": np.array([2.0, m])}}
        for o, m in (("a", 0.4), ("b", 0.2))
    ]  # fmt: skip
    entries.append({"optimizer": "c", "chosen": None})
    assert rank_and_target(entries, 0.4) == 0.4
    labels = [(e["rank"], e["rank_label"]) for e in entries]
    assert labels == [(None, "?"), (None, "?"), (None, "-")]
    assert [entries[i]["chosen"]["epochs_to_target"] for i in (0, 1)] == [1, 1]
    # no target: no epochs (the target is never derived from the entries)
    assert rank_and_target(entries, None) is None
    assert entries[0]["chosen"]["epochs_to_target"] is None


def _chosen(per_seed, curve) -> dict:
    return {
        "final_train_loss": {"mean": float(np.mean(per_seed))},
        "final_train_loss_per_seed": np.asarray(per_seed),
        "mean_curve": np.asarray(curve),
    }


def test_the_default_target_is_a_fraction_of_the_initial_loss():
    """0.1 x the mean initial loss over seeds (0.5 x for the VAE), whatever the entries."""
    start = [2.0, 2.5, 3.0]
    assert default_target("mlp", start) == pytest.approx(0.25)
    assert default_target("vae", [60.0, 62.0]) == pytest.approx(30.5)
    assert default_target("mlp", [2.0, float("nan")]) is None
    assert "0.1 x the mean initial training loss" in target_rule("mlp", None)
    assert target_rule("mlp", 0.3) == "--target"


def test_adding_an_optimizer_changes_no_other_optimizers_epochs():
    """The old default (the worst optimizer's final loss) moved every epochs column
    when a worse optimizer was added; the default target depends on the seeds only."""
    curves = {
        "a": ([0.20, 0.22, 0.21], [2.5, 0.9, 0.3, 0.21]),
        "b": ([0.10, 0.12, 0.11], [2.5, 0.5, 0.2, 0.11]),
        "slow": ([1.5, 1.6, 1.55], [2.5, 2.0, 1.8, 1.55]),
    }
    target = default_target("mlp", [2.4, 2.5, 2.6])  # 0.25

    def epochs(names):
        entries = [{"optimizer": n, "chosen": _chosen(*curves[n])} for n in names]
        assert rank_and_target(entries, target) == target
        return {e["optimizer"]: e["chosen"]["epochs_to_target"] for e in entries}

    two, three = epochs(["a", "b"]), epochs(["a", "b", "slow"])
    assert two == {"a": 3, "b": 2}
    assert three == {**two, "slow": None}


# --- the report: labels in the table, tied optimizers grouped in the summary ---------


def _entry(opt: str, mean: float, rank: int | None, label: str | None) -> dict:
    e = {
        "optimizer": opt,
        "diverged_runs": 0,
        "runs": 3,
        "chosen": {
            "lr": 0.01,
            "final_train_loss": {"mean": mean, "ci95_low": mean - 0.01, "ci95_high": mean + 0.01},
            "test_loss": mean,
            "test_accuracy": 0.9,
            "epochs_to_target": 2,
        },
        "rank": rank,
    }
    if label is not None:
        e["rank_label"] = label
    return e


def _doc(entries: list[dict], ranking: dict | None) -> dict:
    task = {"task": {"name": "logreg", "parameters": 650, "lr_schedule": "inv_sqrt"},
            "target_loss": 0.5, "optimizers": entries}  # fmt: skip
    if ranking is not None:
        task["ranking"] = ranking
    return {"command": "run", "tasks": [task]}


def test_report_shows_labels_and_groups_ties():
    gone = {"optimizer": "gd", "diverged_runs": 3, "runs": 3, "chosen": None, "rank": None}
    gone["rank_label"] = "-"
    entries = [
        _entry("sgd", 0.40, 3, "3"),
        gone,
        _entry("adamax", 0.32, 1, "1="),
        _entry("adam", 0.31, 1, "1="),
    ]
    doc = _doc(entries, ranking_info(3))
    (table,) = tables.run_tables(doc)
    assert [(r[0], r[1]) for r in table.rows] == [
        ("1=", "adam"),
        ("1=", "adamax"),
        ("3", "sgd"),
        ("-", "gd"),
    ]
    (line,) = summary.run_summary(doc)
    assert line.startswith(
        "logreg: best (tied by a paired t test across 3 seeds at 5%): adam 0.31 (lr 0.01), "
        "adamax 0.32 (lr 0.01); then sgd 0.4 (lr 0.01)"
    ), line


def test_report_of_one_seed_says_why_unranked():
    entries = [_entry("b", 0.4, None, "?"), _entry("a", 0.2, None, "?")]
    doc = _doc(entries, ranking_info(1))
    (table,) = tables.run_tables(doc)
    assert [(r[0], r[1]) for r in table.rows] == [("?", "a"), ("?", "b")]
    (line,) = summary.run_summary(doc)
    assert line.startswith("logreg: not ranked (ranking needs --seeds >= 2)"), line


def test_old_documents_without_labels_still_render():
    entries = [_entry("sgd", 0.4, 2, None), _entry("adam", 0.3, 1, None)]
    doc = _doc(entries, None)
    (table,) = tables.run_tables(doc)
    assert [(r[0], r[1]) for r in table.rows] == [("1", "adam"), ("2", "sgd")]
    (line,) = summary.run_summary(doc)
    assert line.startswith("logreg: final training loss, best first: adam 0.3 (lr 0.01), sgd"), line


def test_tied_rows_stay_adjacent_when_ranks_and_means_disagree():
    """c is tied with b but beats a, whose mean is between theirs: c 1=, b 1=, a 2; the
    rows go by rank, then mean (the table of the report and of the CLI alike)."""
    from adambench.cli.run import _order

    entries = [_entry("a", 1.0, 2, "2"), _entry("b", 1.1, 1, "1="), _entry("c", 0.9, 1, "1=")]
    (table,) = tables.run_tables(_doc(entries, ranking_info(3)))
    assert [(r[0], r[1]) for r in table.rows] == [("1=", "c"), ("1=", "b"), ("2", "a")]
    assert [e["optimizer"] for e in sorted(entries, key=_order)] == ["c", "b", "a"]
