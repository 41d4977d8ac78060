"""RAdam: rectified Adam (Liu et al. 2020, Algorithm 2; docs/theory.md §7.4), in
torch.optim.RAdam's form.

Elementwise, with rho_inf = 2 / (1 - beta2) - 1 and
rho_t = rho_inf - 2 t beta2^t / (1 - beta2^t) (the length of the approximated simple
moving average)::

    m_t     = beta1 m_{t-1} + (1 - beta1) g_t
    v_t     = beta2 v_{t-1} + (1 - beta2) g_t^2
    m_hat_t = m_t / (1 - beta1^t)
    if rho_t > rho_threshold (the variance of the adaptive rate is tractable):
        l_t     = sqrt(1 - beta2^t) / (sqrt(v_t) + eps)
        r_t     = sqrt((rho_t - 4)(rho_t - 2) rho_inf / ((rho_inf - 4)(rho_inf - 2) rho_t))
        theta_t = theta_{t-1} - alpha_t r_t m_hat_t l_t
    else:
        theta_t = theta_{t-1} - alpha_t m_hat_t          (un-adapted momentum, "SGD" phase)

Definitional choices, against the paper's Algorithm 2 as we read it:

* the switch: the paper's test is rho_t > 4; torch uses rho_t > 5 (the authors' code
  rho_t >= 5, and no step below it by default: docs/theory.md §7.4).  ``rho_threshold``
  (default 5, torch) sets it; 4 is the paper.
  rho_t is just below t early on (beta2 = 0.999: rho_5 = 4.996, rho_6 = 5.994), so the
  two differ on one step, t = 5 (docs/theory.md §7.4).
* eps: the paper's l_t = sqrt((1 - beta2^t) / v_t) has none; torch adds eps to sqrt(v_t)
  before the bias factor (not to sqrt(v_hat_t) as Adam does).  eps = 0 is the paper's.
* the paper prints v_t = 1/beta2 v_{t-1} + ...; it means beta2 v_{t-1} (its eq. for the
  EMA and every implementation).
* ``weight_decay``: torch's L2 (docs/theory.md §7.1), or with ``decoupled_weight_decay``
  torch's theta *= 1 - alpha_t lambda before the step (docs/theory.md §7.2); the paper has
  no weight decay.

Scale: after the switch the step is invariant to the gradient's scale (as Adam's); the
first steps (rho_t <= rho_threshold: t <= 5 with 5, t <= 4 with 4) are momentum steps
alpha_t m_hat_t, which scale with it.

Zero denominators as in rules/adam.py (docs/theory.md §6.2): in the adapted phase the
gradient part of the step is 0 where sqrt(v_t) + eps < root_tiny (the decoupled decay
still applies).  ``_weight`` is sqrt(v_hat_t) + eps / sqrt(1 - beta2^t) (the adapted
phase's denominator, up to the factor r_t that belongs to the step size), and 1 in the
momentum phase, where V_t = I.

Bytes per parameter (float32): p read and written, g read, m and v read and written:
7 x 4 = 28.
"""

from __future__ import annotations

import math

import numpy as np

from ..schedules import alpha_scalar, decay_power, settles, step_size
from ..spec import (
    LR_SCHEDULE,
    Kernel,
    Param,
    Rule,
    beta_param,
    column,
    eps_param,
    guarded,
    lr_param,
    root_tiny,
    weight_decay_param,
    with_l2,
)


def rectification(beta2, t, threshold):
    """(adapted, r_t) per run: whether rho_t > threshold, and r_t there (0 elsewhere)."""
    b2 = np.asarray(beta2, np.float64)
    b2t = decay_power(b2, t)
    rho_inf = 2.0 / (1.0 - b2) - 1.0
    rho_t = rho_inf - 2.0 * t * b2t / (1.0 - b2t)
    adapted = rho_t > threshold
    rt = np.where(adapted, rho_t, 10.0)  # > 4 where adapted (threshold >= 4), safe elsewhere
    ri = np.where(adapted, rho_inf, 10.0)
    r = np.sqrt((rt - 4.0) * (rt - 2.0) * ri / ((ri - 4.0) * (ri - 2.0) * rt))
    return adapted, np.where(adapted, r, 0.0)


def reference(p, g, state, hp, t):
    """One RAdam step (torch's form of Algorithm 2) in float64 on (B, d) arrays."""
    m, v = state["m"], state["v"]
    b1, b2 = column(hp["beta1"]), column(hp["beta2"])
    alpha = column(hp["lr"]) / (math.sqrt(t) if hp["lr_schedule"] == "inv_sqrt" else 1.0)
    lam = column(hp["weight_decay"])
    if hp["decoupled_weight_decay"]:
        p *= 1.0 - alpha * lam
    else:
        g = with_l2(g, p, hp["weight_decay"])
    m[...] = b1 * m + (1.0 - b1) * g
    v[...] = b2 * v + (1.0 - b2) * g * g
    m_hat = m / (1.0 - b1**t)
    adapted, r = rectification(hp["beta2"], t, hp["rho_threshold"])
    adapted, r = column(adapted), column(r)
    den = np.sqrt(v) + column(hp["eps"])
    l_num = alpha * r * m_hat * np.sqrt(1.0 - b2**t)
    p -= np.where(adapted, guarded(l_num, den, root_tiny(np.float64)), alpha * m_hat)


# The fused kernel: per run b1, ob1, b2, ob2, step, eps, isb = 1 / sqrt(1 - beta2^t)
# (for the weight only), adapt (rho_t > threshold), wd (L2 lambda, 0 when decoupled)
# and decay (1 - alpha_t lambda when decoupled, else 1):
#     adapted: p = p * decay - step * m / (sqrt(v) + eps),
#              step = alpha_t r_t sqrt(1 - beta2^t) / (1 - beta1^t)
#     else:    p = p * decay - step * m,  step = alpha_t / (1 - beta1^t)
# with the adapted part 0 where sqrt(v) + eps < root_tiny (module docstring).
COEFS = ("b1", "ob1", "b2", "ob2", "step", "eps", "isb", "adapt", "wd", "decay")
EPS, ISB, ADAPT = COEFS.index("eps"), COEFS.index("isb"), COEFS.index("adapt")


def _row(p, g, m, v, _s2, c):
    """One stretch of the radam kernel (numba): the same operations as ``_CUDA``."""
    b1, ob1, b2, ob2, step, eps, _isb, adapt, wd, decay = (
        c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7], c[8], c[9]
    )  # fmt: skip
    zero = c[0] - c[0]  # 0 in the arrays' dtype (rules/amsgrad.py)
    floor = np.sqrt(np.finfo(c.dtype).tiny)  # root_tiny; "d < floor" is False for NaN
    if adapt == zero:  # the momentum phase: no denominator
        for j in range(p.size):
            gj = g[j] if wd == zero else g[j] + wd * p[j]
            mj = b1 * m[j] + ob1 * gj
            m[j] = mj
            v[j] = b2 * v[j] + ob2 * gj * gj
            p[j] = p[j] * decay - step * mj
        return
    for j in range(p.size):
        gj = g[j] if wd == zero else g[j] + wd * p[j]  # L2; wd == 0: g bit for bit
        mj = b1 * m[j] + ob1 * gj
        vj = b2 * v[j] + ob2 * gj * gj
        m[j] = mj
        v[j] = vj
        d = np.sqrt(vj) + eps
        p[j] = p[j] * decay - (zero if d < floor else step * (mj / d))


def _lane(p, g, m, v, s2, c):
    """``_row``'s operations on one element with its own coefficient row ``c`` (the
    lanes engine, engines/regret/lanes.py): returns the new (p, m, v, s2)."""
    b1, ob1, b2, ob2, step, eps, _isb, adapt, wd, decay = (
        c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7], c[8], c[9]
    )  # fmt: skip
    zero = c[0] - c[0]
    floor = np.sqrt(np.finfo(c.dtype).tiny)
    gj = g if wd == zero else g + wd * p
    mj = b1 * m + ob1 * gj
    vj = b2 * v + ob2 * gj * gj
    d = np.sqrt(vj) + eps
    adapted = zero if d < floor else step * (mj / d)
    return p * decay - (step * mj if adapt == zero else adapted), mj, vj, s2


_CUDA = """
    const T gj = (wd == ZERO) ? g : g + wd * p;
    const T mj = b1 * s0 + ob1 * gj;
    const T vj = b2 * s1 + ob2 * gj * gj;
    s0 = mj;
    s1 = vj;
    if (adapt == ZERO) {
        p = p * decay - step * mj;
    } else {
        const T d = sqrt(vj) + eps;
        p = p * decay - ((d < ROOT_TINY) ? ZERO : step * (mj / d));
    }
"""


def _weight(a0, a1, a2, c):
    """(sqrt(v_t) + eps) / sqrt(1 - beta2^t) in the adapted phase (docs/theory.md §2.1),
    in float64, 0 where sqrt(v) + eps (state dtype) is below root_tiny (§6.2); 1 in the
    momentum phase (V_t = I)."""
    w = (np.sqrt(np.float64(a1)) + c[EPS]) * c[ISB]
    w = w - w * (np.sqrt(a1) + c[EPS] < np.sqrt(np.finfo(c.dtype).tiny))
    if c[ADAPT] == 0:
        return w * 0.0 + 1.0
    return w


KERNEL = Kernel(
    name="radam",
    coefs=COEFS,
    states=(2,),
    row=_row,
    cuda=_CUDA,
    weight=_weight,
    weight_cuda=(
        "(adapt == 0) ? 1.0 : ((sqrt(a1) + eps < ROOT_TINY) ? 0.0 : (sqrt((double)a1) + eps) * isb)"
    ),
    lane=_lane,
)


def _settles(hp):
    """``Rule.settles``: with a constant alpha, constant once beta1^t and beta2^t are
    flushed (rho_t = rho_inf from there); under alpha/sqrt(t) never (no column of the row
    is alpha_t itself: the step carries r_t, the decay 1 - alpha_t lambda)."""
    t = settles(hp, True)
    return t if hp["lr_schedule"] == "constant" else np.full_like(t, np.inf)


def coefficients(hp, t):
    """This step's kernel coefficients (``COEFS``) per run, for steps ``t``."""
    b1, b2, lam = hp["beta1"], hp["beta2"], hp["weight_decay"]
    alpha = step_size(hp["lr"], hp["lr_schedule"], t)
    bc1 = 1.0 - decay_power(b1, t)
    bc2 = 1.0 - decay_power(b2, t)
    adapted, r = rectification(b2, t, hp["rho_threshold"])
    decoupled = hp["decoupled_weight_decay"]
    return KERNEL.stack(
        t,
        b1=b1,
        ob1=1.0 - b1,
        b2=b2,
        ob2=1.0 - b2,
        step=np.where(adapted, alpha * r * np.sqrt(bc2) / bc1, alpha / bc1),
        eps=hp["eps"],
        isb=1.0 / np.sqrt(bc2),
        adapt=adapted.astype(np.float64),
        wd=0.0 * lam if decoupled else lam,
        decay=1.0 - alpha * lam if decoupled else 1.0,
    )


def textbook(p, g, state, hp, t):
    """RAdam as a user writes it in NumPy (torch.optim.RAdam's loop)."""
    b1, b2, lam = hp["beta1"], hp["beta2"], hp["weight_decay"]
    alpha = alpha_scalar(hp, t)
    if lam and hp["decoupled_weight_decay"]:
        p *= 1 - alpha * lam
    elif lam:
        g = g + lam * p
    m = state["m"] = b1 * state["m"] + (1 - b1) * g
    v = state["v"] = b2 * state["v"] + (1 - b2) * g * g
    m_hat = m / (1 - b1**t)
    rho_inf = 2 / (1 - b2) - 1
    rho_t = rho_inf - 2 * t * b2**t / (1 - b2**t)
    if rho_t > hp["rho_threshold"]:
        r = math.sqrt((rho_t - 4) * (rho_t - 2) * rho_inf / ((rho_inf - 4) * (rho_inf - 2) * rho_t))
        p -= alpha * r * m_hat * math.sqrt(1 - b2**t) / (np.sqrt(v) + hp["eps"])
    else:
        p -= alpha * m_hat


def torch_form(hp):
    """torch.optim.RAdam: rho_t > 5, eps added to sqrt(v_t)."""
    if hp["rho_threshold"] != 5.0:
        return None
    args = dict(
        lr=hp["lr"], betas=(hp["beta1"], hp["beta2"]), eps=hp["eps"],
        weight_decay=hp["weight_decay"], decoupled_weight_decay=hp["decoupled_weight_decay"],
    )  # fmt: skip
    return "RAdam", args, ""


RADAM = Rule(
    rank=9,
    name="radam",
    title="RAdam (rectified Adam)",
    source="Liu et al. 2020, Algorithm 2 (torch.optim.RAdam form)",
    equation="rho_t > 5: theta -= alpha_t r_t m_hat l_t; else theta -= alpha_t m_hat",
    params=(
        lr_param(1e-3),
        beta_param("beta1", 0.9, "decay of the first-moment average m"),
        beta_param("beta2", 0.999, "decay of the second-moment average v"),
        eps_param(1e-8, "added to sqrt(v_t) (before the bias factor, as torch)"),
        Param(
            "rho_threshold",
            5.0,
            "adapt once rho_t exceeds it: 5 = torch, 4 = the paper's Algorithm 2",
            low=4.0,
        ),
        weight_decay_param(),
        Param(
            "decoupled_weight_decay",
            False,
            "false: L2 (g += lambda theta); true: theta *= 1 - alpha_t lambda (AdamW-style)",
            kind="bool",
        ),
        LR_SCHEDULE,
    ),
    bytes_per_param=28,
    kernel=KERNEL,
    buffers=lambda hp: ("m", "v"),
    reference=reference,
    coefficients=coefficients,
    settles=_settles,
    textbook=textbook,
    torch_form=torch_form,
    train_lr={"constant": 1e-2, "inv_sqrt": 3e-1},
)

RULES = (RADAM,)
