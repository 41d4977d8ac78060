"""What one training step and one evaluation cost, measured on this machine.

Invariant: a cost is measured, never guessed.  ``measure_cost`` runs a few real training
steps of a batch (the same runs, minibatch size, dtype and optimizer that
``engines/training.train_batch`` would train) and one evaluation of a slice of the
training set, and returns the per-step and per-example seconds and the peak memory that
``experiments/training.estimate`` turns into a run's cost before the run starts
(docs/design.md, "Costs are measured before a run").
"""

from __future__ import annotations

import math
import statistics
import time
import tracemalloc
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..core.backend import array_module, synchronize
from ..core.optimizer import make_optimizer
from ..problems.nn import Task
from .training import EVAL_SEED, Evaluator, TaskData, seed_rng, stack_noise, warm_up


@dataclass(frozen=True)
class StepCost:
    """Measured costs of one batch of ``runs`` runs (``measure_cost``).

    ``step_seconds``: one training step (minibatch, forward/backward, ``opt.step``) of the
    whole batch, the median of ``steps_timed`` steps after an untimed one;
    ``eval_seconds_per_example``: evaluating every run on one example (timed on a slice of
    ``eval_examples_timed`` examples); ``array_bytes``: the peak memory of the batch's
    arrays (parameters, gradients, optimizer state, the larger of one step's and one
    evaluation chunk's temporaries), host memory traced by ``tracemalloc`` on NumPy,
    the memory pool's blocks on CuPy.
    """

    runs: int
    batch_size: int
    step_seconds: float
    eval_seconds_per_example: float
    steps_timed: int
    eval_examples_timed: int
    array_bytes: int


def _traced_peak(xp: Any, fn: Callable[[], Any]) -> tuple[int, int]:
    """Bytes allocated while ``fn`` runs, above what was allocated before: the peak, and
    what is still held when it returns."""
    if xp is not np:
        pool = xp.get_default_memory_pool()
        before = pool.used_bytes()
        fn()
        synchronize(xp)
        held = max(0, int(pool.used_bytes()) - int(before))
        return max(held, int(pool.total_bytes()) - int(before)), held
    started = not tracemalloc.is_tracing()
    if started:
        tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        base = tracemalloc.get_traced_memory()[0]
        fn()
        now, peak = tracemalloc.get_traced_memory()
        return max(0, peak - base), max(0, now - base)
    finally:
        if started:
            tracemalloc.stop()


def measure_cost(
    task: Task,
    data: TaskData,
    optimizer: str,
    lrs: Any,
    seeds: Any,
    batch_size: int = 128,
    dtype: Any = np.float32,
    hyperparameters: dict[str, Any] | None = None,
    seconds: float = 0.2,
    min_steps: int = 3,
    max_steps: int = 20,
) -> StepCost:
    """Time real steps of the batch ``train_batch`` would train (same runs, minibatch
    size, dtype and rule) and one evaluation slice; trace its memory.

    After one untimed step (first-touch page faults; the kernel is compiled by the
    warm-up), at least ``min_steps`` and at most ``max_steps`` steps are timed, until
    ``seconds`` have passed; the median is the step cost.  The evaluation is timed on
    min(chunk, 512) examples after one untimed pass.  Nothing is kept: the trained
    parameters are thrown away.
    """
    lrs = np.asarray(lrs, dtype=np.float64).reshape(-1)
    seeds = np.asarray(seeds, dtype=np.int64).reshape(-1)
    xp = array_module(data.x_train)
    dtype = np.dtype(dtype)
    b = lrs.size
    uniq, inv = np.unique(seeds, return_inverse=True)
    params = np.stack([task.init_params(seed_rng(s, 0), dtype) for s in uniq])[inv]
    params = xp.ascontiguousarray(xp.asarray(params))
    hp = {"lr": lrs, "lr_schedule": task.lr_schedule, **(hyperparameters or {})}
    opt = make_optimizer(optimizer, **hp)
    warm_up(opt, params)
    n = int(data.x_train.shape[0])
    m = min(batch_size, n)
    order = [seed_rng(s, 1) for s in uniq]
    noise_rng = [seed_rng(s, 2) for s in uniq]
    perms = np.stack([r.permutation(n) for r in order])
    evaluator = Evaluator(task, data, b)
    k = min(evaluator.chunk, n, 512)
    held: dict[str, Any] = {}

    def step(i: int) -> None:
        start = (i * m) % max(1, n - m + 1)
        idx = perms[:, start : start + m][inv]
        xb, yb = data.x_train[xp.asarray(idx)], data.y_train[xp.asarray(idx)]
        noise = stack_noise([task.sample_noise(r, m, True) for r in noise_rng], inv, xp, dtype)
        task.loss_and_grad(params, xb, yb, noise, held["grads"])
        opt.step(params, held["grads"], held["state"])
        synchronize(xp)

    def setup_and_step() -> None:
        held["grads"] = xp.zeros_like(params)
        held["state"] = opt.init(params)
        step(0)

    def evaluate() -> None:
        nz = task.sample_noise(np.random.default_rng(EVAL_SEED), k, False)
        nz = {key: xp.asarray(v[None], dtype=params.dtype) for key, v in nz.items()}
        task.evaluate(params, data.x_train[None, :k], data.y_train[None, :k], nz)
        synchronize(xp)

    with np.errstate(all="ignore"):
        step_peak, persistent = _traced_peak(xp, setup_and_step)  # the untimed step
        times: list[float] = []
        t_end = time.perf_counter() + seconds
        while len(times) < max_steps and (len(times) < min_steps or time.perf_counter() < t_end):
            t0 = time.perf_counter()
            step(len(times) + 1)
            times.append(time.perf_counter() - t0)
        eval_peak, _ = _traced_peak(xp, evaluate)  # also the untimed evaluation
        t0 = time.perf_counter()
        evaluate()
        eval_seconds = time.perf_counter() - t0
    # the evaluation's temporaries grow with its chunk: scaled from the timed slice
    chunk = min(evaluator.chunk, n)
    eval_bytes = int(math.ceil(eval_peak * chunk / k))
    return StepCost(
        runs=b,
        batch_size=m,
        step_seconds=float(statistics.median(times)),
        eval_seconds_per_example=eval_seconds / k,
        steps_timed=len(times),
        eval_examples_timed=k,
        array_bytes=int(params.nbytes) + max(step_peak, persistent + eval_bytes),
    )
