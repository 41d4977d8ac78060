"""The registry of optimizer rules: one module per rule family, math cited there."""

from __future__ import annotations

from .rules.adagrad import ADAGRAD
from .rules.adam import ADAM, ADAM_NOBIAS
from .rules.adamax import ADAMAX
from .rules.amsgrad import AMSGRAD
from .rules.rmsprop import RMSPROP_MOMENTUM
from .rules.sgd import SGD
from .spec import Rule

RULES: dict[str, Rule] = {
    r.name: r for r in (ADAM, ADAMAX, ADAGRAD, RMSPROP_MOMENTUM, ADAM_NOBIAS, AMSGRAD, SGD)
}


def get_rule(name: str) -> Rule:
    """The rule called ``name`` (built in, else a plugin); ValueError listing the names."""
    try:
        return RULES[name]
    except (KeyError, TypeError):
        pass
    from .plugins import optimizers, plugin_rule  # entry points, loaded once (plugins.py)

    rule = plugin_rule(name) if isinstance(name, str) else None
    if rule is None:
        known = ", ".join([*RULES, *optimizers()])
        raise ValueError(f"unknown optimizer {name!r}; choose from: {known}") from None
    return rule
