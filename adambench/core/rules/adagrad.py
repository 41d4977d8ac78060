"""AdaGrad, diagonal (Duchi, Hazan & Singer 2011; Kingma & Ba section 5; paper-spec 3.1).

Elementwise::

    s_t = s_{t-1} + g_t^2              (s_0 = initial_accumulator)
    theta_t = theta_{t-1} - alpha_t g_t / (sqrt(s_t) + eps)

the same form as torch.optim.Adagrad (lr_decay = 0).  A coordinate with s = 0 and
eps = 0 has had only zero gradients and stays put.
"""

from __future__ import annotations

import math

import numpy as np

from ..schedules import step_size
from ..spec import LR_SCHEDULE, Param, Rule, column, eps_param, lr_param, stack_columns


def reference(p, g, state, hp, t):
    """One AdaGrad step in float64 on (B, d) arrays."""
    s = state["s"]
    alpha = column(hp["lr"]) / (math.sqrt(t) if hp["lr_schedule"] == "inv_sqrt" else 1.0)
    s += g * g
    denom = np.sqrt(s) + column(hp["eps"])
    safe = np.where(denom > 0, denom, 1.0)
    p -= np.where(denom > 0, alpha * g / safe, 0.0)


def coefficients(hp, t):
    """Per-run scalars for the ``adagrad`` kernel: step, eps."""
    return stack_columns(t, step_size(hp["lr"], hp["lr_schedule"], t), hp["eps"])


ADAGRAD = Rule(
    name="adagrad",
    title="AdaGrad",
    source="Duchi, Hazan & Singer 2011 (diagonal form, as Kingma & Ba section 5)",
    equation="s += g^2; theta -= alpha_t * g / (sqrt(s) + eps)",
    params=(
        lr_param(1e-2),
        eps_param(1e-10),
        Param("initial_accumulator", 0.0, "starting value of s", low=0.0),
        LR_SCHEDULE,
    ),
    bytes_per_param=20,
    kernel="adagrad",
    buffers=lambda hp: ("s",),
    reference=reference,
    coefficients=coefficients,
    initial={"s": "initial_accumulator"},
    online_schedule="constant",
    theorem="adagrad",
    train_lr={"constant": 3e-2, "inv_sqrt": 1.0},
)
