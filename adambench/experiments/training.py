"""The ``adambench run`` engine: every optimizer on every task, a hyperparameter grid each.

Protocol (Kingma & Ba section 6, docs/theory.md §1.7): the same initialisation and the same
minibatches for every optimizer (a function of the seed), each optimizer's learning
rate (and, where asked, beta1 and beta2) searched over a grid, the best grid point by
final training loss (mean over seeds) reported.  A grid point where any seed diverged
(NaN/Inf) is not eligible.  For each task the runs of one optimizer (grid points x
seeds) train as one batch, with per-run hyperparameter vectors.  Optimizers are ranked
with ties decided by a paired t test across seeds (``paired_ranks``).

Reported per chosen point: the final training loss over seeds as its geometric mean and
the t interval of the log losses, back-transformed (``stats.log_t_interval``: a loss is
positive, and so is every end of its interval); "epochs to target", the first epoch whose
mean curve is at or below the target loss, by default ``TARGET_FRACTION`` of the task's
mean initial training loss over seeds (epoch 0: the start every optimizer shares for a
seed, evaluated once per task), so that the target, and every optimizer's epochs,
depend on the task and the seeds, never on which other optimizers are trained.

A run is planned and costed before it starts (``plan_batches``, ``estimate``: real steps
timed on this machine, ``engines/training_cost.measure_cost``), and an interrupted one keeps
what it finished (``run_benchmark``'s ``done``: every finished task, then the finished
optimizers of the current one, marked ``"complete": false``).
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
from ..engines.training import TaskData, initial_losses, train_batch
from ..engines.training_cost import StepCost, measure_cost
from ..problems.catalog import make_task
from ..problems.data import Dataset
from . import grid
from .training_results import rank_and_target, ranking_info, summarise

# Every built-in rule, in registry order.  What each trains with is declared on its
# rule (core/rules/): ``Rule.train_hp``, hyperparameters other than the learning rate
# (e.g. SGD's Nesterov momentum 0.9: the paper names "SGD with Nesterov momentum"
# without a value, docs/theory.md §1.7), and ``Rule.train_lr``, the centre of its default lr
# grid per schedule, chosen from a sweep over 1e-5..1 in half decades on the digits (20
# epochs, one seed) so that the default grid brackets each optimizer's best; the
# alpha/sqrt(t) schedule (logreg, section 6.1) needs larger alpha.  ``--lr-grid``
# replaces the grids; a best value on the edge of its grid is flagged in the table.
OPTIMIZERS = tuple(RULES)

# The default target of "epochs to target": this fraction of the task's mean initial
# training loss over seeds.  A tenfold cut of the cross-entropy (log 10 = 2.30 at the
# start on ten classes), which every built-in optimizer reaches at its best grid point on
# the digits in 10 epochs (tests/engines/test_training.py); the VAE's negative ELBO
# falls to about 0.42 of its start in 20 epochs there, so its target is half the start.
TARGET_FRACTION: dict[str, float] = {"vae": 0.5}
TARGET_FRACTION_DEFAULT = 0.1


def target_fraction(task: str) -> float:
    """The fraction of the initial loss that is the task's default target."""
    return TARGET_FRACTION.get(task, TARGET_FRACTION_DEFAULT)


def default_target(task: str, initial: Sequence[float]) -> float | None:
    """``target_fraction(task)`` x the mean over seeds of the initial training losses
    (``engines/training.initial_losses``); None when one is not finite."""
    v = np.asarray(initial, dtype=np.float64)
    if v.size == 0 or not np.isfinite(v).all():
        return None
    return target_fraction(task) * float(v.mean())


def target_rule(task: str, target: float | None) -> str:
    """What the task's target loss is, in words (the results document says it)."""
    if target is not None:
        return "--target"
    return (
        f"{target_fraction(task):g} x the mean initial training loss over seeds (epoch 0, "
        "the same start for every optimizer)"
    )


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
    # weight_decay grid, for optimizers that have it (each rule's own: L2 or decoupled)
    weight_decay_grid: tuple[float, ...] | None = None
    batch_size: int = 128
    dtype: str = "float32"
    width: float = 0.25
    target: float | None = None  # None: default_target (a fraction of the initial loss)
    backend: str = "numpy"  # numpy | cupy: where the runs train


def grid_points(opt: str, lrs: list[float], cfg: RunConfig) -> list[dict[str, float]]:
    """The product lr x beta1 x beta2 x weight_decay for ``opt`` (``grid.expand``); a
    beta or weight_decay grid only where ``opt`` has that hyperparameter."""
    rule = get_rule(opt)
    names = {p.name for p in rule.params}
    axes: dict[str, Any] = {"lr": list(lrs)}
    searched = (("beta1", cfg.beta1_grid), ("beta2", cfg.beta2_grid),
                ("weight_decay", cfg.weight_decay_grid))  # fmt: skip
    for name, values in searched:
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


@dataclass(frozen=True)
class Batch:
    """One optimizer's batch of runs on one task: its grid points x the seeds."""

    task: str
    optimizer: str
    points: list[dict[str, Any]]
    n_seeds: int

    @property
    def runs(self) -> int:
        return len(self.points) * self.n_seeds


def task_batches(cfg: RunConfig, task: Any) -> list[Batch]:
    """The batches ``run_benchmark`` trains on ``task``, in order (one per optimizer)."""
    out = []
    for opt in cfg.optimizers:
        lr_list = list(cfg.lr_grid) if cfg.lr_grid else default_grid(opt, task.lr_schedule)
        out.append(Batch(task.name, opt, grid_points(opt, lr_list, cfg), len(cfg.seeds)))
    return out


def _make_task(name: str, data: Dataset, cfg: RunConfig) -> Any:
    return make_task(name, data.n_features, data.n_classes, data.image_shape, cfg.width)


def _batch_inputs(batch: Batch, cfg: RunConfig) -> tuple[np.ndarray, np.ndarray, dict]:
    """Learning rates, seeds and hyperparameters of a batch's runs (point-major)."""
    rule = get_rule(batch.optimizer)
    lrs, batched = batch_hyperparameters(rule, batch.points, len(cfg.seeds))
    seeds = np.tile(np.asarray(cfg.seeds, dtype=np.int64), len(batch.points))
    return lrs, seeds, {**rule.train_hp, **batched}


def estimate(
    cfg: RunConfig, data: Dataset, on_measure: Callable[[str], None] | None = None
) -> dict[str, Any]:
    """The plan of ``run_benchmark(cfg, data)`` and its cost, before it runs.

    Per task, each distinct batch size (runs) is measured once
    (``engines/training_cost.measure_cost``: real steps of the first optimizer with that many
    runs, with its own hyperparameters, on this machine) and every batch of that size is
    costed from it: epochs x (n / m steps + n evaluated examples) + the test set + the
    initial evaluation, n training examples in minibatches of m.  A measurement takes
    well under a second to a few seconds; nothing is kept.  ``on_measure(task)`` is
    called before each task's measurements (a status line).
    """
    dtype = np.dtype(cfg.dtype)
    n = int(data.x_train.shape[0])
    n_test = int(data.x_test.shape[0])
    tasks = []
    for name in cfg.tasks:
        if on_measure is not None:
            on_measure(name)
        task = _make_task(name, data, cfg)
        prepared = TaskData.prepare(task, data, dtype, module(cfg.backend))
        data_bytes = sum(int(a.nbytes) for a in vars(prepared).values())
        costs: dict[int, StepCost] = {}
        batches = []
        for batch in task_batches(cfg, task):
            if batch.runs not in costs:
                lrs, seeds, hps = _batch_inputs(batch, cfg)
                costs[batch.runs] = measure_cost(
                    task, prepared, batch.optimizer, lrs, seeds, cfg.batch_size, dtype,
                    hps or None,
                )  # fmt: skip
            c = costs[batch.runs]
            per_epoch = n / c.batch_size * c.step_seconds + n * c.eval_seconds_per_example
            once = (n + n_test) * c.eval_seconds_per_example
            batches.append(
                {
                    "optimizer": batch.optimizer,
                    "grid_points": len(batch.points),
                    "runs": batch.runs,
                    "epoch_seconds": per_epoch,
                    "seconds": cfg.epochs * per_epoch + once,
                    "array_bytes": c.array_bytes,
                }
            )
        c0 = costs[min(costs)]
        initial = n * c0.eval_seconds_per_example * len(cfg.seeds) / c0.runs
        tasks.append(
            {
                "task": name,
                "parameters": task.size,
                "batches": batches,
                "seconds": initial + sum(b["seconds"] for b in batches),
                "peak_bytes": data_bytes + max(b["array_bytes"] for b in batches),
                "measured": [
                    {
                        "runs": k,
                        "step_seconds": v.step_seconds,
                        "steps_timed": v.steps_timed,
                        "eval_seconds_per_example": v.eval_seconds_per_example,
                        "batch_size": v.batch_size,
                    }
                    for k, v in costs.items()
                ],  # fmt: skip
            }
        )
    return {
        "method": "timed: real training steps (median) and an evaluation slice of each "
        "task's batches, on this machine, before the run (engines/training_cost.measure_cost)",
        "tasks": tasks,
        "seconds": sum(t["seconds"] for t in tasks),
        "peak_bytes": max(t["peak_bytes"] for t in tasks),
        "runs": sum(b["runs"] for t in tasks for b in t["batches"]),
    }


def run_benchmark(
    cfg: RunConfig,
    data: Dataset,
    on_epoch: Callable[[str, str, int], None] | None = None,
    done: list[dict[str, Any]] | None = None,
) -> list[dict[str, Any]]:
    """Train every (task, optimizer) of ``cfg`` on ``data``; one dict per task.

    ``done``: the list the task dicts are appended to as each task finishes (returned);
    on an interrupt (KeyboardInterrupt) the finished optimizers of the current task are
    appended too, as a task marked ``"complete": false`` with its ``missing_optimizers``
    (ranked among themselves, against the same target), then the interrupt goes on.
    """
    dtype = np.dtype(cfg.dtype)
    out = [] if done is None else done
    for name in cfg.tasks:
        task = _make_task(name, data, cfg)
        prepared = TaskData.prepare(task, data, dtype, module(cfg.backend))
        start = initial_losses(task, prepared, cfg.seeds, dtype)
        target = cfg.target if cfg.target is not None else default_target(name, start)
        entries: list[dict[str, Any]] = []
        try:
            for batch in task_batches(cfg, task):
                lrs, seeds, hps = _batch_inputs(batch, cfg)
                opt = batch.optimizer
                cb = (lambda e, _o=opt, _t=name: on_epoch(_t, _o, e)) if on_epoch else None
                res = train_batch(
                    task, prepared, opt, lrs, seeds, cfg.epochs, cfg.batch_size, dtype,
                    hps or None, cb,
                )  # fmt: skip
                entries.append(summarise(opt, batch.points, list(cfg.seeds), res))
        except KeyboardInterrupt:
            if entries:
                out.append(_task_doc(task, cfg, start, target, entries))
            raise
        out.append(_task_doc(task, cfg, start, target, entries))
    return out


def _task_doc(
    task: Any, cfg: RunConfig, start: np.ndarray, target: float | None, entries: list[dict]
) -> dict[str, Any]:
    """One task's section of the results: ranked entries, target and how it was set."""
    rank_and_target(entries, target)
    trained = [e["optimizer"] for e in entries]
    doc: dict[str, Any] = {
        "task": task.describe(),
        "complete": len(entries) == len(cfg.optimizers),
        "initial_train_loss": {"mean": float(np.mean(start)), "per_seed": start},
        "target_loss": target,
        "target_rule": target_rule(task.name, cfg.target),
        "ranking": ranking_info(len(cfg.seeds)),
        "optimizers": entries,
    }
    if not doc["complete"]:
        doc["missing_optimizers"] = [o for o in cfg.optimizers if o not in trained]
        doc["ranking"]["note"] += (
            f"; interrupted: ranked among the {len(entries)} optimizer(s) that finished"
        )
    return doc


def config_dict(cfg: RunConfig) -> dict[str, Any]:
    """The configuration as plain data for the results file."""
    return asdict(cfg)
