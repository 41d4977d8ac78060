"""The ``adambench run`` engine: every optimizer on every task, a hyperparameter grid each.

Protocol (Kingma & Ba section 6, paper-spec 1.7): the same initialisation and the same
minibatches for every optimizer (a function of the seed), each optimizer's learning
rate (and, where asked, beta1 and beta2) searched over a grid, the best grid point by
final training loss (mean over seeds) reported.  A grid point where any seed diverged
(NaN/Inf) is not eligible.  For each task the runs of one optimizer (grid points x
seeds) train as one batch, with per-run hyperparameter vectors.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from ..core.backend import module
from ..engines.training import BatchResult, TaskData, train_batch
from ..problems.data import Dataset
from ..problems.nn import make_task

OPTIMIZERS = ("adam", "adamax", "adagrad", "rmsprop-momentum", "adam-nobias", "amsgrad", "sgd")

# Hyperparameters other than the learning rate.  The paper names "SGD with Nesterov
# momentum" without a momentum value (paper-spec 1.7); 0.9 is the common choice.
OPTIMIZER_HP: dict[str, dict[str, Any]] = {"sgd": {"momentum": 0.9, "nesterov": True}}

# Middle of each optimizer's default 5-point grid (center x 10^{-1, -1/2, 0, 1/2, 1}),
# per schedule.  Chosen from a sweep over 1e-5..1 in half decades on the digits
# (20 epochs, one seed) so that the default grid brackets each optimizer's best; the
# alpha/sqrt(t) schedule (logreg, section 6.1) needs larger alpha.  ``--lr-grid``
# replaces them; a best value on the edge of its grid is flagged in the table.
GRID_CENTERS: dict[str, dict[str, float]] = {
    "constant": {
        "adam": 3e-3,
        "adamax": 1e-2,
        "adagrad": 3e-2,
        "rmsprop-momentum": 3e-4,
        "adam-nobias": 3e-3,
        "amsgrad": 3e-3,
        "sgd": 3e-2,
    },
    "inv_sqrt": {
        "adam": 1e-1,
        "adamax": 3e-1,
        "adagrad": 1.0,
        "rmsprop-momentum": 1e-2,
        "adam-nobias": 3e-2,
        "amsgrad": 3e-2,
        "sgd": 1.0,
    },
}


def default_grid(optimizer: str, schedule: str) -> list[float]:
    """Five points of the half-decade ladder ..., 1e-3, 3e-3, 1e-2, ... centred on the
    optimizer's usual value for this schedule."""
    mid = round(2 * math.log10(GRID_CENTERS[schedule][optimizer]))
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


def t_interval(values: np.ndarray, level: float = 0.95) -> tuple[float, float, float]:
    """Mean and Student-t confidence interval over seeds (NaN bounds for one seed)."""
    from scipy import stats

    v = np.asarray(values, dtype=np.float64)
    mean = float(v.mean())
    if v.size < 2 or not np.isfinite(v).all():
        return mean, math.nan, math.nan
    sem = float(stats.sem(v))
    if sem == 0.0:
        return mean, mean, mean
    lo, hi = stats.t.interval(level, v.size - 1, loc=mean, scale=sem)
    return mean, float(lo), float(hi)


def epochs_to(curve: np.ndarray, target: float) -> int | None:
    """First epoch whose (mean) training loss is <= target; None if never."""
    hit = np.flatnonzero(np.asarray(curve) <= target)
    return int(hit[0]) if hit.size else None


def grid_points(opt: str, lrs: list[float], cfg: RunConfig) -> list[dict[str, float]]:
    """The product lr x beta1 x beta2 for ``opt``; a beta grid only where ``opt`` has it."""
    from ..core.registry import get_rule

    names = {p.name for p in get_rule(opt).params}
    axes: list[tuple[str, tuple[float, ...]]] = [("lr", tuple(lrs))]
    for name, values in (("beta1", cfg.beta1_grid), ("beta2", cfg.beta2_grid)):
        if values and name in names:
            axes.append((name, values))
    keys = [k for k, _ in axes]
    return [
        dict(zip(keys, combo, strict=True)) for combo in itertools.product(*(v for _, v in axes))
    ]


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
        "hyperparameters": OPTIMIZER_HP.get(opt, {}),
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
    }
    return out


def rank_and_target(entries: list[dict[str, Any]], target: float | None) -> float | None:
    """Add ``rank`` (1 = lowest final training loss) and ``epochs_to_target`` in place;
    return the target used (default: the worst chosen optimizer's final mean loss)."""
    ok = [e for e in entries if e["chosen"] is not None]
    ok.sort(key=lambda e: e["chosen"]["final_train_loss"]["mean"])
    for r, e in enumerate(ok, start=1):
        e["rank"] = r
    for e in entries:
        e.setdefault("rank", None)
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
            k = len(cfg.seeds)
            lrs = np.repeat([hp["lr"] for hp in grid], k).astype(np.float64)
            seeds = np.tile(np.asarray(cfg.seeds, dtype=np.int64), len(grid))
            hps = dict(OPTIMIZER_HP.get(opt, {}))
            for beta in ("beta1", "beta2"):
                if beta in grid[0]:
                    hps[beta] = np.repeat([hp[beta] for hp in grid], k).astype(np.float64)
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
        out.append({"task": task.describe(), "target_loss": target, "optimizers": entries})
    return out


def config_dict(cfg: RunConfig) -> dict[str, Any]:
    """The configuration as plain data for the results file."""
    return asdict(cfg)
