"""The CLI skeleton: --help, --version, list, list --json, bad input.

Bad input goes through the real entry point (``adambench.cli.app:main``) in a
subprocess, so the exit code, stderr and the absence of a traceback are what a user
sees.  The import test guards docs/design.md §5: importing the app must
not import numba or the numeric stack, which the commands import when they run.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
from typer.testing import CliRunner

import adambench
from adambench.cli.app import app
from adambench.core.registry import RULES

MAIN = "import sys; from adambench.cli.app import main; sys.argv[0] = 'adambench'; main()"
HEAVY = ("numba", "numpy", "scipy", "torch", "cupy", "matplotlib", "sklearn", "llvmlite")


def run_cli(*args: str) -> subprocess.CompletedProcess:
    env = dict(os.environ, NO_COLOR="1", COLUMNS="200", TERM="dumb")
    return subprocess.run(
        [sys.executable, "-c", MAIN, *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        stdin=subprocess.DEVNULL,
    )


def assert_one_line_error(proc: subprocess.CompletedProcess, *phrases: str) -> str:
    assert proc.returncode == 2, proc
    assert proc.stdout == ""
    assert "Traceback" not in proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    assert lines[0].startswith("error: ")
    for phrase in phrases:
        assert phrase in lines[0]
    return lines[0]


@pytest.mark.parametrize("flag", ["--help", "-h"])
def test_help(flag):
    proc = run_cli(flag)
    assert proc.returncode == 0, proc.stderr
    assert "Usage" in proc.stdout and "adambench" in proc.stdout
    assert "list" in proc.stdout and "--version" in proc.stdout


def test_list_help_documents_its_options():
    proc = run_cli("list", "--help")
    assert proc.returncode == 0, proc.stderr
    assert "--json" in proc.stdout and "Machine-readable" in proc.stdout


def test_version():
    proc = run_cli("--version")
    assert proc.returncode == 0
    assert proc.stdout == f"adambench {adambench.__version__}\n"


def test_list_shows_every_optimizer_and_hyperparameter():
    proc = run_cli("list")
    assert proc.returncode == 0, proc.stderr
    for name, rule in RULES.items():
        assert name in proc.stdout
        for p in rule.params:
            assert f"{p.name}={p.default}" in proc.stdout, (name, p.name)


def test_list_json_is_complete():
    result = CliRunner().invoke(app, ["list", "--json"])
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    opts = doc["optimizers"]
    assert [o["name"] for o in opts] == list(RULES)
    assert len(opts) == 13
    for o in opts:
        rule = RULES[o["name"]]
        assert o["equation"] == rule.equation and o["source"] == rule.source
        assert o["bytes_per_param_fp32"] == rule.bytes_per_param
        assert [h["name"] for h in o["hyperparameters"]] == [p.name for p in rule.params]
        for h, p in zip(o["hyperparameters"], rule.params, strict=True):
            assert h["default"] == p.default
            assert h["allowed"] == p.range_text() and h["allowed"]
            assert h["per_run_vector"] == (p.kind == "float")
            assert h["doc"]
    lr = next(h for h in opts[0]["hyperparameters"] if h["name"] == "lr")
    assert lr == {**lr, "default": 0.001, "allowed": "> 0"}


def test_list_json_through_main_is_pure_json():
    proc = run_cli("list", "--json")
    assert proc.returncode == 0, proc.stderr
    assert len(json.loads(proc.stdout)["optimizers"]) == 13
    assert proc.stderr == ""


def test_list_unknown_thing_is_a_one_line_error():
    assert_one_line_error(run_cli("list", "bogus"), "'bogus'", "optimizers")


@pytest.mark.parametrize(
    "args", [("--bogus",), ("list", "--bogus"), ("nosuchcommand",)], ids=["root", "list", "cmd"]
)
def test_unknown_flag_or_command_is_a_one_line_error(args):
    assert_one_line_error(run_cli(*args), args[-1])


def test_importing_the_app_does_not_import_numba():
    code = (
        "import json, sys; import adambench.cli.app; "
        f"print(json.dumps([m for m in {HEAVY!r} if m in sys.modules]))"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout) == [], "CLI modules must import these inside commands"
