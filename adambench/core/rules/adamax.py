"""AdaMax (Kingma & Ba 2015, section 7.1, Algorithm 2; paper-spec 1.8).

Elementwise::

    m_t = beta1_t m_{t-1} + (1 - beta1_t) g_t
    u_t = max(beta2 u_{t-1}, |g_t| + eps)          (eq. 12; eps = 0 in the paper)
    theta_t = theta_{t-1} - (alpha_t / (1 - beta1^t)) m_t / u_t

eps sits inside the max, as torch.optim.Adamax puts it (default there 1e-8); the paper
has none, so the default here is 0.  A coordinate whose gradients were all zero has
u = m = 0 and stays put instead of dividing 0 by 0.
"""

from __future__ import annotations

import math

import numpy as np

from ..schedules import beta1_at, decay_power, step_size
from ..spec import (
    BETA1_DECAY,
    LR_SCHEDULE,
    Rule,
    beta_param,
    column,
    eps_param,
    lr_param,
    stack_columns,
)


def reference(p, g, state, hp, t):
    """One Algorithm 2 step in float64 on (B, d) arrays."""
    m, u = state["m"], state["u"]
    b1, b2, lam = column(hp["beta1"]), column(hp["beta2"]), column(hp["beta1_decay"])
    alpha = column(hp["lr"]) / (math.sqrt(t) if hp["lr_schedule"] == "inv_sqrt" else 1.0)
    b1t = b1 * lam ** (t - 1)
    m[...] = b1t * m + (1.0 - b1t) * g
    u[...] = np.maximum(b2 * u, np.abs(g) + column(hp["eps"]))
    safe = np.where(u > 0, u, 1.0)
    p -= np.where(u > 0, (alpha / (1.0 - b1**t)) * m / safe, 0.0)


def coefficients(hp, t):
    """Per-run scalars for the ``adamax`` kernel: b1t, 1-b1t, b2, step, eps."""
    b1t = beta1_at(hp["beta1"], hp["beta1_decay"], t)
    step = step_size(hp["lr"], hp["lr_schedule"], t) / (1.0 - decay_power(hp["beta1"], t))
    return stack_columns(t, b1t, 1.0 - b1t, hp["beta2"], step, hp["eps"])


ADAMAX = Rule(
    name="adamax",
    title="AdaMax",
    source="Kingma & Ba 2015, section 7.1, Algorithm 2",
    equation="u = max(beta2 * u, |g| + eps); theta -= alpha_t / (1 - beta1^t) * m / u",
    params=(
        lr_param(2e-3),
        beta_param("beta1", 0.9, "decay of the first-moment average m"),
        beta_param("beta2", 0.999, "decay of the infinity norm u"),
        eps_param(0.0, "inside the max, as torch puts it; the paper has none"),
        LR_SCHEDULE,
        BETA1_DECAY,
    ),
    bytes_per_param=28,
    kernel="adamax",
    buffers=lambda hp: ("m", "u"),
    reference=reference,
    coefficients=coefficients,
    train_lr={"constant": 1e-2, "inv_sqrt": 3e-1},
)
