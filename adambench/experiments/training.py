"""The ``adambench run`` engine: every optimizer on every task, a hyperparameter grid each.

Protocol (Kingma & Ba section 6, docs/theory.md §1.7): the same initialisation and the same
minibatches for every optimizer (a function of the seed), each optimizer's learning
rate (and, where asked, beta1 and beta2) searched over a grid, the best grid point by
final training loss (mean over seeds) reported.  A grid point where any seed diverged
(NaN/Inf) is not eligible.  For each task the runs of one optimizer (grid points x
seeds) train as one batch, with per-run hyperparameter vectors.  Optimizers are ranked
with ties decided by a paired t test across seeds (``paired_ranks``).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from ..core.backend import module
from ..core.registry import RULES, get_rule
from ..core.spec import Rule
from ..engines.training import BatchResult, TaskData, train_batch
from ..problems.data import Dataset
from ..problems.nn import make_task
from ..stats import RANK_LEVEL, RANK_NEEDS_SEEDS, RANK_TEST, paired_ranks, t_interval
from . import grid

# Every built-in rule, in registry order.  What each trains with is declared on its
# rule (core/rules/): ``Rule.train_hp``, hyperparameters other than the learning rate
# (e.g. SGD's Nesterov momentum 0.9: the paper names "SGD with Nesterov momentum"
# without a value, docs/theory.md §1.7), and ``Rule.train_lr``, the centre of its default lr
# grid per schedule, chosen from a sweep over 1e-5..1 in half decades on the digits (20
# epochs, one seed) so that the default grid brackets each optimizer's best; the
# alpha/sqrt(t) schedule (logreg, section 6.1) needs larger alpha.  ``--lr-grid``
# replaces the grids; a best value on the edge of its grid is flagged in the table.
OPTIMIZERS = tuple(RULES)


def default_grid(optimizer: str, schedule: str) -> list[float]:
    """Five points of the half-decade ladder ..., 1e-3, 3e-3, 1e-2, ... centred on the
    optimizer's usual value for this schedule (``Rule.train_lr[schedule]``)."""
    mid = round(2 * math.log10(get_rule(optimizer).train_lr[schedule]))
    return [float(f"{10.0 ** (n // 2) * (3 if n % 2 else 1):.1g}") for n in range(mid - 2, mid + 3)]


@dataclass(frozen=True)
class RunConfig:
    """What ``adambench run`` trains (validated by the CLI)."""

    tasks: tuple[str, ...] = ("logreg", "mlp")
    optimizers: tuple[str, ...] = OPTIMIZERS
    epochs: int = 20
    seeds: tuple[int, ...] = (0, 1, 2)
    lr_grid: tuple[float, ...] | None = None  # None: per-optimizer default grids
    # beta1 / beta2 grids, for the optimizers that have that hyperparameter (None: default)
    beta1_grid: tuple[float, ...] | None = None
    beta2_grid: tuple[float, ...] | None = None
    batch_size: int = 128
    dtype: str = "float32"
    width: float = 0.25
    target: float | None = None  # None: the worst optimizer's final mean training loss
    backend: str = "numpy"  # numpy | cupy: where the runs train


def epochs_to(curve: np.ndarray, target: float) -> int | None:
    """First epoch whose (mean) training loss is <= target; None if never."""
    hit = np.flatnonzero(np.asarray(curve) <= target)
    return int(hit[0]) if hit.size else None


def grid_points(opt: str, lrs: list[float], cfg: RunConfig) -> list[dict[str, float]]:
    """The product lr x beta1 x beta2 for ``opt`` (``grid.expand``); a beta grid only
    where ``opt`` has it."""
    rule = get_rule(opt)
    names = {p.name for p in rule.params}
    axes: dict[str, Any] = {"lr": list(lrs)}
    for name, values in (("beta1", cfg.beta1_grid), ("beta2", cfg.beta2_grid)):
        if values and name in names:
            axes[name] = list(values)
    return grid.expand(rule, {}, axes)


def batch_hyperparameters(
    rule: Rule, points: Sequence[Mapping[str, Any]], n_seeds: int
) -> tuple[np.ndarray, dict[str, Any]]:
    """The learning rates and other hyperparameters of a batch of points x seeds.

    The rule: run r is point r // n_seeds with seed r % n_seeds; the learning rate and
    every other float hyperparameter of the points become per-run vectors (each point's
    value repeated n_seeds times); a non-float setting, the same for every point of a
    batch, is passed as its one value (the first point's).
    """
    lrs = np.repeat([float(hp["lr"]) for hp in points], n_seeds)
    hp: dict[str, Any] = {}
    for k in points[0]:
        if k == "lr":
            continue
        if rule.param(k).kind == "float":
            hp[k] = np.repeat([float(p[k]) for p in points], n_seeds)
        else:
            hp[k] = points[0][k]
    return lrs, hp


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
    mean, lo, hi = t_interval(p["final_train_loss"])
    lrs = sorted({hp["lr"] for hp in grid})
    out["chosen"] = {
        **grid[best],
        "on_grid_edge": len(lrs) > 1 and grid[best]["lr"] in (lrs[0], lrs[-1]),
        "final_train_loss": {"mean": mean, "ci95_low": lo, "ci95_high": hi},
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
    final training losses of each chosen point) and ``epochs_to_target`` in place; return
    the target used (default: the worst chosen optimizer's final mean loss)."""
    per_seed = {
        e["optimizer"]: None if e["chosen"] is None else e["chosen"]["final_train_loss_per_seed"]
        for e in entries
    }
    ranked = paired_ranks(per_seed)
    for e in entries:
        e.update(ranked[e["optimizer"]])
    ok = [e for e in entries if e["chosen"] is not None]
    ok.sort(key=lambda e: e["chosen"]["final_train_loss"]["mean"])
    if target is None and ok:
        target = ok[-1]["chosen"]["final_train_loss"]["mean"]
    for e in ok:
        e["chosen"]["epochs_to_target"] = (
            epochs_to(e["chosen"]["mean_curve"], target) if target is not None else None
        )
    return target


def run_benchmark(
    cfg: RunConfig, data: Dataset, on_epoch: Callable[[str, str, int], None] | None = None
) -> list[dict[str, Any]]:
    """Train every (task, optimizer) of ``cfg`` on ``data``; one dict per task."""
    dtype = np.dtype(cfg.dtype)
    out = []
    for name in cfg.tasks:
        task = make_task(name, data.n_features, data.n_classes, data.image_shape, cfg.width)
        prepared = TaskData.prepare(task, data, dtype, module(cfg.backend))
        entries = []
        for opt in cfg.optimizers:
            lr_list = list(cfg.lr_grid) if cfg.lr_grid else default_grid(opt, task.lr_schedule)
            grid = grid_points(opt, lr_list, cfg)
            rule = get_rule(opt)
            lrs, batched = batch_hyperparameters(rule, grid, len(cfg.seeds))
            seeds = np.tile(np.asarray(cfg.seeds, dtype=np.int64), len(grid))
            hps = {**rule.train_hp, **batched}
            cb = (lambda e, _o=opt, _t=name: on_epoch(_t, _o, e)) if on_epoch else None
            res = train_batch(
                task,
                prepared,
                opt,
                lrs,
                seeds,
                cfg.epochs,
                cfg.batch_size,
                dtype,
                hps or None,
                cb,
            )
            entries.append(summarise(opt, grid, list(cfg.seeds), res))
        target = rank_and_target(entries, cfg.target)
        out.append(
            {
                "task": task.describe(),
                "target_loss": target,
                "ranking": ranking_info(len(cfg.seeds)),
                "optimizers": entries,
            }
        )
    return out


def config_dict(cfg: RunConfig) -> dict[str, Any]:
    """The configuration as plain data for the results file."""
    return asdict(cfg)
