"""Plots of an ``adambench bench`` results document (``bench/run.py``).

* achieved GB/s against parameter count, one panel per optimizer: adambench's kernel
  (solid, the optimizer's colour), the same-run roofline loop with the rule's own access
  pattern (thick grey: the measured limit, docs/design.md, "Timing is relative"), copy and
  triad for reference (thin dotted), peers (textbook NumPy, torch.optim) dashed with
  open markers;
* adambench's fraction of its roofline against parameter count, all optimizers.
One figure of each per (dtype, threads) measured.  GB/s = bytes the rule must move
(docs/design.md §8) / median time per step.  Rows still flagged unreliable after one
re-measure (``reliable: false``, bench/reliability.py) are left out of the lines and drawn
as crosses (on the fraction plot at most just above 100%, the figure itself being
nonsense), so that no line is drawn through an impossible figure.  Several results files
(``overlay.py``: rows tagged with their file's label) are told apart by line style and
marker, the colour staying the optimizer's.
"""

from __future__ import annotations

import math
from typing import Any

from . import plots_bench_lists  # parameter-list rows: their own plots
from .figures import (
    GREY,
    LIGHT_GREY,
    OKABE_ITO,
    SERIES_MARKERS,
    SERIES_STYLES,
    Plot,
    colour,
    legend,
    new_figure,
    series_of,
    with_series,
)

ADAMBENCH = "adambench"
PEER_STYLE = {  # impl -> (colour, marker)
    "numpy-textbook": (LIGHT_GREY, "s"),
    "torch": (OKABE_ITO["reddish purple"], "^"),
    "torch-foreach": (OKABE_ITO["sky blue"], "v"),
    "torch-fused": (OKABE_ITO["black"], "D"),
}
OTHER_PEER = (OKABE_ITO["yellow"], "P")


def groups(doc: dict[str, Any]) -> list[tuple[str, int]]:
    """(dtype, threads) pairs measured, in order."""
    return list(dict.fromkeys((r["dtype"], r["threads"]) for r in doc["rows"]))


UNRELIABLE = dict(color=OKABE_ITO["vermillion"], marker="x", ls="none", ms=6, mew=1.5)


def series_labels(doc: dict[str, Any]) -> list[str]:
    """The results files' labels of an overlay (``overlay.py``), in order; [] for one."""
    return list(dict.fromkeys(r["series"] for r in doc["rows"] if r.get("series")))


def _series(
    rows: list[dict[str, Any]], key: str, reliable: bool = True
) -> tuple[list[int], list[float]]:
    """(sizes, values) of ``key``: of the reliable rows (files without flags: all), or
    with ``reliable=False`` of the unreliable ones."""
    pts = sorted(
        (r["size"], r[key])
        for r in rows
        if r.get(key) is not None and (r.get("reliable") is not False) == reliable
    )
    return [p[0] for p in pts], [float(p[1]) for p in pts]


def _any_unreliable(rows: list[dict[str, Any]]) -> bool:
    return any(r.get("reliable") is False for r in rows)


def _slug(dtype: str, threads: int) -> str:
    return f"{dtype}-{threads}thr"


def _style(k: int) -> dict[str, Any]:
    """Line style and marker of results file ``k`` of an overlay."""
    return dict(ls=SERIES_STYLES[k % len(SERIES_STYLES)], marker=SERIES_MARKERS[k % 6])


def gbps_plot(doc: dict[str, Any], dtype: str, threads: int, suffix: str = "") -> Plot:
    """GB/s against N, one panel per optimizer.  Several results files overlaid: per file
    its kernel and roofline in the file's line style (peers and copy/triad, which would
    double the lines, are in the tables)."""
    rows = [r for r in doc["rows"] if r["dtype"] == dtype and r["threads"] == threads]
    opts = list(dict.fromkeys(r["optimizer"] for r in rows))
    files = series_labels(doc)
    roofs = [
        r
        for r in doc.get("rooflines", [])
        if r.get("dtype") == dtype and r.get("threads") == threads
    ]
    refs = [
        r
        for r in doc.get("references", [])
        if r.get("dtype") == dtype and r.get("threads") == threads
    ]
    ncols = min(4, len(opts))
    nrows = math.ceil(len(opts) / ncols)
    fig = new_figure(2.5 * ncols + 0.6, 2.3 * nrows + 1.0)
    axes = fig.subplots(nrows, ncols, squeeze=False, sharex=True, sharey=True)
    peers_seen: dict[str, tuple[str, str]] = {}
    for k, opt in enumerate(opts):
        ax = axes[k // ncols][k % ncols]
        mine = [r for r in rows if r["optimizer"] == opt]
        if files:
            for s in range(len(files)):
                st = _style(s)
                roof = [r for r in roofs if r["optimizer"] == opt and series_of(r, files) == s]
                if roof:
                    ax.plot(*_series(roof, "gbps"), color=LIGHT_GREY, lw=3.5, alpha=0.6,
                            ls=st["ls"])  # fmt: skip
                ours = [r for r in mine if r["impl"] == ADAMBENCH and series_of(r, files) == s]
                ax.plot(*_series(ours, "gbps"), color=colour(opt), lw=1.8, ms=4, **st)
                bx, by = _series(ours, "gbps", reliable=False)
                if bx:
                    ax.plot(bx, by, **UNRELIABLE)
        else:
            roof = [r for r in roofs if r["optimizer"] == opt]
            if roof:
                xs, ys = _series(roof, "gbps")
                ax.plot(xs, ys, color=LIGHT_GREY, lw=4, alpha=0.6, solid_capstyle="round")
            for key, ls in (("copy_gbps", ":"), ("triad_gbps", "-.")):
                xs, ys = _series(refs, key)
                if xs:
                    ax.plot(xs, ys, color=GREY, lw=0.8, ls=ls)
            for impl in dict.fromkeys(r["impl"] for r in mine):
                xs, ys = _series([r for r in mine if r["impl"] == impl], "gbps")
                bx, by = _series([r for r in mine if r["impl"] == impl], "gbps", reliable=False)
                if bx:
                    ax.plot(bx, by, **UNRELIABLE)
                if impl == ADAMBENCH:
                    ax.plot(xs, ys, color=colour(opt), lw=2, marker="o", ms=4)
                else:
                    c, m = PEER_STYLE.get(impl, OTHER_PEER)
                    peers_seen[impl] = (c, m)
                    ax.plot(xs, ys, color=c, lw=1, ls="--", marker=m, ms=4, mfc="none")
        ax.set_title(opt, color=colour(opt), fontsize=9)
        ax.set_xscale("log")
        ax.set_yscale("log")
    for k in range(len(opts), nrows * ncols):
        axes[k // ncols][k % ncols].set_visible(False)
    for ax in axes[-1]:
        ax.set_xlabel("parameters N")
    for row in axes:
        row[0].set_ylabel("GB/s (rule's bytes / time)")
    if files:
        handles = [
            ("adambench (colour: optimizer)", dict(color=GREY, lw=1.8)),
            ("roofline: own access pattern", dict(color=LIGHT_GREY, lw=3.5, alpha=0.6)),
        ] + [(name, dict(color=GREY, lw=1.2, ms=4, **_style(s))) for s, name in enumerate(files)]
    else:
        handles = [
            ("adambench (colour: optimizer)", dict(color=GREY, lw=2, marker="o", ms=4)),
            ("roofline: own access pattern", dict(color=LIGHT_GREY, lw=4, alpha=0.6)),
            ("copy", dict(color=GREY, lw=0.8, ls=":")),
            ("triad", dict(color=GREY, lw=0.8, ls="-.")),
        ] + [
            (impl, dict(color=c, lw=1, ls="--", marker=m, ms=4, mfc="none"))
            for impl, (c, m) in peers_seen.items()
        ]
    if _any_unreliable(rows):
        handles.append(("unreliable (flagged)", UNRELIABLE))
    from matplotlib.lines import Line2D

    lines = [Line2D([], [], **kw) for _, kw in handles]
    legend(fig, lines, [h[0] for h in handles], where="below")
    fig.suptitle(f"Achieved bandwidth, {dtype}, {threads} thread(s)")
    return Plot(
        f"bench-gbps-{_slug(dtype, threads)}{suffix}",
        f"Achieved GB/s, {dtype}, {threads} thread(s)",
        "GB/s = bytes the rule must move per step / median time per step. Thick grey: the "
        "same-run roofline (a trivial loop with the rule's own reads and writes, best of "
        "repeats)"
        + (
            "; line style and marker: results file (peers, copy and triad are in the tables)."
            if files
            else "; dotted/dash-dotted: copy and triad for reference; dashed with open "
            "markers: peers timed side by side in the same run."
        )
        + (
            " Crosses: rows still flagged unreliable after one re-measure (not joined)."
            if _any_unreliable(rows)
            else ""
        ),
        fig,
    )


def fraction_plot(doc: dict[str, Any], dtype: str, threads: int, suffix: str = "") -> Plot:
    rows = [
        r
        for r in doc["rows"]
        if r["dtype"] == dtype and r["threads"] == threads and r["impl"] == ADAMBENCH
    ]
    files = series_labels(doc)
    fig = new_figure(height=3.4)
    ax = fig.add_subplot()
    top = 100.0
    keys = dict.fromkeys((r["optimizer"], series_of(r, files)) for r in rows)
    for opt, s in keys:
        mine = [r for r in rows if r["optimizer"] == opt and series_of(r, files) == s]
        xs, ys = _series(mine, "fraction_of_roofline")
        st = dict(marker="o", ls="-") if s is None else _style(s)
        name = with_series(opt, mine[0])
        ax.plot(xs, [100 * y for y in ys], color=colour(opt), ms=4, label=name, **st)
        top = max([top, *(100 * y for y in ys)])
    bad = [r for r in rows if r.get("reliable") is False and r.get("fraction_of_roofline")]
    if bad:  # an impossible share (3054%) must not set the scale: clipped just above the top
        ceiling = 1.1 * top
        xs, ys = _series(bad, "fraction_of_roofline", reliable=False)
        ax.plot(xs, [min(100 * y, ceiling) for y in ys], label="unreliable (flagged)", **UNRELIABLE)
        ax.set_ylim(0, 1.15 * top)
    ax.axhline(100, color="k", lw=0.8)
    ax.axhline(90, color="k", lw=0.6, ls=":")
    ax.set_xscale("log")
    ax.set_xlabel("parameters N")
    ax.set_ylabel("% of roofline")
    ax.set_title(f"adambench kernels: share of the measured roofline, {dtype}, {threads} thr")
    legend(fig, ax=ax)
    return Plot(
        f"bench-roofline-{_slug(dtype, threads)}{suffix}",
        f"Fraction of roofline, {dtype}, {threads} thread(s)",
        "Roofline best time / kernel median time, per size (dotted: 90%). Small sizes are "
        "dominated by the call overhead, large ones by memory bandwidth."
        + (" Line style and marker: results file." if files else "")
        + (
            " Crosses: rows still flagged unreliable after one re-measure, left out of "
            "the lines (clipped to the top of the axis)."
            if bad
            else ""
        ),
        fig,
    )


def plots(doc: dict[str, Any], suffix: str = "") -> list[Plot]:
    """Per (dtype, threads) of the flat rows: GB/s and fraction of the roofline; then the
    parameter-list rows' own plots (plots_bench_lists.py)."""
    whole, doc = doc, plots_bench_lists.flat_doc(doc)
    out = []
    for dtype, threads in groups(doc):
        out.append(gbps_plot(doc, dtype, threads, suffix))
        if any(r.get("fraction_of_roofline") is not None for r in doc["rows"]):
            out.append(fraction_plot(doc, dtype, threads, suffix))
    return out + plots_bench_lists.plots(whole, suffix)
