"""signSGD with momentum ("signum", Bernstein et al. 2018, Algorithm 3) as a plugin rule.

    m_t = beta m_{t-1} + (1 - beta) g_t,    x_t = x_{t-1} - alpha_t sign(m_t)

With beta = 0 this is plain signSGD (Algorithm 1).  The step is NumPy on the (B, d)
arrays of a batch of runs; hyperparameters arrive as length-1 or length-B vectors.
"""

from __future__ import annotations

import math

import numpy as np

from adambench.core.plugins import numpy_rule
from adambench.core.spec import LR_SCHEDULE, beta_param, column, lr_param


def step(p, g, state, hp, t):
    """One signum step, in place, in the arrays' own dtype."""
    alpha = column(hp["lr"]) / (math.sqrt(t) if hp["lr_schedule"] == "inv_sqrt" else 1.0)
    beta = column(hp["momentum"]).astype(p.dtype)
    m = state["m"]
    m *= beta
    m += (1 - beta) * g
    p -= (alpha.astype(p.dtype) * np.sign(m)).astype(p.dtype, copy=False)


SIGNSGD = numpy_rule(
    "signsgd",
    step,
    params=(
        lr_param(1e-3),
        beta_param("momentum", 0.0, "momentum beta (0 = signSGD)"),
        LR_SCHEDULE,
    ),
    buffers=("m",),
    title="signSGD / signum",
    source="Bernstein et al. 2018, Algorithms 1 and 3",
    equation="m = beta*m + (1-beta)*g; x -= alpha_t * sign(m)",
    bytes_per_param=20,
)
