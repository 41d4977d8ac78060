"""SGD, with classical or Nesterov momentum (torch.optim.SGD form; paper-spec 3.4).

Elementwise, with b_0 = 0 (so b_1 = g_1, as torch)::

    b_t = mu b_{t-1} + g_t
    d_t = g_t + mu b_t   (nesterov)   or   b_t   (classical)
    theta_t = theta_{t-1} - alpha_t d_t

With mu = 0 this is plain SGD and keeps no state.  For a constant alpha this equals
Sutskever et al.'s v = mu v - alpha g form (v = -alpha b); they differ once alpha is
scheduled.
"""

from __future__ import annotations

import math

from ..schedules import step_size
from ..spec import LR_SCHEDULE, Param, Rule, beta_param, column, lr_param, stack_columns


def reference(p, g, state, hp, t):
    """One SGD step in float64 on (B, d) arrays."""
    alpha = column(hp["lr"]) / (math.sqrt(t) if hp["lr_schedule"] == "inv_sqrt" else 1.0)
    if "b" not in state:
        p -= alpha * g
        return
    mu, b = column(hp["momentum"]), state["b"]
    b[...] = mu * b + g
    d = g + mu * b if hp["nesterov"] else b
    p -= alpha * d


def coefficients(hp, t):
    """Per-run scalars for the ``sgd`` kernel: mu, step, nesterov, has_momentum."""
    has_momentum = float((hp["momentum"] > 0).any())
    return stack_columns(
        t,
        hp["momentum"],
        step_size(hp["lr"], hp["lr_schedule"], t),
        float(hp["nesterov"]),
        has_momentum,
    )


def _check(hp):
    if hp["nesterov"] and (hp["momentum"] <= 0).any():
        raise ValueError("nesterov=true needs momentum in (0, 1) for every run")


SGD = Rule(
    name="sgd",
    title="SGD (plain, momentum, Nesterov)",
    source="Robbins & Monro 1951; Sutskever et al. 2013 (torch.optim.SGD form)",
    equation="b = mu * b + g; theta -= alpha_t * (nesterov ? g + mu * b : b)",
    params=(
        lr_param(1e-2),
        beta_param("momentum", 0.0, "momentum mu (0 = plain SGD)"),
        Param("nesterov", False, "Nesterov momentum", kind="bool"),
        LR_SCHEDULE,
    ),
    bytes_per_param=12,
    kernel="sgd",
    buffers=lambda hp: ("b",) if (hp["momentum"] > 0).any() else (),
    reference=reference,
    coefficients=coefficients,
    extra_check=_check,
    scale_free=False,
    theorem="ogd",
    train_lr={"constant": 3e-2, "inv_sqrt": 1.0},
    train_hp={"momentum": 0.9, "nesterov": True},
)
