"""Lion (Chen et al. 2023, "Symbolic Discovery of Optimization Algorithms", Algorithm 2;
docs/theory.md §8.4).

Algorithm 2, elementwise, with decoupled weight decay lambda::

    c_t = beta1 m_{t-1} + (1 - beta1) g_t
    theta_t = theta_{t-1} - alpha_t (sign(c_t) + lambda theta_{t-1})
    m_t = beta2 m_{t-1} + (1 - beta2) g_t

One state array (the momentum m); the update is a sign, so before weight decay every
coordinate moves by exactly alpha_t, up or down, or not at all where c_t = 0:
sign(0) = 0 (numpy's, jax's and torch's sign; optax.scale_by_lion uses jnp.sign, and
the paper's program writes ``sign``).  Where a coordinate's gradients have all been
zero, c = m = 0 and it stays put (no eps, no denominator: docs/theory.md §6.2 has
nothing to guard).  A NaN c_t gives a NaN step (neither comparison holds).

Defaults are the paper's: alpha = 1e-4, beta1 = 0.9, beta2 = 0.99, lambda = 0 (as the
authors' reference code, google/automl lion/lion_pytorch.py; docs/theory.md §8.4).
optax.lion defaults weight_decay to 1e-3 (and has no lr default); its weight decay is
multiplied by the learning rate, as here (theta -= alpha_t lambda theta), so the
mapping is lr = learning_rate, weight_decay = weight_decay.

The update is invariant to rescaling every gradient by c > 0 (scale-free).  It is not
of the form m_t / sqrt(V_t) of Reddi et al.'s framework: V_t = I here (``_weight``
None), so the regret engine's weighted projection is the Euclidean one.
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
)


def reference(p, g, state, hp, t):
    """One Algorithm 2 step in float64 on (B, d) arrays, as the paper writes it."""
    m = state["m"]
    b1, b2, lam = column(hp["beta1"]), column(hp["beta2"]), column(hp["weight_decay"])
    alpha = column(hp["lr"]) / (math.sqrt(t) if hp["lr_schedule"] == "inv_sqrt" else 1.0)
    c = b1 * m + (1.0 - b1) * g
    p -= alpha * (np.sign(c) + lam * p)
    m[...] = b2 * m + (1.0 - b2) * g


# The fused kernel: per run b1, ob1 = 1 - beta1, b2, ob2 = 1 - beta2, step = alpha_t and
# wd = lambda: p -= (sign(c) step) + step (wd p), with sign(c) step as a select.
COEFS = ("b1", "ob1", "b2", "ob2", "step", "wd")


def _row(p, g, m, _s1, _s2, c):
    """One stretch of the lion kernel (numba): the same operations as ``_CUDA``."""
    b1, ob1, b2, ob2, step, wd = c[0], c[1], c[2], c[3], c[4], c[5]
    zero = c[0] - c[0]  # 0 in the arrays' dtype (rules/amsgrad.py)
    for j in range(p.size):
        gj = g[j]
        mp = m[j]
        cj = b1 * mp + ob1 * gj
        # sign(c) * step: +step, -step, or c * step (0 at c = 0, NaN at NaN)
        u = step if cj > zero else (-step if cj < zero else cj * step)
        pj = p[j]
        p[j] = pj - (u + step * (wd * pj))
        m[j] = b2 * mp + ob2 * gj


def _lane(p, g, m, s1, s2, c):
    """``_row``'s operations on one element with its own coefficient row ``c`` (the
    lanes engine, engines/regret/lanes.py): returns the new (p, m, s1, s2)."""
    b1, ob1, b2, ob2, step, wd = c[0], c[1], c[2], c[3], c[4], c[5]
    zero = c[0] - c[0]
    cj = b1 * m + ob1 * g
    u = step if cj > zero else (-step if cj < zero else cj * step)
    return p - (u + step * (wd * p)), b2 * m + ob2 * g, s1, s2


_CUDA = """
    const T mp = s0;
    const T cj = b1 * mp + ob1 * g;
    const T u = (cj > ZERO) ? step : ((cj < ZERO) ? -step : cj * step);
    const T pj = p;
    p = pj - (u + step * (wd * pj));
    s0 = b2 * mp + ob2 * g;
"""

# Lion's V_t is the identity (weight None): its weighted projection is the Euclidean one.
KERNEL = Kernel(
    name="lion",
    coefs=COEFS,
    states=(1,),
    row=_row,
    cuda=_CUDA,
    lane=_lane,
    alpha_coefs=("step",),
)


def coefficients(hp, t):
    """This step's kernel coefficients (``COEFS``) per run, for steps ``t``."""
    b1, b2 = hp["beta1"], hp["beta2"]
    return KERNEL.stack(
        t, b1=b1, ob1=1.0 - b1, b2=b2, ob2=1.0 - b2,
        step=step_size(hp["lr"], hp["lr_schedule"], t), wd=hp["weight_decay"],
    )  # fmt: skip


def textbook(p, g, state, hp, t):
    """Algorithm 2 as a user writes it in NumPy."""
    b1, b2 = hp["beta1"], hp["beta2"]
    c = b1 * state["m"] + (1 - b1) * g
    p -= alpha_scalar(hp, t) * (np.sign(c) + hp["weight_decay"] * p)
    state["m"] = b2 * state["m"] + (1 - b2) * g


LION = Rule(
    rank=12,
    name="lion",
    title="Lion",
    source="Chen et al. 2023, Algorithm 2",
    equation="theta -= alpha_t (sign(beta1 m + (1 - beta1) g) + lambda theta); "
    "m = beta2 m + (1 - beta2) g",
    params=(
        lr_param(1e-4),
        beta_param("beta1", 0.9, "interpolation of m and g for the update's sign"),
        beta_param("beta2", 0.99, "decay of the momentum m"),
        Param("weight_decay", 0.0, "decoupled weight decay lambda (times alpha_t)", low=0.0),
        LR_SCHEDULE,
    ),
    # float32: p read+write, g read, m read+write (5 x 4 bytes): 8 fewer than Adam's 28.
    bytes_per_param=20,
    kernel=KERNEL,
    buffers=lambda hp: ("m",),
    reference=reference,
    coefficients=coefficients,
    settles=settled_at_once,
    textbook=textbook,
    theorem=None,  # the paper gives no online convex regret bound
    train_lr={"constant": 1e-3, "inv_sqrt": 3e-2},
)

RULES = (LION,)
