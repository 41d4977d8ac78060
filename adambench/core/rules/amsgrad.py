"""AMSGrad (Reddi, Kale & Kumar 2018, Algorithm 2; docs/theory.md §2.4).

Paper form (``bias_correction=False``), elementwise::

    m_t = beta1_t m_{t-1} + (1 - beta1_t) g_t
    v_t = beta2 v_{t-1} + (1 - beta2) g_t^2
    v_hat_t = max(v_hat_{t-1}, v_t)
    x_{t+1} = x_t - alpha_t m_t / sqrt(v_hat_t)

The paper has no eps (default 0 here; a coordinate whose gradients were all zero has
v_hat = m = 0 and stays put).  Zero denominators as in rules/adam.py (docs/theory.md
§6.2): the step divides only by a denominator D >= root_tiny = sqrt(smallest normal);
below it (D = 0, or v_hat the remnant of squares that underflowed, e.g. g = 1e-30 in
float32) the coordinate is treated as one whose gradients were all zero and stays put,
in the kernels (arrays' dtype), in ``reference`` (float64) and in ``_weight`` (0).

``bias_correction=True`` is the torch.optim form (Adam(amsgrad=True)): the max is over
the raw v_t, then x -= alpha_t / (1 - beta1^t) * m_t / (sqrt(v_hat_t) / sqrt(1 - beta2^t) + eps).
The projection onto F is the problem's business (problems/), not the rule's.

``weight_decay`` lambda (default 0) is torch's L2 penalty (docs/theory.md §7.1): the
update sees g_t + lambda theta_{t-1} in place of g_t; the kernels use g itself where
``wd == 0``, so lambda = 0 changes nothing, bit for bit.
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
    weight_decay_param,
    with_l2,
)


def reference(p, g, state, hp, t):
    """One Algorithm 2 step in float64 on (B, d) arrays."""
    m, v, v_hat = state["m"], state["v"], state["v_hat"]
    g = with_l2(g, p, hp["weight_decay"])  # L2 (docs/theory.md §7.1)
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
    p -= guarded(alpha * m, denom, root_tiny(np.float64))


# The fused kernel: coefficients as Adam's (rules/adam.py), with the max of the raw v
# in the denominator: p -= step * m / (sqrt(v_hat) * isb + eps), 0 where that is below
# root_tiny (module docstring); the gradient is g + wd * p where wd != 0 (L2).
COEFS = ("b1", "ob1", "b2", "ob2", "step", "isb", "eps", "wd")
B1, STEP, ISB, EPS = (COEFS.index(n) for n in ("b1", "step", "isb", "eps"))


def _row(p, g, m, v, vh, c):
    """One stretch of the amsgrad kernel (numba): the same operations as ``_CUDA``."""
    b1, ob1, b2, ob2, step, isb, eps, wd = c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]
    # 0 in the arrays' dtype: c[0] * 0 is float64 (numba promotes float32 * int), which
    # turned the select below and the update into float64 work: 10 % slower adagrad
    # at 1e7 float32; the results are bit-identical.
    zero = c[0] - c[0]
    floor = np.sqrt(np.finfo(c.dtype).tiny)  # root_tiny; "d < floor" is False for NaN
    for j in range(p.size):
        gj = g[j] if wd == zero else g[j] + wd * p[j]  # L2; wd == 0: g bit for bit
        mj = b1 * m[j] + ob1 * gj
        vj = b2 * v[j] + ob2 * gj * gj
        hj = max(vj, vh[j])  # vj first: max(a, b) is a unless b > a, so NaN stays NaN
        m[j] = mj
        v[j] = vj
        vh[j] = hj
        denom = np.sqrt(hj) * isb + eps
        p[j] -= zero if denom < floor else step * (mj / denom)


def _lane(p, g, m, v, vh, c):
    """``_row``'s operations on one element with its own coefficient row ``c`` (the
    lanes engine, engines/regret/lanes.py): returns the new (p, m, v, v_hat)."""
    b1, ob1, b2, ob2, step, isb, eps, wd = c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]
    zero = c[0] - c[0]
    floor = np.sqrt(np.finfo(c.dtype).tiny)
    gj = g if wd == zero else g + wd * p
    mj = b1 * m + ob1 * gj
    vj = b2 * v + ob2 * gj * gj
    hj = max(vj, vh)
    denom = np.sqrt(hj) * isb + eps
    return p - (zero if denom < floor else step * (mj / denom)), mj, vj, hj


_CUDA = """
    const T gj = (wd == ZERO) ? g : g + wd * p;
    const T mj = b1 * s0 + ob1 * gj;
    const T vj = b2 * s1 + ob2 * gj * gj;
    const T hj = py_max(vj, s2);
    s0 = mj;
    s1 = vj;
    s2 = hj;
    const T denom = sqrt(hj) * isb + eps;
    p -= (denom < ROOT_TINY) ? ZERO : step * (mj / denom);
"""


def _weight(a0, a1, a2, c):
    """sqrt(v_hat_t) + eps: the rule's own denominator (docs/theory.md §2.1), in float64;
    0 where the step's (in the state's dtype) is below root_tiny (docs/theory.md §6.2)."""
    w = np.sqrt(np.float64(a2)) * c[ISB] + c[EPS]
    return w - w * (np.sqrt(a2) * c[ISB] + c[EPS] < np.sqrt(np.finfo(c.dtype).tiny))


def _track_on(c):
    return c[STEP] > 0


def _track_term(a0, a1, a2):
    return np.sqrt(np.float64(a2))


def _track_add(total, c):
    return np.float64(c[B1]) * total / np.float64(c[STEP])


# Theorem 4's middle term sum_t beta1_t sum_i sqrt(v_hat_{t,i}) / alpha_t, step by step.
TRACK = Track(
    stat="ams_mid",
    on=_track_on,
    term=_track_term,
    add=_track_add,
    on_cuda="step > 0",
    term_cuda="sqrt((double)a2)",
    add_cuda="(double)b1 * sum / (double)step",
)


def _checkpoint(state, coef, T):
    """sum_i sqrt(v_hat_{T,i}): the paper's v_hat, the max of the raw v (Theorem 4)."""
    return {"sum_sqrt_vhat": np.sqrt(state[2]).sum(axis=1)}


KERNEL = Kernel(
    name="amsgrad",
    coefs=COEFS,
    states=(3,),
    row=_row,
    cuda=_CUDA,
    weight=_weight,
    weight_cuda="(sqrt(a2) * isb + eps < ROOT_TINY) ? 0.0 : sqrt((double)a2) * isb + eps",
    track=TRACK,
    checkpoint=_checkpoint,
    stats=("sum_sqrt_vhat",),
    lane=_lane,
    alpha_coefs=("step",),
)


def coefficients(hp, t):
    """This step's kernel coefficients (``COEFS``) per run, for steps ``t``."""
    b1, b2 = hp["beta1"], hp["beta2"]
    b1t = beta1_at(b1, hp["beta1_decay"], t)
    alpha = step_size(hp["lr"], hp["lr_schedule"], t)
    if hp["bias_correction"]:
        step = alpha / (1.0 - decay_power(b1, t))
        inv_sqrt_bc2 = 1.0 / np.sqrt(1.0 - decay_power(b2, t))
    else:
        step, inv_sqrt_bc2 = alpha, 1.0
    return KERNEL.stack(
        t, b1=b1t, ob1=1.0 - b1t, b2=b2, ob2=1.0 - b2, step=step, isb=inv_sqrt_bc2, eps=hp["eps"],
        wd=hp["weight_decay"],
    )  # fmt: skip


def textbook(p, g, state, hp, t):
    """Algorithm 2 as a user writes it in NumPy; torch's bias-corrected form if asked."""
    b1, b2, b1t = hp["beta1"], hp["beta2"], beta1_scalar(hp, t)
    if hp["weight_decay"]:
        g = g + hp["weight_decay"] * p
    m = state["m"] = b1t * state["m"] + (1 - b1t) * g
    v = state["v"] = b2 * state["v"] + (1 - b2) * g * g
    v_hat = state["v_hat"] = np.maximum(state["v_hat"], v)
    alpha = alpha_scalar(hp, t)
    if hp["bias_correction"]:
        denom = np.sqrt(v_hat) / math.sqrt(1 - b2**t) + hp["eps"]
        alpha = alpha / (1 - b1**t)
    else:
        denom = np.sqrt(v_hat) + hp["eps"]
    p -= alpha * m / denom


def torch_form(hp):
    """torch.optim.Adam(amsgrad=True): always bias-corrected."""
    note = "" if hp["bias_correction"] else "torch form: bias-corrected"
    args = dict(lr=hp["lr"], betas=(hp["beta1"], hp["beta2"]), eps=hp["eps"], amsgrad=True,
                weight_decay=hp["weight_decay"])  # fmt: skip
    return "Adam", args, note


AMSGRAD = Rule(
    rank=5,
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
        weight_decay_param(),
    ),
    bytes_per_param=36,
    kernel=KERNEL,
    buffers=lambda hp: ("m", "v", "v_hat"),
    reference=reference,
    coefficients=coefficients,
    settles=lambda hp: settles(hp, hp["bias_correction"]),
    textbook=textbook,
    torch_form=torch_form,
    theorem="reddi-4",
    train_lr={"constant": 3e-3, "inv_sqrt": 3e-2},
)

RULES = (AMSGRAD,)
