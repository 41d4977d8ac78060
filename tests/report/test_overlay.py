"""Several results files of one command: one section, its plots overlaid with a labelled
series per file (label: the file's stem, or ``labels``), distinct section titles; files
of different commands keep a section each.  Checked on the matplotlib figures: legend
texts, the lines of each series and their styles."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest

pytest.importorskip("matplotlib")

from report_docs import DOCS  # noqa: E402

from adambench.report import build_report, overlay, plots_regret  # noqa: E402
from adambench.report.build import PLOTS  # noqa: E402
from adambench.results import write_json  # noqa: E402


def scaled_regret(factor: float) -> dict:
    """The regret document with every regret curve multiplied by ``factor``."""
    doc = DOCS["regret"]()
    for r in doc["rows"]:
        for key in ("R_mean", "R_low", "R_high"):
            r["curve"][key] = [factor * v for v in r["curve"][key]]
    return doc


def legend_texts(fig) -> list[str]:
    return [t.get_text() for leg in fig.legends for t in leg.get_texts()]


def test_two_regret_files_overlay_in_one_section(tmp_path: Path) -> None:
    a = write_json(tmp_path / "before.json", scaled_regret(1.0))
    b = write_json(tmp_path / "after.json", scaled_regret(2.0))
    written = build_report([a, b], tmp_path / "r", formats=("svg",))
    assert len(written.sections) == 1
    title = written.sections[0]
    assert title.startswith("regret, 2 files overlaid")
    assert "before = before.json" in title and "after = after.json" in title
    # one set of plots (no -1/-2 copies), both files in each
    assert "regret-reddi" in written.plots and not any(p.endswith("-2") for p in written.plots)
    md = (tmp_path / "r" / "report.md").read_text()
    assert [x for x in md.splitlines() if x.startswith("## ")] == [f"## {title}"]
    assert "**Regret at T (before)**" in md and "**Regret at T (after)**" in md
    assert "- before: reddi: linear regret" in md and "- after: reddi: linear regret" in md


def test_each_file_is_a_labelled_series() -> None:
    pairs = [("before", scaled_regret(1.0)), ("after", scaled_regret(2.0))]
    doc = overlay.merge("regret", pairs)
    rows = [r for r in doc["rows"] if r["problem"] == "reddi"]
    fig = plots_regret.regret_plot("reddi", rows).figure
    texts = legend_texts(fig)
    for name in ("adam · before", "amsgrad · before", "adam · after", "amsgrad · after"):
        assert name in texts
    lines = {ln.get_label(): ln for ln in fig.axes[0].get_lines()}
    # the data of each series is its own file's: the 'after' curve is twice the 'before'
    before, after = lines["adam · before"], lines["adam · after"]
    assert list(after.get_ydata()) == pytest.approx([2 * y for y in before.get_ydata()])
    # same optimizer, same colour; the file is told by the line style
    assert before.get_color() == after.get_color()
    assert before.get_linestyle() != after.get_linestyle()
    assert lines["amsgrad · after"].get_linestyle() == after.get_linestyle()


@pytest.mark.parametrize("command", sorted(DOCS))
def test_every_command_overlays_both_files(command: str) -> None:
    pairs = [("one", DOCS[command]()), ("two", DOCS[command]())]
    single = PLOTS[command](DOCS[command]())
    both = PLOTS[command](overlay.merge(command, pairs))
    assert [p.name for p in both] == [p.name for p in single]
    for p1, p2 in zip(single, both, strict=True):
        if p1.name == "exponents" or p1.name.startswith("bench-gbps"):
            continue  # no line per series: error bars (exponents); checked below (bench)
        n1 = sum(len(ax.get_lines()) for ax in p1.figure.axes)
        n2 = sum(len(ax.get_lines()) for ax in p2.figure.axes)
        assert n2 > n1, p1.name  # the second file's lines are drawn too
    texts = [t for p in both for t in legend_texts(p.figure)]
    assert any("one" in t for t in texts) and any("two" in t for t in texts)


def test_labels_default_to_stems_and_tell_same_names_apart(tmp_path: Path) -> None:
    assert overlay.labels(["x/before.json", "y/after.json"]) == ["before", "after"]
    a = tmp_path / "a" / "regret.json"
    b = tmp_path / "b" / "regret.json"
    assert overlay.labels([a, b]) == ["a/regret", "b/regret"]
    assert overlay.labels([a, a, b]) == ["a/regret #1", "a/regret #2", "b/regret"]
    assert overlay.labels([a, b], ["old", "new"]) == ["old", "new"]
    with pytest.raises(ValueError, match="one label per results file"):
        overlay.labels([a, b], ["old"])
    with pytest.raises(ValueError, match="distinct"):
        overlay.parse_labels("x,x")
    with pytest.raises(ValueError, match="non-empty"):
        overlay.parse_labels("x,,y")


def test_same_named_files_get_distinct_titles_and_labels(tmp_path: Path) -> None:
    """Two runs both saved as regret.json: not two sections titled '## regret.json'."""
    a = write_json(tmp_path / "a" / "regret.json", scaled_regret(1.0))
    b = write_json(tmp_path / "b" / "regret.json", scaled_regret(3.0))
    written = build_report([a, b], tmp_path / "r", formats=("svg",), labels=None)
    (title,) = written.sections
    assert "a/regret = regret.json" in title and "b/regret = regret.json" in title
    svg = (tmp_path / "r" / "regret-reddi.svg").read_text()
    assert "adam · a/regret" in svg and "adam · b/regret" in svg
    relabelled = build_report([a, b], tmp_path / "r2", formats=("svg",), labels=["old", "new"])
    assert "old = regret.json" in relabelled.sections[0]
    assert "adam · new" in (tmp_path / "r2" / "regret-reddi.svg").read_text()


def test_bench_before_and_after(tmp_path: Path) -> None:
    before = DOCS["bench"]()
    after = copy.deepcopy(before)
    for r in after["rows"]:
        r["gbps"] *= 0.8
    a, b = write_json(tmp_path / "before.json", before), write_json(tmp_path / "after.json", after)
    written = build_report([a, b], tmp_path / "r", formats=("svg",))
    assert len(written.sections) == 1 and "bench-gbps-float32-1thr" in written.plots
    plot = PLOTS["bench"](overlay.merge("bench", [("before", before), ("after", after)]))[0]
    assert {"before", "after"} <= set(legend_texts(plot.figure))
    adam = plot.figure.axes[0]  # adam's panel: per file a kernel line with its own style
    ours = [ln for ln in adam.get_lines() if ln.get_linewidth() == pytest.approx(1.8)]
    assert len(ours) == 2 and ours[0].get_linestyle() != ours[1].get_linestyle()
    assert list(ours[1].get_ydata()) == pytest.approx([0.8 * y for y in ours[0].get_ydata()])
