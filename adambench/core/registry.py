"""The registry of optimizer rules: the built-in ones (``RULES``, core/builtin.py), then
the plugin rules (entry points, core/plugins.py: loaded on the first name not built in).

The registry also answers what a rule can do, so that no other code branches on a rule's
name or on where it came from (docs/adding-a-rule.md): ``implementation(rule)`` is the
kernels it steps with (the compiled numba CPU and CUDA kernels, or its reference
implementation only, the slower path), ``backends(rule)`` where that runs,
``require_backend`` the one-line refusal elsewhere, and ``reference_note`` the one
stderr line a command prints when it runs a rule on its reference implementation.

A registered rule pickles by its name (its functions are code, not data): ``copyreg``
maps ``Rule`` to ``_reduce_rule`` here, and unpickling looks the name up again.
"""

from __future__ import annotations

import copyreg
import pickle
import sys
from collections.abc import Iterable
from typing import Any, TextIO

from . import plugins
from .builtin import RULES
from .spec import Kernel, Rule

__all__ = [
    "COMMANDS",
    "KERNELS",
    "KINDS",
    "RULES",
    "all_rules",
    "backends",
    "get_rule",
    "implementation",
    "names",
    "note_references",
    "origin",
    "reference_note",
    "require_backend",
]

BUILT_IN = "built-in"
# The commands that take an optimizer by name (``ablate`` compares two built-in variants
# of Adam by definition and takes none).  Every rule runs in each: a rule without a
# compiled kernel on its reference implementation (``implementation``).
COMMANDS = ("run", "regret", "bench", "sweep")
COMPILED = ("numba-cpu", "cuda")  # the kernels of a rule with a fused Kernel
REFERENCE = ("reference",)  # a rule without one: its reference step only


def get_rule(name: str) -> Rule:
    """The rule called ``name`` (built in, else a plugin); ValueError listing the names."""
    try:
        return RULES[name]
    except (KeyError, TypeError):
        pass
    rule = plugins.plugin_rule(name) if isinstance(name, str) else None
    if rule is None:
        known = ", ".join(names())
        raise ValueError(f"unknown optimizer {name!r}; choose from: {known}") from None
    return rule


def names(plugins_too: bool = True) -> tuple[str, ...]:
    """Every registered rule name: the built-in ones in listing order, then the plugins."""
    return (*RULES, *plugins.optimizers()) if plugins_too else tuple(RULES)


def all_rules() -> dict[str, Rule]:
    """Every registered rule by name, built-in first (``names`` order)."""
    return {n: get_rule(n) for n in names()}


def origin(name: str) -> str:
    """Where rule ``name`` comes from: ``built-in``, or ``plugin: DIST VERSION (module:attr)``."""
    if name in RULES:
        return BUILT_IN
    found = plugins.optimizers().get(name)
    if found is None:
        get_rule(name)  # the one wording of an unknown name
    return f"plugin: {found.origin}"


def implementation(rule: Rule) -> tuple[str, ...]:
    """The kernels ``rule`` steps with: ``("numba-cpu", "cuda")`` for a fused kernel, or
    ``("reference",)``: its reference step (``Rule.reference``) is its update, the slower
    path, run as it is written (in the arrays' own dtype)."""
    return COMPILED if rule.compiled else REFERENCE


def runs_reference(rule: Rule) -> bool:
    """True when ``rule`` has no compiled kernel and runs on its reference implementation."""
    return implementation(rule) == REFERENCE


def backends(rule: Rule) -> tuple[str, ...]:
    """The array backends ``rule`` runs on: a reference step is NumPy code, so NumPy only."""
    return ("numpy", "cupy") if rule.compiled else ("numpy",)


def require_backend(rule: Rule, backend: str, where: str = "--backend") -> None:
    """One-line ValueError when ``rule`` cannot run on ``backend`` (``backends``)."""
    if backend in backends(rule) or backend == "auto":
        return
    raise ValueError(
        f"optimizer {rule.name!r} has no compiled kernel and its reference implementation "
        f"runs on NumPy arrays only, not {backend} ({where} {backend}); use {where} numpy"
    )


def reference_note(rule: Rule) -> str | None:
    """The line a command prints (once) when it runs ``rule`` on its reference
    implementation; None for a compiled rule."""
    if not runs_reference(rule):
        return None
    return (
        f"note: {rule.name} has no compiled kernel; running its reference implementation (slower)"
    )


def note_references(chosen: Iterable[str | Rule], file: TextIO | None = None) -> list[str]:
    """Print ``reference_note`` on stderr once for each rule of ``chosen`` (names or
    rules) that runs on its reference implementation; return the names noted.  A command
    calls it once, where it has validated its optimizers."""
    noted: list[str] = []
    for item in chosen:
        rule = item if isinstance(item, Rule) else get_rule(item)
        line = reference_note(rule)
        if line is not None and rule.name not in noted:
            noted.append(rule.name)
            print(line, file=file if file is not None else sys.stderr)
    return noted


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
