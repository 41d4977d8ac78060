"""Hostile results files: every reader refuses them in one line, never with a traceback.

Each document of ``report_docs`` is mutated at one leaf at a time (a wrong type, zero, a
negative number, an empty list, a string), and the report's whole reading path (the
loader's checks, the tables, the summary and the plots) must either work or raise a
one-line ValueError.  Nesting beyond the JSON decoder's depth and files that are not
results files are refused by ``results.read_json``.
"""

from __future__ import annotations

import copy
import json
import random
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("matplotlib")
from report_docs import DOCS  # noqa: E402

from adambench.report.build import read_section  # noqa: E402
from adambench.report.load import Source, check_sources  # noqa: E402
from adambench.results import read_json  # noqa: E402

BAD = ("x", None, 0, -1.0, [], {}, True, [10000], 1e308)


def _leaves(obj: Any, path: tuple = ()) -> list[tuple]:
    if isinstance(obj, dict):
        return [p for k, v in obj.items() for p in _leaves(v, (*path, k))]
    if isinstance(obj, list) and obj:
        return _leaves(obj[0], (*path, 0)) + ([path] if not isinstance(obj[0], dict) else [])
    return [path]


def _set(doc: dict, path: tuple, value: Any) -> None:
    for k in path[:-1]:
        doc = doc[k]
    doc[path[-1]] = value


def _read_all(doc: dict) -> None:
    command, sources = check_sources([Source("hostile.json", doc)])
    read_section(sources[0], command)


@pytest.mark.parametrize("command", sorted(DOCS))
def test_one_bad_leaf_is_refused_in_one_line_or_read(command: str) -> None:
    base = DOCS[command]()
    leaves = [p for p in _leaves(base) if p and p[0] not in ("environment", "created")]
    rng = random.Random(f"hostile-{command}")
    cases = [(p, v) for p in leaves for v in BAD]
    for path, value in rng.sample(cases, min(30, len(cases))):
        doc = copy.deepcopy(base)
        _set(doc, path, value)
        try:
            _read_all(doc)
        except ValueError as e:
            assert "\n" not in str(e) and "hostile.json" in str(e), (path, value, e)
        except Exception as e:  # noqa: BLE001 - the point of the test
            pytest.fail(f"{path} = {value!r}: {type(e).__name__}: {e}")


def test_files_that_are_not_results_are_refused(tmp_path: Path) -> None:
    deep = tmp_path / "deep.json"
    deep.write_text("[" * 100_000 + "]" * 100_000)
    with pytest.raises(ValueError, match="nests too deeply"):
        read_json(deep)
    with pytest.raises(ValueError, match="is a folder"):
        read_json(tmp_path)
    (tmp_path / "empty.json").write_text("")
    with pytest.raises(ValueError, match="not valid JSON"):
        read_json(tmp_path / "empty.json")
    (tmp_path / "list.json").write_text(json.dumps([1, 2]))
    with pytest.raises(ValueError, match="not an adambench results file"):
        read_json(tmp_path / "list.json")
