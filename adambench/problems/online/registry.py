"""The online problems by name, with their one-line descriptions (``adambench list problems``).

Describing a problem builds nothing heavy: the family modules import numba, so the
registry imports them only when a problem is made.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .base import Problem

# name -> (family module, factory, one-line description, default d, sets, d fixed?)
_SPECS = {
    "linear": ("linear", "make", "f_t = <c_t, x>, stochastic c_t; box or ball; closed form", 10),
    "logistic": ("logistic", "make", "online logistic regression from a random teacher; box", 10),
    "least-squares": (
        "least_squares",
        "make",
        "online linear regression with noise; box or ball; exact bounded solve",
        10,
    ),
    "hinge": ("hinge", "make", "online linear SVM, squared hinge loss; L2 ball", 10),
    "sparse-logistic": (
        "sparse_logistic",
        "make",
        "logistic, 3 active features per step, power-law frequencies; box",
        100,
    ),
    "reddi": ("reddi", "make_reddi", "Reddi Thm 1: C x if t mod 3 == 1 else -x on [-1, 1]", 1),
    "reddi-synthetic": (
        "reddi",
        "make_synthetic",
        "Reddi 5: 1010 x if t mod 101 == 1 else -10 x on [-1, 1]",
        1,
    ),
    "reddi-stochastic": (
        "reddi",
        "make_stochastic",
        "Reddi 5: 1010 x with probability 0.01 else -10 x on [-1, 1]",
        1,
    ),
}
PROBLEM_NAMES = tuple(_SPECS)
BALL_CAPABLE = ("linear", "least-squares")
# Largest d: the comparator of a smooth problem keeps a d x d Hessian per checkpoint and
# a dense one costs d^2 per step and checkpoint.
MAX_DIM = {"logistic": 200, "least-squares": 200, "hinge": 200, "sparse-logistic": 1000}


@dataclass(frozen=True)
class ProblemInfo:
    name: str
    description: str
    default_dim: int
    fixed_dim: bool
    sets: tuple[str, ...]


def info(name: str) -> ProblemInfo:
    """Static facts about a problem (no numba import)."""
    mod, _, desc, d = _spec(name)
    sets = ("box", "ball") if name in BALL_CAPABLE else (("ball",) if name == "hinge" else ("box",))
    return ProblemInfo(name, desc, d, name.startswith("reddi"), sets)


def _spec(name: str):
    try:
        return _SPECS[name]
    except (KeyError, TypeError):
        raise ValueError(
            f"unknown problem {name!r}; choose from: {', '.join(PROBLEM_NAMES)}"
        ) from None


def make_problem(name: str, dim: int | None = None, feasible: str | None = None, **kw: Any):
    """The problem ``name``; ``dim`` and ``feasible`` (box | ball) where it has them.

    ``dim`` is ignored by the one-dimensional Reddi problems; ValueError on a bad value.
    """
    import importlib

    mod_name, factory, _, default_d = _spec(name)
    meta = info(name)
    if feasible is not None and feasible not in meta.sets:
        raise ValueError(f"set for {name} must be {' | '.join(meta.sets)}, got {feasible!r}")
    args: dict[str, Any] = dict(kw)
    if not meta.fixed_dim:
        d = default_d if dim is None else dim
        hi = MAX_DIM.get(name, 100_000)
        if isinstance(d, bool) or int(d) != d or not 1 <= d <= hi:
            raise ValueError(f"dim for {name} must be an integer in [1, {hi}], got {d!r}")
        args["d"] = int(d)
    if feasible is not None and name in BALL_CAPABLE:
        args["feasible"] = feasible
    mod = importlib.import_module(f"{__package__}.{mod_name}")
    problem: Problem = getattr(mod, factory)(**args)
    return problem


def problem_params(name: str) -> tuple[str, ...]:
    """The keyword parameters of a problem besides dim and set (C of ``reddi``): what a
    phase map may vary on the problem's side."""
    import importlib
    import inspect

    mod_name, factory, _, _ = _spec(name)
    fn = getattr(importlib.import_module(f"{__package__}.{mod_name}"), factory)
    return tuple(n for n in inspect.signature(fn).parameters if n not in ("d", "feasible"))


def describe_all() -> list[dict[str, Any]]:
    """Name, description, default dimension and sets of every problem (for ``list``)."""
    return [
        {
            "name": i.name,
            "description": i.description,
            "default_dim": i.default_dim,
            "dim_fixed": i.fixed_dim,
            "sets": list(i.sets),
        }
        for i in map(info, PROBLEM_NAMES)
    ]
