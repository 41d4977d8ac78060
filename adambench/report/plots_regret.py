"""Plots of an ``adambench regret`` results document (rows of ``experiments/regret.py``).

* R(T) against T, log-log, one line per optimizer (mean over seeds) with its 95% t band,
  a sqrt(T) reference and the theory's bound at T where one applies (regret
  R(T) = sum_t f_t(x_t) - min_{x in F} sum_t f_t(x), docs/theory.md §2.1; the bounds of
  docs/theory.md §1.5, §2.4, §3.1 and §4.2);
* R(T)/T against T (sublinear regret: R(T)/T -> 0, docs/theory.md §4.1);
* the iterate path x_t[0] for the Reddi et al. counterexamples (docs/theory.md §2.5), where
  Adam drifts to +1 and AMSGrad to the comparator -1;
* the fitted growth exponents with their intervals, one row per optimizer.
"""

from __future__ import annotations

import math
from typing import Any

from .figures import (
    GREY,
    LIGHT_GREY,
    SERIES_MARKERS,
    Plot,
    colour,
    empty_note,
    legend,
    line_style,
    new_figure,
    numbers,
    positive,
    series_of,
    with_series,
)

FAR = 100.0  # a bound above FAR x the largest value drawn is written at the axis edge


def by_problem(rows: list[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    """Rows grouped by problem, in order of first appearance."""
    out: dict[str, list[dict[str, Any]]] = {}
    for r in rows:
        out.setdefault(r["problem"], []).append(r)
    return out


def series_labels(rows: list[dict[str, Any]]) -> list[str]:
    """The results files' labels of overlaid rows (``overlay.py``), in order; [] for one."""
    return list(dict.fromkeys(r["series"] for r in rows if r.get("series")))


def label(row: dict[str, Any], rows: list[dict[str, Any]]) -> str:
    """The optimizer, plus its hyperparameter point when the problem has several, plus the
    results file's label when several are overlaid."""
    same = [
        r
        for r in rows
        if r["optimizer"] == row["optimizer"] and r.get("series") == row.get("series")
    ]
    point = row.get("point") or ""
    text = f"{row['optimizer']} ({point})" if len(same) > 1 and point else row["optimizer"]
    return with_series(text, row)


def point_marker(row: dict[str, Any], rows: list[dict[str, Any]]) -> dict[str, Any]:
    """Markers telling apart the grid points of one optimizer (and file): none on the
    first, then circles, squares, ... (the colour is the optimizer's, the style the file's)."""
    key = (row["optimizer"], row.get("series"))
    same = [r for r in rows if (r["optimizer"], r.get("series")) == key]
    k = next((i for i, r in enumerate(same) if r is row), 0)
    if k == 0:
        return {}
    return {"marker": SERIES_MARKERS[(k - 1) % len(SERIES_MARKERS)], "ms": 4, "markevery": 0.1}


def _bound_value(row: dict[str, Any]) -> float | None:
    b = row.get("bound") or {}
    v = b.get("value")
    return float(v) if b.get("applies") and isinstance(v, (int, float)) and v > 0 else None


def _finite(values: list[float]) -> list[float]:
    return [v for v in values if v == v and not math.isinf(v)]


def regret_plot(problem: str, rows: list[dict[str, Any]], suffix: str = "") -> Plot:
    """R(T) vs T on log-log axes with 95% bands, sqrt(T) reference and bounds at T.

    A bound far above the curves (more than ``FAR`` x the largest value drawn, a vacuous
    one typically) would squeeze them into a sliver of the axis: it is written at the
    top edge with an arrow instead, and the axis stays on the data.
    """
    fig = new_figure(height=4.2)
    ax = fig.add_subplot()
    files = series_labels(rows)
    anchors, tops, bounds = [], [], []
    drawn = 0
    for r in rows:
        c, lab = colour(r["optimizer"]), label(r, rows)
        ls = line_style(r["optimizer"], series_of(r, files))
        T, mean = numbers(r["curve"]["T"]), positive(r["curve"]["R_mean"])
        if not any(v == v for v in mean):
            continue
        drawn += 1
        ax.plot(T, mean, color=c, ls=ls, lw=1.6, label=lab, **point_marker(r, rows))
        lo, hi = positive(r["curve"]["R_low"]), positive(r["curve"]["R_high"])
        lo = [
            a if a == a else m for a, m in zip(lo, mean, strict=True)
        ]  # a band below 0 ends at the line
        ax.fill_between(T, lo, hi, color=c, alpha=0.18, lw=0)
        tops += _finite(mean) + _finite(hi)
        if mean[-1] == mean[-1]:
            anchors.append(mean[-1] / math.sqrt(T[-1]))
        b = _bound_value(r)
        if b is not None:
            bounds.append((T[-1], b, c, lab))
    if drawn:
        ax.set_xscale("log")
        ax.set_yscale("log")
        Tmax = max(r["curve"]["T"][-1] for r in rows)
        ref = sorted(anchors)[len(anchors) // 2]
        xs = [10 ** (k / 4) for k in range(0, int(4 * math.log10(max(Tmax, 10))) + 1)]
        ax.plot(xs, [ref * math.sqrt(x) for x in xs], color=GREY, ls=(0, (4, 2)), lw=0.9,
                label="∝ √T")  # fmt: skip
        top = max(tops)
        near = [(t, b, c) for t, b, c, _ in bounds if b <= FAR * top]
        far = [(t, b, c, lab) for t, b, c, lab in bounds if b > FAR * top]
        for t, b, c in near:
            ax.plot([t], [b], marker="v", ms=8, color=c, ls="none", mec="k", mew=0.6)
        if near:
            ax.plot([], [], marker="v", color=LIGHT_GREY, mec="k", ls="none", label="bound at T")
        for k, (t, b, c, lab) in enumerate(far):  # top left: where growing curves are not
            ax.annotate(
                f"{lab}: bound {b:.3g}, above the axis", xy=(t, 1.0),
                xycoords=("data", "axes fraction"), xytext=(0.02, 0.95 - 0.065 * k),
                textcoords="axes fraction", ha="left", va="center", fontsize=7, color=c,
                annotation_clip=False,
                arrowprops=dict(arrowstyle="->", color=c, lw=0.8, shrinkA=2, shrinkB=0),
            )  # fmt: skip
        legend(fig, ax=ax)
    else:
        empty_note(ax, "no positive regret to draw on log axes")
    ax.set_xlabel("T (steps)")
    ax.set_ylabel("R(T)")
    ax.set_title(f"Regret on {problem}")
    return Plot(
        f"regret-{problem}{suffix}",
        f"Regret R(T) on {problem}",
        "Mean over seeds with its 95% t interval (band); dashed grey: a sqrt(T) line through "
        "the median final R(T)/sqrt(T); triangles: the theory's bound at T evaluated on the "
        "run's own constants, where its conditions hold; a bound more than 100x above the "
        "curves is written at the top edge (arrow) so the axis stays on the data. Points "
        "with R(T) <= 0 are left out of the log axes."
        + (" Line style: results file." if files else ""),
        fig,
    )


def rate_plot(problem: str, rows: list[dict[str, Any]], suffix: str = "") -> Plot:
    """R(T)/T against T (log T): tends to 0 for sublinear regret."""
    fig = new_figure(height=3.6)
    ax = fig.add_subplot()
    files = series_labels(rows)
    for r in rows:
        c = colour(r["optimizer"])
        cur = r["curve"]
        T = numbers(cur["T"])
        ls = line_style(r["optimizer"], series_of(r, files))
        ax.plot(T, numbers(cur["R_over_T"]), color=c, ls=ls, lw=1.6, label=label(r, rows),
                **point_marker(r, rows))  # fmt: skip
        lo = [a / t for a, t in zip(numbers(cur["R_low"]), T, strict=True)]
        hi = [a / t for a, t in zip(numbers(cur["R_high"]), T, strict=True)]
        ax.fill_between(T, lo, hi, color=c, alpha=0.18, lw=0)
    ax.axhline(0.0, color="k", lw=0.8)
    ax.set_xscale("log")
    ax.set_xlabel("T (steps)")
    ax.set_ylabel("R(T) / T")
    ax.set_title(f"Average regret on {problem}")
    legend(fig, ax=ax)
    return Plot(
        f"regret-rate-{problem}{suffix}",
        f"Average regret R(T)/T on {problem}",
        "Sublinear regret means R(T)/T -> 0; a curve levelling off above 0 is linear regret. "
        "Band: 95% t interval over seeds." + (" Line style: results file." if files else ""),
        fig,
    )


def iterate_plot(problem: str, rows: list[dict[str, Any]], suffix: str = "") -> Plot | None:
    """x_t[0] at the checkpoints (mean over seeds) for the Reddi problems; None if absent."""
    rows = [r for r in rows if "x_first_coord_mean" in r["curve"]]
    if not rows:
        return None
    fig = new_figure(height=3.4)
    ax = fig.add_subplot()
    files = series_labels(rows)
    for r in rows:
        cur = r["curve"]
        ax.plot(
            numbers(cur["T"]), numbers(cur["x_first_coord_mean"]), color=colour(r["optimizer"]),
            ls=line_style(r["optimizer"], series_of(r, files)), lw=1.6, marker=".", ms=3,
            label=label(r, rows),
        )  # fmt: skip
    for y in (-1.0, 1.0):
        ax.axhline(y, color="k", lw=0.7, ls=":")
    ax.set_xscale("log")
    ax.set_ylim(-1.1, 1.1)
    ax.set_xlabel("t (steps)")
    ax.set_ylabel("x_t (first coordinate)")
    ax.set_title(f"Iterate path on {problem}")
    legend(fig, ax=ax)
    return Plot(
        f"iterate-{problem}{suffix}",
        f"Iterate path on {problem}",
        "The iterate at the checkpoints (mean over seeds); F = [-1, 1] (dotted). On the "
        "Reddi et al. problems the comparator is x = -1: Adam is expected to drift to +1, "
        "AMSGrad to -1 (docs/theory.md §2.5).",
        fig,
    )


def exponent_plot(rows: list[dict[str, Any]], suffix: str = "") -> Plot:
    """Fitted exponents p of R(T) ~ T^p with intervals, one row per (problem, optimizer)."""
    probs = by_problem(rows)
    entries = [(p, r) for p, rs in probs.items() for r in rs]
    fig = new_figure(height=0.9 + 0.28 * len(entries))
    ax = fig.add_subplot()
    files = series_labels(rows)
    ylabels = []
    for i, (p, r) in enumerate(entries):
        y = len(entries) - 1 - i
        ylabels.append((y, f"{label(r, probs[p])} · {p}"))
        e = r.get("exponent")
        if not e or e.get("slope") is None:
            ax.text(0.02, y, "no fit", va="center", fontsize=7, color="0.4")
            continue
        s = float(e["slope"])
        lo = float(e["low"]) if e.get("low") is not None else s
        hi = float(e["high"]) if e.get("high") is not None else s
        k = series_of(r, files)
        ax.errorbar(
            [s], [y], xerr=[[s - lo], [hi - s]], color=colour(r["optimizer"]), capsize=3, ms=4,
            fmt="o" if k is None else SERIES_MARKERS[k % len(SERIES_MARKERS)],
        )  # fmt: skip
    for x, name in ((0.5, " √T"), (1.0, " linear")):
        ax.axvline(x, color="k", lw=0.8, ls="--", alpha=0.6)
        ax.text(
            x, 0.01, name, ha="left", va="bottom", fontsize=7, transform=ax.get_xaxis_transform()
        )
    ends = [i for i in range(1, len(entries)) if entries[i][0] != entries[i - 1][0]]
    for i in ends:
        ax.axhline(len(entries) - i - 0.5, color="0.6", lw=0.6)
    ax.set_yticks([y for y, _ in ylabels], [t for _, t in ylabels])
    ax.set_ylim(-0.7, len(entries) - 0.1)
    ax.set_xlim(left=min(0.0, ax.get_xlim()[0]), right=max(1.15, ax.get_xlim()[1]))
    ax.set_xlabel("growth exponent p in R(T) ~ T^p")
    ax.set_title("Fitted growth exponents (95% interval)")
    return Plot(
        f"exponents{suffix}",
        "Growth exponents",
        "Slope of log R(T) against log T over the last two decades, fitted per seed, with "
        "its 95% t interval across seeds (a point alone: one seed or identical curves); "
        "0.5 is O(sqrt T) regret, 1 is linear (no convergence)."
        + (" Marker: results file." if files else ""),
        fig,
    )


def plots(doc: dict[str, Any], suffix: str = "") -> list[Plot]:
    """Every plot of a regret document."""
    out = []
    groups = by_problem(doc["rows"])
    for problem, rows in groups.items():
        out.append(regret_plot(problem, rows, suffix))
        out.append(rate_plot(problem, rows, suffix))
        if problem.startswith("reddi"):
            it = iterate_plot(problem, rows, suffix)
            if it is not None:
                out.append(it)
    out.append(exponent_plot(doc["rows"], suffix))
    return out
