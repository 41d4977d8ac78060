"""``adambench phase``: a small map end to end, its report, and bad input (exit 2, one line)."""

import json
import subprocess
import sys

import pytest


def cli(*args, cwd=None):
    return subprocess.run(
        [sys.executable, "-c", "from adambench.cli.app import main; main()", *args],
        capture_output=True, text=True, cwd=cwd,
    )  # fmt: skip


def test_small_map_writes_results_and_report(tmp_path):
    r = cli("phase", "-p", "reddi", "-o", "adam", "--x", "beta2=0.05:0.9:3", "--y", "C=3:6:2",
            "--hp", "beta1=0", "--T", "3e4", "--seeds", "1", "--out", str(tmp_path), "--json",
            "--report")  # fmt: skip
    assert r.returncode == 0, r.stderr
    doc = json.loads(r.stdout)
    (path,) = tmp_path.glob("phase-*.json")
    assert json.loads(path.read_text())["cells"] == doc["cells"]
    assert doc["command"] == "phase" and len(doc["cells"]) == 6
    assert sum(doc["counts"].values()) == 6
    assert {(c["ix"], c["iy"]) for c in doc["cells"]} == {
        (i, j) for i in range(3) for j in range(2)
    }
    # Reddi et al. Theorem 1's example: beta2 = 1/(1 + C^2) (0.1 at C = 3) fails
    worst = next(c for c in doc["cells"] if c["ix"] == 0 and c["iy"] == 0)
    assert worst["x_final"] > 0.9 and worst["R_over_T"] > 0.2
    assert [t["label"] for t in doc["theory"]] == ["beta2 = 1 / (1 + C^2)"]
    (rep,) = tmp_path.glob("phase-*-report")
    assert (rep / "report.html").exists() and list(rep.glob("phase-adam-reddi*.png"))


def test_text_summary(tmp_path):
    r = cli("phase", "--x", "beta1=0:0.9:2", "--y", "beta2=0.5:0.99:2", "--T", "2000",
            "--out", str(tmp_path))  # fmt: skip
    assert r.returncode == 0, r.stderr
    assert "4 cells at T = 2,000" in r.stdout and "Reddi et al. Theorem 3" in r.stdout


@pytest.mark.parametrize(
    "args, match",
    [
        (["--x", "beta1=0:1"], "--x must be name=lo:hi:n"),
        (["--x", "beta2=0.5:0.9:2"], "the two axes must differ"),
        (["--y", "zeta=0:1:2"], "neither a hyperparameter of adam"),
        (["--T", "0"], "T must be"),
        (["--seeds", "0"], "seeds must be"),
        (["-o", "nosuch"], "unknown optimizer"),
        (["--hp", "eps"], "--hp must be name=value"),
        (["--x", "beta1=0:1.5:2"], "cell beta1=1.5"),
    ],
)
def test_bad_input_is_one_line_exit_2_and_no_file(tmp_path, args, match):
    r = cli("phase", "--T", "100", "--out", str(tmp_path), *args)
    assert r.returncode == 2
    assert match in r.stderr and len(r.stderr.strip().splitlines()) == 1
    assert "Traceback" not in r.stderr and not list(tmp_path.glob("phase-*"))
