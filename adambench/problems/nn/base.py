"""What every neural-net task shares: a flat parameter layout, dropout, softmax loss.

Parameters live in ONE C-contiguous vector per run, shape (B, d) for B runs, so that a
single ``opt.step(params, grads, state)`` updates the whole model with the fused kernel;
each layer's weights are views into it (``ParamLayout.views``).  The forward and
backward passes are written on an array module ``xp`` (NumPy now; CuPy has the same
API) and broadcast over the leading run axis: inputs are (B, n, f) or (1, n, f) when
every run sees the same data (evaluation).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from ...core.backend import array_module

Noise = dict[str, Any]


@dataclass(frozen=True)
class ParamLayout:
    """Named blocks (name, shape) packed one after another in a flat vector."""

    blocks: tuple[tuple[str, tuple[int, ...]], ...]

    @property
    def size(self) -> int:
        return sum(math.prod(s) for _, s in self.blocks)

    def offsets(self) -> dict[str, tuple[int, int, tuple[int, ...]]]:
        out, k = {}, 0
        for name, shape in self.blocks:
            n = math.prod(shape)
            out[name] = (k, k + n, shape)
            k += n
        return out

    def views(self, flat: Any) -> dict[str, Any]:
        """Per-block views (B, *shape) into a (B, d) array; writes go to ``flat``."""
        b = flat.shape[0]
        return {
            name: flat[:, lo:hi].reshape((b, *shape))
            for name, (lo, hi, shape) in self.offsets().items()
        }


class Task:
    """A model with a loss, its gradient and a flat parameter vector.

    Subclasses set ``name``, ``layout``, ``classifier`` (loss is cross-entropy and
    accuracy is meaningful), ``inputs`` ("standardised" or "unit": features scaled to
    [0, 1]) and ``lr_schedule`` (the paper's schedule for this task), and implement
    ``init_blocks``, ``sample_noise`` and ``forward_backward``.
    """

    name = "task"
    classifier = True
    inputs = "standardised"
    lr_schedule = "constant"
    layout: ParamLayout

    @property
    def size(self) -> int:
        """Number of parameters d of one run."""
        return self.layout.size

    def describe(self) -> dict[str, Any]:
        """The task's configuration, for results files."""
        return {"name": self.name, "parameters": self.size, "lr_schedule": self.lr_schedule}

    def activation_floats(self) -> int:
        """Largest number of floats one example occupies in one layer (sizes chunks)."""
        return max(max(shape) for _, shape in self.layout.blocks)

    def init_params(self, rng: np.random.Generator, dtype: Any = np.float32) -> np.ndarray:
        """One run's initial parameters, shape (d,), drawn from ``rng``."""
        flat = np.zeros((1, self.size), dtype=np.float64)
        views = self.layout.views(flat)
        for name, value in self.init_blocks(rng).items():
            views[name][0] = value
        return np.ascontiguousarray(flat[0], dtype=dtype)

    def init_blocks(self, rng: np.random.Generator) -> dict[str, np.ndarray]:
        raise NotImplementedError

    def sample_noise(self, rng: np.random.Generator, n: int, train: bool) -> Noise:
        """The random inputs of one run for a minibatch of ``n`` examples, float64 arrays
        with a leading axis of n (dropout masks, VAE noise); ``{}`` when there are none."""
        return {}

    def forward_backward(
        self, params: Any, x: Any, y: Any, noise: Noise, grads: Any | None, train: bool
    ) -> tuple[Any, Any]:
        """Per-run mean loss (B,) and per-run correct-prediction counts (B,) or None.

        ``params`` is (B, d); ``x`` is (B or 1, n, f) and ``y`` (B or 1, n) integer
        labels; ``noise`` arrays have a leading (B or 1) axis.  When ``grads`` (B, d) is
        given it receives d(mean loss)/d(params).  ``train`` turns dropout on.
        """
        raise NotImplementedError

    def loss_and_grad(self, params: Any, x: Any, y: Any, noise: Noise, grads: Any) -> Any:
        """Training-mode mean loss per run (B,); fills ``grads``."""
        return self.forward_backward(params, x, y, noise, grads, True)[0]

    def evaluate(self, params: Any, x: Any, y: Any, noise: Noise) -> tuple[Any, Any]:
        """Evaluation-mode (no dropout) mean loss (B,) and correct counts (B,) or None."""
        return self.forward_backward(params, x, y, noise, None, False)


def glorot(rng: np.random.Generator, fan_in: int, fan_out: int, shape: tuple[int, ...]):
    """Glorot/Xavier uniform initialisation U(-a, a), a = sqrt(6 / (fan_in + fan_out))."""
    a = math.sqrt(6.0 / (fan_in + fan_out))
    return rng.uniform(-a, a, size=shape)


def he_normal(rng: np.random.Generator, fan_in: int, shape: tuple[int, ...]):
    """He initialisation N(0, 2 / fan_in), for ReLU layers."""
    return rng.standard_normal(shape) * math.sqrt(2.0 / fan_in)


def dropout_mask(rng: np.random.Generator, shape: tuple[int, ...], rate: float) -> np.ndarray:
    """Inverted-dropout mask: 0 with probability ``rate``, else 1/(1-rate) (float64)."""
    if rate <= 0.0:
        return np.ones(shape)
    keep = rng.random(shape) >= rate
    return keep / (1.0 - rate)


def softmax_xent(logits: Any, y: Any, want_grad: bool) -> tuple[Any, Any, Any]:
    """Mean cross-entropy per run, d(mean)/d(logits) and correct counts.

    ``logits`` (B, n, k), ``y`` (B or 1, n) integer labels.  Log-sum-exp with the row
    maximum subtracted, so large logits do not overflow.
    """
    xp = array_module(logits)
    n, k = logits.shape[1], logits.shape[2]
    z = logits - logits.max(axis=2, keepdims=True)
    ez = xp.exp(z)
    s = ez.sum(axis=2, keepdims=True)
    onehot = y[..., None] == xp.arange(k)
    picked = (z * onehot).sum(axis=2)
    loss = (xp.log(s[..., 0]) - picked).mean(axis=1)
    correct = (logits.argmax(axis=2) == y).sum(axis=1)
    grad = None
    if want_grad:
        grad = (ez / s - onehot) * (1.0 / n)
    return loss, grad, correct


def check_shapes(task: Task, params: Any, x: Any, n_features: int) -> None:
    """Raise ValueError on inputs of the wrong shape (a programming error, named)."""
    if params.ndim != 2 or params.shape[1] != task.size:
        raise ValueError(f"{task.name}: params must be (B, {task.size}), got {params.shape}")
    if x.ndim != 3 or x.shape[2] != n_features:
        raise ValueError(f"{task.name}: x must be (B, n, {n_features}), got {x.shape}")
