"""Each plot of each command builds from a small results document and saves as valid PNG
(magic bytes) and SVG (well-formed XML)."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest

pytest.importorskip("matplotlib")

from report_docs import DOCS  # noqa: E402

from adambench.report import (  # noqa: E402
    figures,
    plots_ablation,
    plots_bench,
    plots_regret,
    plots_training,  # noqa: E402
)

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
EXPECTED = {
    "regret": (
        plots_regret.plots,
        {"regret-reddi", "regret-rate-reddi", "iterate-reddi", "regret-logistic",
         "regret-rate-logistic", "exponents"},
    ),
    "bench": (plots_bench.plots, {"bench-gbps-float32-1thr", "bench-roofline-float32-1thr"}),
    "run": (plots_training.plots, {"loss-logreg", "lr-grid-logreg"}),
    "ablate": (plots_ablation.plots, {"ablation"}),
}  # fmt: skip


@pytest.mark.parametrize("command", sorted(EXPECTED))
def test_plots_build_and_save(command: str) -> None:
    make, names = EXPECTED[command]
    plots = make(DOCS[command]())
    assert {p.name for p in plots} == names
    for p in plots:
        png = figures.render(p, "png", 40)
        assert png.startswith(PNG_MAGIC) and len(png) > 1000
        svg = figures.render(p, "svg", 40)
        root = ET.fromstring(svg)
        assert root.tag.endswith("svg")
        assert p.title and p.caption


def test_regret_plot_draws_bands_bounds_and_sqrt_reference() -> None:
    doc = DOCS["regret"]()
    rows = [r for r in doc["rows"] if r["problem"] == "reddi"]
    plot = plots_regret.regret_plot("reddi", rows)
    ax = plot.figure.axes[0]
    labels = [line.get_label() for line in ax.get_lines()]
    assert "adam" in labels and "amsgrad" in labels and "∝ √T" in labels
    assert ax.get_xscale() == "log" and ax.get_yscale() == "log"
    assert len(ax.collections) == 2  # one 95% band per optimizer
    # the bound at T: a marker at T = 1000 at the bound's value (300)
    marks = [line for line in ax.get_lines() if list(line.get_xdata()) == [1000]]
    assert [list(m.get_ydata()) for m in marks] == [[300.0], [300.0]]


def test_iterate_plot_only_with_recorded_iterates() -> None:
    doc = DOCS["regret"]()
    rows = [r for r in doc["rows"] if r["problem"] == "reddi"]
    for r in rows:
        del r["curve"]["x_first_coord_mean"]
    assert plots_regret.iterate_plot("reddi", rows) is None


def test_exponent_plot_has_one_row_per_optimizer_and_problem() -> None:
    plot = plots_regret.exponent_plot(DOCS["regret"]()["rows"])
    ticks = [t.get_text() for t in plot.figure.axes[0].get_yticklabels()]
    want = ["adam · reddi", "amsgrad · reddi", "adam · logistic", "sgd · logistic"]
    assert sorted(ticks) == sorted(want)


def test_training_band_spans_the_seeds() -> None:
    med, lo, hi = plots_training.seed_band([[1.0, 0.5], [2.0, 1.5], [3.0, 2.5]])
    assert med == [2.0, 1.5] and lo == [1.0, 0.5] and hi == [3.0, 2.5]


def test_ablation_layout_is_figure_4() -> None:
    plot = plots_ablation.figure4(DOCS["ablate"]())
    titles = [ax.get_title() for ax in plot.figure.axes]
    # 2 budgets x 2 beta1 x 2 beta2 panels, every (beta1, beta2) once per budget
    assert len(titles) == 8 and titles.count("β1=0.9, β2=0.9999") == 2
