"""Plots of an ``adambench run`` results document (``experiments/training.py``).

* training loss against epoch per task, one line per optimizer at its chosen learning
  rate: the median over seeds, the band from the lowest to the highest seed (Kingma & Ba
  section 6 protocol, docs/theory.md §1.7: best of a learning-rate grid);
* final training loss against the learning rate per task, every grid point (the
  sensitivity the chosen rate hides), mean over seeds.

Several results files overlaid (``overlay.py``: entries tagged with their file's label)
are told apart by line style, the colour staying the optimizer's.
"""

from __future__ import annotations

import math
from typing import Any

from .figures import (
    Plot,
    colour,
    empty_note,
    legend,
    line_style,
    lr_lines,
    new_figure,
    numbers,
    series_of,
    with_series,
)

GRID_KEYS = ("lr", "beta1", "beta2")  # the searched hyperparameters (experiments/training.py)


def chosen_point(entry: dict[str, Any]) -> dict[str, Any] | None:
    """The chosen grid point: lr, and beta1/beta2 where searched (None: all diverged)."""
    chosen = entry.get("chosen")
    if not chosen:
        return None
    keys = [k for k in GRID_KEYS if k in chosen]
    for g in entry["grid"]:
        if all(math.isclose(float(g[k]), float(chosen[k]), rel_tol=1e-9) for k in keys):
            return g
    return None


def seed_band(curves: list[list[Any]]) -> tuple[list[float], list[float], list[float]]:
    """Median, lowest and highest over seeds at each epoch (NaN where none is finite)."""
    import numpy as np

    arr = np.array([numbers(c) for c in curves], dtype=np.float64)
    with np.errstate(all="ignore"):
        import warnings

        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            return (
                np.nanmedian(arr, axis=0).tolist(),
                np.nanmin(arr, axis=0).tolist(),
                np.nanmax(arr, axis=0).tolist(),
            )


def series_labels(t: dict[str, Any]) -> list[str]:
    """The results files' labels of an overlaid task (``overlay.py``), in order; [] for one."""
    return list(dict.fromkeys(e["series"] for e in t["optimizers"] if e.get("series")))


def loss_plot(t: dict[str, Any], data: str, suffix: str = "") -> Plot:
    name = t["task"]["name"]
    files = series_labels(t)
    fig = new_figure(height=4.0)
    ax = fig.add_subplot()
    drawn = 0
    positive = True
    for e in t["optimizers"]:
        g = chosen_point(e)
        if g is None or not g["train_loss_curves"]:
            continue
        med, lo, hi = seed_band(g["train_loss_curves"])
        epochs = list(range(len(med)))
        c = colour(e["optimizer"])
        lab = with_series(f"{e['optimizer']} (lr {float(g['lr']):g})", e)
        ls = line_style(e["optimizer"], series_of(e, files))
        ax.plot(epochs, med, color=c, ls=ls, lw=1.6, label=lab)
        ax.fill_between(epochs, lo, hi, color=c, alpha=0.18, lw=0)
        positive &= all(v > 0 for v in lo if v == v)
        drawn += 1
    if drawn:
        if positive:
            ax.set_yscale("log")
        legend(fig, ax=ax)
    else:
        empty_note(ax, "every run diverged")
    from matplotlib.ticker import MaxNLocator

    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_xlabel("epoch")
    ax.set_ylabel("training loss (whole set)")
    ax.set_title(f"{name} on {data}: training loss at each optimizer's chosen lr")
    return Plot(
        f"loss-{name}{suffix}",
        f"Training loss on {name}",
        "Median over seeds (line) and the range from the best to the worst seed (band), at "
        "the learning rate each optimizer chose from its grid (lowest mean final loss)."
        + (" Line style: results file." if files else ""),
        fig,
    )


def lr_plot(t: dict[str, Any], data: str, suffix: str = "") -> Plot:
    import numpy as np

    name = t["task"]["name"]
    files = series_labels(t)
    fig = new_figure(height=3.6)
    ax = fig.add_subplot()
    lines = []
    for e in t["optimizers"]:
        # One point per learning rate: the best over the beta grid, where one was searched.
        best: dict[float, float] = {}
        for g in e["grid"]:
            finals = [numbers(c)[-1] for c in g["train_loss_curves"] if c]
            lr = float(g["lr"])
            if finals and all(math.isfinite(v) for v in finals):
                best[lr] = min(best.get(lr, math.inf), float(np.mean(finals)))
            else:
                best.setdefault(lr, math.inf)
        xs = sorted(lr for lr, v in best.items() if math.isfinite(v))
        lines.append((
            xs,
            [best[lr] for lr in xs],
            sorted(lr for lr, v in best.items() if not math.isfinite(v)),
            colour(e["optimizer"]),
            line_style(e["optimizer"], series_of(e, files)),
            with_series(e["optimizer"], e),
        ))  # fmt: skip
    lr_lines(fig, ax, lines, f"{name} on {data}: learning-rate grid")
    return Plot(
        f"lr-grid-{name}{suffix}",
        f"Learning-rate grid on {name}",
        "Final training loss at every learning rate of the grid (mean over seeds; the best "
        "over the beta grid where one was searched); crosses at the top: a learning rate "
        "where a seed diverged at every grid point."
        + (" Line style: results file." if files else ""),
        fig,
    )


def plots(doc: dict[str, Any], suffix: str = "") -> list[Plot]:
    data = doc.get("data", {}).get("name") if isinstance(doc.get("data"), dict) else None
    data = data or str(doc["config"].get("data", "data"))
    out = []
    for t in doc["tasks"]:
        out.append(loss_plot(t, data, suffix))
        out.append(lr_plot(t, data, suffix))
    return out
