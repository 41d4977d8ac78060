"""AdaBelief (Zhuang et al. 2020, Algorithm 2; docs/theory.md §8.2).

Algorithm 2, elementwise::

    m_t = beta1_t m_{t-1} + (1 - beta1_t) g_t
    s_t = beta2 s_{t-1} + (1 - beta2) (g_t - m_t)^2 + eps
    m_hat_t = m_t / (1 - beta1^t),   s_hat_t = s_t / (1 - beta2^t)
    theta_t = Pi_{F, sqrt(s_hat_t)}( theta_{t-1} - alpha_t m_hat_t / (sqrt(s_hat_t) + eps) )

The "belief" s_t averages the squared deviation of g_t from its prediction m_t, where
Adam averages g_t^2.  The paper puts eps in two places: added to s_t at every step (so
it accumulates in the state: s_t >= eps, and with zero residuals s_t = eps (1 - beta2^t)
/ (1 - beta2)) and again outside the root.  ``eps_placement`` chooses (docs/theory.md §8.2):

* ``paper`` (default): both, as Algorithm 2; = the authors' adabelief-pytorch (with
  ``rectify=False``; docs/theory.md §8.2) and
  torch-optimizer's AdaBelief, and optax.adabelief(eps=eps, eps_root=eps) (optax's
  ``eps_root`` is added to s_t and stored, not added under the root at the update);
* ``outside``: eps outside the root only, s_t without it (Adam's placement; =
  optax.adabelief(eps=eps, eps_root=0));
* ``root``: eps under the root at the update only, sqrt(s_hat_t + eps), not stored
  (the ``eps_root`` of optax.adam; optax.adabelief has no such form).

The default eps = 1e-16 is the authors' package's and optax's (Algorithm 2 fixes no
value).  beta1_t = beta1 lambda^(t-1) (``beta1_decay``) is the decay the regret theorem
needs (docs/theory.md §8.3); the bias correction keeps the constant beta1, as Adam's.

Zero denominators as in rules/adam.py (docs/theory.md §6.2): the step divides only by
D >= root_tiny; below it (eps = 0 and s = 0: every residual so far zero) the coordinate
stays put, in the kernels, in ``reference`` and in ``_weight`` (0).
"""

from __future__ import annotations

import math

import numpy as np

from ..schedules import alpha_scalar, beta1_at, beta1_scalar, decay_power, settles, step_size
from ..spec import (
    BETA1_DECAY,
    LR_SCHEDULE,
    Kernel,
    Param,
    Rule,
    Track,
    beta_param,
    column,
    eps_param,
    guarded,
    lr_param,
    root_tiny,
)

PLACEMENTS = ("paper", "outside", "root")


def _split_eps(eps, placement):
    """(added to s_t, under the root at the update, outside the root) for a placement."""
    zero = 0.0 * eps
    if placement == "paper":
        return eps, zero, eps
    if placement == "outside":
        return zero, zero, eps
    return zero, eps, zero


def reference(p, g, state, hp, t):
    """One Algorithm 2 step in float64 on (B, d) arrays, as the paper writes it."""
    m, s = state["m"], state["s"]
    b1, b2, lam = column(hp["beta1"]), column(hp["beta2"]), column(hp["beta1_decay"])
    alpha = column(hp["lr"]) / (math.sqrt(t) if hp["lr_schedule"] == "inv_sqrt" else 1.0)
    e_s, e_in, e_out = _split_eps(column(hp["eps"]), hp["eps_placement"])
    b1t = b1 * lam ** (t - 1)
    m[...] = b1t * m + (1.0 - b1t) * g
    s[...] = b2 * s + (1.0 - b2) * (g - m) ** 2 + e_s
    m_hat = m / (1.0 - b1**t)
    s_hat = s / (1.0 - b2**t)
    p -= guarded(alpha * m_hat, np.sqrt(s_hat + e_in) + e_out, root_tiny(np.float64))


# The fused kernel: per run b1 = beta1_t, ob1 = 1 - beta1_t, b2, ob2 = 1 - beta2, step =
# alpha_t / (1 - beta1^t), ib2 = 1 / (1 - beta2^t) and the three eps slots (eps_s added
# to s, eps_in under the root, eps_out outside it; ``eps_placement`` fills them), so that
#     s = b2 s + ob2 (g - m)^2 + eps_s;  p -= step * m / (sqrt(s * ib2 + eps_in) + eps_out)
# (0 where that denominator is below root_tiny) is Algorithm 2.  alpha = alpha_t is not
# used by the step, only by the theorem's statistic (``TRACK``).
COEFS = ("b1", "ob1", "b2", "ob2", "step", "ib2", "eps_s", "eps_in", "eps_out", "alpha")
B1, IB2, EPS_IN, EPS_OUT, ALPHA = (
    COEFS.index(n) for n in ("b1", "ib2", "eps_in", "eps_out", "alpha")
)


def _row(p, g, m, s, _s2, c):
    """One stretch of the adabelief kernel (numba): the same operations as ``_CUDA``."""
    b1, ob1, b2, ob2, step, ib2 = c[0], c[1], c[2], c[3], c[4], c[5]
    eps_s, eps_in, eps_out = c[6], c[7], c[8]
    zero = c[0] - c[0]  # 0 in the arrays' dtype (rules/amsgrad.py)
    floor = np.sqrt(np.finfo(c.dtype).tiny)  # root_tiny; "d < floor" is False for NaN
    for j in range(p.size):
        gj = g[j]
        mj = b1 * m[j] + ob1 * gj
        r = gj - mj
        sj = b2 * s[j] + ob2 * r * r + eps_s
        m[j] = mj
        s[j] = sj
        d = np.sqrt(sj * ib2 + eps_in) + eps_out
        p[j] -= zero if d < floor else step * (mj / d)


def _lane(p, g, m, s, s2, c):
    """``_row``'s operations on one element with its own coefficient row ``c`` (the
    lanes engine, engines/regret/lanes.py): returns the new (p, m, s, s2)."""
    b1, ob1, b2, ob2, step, ib2 = c[0], c[1], c[2], c[3], c[4], c[5]
    eps_s, eps_in, eps_out = c[6], c[7], c[8]
    zero = c[0] - c[0]
    floor = np.sqrt(np.finfo(c.dtype).tiny)
    mj = b1 * m + ob1 * g
    r = g - mj
    sj = b2 * s + ob2 * r * r + eps_s
    d = np.sqrt(sj * ib2 + eps_in) + eps_out
    return p - (zero if d < floor else step * (mj / d)), mj, sj, s2


_CUDA = """
    const T mj = b1 * s0 + ob1 * g;
    const T r = g - mj;
    const T sj = b2 * s1 + ob2 * r * r + eps_s;
    s0 = mj;
    s1 = sj;
    const T d = sqrt(sj * ib2 + eps_in) + eps_out;
    p -= (d < ROOT_TINY) ? ZERO : step * (mj / d);
"""


def _weight(a0, a1, a2, c):
    """sqrt(s_hat_t) + eps: the rule's own denominator (the paper projects with
    sqrt(s_hat_t); docs/theory.md §2.1), in float64; 0 where the step's (in the state's
    dtype) is below root_tiny (§6.2)."""
    w = np.sqrt(np.float64(a1) * c[IB2] + c[EPS_IN]) + c[EPS_OUT]
    low = np.sqrt(a1 * c[IB2] + c[EPS_IN]) + c[EPS_OUT] < np.sqrt(np.finfo(c.dtype).tiny)
    return w - w * low


def _track_on(c):
    return c[ALPHA] > 0


def _track_term(a0, a1, a2):
    return np.sqrt(np.float64(a1))


def _track_add(total, c):
    return np.float64(c[B1]) * total / np.float64(c[ALPHA])


# Theorem 2.1's last term sum_t beta1_t sum_i sqrt(s_{t,i}) / alpha_t, summed exactly
# step by step (the raw s_t, as the theorem writes it; docs/theory.md §8.3).
TRACK = Track(
    stat="belief_mid",
    on=_track_on,
    term=_track_term,
    add=_track_add,
    on_cuda="alpha > 0",
    term_cuda="sqrt((double)a1)",
    add_cuda="(double)b1 * sum / (double)alpha",
)


def _checkpoint(state, coef, T):
    """sum_i sqrt(s_{T,i}): Theorem 2.1's first term (the raw s_T, docs/theory.md §8.3)."""
    return {"sum_sqrt_s": np.sqrt(state[1]).sum(axis=1)}


KERNEL = Kernel(
    name="adabelief",
    coefs=COEFS,
    states=(2,),
    row=_row,
    cuda=_CUDA,
    weight=_weight,
    weight_cuda=(
        "(sqrt(a1 * ib2 + eps_in) + eps_out < ROOT_TINY) ? 0.0"
        " : sqrt((double)a1 * ib2 + eps_in) + eps_out"
    ),
    track=TRACK,
    lane=_lane,
    alpha_coefs=("step", "alpha"),
    checkpoint=_checkpoint,
    stats=("sum_sqrt_s",),
)


def coefficients(hp, t):
    """This step's kernel coefficients (``COEFS``) per run, for steps ``t``."""
    b1, b2 = hp["beta1"], hp["beta2"]
    b1t = beta1_at(b1, hp["beta1_decay"], t)
    alpha = step_size(hp["lr"], hp["lr_schedule"], t)
    step = alpha / (1.0 - decay_power(b1, t))
    ib2 = 1.0 / (1.0 - decay_power(b2, t))
    e_s, e_in, e_out = _split_eps(np.asarray(hp["eps"], np.float64), hp["eps_placement"])
    return KERNEL.stack(
        t, b1=b1t, ob1=1.0 - b1t, b2=b2, ob2=1.0 - b2, step=step, ib2=ib2,
        eps_s=e_s, eps_in=e_in, eps_out=e_out, alpha=alpha,
    )  # fmt: skip


def textbook(p, g, state, hp, t):
    """Algorithm 2 as a user writes it in NumPy (eps where ``eps_placement`` puts it)."""
    b1, b2, b1t, eps = hp["beta1"], hp["beta2"], beta1_scalar(hp, t), hp["eps"]
    e_s, e_in, e_out = _split_eps(eps, hp["eps_placement"])
    m = state["m"] = b1t * state["m"] + (1 - b1t) * g
    s = state["s"] = b2 * state["s"] + (1 - b2) * (g - m) ** 2 + e_s
    p -= alpha_scalar(hp, t) * (m / (1 - b1**t)) / (np.sqrt(s / (1 - b2**t) + e_in) + e_out)


ADABELIEF = Rule(
    rank=11,
    name="adabelief",
    title="AdaBelief",
    source="Zhuang et al. 2020, Algorithm 2",
    equation="s = beta2 s + (1 - beta2)(g - m)^2 + eps; "
    "theta -= alpha_t m_hat / (sqrt(s_hat) + eps)",
    params=(
        lr_param(1e-3),
        beta_param("beta1", 0.9, "decay of the first-moment average m"),
        beta_param("beta2", 0.999, "decay of the belief s, the average of (g - m)^2"),
        eps_param(1e-16, "see eps_placement (1e-16: the authors' package and optax)"),
        Param(
            "eps_placement",
            "paper",
            "paper: eps added to s_t and outside the root (Algorithm 2; optax eps_root = eps); "
            "outside: outside the root only (optax eps_root = 0); root: sqrt(s_hat + eps)",
            kind="choice",
            choices=PLACEMENTS,
        ),
        LR_SCHEDULE,
        BETA1_DECAY,
    ),
    bytes_per_param=28,  # float32: p read+write, g read, m and s read+write (7 x 4)
    kernel=KERNEL,
    buffers=lambda hp: ("m", "s"),
    reference=reference,
    coefficients=coefficients,
    settles=lambda hp: settles(hp, True),
    textbook=textbook,
    theorem="zhuang-2.1",
    train_lr={"constant": 3e-3, "inv_sqrt": 1e-1},
)

RULES = (ADABELIEF,)
