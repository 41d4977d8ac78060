"""Figures for reports: matplotlib (imported lazily, Agg canvas), one colour per optimizer.

Figures are built with ``matplotlib.figure.Figure`` directly (no pyplot, no global
figure state), so building a report never opens a window or leaks figures, and
``import adambench.report`` costs nothing until a plot is drawn.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

# The one palette of every plot: Okabe & Ito's eight colours, distinguishable with the
# common colour-vision deficiencies (Okabe & Ito 2008, "Color Universal Design"), plus
# greys for references.  Every plot module takes its colours from here.
OKABE_ITO = {
    "black": "#000000",
    "orange": "#E69F00",
    "sky blue": "#56B4E9",
    "bluish green": "#009E73",
    "yellow": "#F0E442",
    "blue": "#0072B2",
    "vermillion": "#D55E00",
    "reddish purple": "#CC79A7",
}
PALETTE = tuple(OKABE_ITO.values())
GREY, LIGHT_GREY = "#555555", "#999999"  # reference lines (roofline, sqrt T, copy)
# Fixed colours so an optimizer looks the same in every plot (yellow, faint on white, is
# left to plugins' optimizers).
OPTIMIZER_COLOURS = {
    "adam": OKABE_ITO["blue"],
    "amsgrad": OKABE_ITO["orange"],
    "adagrad": OKABE_ITO["bluish green"],
    "sgd": OKABE_ITO["vermillion"],
    "adamax": OKABE_ITO["reddish purple"],
    "rmsprop-momentum": OKABE_ITO["sky blue"],
    "adam-nobias": OKABE_ITO["black"],
}
LINESTYLES = {"adam-nobias": "--", "adamax": "-.", "rmsprop-momentum": ":"}
_SPARE = PALETTE
# One line style and marker per results file when several are overlaid (``overlay.py``):
# colour stays the optimizer's, the style tells the files apart.
SERIES_STYLES = ("-", "--", ":", "-.", (0, (5, 1, 1, 1)), (0, (1, 3)))
SERIES_MARKERS = ("o", "s", "^", "D", "v", "P")
MIN_WIDTH = 8.4  # inches: at the default 150 dpi a PNG is 1260 px wide
DPI = 150
MAX_LEGEND = 24  # entries; more are summed up in one last entry
FORMATS = ("png", "svg")

_RC = {
    "svg.fonttype": "none",  # text stays text: smaller, searchable SVG
    "svg.hashsalt": "adambench",  # deterministic ids: same results, same SVG
    "font.size": 9,
    "axes.titlesize": 10,
    "legend.fontsize": 8,
    "axes.grid": True,
    "grid.alpha": 0.3,
    "figure.dpi": 100,
}


@dataclass
class Plot:
    """A drawn figure and what the report says about it."""

    name: str  # file stem, e.g. "regret-reddi"
    title: str
    caption: str
    figure: Any  # matplotlib.figure.Figure


def dashes(name: str) -> str:
    """A line style per optimizer, so that lines drawn on top of each other stay visible."""
    return LINESTYLES.get(name.split(":", 1)[0].split(" ", 1)[0], "-")


def colour(name: str) -> str:
    """The colour of optimizer ``name`` (its base rule name before any ':')."""
    base = name.split(":", 1)[0].split(" ", 1)[0]
    if base in OPTIMIZER_COLOURS:
        return OPTIMIZER_COLOURS[base]
    return _SPARE[sum(map(ord, base)) % len(_SPARE)]


def series_of(item: dict[str, Any], labels: list[str]) -> int | None:
    """The index of the results file an overlaid row came from (``overlay.SERIES``); None
    for a report of one file."""
    name = item.get("series") if isinstance(item, dict) else None
    return labels.index(name) if name in labels else None


def line_style(optimizer: str, series: int | None) -> Any:
    """The optimizer's own style for one file; the file's style when files are overlaid."""
    return dashes(optimizer) if series is None else SERIES_STYLES[series % len(SERIES_STYLES)]


def with_series(text: str, item: dict[str, Any]) -> str:
    """``text`` with the results file's label of an overlaid row: "adam · before"."""
    name = item.get("series") if isinstance(item, dict) else None
    return f"{text} · {name}" if name else text


@contextmanager
def style() -> Iterator[None]:
    """The report's matplotlib settings, for drawing and saving."""
    import matplotlib

    with matplotlib.rc_context(_RC):
        yield


def new_figure(width: float = MIN_WIDTH, height: float = 4.0) -> Any:
    """A Figure on its own Agg canvas (no pyplot), in inches, at least ``MIN_WIDTH`` wide."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    with style():
        fig = Figure(figsize=(max(width, MIN_WIDTH), height), layout="constrained")
    FigureCanvasAgg(fig)  # fig.canvas: measuring legends, drawing in tests
    return fig


def _cap(handles: list[Any], labels: list[str]) -> tuple[list[Any], list[str]]:
    """At most ``MAX_LEGEND`` entries: the rest summed up in a last, invisible one."""
    if len(labels) <= MAX_LEGEND:
        return handles, labels
    from matplotlib.lines import Line2D

    more = Line2D([], [], color="none")
    rest = len(labels) - MAX_LEGEND + 1
    return [*handles[: MAX_LEGEND - 1], more], [
        *labels[: MAX_LEGEND - 1],
        f"+ {rest} more (tables)",
    ]


def legend(
    fig: Any,
    handles: list[Any] | None = None,
    labels: list[str] | None = None,
    where: str = "right",
    ax: Any = None,
) -> Any:
    """A legend outside the axes (it never covers data), sized to fit in the figure.

    ``where="right"``: beside the axes, in as many columns as its height needs (below
    them when that would take more than half the width); ``"below"``: under the axes, in
    as few rows as its width allows.  Handles default to those of ``ax`` (or the first
    axes).  Returns the Legend, or None when there is nothing to show.
    """
    if handles is None or labels is None:
        handles, labels = (ax or fig.axes[0]).get_legend_handles_labels()
    if not handles:
        return None
    handles, labels = _cap(list(handles), list(labels))
    renderer = fig.canvas.get_renderer()
    W, H = fig.bbox.width, fig.bbox.height
    n = len(labels)

    def place(loc: str, ncols: int) -> Any:
        with style():
            leg = fig.legend(handles, labels, loc=loc, ncols=ncols)
        return leg, leg.get_window_extent(renderer)

    if where == "right":
        for ncols in range(1, n + 1):
            leg, box = place("outside right upper", ncols)
            if box.width > 0.5 * W:
                leg.remove()
                break
            if box.height <= 0.96 * H:
                return leg
            leg.remove()
    for ncols in range(min(n, 6), 0, -1):  # below: the widest row that fits
        leg, box = place("outside lower center", ncols)
        if box.width <= 0.98 * W or ncols == 1:
            break
        leg.remove()
    if box.height > 0.3 * H:  # a tall legend below: the figure grows to hold it
        w, h = fig.get_size_inches()
        fig.set_size_inches(w, h + box.height / fig.dpi)
    return leg


def render(plot: Plot, fmt: str, dpi: int) -> bytes:
    """The figure as PNG or SVG bytes (metadata without dates: reproducible files)."""
    if fmt not in FORMATS:
        raise ValueError(f"plot format must be one of {', '.join(FORMATS)}, got {fmt!r}")
    buf = io.BytesIO()
    meta = {"Software": "adambench"} if fmt == "png" else {"Date": None, "Creator": "adambench"}
    with style():
        plot.figure.savefig(buf, format=fmt, dpi=dpi, metadata=meta)
    return small_png(buf.getvalue()) if fmt == "png" else buf.getvalue()


def small_png(data: bytes) -> bytes:
    """The PNG with a 256-colour palette (Pillow, which matplotlib requires): a line plot on
    a white background loses nothing visible and the file shrinks about 3x."""
    from PIL import Image

    out = io.BytesIO()
    with Image.open(io.BytesIO(data)) as im:
        im.convert("RGB").quantize(256).save(out, format="png", optimize=True)
    return out.getvalue()


def positive(values: list[Any]) -> list[float]:
    """Values for a log axis: missing or non-positive become NaN (a gap in the line)."""
    nan = float("nan")
    return [float(v) if v is not None and v == v and v > 0 else nan for v in values]


def numbers(values: list[Any]) -> list[float]:
    """JSON numbers with None (written for NaN/Inf) as NaN."""
    return [float("nan") if v is None else float(v) for v in values]


def empty_note(ax: Any, text: str) -> None:
    """Say in the axes why nothing is drawn there."""
    ax.text(0.5, 0.5, text, ha="center", va="center", transform=ax.transAxes, color="0.4")
    ax.set_xticks([])
    ax.set_yticks([])


def lr_lines(
    fig: Any,
    ax: Any,
    lines: list[tuple[list[float], list[float], list[float], str, Any, str]],
    title: str,
) -> None:
    """Final training loss against the learning rate: one line per (xs, ys, diverged xs,
    colour, line style, label), crosses at the top of the axis where a point diverged; a
    log loss axis when every loss is positive."""
    every: list[float] = []
    for xs, ys, bad, c, ls, label in lines:
        ax.plot(xs, ys, color=c, ls=ls, marker="o", ms=3, lw=1.2, label=label)
        if bad:
            ax.plot(bad, [0.97] * len(bad), "x", color=c, transform=ax.get_xaxis_transform())
        every += ys
    ax.set_xscale("log")
    if every and all(v > 0 for v in every):
        ax.set_yscale("log")
    ax.set_xlabel("learning rate α")
    ax.set_ylabel("final training loss (mean over seeds)")
    ax.set_title(title)
    legend(fig, ax=ax)
