"""Plots of a training sweep's rows (``experiments/training_results.point_rows``: one row per grid
point, its mean training-loss curve over seeds and final loss).

* training loss against epoch per task: per optimizer its best grid point (lowest mean
  final training loss, Kingma & Ba section 6 protocol, docs/theory.md §1.7) as a labelled
  line, every other point of the grid as a thin line of the same colour;
* final training loss against the learning rate per task, one line per optimizer and
  setting of its other hyperparameters; a diverged point is a cross at the top.
"""

from __future__ import annotations

import math
from typing import Any

from .figures import Plot, colour, dashes, legend, lr_lines, new_figure, numbers


def _best(rows: list[dict[str, Any]]) -> dict[str, Any] | None:
    done = [r for r in rows if r.get("final_train_loss") is not None]
    return min(done, key=lambda r: r["final_train_loss"]) if done else None


def loss_plot(task: str, rows: list[dict[str, Any]], suffix: str = "") -> Plot:
    fig = new_figure(height=4.0)
    ax = fig.add_subplot()
    positive = True
    for opt in dict.fromkeys(r["optimizer"] for r in rows):
        mine = [r for r in rows if r["optimizer"] == opt]
        best = _best(mine)
        c = colour(opt)
        for r in mine:
            curve = numbers(r["train_loss_mean_curve"])
            positive &= all(v > 0 for v in curve if v == v)
            if r is best:
                ax.plot(range(len(curve)), curve, color=c, ls=dashes(opt), lw=1.8, zorder=3,
                        label=f"{opt} ({r['point']})")  # fmt: skip
            else:
                ax.plot(range(len(curve)), curve, color=c, lw=0.7, alpha=0.35)
    if positive:
        ax.set_yscale("log")
    from matplotlib.ticker import MaxNLocator

    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_xlabel("epoch")
    ax.set_ylabel("training loss (mean over seeds)")
    ax.set_title(f"{task}: training loss, every grid point of the sweep")
    legend(fig, ax=ax)
    return Plot(
        f"sweep-loss-{task}{suffix}",
        f"Training loss on {task} (sweep)",
        "Mean over seeds. Thick: each optimizer's best grid point (lowest mean final "
        "training loss, named in the legend); thin: its other grid points.",
        fig,
    )


def _setting(r: dict[str, Any]) -> str:
    """The point's hyperparameters other than the learning rate."""
    hp = r["hyperparameters"]
    return ", ".join(f"{k}={v}" for k, v in hp.items() if k not in ("lr", "lr_schedule"))


def lr_plot(task: str, rows: list[dict[str, Any]], suffix: str = "") -> Plot:
    fig = new_figure(height=3.6)
    ax = fig.add_subplot()
    lines = []
    groups = dict.fromkeys((r["optimizer"], _setting(r)) for r in rows)
    for opt, setting in groups:
        mine = [r for r in rows if (r["optimizer"], _setting(r)) == (opt, setting)]
        pts = sorted(
            (float(r["hyperparameters"].get("lr", math.nan)), r.get("final_train_loss"))
            for r in mine
        )
        ok = [(x, y) for x, y in pts if y is not None and math.isfinite(y)]
        bad = [x for x, y in pts if y is None or not math.isfinite(y)]
        name = f"{opt} ({setting})" if setting else opt
        lines.append(([x for x, _ in ok], [y for _, y in ok], bad, colour(opt), dashes(opt), name))
    lr_lines(fig, ax, lines, f"{task}: final training loss over the sweep's learning rates")
    return Plot(
        f"sweep-lr-{task}{suffix}",
        f"Learning rates on {task} (sweep)",
        "Final training loss (mean over seeds) at every learning rate of the sweep, one line "
        "per optimizer and setting of its other hyperparameters; crosses at the top: a "
        "point where a seed diverged.",
        fig,
    )


def plots(rows: list[dict[str, Any]], suffix: str = "") -> list[Plot]:
    out = []
    for task in dict.fromkeys(r["task"] for r in rows):
        mine = [r for r in rows if r["task"] == task]
        out += [loss_plot(task, mine, suffix), lr_plot(task, mine, suffix)]
    return out
