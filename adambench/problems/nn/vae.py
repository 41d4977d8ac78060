"""Variational auto-encoder, one hidden softplus layer each way (Kingma & Ba section 6.4).

The setup of Kingma & Welling (2013) that section 6.4 uses: a Gaussian encoder and a
Bernoulli decoder, each with one hidden layer of softplus units (500 in the paper) and a
spherical Gaussian latent (50-dimensional in the paper); inputs scaled to [0, 1].  For
one example x, with eps ~ N(0, I) (the reparameterisation trick)::

    h  = softplus(x W1 + b1);        [mu, lv] = h W2 + b2      (lv = log sigma^2)
    z  = mu + exp(lv / 2) * eps
    hd = softplus(z W3 + b3);        logits = hd W4 + b4
    loss = sum_j [softplus(logits_j) - x_j logits_j]            (-log p(x | z))
         + 1/2 sum_l (mu_l^2 + exp(lv_l) - 1 - lv_l)            (KL(q(z|x) || N(0, I)))

i.e. the negative evidence lower bound, averaged over the minibatch.  Evaluation uses
the same one-sample estimate with fixed noise, so it is comparable across runs.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ...core.backend import array_module
from .base import Noise, ParamLayout, Task, check_shapes, glorot


def _softplus(xp: Any, a: Any) -> Any:
    # log(1 + e^a) = max(a, 0) + log1p(e^-|a|): overflow-free, and ~8x faster in NumPy
    # than logaddexp(0, a), whose cost dominated this task.
    return xp.maximum(a, 0) + xp.log1p(xp.exp(-xp.abs(a)))


def _sigmoid(xp: Any, a: Any) -> Any:
    return 0.5 * (xp.tanh(0.5 * a) + 1)


class VAE(Task):
    """Gaussian-latent VAE with softplus hidden layers; the loss is the negative ELBO."""

    name = "vae"
    classifier = False
    inputs = "unit"

    def __init__(self, n_features: int, hidden: int = 128, latent: int = 12):
        if hidden < 1 or latent < 1:
            raise ValueError(f"vae hidden and latent sizes must be >= 1, got {hidden}, {latent}")
        self.f, self.h, self.z = n_features, int(hidden), int(latent)
        f, h, z = self.f, self.h, self.z
        self.layout = ParamLayout(
            (
                ("W1", (f, h)),
                ("b1", (h,)),
                ("W2", (h, 2 * z)),
                ("b2", (2 * z,)),
                ("W3", (z, h)),
                ("b3", (h,)),
                ("W4", (h, f)),
                ("b4", (f,)),
            )
        )

    def describe(self) -> dict[str, Any]:
        return {**super().describe(), "hidden": self.h, "latent": self.z}

    def init_blocks(self, rng: np.random.Generator) -> dict[str, np.ndarray]:
        # Glorot-uniform weights, zero biases.  Kingma & Welling's N(0, 0.01^2) was tried:
        # on the digits it sat at the mean-image loss (27.09 nats) for most of 100 epochs
        # at every learning rate (posterior collapse), which would make the section 6.4
        # comparison a comparison of plateaus.
        return {
            k: glorot(rng, shape[0], shape[1], shape)
            for k, shape in self.layout.blocks
            if k.startswith("W")
        }

    def sample_noise(self, rng: np.random.Generator, n: int, train: bool) -> Noise:
        return {"eps": rng.standard_normal((n, self.z))}

    def forward_backward(self, params, x, y, noise: Noise, grads, train: bool):
        check_shapes(self, params, x, self.f)
        xp = array_module(params)
        p = self.layout.views(params)
        n, zd = x.shape[1], self.z
        pre1 = xp.matmul(x, p["W1"]) + p["b1"][:, None, :]
        h = _softplus(xp, pre1)
        out = xp.matmul(h, p["W2"]) + p["b2"][:, None, :]
        mu, lv = out[..., :zd], out[..., zd:]
        sd = xp.exp(0.5 * lv)
        eps = noise["eps"]
        z = mu + sd * eps
        pre3 = xp.matmul(z, p["W3"]) + p["b3"][:, None, :]
        hd = _softplus(xp, pre3)
        logits = xp.matmul(hd, p["W4"]) + p["b4"][:, None, :]
        recon = (_softplus(xp, logits) - x * logits).sum(axis=2)
        kl = 0.5 * (mu * mu + sd * sd - 1 - lv).sum(axis=2)
        loss = (recon + kl).mean(axis=1)
        if grads is None:
            return loss, None
        g = self.layout.views(grads)
        inv_n = 1.0 / n
        dlog = (_sigmoid(xp, logits) - x) * inv_n
        g["W4"][...] = xp.matmul(hd.transpose(0, 2, 1), dlog)
        g["b4"][...] = dlog.sum(axis=1)
        dpre3 = xp.matmul(dlog, p["W4"].transpose(0, 2, 1)) * _sigmoid(xp, pre3)
        g["W3"][...] = xp.matmul(z.transpose(0, 2, 1), dpre3)
        g["b3"][...] = dpre3.sum(axis=1)
        dz = xp.matmul(dpre3, p["W3"].transpose(0, 2, 1))
        dout = xp.concatenate(
            [dz + mu * inv_n, dz * eps * sd * 0.5 + (sd * sd - 1) * (0.5 * inv_n)], axis=2
        )
        g["W2"][...] = xp.matmul(h.transpose(0, 2, 1), dout)
        g["b2"][...] = dout.sum(axis=1)
        dpre1 = xp.matmul(dout, p["W2"].transpose(0, 2, 1)) * _sigmoid(xp, pre1)
        g["W1"][...] = xp.matmul(x.transpose(0, 2, 1), dpre1)
        g["b1"][...] = dpre1.sum(axis=1)
        return loss, None
