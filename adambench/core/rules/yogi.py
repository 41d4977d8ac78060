"""Yogi (Zaheer, Reddi, Sachan, Kale & Kumar 2018, Algorithm 2; docs/theory.md §8.1).

Algorithm 2 ("YOGI"), elementwise, with the additive second-moment update::

    m_t = beta1_t m_{t-1} + (1 - beta1_t) g_t
    v_t = v_{t-1} - (1 - beta2) sign(v_{t-1} - g_t^2) g_t^2
    x_{t+1} = x_t - alpha_t m_t / (sqrt(v_t) + eps)

Adam's v_t - v_{t-1} = -(1 - beta2)(v_{t-1} - g_t^2) is proportional to the gap; Yogi's
keeps only its sign, so v moves by (1 - beta2) g_t^2 at most: up where v_{t-1} < g_t^2
(the same direction as Adam's, by less when the gap exceeds g_t^2), down where
v_{t-1} > g_t^2, and not at all where they are equal (sign(0) = 0, as numpy's and
jax's sign).  The paper's defaults (as we read it, unverified: docs/theory.md §8.1):
eps = 1e-3 (much larger than Adam's), beta1 = 0.9, beta2 = 0.999, alpha = 1e-2.  The
paper prints Algorithm 2 without bias correction (its Adam, Algorithm 1, omits the
debiasing "for clarity"), so ``bias_correction`` defaults
to false; true divides m_t by 1 - beta1^t and v_t by 1 - beta2^t as optax.scale_by_yogi
does.  The paper starts from m_0 = v_0 = 0 (as we read Algorithm 2; flagged uncertain in
docs/theory.md §8.1); TensorFlow-Addons and optax start both m and v at
``initial_accumulator_value`` = 1e-6: ``initial_accumulator`` (v_0) and ``initial_m``
(m_0) are those options.  optax's ``eps_root`` (inside the root, default 0) has no
counterpart here.

v stays >= 0 given v_0 >= 0, also in floating point: where v_{t-1} > g^2 the update
subtracts the rounded (1 - beta2) g^2 <= rounded g^2 < v_{t-1}, and the difference of
two ordered non-negative floats is not negative.

Zero denominators as in rules/adam.py (docs/theory.md §6.2): the step divides only by
D = sqrt(v_t) * isb + eps >= root_tiny; below it (eps = 0 with v = 0) the coordinate
stays put, in the kernels, in ``reference`` and in ``_weight`` (0).  A NaN gradient
makes v NaN (neither comparison holds, so the subtracting branch runs), as optax's
sign(NaN) = NaN does.
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
)


def reference(p, g, state, hp, t):
    """One Algorithm 2 step in float64 on (B, d) arrays, as the paper writes it."""
    m, v = state["m"], state["v"]
    b1, b2, lam = column(hp["beta1"]), column(hp["beta2"]), column(hp["beta1_decay"])
    alpha = column(hp["lr"]) / (math.sqrt(t) if hp["lr_schedule"] == "inv_sqrt" else 1.0)
    b1t = b1 * lam ** (t - 1)
    m[...] = b1t * m + (1.0 - b1t) * g
    g2 = g * g
    v[...] = v - (1.0 - b2) * np.sign(v - g2) * g2
    if hp["bias_correction"]:
        denom = np.sqrt(v / (1.0 - b2**t)) + column(hp["eps"])
        alpha = alpha / (1.0 - b1**t)
    else:
        denom = np.sqrt(v) + column(hp["eps"])
    p -= guarded(alpha * m, denom, root_tiny(np.float64))


# The fused kernel: per run b1 = beta1_t, ob1 = 1 - beta1_t, ob2 = 1 - beta2, step =
# alpha_t (/ (1 - beta1^t) with bias correction), isb = 1 (or 1 / sqrt(1 - beta2^t)) and
# eps: p -= step * m / (sqrt(v) * isb + eps), 0 where that is below root_tiny.
COEFS = ("b1", "ob1", "ob2", "step", "isb", "eps")
ISB, EPS = COEFS.index("isb"), COEFS.index("eps")


def _row(p, g, m, v, _s2, c):
    """One stretch of the yogi kernel (numba): the same operations as ``_CUDA``."""
    b1, ob1, ob2, step, isb, eps = c[0], c[1], c[2], c[3], c[4], c[5]
    zero = c[0] - c[0]  # 0 in the arrays' dtype (rules/amsgrad.py)
    floor = np.sqrt(np.finfo(c.dtype).tiny)  # root_tiny; "d < floor" is False for NaN
    for j in range(p.size):
        gj = g[j]
        mj = b1 * m[j] + ob1 * gj
        gg = gj * gj
        vp = v[j]
        # v - ob2 * sign(v - g^2) * g^2, as selects; NaN falls through to the last one
        vj = vp + ob2 * gg if vp < gg else (vp if vp == gg else vp - ob2 * gg)
        m[j] = mj
        v[j] = vj
        d = np.sqrt(vj) * isb + eps
        p[j] -= zero if d < floor else step * (mj / d)


def _lane(p, g, m, v, s2, c):
    """``_row``'s operations on one element with its own coefficient row ``c`` (the
    lanes engine, engines/regret/lanes.py): returns the new (p, m, v, s2)."""
    b1, ob1, ob2, step, isb, eps = c[0], c[1], c[2], c[3], c[4], c[5]
    zero = c[0] - c[0]
    floor = np.sqrt(np.finfo(c.dtype).tiny)
    mj = b1 * m + ob1 * g
    gg = g * g
    vj = v + ob2 * gg if v < gg else (v if v == gg else v - ob2 * gg)
    d = np.sqrt(vj) * isb + eps
    return p - (zero if d < floor else step * (mj / d)), mj, vj, s2


_CUDA = """
    const T mj = b1 * s0 + ob1 * g;
    const T gg = g * g;
    const T vp = s1;
    const T vj = (vp < gg) ? vp + ob2 * gg : ((vp == gg) ? vp : vp - ob2 * gg);
    s0 = mj;
    s1 = vj;
    const T d = sqrt(vj) * isb + eps;
    p -= (d < ROOT_TINY) ? ZERO : step * (mj / d);
"""


def _weight(a0, a1, a2, c):
    """sqrt(v_t) * isb + eps: the rule's own denominator (docs/theory.md §2.1), in
    float64; 0 where the step's (in the state's dtype) is below root_tiny (§6.2)."""
    w = np.sqrt(np.float64(a1)) * c[ISB] + c[EPS]
    return w - w * (np.sqrt(a1) * c[ISB] + c[EPS] < np.sqrt(np.finfo(c.dtype).tiny))


KERNEL = Kernel(
    name="yogi",
    coefs=COEFS,
    states=(2,),
    row=_row,
    cuda=_CUDA,
    weight=_weight,
    weight_cuda="(sqrt(a1) * isb + eps < ROOT_TINY) ? 0.0 : sqrt((double)a1) * isb + eps",
    lane=_lane,
    alpha_coefs=("step",),
)


def coefficients(hp, t):
    """This step's kernel coefficients (``COEFS``) per run, for steps ``t``."""
    b1t = beta1_at(hp["beta1"], hp["beta1_decay"], t)
    alpha = step_size(hp["lr"], hp["lr_schedule"], t)
    if hp["bias_correction"]:
        step = alpha / (1.0 - decay_power(hp["beta1"], t))
        isb = 1.0 / np.sqrt(1.0 - decay_power(hp["beta2"], t))
    else:
        step, isb = alpha, 1.0
    return KERNEL.stack(
        t, b1=b1t, ob1=1.0 - b1t, ob2=1.0 - hp["beta2"], step=step, isb=isb, eps=hp["eps"]
    )


def textbook(p, g, state, hp, t):
    """Algorithm 2 as a user writes it in NumPy (optax's bias correction if asked)."""
    b1t = beta1_scalar(hp, t)
    m = state["m"] = b1t * state["m"] + (1 - b1t) * g
    v = state["v"] = state["v"] - (1 - hp["beta2"]) * np.sign(state["v"] - g * g) * g * g
    alpha = alpha_scalar(hp, t)
    if hp["bias_correction"]:
        alpha = alpha / (1 - hp["beta1"] ** t)
        v = v / (1 - hp["beta2"] ** t)
    p -= alpha * m / (np.sqrt(v) + hp["eps"])


YOGI = Rule(
    rank=10,
    name="yogi",
    title="Yogi",
    source="Zaheer et al. 2018, Algorithm 2 (optax form with bias_correction)",
    equation="v -= (1 - beta2) sign(v - g^2) g^2; x -= alpha_t * m / (sqrt(v) + eps)",
    params=(
        lr_param(1e-2),
        beta_param("beta1", 0.9, "decay of the first-moment average m"),
        beta_param("beta2", 0.999, "(1 - beta2) g^2 is the most v moves in a step"),
        eps_param(1e-3, "added to sqrt(v); the paper's default 1e-3"),
        Param(
            "bias_correction",
            False,
            "false = Algorithm 2 as printed; true = optax.scale_by_yogi (m/(1-beta1^t), "
            "v/(1-beta2^t))",
            kind="bool",
        ),
        Param("initial_accumulator", 0.0, "v_0 (optax/TF-Addons: 1e-6)", low=0.0),
        Param(
            "initial_m",
            0.0,
            "m_0 (optax/TF-Addons: 1e-6, the same value as v_0)",
            allowed="any real number",
        ),
        LR_SCHEDULE,
        BETA1_DECAY,
    ),
    bytes_per_param=28,  # float32: p read+write, g read, m and v read+write (7 x 4)
    kernel=KERNEL,
    buffers=lambda hp: ("m", "v"),
    initial={"m": "initial_m", "v": "initial_accumulator"},
    reference=reference,
    coefficients=coefficients,
    settles=lambda hp: settles(hp, hp["bias_correction"]),
    textbook=textbook,
    # Zaheer et al. prove nonconvex stochastic results (convergence to a stationary point
    # with a growing minibatch), no online convex regret bound: no theorem here.
    theorem=None,
    train_lr={"constant": 3e-3, "inv_sqrt": 1e-1},
)

RULES = (YOGI,)
