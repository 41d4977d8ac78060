"""The parameter-list plots of ``bench``, built from a real (tiny) list run: every cell of
the grid heat map shows its row's own figures, the presets' bars their rows' medians, and
list rows never reach the flat plots."""

from __future__ import annotations

import copy
import xml.etree.ElementTree as ET

import pytest

pytest.importorskip("matplotlib")

from adambench.bench import config as bc  # noqa: E402
from adambench.bench import run as br  # noqa: E402
from adambench.report import figures, plots_bench, plots_bench_lists  # noqa: E402


@pytest.fixture(scope="module")
def doc():
    cfg = bc.BenchConfig(
        bc.parse_cases(["adam", "sgd"]), [], ["float32"], [1], repeats=3, textbook=False,
        torch=False, min_sample_s=1e-4, budget_s=0.3,
    )  # fmt: skip
    cfg.lists = bc.parse_lists(None, "2,4", "64,256")
    out = br.run_bench(cfg)
    # The plots' and summary's logic is under test, not this machine's noise: every row
    # counts as reliable here, and a test that wants an unreliable cell marks it.
    for r in out["rows"] + out["rooflines"]:
        r["reliable"] = True
    return {"command": "bench", "rows": out["rows"], "rooflines": out["rooflines"]}


def _as_preset(doc, name):
    """The grid rows relabelled as one model preset (a real preset is 10^8 parameters)."""
    d = copy.deepcopy(doc)
    for r in d["rows"] + d["rooflines"]:
        if (r["tensors"], r["numel_per_tensor"]) == (4, 256):
            r["shapes"] = name
    d["rows"] = [r for r in d["rows"] if r["shapes"] == name]
    d["rooflines"] = [r for r in d["rooflines"] if r["shapes"] == name]
    return d


def _texts(ax):
    return [t.get_text() for t in ax.texts]


def test_heat_map_cells_show_each_rows_time_and_overhead(doc):
    plots = plots_bench_lists.plots(doc)
    assert [p.name for p in plots] == ["bench-lists-grid-float32-1thr"]
    fig = plots[0].figure
    panels = [a for a in fig.axes if a.get_title() in ("adam", "sgd")]
    assert [a.get_title() for a in panels] == ["adam", "sgd"]
    for ax in panels:
        rows = [
            r for r in doc["rows"]
            if r["optimizer"] == ax.get_title() and r["impl"] == br.ADAMBENCH
        ]  # fmt: skip
        assert len(rows) == 4 and len(_texts(ax)) == 4
        for r in rows:
            want = f"{r['ns_per_param']:.3g} ns\n×{r['list_overhead']:.2f}"
            assert any(t.startswith(want) for t in _texts(ax)), want
        assert [t.get_text() for t in ax.get_xticklabels()] == ["64", "256"]
        assert [t.get_text() for t in ax.get_yticklabels()] == ["2", "4"]


def test_an_unreliable_cell_is_marked_not_dropped(doc):
    d = copy.deepcopy(doc)
    target = next(r for r in d["rows"] if r["impl"] == br.ADAMBENCH and r["optimizer"] == "adam")
    target["reliable"] = False
    ax = next(a for a in plots_bench_lists.plots(d)[0].figure.axes if a.get_title() == "adam")
    assert sum(t.endswith("\n?") for t in _texts(ax)) == 1 and len(_texts(ax)) == 4


def test_preset_bars_are_the_rows_medians(doc):
    d = _as_preset(doc, "tiny-model")
    plots = plots_bench_lists.plots(d)
    assert [p.name for p in plots] == ["bench-lists-presets-float32-1thr"]
    presets, times, _ = plots_bench_lists.preset_bars(d["rows"], d["rooflines"], "adam")
    assert presets == ["tiny-model"]
    mine = next(r for r in d["rows"] if r["impl"] == br.ADAMBENCH and r["optimizer"] == "adam")
    roof = next(r for r in d["rooflines"] if r["optimizer"] == "adam")
    assert times["adambench"] == [mine["median_s"]]
    assert times["roofline"] == [roof.get("best_s") or roof["median_s"]]
    ax = next(a for a in plots[0].figure.axes if a.get_title() == "adam")
    heights = sorted(round(b.get_height(), 12) for b in ax.patches)
    assert round(mine["median_s"] * 1e3, 12) in heights


def test_list_rows_stay_out_of_the_flat_plots_and_all_render(doc):
    names = [p.name for p in plots_bench.plots(doc)]
    assert names == ["bench-lists-grid-float32-1thr"]  # no flat rows: no flat plot
    flat = plots_bench_lists.flat_doc(doc)
    assert flat["rows"] == [] and flat["rooflines"] == []
    for p in plots_bench.plots(doc) + plots_bench_lists.plots(_as_preset(doc, "m")):
        assert figures.render(p, "png", 40).startswith(b"\x89PNG")
        assert ET.fromstring(figures.render(p, "svg", 40)).tag.endswith("svg")


def test_summary_names_one_optimizers_share_once(doc):
    from adambench.report.summary import bench_summary

    one = dict(doc, rows=[r for r in doc["rows"] if r["optimizer"] == "adam"])
    line = next(x for x in bench_summary(one) if "same-run roofline" in x)
    assert "% (adam) of their same-run roofline" in line and " to " not in line.split(";")[0]
    both = next(x for x in bench_summary(doc) if "same-run roofline" in x)
    assert " to " in both.split(";")[0]
