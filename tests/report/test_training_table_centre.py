"""The report's training table centres a final training loss on its geometric mean.

The loss interval of ``adambench run`` is a t interval on the log losses, back-transformed
(``stats.log_t_interval``, experiments/training_results.loss_interval): its centre is the
geometric mean, not the arithmetic mean the grid search minimises.  The Markdown and HTML
tables must show that centre with that interval; a document without a geometric mean
(older files, or a loss <= 0) keeps the arithmetic mean.
"""

from __future__ import annotations

import math

import pytest
from report_docs import run_doc

from adambench.report.tables import run_tables


def _with_losses(per_seed: list[float]) -> tuple[dict, float, float]:
    """The small run document with adam's chosen point at these per-seed losses: its
    mean, geometric mean and log-scale t interval written out (t_{0.975, 1} = 12.706)."""
    doc = run_doc()
    n = len(per_seed)
    mean = sum(per_seed) / n
    logs = [math.log(v) for v in per_seed]
    mlog = sum(logs) / n
    sd = math.sqrt(sum((x - mlog) ** 2 for x in logs) / (n - 1))
    half = 12.706204736174698 * sd / math.sqrt(n)  # Student t, 1 degree of freedom
    adam = next(e for e in doc["tasks"][0]["optimizers"] if e["optimizer"] == "adam")
    adam["chosen"]["final_train_loss"] = {
        "mean": mean, "geometric_mean": math.exp(mlog), "ci95_low": math.exp(mlog - half),
        "ci95_high": math.exp(mlog + half), "interval": "t on log(loss) across 2 seeds",
    }  # fmt: skip
    adam["chosen"]["final_train_loss_per_seed"] = per_seed
    return doc, mean, math.exp(mlog)


def _adam_cell(doc: dict) -> str:
    table = run_tables(doc)[0]
    col = table.header.index("final train loss [95%]")
    return next(r for r in table.rows if r[1] == "adam")[col]


def test_the_cell_is_the_geometric_mean_and_its_log_scale_interval():
    doc, mean, gm = _with_losses([0.05, 0.2])
    assert (mean, gm) == (pytest.approx(0.125), pytest.approx(0.1))
    f = doc["tasks"][0]["optimizers"][0]["chosen"]["final_train_loss"]
    low, high = f["ci95_low"], f["ci95_high"]
    assert low < gm < high and math.isclose(low * high, gm * gm)  # symmetric in log
    assert _adam_cell(doc) == f"0.1 [{low:.3g}, {high:.3g}]"
    assert "geometric mean" in run_tables(doc)[0].note


@pytest.mark.parametrize("gm", ["absent", None, float("nan")])
def test_without_a_geometric_mean_the_cell_is_the_arithmetic_mean(gm):
    doc, mean, _ = _with_losses([0.05, 0.2])
    f = doc["tasks"][0]["optimizers"][0]["chosen"]["final_train_loss"]
    if gm == "absent":
        del f["geometric_mean"]
    else:
        f["geometric_mean"] = gm
    assert _adam_cell(doc).startswith("0.125 [")


def test_the_markdown_and_html_reports_show_the_geometric_mean(tmp_path):
    pytest.importorskip("matplotlib")
    from adambench.report import report_for

    doc, _, _ = _with_losses([0.05, 0.2])
    f = doc["tasks"][0]["optimizers"][0]["chosen"]["final_train_loss"]
    cell = f"0.1 [{f['ci95_low']:.3g}, {f['ci95_high']:.3g}]"
    report_for(doc, tmp_path / "out")
    md = (tmp_path / "out" / "report.md").read_text()
    html = (tmp_path / "out" / "report.html").read_text()
    assert cell in md and cell in html
    assert "0.125 [" not in md and "0.125 [" not in html
