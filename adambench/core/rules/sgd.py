"""SGD, with classical or Nesterov momentum (torch.optim.SGD form; docs/theory.md §3.4).

Elementwise, with b_0 = 0 (so b_1 = g_1, as torch)::

    b_t = mu b_{t-1} + g_t
    d_t = g_t + mu b_t   (nesterov)   or   b_t   (classical)
    theta_t = theta_{t-1} - alpha_t d_t

With mu = 0 this is plain SGD and keeps no state.  For a constant alpha this equals
Sutskever et al.'s v = mu v - alpha g form (v = -alpha b); they differ once alpha is
scheduled.

``weight_decay`` lambda (default 0) is torch's L2 penalty (docs/theory.md §7.1): g_t is
replaced by g_t + lambda theta_{t-1} before the momentum (also in the Nesterov term and
in plain SGD); the kernel uses g itself where ``wd == 0``, so lambda = 0 changes nothing.
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
    lr_param,
    weight_decay_param,
    with_l2,
)


def reference(p, g, state, hp, t):
    """One SGD step in float64 on (B, d) arrays."""
    alpha = column(hp["lr"]) / (math.sqrt(t) if hp["lr_schedule"] == "inv_sqrt" else 1.0)
    g = with_l2(g, p, hp["weight_decay"])  # L2 (docs/theory.md §7.1)
    if "b" not in state:
        p -= alpha * g
        return
    mu, b = column(hp["momentum"]), state["b"]
    moving = mu > 0  # a run with mu = 0 is plain SGD: no momentum, its b untouched
    b[...] = np.where(moving, mu * b + g, b)
    d = g + mu * b if hp["nesterov"] else b
    p -= alpha * np.where(moving, d, g)


# The fused kernel: per run mu, step = alpha_t, and the switches nesterov and
# has_momentum (per run, 0: plain SGD, its b untouched; no state array where no run has
# momentum); the gradient is g + wd * p where wd != 0.
COEFS = ("mu", "step", "nesterov", "has_momentum", "wd")


def _row(p, g, b, _s1, _s2, c):
    """One stretch of the sgd kernel (numba): the same operations as ``_CUDA``."""
    mu, step, nesterov, has_momentum, wd = c[0], c[1], c[2], c[3], c[4]
    zero = c[0] * 0
    if has_momentum == zero:
        for j in range(p.size):
            p[j] -= step * (g[j] if wd == zero else g[j] + wd * p[j])
        return
    for j in range(p.size):
        gj = g[j] if wd == zero else g[j] + wd * p[j]  # L2; wd == 0: g bit for bit
        bj = mu * b[j] + gj
        b[j] = bj
        p[j] -= step * (gj + mu * bj if nesterov != zero else bj)


def _lane(p, g, b, s1, s2, c):
    """``_row``'s operations on one element with its own coefficient row ``c`` (the
    lanes engine, engines/regret/lanes.py): returns the new (p, b, s1, s2)."""
    mu, step, nesterov, has_momentum, wd = c[0], c[1], c[2], c[3], c[4]
    zero = c[0] - c[0]
    gj = g if wd == zero else g + wd * p
    bj = mu * b + gj
    plain = has_momentum == zero
    direction = gj if plain else (gj + mu * bj if nesterov != zero else bj)
    return p - step * direction, b if plain else bj, s1, s2


_CUDA = """
    const T gj = (wd == ZERO) ? g : g + wd * p;
    if (has_momentum == ZERO) {
        p -= step * gj;
    } else {
        const T bj = mu * s0 + gj;
        s0 = bj;
        p -= step * ((nesterov != ZERO) ? gj + mu * bj : bj);
    }
"""

# SGD's V_t is the identity (weight None): its weighted projection is the Euclidean one.
KERNEL = Kernel(
    name="sgd",
    coefs=COEFS,
    states=(0, 1),
    row=_row,
    cuda=_CUDA,
    lane=_lane,
    alpha_coefs=("step",),
)


def coefficients(hp, t):
    """This step's kernel coefficients (``COEFS``) per run, for steps ``t``."""
    has_momentum = (np.asarray(hp["momentum"]) > 0).astype(np.float64)  # per run
    return KERNEL.stack(
        t,
        mu=hp["momentum"],
        step=step_size(hp["lr"], hp["lr_schedule"], t),
        nesterov=float(hp["nesterov"]),
        has_momentum=has_momentum,
        wd=hp["weight_decay"],
    )


def textbook(p, g, state, hp, t):
    """SGD, classical or Nesterov momentum, as a user writes it in NumPy (torch form)."""
    if hp["weight_decay"]:
        g = g + hp["weight_decay"] * p
    if "b" not in state:
        p -= alpha_scalar(hp, t) * g
        return
    b = state["b"] = hp["momentum"] * state["b"] + g
    d = g + hp["momentum"] * b if hp["nesterov"] else b
    p -= alpha_scalar(hp, t) * d


def torch_form(hp):
    """torch.optim.SGD (dampening 0)."""
    args = dict(lr=hp["lr"], momentum=hp["momentum"], nesterov=hp["nesterov"])
    return "SGD", dict(args, weight_decay=hp["weight_decay"]), ""


def _check(hp):
    if hp["nesterov"] and (hp["momentum"] <= 0).any():
        raise ValueError("nesterov=true needs momentum in (0, 1) for every run")


SGD = Rule(
    rank=6,
    name="sgd",
    title="SGD (plain, momentum, Nesterov)",
    source="Robbins & Monro 1951; Sutskever et al. 2013 (torch.optim.SGD form)",
    equation="b = mu * b + g; theta -= alpha_t * (nesterov ? g + mu * b : b)",
    params=(
        lr_param(1e-2),
        beta_param("momentum", 0.0, "momentum mu (0 = plain SGD)"),
        Param("nesterov", False, "Nesterov momentum", kind="bool"),
        LR_SCHEDULE,
        weight_decay_param(),
    ),
    bytes_per_param=12,
    kernel=KERNEL,
    buffers=lambda hp: ("b",) if (hp["momentum"] > 0).any() else (),
    reference=reference,
    coefficients=coefficients,
    textbook=textbook,
    torch_form=torch_form,
    extra_check=_check,
    settles=settled_at_once,
    scale_free=False,
    theorem="ogd",
    train_lr={"constant": 3e-2, "inv_sqrt": 1.0},
    train_hp={"momentum": 0.9, "nesterov": True},
)

RULES = (SGD,)
