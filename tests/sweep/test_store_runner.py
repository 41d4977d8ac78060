"""The results store and the driver: cache hits, damaged unit files, foreign or
unwritable folders, interruption and resume, a killed local worker."""

from __future__ import annotations

import json
import os
import signal

import pytest
from sweep_helpers import Counting, run_sweep, tiny

from adambench.sweep import work
from adambench.sweep.executors import InlineExecutor, ProcessExecutor
from adambench.sweep.store import Store


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    """The tiny sweep, uninterrupted, in this process."""
    out, doc, units = run_sweep(tmp_path_factory.mktemp("ref") / "out")
    assert out.complete and out.computed == len(units) == 6
    return doc


def test_second_identical_run_computes_nothing(tmp_path, reference):
    ex = Counting(InlineExecutor(threads=1))
    first, doc1, units = run_sweep(tmp_path / "out", ex)
    assert ex.asked == first.computed == len(units)
    before = work.units_run_here()
    ex2 = Counting(InlineExecutor(threads=1))
    second, doc2, _ = run_sweep(tmp_path / "out", ex2)
    assert ex2.asked == 0 and second.computed == 0 and second.cached == len(units)
    assert work.units_run_here() == before
    assert doc2["rows"] == doc1["rows"] == reference["rows"]
    assert doc2["sweep"]["from_cache"] == len(units)


@pytest.mark.parametrize("damage", ["truncate", "edit", "garbage"])
def test_damaged_unit_file_is_recomputed(tmp_path, reference, damage):
    _, _, units = run_sweep(tmp_path / "out")
    path = tmp_path / "out" / "units" / f"{units[1].key}.json"
    text = path.read_text()
    if damage == "truncate":
        path.write_text(text[: len(text) // 2])
    elif damage == "edit":  # valid JSON, one number changed: the checksum catches it
        doc = json.loads(text)
        doc["payload"]["rows"][0]["R_T"] += 1.0
        path.write_text(json.dumps(doc))
    else:
        path.write_bytes(b"\x00\xff" * 10)
    ex = Counting(InlineExecutor(threads=1))
    out, doc, _ = run_sweep(tmp_path / "out", ex)
    assert ex.asked == 1 and out.recomputed_corrupt == 1 and out.cached == len(units) - 1
    assert doc["rows"] == reference["rows"]
    assert json.loads(path.read_text())["payload"]["rows"][0]["R_T"] == reference["rows"][2]["R_T"]


def test_folder_of_another_sweep_is_refused_untouched(tmp_path):
    run_sweep(tmp_path / "out")
    before = {p: p.read_bytes() for p in (tmp_path / "out").rglob("*") if p.is_file()}
    cfg, units, sid = tiny(regret={"T": 2000})
    with pytest.raises(
        ValueError, match=r"holds another sweep \('tiny', id .*nothing was overwritten"
    ):
        Store.open(tmp_path / "out", sid, cfg.name, cfg.identity(), units)
    after = {p: p.read_bytes() for p in (tmp_path / "out").rglob("*") if p.is_file()}
    assert after == before


def test_sweep_of_an_older_schema_is_refused_untouched(tmp_path):
    """Units of schema 1 hold rows of the old layout; resuming over them would mix them."""
    run_sweep(tmp_path / "out")
    manifest = tmp_path / "out" / "manifest.json"
    doc = json.loads(manifest.read_text())
    doc["schema_version"] = 1
    manifest.write_text(json.dumps(doc))
    cfg, units, sid = tiny()
    with pytest.raises(ValueError, match="schema version 1 .*nothing was overwritten"):
        Store.open(tmp_path / "out", sid, cfg.name, cfg.identity(), units, resume=True)
    assert json.loads(manifest.read_text())["schema_version"] == 1


def test_beta1_decay_in_a_sweep_file_reaches_theorem_4_1(tmp_path):
    _, doc, _ = run_sweep(
        tmp_path / "out",
        optimizers={"adam": {"beta1": [0.9], "beta1_decay": [0.99]}, "amsgrad": {}},
    )
    adam = [r for r in doc["rows"] if r["optimizer"] == "adam"]
    assert adam and all(r["hyperparameters"]["beta1_decay"] == 0.99 for r in adam)
    assert all(r["bound"]["applies"] for r in adam if r["problem"] == "logistic")


def test_non_empty_folder_without_manifest_and_resume_of_nothing(tmp_path):
    cfg, units, sid = tiny()
    (tmp_path / "busy").mkdir()
    (tmp_path / "busy" / "notes.txt").write_text("mine")
    with pytest.raises(ValueError, match="is not empty and has no manifest.json"):
        Store.open(tmp_path / "busy", sid, cfg.name, cfg.identity(), units)
    with pytest.raises(ValueError, match="nothing to resume"):
        Store.open(tmp_path / "new", sid, cfg.name, cfg.identity(), units, resume=True)
    assert not (tmp_path / "new").exists()


@pytest.mark.skipif(os.geteuid() == 0, reason="root can write to a read-only folder")
def test_unwritable_folder(tmp_path):
    cfg, units, sid = tiny()
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o500)
    try:
        # results.check_writable's probe and wording (one place for every command)
        with pytest.raises(ValueError, match=r"^results folder .*locked/out: cannot write in "):
            Store.open(locked / "out", sid, cfg.name, cfg.identity(), units)
        assert list(locked.iterdir()) == []
    finally:
        locked.chmod(0o700)


def test_unwritable_folder_as_a_file(tmp_path):
    cfg, units, sid = tiny()
    (tmp_path / "file").write_text("x")
    with pytest.raises(ValueError, match=r"^results folder .*/file/out: .*/file is a file, not a"):
        Store.open(tmp_path / "file" / "out", sid, cfg.name, cfg.identity(), units)
    with pytest.raises(ValueError, match="exists and is not a folder"):
        Store.open(tmp_path / "file", sid, cfg.name, cfg.identity(), units)


def test_interrupt_then_resume_equals_uninterrupted(tmp_path, reference):
    """A real SIGINT (Ctrl-C) after two units of a 2-process sweep, then a resume."""
    seen = []

    def ctrl_c_after_two(unit, ok):
        seen.append(unit.key)
        if len(seen) == 2:
            signal.raise_signal(signal.SIGINT)

    ex = ProcessExecutor(2)
    try:
        out, doc, units = run_sweep(tmp_path / "out", ex, on_unit=ctrl_c_after_two)
    finally:
        ex.close()
    assert out.interrupted and doc is None
    assert 2 <= len(out.payloads) < len(units) and len(out.remaining) == len(units) - len(
        out.payloads
    )
    assert "remain" in out.summary()
    stored = {p.stem for p in (tmp_path / "out" / "units").glob("*.json")}
    assert stored == set(out.payloads)
    ex2 = Counting(InlineExecutor(threads=1))
    resumed, doc, _ = run_sweep(tmp_path / "out", ex2)
    assert ex2.asked == len(out.remaining) and resumed.cached == len(out.payloads)
    assert doc["rows"] == reference["rows"]


def test_killed_local_worker_units_are_rerun(tmp_path, reference):
    ex = ProcessExecutor(2)
    killed = []

    def kill_one(unit, ok):
        if not killed:
            pid = ex.worker_pids()[0]
            os.kill(pid, signal.SIGKILL)
            killed.append(pid)

    try:
        out, doc, units = run_sweep(tmp_path / "out", ex, on_unit=kill_one)
    finally:
        ex.close()
    assert killed and out.complete and not out.failed and ex.restarts >= 1
    assert doc["rows"] == reference["rows"]
    assert len(list((tmp_path / "out" / "units").glob("*.json"))) == len(units)
    assert out.computed == len(units)  # each unit stored once, none twice
