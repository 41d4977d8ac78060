"""The regret experiment: its options, its default points, its grids and its rows.

The one policy that ``adambench regret`` (``cli/regret.py``) and a regret sweep
(``sweep/plan.py``, ``sweep/work.py``) both call:

* ``validate_options`` / ``horizon``: T an integer in [1, ``MAX_T``], dtype, projection,
  checkpoints per decade in [5, ``MAX_PER_DECADE``], the schedule, d >= 1; an
  ``OptionError`` that each front end words its own way (``--per-decade must be ...`` /
  ``config regret.per_decade: expected ...``);
* ``validate_seeds``: a count in [1, ``MAX_SEEDS``] from a first seed >= 0 whose last seed
  is at most ``MAX_SEED`` = 2^64 - 1 (the stream key, ``problems/streams.stream_key``,
  takes a seed modulo 2^64: a larger seed would silently rerun a smaller one's stream);
  checked before any list of seeds is built;
* ``default_point``: the point a rule runs at unless a grid says otherwise: the
  problem's step size (divided by the problem's G_inf for a rule that is not
  scale-free, ``Rule.scale_free``), the rule's online schedule (``Rule.online_schedule``)
  and the problem's own hyperparameters (e.g. beta1, beta2 of Reddi et al.'s example);
* ``points``: a grid of hyperparameters over that default (``grid.expand``);
* ``run_work`` / ``state_bytes`` / ``check_budget``: the size of a batch of runs, and
  the bounds a single command may not exceed (``MAX_WORK``, ``MAX_STATE_BYTES``);
* ``comparator_info``: what a result records about the comparator.

Rows and verdicts, from an engine result: ``experiments/regret_rows.py`` (``rows``,
``verdict``, re-exported here).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

from ..core.registry import require_backend
from ..core.spec import Rule
from ..problems.online.base import PROJECTIONS
from . import grid
from .regret_rows import VERDICT_CLASSES, rows, verdict  # noqa: F401 (re-exported: one policy)

DEFAULT_PROBLEMS = ("logistic", "sparse-logistic", "reddi")
DTYPES = ("float64", "float32")
SCHEDULES = ("inv_sqrt", "constant", "auto")  # auto: each rule's online_schedule
MIN_PER_DECADE = 5
# Upper bounds checked before anything is allocated: checkpoints per decade (the engine
# keeps (runs, checkpoints) statistics and the comparator per checkpoint state; 100 a
# decade is a 2.3% step between checkpoints), seeds per point, the largest seed (the
# stream key is 64-bit) and T (1e10 < MAX_WORK / 11, the work of a single run at d = 1,
# so a larger T can never pass ``check_budget``; a sweep unit is held to it too).
MAX_PER_DECADE = 100
MAX_SEEDS = 10_000
MAX_SEED = 2**64 - 1
MAX_T = 10**10
MAX_T_TEXT = "1e10"
# Bounds on one command's work: T x runs x (d + 10) per problem, summed (about 10
# minutes on 2 cores), and the runs' state (runs x d x 8 float64 arrays).
MAX_WORK = 2e11
MAX_STATE_BYTES = 2 * 2**30


class OptionError(ValueError):
    """A regret option out of range: which one, what it must be, and the value given.

    ``str()`` is the plain sentence; ``for_flag()`` and ``for_config()`` word it for the
    command line and for a sweep file.
    """

    def __init__(self, field: str, expected: str, got: Any) -> None:
        self.field, self.expected, self.got = field, expected, got
        super().__init__(f"{field} must be {expected}, got {got!r}")

    def for_flag(self) -> str:
        """``--per-decade must be an integer >= 5, got 3``: the flag of ``adambench regret``."""
        return f"--{self.field.replace('_', '-')} must be {self.expected}, got {self.got!r}"

    def for_config(self, table: str = "regret") -> str:
        """``config regret.per_decade: expected an integer >= 5, got 3``: a sweep file's key."""
        return f"config {table}.{self.field}: expected {self.expected}, got {self.got!r}"


def horizon(value: int | float | str) -> int:
    """T from ``1000000``, ``1e6`` or ``"1e6"``: an integer in [1, ``MAX_T``], else
    OptionError (above ``MAX_T`` it says why: no larger T fits ``MAX_WORK``)."""
    expected = f"an integer in [1, {MAX_T_TEXT}] such as 1e6 or 1000000"
    too_large = f"{expected} (a larger T exceeds the bound {MAX_WORK:.0e} on one command's work)"
    if isinstance(value, bool):
        raise OptionError("T", expected, value)
    if isinstance(value, int):
        if not 1 <= value <= MAX_T:
            raise OptionError("T", too_large if value > MAX_T else expected, value)
        return value
    try:
        f = float(value)
    except (TypeError, ValueError, OverflowError):
        raise OptionError("T", expected, value) from None
    if not math.isfinite(f) or f < 1 or f != int(f):
        raise OptionError("T", expected, value)
    if f > MAX_T:
        raise OptionError("T", too_large, value)
    return int(f)


def validate_seeds(count: int, start: int = 0) -> None:
    """Seeds start .. start + count - 1: count in [1, ``MAX_SEEDS``], start >= 0 and the
    last seed at most ``MAX_SEED``; else OptionError (field ``seeds`` or ``seed_start``).

    Arithmetic only: nothing of size ``count`` is built.
    """
    if isinstance(count, bool) or not isinstance(count, int) or not 1 <= count <= MAX_SEEDS:
        raise OptionError("seeds", f"an integer in [1, {MAX_SEEDS}]", count)
    top = MAX_SEED - count + 1
    if isinstance(start, bool) or not isinstance(start, int) or not 0 <= start <= top:
        raise OptionError(
            "seed_start",
            f"an integer in [0, 2^64 - {count}] (the last seed is at most 2^64 - 1)",
            start,
        )


def validate_options(
    T: int | float | str,
    dtype: str = "float64",
    projection: str = "weighted",
    per_decade: int = 5,
    schedule: str = "auto",
    dim: int | None = None,
) -> int:
    """Check a regret run's options, in this order; return T as an integer.

    T an integer in [1, ``MAX_T``] (``horizon``), d >= 1 or None (the problem's own), the
    schedule one of ``SCHEDULES``, dtype one of ``DTYPES``, projection one of the
    problems' ``PROJECTIONS``, checkpoints per decade in [``MIN_PER_DECADE``,
    ``MAX_PER_DECADE``].  The first option out of range is an ``OptionError``.
    """
    T = horizon(T)
    if dim is not None and (isinstance(dim, bool) or not isinstance(dim, int) or dim < 1):
        raise OptionError("dim", "an integer >= 1", dim)
    if schedule not in SCHEDULES:
        raise OptionError("schedule", " | ".join(SCHEDULES), schedule)
    if dtype not in DTYPES:
        raise OptionError("dtype", " | ".join(DTYPES), dtype)
    if projection not in PROJECTIONS:
        raise OptionError("projection", " | ".join(PROJECTIONS), projection)
    if (
        isinstance(per_decade, bool)
        or not isinstance(per_decade, int)
        or not MIN_PER_DECADE <= per_decade <= MAX_PER_DECADE
    ):
        expected = f"an integer in [{MIN_PER_DECADE}, {MAX_PER_DECADE}]"
        raise OptionError("per_decade", expected, per_decade)
    return T


def problem_options(name: str, reddi_c: float) -> dict[str, float]:
    """The problem options a regret run passes on: C of ``reddi`` (Reddi et al.'s example)."""
    return {"C": float(reddi_c)} if name == "reddi" else {}


def require_compiled(rule: Rule, backend: str = "numpy", where: str = "--backend") -> None:
    """ValueError (one line) when ``rule`` cannot run on ``backend``: a rule without a
    compiled kernel runs on its reference step, on NumPy arrays only (the regret engine's
    ``reference_runs.py``; ``core.registry.require_backend``; ``where`` names the setting
    that chose the backend)."""
    require_backend(rule, backend, where)


def default_point(problem: Any, rule: Rule, schedule: str = "auto") -> dict[str, Any]:
    """The hyperparameters a regret run of ``rule`` on ``problem`` uses by default.

    The rule: lr = the problem's ``default_lr``, divided by the problem's G_inf when the
    rule is not scale-free (``Rule.scale_free``; e.g. SGD, whose step scales with the
    gradient); lr_schedule = ``schedule``, or with ``"auto"`` the rule's
    ``online_schedule`` (alpha/sqrt(t), or constant for AdaGrad whose 1/sqrt(sum g^2)
    already decays); then the problem's ``overrides`` for the parameters the rule has.
    The a-priori G_inf holds for every seed, so it is conservative (docs/theory.md §5.1):
    such a run can be slow to become asymptotic, which its verdict then says.
    """
    has = {p.name for p in rule.params}
    scale = 1.0 if rule.scale_free else problem.constants["G_inf"]
    point: dict[str, Any] = {
        "lr": problem.default_lr / scale,
        "lr_schedule": rule.online_schedule if schedule == "auto" else schedule,
    }
    point.update({k: v for k, v in problem.overrides.items() if k in has})
    return point


def points(
    problem: Any, rule: Rule, axes: Mapping[str, Sequence[Any]], schedule: str = "auto"
) -> list[dict[str, Any]]:
    """Every grid point of ``rule`` on ``problem``: ``axes`` over ``default_point``."""
    return grid.expand(rule, default_point(problem, rule, schedule), axes)


def run_work(T: int, runs: int, d: int) -> float:
    """The work of ``runs`` runs of T steps in dimension d: T x runs x (d + 10)."""
    return float(T) * runs * (d + 10)


def state_bytes(runs: int, d: int) -> int:
    """The runs' state: x, g, three buffers and statistics, ~8 float64 arrays of runs x d."""
    return runs * d * 8 * 8


def check_budget(
    T: int,
    n_seeds: int,
    work: Sequence[tuple[Any, Sequence[Any]]],
    names: Mapping[str, str] | None = None,
) -> None:
    """ValueError when [(problem, points)] at T with ``n_seeds`` seeds is too large.

    The bounds: the summed ``run_work`` at most ``MAX_WORK`` and the summed
    ``state_bytes`` at most ``MAX_STATE_BYTES``.  ``names`` words the remedies with the
    caller's names for T, the seeds and d (default: T, seeds, dim).
    """
    n = {"T": "T", "seeds": "seeds", "dim": "dim", **(names or {})}
    total = sum(run_work(T, len(pts) * n_seeds, prob.d) for prob, pts in work)
    state = sum(state_bytes(len(pts) * n_seeds, prob.d) for prob, pts in work)
    if total > MAX_WORK:
        raise ValueError(
            f"T x runs x (d + 10) = {total:.3g} exceeds the bound {MAX_WORK:.0e} (about 10 "
            f"minutes on 2 cores); lower {n['T']}, the grids, {n['seeds']} or {n['dim']}"
        )
    if state > MAX_STATE_BYTES:
        raise ValueError(
            f"state of {state / 2**30:.2f} GiB (runs x d x 8 arrays) exceeds the bound "
            f"{MAX_STATE_BYTES / 2**30:.0f} GiB; lower the grids, {n['seeds']} or {n['dim']}"
        )


def comparator_info(result: Any) -> dict[str, Any]:
    """What a result records about an ``EngineResult``'s comparator: method, passes, gap."""
    c = result.comparator
    return {
        "method": c.method,
        "newton_passes": c.passes,
        "max_certified_gap": float(c.gap.max()),
    }
