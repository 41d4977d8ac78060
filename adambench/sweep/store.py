"""The results folder of one sweep: a manifest and one checksummed file per finished unit.

Layout::

    OUT/manifest.json        which sweep this folder belongs to (its id and config)
    OUT/units/<key>.json     one finished unit: its spec, payload and SHA-256 checksum
    OUT/sweep.json           the merged results (written at the end, atomically)

Unit files are written atomically (temporary file, then rename: ``results.write_json``),
only by the process that drives the sweep, so a crash leaves either the whole file or
none.  A unit file that is unreadable, truncated, of another key or whose checksum does
not match its payload is treated as missing and recomputed, never silently used.  A
folder of another sweep (or any non-empty folder without a manifest) is refused before
anything is written.
"""

from __future__ import annotations

import hashlib
import json
import os
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from .._version import __version__
from ..results import check_writable, to_jsonable, write_json
from .plan import Unit, canonical

MANIFEST = "manifest.json"
MERGED = "sweep.json"
SCHEMA = "adambench-sweep"
UNIT_SCHEMA = "adambench-sweep-unit"
SCHEMA_VERSION = 2  # 2: regret rows carry per-seed fits and three-way verdicts


def checksum(payload: Any) -> str:
    return hashlib.sha256(canonical(payload).encode()).hexdigest()


def read_manifest(folder: Path) -> dict[str, Any] | None:
    """The folder's manifest, None if it has none; ValueError if it is not a sweep's."""
    path = folder / MANIFEST
    if not path.exists():
        return None
    try:
        doc = json.loads(path.read_text())
    except (OSError, ValueError, RecursionError):
        raise ValueError(f"results folder {folder} has an unreadable {MANIFEST}") from None
    if not isinstance(doc, dict) or doc.get("schema") != SCHEMA:
        raise ValueError(f"results folder {folder} is not an adambench sweep folder")
    return doc


class Store:
    """A sweep's results folder, checked and claimed by ``open``."""

    def __init__(self, folder: Path, sweep_id: str):
        self.folder = folder
        self.sweep_id = sweep_id
        self.units_dir = folder / "units"
        self.corrupt: list[str] = []  # keys whose file was found damaged (then recomputed)

    @classmethod
    def open(
        cls,
        folder: str | os.PathLike[str],
        sweep_id: str,
        name: str,
        identity: dict[str, Any],
        units: list[Unit],
        resume: bool = False,
    ) -> Store:
        """Check the folder and write (or confirm) its manifest.

        ValueError (one line) when the folder belongs to another sweep, is a non-empty
        folder without a manifest, is not writable, or when ``resume`` finds nothing.
        """
        folder = Path(folder)
        if folder.exists() and not folder.is_dir():
            raise ValueError(f"results folder {folder} exists and is not a folder")
        manifest = read_manifest(folder) if folder.is_dir() else None
        if manifest is not None and manifest.get("sweep_id") != sweep_id:
            raise ValueError(
                f"results folder {folder} holds another sweep ({manifest.get('name')!r}, id "
                f"{manifest.get('sweep_id')}), not this one (id {sweep_id}); nothing was "
                "overwritten: choose another --out"
            )
        if manifest is None and folder.is_dir() and any(folder.iterdir()):
            raise ValueError(
                f"results folder {folder} is not empty and has no {MANIFEST}; nothing was "
                "overwritten: choose a new or empty --out"
            )
        if manifest is not None and manifest.get("schema_version") != SCHEMA_VERSION:
            raise ValueError(
                f"results folder {folder} holds a sweep of schema version "
                f"{manifest.get('schema_version')} (an older adambench); this one writes "
                f"{SCHEMA_VERSION}: nothing was overwritten, choose another --out"
            )
        if resume and manifest is None:
            raise ValueError(f"nothing to resume: {folder} holds no sweep; run without --resume")
        store = cls(folder, sweep_id)
        check_writable(store.units_dir, f"results folder {folder}")  # results/files.py's one probe
        try:
            store.units_dir.mkdir(parents=True, exist_ok=True)
        except OSError as e:
            raise ValueError(f"results folder {folder}: cannot create {store.units_dir} "
                             f"({e.strerror or e})") from None  # fmt: skip
        doc = {
            "schema": SCHEMA,
            "schema_version": SCHEMA_VERSION,
            "sweep_id": sweep_id,
            "name": name,
            "adambench": __version__,
            "created": (manifest or {}).get("created")
            or datetime.now(timezone.utc).isoformat(timespec="seconds"),
            "config": identity,
            "units": [{"key": u.key, "label": u.label, "runs": u.runs} for u in units],
        }
        write_json(folder / MANIFEST, doc)
        return store

    def path(self, key: str) -> Path:
        return self.units_dir / f"{key}.json"

    def load(self, unit: Unit) -> dict[str, Any] | None:
        """The finished unit's payload, or None when missing or damaged (then recorded)."""
        path = self.path(unit.key)
        if not path.exists():
            return None
        try:
            doc = json.loads(path.read_text())
            ok = (
                isinstance(doc, dict)
                and doc.get("schema") == UNIT_SCHEMA
                and doc.get("schema_version") == SCHEMA_VERSION
                and doc.get("key") == unit.key
                and doc.get("checksum") == checksum(doc.get("payload"))
                and canonical(doc.get("spec")) == canonical(unit.spec)
            )
        except (OSError, ValueError, TypeError, RecursionError):
            ok = False
        if not ok:
            self.corrupt.append(unit.key)
            return None
        return doc["payload"]

    def save(self, unit: Unit, payload: dict[str, Any]) -> dict[str, Any]:
        """Write a finished unit atomically; returns the payload as stored (JSON data)."""
        clean = to_jsonable(payload)
        doc = {
            "schema": UNIT_SCHEMA,
            "schema_version": SCHEMA_VERSION,
            "key": unit.key,
            "adambench": __version__,
            "spec": unit.spec,
            "checksum": checksum(clean),
            "payload": clean,
        }
        write_json(self.path(unit.key), doc)
        return clean

    def merged_path(self) -> Path:
        return self.folder / MERGED
