"""Signals and literal output of the real entry point (``adambench.cli.app:main``).

* Ctrl-C (SIGINT) on a running command prints one line ``interrupted`` on stderr and
  exits 130; SIGTERM one line ``terminated (SIGTERM)`` and 143: no traceback, no blank
  line, nothing half-written.  Checked on a real subprocess, signalled once its handlers
  are in place (``/proc/PID/status``) and its work has begun.
* Paths, names and messages print literally: no emoji codes (``:x:``), no Rich markup
  (``[red]``) taken from a user's value, in errors, tables, titles and progress bars.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from adambench.cli.app import app

MAIN = "import sys; from adambench.cli.app import main; sys.argv[0] = 'adambench'; main()"
# long enough to be signalled while it runs (minutes uninterrupted)
REGRET = ["regret", "--T", "1e7", "-p", "logistic", "-o", "adam", "--seeds", "2"]


def _env() -> dict[str, str]:
    return dict(os.environ, NO_COLOR="1", COLUMNS="200", TERM="dumb")


def _caught(pid: int) -> set[int]:
    """Signals the process has handlers for (Linux); empty when unknown."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return set()
    mask = int(next(ln.split()[1] for ln in status.splitlines() if ln.startswith("SigCgt:")), 16)
    return {s for s in range(1, 64) if mask >> (s - 1) & 1}


def wait_until_handled(proc: subprocess.Popen, settle: float = 1.5) -> None:
    """Until ``main`` has installed its handlers (SIGTERM caught), then ``settle`` s more so
    that the command is at work; without /proc (or without handlers), 20 s at most."""
    deadline = time.monotonic() + 20
    while signal.SIGTERM not in _caught(proc.pid) and time.monotonic() < deadline:
        assert proc.poll() is None, proc.communicate()
        time.sleep(0.05)
    time.sleep(settle)


def _files(folder: Path) -> list[str]:
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*") if not p.is_dir())


@pytest.mark.parametrize(
    "sig, code, line",
    [(signal.SIGINT, 130, "interrupted"), (signal.SIGTERM, 143, "terminated (SIGTERM)")],
)
def test_signal_on_a_running_command_is_one_line(tmp_path, sig, code, line):
    out = tmp_path / "out"
    proc = subprocess.Popen(
        [sys.executable, "-c", MAIN, *REGRET, "--out", str(out)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL,
        text=True, env=_env(),
    )  # fmt: skip
    try:
        wait_until_handled(proc)
        proc.send_signal(sig)
        stdout, stderr = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == code, stderr
    assert "Traceback" not in stderr and stdout == ""
    assert stderr.splitlines() == [line], stderr  # one line: no blank line before it
    assert not out.exists() or _files(out) == []  # no results, no temporary file


def test_main_restores_the_signal_handlers(monkeypatch, capsys):
    """``main`` called in a process (as tests do) leaves that process's handlers as found."""
    from adambench.cli.app import main

    before = {s: signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM)}
    monkeypatch.setattr(sys, "argv", ["adambench", "list", "--json"])
    with pytest.raises(SystemExit) as e:
        main()
    assert e.value.code == 0
    capsys.readouterr()
    assert {s: signal.getsignal(s) for s in before} == before


def test_interrupt_inside_a_command_in_process(monkeypatch, capsys):
    """A KeyboardInterrupt in a command (Typer makes it a silent Exit(130)) still says so."""
    import adambench.cli.listing as listing
    from adambench.cli.app import main

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(listing, "optimizers_doc", interrupted, raising=False)
    monkeypatch.setattr(sys, "argv", ["adambench", "list", "--json"])
    with pytest.raises(SystemExit) as e:
        main()
    err = capsys.readouterr().err
    assert e.value.code == 130 and err.splitlines() == ["interrupted"]


# Literal output: a user's path or name is printed as written.

HOSTILE = "[red]:x:[bold]"

SWEEP = """
[sweep]
kind = "regret"
name = "NAME"
seeds = 1
runs_per_unit = 2

[regret]
problems = ["reddi"]
T = 300

[optimizers.adam]
"""


def _squash(text: str) -> str:
    """Without whitespace: a long line that Rich wrapped compares equal to the original."""
    return "".join(text.split())


def test_error_prints_a_path_literally(tmp_path):
    path = tmp_path / f"{HOSTILE}.toml"
    res = CliRunner().invoke(app, ["sweep", str(path)])
    assert res.exit_code == 2
    assert f"cannot read config {path}" in res.stderr
    assert "❌" not in res.stderr


def test_sweep_prints_its_name_and_folder_literally(tmp_path):
    cfg = tmp_path / "s.toml"
    cfg.write_text(SWEEP.replace("NAME", HOSTILE))
    folder = tmp_path / f"out{HOSTILE}"
    res = CliRunner().invoke(app, ["sweep", str(cfg), "--dry-run", "--out", str(folder)])
    assert res.exit_code == 0, res.output
    assert f"Sweep '{HOSTILE}'" in res.stdout  # the table's title
    assert _squash(str(folder)) in _squash(res.stdout)
    res = CliRunner().invoke(app, ["sweep", str(cfg), "--jobs", "1", "--out", str(folder)])
    assert res.exit_code == 0, res.output
    assert f"sweep '{HOSTILE}': 1 units" in res.stderr
    assert _squash(str(folder)) in _squash(res.stdout)
    assert "❌" not in res.stdout + res.stderr


def test_render_is_literal_but_keeps_its_own_markup():
    from rich.console import Console

    from adambench.cli import render

    con = render.LiteralConsole(width=200, record=True, color_system=None)
    con.print(f"results: /tmp/{HOSTILE}/a.json")
    con.print("[dim]a footnote[/]")
    con.print(render.table(f"Sweep {HOSTILE}", ["name"], [(HOSTILE,), ("[bold]ours[/]",)]))
    text = con.export_text()
    assert f"results: /tmp/{HOSTILE}/a.json" in text
    assert "a footnote" in text and "[dim]" not in text
    assert f"│ {HOSTILE}" in text and "│ ours " in text and "❌" not in text
    assert f"Sweep{HOSTILE}" in _squash(text)  # the title (wrapped to the table's width)
    assert render.err_console._emoji is False and render.console._emoji is False

    bar = render.progress()  # its description column, rendered for a task
    task_id = bar.add_task(HOSTILE, total=1)
    cell = bar.columns[0].render(bar.tasks[task_id])
    assert cell.plain == HOSTILE
    plain = Console(width=80, record=True, color_system=None)
    plain.print(cell)
    assert HOSTILE in plain.export_text()
