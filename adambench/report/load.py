"""Reading the results files of one report, and checking they have the layout a report needs.

Every file must be an adambench results file (``results.read_json``: schema and
version) of a command a report covers, with the sections that command writes (a sweep's
results folder is read by ``sweeps.py``).  Anything else is a one-line ValueError naming
the file and the part that is missing, raised before anything is drawn or written.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..results import read_json
from .phase import check_phase
from .plots_ablation import check_ablation

COMMANDS = ("regret", "bench", "run", "ablate", "phase")
_NUM = (int, float)


@dataclass
class Source:
    """One results document and where it came from."""

    name: str  # file name (or a label for a document never written to a file)
    doc: dict[str, Any]
    path: str | None = None  # where it was read (labels tell same-named files apart)


class _Checker:
    def __init__(self, where: str, command: str):
        self.where, self.command = where, command

    def fail(self, path: str, what: str) -> None:
        raise ValueError(f"{self.where}: malformed {self.command} results: {path} {what}")

    def get(self, obj: Any, key: str, kind: type | tuple, path: str, optional: bool = False) -> Any:
        full = f"{path}.{key}" if path else key
        if not isinstance(obj, dict) or key not in obj:
            if optional:
                return None
            self.fail(full, "is missing")
        value = obj[key]
        if value is None and optional:
            return None
        if isinstance(value, bool) and kind in (_NUM, int, float):
            self.fail(full, "is not a number")
        if not isinstance(value, kind):
            self.fail(full, f"should be {_kind_name(kind)}")
        return value

    def items(self, obj: Any, key: str, path: str, optional: bool = False) -> list[dict]:
        full = f"{path}.{key}" if path else key
        seq = self.get(obj, key, list, path, optional)
        if seq is None:
            return []
        for i, it in enumerate(seq):
            if not isinstance(it, dict):
                self.fail(f"{full}[{i}]", "should be an object")
        return seq

    def numbers(
        self,
        obj: Any,
        key: str,
        path: str,
        length: int | None = None,
        positive: bool = False,
        increasing: bool = False,
    ) -> list:
        full = f"{path}.{key}" if path else key
        seq = self.get(obj, key, list, path)
        if any(v is not None and (isinstance(v, bool) or not isinstance(v, _NUM)) for v in seq):
            self.fail(full, "should hold numbers")
        if length is not None and len(seq) != length:
            self.fail(full, f"has {len(seq)} values, expected {length}")
        if positive and any(v is None or v <= 0 for v in seq):
            self.fail(full, "should hold positive numbers")
        if increasing and any(b <= a for a, b in zip(seq, seq[1:], strict=False)):
            self.fail(full, "should be increasing")
        return seq

    def positive(self, obj: Any, key: str, kind: type | tuple, path: str, optional=False) -> Any:
        """``get``, and the value must be > 0."""
        value = self.get(obj, key, kind, path, optional)
        if value is not None and not value > 0:
            self.fail(f"{path}.{key}" if path else key, "should be positive")
        return value

    def fields(self, obj: Any, path: str, kind: type | tuple, *keys: str) -> None:
        """Each of ``keys``, where present, is of ``kind`` or null."""
        for key in keys:
            self.get(obj, key, kind, path, optional=True)


def _kind_name(kind: type | tuple) -> str:
    names = {list: "a list", dict: "an object", str: "a string", int: "an integer"}
    if kind == _NUM:
        return "a number"
    if isinstance(kind, tuple):
        return " or ".join(names.get(k, k.__name__) for k in kind)
    return names.get(kind, kind.__name__)


def _check_regret(c: _Checker, doc: dict) -> None:
    rows = c.items(doc, "rows", "")
    if not rows:
        c.fail("rows", "is empty")
    for i, r in enumerate(rows):
        p = f"rows[{i}]"
        for key in ("problem", "optimizer"):
            c.get(r, key, str, p)
        c.get(r, "point", str, p, optional=True)
        v = c.get(r, "verdict", dict, p)
        for key in ("class", "text"):
            c.get(v, key, str, p + ".verdict")
        c.get(v, "decide", str, p + ".verdict", optional=True)
        c.positive(r, "T", int, p)
        c.get(r, "R_T", _NUM, p, optional=True)
        e = c.get(r, "exponent", dict, p, optional=True)
        if e is not None:
            c.fields(e, p + ".exponent", _NUM, "slope", "low", "high")
        a = c.get(r, "limit_R_over_T", dict, p, optional=True)
        if a is not None:
            c.fields(a, p + ".limit_R_over_T", _NUM, "rate", "low", "high")
        b = c.get(r, "bound", dict, p, optional=True)
        if b is not None:
            c.fields(b, p + ".bound", _NUM, "value", "trivial_bound")
            c.fields(b, p + ".bound", str, "theorem", "why")
            c.fields(b, p + ".bound", bool, "applies", "vacuous")
        curve = c.get(r, "curve", dict, p)
        n = len(c.numbers(curve, "T", p + ".curve", positive=True, increasing=True))
        for key in ("R_mean", "R_low", "R_high", "R_over_T"):
            c.numbers(curve, key, p + ".curve", n)
        if "x_first_coord_mean" in curve:
            c.numbers(curve, "x_first_coord_mean", p + ".curve", n)


def _check_bench(c: _Checker, doc: dict) -> None:
    rows = c.items(doc, "rows", "")
    if not rows:
        c.fail("rows", "is empty")
    for i, r in enumerate(rows):
        p = f"rows[{i}]"
        for key in ("optimizer", "impl", "dtype"):
            c.get(r, key, str, p)
        for key in ("size", "threads"):
            c.positive(r, key, int, p)
        c.positive(r, "median_s", _NUM, p)
        c.get(r, "gbps", _NUM, p)
        for key in ("fraction_of_roofline", "roofline_gbps", "ratio_to_adambench", "iqr_s"):
            c.get(r, key, _NUM, p, optional=True)
    for i, r in enumerate(c.items(doc, "rooflines", "", optional=True)):
        p = f"rooflines[{i}]"
        c.get(r, "optimizer", str, p)
        c.positive(r, "size", int, p)
        c.get(r, "gbps", _NUM, p)
    for i, r in enumerate(c.items(doc, "references", "", optional=True)):
        c.positive(r, "size", int, f"references[{i}]")


def _check_run(c: _Checker, doc: dict) -> None:
    # "complete": false marks an interrupted run (its finished tasks; files before the
    # marker have none and are complete)
    c.get(doc, "complete", bool, "", optional=True)
    c.get(doc, "interrupted", dict, "", optional=True)
    tasks = c.items(doc, "tasks", "")
    if not tasks:
        c.fail("tasks", "is empty")
    for i, t in enumerate(tasks):
        p = f"tasks[{i}]"
        c.get(c.get(t, "task", dict, p), "name", str, p + ".task")
        c.get(t, "complete", bool, p, optional=True)
        for j, e in enumerate(c.items(t, "optimizers", p)):
            q = f"{p}.optimizers[{j}]"
            c.get(e, "optimizer", str, q)
            c.get(e, "rank", int, q, optional=True)
            c.get(e, "rank_label", str, q, optional=True)
            chosen = c.get(e, "chosen", dict, q, optional=True)
            if chosen is not None:
                c.positive(chosen, "lr", _NUM, q + ".chosen")
                ftl = c.get(chosen, "final_train_loss", dict, q + ".chosen", optional=True)
                if ftl is not None:
                    c.fields(ftl, q + ".chosen.final_train_loss", _NUM, "mean", "ci95_low",
                             "ci95_high")  # fmt: skip
            for k, g in enumerate(c.items(e, "grid", q)):
                gp = f"{q}.grid[{k}]"
                c.positive(g, "lr", _NUM, gp)
                curves = c.get(g, "train_loss_curves", list, gp)
                for m, curve in enumerate(curves):
                    if not isinstance(curve, list):
                        c.fail(f"{gp}.train_loss_curves[{m}]", "should be a list")
                    c.numbers({"v": curve}, "v", f"{gp}.train_loss_curves[{m}]")


_CHECKS = {"regret": _check_regret, "bench": _check_bench, "run": _check_run}
_CHECKS["ablate"] = check_ablation  # the ablation layout is checked beside its plots
_CHECKS["phase"] = check_phase  # the phase layout: beside its plots (report/phase.py)


def check(source: Source) -> None:
    """ValueError (one line) unless ``source`` has the sections its command's report needs."""
    command = source.doc.get("command")
    if command not in COMMANDS:
        raise ValueError(
            f"{source.name}: no report for results of {command!r}; "
            f"reports cover: {', '.join(COMMANDS)}"
        )
    c = _Checker(source.name, command)
    c.get(source.doc, "config", dict, "")
    c.get(source.doc, "environment", dict, "", optional=True)
    _CHECKS[command](c, source.doc)


def load(paths: Sequence[str | os.PathLike[str]]) -> tuple[str, list[Source]]:
    """Read and check every file; return their command and the documents.

    ValueError (one line) on an unreadable, foreign or malformed file.  Files of several
    commands are fine: the report has a section per command (``build.py``).
    """
    if not paths:
        raise ValueError("RESULTS: give at least one results file")
    sources = [Source(Path(p).name, read_json(p), str(p)) for p in paths]
    return check_sources(sources)


def check_sources(sources: list[Source]) -> tuple[str, list[Source]]:
    """Check documents already in memory (``--report`` of other commands); return their
    command (``report`` for several commands: the default report folder's name)."""
    for s in sources:
        check(s)
    return report_name(sources), sources


def report_name(sources: list[Source]) -> str:
    """The command of every source, or ``report`` when they are of several commands."""
    commands = list(dict.fromkeys(s.doc.get("command") for s in sources))
    return str(commands[0]) if len(commands) == 1 else "report"
