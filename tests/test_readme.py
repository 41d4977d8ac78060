"""The README's Python example runs as written, and its quick-start commands stay true."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np

README = Path(__file__).resolve().parents[1] / "README.md"


def test_python_example_runs_as_written():
    blocks = re.findall(r"```python\n(.*?)```", README.read_text(), re.S)
    assert blocks, "README has no Python example"
    scope: dict = {}
    exec(compile(blocks[0], "README.md", "exec"), scope)
    # The sweep example: run i moved by -lr_i on its first step (Adam's first step is
    # -lr * sign(g) up to eps).
    np.testing.assert_allclose(scope["P"][:, 0], -np.array([1e-4, 1e-3, 1e-2, 1e-1]), rtol=1e-6)


def test_quick_start_commands_are_the_ones_ci_runs():
    text = README.read_text()
    ci = (README.parent / ".ci" / "run").read_text()
    assert "pip install -e '.[test]' && pytest" in text
    assert "pip install -e '.[test]' && pytest" in ci
