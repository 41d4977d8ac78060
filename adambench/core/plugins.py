"""Third-party optimizers and problems, registered through Python entry points.

Two entry point groups (declared in a plugin package's ``pyproject.toml``)::

    [project.entry-points."adambench.optimizers"]
    signsgd = "my_package.rules:SIGNSGD"      # a core.spec.Rule, or a function returning one

    [project.entry-points."adambench.problems"]
    hinge-svm = "my_package.tasks:make_task"   # a callable building a training task

**Optimizer plugins** provide a ``Rule`` (``core/spec.py``) with the same fields as the
built-in rules.  A plugin without a compiled numba kernel sets ``kernel=None``: its
``reference(p, g, state, hp, t)`` is then its step, applied by ``Optimizer.step`` on the
(B, d) arrays in the arrays' own dtype (float params are length-1 or length-B vectors:
use ``spec.column`` to broadcast them).  ``numpy_rule`` below builds such a rule from
the few things that matter.  Such a rule runs in every command that takes an
optimizer (``run``, ``regret``, ``bench``, sweeps) on its reference implementation, the
slower path, on NumPy arrays (``registry.implementation``, ``registry.backends``); a
command says so once on stderr (``registry.note_references``).  A rule without
``train_lr`` gets its ``lr`` default as the centre of its training lr grid.

**Problem plugins** provide a callable ``make(n_features, n_classes, image_shape, width)``
returning a ``problems.nn.base.Task`` (the same signature as ``problems.nn.make_task``):
a training task, which ``problems/catalog.py`` lists beside the built-in ones; ``run``,
``ablate`` and sweeps of kind ``run`` train it like a built-in task.  An optional attribute
``description`` (str) on the callable is shown by ``adambench list problems``.

Loading is lazy (nothing is imported until a name is not built in, or ``list`` asks) and
cached.  A plugin that fails to import or does not match the interface is reported once,
by name, as one warning line on stderr, and skipped: it never breaks other commands.
"""

from __future__ import annotations

import dataclasses
import functools
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from importlib import metadata
from typing import Any

import numpy as np

from .builtin import RULES
from .spec import LR_SCHEDULE, Param, Rule

LR_SCHEDULES = LR_SCHEDULE.choices  # the schedules of a training lr grid

GROUPS = {"optimizers": "adambench.optimizers", "problems": "adambench.problems"}


@dataclass(frozen=True)
class Plugin:
    """One loaded plugin: its name, the object it provides and where it came from."""

    name: str
    obj: Any
    origin: str  # "distribution version (module:attr)"
    distribution: str = ""  # the distribution's name, "" when unknown


@dataclass(frozen=True)
class Broken:
    group: str
    name: str
    origin: str
    error: str


def numpy_rule(
    name: str,
    step: Callable[..., None],
    params: tuple[Param, ...],
    buffers: tuple[str, ...] = (),
    *,
    title: str = "",
    source: str = "plugin",
    equation: str = "",
    bytes_per_param: int = 12,
    train_lr: Mapping[str, float] | None = None,
) -> Rule:
    """A plugin ``Rule`` whose update is the NumPy function ``step(p, g, state, hp, t)``.

    ``p`` and ``g`` are (B, d) arrays (updated in place), ``state`` maps the names in
    ``buffers`` to (B, d) arrays (zero at t = 0), ``hp`` holds the validated values
    (floats as 1-D vectors of length 1 or B) and ``t`` is the step count, 1, 2, ...
    ``train_lr`` is the centre of ``adambench run``'s lr grid per schedule (default: the
    ``lr`` parameter's default for both).
    """

    def coefficients(hp: Mapping[str, Any], t: Any) -> Any:
        """No kernel, no coefficients: an empty (R, 0) or (n, R, 0) table (what a plan
        sizing a kernel's coefficient table reads)."""
        runs = max((np.size(v) for v in hp.values() if isinstance(v, np.ndarray)), default=1)
        return np.zeros((*np.shape(t)[:-1], runs, 0))

    return Rule(
        name=name,
        title=title or name,
        source=source,
        equation=equation,
        params=tuple(params),
        bytes_per_param=bytes_per_param,
        kernel=None,
        buffers=lambda hp: tuple(buffers),
        reference=step,
        coefficients=coefficients,
        train_lr=dict(train_lr) if train_lr is not None else _lr_centre(params),
    )


def _lr_centre(params: tuple[Param, ...]) -> dict[str, float]:
    """The training lr grid's centre of a rule that gives none: its lr default, for both
    schedules ({} without an lr parameter: the training engine refuses such a rule)."""
    lr = next((p for p in params if p.name == "lr"), None)
    return {} if lr is None else {s: float(lr.default) for s in LR_SCHEDULES}


def _origin(ep: metadata.EntryPoint) -> tuple[str, str]:
    """("distribution version (module:attr)", the distribution's name or "")."""
    dist = getattr(ep, "dist", None)
    where = f"{dist.name} {dist.version}" if dist is not None else "unknown distribution"
    return f"{where} ({ep.value})", dist.name if dist is not None else ""


def _check_optimizer(name: str, obj: Any) -> Rule:
    if not isinstance(obj, Rule) and callable(obj):
        obj = obj()
    if not isinstance(obj, Rule):
        raise TypeError(f"provides {type(obj).__name__}, not an adambench.core.spec.Rule")
    if obj.name != name:
        raise TypeError(f"its rule is called {obj.name!r}, not {name!r}")
    if obj.kernel is not None:  # the compiled dispatch is built from the built-in rules
        raise TypeError("a plugin rule steps with its NumPy reference: set kernel=None")
    if not obj.train_lr:
        obj = dataclasses.replace(obj, train_lr=_lr_centre(obj.params))
    return obj


def _check_problem(name: str, obj: Any) -> Any:
    if not callable(obj):
        raise TypeError(f"provides {type(obj).__name__}, not a callable building a Task")
    return obj


_CHECKS = {"optimizers": _check_optimizer, "problems": _check_problem}


@functools.cache
def _load(group: str) -> tuple[dict[str, Plugin], tuple[Broken, ...]]:
    """Every plugin of ``group`` (optimizers | problems), loaded once; broken ones apart.

    An optimizer plugin named like a built-in rule (``builtin.RULES``) is one of the
    broken ones: the built-in keeps its name."""
    good: dict[str, Plugin] = {}
    bad: list[Broken] = []
    for ep in metadata.entry_points(group=GROUPS[group]):
        origin, dist = _origin(ep)
        try:
            if group == "optimizers" and ep.name in RULES:
                raise TypeError(f"the name {ep.name!r} is a built-in optimizer")
            if ep.name in good:
                raise TypeError(f"the name {ep.name!r} is registered twice")
            obj = _CHECKS[group](ep.name, ep.load())
        except Exception as e:  # a plugin's own bug must not break adambench
            msg = " ".join(f"{type(e).__name__}: {e}".split())
            bad.append(Broken(group, ep.name, origin, msg))
            print(
                f"warning: skipping broken {group[:-1]} plugin {ep.name!r} from {origin}: {msg}",
                file=sys.stderr,
            )
            continue
        good[ep.name] = Plugin(ep.name, obj, origin, dist)
    return good, tuple(bad)


def optimizers() -> dict[str, Plugin]:
    """Plugin optimizer rules by name (``Plugin.obj`` is the ``Rule``)."""
    return _load("optimizers")[0]


def problems() -> dict[str, Plugin]:
    """Plugin problems by name (``Plugin.obj`` builds a training ``Task``)."""
    return _load("problems")[0]


def broken() -> list[Broken]:
    """The plugins that failed to load, in both groups."""
    return [b for g in GROUPS for b in _load(g)[1]]


def plugin_rule(name: str) -> Rule | None:
    """The plugin rule ``name``, or None (nothing imported unless a plugin is installed)."""
    found = optimizers().get(name)
    return None if found is None else found.obj


def reset() -> None:
    """Forget loaded plugins (tests, or after installing a package in a running process)."""
    _load.cache_clear()
