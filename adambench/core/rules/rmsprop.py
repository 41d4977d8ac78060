"""RMSprop with momentum (Graves 2013; torch.optim.RMSprop; paper-spec 3.2-3.3).

Momentum is applied to the already rescaled gradient (Kingma & Ba section 5, (a))::

    v_t = rho v_{t-1} + (1 - rho) g_t^2
    centered:  gbar_t = rho gbar_{t-1} + (1 - rho) g_t ;  w_t = v_t - gbar_t^2
    otherwise: w_t = v_t
    b_t = mu b_{t-1} + g_t / (sqrt(w_t) + eps)        (eps_inside: g_t / sqrt(w_t + eps))
    theta_t = theta_{t-1} - alpha_t b_t

This is torch.optim.RMSprop(momentum=mu) exactly.  Graves' own form (Chainer's
RMSpropGraves) is ``centered=True, eps_inside=True`` with rho = 0.95, mu = 0.9,
alpha = 1e-4, eps = 1e-4; it folds alpha into the momentum buffer, which is the same
rule for a constant alpha and differs once alpha is scheduled.

With eps = 0, a coordinate whose gradients were all zero stays put (0/0 there).
"""

from __future__ import annotations

import math

import numpy as np

from ..schedules import step_size
from ..spec import (
    LR_SCHEDULE,
    Param,
    Rule,
    beta_param,
    column,
    eps_param,
    lr_param,
    nonzero,
    stack_columns,
)


def reference(p, g, state, hp, t):
    """One RMSprop-with-momentum step in float64 on (B, d) arrays."""
    v, b = state["v"], state["b"]
    rho, mu, eps = column(hp["decay"]), column(hp["momentum"]), column(hp["eps"])
    alpha = column(hp["lr"]) / (math.sqrt(t) if hp["lr_schedule"] == "inv_sqrt" else 1.0)
    v[...] = rho * v + (1.0 - rho) * g * g
    w = v
    if hp["centered"]:
        gbar = state["gbar"]
        gbar[...] = rho * gbar + (1.0 - rho) * g
        w = v - gbar * gbar
    denom = np.sqrt(w + eps) if hp["eps_inside"] else np.sqrt(w) + eps
    b[...] = mu * b + g / nonzero(denom)
    p -= alpha * b


def coefficients(hp, t):
    """Per-run scalars for the ``rmsprop`` kernel: rho, 1-rho, mu, step, eps, centered, inside."""
    return stack_columns(
        t,
        hp["decay"],
        1.0 - hp["decay"],
        hp["momentum"],
        step_size(hp["lr"], hp["lr_schedule"], t),
        hp["eps"],
        float(hp["centered"]),
        float(hp["eps_inside"]),
    )


RMSPROP_MOMENTUM = Rule(
    name="rmsprop-momentum",
    title="RMSprop with momentum",
    source="Graves 2013; torch.optim.RMSprop (Kingma & Ba section 5)",
    equation="b = mu * b + g / (sqrt(v) + eps); theta -= alpha_t * b",
    params=(
        lr_param(1e-2),
        beta_param("decay", 0.99, "decay rho of the squared-gradient average v"),
        beta_param("momentum", 0.9, "momentum mu on the rescaled gradient"),
        eps_param(1e-8),
        Param("centered", False, "divide by the variance estimate v - gbar^2", kind="bool"),
        Param("eps_inside", False, "eps inside the sqrt (Graves) instead of outside", kind="bool"),
        LR_SCHEDULE,
    ),
    bytes_per_param=28,
    kernel="rmsprop",
    buffers=lambda hp: ("v", "b", "gbar") if hp["centered"] else ("v", "b"),
    reference=reference,
    coefficients=coefficients,
    train_lr={"constant": 3e-4, "inv_sqrt": 1e-2},
)
