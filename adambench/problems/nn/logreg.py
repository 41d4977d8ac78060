"""L2-regularised multiclass logistic regression (Kingma & Ba section 6.1, docs/theory.md §1.7).

For one run with weights W (f, k) and bias b (k), on a minibatch of n examples::

    logits = x W + b
    loss   = (1/n) sum_i -log softmax(logits_i)[y_i] + (l2/2) ||W||^2
    dW     = x^T (softmax(logits) - onehot(y)) / n + l2 W,   db = column sums of the same

The paper trains it with alpha_t = alpha / sqrt(t) (section 6.1), so this task's
``lr_schedule`` is ``inv_sqrt``.  The paper gives no L2 coefficient; the default here is
1e-4 on the weights (not the bias).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ...core.backend import array_module
from .base import Noise, ParamLayout, Task, check_shapes, softmax_xent


class LogReg(Task):
    """Multiclass logistic regression with an L2 penalty on the weights."""

    name = "logreg"
    lr_schedule = "inv_sqrt"

    def __init__(self, n_features: int, n_classes: int, l2: float = 1e-4):
        if l2 < 0 or not np.isfinite(l2):
            raise ValueError(f"l2 must be a finite number >= 0, got {l2!r}")
        self.f, self.k, self.l2 = n_features, n_classes, float(l2)
        self.layout = ParamLayout((("W", (n_features, n_classes)), ("b", (n_classes,))))

    def describe(self) -> dict[str, Any]:
        return {**super().describe(), "l2": self.l2}

    def init_blocks(self, rng: np.random.Generator) -> dict[str, np.ndarray]:
        # Small random weights (zeros would also do for this convex problem).
        return {"W": rng.standard_normal((self.f, self.k)) * 0.01, "b": np.zeros(self.k)}

    def forward_backward(self, params, x, y, noise: Noise, grads, train: bool):
        check_shapes(self, params, x, self.f)
        xp = array_module(params)
        p = self.layout.views(params)
        w, b = p["W"], p["b"]
        logits = xp.matmul(x, w) + b[:, None, :]
        loss, dlogits, correct = softmax_xent(logits, y, grads is not None)
        wsq = (params[:, : self.f * self.k] ** 2).sum(axis=1)
        loss = loss + 0.5 * self.l2 * wsq
        if grads is not None:
            g = self.layout.views(grads)
            g["W"][...] = xp.matmul(x.transpose(0, 2, 1), dlogits) + self.l2 * w
            g["b"][...] = dlogits.sum(axis=1)
        return loss, correct
