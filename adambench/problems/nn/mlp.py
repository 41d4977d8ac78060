"""Multilayer perceptron with two hidden ReLU layers and dropout (Kingma & Ba section 6.2).

The paper's network is 784-1000-1000-10 with dropout noise on the input and hidden
layers (docs/theory.md §1.7); ``hidden`` scales it.  For one run, with inverted-dropout masks
M0, M1, M2 (entries 0 or 1/(1-rate); all ones when evaluating)::

    a0 = x * M0
    z1 = a0 W1 + b1,  a1 = relu(z1) * M1
    z2 = a1 W2 + b2,  a2 = relu(z2) * M2
    logits = a2 W3 + b3,  loss = mean cross-entropy

and backward, with delta3 = (softmax - onehot)/n::

    dW3 = a2^T delta3,  delta2 = (delta3 W3^T) * M2 * [z2 > 0],  dW2 = a1^T delta2
    delta1 = (delta2 W2^T) * M1 * [z1 > 0],  dW1 = a0^T delta1,  db_l = sum of delta_l
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ...core.backend import array_module
from .base import Noise, ParamLayout, Task, check_shapes, dropout_mask, he_normal, softmax_xent


class MLP(Task):
    """Two hidden ReLU layers, dropout on the input and both hidden layers."""

    name = "mlp"

    def __init__(
        self,
        n_features: int,
        n_classes: int,
        hidden: int = 256,
        input_dropout: float = 0.2,
        hidden_dropout: float = 0.5,
    ):
        if hidden < 1:
            raise ValueError(f"mlp hidden width must be >= 1, got {hidden}")
        for what, r in (("input_dropout", input_dropout), ("hidden_dropout", hidden_dropout)):
            if not 0.0 <= r < 1.0:
                raise ValueError(f"{what} must be in [0, 1), got {r!r}")
        self.f, self.k, self.h = n_features, n_classes, int(hidden)
        self.p_in, self.p_h = float(input_dropout), float(hidden_dropout)
        f, h, k = self.f, self.h, self.k
        self.layout = ParamLayout(
            (
                ("W1", (f, h)),
                ("b1", (h,)),
                ("W2", (h, h)),
                ("b2", (h,)),
                ("W3", (h, k)),
                ("b3", (k,)),
            )
        )

    def describe(self) -> dict[str, Any]:
        return {
            **super().describe(),
            "hidden": self.h,
            "input_dropout": self.p_in,
            "hidden_dropout": self.p_h,
        }

    def init_blocks(self, rng: np.random.Generator) -> dict[str, np.ndarray]:
        f, h, k = self.f, self.h, self.k
        return {
            "W1": he_normal(rng, f, (f, h)),
            "W2": he_normal(rng, h, (h, h)),
            "W3": he_normal(rng, h, (h, k)) * 0.5,
        }

    def sample_noise(self, rng: np.random.Generator, n: int, train: bool) -> Noise:
        if not train:
            return {}
        return {
            "M0": dropout_mask(rng, (n, self.f), self.p_in),
            "M1": dropout_mask(rng, (n, self.h), self.p_h),
            "M2": dropout_mask(rng, (n, self.h), self.p_h),
        }

    def forward_backward(self, params, x, y, noise: Noise, grads, train: bool):
        check_shapes(self, params, x, self.f)
        xp = array_module(params)
        p = self.layout.views(params)
        drop = train and bool(noise)
        a0 = x * noise["M0"] if drop else x
        z1 = xp.matmul(a0, p["W1"]) + p["b1"][:, None, :]
        a1 = xp.maximum(z1, 0)
        if drop:
            a1 *= noise["M1"]
        z2 = xp.matmul(a1, p["W2"]) + p["b2"][:, None, :]
        a2 = xp.maximum(z2, 0)
        if drop:
            a2 *= noise["M2"]
        logits = xp.matmul(a2, p["W3"]) + p["b3"][:, None, :]
        loss, d3, correct = softmax_xent(logits, y, grads is not None)
        if grads is None:
            return loss, correct
        g = self.layout.views(grads)
        g["W3"][...] = xp.matmul(a2.transpose(0, 2, 1), d3)
        g["b3"][...] = d3.sum(axis=1)
        d2 = xp.matmul(d3, p["W3"].transpose(0, 2, 1))
        d2 *= z2 > 0
        if drop:
            d2 *= noise["M2"]
        g["W2"][...] = xp.matmul(a1.transpose(0, 2, 1), d2)
        g["b2"][...] = d2.sum(axis=1)
        d1 = xp.matmul(d2, p["W2"].transpose(0, 2, 1))
        d1 *= z1 > 0
        if drop:
            d1 *= noise["M1"]
        g["W1"][...] = xp.matmul(a0.transpose(0, 2, 1), d1)
        g["b1"][...] = d1.sum(axis=1)
        return loss, correct
