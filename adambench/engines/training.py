"""Minibatch training of a batch of runs: B parameter vectors advanced together.

The runs of a batch share a task, a data set and an optimizer rule, and differ by
seed and hyperparameters (per-run vectors, e.g. one learning rate per grid point).
One step draws each run's minibatch, evaluates every run's loss and gradient in one
batched forward/backward pass, and calls ``opt.step`` once on the (B, d) parameters
(docs/design.md, "Batched runs").  Everything random about run r is a function of its seed
alone (initialisation, minibatch order, dropout and VAE noise), so a run gives the same
numbers whether it is trained alone or batched with others, and every optimizer and
learning rate with seed s starts from the same parameters and sees the same minibatches
(the paper's protocol, section 6: "same initialisation for all optimisers").

A run whose loss or parameters become NaN/Inf is marked diverged (with its epoch); the
others go on.  Losses are evaluated on the whole training set without dropout after
every epoch (epoch 0 = the start), test loss/accuracy after the last one.

The cost of a batch is measured before a run by ``engines/training_cost.py``.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .. import machine
from ..core.backend import array_module, synchronize, to_numpy
from ..core.optimizer import make_optimizer
from ..problems.data import Dataset
from ..problems.nn import Task

EVAL_SEED = 20150101  # fixed noise for evaluating the VAE's one-sample ELBO estimate
_EVAL_ELEMENTS = 40_000_000  # bound on (runs x chunk x widest layer) during evaluation


@dataclass(frozen=True)
class TaskData:
    """A data set prepared for one task: inputs as the task wants them, in one dtype."""

    x_train: Any
    y_train: Any
    x_test: Any
    y_test: Any

    @classmethod
    def prepare(cls, task: Task, data: Dataset, dtype: Any, xp: Any = np) -> TaskData:
        """Standardised features for classifiers, [0, 1] features for the VAE.

        ``xp`` (numpy or cupy) is where the runs train: ``train_batch`` follows the data.
        """
        if task.inputs == "unit":
            xtr, xte = data.x_train, data.x_test
        else:
            xtr, xte = data.standardised()
        return cls(
            xp.asarray(xtr, dtype=dtype),
            xp.asarray(data.y_train, dtype=np.int64),
            xp.asarray(xte, dtype=dtype),
            xp.asarray(data.y_test, dtype=np.int64),
        )


@dataclass
class BatchResult:
    """Curves and timings of B runs trained together."""

    lrs: np.ndarray
    seeds: np.ndarray
    train_loss: np.ndarray  # (B, epochs + 1), eval mode, epoch 0 = initial
    test_loss: np.ndarray  # (B,)
    test_accuracy: np.ndarray  # (B,), NaN for the VAE
    diverged_epoch: np.ndarray  # (B,), -1 = did not diverge
    times: dict[str, float] = field(default_factory=dict)  # seconds, whole batch
    epoch_seconds: list[float] = field(default_factory=list)  # training time per epoch

    @property
    def diverged(self) -> np.ndarray:
        return self.diverged_epoch >= 0


def thread_limits(threads: int | None) -> AbstractContextManager[None]:
    """Limit BLAS (matmuls) and numba (optimizer kernel) to ``threads`` threads each;
    ``None`` leaves both as they are (``machine.thread_limits``).

    On a small or shared machine two thread pools that both want every core stall each
    other: a parallel kernel waits for a worker the OS has not scheduled (measured here:
    median 11 us, mean 2.6 ms per Adam step on 15 x 650 floats with two threads on two
    busy cores; 9 us / 51 us with one).
    """
    return machine.thread_limits(numba=threads, blas=threads)


def seed_rng(seed: int, stream: int) -> np.random.Generator:
    """Run ``seed``'s generator for one purpose (0 init, 1 data order, 2 noise)."""
    return np.random.Generator(np.random.PCG64(np.random.SeedSequence([int(seed), stream])))


def stack_noise(dicts: list[dict[str, np.ndarray]], inv: np.ndarray, xp: Any, dtype: Any):
    """Per-seed noise arrays stacked to (U, n, ...) then expanded to the B runs."""
    if not dicts or not dicts[0]:
        return {}
    return {k: xp.asarray(np.stack([d[k] for d in dicts])[inv], dtype=dtype) for k in dicts[0]}


def train_batch(
    task: Task,
    data: TaskData,
    optimizer: str,
    lrs: Any,
    seeds: Any,
    epochs: int,
    batch_size: int = 128,
    dtype: Any = np.float32,
    hyperparameters: dict[str, Any] | None = None,
    on_epoch: Callable[[int], None] | None = None,
    eval_epochs: set[int] | None = None,
) -> BatchResult:
    """Train B = len(lrs) runs of ``task`` with ``optimizer`` for ``epochs`` epochs.

    ``lrs`` and ``seeds`` are length-B; ``hyperparameters`` are passed to
    ``make_optimizer`` (scalars or length-B vectors) after ``lr`` and the task's
    ``lr_schedule``.  ``on_epoch(e)`` is called after each epoch (progress bars).
    ``eval_epochs``: the epochs whose training loss is evaluated (default: all; the
    others stay NaN in the curves, and divergence is then detected from the parameters).
    The runs train where ``data`` lives (``TaskData.prepare(..., xp=cupy)``: on the CUDA
    device, parameters, minibatches, noise and the optimizer state there too); the
    curves and results come back as NumPy arrays either way.
    """
    lrs = np.asarray(lrs, dtype=np.float64).reshape(-1)
    seeds = np.asarray(seeds, dtype=np.int64).reshape(-1)
    if lrs.shape != seeds.shape:
        raise ValueError(f"lrs ({lrs.size}) and seeds ({seeds.size}) must have one value per run")
    if epochs < 1 or batch_size < 1:
        raise ValueError(f"epochs and batch size must be >= 1, got {epochs}, {batch_size}")
    xp = array_module(data.x_train)
    dtype = np.dtype(dtype)
    b = lrs.size
    uniq, inv = np.unique(seeds, return_inverse=True)
    params = np.stack([task.init_params(seed_rng(s, 0), dtype) for s in uniq])[inv]
    params = xp.ascontiguousarray(xp.asarray(params))
    grads = xp.zeros_like(params)
    hp = {"lr": lrs, "lr_schedule": task.lr_schedule, **(hyperparameters or {})}
    opt = make_optimizer(optimizer, **hp)
    state = opt.init(params)
    warm_up(opt, params)
    order = [seed_rng(s, 1) for s in uniq]
    noise_rng = [seed_rng(s, 2) for s in uniq]
    n = int(data.x_train.shape[0])
    batch_size = min(batch_size, n)

    curves = np.full((b, epochs + 1), np.nan)
    diverged = np.full(b, -1, dtype=np.int64)
    times = {"data": 0.0, "forward_backward": 0.0, "optimizer": 0.0, "evaluate": 0.0}
    epoch_seconds = []
    evaluator = Evaluator(task, data, b)

    def check(epoch: int, losses: np.ndarray) -> None:
        bad = (~np.isfinite(losses)) | (~to_numpy(xp.isfinite(params).all(axis=1)))
        diverged[(diverged < 0) & bad] = epoch

    with np.errstate(all="ignore"):
        t0 = time.perf_counter()
        curves[:, 0] = evaluator.train_loss(params)
        times["evaluate"] += time.perf_counter() - t0
        check(0, curves[:, 0])
        for epoch in range(1, epochs + 1):
            t_epoch = time.perf_counter()
            perms = np.stack([r.permutation(n) for r in order])
            for start in range(0, n, batch_size):
                t0 = time.perf_counter()
                idx = perms[:, start : start + batch_size][inv]
                xb = data.x_train[xp.asarray(idx)]
                yb = data.y_train[xp.asarray(idx)]
                m = idx.shape[1]
                noise = stack_noise(
                    [task.sample_noise(r, m, True) for r in noise_rng], inv, xp, dtype
                )
                synchronize(xp)  # device clocks: each phase's own work, not its launch
                t1 = time.perf_counter()
                task.loss_and_grad(params, xb, yb, noise, grads)
                synchronize(xp)
                t2 = time.perf_counter()
                opt.step(params, grads, state)
                synchronize(xp)
                t3 = time.perf_counter()
                times["data"] += t1 - t0
                times["forward_backward"] += t2 - t1
                times["optimizer"] += t3 - t2
            epoch_seconds.append(time.perf_counter() - t_epoch)
            if eval_epochs is None or epoch in eval_epochs or epoch == epochs:
                t0 = time.perf_counter()
                curves[:, epoch] = evaluator.train_loss(params)
                times["evaluate"] += time.perf_counter() - t0
                check(epoch, curves[:, epoch])
            else:
                check(epoch, np.zeros(b))
            if on_epoch is not None:
                on_epoch(epoch)
            if (diverged >= 0).all():  # nothing left to train
                for rest in range(epoch + 1, epochs + 1):
                    if on_epoch is not None:
                        on_epoch(rest)
                break
        t0 = time.perf_counter()
        test_loss, test_acc = evaluator.test(params)
        times["evaluate"] += time.perf_counter() - t0
    gone = diverged >= 0
    test_loss[gone] = np.nan
    test_acc[gone] = np.nan
    curves[diverged >= 0] = np.where(
        np.arange(epochs + 1)[None, :] >= diverged[diverged >= 0][:, None],
        np.nan,
        curves[diverged >= 0],
    )
    return BatchResult(lrs, seeds, curves, test_loss, test_acc, diverged, times, epoch_seconds)


def warm_up(opt: Any, like: Any) -> None:
    """One step on a small copy, so that compiling the kernel is not counted as time."""
    p = like[:, :8].copy()
    opt.step(p, p * 0, opt.init(p))


class Evaluator:
    """Whole-set losses of B runs in chunks, with fixed noise (same for every run)."""

    def __init__(self, task: Task, data: TaskData, runs: int):
        self.task, self.data = task, data
        per_example = runs * task.activation_floats()
        self.chunk = int(max(32, min(8192, _EVAL_ELEMENTS // max(per_example, 1))))
        self._noise: dict[int, Any] = {}

    def _run(self, params: Any, x: Any, y: Any, key: int) -> tuple[np.ndarray, np.ndarray]:
        n = int(x.shape[0])
        if key not in self._noise:
            self._noise[key] = self.task.sample_noise(
                np.random.default_rng(EVAL_SEED + key), n, False
            )
        noise = self._noise[key]
        xp = array_module(params)
        loss = np.zeros(params.shape[0])
        correct = np.zeros(params.shape[0])
        for s in range(0, n, self.chunk):
            e = min(n, s + self.chunk)
            nz = {k: xp.asarray(v[s:e][None], dtype=params.dtype) for k, v in noise.items()}
            chunk_loss, chunk_correct = self.task.evaluate(params, x[None, s:e], y[None, s:e], nz)
            loss += to_numpy(chunk_loss).astype(np.float64) * (e - s)
            if chunk_correct is not None:
                correct += to_numpy(chunk_correct)
        acc = correct / n if self.task.classifier else np.full(params.shape[0], np.nan)
        return loss / n, acc

    def train_loss(self, params: Any) -> np.ndarray:
        return self._run(params, self.data.x_train, self.data.y_train, 0)[0]

    def test(self, params: Any) -> tuple[np.ndarray, np.ndarray]:
        return self._run(params, self.data.x_test, self.data.y_test, 1)


def initial_losses(task: Task, data: TaskData, seeds: Any, dtype: Any = np.float32) -> np.ndarray:
    """Whole-training-set loss of each seed's initial parameters (epoch 0), float64 (S,).

    The start every optimizer and learning rate shares for a seed (the same
    initialisation), evaluated once per task, so that anything derived from it (the
    default target of ``experiments/training``) depends on the seeds alone, never on
    which optimizers are trained.
    """
    seeds = np.asarray(seeds, dtype=np.int64).reshape(-1)
    xp = array_module(data.x_train)
    dtype = np.dtype(dtype)
    params = np.stack([task.init_params(seed_rng(s, 0), dtype) for s in seeds])
    params = xp.ascontiguousarray(xp.asarray(params))
    with np.errstate(all="ignore"):
        return Evaluator(task, data, seeds.size).train_loss(params)
