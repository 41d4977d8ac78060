"""Provenance in every results file (``results.environment()``): the git commit of the
source tree and whether it is dirty (only from a checkout; never an error), and the load
average now and at the start of the command."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from adambench import machine
from adambench.results import environment, make_result

PACKAGE = Path(machine.__file__).resolve().parent


@pytest.fixture(autouse=True)
def _fresh_cache():
    machine._revision.cache_clear()
    yield
    machine._revision.cache_clear()


def _checkout_head() -> str | None:
    if shutil.which("git") is None:
        return None
    proc = subprocess.run(["git", "-C", str(PACKAGE), "ls-files", "--", "__init__.py"],
                          capture_output=True, text=True)  # fmt: skip
    if proc.returncode != 0 or not proc.stdout.strip():
        return None
    head = subprocess.run(["git", "-C", str(PACKAGE), "rev-parse", "HEAD"],
                          capture_output=True, text=True)  # fmt: skip
    return head.stdout.strip() if head.returncode == 0 else None


def test_environment_records_the_commit_of_a_checkout():
    head = _checkout_head()
    env = environment()
    if head is None:
        assert "git" not in env  # an installed copy: absent, not an error
        return
    assert env["git"]["commit"] == head
    assert isinstance(env["git"]["dirty"], bool)
    assert make_result("bench", {})["environment"]["git"] == env["git"]


def test_a_dirty_tree_is_said_so(tmp_path):
    if shutil.which("git") is None:
        pytest.skip("no git here")
    pkg = tmp_path / "repo" / "adambench"
    pkg.mkdir(parents=True)
    (pkg / "__init__.py").write_text("x = 1\n")
    run = dict(cwd=tmp_path / "repo", capture_output=True, check=True)
    subprocess.run(["git", "init", "-q"], **run)
    subprocess.run(["git", "add", "."], **run)
    subprocess.run(["git", "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "x"],
                   **run)  # fmt: skip
    clean = machine.source_revision(pkg)
    assert clean is not None and len(clean["commit"]) >= 40 and clean["dirty"] is False
    (pkg / "__init__.py").write_text("x = 2\n")
    machine._revision.cache_clear()
    assert machine.source_revision(pkg)["dirty"] is True
    # an untracked package inside some repository is not a checkout of it
    other = tmp_path / "repo" / "venv" / "adambench"
    other.mkdir(parents=True)
    (other / "__init__.py").write_text("")
    assert machine.source_revision(other) is None


def test_no_checkout_no_git_or_a_hung_git_is_absent_never_an_error(tmp_path, monkeypatch):
    assert machine.source_revision(tmp_path) is None  # not a repository
    assert machine.source_revision(tmp_path / "missing") is None

    def no_git(*a, **k):
        raise FileNotFoundError("git")

    monkeypatch.setattr(machine.subprocess, "run", no_git)
    machine._revision.cache_clear()
    assert machine.source_revision() is None and "git" not in environment()

    def hung(*a, **k):
        raise subprocess.TimeoutExpired("git", machine.GIT_TIMEOUT_S)

    monkeypatch.setattr(machine.subprocess, "run", hung)
    machine._revision.cache_clear()
    assert machine.source_revision() is None


def test_git_is_asked_once_per_process(monkeypatch):
    calls = []
    real = machine.subprocess.run

    def counting(*a, **k):
        calls.append(a[0])
        assert k.get("timeout") == machine.GIT_TIMEOUT_S  # never an unbounded wait
        return real(*a, **k)

    monkeypatch.setattr(machine.subprocess, "run", counting)
    environment()
    first = len(calls)
    environment()
    environment()
    assert len(calls) == first <= 3


def test_load_average_now_and_at_the_start(monkeypatch):
    env = environment()
    if machine.load_average() is None:  # no getloadavg on this platform: absent
        assert "load_average" not in env
        return
    assert len(env["load_average"]) == 3 and all(x >= 0 for x in env["load_average"])
    assert env["load_average_at_start"] == list(machine.LOAD_AT_START)
    monkeypatch.setattr(machine, "LOAD_AT_START", (7.0, 6.0, 5.0))
    assert environment()["load_average_at_start"] == [7.0, 6.0, 5.0]

    def unavailable():
        raise OSError("no load average")

    monkeypatch.setattr(machine.os, "getloadavg", unavailable)
    assert machine.load_average() is None
    assert "load_average" not in environment()
