"""A linear multiclass classifier with the one-vs-rest squared hinge loss (a plugin task).

For one run with weights W (f, k) and bias b (k), on n examples with labels y::

    z = x W + b,   s_ij = +1 if y_i = j else -1
    loss = (1/n) sum_i (1/k) sum_j max(0, 1 - s_ij z_ij)^2 + (l2/2) ||W||^2
    dz_ij = -(2/(n k)) s_ij max(0, 1 - s_ij z_ij)
"""

from __future__ import annotations

import numpy as np

from adambench.problems.nn.base import ParamLayout, Task, check_shapes


class HingeLinear(Task):
    name = "hinge-linear"
    lr_schedule = "constant"

    def __init__(self, n_features: int, n_classes: int, l2: float = 1e-4):
        self.f, self.k, self.l2 = n_features, n_classes, l2
        self.layout = ParamLayout((("W", (n_features, n_classes)), ("b", (n_classes,))))

    def init_blocks(self, rng):
        return {"W": rng.standard_normal((self.f, self.k)) * 0.01, "b": np.zeros(self.k)}

    def forward_backward(self, params, x, y, noise, grads, train):
        check_shapes(self, params, x, self.f)
        p = self.layout.views(params)
        z = np.matmul(x, p["W"]) + p["b"][:, None, :]
        n, k = z.shape[1], z.shape[2]
        s = np.where(y[..., None] == np.arange(k), 1.0, -1.0).astype(z.dtype)
        margin = np.maximum(0.0, 1.0 - s * z)
        wsq = (params[:, : self.f * self.k] ** 2).sum(axis=1)
        loss = (margin**2).sum(axis=(1, 2)) / (n * k) + 0.5 * self.l2 * wsq
        correct = (z.argmax(axis=2) == y).sum(axis=1)
        if grads is not None:
            dz = (-2.0 / (n * k)) * s * margin
            g = self.layout.views(grads)
            g["W"][...] = np.matmul(x.transpose(0, 2, 1), dz) + self.l2 * p["W"]
            g["b"][...] = dz.sum(axis=1)
        return loss, correct


def make_task(n_features, n_classes, image_shape=None, width=1.0):
    """The plugin problem's factory (same signature as adambench.problems.nn.make_task)."""
    return HingeLinear(n_features, n_classes)


make_task.description = "linear classifier, one-vs-rest squared hinge loss (example plugin)"
