"""The registry of optimizer rules: the built-in ones (``RULES``, core/builtin.py), then
the plugin rules (entry points, core/plugins.py: loaded on the first name not built in)."""

from __future__ import annotations

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
