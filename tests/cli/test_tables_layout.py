"""Every command's tables at 60, 80 and 120 columns, piped, and as csv / md / json.

Text: no number or name is broken across lines (each cell of a number or name column,
line by line, stands whole on one output line; each word of free text too), no line
ends in a space, nothing is wider than the width when the table fits it, and a column
left out is named under the table.  Machine formats: csv parses with ``csv.DictReader``
(one header, every row complete) to the values of the results file at full precision,
md has a header separator row under a heading per table, json is the document that
``--json`` prints.  Small inputs (T = 1e3, one epoch, one bench size).
"""

from __future__ import annotations

import csv
import io
import json
import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from adambench.cli import layout, render
from adambench.cli.app import app

WIDTHS = (60, 80, 120)

SWEEP = """
[sweep]
kind = "regret"
name = "tables"
seeds = 2
runs_per_unit = 4

[regret]
problems = ["logistic", "reddi"]
T = 1000

[optimizers.adam]
beta1 = [0.0, 0.9]
beta2 = [0.99, 0.999]

[optimizers.sgd]
"""


@pytest.fixture(scope="module")
def work(tmp_path_factory) -> Path:
    d = tmp_path_factory.mktemp("tables")
    (d / "sweep.toml").write_text(SWEEP)
    return d


def _commands(d: Path) -> dict[str, list[str]]:
    out = ["--out", str(d / "results")]
    return {
        "list": ["list"],
        "list-problems": ["list", "problems"],
        "regret": ["regret", "-p", "logistic,reddi", "-o", "adam,sgd", "--T", "1e3",
                   "--seeds", "2", "--beta2", "0.99,0.999", *out],
        "bench": ["bench", "--quick", "-o", "adam", "--sizes", "1e4", "--repeats", "5",
                  "--budget", "0.5", *out],
        "run": ["run", "--epochs", "1", "--seeds", "2", "-o", "adam,sgd", "-t", "logreg", *out],
        "ablate": ["ablate", "bias-correction", "-t", "logreg", "--short", "1", "--long", "2",
                   "--seeds", "2", "--beta2", "0.99,0.999", "--log10-lr", "-2,-1", *out],
        "sweep-dry-run": ["sweep", str(d / "sweep.toml"), "--dry-run", "--out", str(d / "sw")],
        "sweep": ["sweep", str(d / "sweep.toml"), "-j", "1", "--out", str(d / "sw")],
    }  # fmt: skip


_cache: dict[tuple, tuple] = {}


def invoke(args: list[str], width: int = 80) -> tuple:
    """(exit code, stdout, stderr, [(grid, width)] laid out as text) of one command."""
    key = (tuple(args), width)
    if key in _cache:
        return _cache[key]
    laid: list = []
    real = render.render_grid

    def spy(grid, w):
        laid.append((grid, w))
        return real(grid, w)

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(render, "render_grid", spy)
        mp.setattr(render.console, "_width", width)
        res = CliRunner().invoke(app, args)
    assert res.exit_code == 0, (args, res.output, res.exception)
    _cache[key] = (res.exit_code, res.stdout, res.stderr, laid)
    return _cache[key]


def results_file(stderr: str) -> dict:
    path = re.search(r"results: (\S+\.json)", stderr).group(1)
    return json.loads(Path(path).read_text())


def _cells(grid, i: int) -> list[str]:
    return [render.plain(layout._text(r[i])) for r in grid.rows]


def check_text(grid, width: int, out: str) -> None:
    lines = out.split("\n")
    assert all(line == line.rstrip() for line in lines), "trailing spaces when piped"
    lay = layout._choose(grid, width)
    if render.needed_width(grid, width) == width:
        assert max(len(line) for line in lines) <= width, out
    for i, col in enumerate(grid.cols):
        cells = _cells(grid, i)
        if i not in lay.cols:
            assert col.priority is not None, f"{col.label} is never dropped"
            flat = " ".join(out.split())
            note = flat[flat.index(f"not shown at {width} columns:") :].split(";")[0]
            assert col.label in note
            continue
        if col.kind == "text":  # free text wraps at spaces only: every word stays whole
            pieces = [w for c in cells for w in c.split()]
        else:
            pieces = [p for c in cells for p in c.split("\n") if p]
        for p in pieces:
            assert any(p in line for line in lines), f"{p!r} ({col.label}) split at {width}:\n{out}"


def render_at(grid, width: int, capsys) -> str:
    capsys.readouterr()
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(render.console, "_width", width)
        render.print_grids([grid])
    return capsys.readouterr().out


NAMES = ["list", "list-problems", "regret", "bench", "run", "ablate", "sweep-dry-run", "sweep"]


@pytest.mark.parametrize("name", NAMES)
def test_text_tables_never_split_a_value(name, work, capsys) -> None:
    _, out, _, laid = invoke(_commands(work)[name], width=80)
    assert laid, "the command printed a table"
    for grid, w in laid:
        assert w == 80
        check_text(grid, 80, out)
        for width in WIDTHS:
            check_text(grid, width, render_at(grid, width, capsys))


def test_the_old_failures_are_gone(work, capsys) -> None:
    """What was broken at 80 columns: a number in two rows, a name folded, two rows
    looking alike because their points were cut."""
    _, out, _, laid = invoke(_commands(work)["regret"], width=80)
    doc = results_file(invoke(_commands(work)["regret"], width=80)[2])
    for r in doc["rows"]:
        assert any(render.fmt(r["R_T"]) in line for line in out.split("\n"))
    points = {r["point"] for r in doc["rows"]}
    assert len(points) == len(doc["rows"])  # every point is distinct...
    for p in points:  # ...and shows whole (in the legend)
        assert any(p in line for line in out.split("\n")), out
    _, out, _, _ = invoke(["list"], width=80)
    for word in ("rmsprop-momentum", "beta2=0.999", "decay=0.99"):
        assert re.search(rf"(^|\s){re.escape(word)}(\s|$)", out, re.M), word


def test_a_narrow_table_says_what_it_left_out(work, capsys) -> None:
    _, _, _, laid = invoke(_commands(work)["regret"], width=80)
    out = render_at(laid[0][0], 60, capsys)
    flat = " ".join(out.split())
    assert flat.count("not shown at 60 columns:") == 1 and "use --format csv" in flat
    assert "exponent CI" in flat[flat.index("not shown") :].split(";")[0]


def _csv(text: str) -> list[dict]:
    reader = csv.DictReader(io.StringIO(text))
    rows = list(reader)
    for r in rows:  # one header: every row has exactly its fields
        assert None not in r and None not in r.values(), r
    return rows


def test_regret_csv_is_the_results_at_full_precision(work) -> None:
    _, out, err, _ = invoke([*_commands(work)["regret"], "--format", "csv"])
    rows, doc = _csv(out), results_file(err)
    assert len(rows) == len(doc["rows"])
    for got, r in zip(rows, doc["rows"], strict=True):
        assert (got["problem"], got["optimizer"], got["point"]) == (
            r["problem"], r["optimizer"], r["point"])  # fmt: skip
        assert float(got["R(T)"]) == r["R_T"] and float(got["R(T)/T"]) == r["R_over_T"]
        assert float(got["exponent"]) == r["exponent"]["slope"]
        assert got["verdict"].startswith(r["verdict"]["text"])
    assert "Intervals are across seeds" in err and "Intervals" not in out


def test_multi_table_csv_has_a_table_column_and_one_header(work) -> None:
    _, out, err, _ = invoke([*_commands(work)["run"], "--format", "csv"])
    rows, doc = _csv(out), results_file(err)
    assert {r["table"] for r in rows} == {"logreg"}
    chosen = {o["optimizer"]: o["chosen"] for o in doc["tasks"][0]["optimizers"]}
    for r in rows:
        ftl = chosen[r["optimizer"]]["final_train_loss"]
        assert float(r["train loss"]) == ftl.get("geometric_mean", ftl["mean"])
    _, out, err, _ = invoke([*_commands(work)["bench"], "--format", "csv"])
    rows, doc = _csv(out), results_file(err)
    assert [r["table"] for r in rows] == ["update"] * len(doc["rows"]) + ["rooflines"] * (
        len(rows) - len(doc["rows"]))  # fmt: skip
    for got, r in zip(rows, doc["rows"], strict=False):
        assert float(got["median_s"]) == r["median_s"] and int(got["size"]) == r["size"]
    _, out, _, _ = invoke([*_commands(work)["ablate"], "--format", "csv"])
    assert {r["table"] for r in _csv(out)} == {"grid", "best"}


def test_multi_table_csv_reads_with_pandas(work) -> None:
    pd = pytest.importorskip("pandas")  # one header: pandas reads it in one call
    _, out, _, _ = invoke([*_commands(work)["ablate"], "--format", "csv"])
    frame = pd.read_csv(io.StringIO(out))
    assert list(frame["table"].unique()) == ["grid", "best"]


@pytest.mark.parametrize("name", NAMES)
def test_csv_md_json_on_every_command(name, work) -> None:
    args = _commands(work)[name]
    _, out, _, _ = invoke([*args, "--format", "csv"])
    assert _csv(out)
    _, md, _, _ = invoke([*args, "--format", "md"])
    lines = md.split("\n")
    heads = [i for i, line in enumerate(lines) if line.startswith("## ")]
    assert heads
    for i in heads:  # heading, blank, header row, separator row
        assert lines[i + 2].startswith("| ") and re.fullmatch(r"\|(-{3}:?\|)+", lines[i + 3])
    if name in ("list", "list-problems", "sweep-dry-run"):  # deterministic: compare outputs
        _, got, _, _ = invoke([*args, "--format", "json"])
        _, want, _, _ = invoke([*args, "--json"])
        assert json.loads(got) == json.loads(want)


def test_json_format_is_the_results_document(work) -> None:
    _, out, err, _ = invoke([*_commands(work)["regret"], "--format", "json"])
    assert json.loads(out) == results_file(err)


def test_compare_and_report_tables(work, capsys) -> None:
    _, _, err, _ = invoke(_commands(work)["bench"])
    base = re.search(r"results: (\S+\.json)", err).group(1)
    _, out, _, laid = invoke(["compare", base, base])
    for grid, _w in laid:
        for width in WIDTHS:
            check_text(grid, width, render_at(grid, width, capsys))
    _, out, _, _ = invoke(["compare", base, base, "--format", "csv"])
    assert [r["status"] for r in _csv(out)] == ["ok"] * len(_csv(out))
    assert "no regression" not in out
    rep = ["report", base, "--plot-format", "svg", "--dpi", "20"]
    _, out, _, laid = invoke([*rep, "--out", str(work / "rep")])
    assert laid and "report.html" in out
    _, out, _, _ = invoke([*rep, "--out", str(work / "rep2"), "--format", "csv"])
    assert "report.html" in {r["file"] for r in _csv(out)}


def test_format_errors_are_one_line() -> None:
    res = CliRunner().invoke(app, ["list", "--format", "xml"])
    assert res.exit_code == 2 and "--format must be one of text, csv, md, json" in res.stderr
    res = CliRunner().invoke(app, ["list", "--json", "--format", "csv"])
    assert res.exit_code == 2 and "exclude each other" in res.stderr
