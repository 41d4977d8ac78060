"""AdamW: Adam with decoupled weight decay (Loshchilov & Hutter 2019, Algorithm 2, the
"AdamW" lines; docs/theory.md §7.2), in torch.optim.AdamW's form.

Elementwise, with lambda = ``weight_decay`` and alpha_t = alpha eta_t (eta_t = 1, or
1/sqrt(t) with ``lr_schedule = inv_sqrt``)::

    theta'  = theta_{t-1} (1 - alpha_t lambda)                 (decay: not through g)
    m_t     = beta1 m_{t-1} + (1 - beta1) g_t
    v_t     = beta2 v_{t-1} + (1 - beta2) g_t^2
    vmax_t  = max(vmax_{t-1}, v_t)                              (amsgrad only)
    theta_t = theta' - alpha_t m_hat_t / (sqrt(v_hat_t) + eps)  (v_hat from vmax_t with amsgrad)

with m_hat_t = m_t / (1 - beta1^t) and v_hat_t = v_t / (1 - beta2^t) (Algorithm 2, lines
7-10, as we read it: docs/theory.md §7.2). The paper's line 12 is theta_t = theta_{t-1}
- eta_t (alpha m_hat_t / (sqrt(v_hat_t) + eps) + lambda_paper theta_{t-1}): its lambda
is NOT multiplied by alpha. torch (and so this rule) multiplies: ``weight_decay`` =
lambda_paper / alpha, so that the decay follows the step size's schedule the way the
paper's eta_t does (the default 0.01 is torch's;
tests/core/test_torch_reference_decay.py pins the correspondence).  The
paper's normalised weight decay (lambda = lambda_norm sqrt(b / (B T)), its Appendix) and
its warm restarts (eta_t of SGDR) are not implemented: eta_t is ``lr_schedule``.

``amsgrad`` is torch's AdamW(amsgrad=True): the maximum of the raw v_t (as in
rules/amsgrad.py with ``bias_correction=True``), then divided by (1 - beta2^t).

Zero denominators as in rules/adam.py (docs/theory.md §6.2): the Adam part of the step
is 0 where sqrt(v_hat) + eps < root_tiny; the decay (which does not depend on the
gradient) still applies there.  ``_weight`` is the Adam denominator sqrt(v_hat) + eps
(the decay is not part of V_t).

Bytes per parameter (float32): p read and written, g read, m and v read and written:
7 x 4 = 28; with amsgrad, vmax too: 36 (bench counts the buffers of the configuration).
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
)


def reference(p, g, state, hp, t):
    """One AdamW step (torch's form of Algorithm 2) in float64 on (B, d) arrays."""
    m, v = state["m"], state["v"]
    b1, b2 = column(hp["beta1"]), column(hp["beta2"])
    alpha = column(hp["lr"]) / (math.sqrt(t) if hp["lr_schedule"] == "inv_sqrt" else 1.0)
    p *= 1.0 - alpha * column(hp["weight_decay"])  # decoupled decay, before the Adam step
    m[...] = b1 * m + (1.0 - b1) * g
    v[...] = b2 * v + (1.0 - b2) * g * g
    h = v
    if hp["amsgrad"]:
        h = state["v_hat"]
        np.maximum(h, v, out=h)
    m_hat = m / (1.0 - b1**t)
    v_hat = h / (1.0 - b2**t)
    p -= guarded(alpha * m_hat, np.sqrt(v_hat) + column(hp["eps"]), root_tiny(np.float64))


# The fused kernel: Adam's coefficients (rules/adam.py: step = alpha_t / (1 - beta1^t),
# isb = 1 / sqrt(1 - beta2^t)), decay = 1 - alpha_t lambda and the switch ams:
#     p = p * decay - step * m / (sqrt(h) * isb + eps)   (h = max(vmax, v) or v)
# with the Adam part 0 where that denominator is below root_tiny (module docstring).
COEFS = ("b1", "ob1", "b2", "ob2", "step", "isb", "eps", "decay", "ams")
ISB, EPS, AMS = (COEFS.index(n) for n in ("isb", "eps", "ams"))


def _row(p, g, m, v, vh, c):
    """One stretch of the adamw kernel (numba): the same operations as ``_CUDA``."""
    b1, ob1, b2, ob2, step, isb, eps, decay, ams = (
        c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7], c[8]
    )  # fmt: skip
    zero = c[0] - c[0]  # 0 in the arrays' dtype (rules/amsgrad.py)
    floor = np.sqrt(np.finfo(c.dtype).tiny)  # root_tiny; "d < floor" is False for NaN
    for j in range(p.size):
        gj = g[j]
        mj = b1 * m[j] + ob1 * gj
        vj = b2 * v[j] + ob2 * gj * gj
        m[j] = mj
        v[j] = vj
        hj = vj
        if ams != zero:
            hj = max(vj, vh[j])  # vj first: NaN stays NaN (rules/amsgrad.py)
            vh[j] = hj
        d = np.sqrt(hj) * isb + eps
        p[j] = p[j] * decay - (zero if d < floor else step * (mj / d))


def _lane(p, g, m, v, vh, c):
    """``_row``'s operations on one element with its own coefficient row ``c`` (the
    lanes engine, engines/regret/lanes.py): returns the new (p, m, v, v_hat)."""
    b1, ob1, b2, ob2, step, isb, eps, decay, ams = (
        c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7], c[8]
    )  # fmt: skip
    zero = c[0] - c[0]
    floor = np.sqrt(np.finfo(c.dtype).tiny)
    mj = b1 * m + ob1 * g
    vj = b2 * v + ob2 * g * g
    on = ams != zero
    hj = max(vj, vh) if on else vj
    d = np.sqrt(hj) * isb + eps
    return p * decay - (zero if d < floor else step * (mj / d)), mj, vj, hj if on else vh


_CUDA = """
    const T mj = b1 * s0 + ob1 * g;
    const T vj = b2 * s1 + ob2 * g * g;
    s0 = mj;
    s1 = vj;
    T hj = vj;
    if (ams != ZERO) {
        hj = py_max(vj, s2);
        s2 = hj;
    }
    const T d = sqrt(hj) * isb + eps;
    p = p * decay - ((d < ROOT_TINY) ? ZERO : step * (mj / d));
"""


def _weight(a0, a1, a2, c):
    """sqrt(v_hat_t) + eps (from vmax with amsgrad): the Adam denominator (docs/theory.md
    §2.1), in float64; 0 where the step's (state dtype) is below root_tiny (§6.2)."""
    floor = np.sqrt(np.finfo(c.dtype).tiny)
    if c[AMS] != 0:
        w = np.sqrt(np.float64(a2)) * c[ISB] + c[EPS]
        return w - w * (np.sqrt(a2) * c[ISB] + c[EPS] < floor)
    w = np.sqrt(np.float64(a1)) * c[ISB] + c[EPS]
    return w - w * (np.sqrt(a1) * c[ISB] + c[EPS] < floor)


KERNEL = Kernel(
    name="adamw",
    coefs=COEFS,
    states=(2, 3),
    row=_row,
    cuda=_CUDA,
    weight=_weight,
    weight_cuda=(
        "(ams != 0) ? ((sqrt(a2) * isb + eps < ROOT_TINY) ? 0.0 : sqrt((double)a2) * isb + eps)"
        " : ((sqrt(a1) * isb + eps < ROOT_TINY) ? 0.0 : sqrt((double)a1) * isb + eps)"
    ),
    lane=_lane,
    alpha_coefs=("step",),
)


def _settles(hp):
    """``Rule.settles``: constant once beta1^t and beta2^t are flushed (step = alpha_t
    there), but under alpha/sqrt(t) never where lambda != 0: the decay 1 - alpha_t lambda
    is not alpha_t."""
    t = settles(hp, True)
    if hp["lr_schedule"] == "inv_sqrt":
        t = np.where(np.asarray(hp["weight_decay"]) != 0, np.inf, t)
    return t


def coefficients(hp, t):
    """This step's kernel coefficients (``COEFS``) per run, for steps ``t``."""
    b1, b2 = hp["beta1"], hp["beta2"]
    alpha = step_size(hp["lr"], hp["lr_schedule"], t)
    return KERNEL.stack(
        t,
        b1=b1,
        ob1=1.0 - b1,
        b2=b2,
        ob2=1.0 - b2,
        step=alpha / (1.0 - decay_power(b1, t)),
        isb=1.0 / np.sqrt(1.0 - decay_power(b2, t)),
        eps=hp["eps"],
        decay=1.0 - alpha * hp["weight_decay"],
        ams=float(hp["amsgrad"]),
    )


def textbook(p, g, state, hp, t):
    """AdamW as a user writes it in NumPy (torch.optim.AdamW's order of operations)."""
    b1, b2, alpha = hp["beta1"], hp["beta2"], alpha_scalar(hp, t)
    p *= 1 - alpha * hp["weight_decay"]
    m = state["m"] = b1 * state["m"] + (1 - b1) * g
    v = state["v"] = b2 * state["v"] + (1 - b2) * g * g
    if hp["amsgrad"]:
        v = state["v_hat"] = np.maximum(state["v_hat"], v)
    p -= alpha * (m / (1 - b1**t)) / (np.sqrt(v / (1 - b2**t)) + hp["eps"])


def torch_form(hp):
    """torch.optim.AdamW (weight_decay multiplied by lr, as here)."""
    args = dict(
        lr=hp["lr"], betas=(hp["beta1"], hp["beta2"]), eps=hp["eps"],
        weight_decay=hp["weight_decay"], amsgrad=hp["amsgrad"],
    )  # fmt: skip
    return "AdamW", args, ""


ADAMW = Rule(
    rank=7,
    name="adamw",
    title="AdamW (decoupled weight decay)",
    source="Loshchilov & Hutter 2019, Algorithm 2 (torch.optim.AdamW form)",
    equation="theta = theta * (1 - alpha_t * lambda) - alpha_t * m_hat / (sqrt(v_hat) + eps)",
    params=(
        lr_param(1e-3),
        beta_param("beta1", 0.9, "decay of the first-moment average m"),
        beta_param("beta2", 0.999, "decay of the second-moment average v"),
        eps_param(1e-8, "added to sqrt(v_hat) in the denominator"),
        weight_decay_param(
            1e-2,
            "decoupled decay lambda: theta *= 1 - alpha_t * lambda (torch's; the paper's "
            "lambda is alpha * this)",
        ),
        Param(
            "amsgrad",
            False,
            "divide by the running max of the raw v (torch's AdamW(amsgrad=True))",
            kind="bool",
        ),
        LR_SCHEDULE,
    ),
    bytes_per_param=28,
    kernel=KERNEL,
    buffers=lambda hp: ("m", "v", "v_hat") if hp["amsgrad"] else ("m", "v"),
    reference=reference,
    coefficients=coefficients,
    settles=_settles,
    textbook=textbook,
    torch_form=torch_form,
    train_lr={"constant": 3e-3, "inv_sqrt": 1e-1},
)

RULES = (ADAMW,)
