"""Convolutional network of Kingma & Ba section 6.3, scaled by a width factor.

The paper's network is c64-c64-c128-1000 (docs/theory.md §1.7): three stages of a 5x5
convolution (ReLU) followed by a 3x3 max-pool with stride 2, then a fully connected
layer of 1000 ReLU units and a softmax output, with dropout on the input and on the
fully connected layer.  ``width`` multiplies every layer size (width = 1 is the paper's).
For one run::

    a0 = x * M0;  for s = 1..3:  a_s = maxpool3x3/2(relu(conv5x5(a_{s-1}; K_s) + c_s))
    f  = relu(flatten(a_3) W4 + b4) * M4;   logits = f W5 + b5;  loss = mean cross-entropy

Convolutions are im2col + matmul (``conv.py``); backward passes mirror them exactly.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ...core.backend import array_module
from .base import Noise, ParamLayout, Task, check_shapes, dropout_mask, he_normal, softmax_xent
from .conv import conv_backward, conv_forward, maxpool_backward, maxpool_forward, pool_shape

KERNEL = 5
PAPER_CHANNELS = (64, 64, 128)
PAPER_HIDDEN = 1000


class CNN(Task):
    """c64-c64-c128-1000 (times ``width``), 5x5 convolutions, 3x3/2 max-pooling, dropout."""

    name = "cnn"

    def __init__(
        self,
        image_shape: tuple[int, int, int],
        n_classes: int,
        width: float = 0.25,
        input_dropout: float = 0.2,
        hidden_dropout: float = 0.5,
    ):
        if not width > 0:
            raise ValueError(f"cnn width must be > 0, got {width!r}")
        for what, r in (("input_dropout", input_dropout), ("hidden_dropout", hidden_dropout)):
            if not 0.0 <= r < 1.0:
                raise ValueError(f"{what} must be in [0, 1), got {r!r}")
        self.shape = tuple(int(s) for s in image_shape)
        h, w, c = self.shape
        self.f, self.k, self.width = h * w * c, n_classes, float(width)
        self.channels = tuple(max(1, round(ch * width)) for ch in PAPER_CHANNELS)
        self.hidden = max(1, round(PAPER_HIDDEN * width))
        self.p_in, self.p_h = float(input_dropout), float(hidden_dropout)
        blocks, cin, hs, ws = [], c, h, w
        self.stage_shapes = []
        for s, cout in enumerate(self.channels, start=1):
            blocks += [(f"K{s}", (KERNEL * KERNEL * cin, cout)), (f"c{s}", (cout,))]
            self.stage_shapes.append((hs, ws, cin))
            cin, hs, ws = cout, pool_shape(hs), pool_shape(ws)
        self.flat = hs * ws * cin
        blocks += [("W4", (self.flat, self.hidden)), ("b4", (self.hidden,))]
        blocks += [("W5", (self.hidden, n_classes)), ("b5", (n_classes,))]
        self.layout = ParamLayout(tuple(blocks))

    def describe(self) -> dict[str, Any]:
        return {
            **super().describe(),
            "width": self.width,
            "channels": list(self.channels),
            "hidden": self.hidden,
            "image_shape": list(self.shape),
            "input_dropout": self.p_in,
            "hidden_dropout": self.p_h,
        }

    def activation_floats(self) -> int:
        # im2col columns dominate: H * W * C * k * k floats per example and stage.
        return max(h * w * c * KERNEL * KERNEL for h, w, c in self.stage_shapes)

    def init_blocks(self, rng: np.random.Generator) -> dict[str, np.ndarray]:
        out = {}
        for name, shape in self.layout.blocks:
            if name[0] in "KW":
                out[name] = he_normal(rng, shape[0], shape)
        out["W5"] *= 0.5
        return out

    def sample_noise(self, rng: np.random.Generator, n: int, train: bool) -> Noise:
        if not train:
            return {}
        return {
            "M0": dropout_mask(rng, (n, self.f), self.p_in),
            "M4": dropout_mask(rng, (n, self.hidden), self.p_h),
        }

    def forward_backward(self, params, x, y, noise: Noise, grads, train: bool):
        check_shapes(self, params, x, self.f)
        xp = array_module(params)
        p = self.layout.views(params)
        drop = train and bool(noise)
        r, n = x.shape[0], x.shape[1]
        a = (x * noise["M0"] if drop else x).reshape(r, n, *self.shape)
        saved = []
        for s in range(1, 4):
            z, cols = conv_forward(a, p[f"K{s}"], p[f"c{s}"], KERNEL)
            relu = xp.maximum(z, 0)
            pooled, idx = maxpool_forward(relu)
            saved.append((a.shape, cols, z, relu.shape, idx))
            a = pooled
        flat = a.reshape(a.shape[0], n, self.flat)
        z4 = xp.matmul(flat, p["W4"]) + p["b4"][:, None, :]
        f = xp.maximum(z4, 0)
        if drop:
            f *= noise["M4"]
        logits = xp.matmul(f, p["W5"]) + p["b5"][:, None, :]
        loss, d5, correct = softmax_xent(logits, y, grads is not None)
        if grads is None:
            return loss, correct
        g = self.layout.views(grads)
        g["W5"][...] = xp.matmul(f.transpose(0, 2, 1), d5)
        g["b5"][...] = d5.sum(axis=1)
        d4 = xp.matmul(d5, p["W5"].transpose(0, 2, 1))
        d4 *= z4 > 0
        if drop:
            d4 *= noise["M4"]
        g["W4"][...] = xp.matmul(flat.transpose(0, 2, 1), d4)
        g["b4"][...] = d4.sum(axis=1)
        da = xp.matmul(d4, p["W4"].transpose(0, 2, 1)).reshape(a.shape)
        for s in range(3, 0, -1):
            in_shape, cols, z, relu_shape, idx = saved[s - 1]
            dz = maxpool_backward(da, idx, relu_shape)
            dz *= z > 0
            dk, dc, da = conv_backward(dz, cols, p[f"K{s}"], in_shape, KERNEL, need_dx=s > 1)
            g[f"K{s}"][...] = dk
            g[f"c{s}"][...] = dc
        return loss, correct
