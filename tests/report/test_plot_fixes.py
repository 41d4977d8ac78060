"""The plots' legibility, checked on the matplotlib figure objects (not pixels): legends
inside the figure and off the data, a far-off bound written at the axis edge instead of
stretching the axis, every colour from the one colour-blind-safe palette, and PNGs at
least 1200 px wide at the default resolution (read from the written file's header)."""

from __future__ import annotations

import inspect
import struct
from pathlib import Path

import pytest

pytest.importorskip("matplotlib")

from matplotlib.colors import to_rgb  # noqa: E402
from report_docs import DOCS, write  # noqa: E402

from adambench.report import (  # noqa: E402
    build_report,
    figures,
    overlay,
    plots_ablation,
    plots_bench,
    plots_regret,
)
from adambench.report.build import PLOTS  # noqa: E402


def every_plot() -> list:
    """Every plot of every command, of one file and of two files overlaid."""
    out = []
    for command in sorted(DOCS):
        out += PLOTS[command](DOCS[command]())
        pairs = [("one", DOCS[command]()), ("two", DOCS[command]())]
        out += PLOTS[command](overlay.merge(command, pairs))
    return out


@pytest.fixture(scope="module")
def plots() -> list:
    return every_plot()


def inside(inner, outer, tol: float = 1.0) -> bool:
    return (
        inner.x0 >= outer.x0 - tol
        and inner.y0 >= outer.y0 - tol
        and inner.x1 <= outer.x1 + tol
        and inner.y1 <= outer.y1 + tol
    )


def test_bench_legend_fits_the_figure_with_one_to_seven_optimizers() -> None:
    doc = DOCS["bench"]()
    names = ["adam", "sgd", "adagrad", "amsgrad", "adamax", "rmsprop-momentum", "adam-nobias"]
    base = [r for r in doc["rows"] if r["optimizer"] == "adam"]
    for n in (1, 2, 5, 7):
        rows = [{**r, "optimizer": o} for o in names[:n] for r in base]
        plot = plots_bench.gbps_plot({**doc, "rows": rows}, "float32", 1)
        fig = plot.figure
        fig.canvas.draw()
        (leg,) = fig.legends
        assert inside(leg.get_window_extent(), fig.bbox), (n, leg.get_window_extent(), fig.bbox)


def test_legends_are_inside_the_figure_and_off_the_axes(plots) -> None:
    for p in plots:
        fig = p.figure
        fig.canvas.draw()
        assert all(ax.get_legend() is None for ax in fig.axes), p.name  # none over the data
        for leg in fig.legends:
            box = leg.get_window_extent()
            assert inside(box, fig.bbox), (p.name, box, fig.bbox)
            for ax in fig.axes:
                if ax.get_visible():
                    assert not box.overlaps(ax.get_window_extent()), (p.name, ax.get_title())


def test_a_far_off_bound_is_written_at_the_edge_not_drawn() -> None:
    """A vacuous bound of 8e9 on a problem whose regret is about 100 once stretched the
    log axis over 8 decades; it is an arrow at the top edge with its value written."""
    doc = DOCS["regret"]()
    rows = [r for r in doc["rows"] if r["problem"] == "logistic"]
    rows[0]["bound"].update(value=8e9, vacuous=True)
    fig = plots_regret.regret_plot("logistic", rows).figure
    ax = fig.axes[0]
    data_max = max(v for r in rows for v in r["curve"]["R_high"])
    assert ax.get_ylim()[1] <= 10 * data_max  # the axis is on the data
    assert not [ln for ln in ax.get_lines() if 8e9 in list(ln.get_ydata())]
    notes = [t for t in ax.texts if "8e+09" in t.get_text()]
    assert len(notes) == 1 and notes[0].arrow_patch is not None
    assert "adam" in notes[0].get_text()
    # a bound near the curves is still a marker at T
    rows[0]["bound"].update(value=3 * data_max, vacuous=False)
    ax = plots_regret.regret_plot("logistic", rows).figure.axes[0]
    assert [list(ln.get_ydata()) for ln in ax.get_lines() if ln.get_marker() == "v"][0] == [
        3 * data_max
    ]
    assert not ax.texts


def _is_grey(rgb: tuple[float, float, float]) -> bool:
    return max(rgb) - min(rgb) < 1e-6


def _colours(fig) -> list[tuple[str, tuple[float, float, float]]]:
    out = []
    for ax in fig.axes:
        for ln in ax.get_lines():
            for c in (ln.get_color(), ln.get_markerfacecolor(), ln.get_markeredgecolor()):
                if isinstance(c, str) and c.lower() == "none":
                    continue
                out.append((ln.get_label(), to_rgb(c)))
        for coll in ax.collections:
            out += [("band", tuple(c[:3])) for c in coll.get_facecolors()]
        out += [(t.get_text(), to_rgb(t.get_color())) for t in [*ax.texts, ax.title]]
    for leg in fig.legends:
        for h in leg.legend_handles:
            if hasattr(h, "get_color"):
                out.append(("legend", to_rgb(h.get_color())))
    return out


def test_every_colour_is_from_the_palette(plots) -> None:
    palette = {to_rgb(c) for c in figures.PALETTE}
    assert len(figures.PALETTE) == 8  # Okabe & Ito
    for p in plots:
        for what, rgb in _colours(p.figure):
            assert rgb in palette or _is_grey(rgb), (p.name, what, rgb)
    # the ablation's two variants: blue and orange, no longer red against green
    colours = [to_rgb(c) for _, _, c in plots_ablation.VARIANTS]
    assert colours == [to_rgb("#0072B2"), to_rgb("#E69F00")]


def _png_width(path: Path) -> int:
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and data[12:16] == b"IHDR"
    return struct.unpack(">I", data[16:20])[0]


@pytest.mark.parametrize("command", sorted(DOCS))
def test_pngs_are_at_least_1200_px_wide_by_default(tmp_path: Path, command: str) -> None:
    written = build_report([write(tmp_path, command)], tmp_path / "r", formats=("png",))
    for name in written.plots:
        assert _png_width(tmp_path / "r" / f"{name}.png") >= 1200, name


def test_the_command_line_default_dpi_is_150() -> None:
    from adambench.cli.report import report_command

    assert inspect.signature(report_command).parameters["dpi"].default == figures.DPI >= 150
    assert inspect.signature(build_report).parameters["dpi"].default == figures.DPI
