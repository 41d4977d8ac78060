"""Every problem by name: what kind it is, where it comes from, which commands take it.

Two kinds, each with its own commands:

* an **online problem** (``problems/online``, built in): a stream of convex losses for
  the regret protocol (docs/theory.md §2.1), taken by ``adambench regret -p`` and sweeps
  of kind ``regret``;
* a **training task** (``problems/nn``, built in, and every plugin of the
  ``adambench.problems`` entry point group, core/plugins.py): a model trained on a data
  set, taken by ``adambench run -p``, ``adambench ablate -p`` and sweeps of kind ``run``,
  built in and plugin alike: their engines (experiments/training.py, ablation.py and
  sweeps) build tasks with ``make_task`` here, which builds both.

``require(name, wanted, command)`` is the check a command makes at its boundary: an
entry of the other kind is refused in one line that names its kind and the command that
takes it, rather than called unknown.  ``make_task`` builds a training task of either
origin.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..core import plugins
from .nn import TASKS
from .nn import make_task as make_builtin_task
from .online.registry import PROBLEM_NAMES, describe_all

ONLINE = "online problem"
TASK = "training task"
BUILT_IN = "built-in"
# The one-line descriptions of the built-in training tasks (Kingma & Ba section 6).
TASK_DESCRIPTIONS = {
    "logreg": "multiclass logistic regression, alpha/sqrt(t) (Kingma & Ba 6.1)",
    "mlp": "MLP with dropout (Kingma & Ba 6.2)",
    "cnn": "CNN on images, im2col (Kingma & Ba 6.3)",
    "vae": "variational autoencoder (Kingma & Ba 6.4)",
}
# Which commands take an entry, by kind and origin (the option that names it in brackets).
COMMANDS = {
    (ONLINE, BUILT_IN): ("regret", "sweep"),
    (TASK, BUILT_IN): ("run", "ablate", "sweep"),
    (TASK, "plugin"): ("run", "ablate", "sweep"),
}
_HOW = {
    "regret": "adambench regret -p {name}",
    "run": "adambench run -p {name}",
    "ablate": "adambench ablate bias-correction -p {name}",
    "sweep": "a sweep of kind {kind} (adambench sweep)",
}
_SWEEP_KIND = {ONLINE: "regret", TASK: "run"}


@dataclass(frozen=True)
class Entry:
    """One problem: its kind (``ONLINE`` | ``TASK``), origin and the commands taking it."""

    name: str
    kind: str
    origin: str  # "built-in" or "plugin: DIST VERSION (module:attr)"
    distribution: str | None  # the plugin's distribution name; None when built in
    description: str
    commands: tuple[str, ...]

    def how(self, command: str | None = None) -> str:
        """How to run this entry: with ``command``, else with the first command taking it."""
        command = command if command in self.commands else self.commands[0]
        return _HOW[command].format(name=self.name, kind=_SWEEP_KIND[self.kind])


def entries() -> dict[str, Entry]:
    """Every problem by name: the online problems, the built-in tasks, then the plugins'."""
    out: dict[str, Entry] = {}
    for d in describe_all():
        out[d["name"]] = Entry(
            d["name"], ONLINE, BUILT_IN, None, d["description"], COMMANDS[ONLINE, BUILT_IN]
        )
    for name in TASKS:
        out[name] = Entry(
            name, TASK, BUILT_IN, None, TASK_DESCRIPTIONS.get(name, ""), COMMANDS[TASK, BUILT_IN]
        )
    for name, plug in plugins.problems().items():
        if name in out:  # a built-in name keeps its meaning
            continue
        desc = getattr(plug.obj, "description", "") or "plugin training task"
        out[name] = Entry(
            name, TASK, f"plugin: {plug.origin}", plug.distribution or None, str(desc),
            COMMANDS[TASK, "plugin"],
        )  # fmt: skip
    return out


def kind_of(name: str) -> str | None:
    """``ONLINE``, ``TASK`` or None (no problem has that name)."""
    if name in PROBLEM_NAMES:
        return ONLINE
    if name in TASKS:
        return TASK
    entry = entries().get(name)
    return None if entry is None else entry.kind


def task_names() -> tuple[str, ...]:
    """Every training task: the built-in ones, then the plugins'."""
    return tuple(n for n, e in entries().items() if e.kind == TASK)


def require(name: str, wanted: str, command: str) -> Entry:
    """The entry ``name`` when it is of kind ``wanted`` and ``command`` takes it; else a
    one-line ValueError: the other kind named with the command that takes it (``hinge-linear
    is a training task: use adambench run -p hinge-linear``), or the names of the right
    kind for an unknown name."""
    found = entries()
    entry = found.get(name)
    if entry is None:
        known = ", ".join(n for n, e in found.items() if e.kind == wanted)
        raise ValueError(f"unknown {wanted} {name!r}; choose from: {known}")
    if entry.kind != wanted:
        return _refuse(entry, f"{entry.name} is {_a(entry.kind)}, not {_a(wanted)}")
    if command not in entry.commands:
        takes = ", ".join(entry.commands)
        return _refuse(entry, f"{entry.name} is {_a(entry.kind)} that {command} does not take "
                              f"(taken by: {takes})")  # fmt: skip
    return entry


def refuse_other_kind(name: str, wanted: str, command: str) -> None:
    """``require`` for a known name only: an unknown one is left to the command's own
    factory (its message lists the names of its kind)."""
    if kind_of(name) is not None:
        require(name, wanted, command)


def _refuse(entry: Entry, what: str) -> Any:
    raise ValueError(f"{what}: use {entry.how()}")


def _a(kind: str) -> str:
    return f"an {kind}" if kind[0] in "aeiou" else f"a {kind}"


def make_task(
    name: str,
    n_features: int,
    n_classes: int,
    image_shape: tuple[int, int, int] | None = None,
    width: float = 0.25,
) -> Any:
    """The training task ``name`` (built in, else a plugin's), sized for the data."""
    if name in TASKS:
        return make_builtin_task(name, n_features, n_classes, image_shape, width)
    require(name, TASK, "sweep")
    return plugins.problems()[name].obj(n_features, n_classes, image_shape, width)
