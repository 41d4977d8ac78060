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
    """The rule called ``name`` (built in, else a plugin); ValueError listing the names."""
    try:
        return RULES[name]
    except (KeyError, TypeError):
        pass
    from ..plugins import optimizers, plugin_rule  # entry points, loaded once (plugins.py)

    rule = plugin_rule(name) if isinstance(name, str) else None
    if rule is None:
        known = ", ".join([*RULES, *optimizers()])
        raise ValueError(f"unknown optimizer {name!r}; choose from: {known}") from None
    return rule
