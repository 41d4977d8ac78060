"""The built-in optimizer rules by name: every module of ``core/rules/`` (one module per
rule family, math cited there) contributes its ``RULES`` tuple, so adding a rule is adding
its file (docs/adding-a-rule.md).  Ordered by ``Rule.rank`` (Kingma & Ba's set first, in
the order of their paper), then by name.

Below both ``plugins.py`` (which refuses a plugin named like a built-in rule) and
``registry.py`` (which looks a name up here first, then among the plugins).
"""

from __future__ import annotations

import importlib
import pkgutil

from . import rules
from .spec import Rule


def _discover() -> dict[str, Rule]:
    found: list[Rule] = []
    for info in sorted(pkgutil.iter_modules(rules.__path__), key=lambda m: m.name):
        module = importlib.import_module(f"{rules.__name__}.{info.name}")
        found += list(module.RULES)
    found.sort(key=lambda r: (r.rank, r.name))
    return {r.name: r for r in found}


RULES: dict[str, Rule] = _discover()
