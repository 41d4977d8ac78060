"""Plots of the parameter-list rows of an ``adambench bench`` document (bench/run.py).

A list row carries ``shapes`` (a model preset, or ``grid`` for a tensor-count x size grid
point); flat rows have none and are drawn by plots_bench.py.  Per (dtype layout, threads):

* a heat map of adambench's ns per parameter over the grid (tensors x numel per tensor),
  one panel per optimizer, each cell annotated with its list overhead (the list's median
  over the flat array's of the same total size, timed interleaved; docs/design.md,
  "Timing is relative");
* bars of the presets' time per step, one bar per implementation (adambench, its
  same-run roofline's best time, the torch.optim variants), one panel per optimizer.

Decision rule: a cell or bar shows exactly one row's figure; where several results files
are overlaid (``series``) the first file's rows are drawn and the caption says so.  Rows
still flagged unreliable after one re-measure (``reliable: false``) are drawn but marked
(a "?" in the cell, a hatched bar), never left out silently.
"""

from __future__ import annotations

import math
from typing import Any

from .figures import GREY, LIGHT_GREY, OKABE_ITO, Plot, colour, legend, new_figure

ADAMBENCH, ROOFLINE, GRID = "adambench", "roofline", "grid"
IMPLS = ("adambench", "roofline", "torch", "torch-foreach", "torch-fused")
BAR_COLOURS = {
    "adambench": OKABE_ITO["blue"],
    "adambench-flat": OKABE_ITO["bluish green"],
    "roofline": LIGHT_GREY,
    "torch": OKABE_ITO["reddish purple"],
    "torch-foreach": OKABE_ITO["sky blue"],
    "torch-fused": OKABE_ITO["black"],
}


def is_list_row(r: dict[str, Any]) -> bool:
    return r.get("shapes") is not None


def flat_doc(doc: dict[str, Any]) -> dict[str, Any]:
    """``doc`` without its list rows and list roofline records (plots_bench's input)."""
    out = dict(doc, rows=[r for r in doc["rows"] if not is_list_row(r)])
    if "rooflines" in doc:
        out["rooflines"] = [r for r in doc["rooflines"] if not is_list_row(r)]
    return out


def _first_series(items: list[dict[str, Any]]) -> tuple[list[dict[str, Any]], bool]:
    """The items of the first results file of an overlay (all of one file), and whether
    others were left out."""
    labels = list(dict.fromkeys(r.get("series") for r in items))
    if len(labels) <= 1:
        return items, False
    return [r for r in items if r.get("series") == labels[0]], True


def _slug(dtype: str, threads: int) -> str:
    return f"{dtype.replace('/', '-').replace('+', '-')}-{threads}thr"


def _count(n: int) -> str:
    """A tick label: 512, 65k, 1.0M."""
    if n < 10_000:
        return str(n)
    return f"{n / 1e3:.0f}k" if n < 1_000_000 else f"{n / 1e6:.1f}M"


def _panels(n: int, width: float, height: float) -> tuple[Any, list[Any]]:
    ncols = min(3, max(n, 1))
    nrows = math.ceil(max(n, 1) / ncols)
    fig = new_figure(width * ncols + 0.8, height * nrows + 1.0)
    grid = fig.subplots(nrows, ncols, squeeze=False)
    axes = [a for row in grid for a in row]
    for ax in axes[n:]:
        ax.set_visible(False)
    return fig, axes[:n]


def grid_cells(rows: list[dict[str, Any]], opt: str) -> tuple[list[int], list[int], dict]:
    """(tensor counts, numels per tensor, {(tensors, numel): row}) of ``opt``'s grid rows."""
    mine = {(r["tensors"], r["numel_per_tensor"]): r for r in rows if r["optimizer"] == opt}
    return sorted({k[0] for k in mine}), sorted({k[1] for k in mine}), mine


def heatmap_plot(
    rows: list[dict[str, Any]], dtype: str, threads: int, note: str, suffix: str
) -> Plot:
    """ns per parameter of adambench's list step over the grid, one panel per optimizer."""
    import numpy as np
    from matplotlib.colors import LogNorm

    opts = list(dict.fromkeys(r["optimizer"] for r in rows))
    fig, axes = _panels(len(opts), 3.0, 2.8)
    values = [float(r["ns_per_param"]) for r in rows if r.get("ns_per_param")]
    norm = LogNorm(min(values), max(values)) if values and min(values) > 0 else None
    image = None
    for ax, opt in zip(axes, opts, strict=True):
        tensors, numels, cells = grid_cells(rows, opt)
        data = np.full((len(tensors), len(numels)), np.nan)
        for (i, t), (j, n) in ((a, b) for a in enumerate(tensors) for b in enumerate(numels)):
            r = cells.get((t, n))
            if r is None or not r.get("ns_per_param"):
                continue
            data[i, j] = float(r["ns_per_param"])
            over = r.get("list_overhead")
            text = f"{data[i, j]:.3g} ns" + (f"\n×{over:.2f}" if over is not None else "")
            text += "\n?" if r.get("reliable") is False else ""
            box = dict(boxstyle="round,pad=0.15", fc=GREY, ec="none", alpha=0.55)
            ax.text(j, i, text, ha="center", va="center", fontsize=7, color="white", bbox=box)
        image = ax.imshow(data, origin="lower", aspect="auto", cmap="cividis", norm=norm)
        ax.set_xticks(range(len(numels)), [_count(n) for n in numels])
        ax.set_yticks(range(len(tensors)), [str(t) for t in tensors])
        ax.set_xlabel("numel per tensor")
        ax.set_ylabel("tensors in the list")
        ax.set_title(opt, color=colour(opt), fontsize=9)
        ax.grid(False)
    if image is not None:
        fig.colorbar(image, ax=axes, label="ns per parameter (adambench, one step)")
    fig.suptitle(f"Parameter lists: adambench's time per parameter, {dtype}, {threads} thread(s)")
    return Plot(
        f"bench-lists-grid-{_slug(dtype, threads)}{suffix}",
        f"Parameter-list grid, {dtype}, {threads} thread(s)",
        "Median time of one step over every tensor of the list, per parameter (colour, log "
        "scale). In each cell: that figure and ×: the list overhead, the list's median over "
        "the median of one flat array of the same total size and layout, timed interleaved "
        "(×1.00: no cost for the list)." + note,
        fig,
    )


def preset_bars(
    rows: list[dict[str, Any]], roofs: list[dict[str, Any]], opt: str
) -> tuple[list[str], dict[str, list[float | None]], dict[str, list[bool]]]:
    """(presets, {impl: time per step in s or None, per preset}, {impl: unreliable flags})
    of ``opt``: each row's ``median_s``, the roofline's ``best_s`` (its record, or a row)."""
    presets = list(dict.fromkeys(r["shapes"] for r in rows if r["optimizer"] == opt))
    times: dict[str, list[float | None]] = {}
    bad: dict[str, list[bool]] = {}
    impls = [i for i in IMPLS if i != ROOFLINE or roofs] + sorted(
        {r["impl"] for r in rows} - set(IMPLS) - {"adambench-flat"}
    )
    impls = [i for i in impls if i == ROOFLINE or any(r["impl"] == i for r in rows)]
    for impl in impls:
        times[impl], bad[impl] = [], []
        for preset in presets:
            if impl == ROOFLINE:
                hit = [r for r in roofs if r["optimizer"] == opt and r["shapes"] == preset]
                key = "best_s" if hit and hit[0].get("best_s") is not None else "median_s"
            else:
                hit = [
                    r for r in rows
                    if r["optimizer"] == opt and r["shapes"] == preset and r["impl"] == impl
                ]  # fmt: skip
                key = "median_s"
            times[impl].append(float(hit[0][key]) if hit and hit[0].get(key) else None)
            bad[impl].append(bool(hit) and hit[0].get("reliable") is False)
    return presets, times, bad


def presets_plot(
    rows: list[dict[str, Any]], roofs: list[dict[str, Any]], dtype: str, threads: int,
    note: str, suffix: str,
) -> Plot:  # fmt: skip
    """Time per step of each preset, one bar per implementation, one panel per optimizer."""
    from matplotlib.patches import Patch

    opts = list(dict.fromkeys(r["optimizer"] for r in rows))
    fig, axes = _panels(len(opts), 3.6, 3.0)
    seen: dict[str, str] = {}
    for ax, opt in zip(axes, opts, strict=True):
        presets, times, bad = preset_bars(rows, roofs, opt)
        width = 0.8 / max(len(times), 1)
        for k, (impl, ts) in enumerate(times.items()):
            c = BAR_COLOURS.get(impl, OKABE_ITO["yellow"])
            seen[impl] = c
            for x, (t, b) in enumerate(zip(ts, bad[impl], strict=True)):
                if t is not None:
                    ax.bar(x - 0.4 + (k + 0.5) * width, t * 1e3, width, color=c,
                           hatch="xx" if b else None, edgecolor="white" if b else c)  # fmt: skip
        ax.set_xticks(range(len(presets)), presets, rotation=20, ha="right")
        ax.set_yscale("log")
        ax.set_ylabel("time per step (ms)")
        ax.set_title(opt, color=colour(opt), fontsize=9)
    handles = [Patch(color=c, label=i) for i, c in seen.items()]
    legend(fig, handles, list(seen), where="below")
    fig.suptitle(f"Model parameter lists: time per step, {dtype}, {threads} thread(s)")
    return Plot(
        f"bench-lists-presets-{_slug(dtype, threads)}{suffix}",
        f"Model parameter lists, {dtype}, {threads} thread(s)",
        "Median time of one optimizer step over every tensor of the model's parameter list "
        "(log scale); roofline: the best time of the same-run loop with the rule's reads and "
        "writes over one flat array of the same total size and layout; torch: torch.optim on "
        "the same list (its notes say where its dtypes differ). Hatched: still flagged "
        "unreliable after one re-measure." + note,
        fig,
    )


def plots(doc: dict[str, Any], suffix: str = "") -> list[Plot]:
    """The grid heat map and the presets' bars per (dtype, threads) with list rows."""
    rows, dropped = _first_series([r for r in doc["rows"] if is_list_row(r)])
    roofs = [r for r in doc.get("rooflines", []) if is_list_row(r)]
    roofs, _ = _first_series(roofs)
    note = " Several results files: the first file's rows only." if dropped else ""
    out = []
    for dtype, threads in dict.fromkeys((r["dtype"], r["threads"]) for r in rows):
        mine = [r for r in rows if r["dtype"] == dtype and r["threads"] == threads]
        grid = [r for r in mine if r["shapes"] == GRID and r["impl"] == ADAMBENCH]
        if grid:
            out.append(heatmap_plot(grid, dtype, threads, note, suffix))
        named = [r for r in mine if r["shapes"] != GRID]
        if named:
            mroofs = [
                r for r in roofs
                if r["dtype"] == dtype and r["threads"] == threads and r["shapes"] != GRID
            ]  # fmt: skip
            out.append(presets_plot(named, mroofs, dtype, threads, note, suffix))
    return out
