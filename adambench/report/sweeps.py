"""The report of a sweep: its results folder read unit by unit, finished or not.

A sweep (``adambench sweep``) writes a results folder: ``manifest.json`` (the sweep's
id, configuration and units), ``units/<key>.json`` (one finished unit: its payload and
a SHA-256 checksum of it) and, once every unit is done, the merged ``sweep.json``.  The
report reads the folder, not only the merged file, so an interrupted sweep or one with
failed units reports what finished and names the rest: a unit without a file is "not
finished" (it failed, or the sweep was interrupted: ``adambench sweep --resume``
computes it), a unit file that does not check (schema, key, checksum) is "damaged"
and none of its numbers are used, as ``sweep/store.py`` treats them.

The units' rows are grouped by kind: regret rows (``experiments/regret_rows.rows``, the
layout of ``adambench regret``) are reported with the regret plots, tables and summary;
training rows (``experiments/training_results.point_rows``) with ``plots_sweep``'s plots and the
training table below.  A summary table lists every unit with its status and verdicts,
and failed grid points (a row's ``failed``) are listed as failed.

The layout constants are those of ``sweep/store.py`` (``report`` may not import
``sweep``: they are siblings, docs/design.md); ``tests/report`` checks they agree.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any

from ..results import read_json, to_jsonable
from .load import _NUM, Source, _check_regret, _Checker
from .tables import Table, interval, num

MANIFEST = "manifest.json"
MERGED = "sweep.json"
SCHEMA = "adambench-sweep"
UNIT_SCHEMA = "adambench-sweep-unit"
SCHEMA_VERSIONS = (2,)  # the unit layouts this report reads
DONE, MISSING, DAMAGED = "done", "not finished", "damaged"


def is_sweep(path: str | os.PathLike[str]) -> bool:
    """A sweep's results folder, or its manifest (the merged ``sweep.json`` is a results
    file of command ``sweep``: ``from_merged``)."""
    p = Path(path)
    return (p.is_dir() and (p / MANIFEST).is_file()) or (p.name == MANIFEST and p.is_file())


def checksum(payload: Any) -> str:
    """SHA-256 of the canonical JSON of ``payload``: ``sweep/store.checksum``."""
    text = json.dumps(to_jsonable(payload), sort_keys=True, separators=(",", ":"), allow_nan=False)
    return hashlib.sha256(text.encode()).hexdigest()


def _read(path: Path) -> Any:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError, RecursionError):
        return None


def _unit(folder: Path, key: str, version: Any) -> tuple[str, dict[str, Any]]:
    """(status, payload) of one unit's file."""
    path = folder / "units" / f"{key}.json"
    if not path.exists():
        return MISSING, {}
    doc = _read(path)
    try:
        ok = (
            isinstance(doc, dict)
            and doc.get("schema") == UNIT_SCHEMA
            and doc.get("schema_version") == version
            and doc.get("key") == key
            and isinstance(doc.get("payload"), dict)
            and doc.get("checksum") == checksum(doc["payload"])
        )
    except (TypeError, ValueError):
        ok = False
    return (DONE, doc["payload"]) if ok else (DAMAGED, {})


def read_sweep(path: str | os.PathLike[str]) -> Source:
    """The sweep of a results folder (or its manifest) as one document of command
    ``sweep``; ValueError (one line) when it is not a sweep's folder."""
    p = Path(path)
    folder = p.parent if p.name == MANIFEST and not p.is_dir() else p
    name = folder.name or str(folder)
    manifest = _read(folder / MANIFEST)
    if not isinstance(manifest, dict) or manifest.get("schema") != SCHEMA:
        raise ValueError(f"{path}: not an adambench sweep folder ({MANIFEST} missing or foreign)")
    version = manifest.get("schema_version")
    if version not in SCHEMA_VERSIONS:
        raise ValueError(
            f"{name}: a sweep of schema version {version}, this report reads "
            f"{', '.join(map(str, SCHEMA_VERSIONS))}: rerun the sweep with this adambench"
        )
    c = _Checker(name, "sweep")
    entries = c.items(manifest, "units", "manifest")
    units = []
    for i, u in enumerate(entries):
        key = c.get(u, "key", str, f"manifest.units[{i}]")
        status, payload = _unit(folder, key, version)
        units.append(_entry(u, status, payload))
    merged: dict[str, Any] = {}
    if (folder / MERGED).is_file():
        try:
            merged = read_json(folder / MERGED)
        except ValueError:
            merged = {}  # the units hold the numbers; the merged file adds the environment
    config = manifest.get("config")
    if isinstance(config, dict) and config.get("kind") == "phase":
        return _phase(name, folder, units, merged)
    return Source(name, _document(manifest, units, merged, folder), str(folder))


def _phase(name: str, folder: Path, units: list[dict[str, Any]], merged: dict[str, Any]) -> Source:
    """A phase sweep: its map is the merged document (``adambench phase``'s layout), drawn
    only whole; an unfinished one says which units are missing."""
    if merged.get("command") == "phase":
        return Source(name, merged, str(folder / MERGED))
    left = [u["label"] for u in units if u["status"] != DONE]
    what = f"no merged {MERGED}"
    if left:
        what = f"{len(left)} of {len(units)} units not finished or damaged (first: {left[0]!r})"
    raise ValueError(
        f"{name}: a phase sweep's map is drawn from its merged {MERGED}, which it writes once "
        f"every unit is done; {what}: run `adambench sweep --resume`"
    )


def _entry(u: dict[str, Any], status: str, payload: dict[str, Any]) -> dict[str, Any]:
    return {
        "key": u.get("key"),
        "label": str(u.get("label", u.get("key"))),
        "runs": u.get("runs"),
        "status": status,
        "rows": payload.get("rows", []) if status == DONE else [],
        "timing": payload.get("timing", {}) if status == DONE else {},
    }


def _document(
    manifest: dict[str, Any], units: list[dict[str, Any]], merged: dict[str, Any], folder: Any
) -> dict[str, Any]:
    config = manifest.get("config") if isinstance(manifest.get("config"), dict) else {}
    return {
        "command": "sweep",
        "created": merged.get("created") or manifest.get("created", "?"),
        "config": {"name": manifest.get("name"), **config},
        "environment": merged.get("environment") or {},
        "sweep": {
            "name": str(manifest.get("name", "?")),
            "id": str(manifest.get("sweep_id", "?")),
            "kind": str(config.get("kind", "?")),
            "folder": str(folder),
            "adambench": manifest.get("adambench"),
        },
        "units": units,
    }


def from_merged(source: Source) -> Source:
    """A merged ``sweep.json``: its folder when the manifest is beside it (the units say
    more), else its rows cut into its units (a unit labelled "... xN" holds N rows)."""
    if source.path is not None and is_sweep(Path(source.path).parent):
        return read_sweep(Path(source.path).parent)
    doc = source.doc
    c = _Checker(source.name, "sweep")
    rows = c.items(doc, "rows", "")
    units, start = [], 0
    for i, u in enumerate(c.items(doc, "units", "")):
        label = c.get(u, "label", str, f"units[{i}]")
        try:
            n = int(label.rsplit(" x", 1)[1])
        except (IndexError, ValueError):
            c.fail(f"units[{i}].label", "should end in xN (its number of grid points)")
        units.append(_entry(u, DONE, {"rows": rows[start : start + n], "timing": u.get("timing")}))
        start += n
    if start != len(rows):
        c.fail("rows", f"has {len(rows)} rows, its units' labels count {start}")
    s = doc.get("sweep") if isinstance(doc.get("sweep"), dict) else {}
    manifest = {"name": doc.get("config", {}).get("name"), "sweep_id": s.get("id"),
                "config": {**doc.get("config", {}), "kind": s.get("kind")},
                "created": doc.get("created")}  # fmt: skip
    return Source(source.name, _document(manifest, units, doc, source.path), source.path)


def _check_training(c: _Checker, rows: list[dict[str, Any]]) -> None:
    for i, r in enumerate(rows):
        p = f"rows[{i}]"
        for key in ("task", "optimizer", "point"):
            c.get(r, key, str, p)
        c.get(r, "hyperparameters", dict, p)
        c.get(r, "final_train_loss", _NUM, p, optional=True)
        for key in ("final_train_loss_interval", "test_loss_per_seed", "test_accuracy_per_seed",
                    "diverged_epoch", "train_loss_mean_curve"):  # fmt: skip
            c.numbers(r, key, p)


def kind(row: dict[str, Any]) -> str:
    """``regret`` for a regret row, ``run`` for a training row."""
    return "regret" if "problem" in row else "run"


def check(source: Source) -> None:
    """ValueError (one line) unless every finished unit's rows have their kind's layout."""
    doc = source.doc
    for u in doc["units"]:
        c = _Checker(f"{source.name} unit {u['label']!r}", "sweep")
        if not isinstance(u["rows"], list) or not all(isinstance(r, dict) for r in u["rows"]):
            c.fail("rows", "should be a list of objects")
        regret = [r for r in u["rows"] if kind(r) == "regret"]
        if regret:
            _check_regret(c, {"rows": regret})
        _check_training(c, [r for r in u["rows"] if kind(r) == "run"])


def rows_of(doc: dict[str, Any], which: str) -> list[dict[str, Any]]:
    """The rows of kind ``which`` of every finished unit, in plan order."""
    return [r for u in doc["units"] for r in u["rows"] if kind(r) == which]


def regret_document(doc: dict[str, Any], plotted: bool = False) -> dict[str, Any]:
    """The sweep's regret rows as an ``adambench regret`` document (the plots leave out
    failed points, which have no numbers: ``plotted``)."""
    rows = rows_of(doc, "regret")
    if plotted:
        rows = [r for r in rows if not r.get("failed")]
    return {"command": "regret", "config": doc["config"], "rows": rows}


def _verdicts(rows: list[dict[str, Any]]) -> str:
    if not rows:
        return "-"
    if kind(rows[0]) == "regret":
        counts: dict[str, int] = {}
        for r in rows:
            counts[r["verdict"]["class"]] = counts.get(r["verdict"]["class"], 0) + 1
        return ", ".join(f"{k} {v}" for k, v in counts.items())
    done = [r for r in rows if r.get("final_train_loss") is not None]
    if not done:
        return "every point diverged"
    best = min(done, key=lambda r: r["final_train_loss"])
    text = f"best final loss {num(best['final_train_loss'], 4)} ({best['point']})"
    div = sum(r.get("final_train_loss") is None for r in rows)
    return text + (f"; {div} point(s) diverged" if div else "")


def _status(u: dict[str, Any]) -> str:
    if u["status"] == MISSING:
        return "failed or not run (no result; sweep --resume computes it)"
    if u["status"] == DAMAGED:
        return "damaged file (not used; sweep --resume recomputes it)"
    bad = sum(bool(r.get("failed")) for r in u["rows"])
    return f"done, {bad} point(s) failed" if bad else "done"


def unit_table(doc: dict[str, Any]) -> Table:
    """Every unit: its runs, status and verdicts (regret) or best point (training)."""
    rows = [[u["label"], str(u["runs"]), _status(u), _verdicts(u["rows"])] for u in doc["units"]]
    return Table(
        "Units",
        ["unit", "runs", "status", "verdicts / result"],
        rows,
        "A unit is a batch of runs (grid points x seeds) of one problem or task and one "
        "optimizer; verdicts: regret classes (docs/theory.md §4.4) of its grid points.",
    )


def failed_points_table(doc: dict[str, Any]) -> Table | None:
    rows = [
        [u["label"], str(r.get("problem") or r.get("task")), r["optimizer"], r.get("point") or "",
         str(r["failed"].get("stage", "-")), str(r["failed"].get("error", "-"))]
        for u in doc["units"] for r in u["rows"] if isinstance(r.get("failed"), dict)
    ]  # fmt: skip
    if not rows:
        return None
    return Table(
        "Failed grid points",
        ["unit", "problem / task", "optimizer", "point", "stage", "error"],
        rows,
        "A point that could not run fails alone; the other points of its unit are reported.",
    )


def training_table(rows: list[dict[str, Any]]) -> Table:
    out = []
    for r in rows:
        lo, hi = (r.get("final_train_loss_interval") or [None, None])[:2]
        accs = [a for a in r["test_accuracy_per_seed"] if isinstance(a, (int, float))]
        tests = [a for a in r["test_loss_per_seed"] if isinstance(a, (int, float))]
        div = sum(e is not None for e in r["diverged_epoch"])
        out.append(
            [
                r["task"], r["optimizer"], r["point"],
                interval(r.get("final_train_loss"), lo, hi, 4) if r.get("final_train_loss")
                is not None else "diverged",
                num(sum(tests) / len(tests), 4) if tests else "-",
                f"{100 * sum(accs) / len(accs):.1f}" if accs else "-",
                f"{div}/{len(r['diverged_epoch'])}",
            ]
        )  # fmt: skip
    return Table(
        "Training: every grid point",
        ["task", "optimizer", "point", "final train loss [95%]", "test loss", "test acc %"]
        + ["diverged seeds"],
        out,
        "Mean over seeds, with a 95% t interval across seeds (none for one seed); test loss "
        "and accuracy: mean over the seeds that finished.",
    )


def summary(doc: dict[str, Any]) -> list[str]:
    """What finished, what failed, and the findings (regret: by verdict class)."""
    from .summary import regret_summary

    s, units = doc["sweep"], doc["units"]
    done = [u for u in units if u["status"] == DONE]
    runs = sum(u["runs"] or 0 for u in done)
    out = [
        f"Sweep {s['name']!r} (id {s['id']}, kind {s['kind']}): {len(done)} of {len(units)} "
        f"units finished ({runs} runs)."
    ]
    missing = [u["label"] for u in units if u["status"] == MISSING]
    if missing:
        out.append(
            f"Failed or not run: {', '.join(missing)} (no result in the folder; "
            "`adambench sweep CONFIG --resume` computes only these)."
        )
    damaged = [u["label"] for u in units if u["status"] == DAMAGED]
    if damaged:
        out.append(f"Damaged unit files, not used: {', '.join(damaged)}.")
    failed = [r for u in done for r in u["rows"] if r.get("failed")]
    if failed:
        out.append(f"{len(failed)} grid point(s) failed alone (table 'Failed grid points').")
    if rows_of(doc, "regret"):
        out += regret_summary(regret_document(doc))
    for task in dict.fromkeys(r["task"] for r in rows_of(doc, "run")):
        rows = [r for r in rows_of(doc, "run") if r["task"] == task]
        ok = sorted(
            (r for r in rows if r.get("final_train_loss") is not None),
            key=lambda r: r["final_train_loss"],
        )
        best = ", ".join(
            f"{r['optimizer']} {num(r['final_train_loss'], 3)} ({r['point']})" for r in ok[:3]
        )
        div = len(rows) - len(ok)
        out.append(
            f"{task}: lowest final training loss: {best or 'none (every point diverged)'}"
            + (f"; {div} point(s) diverged" if div else "")
            + "."
        )
    return out


def tables(doc: dict[str, Any]) -> list[Table]:
    from .tables import regret_tables

    out = [unit_table(doc)]
    failed = failed_points_table(doc)
    if failed is not None:
        out.append(failed)
    if rows_of(doc, "regret"):
        out += regret_tables(regret_document(doc))
    if rows_of(doc, "run"):
        out.append(training_table(rows_of(doc, "run")))
    return out


def plots(doc: dict[str, Any], suffix: str = "") -> list[Any]:
    from . import plots_regret, plots_sweep

    out = []
    reg = regret_document(doc, plotted=True)
    if reg["rows"]:
        out += plots_regret.plots(reg, suffix)
    if rows_of(doc, "run"):
        out += plots_sweep.plots(rows_of(doc, "run"), suffix)
    return out
