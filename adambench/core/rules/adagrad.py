"""AdaGrad, diagonal (Duchi, Hazan & Singer 2011; Kingma & Ba section 5; docs/theory.md §3.1).

Elementwise::

    s_t = s_{t-1} + g_t^2              (s_0 = initial_accumulator)
    theta_t = theta_{t-1} - alpha_t g_t / (sqrt(s_t) + eps)

the same form as torch.optim.Adagrad (lr_decay = 0).  A coordinate with s = 0 and
eps = 0 has had only zero gradients and stays put.  Zero denominators as in
rules/adam.py (docs/theory.md §6.2): the step divides only by a denominator
D = sqrt(s) + eps >= root_tiny = sqrt(smallest normal); below it (D = 0, or s the
remnant of squares that underflowed, |g| < 2^-63 in float32) the coordinate stays put,
in the kernels (arrays' dtype), in ``reference`` (float64) and in ``_weight`` (0).
Where D >= root_tiny, |Delta_t| <= alpha_t |g_t| / sqrt(s_t) <= alpha_t (s_0 = 0) up to
the rounding of s.

``weight_decay`` lambda (default 0) is torch's L2 penalty (docs/theory.md §7.1): the
update sees g_t + lambda theta_{t-1} in place of g_t; the kernels use g itself where
``wd == 0``, so lambda = 0 changes nothing, bit for bit.
"""

from __future__ import annotations

import math

import numpy as np

from ..schedules import alpha_scalar, settled_at_once, step_size
from ..spec import (
    LR_SCHEDULE,
    Kernel,
    Param,
    Rule,
    column,
    eps_param,
    guarded,
    lr_param,
    root_tiny,
    weight_decay_param,
    with_l2,
)


def reference(p, g, state, hp, t):
    """One AdaGrad step in float64 on (B, d) arrays."""
    s = state["s"]
    g = with_l2(g, p, hp["weight_decay"])  # L2 (docs/theory.md §7.1)
    alpha = column(hp["lr"]) / (math.sqrt(t) if hp["lr_schedule"] == "inv_sqrt" else 1.0)
    s += g * g
    denom = np.sqrt(s) + column(hp["eps"])
    p -= guarded(alpha * g, denom, root_tiny(np.float64))


# The fused kernel: per run step = alpha_t and eps: p -= step * g / (sqrt(s) + eps), 0
# where that denominator is below root_tiny (module docstring); the gradient is
# g + wd * p where wd != 0 (L2).
COEFS = ("step", "eps", "wd")
EPS = COEFS.index("eps")


def _row(p, g, s, _s1, _s2, c):
    """One stretch of the adagrad kernel (numba): the same operations as ``_CUDA``."""
    step, eps, wd = c[0], c[1], c[2]
    zero = c[0] - c[0]  # 0 in the arrays' dtype (rules/amsgrad.py)
    floor = np.sqrt(np.finfo(c.dtype).tiny)  # root_tiny; "d < floor" is False for NaN
    for j in range(p.size):
        gj = g[j] if wd == zero else g[j] + wd * p[j]  # L2; wd == 0: g bit for bit
        sj = s[j] + gj * gj
        s[j] = sj
        denom = np.sqrt(sj) + eps
        p[j] -= zero if denom < floor else step * (gj / denom)


def _lane(p, g, s, s1, s2, c):
    """``_row``'s operations on one element with its own coefficient row ``c`` (the
    lanes engine, engines/regret/lanes.py): returns the new (p, s, s1, s2)."""
    step, eps, wd = c[0], c[1], c[2]
    zero = c[0] - c[0]
    floor = np.sqrt(np.finfo(c.dtype).tiny)
    gj = g if wd == zero else g + wd * p
    sj = s + gj * gj
    denom = np.sqrt(sj) + eps
    return p - (zero if denom < floor else step * (gj / denom)), sj, s1, s2


_CUDA = """
    const T gj = (wd == ZERO) ? g : g + wd * p;
    const T sj = s0 + gj * gj;
    s0 = sj;
    const T denom = sqrt(sj) + eps;
    p -= (denom < ROOT_TINY) ? ZERO : step * (gj / denom);
"""


def _weight(a0, a1, a2, c):
    """sqrt(s_t) + eps: the rule's own denominator (docs/theory.md §2.1), in float64; 0
    where the step's (in the state's dtype) is below root_tiny (docs/theory.md §6.2)."""
    w = np.sqrt(np.float64(a0)) + c[EPS]
    return w - w * (np.sqrt(a0) + c[EPS] < np.sqrt(np.finfo(c.dtype).tiny))


KERNEL = Kernel(
    name="adagrad",
    coefs=COEFS,
    states=(1,),
    row=_row,
    cuda=_CUDA,
    weight=_weight,
    weight_cuda="(sqrt(a0) + eps < ROOT_TINY) ? 0.0 : sqrt((double)a0) + eps",
    lane=_lane,
    alpha_coefs=("step",),
)


def coefficients(hp, t):
    """This step's kernel coefficients (``COEFS``) per run, for steps ``t``."""
    step = step_size(hp["lr"], hp["lr_schedule"], t)
    return KERNEL.stack(t, step=step, eps=hp["eps"], wd=hp["weight_decay"])


def textbook(p, g, state, hp, t):
    """Diagonal AdaGrad as a user writes it in NumPy."""
    if hp["weight_decay"]:
        g = g + hp["weight_decay"] * p
    s = state["s"] = state["s"] + g * g
    denom = np.sqrt(s) + hp["eps"]
    p -= alpha_scalar(hp, t) * g / denom


def torch_form(hp):
    """torch.optim.Adagrad with lr_decay = 0."""
    args = dict(lr=hp["lr"], eps=hp["eps"], initial_accumulator_value=hp["initial_accumulator"],
                weight_decay=hp["weight_decay"])  # fmt: skip
    return "Adagrad", args, ""


ADAGRAD = Rule(
    rank=2,
    name="adagrad",
    title="AdaGrad",
    source="Duchi, Hazan & Singer 2011 (diagonal form, as Kingma & Ba section 5)",
    equation="s += g^2; theta -= alpha_t * g / (sqrt(s) + eps)",
    params=(
        lr_param(1e-2),
        eps_param(1e-10),
        Param("initial_accumulator", 0.0, "starting value of s", low=0.0),
        LR_SCHEDULE,
        weight_decay_param(),
    ),
    bytes_per_param=20,
    kernel=KERNEL,
    buffers=lambda hp: ("s",),
    reference=reference,
    coefficients=coefficients,
    settles=settled_at_once,
    textbook=textbook,
    torch_form=torch_form,
    initial={"s": "initial_accumulator"},
    online_schedule="constant",
    theorem="adagrad",
    train_lr={"constant": 3e-2, "inv_sqrt": 1.0},
)

RULES = (ADAGRAD,)
