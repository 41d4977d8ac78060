"""The registry of optimizer rules: one module per rule family, math cited there."""

from __future__ import annotations

from ..spec import Rule
from .adagrad import ADAGRAD
from .adam import ADAM, ADAM_NOBIAS
from .adamax import ADAMAX
from .amsgrad import AMSGRAD
from .rmsprop import RMSPROP_MOMENTUM
from .sgd import SGD

RULES: dict[str, Rule] = {
    r.name: r for r in (ADAM, ADAMAX, ADAGRAD, RMSPROP_MOMENTUM, ADAM_NOBIAS, AMSGRAD, SGD)
}


def get_rule(name: str) -> Rule:
    """The rule called ``name``; ValueError listing the known names otherwise."""
    try:
        return RULES[name]
    except (KeyError, TypeError):
        raise ValueError(f"unknown optimizer {name!r}; choose from: {', '.join(RULES)}") from None
