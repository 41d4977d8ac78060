"""The verdicts' own error rate: cases whose truth the theory knows, run and scored.

A case is (problem, optimizer, hyperparameters) whose regret is known to be linear or
sublinear without looking at a run:

* **linear**: Adam-type rules on Reddi et al.'s problems at the paper's betas: Adam
  without bias correction (their Adam) and with it (the corrections tend to 1, the
  same asymptotics), on ``reddi`` with beta1 = 0, beta2 = 1/(1 + C^2) (Theorem 1), on
  ``reddi-synthetic`` and ``reddi-stochastic`` with beta1 = 0.9, beta2 = 0.99 (section 5,
  Theorems 2-3); the limits of R(T)/T are 2(C - 2)/3, 20/101 and 0.4 (docs/theory.md
  §2.2, §2.5);
* **sublinear**: rules whose sound theorem applies to the run and guarantees O(sqrt T)
  (``bounds``: ``sound``, ``guarantee``): SGD at alpha/sqrt(t) (OGD), AdaGrad at a
  constant alpha, AMSGrad with beta1_t = beta1 lambda^(t-1) (Corollary 1), on every
  problem.  Whether the theorem applies is read from the run's own bound record; a
  case where it does not is left out, one whose bound is exceeded is reported.

``score`` compares a row's verdict class with the truth: right, wrong, undetermined
(not wrong: the rule declined), or "bound exceeded" (a sound theorem contradicted: a
bug or a broken assumption).  ``scripts/validate_verdicts.py`` runs the whole grid; the
test suite runs it at a small T.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from ..core.registry import get_rule
from ..problems.online.registry import PROBLEM_NAMES, make_problem
from . import regret as policy

REDDI = ("reddi", "reddi-synthetic", "reddi-stochastic")
LIMITS = {"reddi-synthetic": 20 / 101, "reddi-stochastic": 0.4}  # reddi: 2 (C - 2) / 3


@dataclass(frozen=True)
class Case:
    """A run whose regret class the theory knows; ``hp`` over ``regret.default_point``."""

    problem: str
    optimizer: str
    truth: str  # "linear" | "sublinear"
    why: str
    hp: dict[str, Any] = field(default_factory=dict)

    def label(self) -> str:
        extra = ", ".join(f"{k}={v:g}" for k, v in self.hp.items())
        return f"{self.problem} / {self.optimizer}" + (f" ({extra})" if extra else "")


def cases(problems: Sequence[str] = PROBLEM_NAMES) -> list[Case]:
    """Every case of the module docstring on ``problems``, in a fixed order."""
    out = []
    for p in problems:
        if p in REDDI:
            ref = "Theorem 1" if p == "reddi" else "section 5, Theorems 2-3"
            for opt in ("adam-nobias", "adam"):
                out.append(Case(p, opt, "linear", f"Reddi et al. {ref}"))
        out.append(Case(p, "sgd", "sublinear", "OGD bound, alpha/sqrt(t)"))
        out.append(Case(p, "adagrad", "sublinear", "AdaGrad bound (Duchi et al.)"))
        out.append(
            Case(p, "amsgrad", "sublinear", "Reddi et al. Thm 4 + Cor 1", {"beta1_decay": 0.99})
        )
    return out


def limit(problem: Any) -> float | None:
    """The known limit of R(T)/T for a linear case (docs/theory.md §2.2, §2.5)."""
    if problem.name == "reddi":
        return 2.0 * (problem.options["C"] - 2.0) / 3.0
    return LIMITS.get(problem.name)


def score(case: Case, row: dict[str, Any]) -> str:
    """right | wrong | undetermined | excluded | bound exceeded, for one row (docstring)."""
    cls = row["verdict"]["class"]
    if case.truth == "sublinear":
        b = row["bound"]
        if not (b["applies"] and b["sound"] and b["guarantee"]):
            return "excluded"
        if b["exceeded_by_seeds"]:
            return "bound exceeded"
    if cls in ("undetermined", "diverged"):
        return "undetermined"
    return "right" if cls == case.truth else "wrong"


def run_cases(
    selected: Sequence[Case],
    T: int,
    seeds: Sequence[int],
    on_case: Callable[[Case, dict[str, Any], str], None] | None = None,
) -> list[dict[str, Any]]:
    """Run every case at T with ``seeds``; one record per case: case, row, score, limit.

    The cases of one problem run as one batch (``engines.regret.engine.run``).
    """
    from ..engines.regret.engine import RunPoint, run

    out = []
    by_problem: dict[str, list[Case]] = {}
    for c in selected:
        by_problem.setdefault(c.problem, []).append(c)
    for name, group in by_problem.items():
        prob = make_problem(name)
        points = [
            RunPoint(c.optimizer, {**policy.default_point(prob, get_rule(c.optimizer)), **c.hp})
            for c in group
        ]
        res = run(prob, points, list(seeds), T)
        for c, row in zip(group, policy.rows(res), strict=True):
            s = score(c, row)
            rec = {"case": c, "row": row, "score": s, "known_limit": limit(prob)}
            out.append(rec)
            if on_case is not None:
                on_case(c, row, s)
    return out


def counts(records: Sequence[dict[str, Any]]) -> dict[str, int]:
    """How many records got each score."""
    out: dict[str, int] = {}
    for r in records:
        out[r["score"]] = out.get(r["score"], 0) + 1
    return out
