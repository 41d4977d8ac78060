"""Every ``adambench`` command shown in README.md's code blocks runs as written.

The README is read when the tests are collected: each line of a code block (fenced or
indented) that starts with ``adambench`` is one case, its trailing ``# comment`` removed,
run in a temporary folder through the console entry point (``~`` is a fresh empty home):

* ``run``, ``ablate``, ``regret``, ``bench``, ``sweep`` and ``phase`` run with ``--dry-run``
  appended,
  so every option is parsed and validated for real and nothing is computed;
* ``list``, ``compare``, ``report`` and any ``--help`` run for real, on small results
  files made first by tiny ``regret`` and ``bench`` runs (``base.json`` and ``new.json``
  are one bench result twice, so the gate passes; a ``<time>-<id>`` placeholder is the
  name of the tiny run's file); the README's TOML block is ``grid.toml``; a path in the
  repository (``reports/baselines/ci.json``) is copied in;
* a command that needs files or hardware absent here (a data folder under ``~``, a
  LIBSVM file, ``--backend cupy`` without a device, a Dask scheduler at a placeholder
  host) must fail with exit 2 and one ``error:`` line naming the missing thing.

Whatever the expectation, a README command must never be refused for its spelling: no
"No such option", "unknown optimizer" and the like (``adam,sgd`` read as one name once
was).
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
MAIN = "from adambench.cli.app import main; main()"
DRY = {"run", "ablate", "regret", "bench", "sweep", "phase"}
REAL = {"list", "compare", "report"}
# Spelling errors: a README line must never get one of these.
SPELLING = ("No such option", "No such command", "unknown optimizer", "unknown problem",
            "unknown task", "Got unexpected extra argument", "Missing argument",
            "Invalid value", "requires an argument")  # fmt: skip


def readme_blocks(text: str) -> list[tuple[str, list[str]]]:
    """(language, lines) of every fenced block and every indented (4-space) block."""
    blocks: list[tuple[str, list[str]]] = []
    lines = text.splitlines()
    i = 0
    while i < len(lines):
        line = lines[i]
        fence = re.match(r"^(\s*)(```|~~~)\s*(\S*)", line)
        if fence:
            lang, body, i = fence.group(3), [], i + 1
            while i < len(lines) and not lines[i].strip().startswith(fence.group(2)):
                body.append(lines[i])
                i += 1
            blocks.append((lang, body))
            i += 1
            continue
        prev_blank = i == 0 or not lines[i - 1].strip()
        if line.startswith("    ") and line.strip() and prev_blank:
            body = []
            while i < len(lines) and (lines[i].startswith("    ") or not lines[i].strip()):
                body.append(lines[i][4:])
                i += 1
            blocks.append(("", body))
            continue
        i += 1
    return blocks


def strip_comment(line: str) -> str:
    """The command without a trailing ``# comment`` (a ``#`` after whitespace, unquoted)."""
    out, quote = [], None
    for j, ch in enumerate(line):
        if quote:
            quote = None if ch == quote else quote
        elif ch in "'\"":
            quote = ch
        elif ch == "#" and (j == 0 or line[j - 1].isspace()):
            break
        out.append(ch)
    return "".join(out).strip()


def readme_commands(text: str | None = None) -> list[str]:
    text = README.read_text() if text is None else text
    seen: dict[str, None] = {}
    for _, body in readme_blocks(text):
        for line in body:
            s = line.strip()
            if s.startswith("adambench ") or s == "adambench":
                seen[strip_comment(s)] = None
    return list(seen)


def toml_block(text: str) -> str | None:
    for lang, body in readme_blocks(text):
        if lang == "toml":
            return "\n".join(body) + "\n"
    return None


def cuda_usable() -> bool:
    from adambench.core.backend import cuda_status

    return cuda_status()[0]


def absent(cmd: str) -> str | None:
    """What the command needs that this machine lacks (a word its error must name)."""
    m = re.search(r"--data-dir\s+~/(\S+)", cmd)
    if m:
        return m.group(1)
    m = re.search(r"--data\s+libsvm:(\S+)", cmd)
    if m:
        return m.group(1)
    if re.search(r"--backend[ =]cupy\b", cmd) and not cuda_usable():
        return "cupy"
    m = re.search(r"--scheduler[ =](tcp://[A-Z]+:\d+)", cmd)  # a placeholder HOST
    if m:
        return m.group(1)
    return None


def _env(home: Path) -> dict[str, str]:
    return dict(os.environ, HOME=str(home), NO_COLOR="1", COLUMNS="200", TERM="dumb")


def _cli(args: list[str], cwd: Path, home: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", MAIN, *args], cwd=cwd, env=_env(home),
                          capture_output=True, text=True, stdin=subprocess.DEVNULL,
                          timeout=900)  # fmt: skip


@pytest.fixture(scope="module")
def workspace(tmp_path_factory):
    """A folder with a tiny regret and bench result, base.json = new.json, grid.toml."""
    root = tmp_path_factory.mktemp("readme")
    home = root / "home"
    home.mkdir()
    work = root / "work"
    work.mkdir()
    for args in (
        ["regret", "--T", "200", "-p", "reddi", "-o", "adam", "--seeds", "1", "--out", "results"],
        ["bench", "-o", "adam", "--sizes", "1e3", "--threads", "1", "--repeats", "5",
         "--budget", "0.2", "--no-peers", "--out", "results"],
    ):  # fmt: skip
        proc = _cli(args, work, home)
        assert proc.returncode == 0, proc.stderr
    (bench,) = (work / "results").glob("bench-*.json")
    shutil.copy(bench, work / "base.json")
    shutil.copy(bench, work / "new.json")
    grid = toml_block(README.read_text())
    if grid is not None:
        (work / "grid.toml").write_text(grid)
    return work, home


def _placeholders(args: list[str], work: Path) -> list[str]:
    """``results/regret-<time>-<id>.json`` -> the tiny run's file; repository paths copied."""
    out = []
    for a in args:
        m = re.fullmatch(r"(.*?)(\w+)-<time>-<id>\.json", a)
        if m:
            found = sorted((work / (m.group(1) or ".")).glob(f"{m.group(2)}-*.json"))
            a = str(found[0].relative_to(work)) if found else a
        elif "/" in a and not a.startswith(("-", "~", "/")) and (ROOT / a).is_file():
            (work / a).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy(ROOT / a, work / a)
        out.append(a)
    return out


def test_readme_has_commands():
    cmds = readme_commands()
    assert len(cmds) >= 10
    assert any("adam,sgd" in c for c in cmds)  # the comma list that once failed


def test_parser_finds_indented_and_fenced_blocks():
    text = (
        "intro\n\n    adambench run   # a comment\n    adambench list\n\n"
        "```bash\npip install x && adambench no\nadambench bench -o 'a # b'\n```\n"
        "text with adambench inline\n\n```toml\n[sweep]\n```\n"
    )
    assert readme_commands(text) == ["adambench run", "adambench list",
                                     "adambench bench -o 'a # b'"]  # fmt: skip
    assert toml_block(text) == "[sweep]\n"


@pytest.mark.parametrize("command", readme_commands())
def test_readme_command(command, workspace):
    work, home = workspace
    words = shlex.split(command)[1:]
    words = [str(home) + w[1:] if w.startswith("~/") else w for w in words]
    words = _placeholders(words, work)
    sub = words[0] if words else ""
    real = sub in REAL or "--help" in words or "-h" in words or not words
    if not real and sub in DRY and "--dry-run" not in words:
        words = [*words, "--dry-run"]
    proc = _cli(words, work, home)
    said = proc.stderr.strip()
    for bad in SPELLING:
        assert bad not in said, f"{command!r} refused for its spelling: {said}"
    missing = absent(command)
    if missing is not None:
        lines = said.splitlines()
        assert proc.returncode == 2, f"{command!r} should fail (needs {missing}): {said}"
        assert len(lines) == 1 and lines[0].startswith("error: "), said
        assert missing in lines[0], f"{command!r}: the error does not name {missing!r}: {said}"
        assert "Traceback" not in proc.stderr
        return
    assert proc.returncode == 0, f"{command!r} exited {proc.returncode}: {said[-2000:]}"
    assert "Traceback" not in proc.stderr
