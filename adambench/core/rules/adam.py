"""Adam (Kingma & Ba 2015, Algorithm 1) and Adam without bias correction (section 6.4).

Algorithm 1, elementwise (docs/theory.md §1.1)::

    m_t = beta1_t m_{t-1} + (1 - beta1_t) g_t
    v_t = beta2 v_{t-1} + (1 - beta2) g_t^2
    m_hat_t = m_t / (1 - beta1^t)
    v_hat_t = v_t / (1 - beta2^t)
    theta_t = theta_{t-1} - alpha_t m_hat_t / (sqrt(v_hat_t) + eps)

with alpha_t = alpha or alpha/sqrt(t) and beta1_t = beta1 lambda^(t-1) (Thm 4.1).  The
bias correction keeps the constant beta1 (as in the Thm 4.1 analysis), so with lambda = 1
this is exactly Algorithm 1.

``eps_hat`` selects the paper's "more efficient" form (end of section 2, docs/theory.md §1.2)::

    alpha_t' = alpha_t sqrt(1 - beta2^t) / (1 - beta1^t)
    theta_t  = theta_{t-1} - alpha_t' m_t / (sqrt(v_t) + eps_hat)

which equals Algorithm 1 only when eps_hat = eps sqrt(1 - beta2^t); a constant eps_hat
(TensorFlow's ``epsilon``) is a slightly different rule, so ``eps`` is then unused.

``adam-nobias`` removes both corrections (section 6.4, "a version of RMSProp with
momentum"): theta_t = theta_{t-1} - alpha_t m_t / (sqrt(v_t) + eps).

Zero denominators (docs/theory.md §6.2).  With eps = 0 (as in the section 4 analysis) a
coordinate whose gradients were all zero has m = v = 0 and the formula is 0/0 there.  Tiny
gradients are the same case in finite precision: g^2 underflows below the smallest normal
number (|g| < 2^-63 ~ 1.1e-19 in float32, 2^-511 ~ 1.5e-154 in float64) while m = g
does not, so v is 0 or rounding noise and m / sqrt(v) is not the rule's ratio (it was
once a step of 2.5e5 for g = 1e-30 in float32).  So every form below divides only by a
denominator D = sqrt(v_hat) + eps that is at least ``root_tiny`` = sqrt(smallest normal),
the root of an average of squares that did not underflow, and a coordinate with
D < root_tiny is treated as one whose gradients were all zero: it stays put this step::

    theta_t = theta_{t-1} - (alpha_t m_hat_t / D   if D >= root_tiny   else 0)

in the arrays' own dtype (the kernels) and in float64 (``reference``); ``_weight`` is 0
on those coordinates too.  Where D >= root_tiny, the step is Algorithm 1's: what
underflowed of v changes D by a relative sqrt(1.5 * 2^-23 / (1 - beta2)) at most in
float32 (1.4% for beta2 = 0.999; 2^-52 in place of 2^-23 in float64), so |Delta_t| stays
within the bounds of section 2.1 (docs/theory.md §1.3) up to that factor.

``weight_decay`` lambda (both rules; default 0) is torch's L2 penalty (docs/theory.md
§7.1): every form above sees g_t + lambda theta_{t-1} in place of g_t.  The kernels test
``wd == 0`` per run and then use g itself, so lambda = 0 is Algorithm 1 bit for bit.
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
    beta_param,
    column,
    eps_param,
    guarded,
    lr_param,
    root_tiny,
    weight_decay_param,
    with_l2,
)

_COMMON = (
    lr_param(1e-3),
    beta_param("beta1", 0.9, "decay of the first-moment average m"),
    beta_param("beta2", 0.999, "decay of the second-moment average v"),
    eps_param(1e-8, "added to sqrt(v_hat) in the denominator"),
    LR_SCHEDULE,
    BETA1_DECAY,
    weight_decay_param(),
)
_EPS_HAT = Param(
    "eps_hat",
    -1.0,
    "efficient form (section 2) with constant eps_hat; -1 = off (Algorithm 1)",
    low=-1.0,
    allowed="-1 (off) or >= 0",
)


def _reference(bias_correction: bool):
    def reference(p, g, state, hp, t):
        """One Algorithm 1 step in float64 on (B, d) arrays, as the paper writes it."""
        m, v = state["m"], state["v"]
        g = with_l2(g, p, hp["weight_decay"])  # L2 (docs/theory.md §7.1)
        b1, b2, lam = column(hp["beta1"]), column(hp["beta2"]), column(hp["beta1_decay"])
        alpha = column(hp["lr"]) / (math.sqrt(t) if hp["lr_schedule"] == "inv_sqrt" else 1.0)
        b1t = b1 * lam ** (t - 1)
        m[...] = b1t * m + (1.0 - b1t) * g
        v[...] = b2 * v + (1.0 - b2) * g * g
        eps_hat = column(hp.get("eps_hat", -1.0))
        floor = root_tiny(np.float64)  # below it, the coordinate stays put (docstring)
        if not bias_correction:
            p -= guarded(alpha * m, np.sqrt(v) + column(hp["eps"]), floor)
        elif (eps_hat >= 0).all():
            alpha_t = alpha * np.sqrt(1.0 - b2**t) / (1.0 - b1**t)
            p -= guarded(alpha_t * m, np.sqrt(v) + eps_hat, floor)
        else:
            m_hat = m / (1.0 - b1**t)
            v_hat = v / (1.0 - b2**t)
            p -= guarded(alpha * m_hat, np.sqrt(v_hat) + column(hp["eps"]), floor)

    return reference


# The fused kernel (kernels_cpu compiles ``_row``, kernels_cuda ``_CUDA``): per run
# b1 = beta1_t, ob1 = 1 - beta1_t, b2, ob2 = 1 - beta2, step = alpha_t / (1 - beta1^t),
# isb = 1 / sqrt(1 - beta2^t) and eps, so that
#     p -= step * m / (sqrt(v) * isb + eps)        (0 where that denominator < root_tiny)
# is Algorithm 1 (step = alpha_t, isb = 1 without bias correction; the efficient form puts
# sqrt(1 - beta2^t) into step, isb = 1 and eps_hat in place of eps), with the gradient
# g + wd * p where wd = lambda != 0 (L2, docs/theory.md §7.1).
COEFS = ("b1", "ob1", "b2", "ob2", "step", "isb", "eps", "wd")
ISB, EPS = COEFS.index("isb"), COEFS.index("eps")


def _row(p, g, m, v, _s2, c):
    """One stretch of the adam kernel (numba): the same operations as ``_CUDA``."""
    b1, ob1, b2, ob2, step, isb, eps, wd = c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]
    zero = c[0] - c[0]  # 0 in the arrays' dtype (rules/amsgrad.py)
    # A denominator below sqrt(smallest normal) is 0 or the root of an underflowed v: the
    # coordinate stays put (module docstring).  "d < floor" is False for NaN, so a
    # diverged run stays NaN.  A select, not a branch: LLVM vectorises it as it did the
    # former max(d, tiny) (the same packed sqrt and divide; docs/theory.md §6.2).
    floor = np.sqrt(np.finfo(c.dtype).tiny)
    for j in range(p.size):
        gj = g[j] if wd == zero else g[j] + wd * p[j]  # L2; wd == 0: g bit for bit
        mj = b1 * m[j] + ob1 * gj
        vj = b2 * v[j] + ob2 * gj * gj
        m[j] = mj
        v[j] = vj
        d = np.sqrt(vj) * isb + eps
        p[j] -= zero if d < floor else step * (mj / d)


def _lane(p, g, m, v, s2, c):
    """``_row``'s operations on one element with its own coefficient row ``c`` (the
    lanes engine, engines/regret/lanes.py): returns the new (p, m, v, s2)."""
    b1, ob1, b2, ob2, step, isb, eps, wd = c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]
    zero = c[0] - c[0]
    floor = np.sqrt(np.finfo(c.dtype).tiny)
    gj = g if wd == zero else g + wd * p
    mj = b1 * m + ob1 * gj
    vj = b2 * v + ob2 * gj * gj
    d = np.sqrt(vj) * isb + eps
    return p - (zero if d < floor else step * (mj / d)), mj, vj, s2


_CUDA = """
    const T gj = (wd == ZERO) ? g : g + wd * p;
    const T mj = b1 * s0 + ob1 * gj;
    const T vj = b2 * s1 + ob2 * gj * gj;
    s0 = mj;
    s1 = vj;
    const T d = sqrt(vj) * isb + eps;
    p -= (d < ROOT_TINY) ? ZERO : step * (mj / d);
"""


def _weight(a0, a1, a2, c):
    """sqrt(v_hat_t) + eps: the rule's own denominator (docs/theory.md §2.1), in float64;
    0 where the step's denominator (in the state's dtype, as ``_row``) is below
    sqrt(smallest normal): a coordinate the step treats as unseen (docs/theory.md §6.2)."""
    w = np.sqrt(np.float64(a1)) * c[ISB] + c[EPS]
    return w - w * (np.sqrt(a1) * c[ISB] + c[EPS] < np.sqrt(np.finfo(c.dtype).tiny))


def _checkpoint(state, coef, T):
    """sum_i sqrt(T v_hat_{T,i}) of Theorem 4.1, with v_hat_T = v_T / (1 - beta2^T)."""
    vhat = state[1] * coef("isb") ** 2
    return {"sum_sqrt_T_vhat": np.sqrt(T * vhat).sum(axis=1)}


KERNEL = Kernel(
    name="adam",
    coefs=COEFS,
    states=(2,),
    row=_row,
    cuda=_CUDA,
    weight=_weight,
    weight_cuda="(sqrt(a1) * isb + eps < ROOT_TINY) ? 0.0 : sqrt((double)a1) * isb + eps",
    checkpoint=_checkpoint,
    stats=("sum_sqrt_T_vhat",),
    lane=_lane,
    alpha_coefs=("step",),
)


def _coefficients(bias_correction: bool):
    def coefficients(hp, t):
        """This step's kernel coefficients (``COEFS``) per run, for steps ``t``."""
        b1, b2 = hp["beta1"], hp["beta2"]
        b1t = beta1_at(b1, hp["beta1_decay"], t)
        alpha = step_size(hp["lr"], hp["lr_schedule"], t)
        eps = hp["eps"]
        if bias_correction:
            bc1 = 1.0 - decay_power(b1, t)
            bc2 = 1.0 - decay_power(b2, t)
            eps_hat = hp["eps_hat"]
            efficient = eps_hat >= 0  # every run or none (_check_eps_hat)
            if np.any(efficient):
                step = np.where(efficient, alpha * np.sqrt(bc2) / bc1, alpha / bc1)
                inv_sqrt_bc2 = np.where(efficient, 1.0, 1.0 / np.sqrt(bc2))
                eps = np.where(efficient, eps_hat, eps)
            else:  # np.where's second values, without computing its first
                step, inv_sqrt_bc2 = alpha / bc1, 1.0 / np.sqrt(bc2)
        else:
            step, inv_sqrt_bc2 = alpha, 1.0
        return KERNEL.stack(
            t, b1=b1t, ob1=1.0 - b1t, b2=b2, ob2=1.0 - b2, step=step, isb=inv_sqrt_bc2, eps=eps,
            wd=hp["weight_decay"],
        )  # fmt: skip

    return coefficients


def _textbook(bias_correction: bool):
    def textbook(p, g, state, hp, t):
        """Algorithm 1 as a user writes it in NumPy (or the efficient form of section 2);
        without correction, section 6.4's variant."""
        b1, b2, b1t = hp["beta1"], hp["beta2"], beta1_scalar(hp, t)
        if hp["weight_decay"]:
            g = g + hp["weight_decay"] * p
        m = state["m"] = b1t * state["m"] + (1 - b1t) * g
        v = state["v"] = b2 * state["v"] + (1 - b2) * g * g
        if not bias_correction:
            p -= alpha_scalar(hp, t) * m / (np.sqrt(v) + hp["eps"])
            return
        if hp.get("eps_hat", -1.0) >= 0:
            alpha_t = alpha_scalar(hp, t) * math.sqrt(1 - b2**t) / (1 - b1**t)
            p -= alpha_t * m / (np.sqrt(v) + hp["eps_hat"])
            return
        m_hat = m / (1 - b1**t)
        v_hat = v / (1 - b2**t)
        p -= alpha_scalar(hp, t) * m_hat / (np.sqrt(v_hat) + hp["eps"])

    return textbook


def _torch_form(hp):
    """torch.optim.Adam computes Algorithm 1 (not the efficient form), L2 weight_decay."""
    if hp["eps_hat"] >= 0:
        return None
    args = dict(lr=hp["lr"], betas=(hp["beta1"], hp["beta2"]), eps=hp["eps"])
    return "Adam", dict(args, weight_decay=hp["weight_decay"]), ""


def _check_eps_hat(hp):
    e = hp["eps_hat"]
    if ((e >= 0).any() and (e < 0).any()) or ((e < 0) & (e != -1.0)).any():
        raise ValueError("eps_hat must be >= 0 (efficient form) or -1 (off) for every run")


ADAM = Rule(
    rank=0,
    name="adam",
    title="Adam",
    source="Kingma & Ba 2015, Algorithm 1 (efficient form: section 2)",
    equation="theta -= alpha_t * m_hat / (sqrt(v_hat) + eps)",
    params=(*_COMMON, _EPS_HAT),
    bytes_per_param=28,
    kernel=KERNEL,
    buffers=lambda hp: ("m", "v"),
    reference=_reference(True),
    coefficients=_coefficients(True),
    settles=lambda hp: settles(hp, True),
    textbook=_textbook(True),
    torch_form=_torch_form,
    extra_check=_check_eps_hat,
    theorem="kingma-ba-4.1",
    train_lr={"constant": 3e-3, "inv_sqrt": 1e-1},
)

ADAM_NOBIAS = Rule(
    rank=4,
    name="adam-nobias",
    title="Adam without bias correction",
    source="Kingma & Ba 2015, section 6.4 ablation",
    equation="theta -= alpha_t * m / (sqrt(v) + eps)",
    params=_COMMON,
    bytes_per_param=28,
    kernel=KERNEL,
    buffers=lambda hp: ("m", "v"),
    reference=_reference(False),
    coefficients=_coefficients(False),
    settles=lambda hp: settles(hp, False),
    textbook=_textbook(False),
    train_lr={"constant": 3e-3, "inv_sqrt": 3e-2},
)

RULES = (
    ADAM,
    ADAM_NOBIAS,
)
