"""Results are never lost, never silently replaced, never half-written (docs/design.md §4).

* Every output location of every command (run, ablate, regret, bench, report, sweep,
  compare --markdown, bench --save-baseline) is checked before any work: a bad one is
  one ``error:`` line, exit 2, no traceback, nothing written, and the engine is never
  called (it is replaced by one that fails the test).
* ``--out`` is a folder on every command, with ``results/`` by default; each results
  file is a new ``<command>-<UTC time>-<id>.json``, created without replacing any file.
* ``--report`` puts the report beside the results file; results and reports follow the
  umask; a write that fails at the end leaves the results in the temporary folder.
* A failed or interrupted write leaves no temporary file and no partial results file.
"""

from __future__ import annotations

import errno
import json
import os
import stat
import sys
import tempfile
from pathlib import Path

import pytest
from typer.testing import CliRunner

from adambench import results
from adambench.cli.app import app

CMDS = {
    "regret": ["regret", "--T", "200", "-p", "reddi", "-o", "adam", "--seeds", "1"],
    "bench": ["bench", "--quick", "-o", "sgd", "--sizes", "1e3", "--repeats", "5"],
    "run": ["run", "--tasks", "logreg", "--epochs", "1", "--seeds", "1", "-o", "sgd",
            "--lr-grid", "0.1", "--width", "0.05"],
    "ablate": ["ablate", "bias-correction", "--task", "logreg", "--short", "1", "--long", "1",
               "--seeds", "1", "--beta1", "0.9", "--beta2", "0.99", "--log10-lr", "-2",
               "--width", "0.05"],
}  # fmt: skip

SWEEP = """
[sweep]
kind = "regret"
name = "safety"
seeds = 1
runs_per_unit = 2

[regret]
problems = ["reddi"]
T = 200

[optimizers.adam]
"""

# The functions that do each command's work: called, they fail the test.
ENGINES = {
    "regret": ("adambench.engines.regret.engine", "run"),
    "bench": ("adambench.cli.bench", "_run"),
    "run": ("adambench.experiments.training", "run_benchmark"),
    "ablate": ("adambench.experiments.ablation", "run_ablation"),
    "sweep": ("adambench.cli.sweep", "_executor"),
    "report": ("adambench.cli.report", "build"),
    "compare": ("adambench.cli.compare", "read_json"),
}


def forbid_work(monkeypatch, command: str) -> None:
    module, name = ENGINES[command]
    __import__(module)

    def work(*args, **kwargs):
        raise AssertionError(f"{command}: the work started before the output was checked")

    monkeypatch.setattr(sys.modules[module], name, work)


def cli(monkeypatch, capsys, *args: str) -> tuple[int, str, str]:
    """The real entry point in this process: exit code, stdout, stderr."""
    from adambench.cli.app import main

    monkeypatch.setattr(sys, "argv", ["adambench", *map(str, args)])
    monkeypatch.setenv("NO_COLOR", "1")
    monkeypatch.setenv("COLUMNS", "200")
    with pytest.raises(SystemExit) as exit_info:
        main()
    out = capsys.readouterr()
    code = exit_info.value.code
    return (0 if code is None else code), out.out, out.err


def one_error_line(code: int, out: str, err: str, exit_code: int = 2) -> str:
    assert code == exit_code, err
    assert "Traceback" not in err and "Traceback" not in out
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), err
    return lines[0]


def tree(folder: Path) -> list[str]:
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*"))


@pytest.fixture
def umask022():
    old = os.umask(0o022)
    yield
    os.umask(old)


@pytest.fixture(scope="module")
def bench_base(tmp_path_factory) -> Path:
    """A real tiny bench results file (the baseline of the --compare cases)."""
    folder = tmp_path_factory.mktemp("base")
    r = CliRunner().invoke(app, [*CMDS["bench"], "--out", str(folder)])
    assert r.exit_code == 0, r.output
    (path,) = folder.glob("bench-*.json")
    return path


def _bad(kind: str, tmp_path: Path) -> Path:
    """A location nothing can be written to, of the given kind."""
    if kind == "under-a-file":
        (tmp_path / "file").write_text("x")
        return tmp_path / "file" / "out"
    if kind == "existing-file":
        (tmp_path / "file").write_text("x")
        return tmp_path / "file"
    if kind == "proc":
        if not Path("/proc/self").is_dir():
            pytest.skip("no /proc here")
        return Path("/proc/x/y")
    if kind == "unwritable":
        if os.geteuid() == 0:
            pytest.skip("root writes into a read-only folder")
        ro = tmp_path / "ro"
        ro.mkdir()
        ro.chmod(0o555)
        return ro / "out"
    raise AssertionError(kind)


BAD = ["under-a-file", "existing-file", "proc", "unwritable"]


def _args(command: str, tmp_path: Path) -> list[str]:
    if command == "sweep":
        cfg = tmp_path / "sweep.toml"
        cfg.write_text(SWEEP)
        return ["sweep", str(cfg), "--jobs", "1"]
    if command == "report":  # its input is read (stubbed: a valid one) before the check
        return ["report", "in.json"]
    return CMDS[command]


@pytest.mark.parametrize("kind", BAD)
@pytest.mark.parametrize("command", [*CMDS, "sweep", "report"])
def test_a_bad_out_is_one_line_exit_2_before_any_work(tmp_path, monkeypatch, capsys, command, kind):
    monkeypatch.chdir(tmp_path)
    args = _args(command, tmp_path)
    if command == "report":  # the report reads its input first: a valid one
        monkeypatch.setattr("adambench.cli.report.load", lambda paths: ("regret", []))
    bad = _bad(kind, tmp_path)
    before = tree(tmp_path)
    forbid_work(monkeypatch, command)
    code, out, err = cli(monkeypatch, capsys, *args, "--out", bad)
    line = one_error_line(code, out, err)
    assert "--out" in line and str(bad) in line
    assert out == "" and tree(tmp_path) == before


@pytest.mark.parametrize("option", ["--save-baseline", "--markdown"])
@pytest.mark.parametrize("kind", ["under-a-file", "proc", "unwritable"])
def test_bench_checks_every_file_it_will_write_before_timing(
    tmp_path, monkeypatch, capsys, bench_base, option, kind
):
    monkeypatch.chdir(tmp_path)
    bad = _bad(kind, tmp_path)
    before = tree(tmp_path)
    forbid_work(monkeypatch, "bench")
    extra = ["--compare", str(bench_base)] if option == "--markdown" else []
    code, out, err = cli(
        monkeypatch, capsys, *CMDS["bench"], *extra, option, bad, "--out", tmp_path / "good"
    )
    assert option in one_error_line(code, out, err)
    assert tree(tmp_path) == before  # good/ is not written either


def test_bench_markdown_that_is_a_folder_is_refused(tmp_path, monkeypatch, capsys, bench_base):
    forbid_work(monkeypatch, "bench")
    code, out, err = cli(monkeypatch, capsys, *CMDS["bench"], "--compare", bench_base,
                         "--markdown", tmp_path, "--out", tmp_path / "good")  # fmt: skip
    assert "is a folder" in one_error_line(code, out, err)
    assert not (tmp_path / "good").exists()


@pytest.mark.parametrize("kind", ["under-a-file", "proc", "unwritable"])
def test_compare_markdown_is_checked_before_reading(tmp_path, monkeypatch, capsys, kind):
    bad = _bad(kind, tmp_path)
    forbid_work(monkeypatch, "compare")
    code, out, err = cli(monkeypatch, capsys, "compare", "a.json", "b.json", "--markdown", bad)
    assert "--markdown" in one_error_line(code, out, err)


def test_an_out_named_like_a_file_is_refused(tmp_path, monkeypatch, capsys):
    """--out is a folder on every command: a new path ending in .json is a likely mistake."""
    forbid_work(monkeypatch, "regret")
    code, out, err = cli(monkeypatch, capsys, *CMDS["regret"], "--out", tmp_path / "r.json")
    assert "is the folder" in one_error_line(code, out, err)
    assert list(tmp_path.iterdir()) == []


def test_bench_out_is_a_folder_with_the_common_name_pattern(bench_base):
    assert bench_base.parent.is_dir()
    assert bench_base.name.startswith("bench-") and len(bench_base.stem.split("-")) == 4
    assert results.read_json(bench_base, command="bench")["rows"]


def test_every_command_writes_results_by_default(tmp_path, monkeypatch, capsys):
    """No --out: results/ (regret wrote nothing before); --report names that file."""
    monkeypatch.chdir(tmp_path)
    code, out, err = cli(monkeypatch, capsys, *CMDS["regret"], "--report")
    assert code == 0, err
    (path,) = (tmp_path / "results").glob("regret-*.json")
    assert f"results: {path.relative_to(tmp_path)}" in err
    assert results.read_json(path, command="regret")["rows"]
    report = tmp_path / "results" / f"{path.stem}-report" / "report.html"
    assert report.is_file() and path.name in report.read_text()
    assert not (tmp_path / "reports").exists()


def test_two_runs_into_one_folder_in_the_same_second_keep_both(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(results.files, "utc_stamp", lambda: "20250101-000000")
    for _ in range(2):
        code, _, err = cli(monkeypatch, capsys, *CMDS["run"], "--out", tmp_path / "col")
        assert code == 0, err
    files = sorted((tmp_path / "col").iterdir())
    assert len(files) == 2 and all(f.name.startswith("run-20250101-000000-") for f in files)
    for f in files:
        assert results.read_json(f, command="run")["tasks"]


def test_two_regrets_into_one_folder_keep_both(tmp_path, monkeypatch, capsys):
    for _ in range(2):
        code, out, err = cli(monkeypatch, capsys, *CMDS["regret"], "--out", tmp_path, "--json")
        assert code == 0, err
        assert json.loads(out)["command"] == "regret"
    files = sorted(tmp_path.glob("regret-*.json"))
    assert len(files) == 2 and not (tmp_path / "regret.json").exists()


def test_ablate_writes_a_new_file_and_its_report_beside_it(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    code, _, err = cli(monkeypatch, capsys, *CMDS["ablate"], "--out", "ab", "--report")
    assert code == 0, err
    (path,) = (tmp_path / "ab").glob("ablate-*.json")
    assert (tmp_path / "ab" / f"{path.stem}-report" / "report.html").is_file()
    assert not (tmp_path / "reports").exists()


def test_a_taken_name_is_never_replaced(tmp_path, monkeypatch):
    taken = tmp_path / "regret-x.json"
    taken.write_text("precious")
    names = iter(["regret-x.json", "regret-x.json", "regret-y.json"])
    monkeypatch.setattr(results.files, "results_name", lambda command: next(names))
    path = results.write_new_json(tmp_path, "regret", {"a": 1})
    assert path == tmp_path / "regret-y.json" and json.loads(path.read_text()) == {"a": 1}
    assert taken.read_text() == "precious"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["regret-x.json", "regret-y.json"]


def test_without_hard_links_the_create_is_still_exclusive(tmp_path, monkeypatch):
    def no_link(src, dst):
        raise OSError(errno.EPERM, "Operation not permitted")

    monkeypatch.setattr(os, "link", no_link)
    (tmp_path / "run-x.json").write_text("precious")
    names = iter(["run-x.json", "run-y.json"])
    monkeypatch.setattr(results.files, "results_name", lambda command: next(names))
    path = results.write_new_json(tmp_path, "run", {"a": 1})
    assert path.name == "run-y.json" and json.loads(path.read_text()) == {"a": 1}
    assert (tmp_path / "run-x.json").read_text() == "precious"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run-x.json", "run-y.json"]


class _Interrupting:
    def tolist(self):
        raise KeyboardInterrupt


@pytest.mark.parametrize("where", ["serialising", "half-written", "link", "fallback-replace"])
def test_an_interrupted_or_failed_write_leaves_nothing(tmp_path, monkeypatch, where):
    doc = {"a": list(range(100))}
    error = KeyboardInterrupt
    if where == "serialising":
        doc["b"] = _Interrupting()
    elif where == "half-written":  # json.dump fails after writing part of the file
        doc["b"], error = object(), TypeError
    elif where == "link":

        def interrupted(src, dst):
            raise KeyboardInterrupt

        monkeypatch.setattr(os, "link", interrupted)
    else:

        def no_link(src, dst):
            raise OSError(errno.ENOTSUP, "Operation not supported")

        def interrupted(src, dst):
            raise KeyboardInterrupt

        monkeypatch.setattr(os, "link", no_link)
        monkeypatch.setattr(os, "replace", interrupted)
    with pytest.raises(error):
        results.write_new_json(tmp_path, "run", doc)
    assert list(tmp_path.iterdir()) == []
    if where in ("serialising", "half-written"):  # write_json (baselines, sweeps) as well
        with pytest.raises(error):
            results.write_json(tmp_path / "b.json", doc)
        assert list(tmp_path.iterdir()) == []


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_results_and_reports_follow_the_umask(tmp_path, monkeypatch, capsys, umask022):
    code, _, err = cli(monkeypatch, capsys, *CMDS["regret"], "--out", tmp_path, "--report")
    assert code == 0, err
    (path,) = tmp_path.glob("regret-*.json")
    assert _mode(path) == 0o644
    report = tmp_path / f"{path.stem}-report"
    assert _mode(report) == 0o755
    assert [p.name for p in report.iterdir() if _mode(p) != 0o644] == []
    assert _mode(results.write_json(tmp_path / "base.json", {"a": 1})) == 0o644
    from adambench.cli.compare import _write_text

    _write_text(tmp_path / "pr.md", "x")
    assert _mode(tmp_path / "pr.md") == 0o644
    os.umask(0o077)
    assert _mode(results.write_new_json(tmp_path, "run", {"a": 1})) == 0o600


def test_bench_files_follow_the_umask(tmp_path, monkeypatch, capsys, umask022):
    code, _, err = cli(monkeypatch, capsys, *CMDS["bench"], "--out", tmp_path,
                       "--save-baseline", tmp_path / "b" / "base.json")  # fmt: skip
    assert code == 0, err
    (path,) = tmp_path.glob("bench-*.json")
    assert _mode(path) == _mode(tmp_path / "b" / "base.json") == 0o644
    assert json.loads(path.read_text()) == json.loads((tmp_path / "b" / "base.json").read_text())


def test_a_failed_final_write_says_where_the_results_went(tmp_path, monkeypatch, capsys):
    spare = tmp_path / "spare"
    spare.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(spare))
    out = tmp_path / "out"
    real = results.write_new_json

    def disk_full(folder, command, doc):
        if Path(folder) == out:
            raise OSError(errno.ENOSPC, "No space left on device")
        return real(folder, command, doc)

    monkeypatch.setattr(results.files, "write_new_json", disk_full)
    code, out_text, err = cli(monkeypatch, capsys, *CMDS["regret"], "--out", out, "--report")
    line = one_error_line(code, out_text, err, exit_code=1)
    (saved,) = spare.glob("regret-*.json")
    assert "No space left on device" in line and str(saved) in line
    assert results.read_json(saved, command="regret")["rows"]
    assert not out.exists() or list(out.iterdir()) == []


def test_when_no_file_can_be_written_the_results_go_to_stdout(tmp_path, monkeypatch, capsys):
    def disk_full(folder, command, doc):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(results.files, "write_new_json", disk_full)
    code, out, err = cli(monkeypatch, capsys, *CMDS["regret"], "--out", tmp_path / "o")
    assert "results document follows on stdout" in one_error_line(code, out, err, exit_code=1)
    assert json.loads(out)["command"] == "regret"


def test_bench_writes_its_results_before_the_markdown(bench_base, tmp_path, monkeypatch, capsys):
    """A Markdown summary that cannot be written at the end: the results are there."""

    def disk_full(path, text):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr("adambench.cli.compare._write_text", disk_full)
    code, out, err = cli(monkeypatch, capsys, *CMDS["bench"], "--compare", bench_base,
                         "--markdown", tmp_path / "pr.md", "--out", tmp_path / "good")  # fmt: skip
    assert code == 1 and "Traceback" not in err
    line = err.strip().splitlines()[-1]  # after the verdicts (a gate may say more)
    assert line.startswith("error: ")
    (path,) = (tmp_path / "good").glob("bench-*.json")
    assert "cannot write --markdown" in line and str(path) in line
    assert results.read_json(path, command="bench")["compare"]


def test_bench_compare_with_markdown_writes_both(bench_base, tmp_path, monkeypatch, capsys):
    code, _, err = cli(monkeypatch, capsys, *CMDS["bench"], "--compare", bench_base,
                       "--markdown", tmp_path / "pr.md", "--out", tmp_path / "good")  # fmt: skip
    assert code in (0, 1), err
    assert (tmp_path / "pr.md").read_text().startswith("**adambench compare")
    assert len(list((tmp_path / "good").glob("bench-*.json"))) == 1
