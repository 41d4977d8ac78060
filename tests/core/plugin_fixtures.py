"""Install the example plugin (and a broken one) for a test: a ``.dist-info`` with
``entry_points.txt`` in a temporary folder on sys.path, no pip install needed."""

from __future__ import annotations

import sys
from pathlib import Path

EXAMPLE_SRC = Path(__file__).resolve().parents[2] / "examples/adambench-example-plugin/src"

GOOD = """[adambench.optimizers]
signsgd = adambench_example_plugin.rules:SIGNSGD

[adambench.problems]
hinge-linear = adambench_example_plugin.tasks:make_task
"""
BROKEN = """[adambench.optimizers]
ghost = adambench_no_such_module:RULE
adam = adambench_example_plugin.rules:SIGNSGD
"""


def write_dist(folder: Path, name: str, entry_points: str) -> None:
    info = folder / f"{name}-0.1.0.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: 0.1.0\n")
    (info / "entry_points.txt").write_text(entry_points)


def install(monkeypatch, tmp_path: Path, broken: bool = False) -> list[str]:
    """Put the example plugin (and optionally a broken one) on sys.path; the paths added."""
    from adambench.core import plugins

    site = tmp_path / "site"
    write_dist(site, "adambench_example_plugin", GOOD)
    if broken:
        write_dist(site, "adambench_broken_plugin", BROKEN)
    paths = [str(site), str(EXAMPLE_SRC)]
    for p in paths:
        monkeypatch.syspath_prepend(p)
    plugins.reset()
    return paths


def uninstall() -> None:
    from adambench.core import plugins

    for mod in [m for m in sys.modules if m.startswith("adambench_example_plugin")]:
        del sys.modules[mod]
    plugins.reset()


# The reference note each command prints once for a rule without a kernel.
NOTE = "note: signsgd has no compiled kernel; running its reference implementation (slower)"


def cli(*args):
    """``adambench ARGS`` in-process, every argument as a string."""
    from typer.testing import CliRunner

    from adambench.cli.app import app

    return CliRunner().invoke(app, [str(a) for a in args])
