"""Several results files of one command as one document: each row tagged with its file.

``merge(command, [(label, doc), ...])`` concatenates the rows the plots read (regret
rows, bench rows with their rooflines, run tasks' optimizer entries joined by task name,
ablation rows) and tags each with ``SERIES`` = its file's label, so that every plot
draws the files over each other, one labelled series per file: the colour stays the
optimizer's, the line style tells the files apart (``figures.line_style``).  The plot
modules need nothing else: a document without tags is a report of one file.

Labels are the files' stems (``labels``), made distinct by their folders where two
files share a name; ``--labels`` gives them by hand.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from .plots_ablation import section

SERIES = "series"


def _tag(items: list[dict[str, Any]], label: str) -> list[dict[str, Any]]:
    return [{**it, SERIES: label} for it in items]


def merge(command: str, sources: Sequence[tuple[str, dict[str, Any]]]) -> dict[str, Any]:
    """One document of ``command`` holding every file's rows, each tagged with its label."""
    first = sources[0][1]
    out: dict[str, Any] = {"command": command, "config": first.get("config", {})}
    if command == "regret":
        out["rows"] = [r for label, d in sources for r in _tag(d["rows"], label)]
    elif command == "bench":
        for key in ("rows", "rooflines", "references"):
            out[key] = [r for label, d in sources for r in _tag(d.get(key) or [], label)]
    elif command == "run":
        tasks: dict[str, dict[str, Any]] = {}
        for label, d in sources:
            for t in d["tasks"]:
                name = t["task"]["name"]
                merged = tasks.setdefault(name, {**t, "optimizers": []})
                merged["optimizers"] += _tag(t["optimizers"], label)
        out["tasks"] = list(tasks.values())
        out["data"] = first.get("data")
    elif command == "ablate":
        rows = [r for label, d in sources for r in _tag(section(d)["rows"], label)]
        out["ablation"] = {**section(first), "rows": rows}
    elif command == "phase":  # maps are not overlaid: one set of heat maps per file
        out["maps"] = [{**d, SERIES: label} for label, d in sources]
    else:
        raise ValueError(f"no overlay of {command!r} results")
    return out


def parse_labels(text: str | None) -> list[str] | None:
    """'a,b' -> ['a', 'b'] (None for None); ValueError for an empty or repeated label."""
    if text is None:
        return None
    items = [s.strip() for s in text.split(",")]
    if not all(items):
        raise ValueError(f"--labels must be a comma list of non-empty labels, got {text!r}")
    if len(set(items)) != len(items):
        raise ValueError(f"--labels must be distinct, got {text!r}")
    return items


def labels(
    paths: Sequence[str | os.PathLike[str] | None], given: list[str] | None = None
) -> list[str]:
    """A distinct label per input: ``given`` (one per input), else the file stems, with
    their folders where two stems are equal ("a/regret", "b/regret"), else numbered."""
    if given is not None:
        if len(given) != len(paths):
            raise ValueError(
                f"--labels: give one label per results file or folder ({len(paths)} "
                f"inputs, {len(given)} label(s))"
            )
        return list(given)
    parts = [Path(p).resolve().parts if p is not None else ("results",) for p in paths]
    stems = [Path(p).stem if p is not None else "results" for p in paths]
    tries = [stems]
    for depth in range(1, 4):  # add folders until the labels differ
        tries.append(
            [
                "/".join([*pp[-1 - depth : -1], s]) if stems.count(s) > 1 else s
                for pp, s in zip(parts, stems, strict=True)
            ]
        )
    for out in tries:
        if len(set(out)) == len(out):
            return out
    out = tries[1]  # the same file twice: numbered
    seen: dict[str, int] = {}
    final = []
    for s in out:
        seen[s] = seen.get(s, 0) + 1
        final.append(s if out.count(s) == 1 else f"{s} #{seen[s]}")
    return final
