"""``adambench report SWEEP_FOLDER``: a sweep's results folder, made by a real tiny sweep
(T = 1e3, one seed), reports its units' rows by kind, a table of every unit with its
status and verdicts, and names failed, missing and damaged units and failed points.

The expected tables are computed here from the unit files and the merged sweep.json
the sweep wrote, not from the report's own reading."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("matplotlib")

from adambench.report import build_report, sweeps  # noqa: E402
from adambench.report.build import load  # noqa: E402
from adambench.results import write_json  # noqa: E402
from adambench.sweep import config, plan, runner, store  # noqa: E402
from adambench.sweep.executors import InlineExecutor  # noqa: E402

REGRET = {
    "sweep": {"kind": "regret", "name": "tiny", "seeds": 1},
    "regret": {"problems": ["reddi", "linear"], "T": "1e3"},
    "optimizers": {"adam": {"beta2": [0.5, 0.999]}, "amsgrad": {}},
}
TRAIN = {
    "sweep": {"kind": "run", "name": "tinyrun", "seeds": 1},
    "run": {"tasks": ["logreg"], "epochs": 1},
    "optimizers": {"adam": {"lr": [0.001, 0.01]}, "sgd": {}},
}


class FailOne:
    """An executor on which the unit labelled ``label`` raises (a failed unit is not
    stored)."""

    description = "this process, one unit failing"

    def __init__(self, label: str) -> None:
        self.inner, self.label = InlineExecutor(threads=1), label

    def map(self, units, done, failed):
        for u in units:
            if u.label == self.label:
                failed(u, "RuntimeError: boom")
        self.inner.map([u for u in units if u.label != self.label], done, failed)

    def close(self) -> None:
        self.inner.close()


def make_sweep(folder: Path, doc: dict, executor=None) -> tuple[list, runner.Outcome]:
    """Run the sweep ``doc`` into ``folder`` as ``adambench sweep`` does (merged file at the
    end, only when every unit finished)."""
    cfg = config.parse(doc, doc["sweep"]["name"])
    units, sid = plan.plan(cfg), plan.sweep_id(cfg)
    st = store.Store.open(folder, sid, cfg.name, cfg.identity(), units)
    ex = executor or InlineExecutor(threads=1)
    out = runner.execute(units, st, ex)
    if out.complete:
        write_json(st.merged_path(), runner.merge(cfg, sid, units, out, ex.description))
    return units, out


@pytest.fixture(scope="module")
def regret_sweep(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("sweeps") / "tiny"
    make_sweep(folder, REGRET)
    return folder


def unit_rows(folder: Path) -> dict[str, list[dict]]:
    """label -> rows, read straight from the unit files named by the manifest."""
    manifest = json.loads((folder / "manifest.json").read_text())
    out = {}
    for u in manifest["units"]:
        path = folder / "units" / f"{u['key']}.json"
        out[u["label"]] = json.loads(path.read_text())["payload"]["rows"] if path.exists() else None
    return out


def verdict_counts(rows: list[dict]) -> str:
    counts: dict[str, int] = {}
    for r in rows:
        counts[r["verdict"]["class"]] = counts.get(r["verdict"]["class"], 0) + 1
    return ", ".join(f"{k} {v}" for k, v in counts.items())


def md_table(md: str, title: str) -> list[list[str]]:
    """The body rows of the Markdown table titled ``title``."""
    lines = md.splitlines()
    i = lines.index(f"**{title}**") + 4  # title, blank, header, rule
    rows = []
    while i < len(lines) and lines[i].startswith("|"):
        rows.append([c.strip() for c in lines[i].strip("|").split(" | ")])
        i += 1
    return rows


def test_a_tiny_sweep_folder_reports(regret_sweep: Path, tmp_path: Path) -> None:
    written = build_report([regret_sweep], tmp_path / "r", formats=("svg",))
    manifest = json.loads((regret_sweep / "manifest.json").read_text())
    merged = json.loads((regret_sweep / "sweep.json").read_text())
    assert written.command == "sweep" and len(written.sections) == 1
    assert f"id {manifest['sweep_id']}" in written.sections[0]
    assert written.sections[0].startswith("sweep tiny (regret")
    # regret units are reported as regret: its plots per problem, every row in the table
    assert {"regret-reddi", "regret-linear", "iterate-reddi", "exponents"} <= set(written.plots)
    md = (tmp_path / "r" / "report.md").read_text()
    rows = unit_rows(regret_sweep)
    table = md_table(md, "Units")
    assert [r[0] for r in table] == [u["label"] for u in manifest["units"]]
    for label, _, status, verdicts in table:
        assert status == "done" and verdicts == verdict_counts(rows[label])
    regret = md_table(md, "Regret at T")
    assert [(r[0], r[1]) for r in regret] == [
        (r["problem"], r["optimizer"]) for r in merged["rows"]
    ]
    assert f"{len(table)} of {len(table)} units finished" in md


def test_the_manifest_and_the_merged_file_read_as_the_folder(regret_sweep: Path) -> None:
    _, (a,) = load([regret_sweep])
    _, (b,) = load([regret_sweep / "manifest.json"])
    _, (c,) = load([regret_sweep / "sweep.json"])
    assert a.doc["units"] == b.doc["units"] == c.doc["units"]
    # a merged file alone (no folder beside it): its rows cut into its units by their labels
    alone = regret_sweep.parent / "alone"
    alone.mkdir()
    (alone / "merged.json").write_text((regret_sweep / "sweep.json").read_text())
    _, (d,) = load([alone / "merged.json"])
    assert [u["rows"] for u in d.doc["units"]] == [u["rows"] for u in a.doc["units"]]


def test_failed_missing_and_damaged_units_and_failed_points(tmp_path: Path, monkeypatch) -> None:
    from adambench.experiments import bounds

    real = bounds.THEOREMS["kingma-ba-4.1"]

    def theorem(hp, *args):  # the beta2 = 0.5 point fails in its row (tests/sweep's way)
        if bounds._scalar(hp, "beta2") == 0.5:
            raise ZeroDivisionError("float division by zero")
        return real(hp, *args)

    monkeypatch.setitem(bounds.THEOREMS, "kingma-ba-4.1", theorem)
    folder = tmp_path / "s"
    units, out = make_sweep(folder, REGRET, FailOne("reddi amsgrad x1"))
    gone = next(u for u in units if u.label == "reddi amsgrad x1")
    assert list(out.failed) == [gone.key] and not (folder / "sweep.json").exists()
    # a unit file whose numbers were changed after it was written: its checksum fails
    hit = next(u for u in units if u.label == "linear amsgrad x1")
    doc = json.loads(store.Store(folder, "").path(hit.key).read_text())
    doc["payload"]["rows"][0]["R_T"] = 0.0
    store.Store(folder, "").path(hit.key).write_text(json.dumps(doc))

    written = build_report([folder], tmp_path / "r", formats=("svg",))
    md = (tmp_path / "r" / "report.md").read_text()
    status = {r[0]: r[2] for r in md_table(md, "Units")}
    assert status[gone.label].startswith("failed or not run")
    assert status[hit.label].startswith("damaged")
    rows = unit_rows(folder)
    bad = [(label, r) for label, rs in rows.items() if rs for r in rs if r.get("failed")]
    assert [label for label, _ in bad] == ["reddi adam x2", "linear adam x2"]  # beta2 = 0.5
    failed = md_table(md, "Failed grid points")
    assert [(f[0], f[2], f[5]) for f in failed] == [
        (label, r["optimizer"], r["failed"]["error"]) for label, r in bad
    ]
    assert all(status[label] == "done, 1 point(s) failed" for label, _ in bad)
    assert f"Failed or not run: {gone.label}" in md
    assert f"Damaged unit files, not used: {hit.label}" in md
    assert written.plots  # what finished is still plotted


def test_a_malformed_unit_row_is_one_line_naming_the_unit(regret_sweep: Path, tmp_path: Path):
    import shutil

    folder = tmp_path / "copy"
    shutil.copytree(regret_sweep, folder)
    manifest = json.loads((folder / "manifest.json").read_text())
    first = manifest["units"][0]
    path = folder / "units" / f"{first['key']}.json"
    doc = json.loads(path.read_text())
    del doc["payload"]["rows"][0]["curve"]["R_mean"]
    doc["checksum"] = store.checksum(doc["payload"])  # a consistent file with a bad row
    path.write_text(json.dumps(doc))
    with pytest.raises(ValueError, match=r"curve.R_mean is missing") as err:
        build_report([folder], tmp_path / "r")
    assert "\n" not in str(err.value) and first["label"] in str(err.value)
    assert not (tmp_path / "r").exists()


def test_a_training_sweep_reports_its_rows(tmp_path: Path) -> None:
    folder = tmp_path / "t"
    make_sweep(folder, TRAIN)
    written = build_report([folder], tmp_path / "r", formats=("svg",))
    assert {"sweep-loss-logreg", "sweep-lr-logreg"} <= set(written.plots)
    md = (tmp_path / "r" / "report.md").read_text()
    merged = json.loads((folder / "sweep.json").read_text())
    table = md_table(md, "Training: every grid point")
    assert [(r[1], r[2]) for r in table] == [(r["optimizer"], r["point"]) for r in merged["rows"]]
    best = min(merged["rows"], key=lambda r: r["final_train_loss"])
    assert f"lowest final training loss: {best['optimizer']} " in md
    assert all(r[2] == "done" for r in md_table(md, "Units"))


def test_the_layout_constants_and_checksum_are_the_stores() -> None:
    import numpy as np

    assert (sweeps.MANIFEST, sweeps.MERGED) == (store.MANIFEST, store.MERGED)
    assert (sweeps.SCHEMA, sweeps.UNIT_SCHEMA) == (store.SCHEMA, store.UNIT_SCHEMA)
    assert store.SCHEMA_VERSION in sweeps.SCHEMA_VERSIONS
    payload = {"rows": [{"x": np.arange(3.0), "y": float("nan"), "z": {"b": 1, "a": [True]}}]}
    assert sweeps.checksum(payload) == store.checksum(payload)


def test_the_command_line_reports_a_sweep_folder(regret_sweep: Path, tmp_path: Path) -> None:
    main = "import sys; from adambench.cli.app import main; sys.argv[0] = 'adambench'; main()"
    env = dict(os.environ, NO_COLOR="1", COLUMNS="200", TERM="dumb")
    proc = subprocess.run(
        [sys.executable, "-c", main, "report", str(regret_sweep), "--out", str(tmp_path / "r"),
         "--json", "--dpi", "40"],
        capture_output=True, text=True, env=env, timeout=300, stdin=subprocess.DEVNULL,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    got = json.loads(proc.stdout)
    assert got["command"] == "sweep" and got["sources"] == [regret_sweep.name]
    assert "report.html" in got["files"] and "regret-reddi.png" in got["files"]
    # not a sweep folder: one line, exit 2
    empty = tmp_path / "empty"
    empty.mkdir()
    proc = subprocess.run(
        [sys.executable, "-c", main, "report", str(empty)],
        capture_output=True, text=True, env=env, timeout=300, stdin=subprocess.DEVNULL,
    )  # fmt: skip
    assert proc.returncode == 2 and proc.stderr.startswith("error:"), proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1 and "without manifest.json" in proc.stderr
