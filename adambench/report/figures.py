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

# Fixed colours (matplotlib's tab10) so an optimizer looks the same in every plot.
OPTIMIZER_COLOURS = {
    "adam": "#1f77b4",
    "amsgrad": "#ff7f0e",
    "adagrad": "#2ca02c",
    "sgd": "#d62728",
    "adamax": "#9467bd",
    "rmsprop-momentum": "#8c564b",
    "adam-nobias": "#e377c2",
}
LINESTYLES = {"adam-nobias": "--", "adamax": "-.", "rmsprop-momentum": ":"}
_SPARE = ("#7f7f7f", "#bcbd22", "#17becf", "#aec7e8", "#ffbb78", "#98df8a", "#ff9896")
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


@contextmanager
def style() -> Iterator[None]:
    """The report's matplotlib settings, for drawing and saving."""
    import matplotlib

    with matplotlib.rc_context(_RC):
        yield


def new_figure(width: float = 6.4, height: float = 4.0) -> Any:
    """A Figure on the Agg canvas (no pyplot), in inches."""
    from matplotlib.figure import Figure

    with style():
        return Figure(figsize=(width, height), layout="constrained")


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
