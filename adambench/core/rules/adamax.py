"""AdaMax (Kingma & Ba 2015, section 7.1, Algorithm 2; docs/theory.md §1.8).

Elementwise::

    m_t = beta1_t m_{t-1} + (1 - beta1_t) g_t
    u_t = max(beta2 u_{t-1}, |g_t| + eps)          (eq. 12; eps = 0 in the paper)
    theta_t = theta_{t-1} - (alpha_t / (1 - beta1^t)) m_t / u_t

eps sits inside the max, as torch.optim.Adamax puts it (default there 1e-8); the paper
has none, so the default here is 0.  A coordinate whose gradients were all zero has
u = m = 0 and stays put instead of dividing 0 by 0.

Zero denominators (docs/theory.md §6.2): u is a max of |g|, not a root of squares, so
nothing underflows until |g| itself is subnormal (below the smallest normal number,
1.2e-38 in float32, 2.2e-308 in float64); m, averaged from such g, then keeps only a few
bits (1 - beta1 times a subnormal g rounds to a few multiples of the smallest subnormal)
and m / u may exceed the rule's bound.  So the step divides only by u >= ``tiny``, the
smallest normal number of the dtype, and a coordinate with u < tiny (u = 0 included) is
treated as one whose gradients were all zero: it stays put, in the kernels (arrays'
dtype), in ``reference`` (float64) and in ``_weight`` (0).

``weight_decay`` lambda (default 0) is torch's L2 penalty (docs/theory.md §7.1): the
update sees g_t + lambda theta_{t-1} in place of g_t; the kernels use g itself where
``wd == 0``, so lambda = 0 changes nothing, bit for bit.
"""

from __future__ import annotations

import math

import numpy as np

from ..schedules import (
    alpha_scalar,
    beta1_at,
    beta1_scalar,
    decay_power,
    settled_from,
    step_size,
)
from ..spec import (
    BETA1_DECAY,
    LR_SCHEDULE,
    Kernel,
    Rule,
    beta_param,
    column,
    eps_param,
    guarded,
    lr_param,
    weight_decay_param,
    with_l2,
)


def reference(p, g, state, hp, t):
    """One Algorithm 2 step in float64 on (B, d) arrays."""
    m, u = state["m"], state["u"]
    g = with_l2(g, p, hp["weight_decay"])  # L2 (docs/theory.md §7.1)
    b1, b2, lam = column(hp["beta1"]), column(hp["beta2"]), column(hp["beta1_decay"])
    alpha = column(hp["lr"]) / (math.sqrt(t) if hp["lr_schedule"] == "inv_sqrt" else 1.0)
    b1t = b1 * lam ** (t - 1)
    m[...] = b1t * m + (1.0 - b1t) * g
    u[...] = np.maximum(b2 * u, np.abs(g) + column(hp["eps"]))
    p -= guarded((alpha / (1.0 - b1**t)) * m, u, np.finfo(np.float64).tiny)


# The fused kernel: per run b1 = beta1_t, ob1 = 1 - beta1_t, b2, step = alpha_t /
# (1 - beta1^t) and eps, so that p -= step * m / u (0 where u < tiny) is Algorithm 2;
# the gradient is g + wd * p where wd != 0 (L2).
COEFS = ("b1", "ob1", "b2", "step", "eps", "wd")


def _row(p, g, m, u, _s2, c):
    """One stretch of the adamax kernel (numba): the same operations as ``_CUDA``."""
    b1, ob1, b2, step, eps, wd = c[0], c[1], c[2], c[3], c[4], c[5]
    zero = c[0] - c[0]  # 0 in the arrays' dtype (rules/amsgrad.py)
    tiny = np.finfo(c.dtype).tiny  # the floor of u (docstring); "u < tiny" False for NaN
    for j in range(p.size):
        gj = g[j] if wd == zero else g[j] + wd * p[j]  # L2; wd == 0: g bit for bit
        mj = b1 * m[j] + ob1 * gj
        uj = max(abs(gj) + eps, b2 * u[j])  # |g| first: a NaN gradient stays NaN
        m[j] = mj
        u[j] = uj
        p[j] -= zero if uj < tiny else step * (mj / uj)


def _lane(p, g, m, u, s2, c):
    """``_row``'s operations on one element with its own coefficient row ``c`` (the
    lanes engine, engines/regret/lanes.py): returns the new (p, m, u, s2)."""
    b1, ob1, b2, step, eps, wd = c[0], c[1], c[2], c[3], c[4], c[5]
    zero = c[0] - c[0]
    tiny = np.finfo(c.dtype).tiny
    gj = g if wd == zero else g + wd * p
    mj = b1 * m + ob1 * gj
    uj = max(abs(gj) + eps, b2 * u)
    return p - (zero if uj < tiny else step * (mj / uj)), mj, uj, s2


_CUDA = """
    const T gj = (wd == ZERO) ? g : g + wd * p;
    const T mj = b1 * s0 + ob1 * gj;
    const T uj = py_max(fabs(gj) + eps, b2 * s1);
    s0 = mj;
    s1 = uj;
    p -= (uj < TINY) ? ZERO : step * (mj / uj);
"""


def _weight(a0, a1, a2, c):
    """u_t: the rule's own denominator (docs/theory.md §2.1), in float64; 0 where it is
    below the smallest normal number of the state's dtype (docs/theory.md §6.2)."""
    w = np.float64(a1)
    return w - w * (a1 < np.finfo(c.dtype).tiny)


KERNEL = Kernel(
    name="adamax",
    coefs=COEFS,
    states=(2,),
    row=_row,
    cuda=_CUDA,
    weight=_weight,
    weight_cuda="(a1 < TINY) ? 0.0 : (double)a1",
    lane=_lane,
    alpha_coefs=("step",),
)


def coefficients(hp, t):
    """This step's kernel coefficients (``COEFS``) per run, for steps ``t``."""
    b1t = beta1_at(hp["beta1"], hp["beta1_decay"], t)
    step = step_size(hp["lr"], hp["lr_schedule"], t) / (1.0 - decay_power(hp["beta1"], t))
    return KERNEL.stack(
        t, b1=b1t, ob1=1.0 - b1t, b2=hp["beta2"], step=step, eps=hp["eps"], wd=hp["weight_decay"]
    )


def textbook(p, g, state, hp, t):
    """Algorithm 2 as a user writes it in NumPy, eps inside the max."""
    b1t = beta1_scalar(hp, t)
    if hp["weight_decay"]:
        g = g + hp["weight_decay"] * p
    m = state["m"] = b1t * state["m"] + (1 - b1t) * g
    u = state["u"] = np.maximum(hp["beta2"] * state["u"], np.abs(g) + hp["eps"])
    p -= (alpha_scalar(hp, t) / (1 - hp["beta1"] ** t)) * m / u


def torch_form(hp):
    """torch.optim.Adamax (eps inside the max, as here)."""
    args = dict(lr=hp["lr"], betas=(hp["beta1"], hp["beta2"]), eps=hp["eps"])
    return "Adamax", dict(args, weight_decay=hp["weight_decay"]), ""


ADAMAX = Rule(
    rank=1,
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
        weight_decay_param(),
    ),
    bytes_per_param=28,
    kernel=KERNEL,
    buffers=lambda hp: ("m", "u"),
    reference=reference,
    coefficients=coefficients,
    # beta1_t and beta1^t (step = alpha_t / (1 - beta1^t)) are constant once flushed
    settles=lambda hp: settled_from(hp["lr_schedule"], hp["beta1_decay"], hp["beta1"]),
    textbook=textbook,
    torch_form=torch_form,
    train_lr={"constant": 1e-2, "inv_sqrt": 3e-1},
)

RULES = (ADAMAX,)
