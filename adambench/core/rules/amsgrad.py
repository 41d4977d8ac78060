"""AMSGrad (Reddi, Kale & Kumar 2018, Algorithm 2; paper-spec 2.4).

Paper form (``bias_correction=False``), elementwise::

    m_t = beta1_t m_{t-1} + (1 - beta1_t) g_t
    v_t = beta2 v_{t-1} + (1 - beta2) g_t^2
    v_hat_t = max(v_hat_{t-1}, v_t)
    x_{t+1} = x_t - alpha_t m_t / sqrt(v_hat_t)

The paper has no eps (default 0 here; a coordinate whose gradients were all zero has
v_hat = m = 0 and stays put).  ``bias_correction=True`` is the torch.optim form
(Adam(amsgrad=True)): the max is over the raw v_t, then
x -= alpha_t / (1 - beta1^t) * m_t / (sqrt(v_hat_t) / sqrt(1 - beta2^t) + eps).
The projection onto F is the problem's business (problems/), not the rule's.
"""

from __future__ import annotations

import math

import numpy as np

from ..schedules import beta1_at, decay_power, step_size
from ..spec import (
    BETA1_DECAY,
    LR_SCHEDULE,
    Param,
    Rule,
    beta_param,
    column,
    eps_param,
    lr_param,
    stack_columns,
)


def reference(p, g, state, hp, t):
    """One Algorithm 2 step in float64 on (B, d) arrays."""
    m, v, v_hat = state["m"], state["v"], state["v_hat"]
    b1, b2, lam = column(hp["beta1"]), column(hp["beta2"]), column(hp["beta1_decay"])
    alpha = column(hp["lr"]) / (math.sqrt(t) if hp["lr_schedule"] == "inv_sqrt" else 1.0)
    eps = column(hp["eps"])
    b1t = b1 * lam ** (t - 1)
    m[...] = b1t * m + (1.0 - b1t) * g
    v[...] = b2 * v + (1.0 - b2) * g * g
    np.maximum(v_hat, v, out=v_hat)
    if hp["bias_correction"]:
        denom = np.sqrt(v_hat) / np.sqrt(1.0 - b2**t) + eps
        alpha = alpha / (1.0 - b1**t)
    else:
        denom = np.sqrt(v_hat) + eps
    safe = np.where(denom > 0, denom, 1.0)
    p -= np.where(denom > 0, alpha * m / safe, 0.0)


def coefficients(hp, t):
    """Per-run scalars for the ``amsgrad`` kernel: b1t, 1-b1t, b2, 1-b2, step, 1/sqrt(bc2), eps."""
    b1, b2 = hp["beta1"], hp["beta2"]
    b1t = beta1_at(b1, hp["beta1_decay"], t)
    alpha = step_size(hp["lr"], hp["lr_schedule"], t)
    if hp["bias_correction"]:
        step = alpha / (1.0 - decay_power(b1, t))
        inv_sqrt_bc2 = 1.0 / np.sqrt(1.0 - decay_power(b2, t))
    else:
        step, inv_sqrt_bc2 = alpha, 1.0
    return stack_columns(t, b1t, 1.0 - b1t, b2, 1.0 - b2, step, inv_sqrt_bc2, hp["eps"])


AMSGRAD = Rule(
    name="amsgrad",
    title="AMSGrad",
    source="Reddi, Kale & Kumar 2018, Algorithm 2 (torch.optim form with bias_correction)",
    equation="v_hat = max(v_hat, v); x -= alpha_t * m / sqrt(v_hat)",
    params=(
        lr_param(1e-3),
        beta_param("beta1", 0.9, "decay of the first-moment average m"),
        beta_param("beta2", 0.999, "decay of the second-moment average v"),
        eps_param(0.0, "added to sqrt(v_hat); the paper has none"),
        Param(
            "bias_correction",
            False,
            "false = the paper's form; true = torch.optim Adam(amsgrad=True)",
            kind="bool",
        ),
        LR_SCHEDULE,
        BETA1_DECAY,
    ),
    bytes_per_param=36,
    kernel="amsgrad",
    buffers=lambda hp: ("m", "v", "v_hat"),
    reference=reference,
    coefficients=coefficients,
    theorem="reddi-4",
    train_lr={"constant": 3e-3, "inv_sqrt": 3e-2},
)
