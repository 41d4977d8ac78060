"""Results files of an older schema: refused with the way out, or read where unchanged."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from report_docs import DOCS

from adambench.results import SCHEMA_VERSION, read_json


def _old(tmp_path: Path, command: str) -> Path:
    doc = DOCS[command]()
    doc["schema_version"] = 1
    path = tmp_path / f"{command}-old.json"
    path.write_text(json.dumps(doc))
    return path


@pytest.mark.parametrize("command", ["regret", "run", "ablate"])
def test_an_older_file_is_refused_with_the_way_out(tmp_path: Path, command: str) -> None:
    path = _old(tmp_path, command)
    with pytest.raises(ValueError, match=rf"schema version 1, .*re-run `adambench {command}`"):
        read_json(path)
    proc = subprocess.run(
        [sys.executable, "-c", "from adambench.cli.app import main; main()", "report", str(path),
         "--out", str(tmp_path / "r")],
        capture_output=True, text=True,
    )  # fmt: skip
    assert proc.returncode == 2 and "re-run `adambench" in proc.stderr
    assert "Traceback" not in proc.stderr and not (tmp_path / "r").exists()


def test_bench_files_of_schema_1_are_still_read(tmp_path: Path) -> None:
    """Bench results did not change in schema 2: old CI baselines stay usable."""
    assert SCHEMA_VERSION == 2
    doc = read_json(_old(tmp_path, "bench"), command="bench")
    assert doc["schema_version"] == 1
    base = Path(__file__).parents[2] / "reports" / "baselines" / "ci.json"
    assert read_json(base, command="bench")["command"] == "bench"
