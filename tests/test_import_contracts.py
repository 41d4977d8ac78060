"""The import contracts of pyproject.toml ([tool.importlinter]) hold: the package's layers
(cli > sweep | report > experiments | bench > engines > problems > core > leaves) and no
import cycle between sibling modules.  import-linter reads every import statement,
function-level ones too, so a lazy import cannot hide a violation.  CI runs the same
``lint-imports``; this makes a violation fail pytest as well."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("importlinter")

ROOT = Path(__file__).resolve().parents[1]


def lint_imports() -> str:
    here = Path(sys.executable).with_name("lint-imports")  # this interpreter's scripts
    found = str(here) if here.exists() else shutil.which("lint-imports")
    if found is None:
        pytest.skip("importlinter is importable but its lint-imports script is not found")
    return found


def test_import_contracts_are_kept():
    proc = subprocess.run(
        [lint_imports(), "--no-cache"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "0 broken" in proc.stdout
