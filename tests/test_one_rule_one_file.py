"""One rule, one file: code outside ``core/rules`` asks the Rule, never its name.

Outside ``adambench/core/rules/`` no code may compare a value with an optimizer's (or a
kernel's) name, key a table by those names, or read a coefficient row by position
(``c[5]``); the rule's file declares what the rest of the package needs (named
coefficients, weight, buffers, defaults).  Each check is shown to fire on a sample.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from adambench.core.registry import KERNELS, RULES

PACKAGE = Path(__file__).resolve().parents[1] / "adambench"
NAMES = set(RULES) | {k.name for k in KERNELS}
# Where a rule's name is the subject itself, not a branch on it: the section 6.4
# ablation compares Adam with and without bias correction by definition, and the report
# palette gives the built-in rules fixed colours (others get the next colour in turn).
ALLOWED = {
    "report/plots_ablation.py": "draws that ablation's two variants",
    "report/summary.py": "summarises that ablation",
    "report/figures.py": "a colour palette",
}
# Coefficient rows and tables: a number in brackets after one of these names.
ROW_NAMES = {"c", "table", "last"}
CUDA_ROW = re.compile(r"\bc\[\d+\]")


def _names_in(node: ast.AST) -> list[str]:
    return [
        n.value
        for n in ast.walk(node)
        if isinstance(n, ast.Constant) and isinstance(n.value, str) and n.value in NAMES
    ]


def name_branches(source: str) -> list[str]:
    """Comparisons with a rule name, tables keyed by rule names, rows read by position."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Compare):
            found += [f"line {node.lineno}: compares with {n!r}" for n in _names_in(node)]
        elif isinstance(node, ast.Dict):
            keys = [k.value for k in node.keys if isinstance(k, ast.Constant)]
            if sum(k in NAMES for k in keys) >= 2:
                found.append(f"line {node.lineno}: a table keyed by rule names")
        elif isinstance(node, ast.Subscript):
            base = node.value
            index = node.slice
            if isinstance(base, ast.Name) and base.id in ROW_NAMES:
                parts = index.elts if isinstance(index, ast.Tuple) else [index]
                if any(isinstance(p, ast.Constant) and isinstance(p.value, int) for p in parts):
                    found.append(f"line {node.lineno}: {base.id}[<number>]")
                if any(
                    isinstance(p, ast.Slice) and isinstance(p.lower, ast.Constant) for p in parts
                ):
                    found.append(f"line {node.lineno}: {base.id}[<slice>]")
    return found


def _package_files(suffix: str) -> list[Path]:
    rules = PACKAGE / "core" / "rules"
    return sorted(p for p in PACKAGE.rglob(f"*{suffix}") if rules not in p.parents)


@pytest.mark.parametrize("path", _package_files(".py"), ids=lambda p: str(p.relative_to(PACKAGE)))
def test_no_code_outside_the_rules_branches_on_a_rule(path):
    rel = str(path.relative_to(PACKAGE))
    if rel in ALLOWED:
        pytest.skip(ALLOWED[rel])
    assert name_branches(path.read_text()) == []


@pytest.mark.parametrize("path", _package_files(".cu"), ids=lambda p: str(p.relative_to(PACKAGE)))
def test_device_code_reads_no_coefficient_by_position(path):
    text = path.read_text()
    assert CUDA_ROW.findall(text) == []
    assert not re.search(r"\bK_[A-Z]+\b", text), "a kernel named in device code"


def test_the_checker_sees_each_pattern():
    sample = (
        'if name == "adam":\n    pass\n'
        'LR = {"adam": 1e-3, "sgd": 1e-2}\n'
        "x = c[5] + last[runs, 5:6]\n"
        "ok = c[i] + table[k, pt]\n"
    )
    found = name_branches(sample)
    assert len(found) == 4, found
    assert CUDA_ROW.findall("return sqrt(a1) * c[5];") == ["c[5]"]


def test_every_rule_declares_its_kernel_pieces_in_its_own_file():
    """The pieces other code asks for come from the rule's module."""
    for rule in RULES.values():
        k = rule.kernel
        module = k.row.__module__
        assert module.startswith("adambench.core.rules."), (rule.name, module)
        for piece in (rule.reference, rule.coefficients, rule.textbook, k.weight):
            if piece is not None:
                assert piece.__module__ == module, (rule.name, piece)
        width = rule.coefficients(rule.validate({}), 1).shape[-1]
        assert width == len(k.coefs), rule.name
