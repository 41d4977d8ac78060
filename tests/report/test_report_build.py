"""Whole reports from small results files: files written, HTML self-contained and valid,
every plot embedded, summaries computed from the numbers, bad input leaves nothing."""

from __future__ import annotations

import base64
import json
import xml.etree.ElementTree as ET
from html.parser import HTMLParser
from pathlib import Path

import pytest

pytest.importorskip("matplotlib")

from report_docs import DOCS, write  # noqa: E402

from adambench.report import build_report, report_for  # noqa: E402
from adambench.report.build import default_out  # noqa: E402

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


class Links(HTMLParser):
    """Every src/href, the tags seen, and whether the tags nest properly."""

    VOID = {"meta", "img", "br", "hr", "link", "input"}

    def __init__(self) -> None:
        super().__init__()
        self.refs: list[tuple[str, str, str]] = []
        self.imgs: list[dict[str, str]] = []
        self.stack: list[str] = []
        self.errors: list[str] = []

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        for k in ("src", "href"):
            if k in a:
                self.refs.append((tag, k, a[k] or ""))
        if tag == "img":
            self.imgs.append(a)
        if tag not in self.VOID:
            self.stack.append(tag)

    def handle_endtag(self, tag):
        if not self.stack or self.stack[-1] != tag:
            self.errors.append(f"</{tag}> closes {self.stack[-1:] or 'nothing'}")
        else:
            self.stack.pop()


def parse_html(text: str) -> Links:
    p = Links()
    p.feed(text)
    p.close()
    assert not p.errors and not p.stack, (p.errors, p.stack)
    return p


def check_report(out: Path, plots: list[str], formats=("png", "svg")) -> Links:
    assert (out / "report.html").is_file() and (out / "report.md").is_file()
    for name in plots:
        for fmt in formats:
            data = (out / f"{name}.{fmt}").read_bytes()
            if fmt == "png":
                assert data.startswith(PNG_MAGIC)
            else:
                assert ET.fromstring(data).tag.endswith("svg")
    html = (out / "report.html").read_text()
    links = parse_html(html)
    assert not [r for r in links.refs if r[2].lower().startswith(("http:", "https:", "//"))]
    assert all(r[2].startswith(("data:", "#")) for r in links.refs), links.refs
    # every plot embedded once, decoding to the very bytes of its file
    assert len(links.imgs) == len(plots)
    fmt = formats[0]
    for img, name in zip(links.imgs, plots, strict=True):
        head, b64 = img["src"].split(",", 1)
        assert head == f"data:image/{'png' if fmt == 'png' else 'svg+xml'};base64"
        assert base64.b64decode(b64) == (out / f"{name}.{fmt}").read_bytes()
    md = (out / "report.md").read_text()
    for name in plots:
        assert f"]({name}.{fmt})" in md
    return links


@pytest.mark.parametrize("command", sorted(DOCS))
def test_report_of_each_command(tmp_path: Path, command: str) -> None:
    src = write(tmp_path, command)
    written = build_report([src], tmp_path / "out", dpi=40)
    assert written.command == command and written.out == str(tmp_path / "out")
    assert written.plots
    check_report(tmp_path / "out", written.plots)
    md = (tmp_path / "out" / "report.md").read_text()
    for heading in ("## Summary", "## Plots", "## Tables", "## Configuration", "## Environment"):
        assert heading in md
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no temp folder left


def test_regret_summary_states_the_findings(tmp_path: Path) -> None:
    written = build_report([write(tmp_path, "regret")], tmp_path / "out", formats=("svg",))
    check_report(tmp_path / "out", written.plots, formats=("svg",))
    md = (tmp_path / "out" / "report.md").read_text()
    line = next(x for x in md.splitlines() if x.startswith("- reddi:"))
    # the rate a of R(T) = a T + b sqrt(T) + c with its interval across seeds
    assert "linear regret" in line and "adam 0.667 [0.657, 0.677]" in line
    assert "exceed the theoretical bound: adam (Kingma & Ba Thm 4.1)" in line
    assert "amsgrad 0.48 [0.45, 0.51]" in line  # exponent with interval
    assert "sgd: undetermined" in md


def test_two_files_of_one_command_are_one_overlaid_section(tmp_path: Path) -> None:
    a, b = write(tmp_path, "run", "a.json"), write(tmp_path, "run", "b.json")
    written = build_report([a, b], tmp_path / "out", formats=("png",), dpi=40)
    assert written.plots == ["loss-logreg", "lr-grid-logreg"]  # one set, both files in it
    assert len(written.sections) == 1 and "a = a.json" in written.sections[0]
    links = check_report(tmp_path / "out", written.plots, formats=("png",))
    assert len(links.imgs) == 2


def test_files_of_different_commands_get_a_section_each(tmp_path: Path) -> None:
    a, b = write(tmp_path, "run"), write(tmp_path, "bench")
    written = build_report([a, b], tmp_path / "out", formats=("svg",))
    assert written.command == "report" and len(written.sections) == 2
    assert written.sections[0].startswith("run: run.json")
    assert written.sections[1].startswith("bench: bench.json")
    md = (tmp_path / "out" / "report.md").read_text()
    assert md.startswith("# adambench report: run, bench")
    assert [x for x in md.splitlines() if x.startswith("## ")] == [
        f"## {t}" for t in written.sections
    ]


@pytest.mark.parametrize(
    "command, breaks, phrase",
    [
        (
            "regret",
            lambda d: d["rows"][0]["curve"].pop("R_mean"),
            r"rows\[0\].curve.R_mean is missing",
        ),
        ("regret", lambda d: d["rows"][1]["curve"]["R_low"].pop(), "has 15 values, expected 16"),
        ("bench", lambda d: d["rows"][2].update(gbps="fast"), r"rows\[2\].gbps should be a number"),
        ("run", lambda d: d.pop("tasks"), "tasks is missing"),
        ("ablate", lambda d: d["ablation"]["rows"][0].pop("beta2"), "beta2 is missing"),
        ("regret", lambda d: d.update(command="compare"), "no report for results of 'compare'"),
    ],
)
def test_malformed_results_are_refused(tmp_path: Path, command, breaks, phrase) -> None:
    doc = DOCS[command]()
    breaks(doc)
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(doc))
    with pytest.raises(ValueError, match=phrase) as err:
        build_report([path], tmp_path / "out")
    assert "\n" not in str(err.value) and "bad.json" in str(err.value)
    assert not (tmp_path / "out").exists()


def test_existing_out_folder_rules(tmp_path: Path) -> None:
    src = write(tmp_path, "ablate")
    other = tmp_path / "busy"
    other.mkdir()
    (other / "keep.txt").write_text("mine")
    with pytest.raises(ValueError, match="other files"):
        build_report([src], other)
    assert sorted(p.name for p in other.iterdir()) == ["keep.txt"]
    out = tmp_path / "rep"
    build_report([src], out, formats=("png",), dpi=40)
    (out / "stale.png").write_bytes(b"old")
    build_report([src], out, formats=("svg",))  # a previous report is replaced whole
    assert not (out / "stale.png").exists() and (out / "ablation.svg").exists()
    assert not (out / "ablation.png").exists()


def test_report_for_an_in_memory_document(tmp_path: Path) -> None:
    written = report_for(DOCS["bench"](), tmp_path / "r", name="bench run")
    assert written.sources == ["bench run"]
    check_report(tmp_path / "r", written.plots)


def test_default_out_is_under_reports(tmp_path: Path) -> None:
    first = default_out("regret", tmp_path)
    assert first.parent == tmp_path and first.name.startswith("regret-")
    first.mkdir()
    assert default_out("regret", tmp_path) != first


def test_ablate_summary_states_each_claim(tmp_path: Path) -> None:
    """report_docs' ablation: claim 1 and 3 hold on both seeds, claim 2 ties (not decided)."""
    written = build_report([write(tmp_path, "ablate")], tmp_path / "out", formats=("svg",))
    check_report(tmp_path / "out", written.plots, formats=("svg",))
    md = (tmp_path / "out" / "report.md").read_text()
    assert "beta2 close to 1 is unstable: holds (seed 0 holds, seed 1 holds)" in md
    assert "with bias correction: not decided (seed 0 tie, seed 1 tie; more seeds" in md
    assert "at every setting: holds" in md
    assert "(section 6.4, all three claims, 2 seed(s)) reproduced: not decided" in md


@pytest.mark.parametrize(
    "breaks, phrase",
    [
        (lambda f: f.update(reproduced=True), "findings.reproduced should be one of"),
        (
            lambda f: f["claims"]["best_with_correction"].update(status="maybe"),
            r"findings.claims.best_with_correction.status should be one of",
        ),
        (
            lambda f: f["claims"]["best_with_correction"]["per_seed"][1].pop("tolerance"),
            r"per_seed\[1\].tolerance is missing",
        ),
        (
            lambda f: f["claims"]["unstable_without_correction"]["per_seed"][0].update(
                result="yes"
            ),
            r"per_seed\[0\].result should be one of",
        ),
    ],
)
def test_malformed_ablate_findings_are_refused(tmp_path: Path, breaks, phrase) -> None:
    doc = DOCS["ablate"]()
    breaks(doc["ablation"]["findings"])
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(doc))
    with pytest.raises(ValueError, match=phrase) as err:
        build_report([path], tmp_path / "out")
    assert "\n" not in str(err.value) and "bad.json" in str(err.value)


def test_ablate_results_without_claims_still_report(tmp_path: Path) -> None:
    """An ablate file of the older layout (a yes/no verdict, no claims) still builds; its
    summary falls back to the best losses of the grid."""
    doc = DOCS["ablate"]()
    doc["ablation"]["findings"] = {"reproduced": True}
    path = tmp_path / "old.json"
    path.write_text(json.dumps(doc))
    build_report([path], tmp_path / "out", formats=("svg",))
    md = (tmp_path / "out" / "report.md").read_text()
    assert "Best long-budget loss" in md and "reproduced" not in md
