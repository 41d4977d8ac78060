"""The registry of optimizer rules: the built-in ones (``RULES``, core/builtin.py), then
the plugin rules (entry points, core/plugins.py: loaded on the first name not built in).

A registered rule pickles by its name (its functions are code, not data): ``copyreg``
maps ``Rule`` to ``_reduce_rule`` here, and unpickling looks the name up again.
"""

from __future__ import annotations

import copyreg
import pickle
from typing import Any

from . import plugins
from .builtin import RULES
from .spec import Kernel, Rule

__all__ = ["KERNELS", "KINDS", "RULES", "get_rule"]


def get_rule(name: str) -> Rule:
    """The rule called ``name`` (built in, else a plugin); ValueError listing the names."""
    try:
        return RULES[name]
    except (KeyError, TypeError):
        pass
    rule = plugins.plugin_rule(name) if isinstance(name, str) else None
    if rule is None:
        known = ", ".join([*RULES, *plugins.optimizers()])
        raise ValueError(f"unknown optimizer {name!r}; choose from: {known}") from None
    return rule


# The distinct fused kernels of the built-in rules, numbered in registry order: the
# kernel numbers of the CPU and CUDA dispatch (core/kernels_cpu.py, core/kernels_cuda.py).
KERNELS: tuple[Kernel, ...] = tuple({r.kernel.name: r.kernel for r in RULES.values()}.values())
KINDS: dict[str, int] = {k.name: i for i, k in enumerate(KERNELS)}


def _reduce_rule(rule: Rule) -> tuple[Any, ...]:
    """Pickle a registered rule by name; a rule that is not the one registered under its
    name (a copy, or never registered) has no name to be found by and is refused."""
    try:
        registered = get_rule(rule.name) is rule
    except ValueError:
        registered = False
    if not registered:
        raise pickle.PicklingError(
            f"rule {rule.name!r} is not the registered rule of that name; only registered "
            "rules (built in or plugins) pickle, by name"
        )
    return get_rule, (rule.name,)


copyreg.pickle(Rule, _reduce_rule)
