"""RMSprop with momentum (Graves 2013; torch.optim.RMSprop; docs/theory.md §3.2-§3.3).

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

With eps = 0, a coordinate whose gradients were all zero stays put (0/0 there).  Zero
denominators as in rules/adam.py (docs/theory.md §6.2): g_t is divided only by a
denominator D >= root_tiny = sqrt(smallest normal); below it (D = 0, or v the remnant
of squares that underflowed, e.g. g = 1e-30 in float32, which once gave a step of
4.8e6) the term g_t / D is 0, as for a zero gradient, in the kernels (arrays' dtype),
in ``reference`` (float64) and in ``_weight`` (0).  Each term is then at most
1 / sqrt(1 - rho) in size (v_t >= (1 - rho) g_t^2, uncentered), so
|Delta_t| <= alpha_t / ((1 - mu) sqrt(1 - rho)) up to rounding.

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
    """One RMSprop-with-momentum step in float64 on (B, d) arrays."""
    v, b = state["v"], state["b"]
    g = with_l2(g, p, hp["weight_decay"])  # L2 (docs/theory.md §7.1)
    rho, mu, eps = column(hp["decay"]), column(hp["momentum"]), column(hp["eps"])
    alpha = column(hp["lr"]) / (math.sqrt(t) if hp["lr_schedule"] == "inv_sqrt" else 1.0)
    v[...] = rho * v + (1.0 - rho) * g * g
    w = v
    if hp["centered"]:
        gbar = state["gbar"]
        gbar[...] = rho * gbar + (1.0 - rho) * g
        w = v - gbar * gbar
    denom = np.sqrt(w + eps) if hp["eps_inside"] else np.sqrt(w) + eps
    b[...] = mu * b + guarded(g, denom, root_tiny(np.float64))
    p -= alpha * b


# The fused kernel: per run rho, orho = 1 - rho, mu, step = alpha_t, eps and the switches
# centered and inside (eps inside the square root, Graves' form); the gradient is
# g + wd * p where wd != 0 (L2).
COEFS = ("rho", "orho", "mu", "step", "eps", "centered", "inside", "wd")
EPS, INSIDE = COEFS.index("eps"), COEFS.index("inside")


def _row(p, g, v, b, gbar, c):
    """One stretch of the rmsprop kernel (numba): the same operations as ``_CUDA``."""
    rho, orho, mu, step, eps, centered, inside, wd = c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]
    zero = c[0] - c[0]  # 0 in the arrays' dtype (rules/amsgrad.py)
    floor = np.sqrt(np.finfo(c.dtype).tiny)  # root_tiny; "d < floor" is False for NaN
    for j in range(p.size):
        gj = g[j] if wd == zero else g[j] + wd * p[j]  # L2; wd == 0: g bit for bit
        vj = rho * v[j] + orho * gj * gj
        v[j] = vj
        w = vj
        if centered != zero:
            aj = rho * gbar[j] + orho * gj
            gbar[j] = aj
            w = vj - aj * aj
        denom = np.sqrt(w + eps) if inside != zero else np.sqrt(w) + eps
        bj = mu * b[j] + (zero if denom < floor else gj / denom)
        b[j] = bj
        p[j] -= step * bj


def _lane(p, g, v, b, gbar, c):
    """``_row``'s operations on one element with its own coefficient row ``c`` (the
    lanes engine, engines/regret/lanes.py): returns the new (p, v, b, gbar)."""
    rho, orho, mu, step, eps, centered, inside, wd = c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]
    zero = c[0] - c[0]
    floor = np.sqrt(np.finfo(c.dtype).tiny)
    gj = g if wd == zero else g + wd * p
    vj = rho * v + orho * gj * gj
    aj = rho * gbar + orho * gj
    on = centered != zero
    w = vj - aj * aj if on else vj
    denom = np.sqrt(w + eps) if inside != zero else np.sqrt(w) + eps
    bj = mu * b + (zero if denom < floor else gj / denom)
    return p - step * bj, vj, bj, aj if on else gbar


_CUDA = """
    const T gj = (wd == ZERO) ? g : g + wd * p;
    const T vj = rho * s0 + orho * gj * gj;
    s0 = vj;
    T w = vj;
    if (centered != ZERO) {
        const T aj = rho * s2 + orho * gj;
        s2 = aj;
        w = vj - aj * aj;
    }
    const T denom = (inside != ZERO) ? sqrt(w + eps) : sqrt(w) + eps;
    const T bj = mu * s1 + ((denom < ROOT_TINY) ? ZERO : gj / denom);
    s1 = bj;
    p -= step * bj;
"""


def _weight(a0, a1, a2, c):
    """sqrt(v_t) + eps (or sqrt(v_t + eps)): the rule's denominator (docs/theory.md §2.1),
    in float64; 0 where that (in the state's dtype) is below root_tiny (§6.2)."""
    floor = np.sqrt(np.finfo(c.dtype).tiny)
    if c[INSIDE] != 0:
        w = np.sqrt(np.float64(a0) + c[EPS])
        return w - w * (np.sqrt(a0 + c[EPS]) < floor)
    w = np.sqrt(np.float64(a0)) + c[EPS]
    return w - w * (np.sqrt(a0) + c[EPS] < floor)


KERNEL = Kernel(
    name="rmsprop",
    coefs=COEFS,
    states=(2, 3),
    row=_row,
    cuda=_CUDA,
    weight=_weight,
    weight_cuda=(
        "(inside != 0) ? ((sqrt(a0 + eps) < ROOT_TINY) ? 0.0 : sqrt((double)a0 + eps))"
        " : ((sqrt(a0) + eps < ROOT_TINY) ? 0.0 : sqrt((double)a0) + eps)"
    ),
    lane=_lane,
    alpha_coefs=("step",),
)


def coefficients(hp, t):
    """This step's kernel coefficients (``COEFS``) per run, for steps ``t``."""
    return KERNEL.stack(
        t,
        rho=hp["decay"],
        orho=1.0 - hp["decay"],
        mu=hp["momentum"],
        step=step_size(hp["lr"], hp["lr_schedule"], t),
        eps=hp["eps"],
        centered=float(hp["centered"]),
        inside=float(hp["eps_inside"]),
        wd=hp["weight_decay"],
    )


def textbook(p, g, state, hp, t):
    """RMSprop with momentum on the rescaled gradient as a user writes it (torch form)."""
    rho, mu, eps = hp["decay"], hp["momentum"], hp["eps"]
    if hp["weight_decay"]:
        g = g + hp["weight_decay"] * p
    v = state["v"] = rho * state["v"] + (1 - rho) * g * g
    w = v
    if hp["centered"]:
        gbar = state["gbar"] = rho * state["gbar"] + (1 - rho) * g
        w = v - gbar * gbar
    denom = np.sqrt(w + eps) if hp["eps_inside"] else np.sqrt(w) + eps
    b = state["b"] = mu * state["b"] + g / denom
    p -= alpha_scalar(hp, t) * b


def torch_form(hp):
    """torch.optim.RMSprop (eps outside the square root only)."""
    if hp["eps_inside"]:
        return None
    args = dict(
        lr=hp["lr"], alpha=hp["decay"], eps=hp["eps"], momentum=hp["momentum"],
        centered=hp["centered"], weight_decay=hp["weight_decay"],
    )  # fmt: skip
    return "RMSprop", args, ""


RMSPROP_MOMENTUM = Rule(
    rank=3,
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
        weight_decay_param(),
    ),
    bytes_per_param=28,
    kernel=KERNEL,
    buffers=lambda hp: ("v", "b", "gbar") if hp["centered"] else ("v", "b"),
    reference=reference,
    coefficients=coefficients,
    settles=settled_at_once,
    textbook=textbook,
    torch_form=torch_form,
    train_lr={"constant": 3e-4, "inv_sqrt": 1e-2},
)

RULES = (RMSPROP_MOMENTUM,)
