"""The verdicts' error rate on cases whose truth the theory knows, at a small T.

The full grid (T = 1e4 ... 1e7) is scripts/validate_verdicts.py; here every case of
``validation.cases()`` runs at T = 1e4 with the default five seeds and none may be wrong.
"""

from adambench.experiments import validation


def test_no_verdict_contradicts_the_theory_at_small_T():
    records = validation.run_cases(validation.cases(), 10_000, [0, 1, 2, 3, 4])
    counts = validation.counts(records)
    wrong = [(r["case"].label(), r["row"]["verdict"]["text"]) for r in records
             if r["score"] in ("wrong", "bound exceeded")]  # fmt: skip
    assert not wrong, wrong
    assert len(records) == len(validation.cases()) == 30
    # the table decides something on every family: the deterministic Reddi problems,
    # and AdaGrad's O(sqrt T) on the generated problems
    assert counts["right"] >= 15, counts
    right = {r["case"].label() for r in records if r["score"] == "right"}
    assert {"reddi / adam-nobias", "reddi / adam", "logistic / adagrad"} <= right


def test_cases_and_scores():
    labels = [c.label() for c in validation.cases()]
    assert "reddi-synthetic / adam" in labels and "hinge / amsgrad (beta1_decay=0.99)" in labels
    case = validation.Case("reddi", "adam", "linear", "Thm 1")
    row = {"verdict": {"class": "sublinear"}, "bound": {}}
    assert validation.score(case, row) == "wrong"
    row["verdict"]["class"] = "undetermined"
    assert validation.score(case, row) == "undetermined"
    sub = validation.Case("logistic", "sgd", "sublinear", "OGD")
    ok = {"applies": True, "sound": True, "guarantee": "O(sqrt T)", "exceeded_by_seeds": 0}
    assert validation.score(sub, {"verdict": {"class": "sublinear"}, "bound": ok}) == "right"
    assert validation.score(sub, {"verdict": {"class": "linear"}, "bound": ok}) == "wrong"
    off = {**ok, "applies": False}
    assert validation.score(sub, {"verdict": {"class": "linear"}, "bound": off}) == "excluded"
    over = {**ok, "exceeded_by_seeds": 2}
    assert validation.score(sub, {"verdict": {"class": "sublinear"}, "bound": over}) == (
        "bound exceeded"
    )
