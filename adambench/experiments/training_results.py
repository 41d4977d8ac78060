"""What a batch of training runs amounts to: rows, the chosen grid point, the ranking.

Invariant: every number here is computed from the runs' own losses, over seeds.  A grid
point is eligible only when no seed diverged; the chosen point minimises the mean final
training loss (Kingma & Ba section 6, docs/theory.md §1.7); its loss is reported as the
geometric mean with the back-transformed t interval of the log losses
(``stats.log_t_interval``); optimizers are ranked by a paired t test across seeds
(``stats.paired_ranks``), and "epochs to target" is read off each chosen mean curve
against a target the caller fixed, never one derived from the entries.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from ..core.registry import get_rule
from ..engines.training import BatchResult
from ..stats import (
    LEVEL,
    RANK_LEVEL,
    RANK_NEEDS_SEEDS,
    RANK_TEST,
    log_t_interval,
    paired_ranks,
    t_interval,
)


def loss_interval(finals: Any, level: float = LEVEL) -> dict[str, Any]:
    """The final training losses of one grid point over seeds: their arithmetic ``mean``
    (what the grid search minimises), ``geometric_mean`` and its interval
    ``ci95_low``/``ci95_high`` (``stats.log_t_interval``), and ``interval``, the rule.

    A loss <= 0 (a plugin task's loss may be) has no log scale: then the Student-t
    interval of the mean (``stats.t_interval``), and ``interval`` says so.
    """
    v = np.asarray(finals, dtype=np.float64)
    mean = float(v.mean())
    n = v.size
    if (v > 0).all():
        gm, lo, hi = log_t_interval(v, level)
        rule = f"t on log(loss) across {n} seeds, back-transformed: geometric mean"
    else:
        gm = math.nan
        _, lo, hi = t_interval(v, level)
        rule = f"t across {n} seeds on the mean (a loss <= 0: no log scale)"
    if n < 2:
        rule = "none: one seed"
    return {"mean": mean, "geometric_mean": gm, "ci95_low": lo, "ci95_high": hi,
            "interval": rule}  # fmt: skip


def epochs_to(curve: np.ndarray, target: float) -> int | None:
    """First epoch whose (mean) training loss is <= target; None if never."""
    hit = np.flatnonzero(np.asarray(curve) <= target)
    return int(hit[0]) if hit.size else None


def point_rows(
    task: str,
    optimizer: str,
    points: Sequence[Mapping[str, Any]],
    seeds: list[int],
    res: BatchResult,
) -> list[dict[str, Any]]:
    """One row per grid point of a batch (runs point-major, as ``batch_hyperparameters``):
    final training loss, its mean and t interval over seeds (``stats.t_interval``; None
    for the mean when a seed diverged), test loss and accuracy per seed, mean curve."""
    S = len(seeds)
    out = []
    for i, point in enumerate(points):
        r = slice(i * S, (i + 1) * S)
        finals = res.train_loss[r, -1]
        diverged = bool(res.diverged[r].any())
        mean, lo, hi = t_interval(finals)
        out.append(
            {
                "task": task,
                "optimizer": optimizer,
                "point": ", ".join(f"{k}={v}" for k, v in point.items()),
                "hyperparameters": dict(point),
                "seeds": seeds,
                "final_train_loss": None if diverged else mean,
                "final_train_loss_interval": [lo, hi],
                "final_train_loss_per_seed": finals,
                "test_loss_per_seed": res.test_loss[r],
                "test_accuracy_per_seed": res.test_accuracy[r],
                "diverged_epoch": [int(x) if x >= 0 else None for x in res.diverged_epoch[r]],
                "train_loss_mean_curve": res.train_loss[r].mean(axis=0),
            }
        )
    return out


def weight_decays(opt: str, grid: Sequence[Mapping[str, Any]]) -> list[float] | None:
    """The weight_decay values ``opt`` trained with: those of its grid points (``--weight-
    decay``), else its training default (``Rule.train_hp``, else the ``Param``'s), so that
    a rule's own default (AdamW's 0.01) is on record; None for a rule without one."""
    rule = get_rule(opt)
    if "weight_decay" not in {p.name for p in rule.params}:
        return None
    if grid and "weight_decay" in grid[0]:
        return sorted({float(hp["weight_decay"]) for hp in grid})
    return [float(rule.train_hp.get("weight_decay", rule.param("weight_decay").default))]


def summarise(
    opt: str, grid: list[dict[str, float]], seeds: list[int], res: BatchResult
) -> dict[str, Any]:
    """Per-grid-point results, the chosen point (lr, and betas if searched), its statistics."""
    k = len(seeds)
    points = []
    for i, hp in enumerate(grid):
        rows = slice(i * k, (i + 1) * k)
        finals = res.train_loss[rows, -1]
        div = res.diverged[rows]
        points.append(
            {
                **hp,
                "seeds": seeds,
                "final_train_loss": finals,
                "mean_final_train_loss": float(finals.mean()) if not div.any() else None,
                "diverged_epoch": [int(e) if e >= 0 else None for e in res.diverged_epoch[rows]],
                "test_loss": res.test_loss[rows],
                "test_accuracy": res.test_accuracy[rows],
                "train_loss_curves": res.train_loss[rows],
            }
        )
    scores = [p["mean_final_train_loss"] for p in points]
    eligible = [i for i, s in enumerate(scores) if s is not None and math.isfinite(s)]
    trained = res.times["data"] + res.times["forward_backward"] + res.times["optimizer"]
    runs = len(grid) * k
    out: dict[str, Any] = {
        "optimizer": opt,
        "hyperparameters": dict(get_rule(opt).train_hp),
        "weight_decay": weight_decays(opt, grid),
        "grid": points,
        "diverged_runs": int(res.diverged.sum()),
        "runs": runs,
        "timing": {
            **{f"{key}_seconds": v for key, v in res.times.items()},
            "epoch_seconds_batch": res.epoch_seconds,
            "epoch_seconds_per_run": float(np.median(res.epoch_seconds)) / runs,
            "optimizer_share": res.times["optimizer"] / trained if trained else math.nan,
            "forward_backward_share": res.times["forward_backward"] / trained
            if trained
            else math.nan,
        },
        "chosen": None,
    }
    if not eligible:
        return out
    best = min(eligible, key=lambda i: scores[i])
    p = points[best]
    lrs = sorted({hp["lr"] for hp in grid})
    out["chosen"] = {
        **grid[best],
        "on_grid_edge": len(lrs) > 1 and grid[best]["lr"] in (lrs[0], lrs[-1]),
        "final_train_loss": loss_interval(p["final_train_loss"]),
        "test_loss": float(np.mean(p["test_loss"])),
        "test_accuracy": float(np.mean(p["test_accuracy"])),
        "mean_curve": p["train_loss_curves"].mean(axis=0),
        "final_train_loss_per_seed": p["final_train_loss"],
    }
    return out


def ranking_info(n_seeds: int, level: float = RANK_LEVEL) -> dict[str, Any]:
    """What a task's ranking rests on (the task's ``ranking`` entry of the results)."""
    note = (
        RANK_NEEDS_SEEDS
        if n_seeds < 2
        else f"each pair tested at the {100 * level:g}% level, not corrected for multiple "
        "comparisons; k= marks a tie"
    )
    return {"test": RANK_TEST, "level": level, "seeds": n_seeds, "note": note}


def rank_and_target(entries: list[dict[str, Any]], target: float | None) -> float | None:
    """Add ``rank``, ``rank_label`` and ``better_than`` (``paired_ranks`` on the per-seed
    final training losses of each chosen point) and ``epochs_to_target`` (None when
    ``target`` is None or never reached) in place; return ``target``.

    The target is the caller's (``--target`` or ``default_target``), never derived from
    the entries: adding an optimizer changes no other optimizer's epochs.
    """
    per_seed = {
        e["optimizer"]: None if e["chosen"] is None else e["chosen"]["final_train_loss_per_seed"]
        for e in entries
    }
    ranked = paired_ranks(per_seed)
    for e in entries:
        e.update(ranked[e["optimizer"]])
    for e in entries:
        if e["chosen"] is not None:
            e["chosen"]["epochs_to_target"] = (
                epochs_to(e["chosen"]["mean_curve"], target) if target is not None else None
            )
    return target
