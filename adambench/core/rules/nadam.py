"""NAdam: Nesterov-accelerated Adam (Dozat 2016, Algorithm 2; docs/theory.md §7.3), in
torch.optim.NAdam's form.

Elementwise, with the momentum schedule mu_t = beta1 (1 - 0.5 * 0.96^(t psi))
(psi = ``momentum_decay``, 0.004 = 1/250 by default) and its running product
Pi_t = mu_1 mu_2 ... mu_t::

    g_t     = g_t + lambda theta_{t-1}              (weight_decay lambda, L2; the default)
    theta'  = theta_{t-1} (1 - alpha_t lambda)      (decoupled_weight_decay instead)
    m_t     = beta1 m_{t-1} + (1 - beta1) g_t
    v_t     = beta2 v_{t-1} + (1 - beta2) g_t^2
    D_t     = sqrt(v_t / (1 - beta2^t)) + eps
    theta_t = theta' - alpha_t (1 - mu_t) / (1 - Pi_t) g_t / D_t
                     - alpha_t mu_{t+1} / (1 - Pi_{t+1}) m_t / D_t

i.e. the Nesterov look-ahead m_bar_t = (1 - mu_t) g_t / (1 - Pi_t) + mu_{t+1} m_t / (1 -
Pi_{t+1}) divided by Adam's bias-corrected denominator. This is torch's NAdam (and
Keras's Nadam): the average m_t uses the constant beta1, only the look-ahead uses the
schedule. As we recall Dozat's Algorithm 2 it writes m_t with mu_t in place of beta1 and
the same look-ahead; no copy of the paper was readable to check this (nor its algorithm
number; docs/theory.md §7.3), so the torch form is the definition, and the difference
(if any) is not offered as an option. The schedule constants 0.96 and 1/250 are the
paper's (after Sutskever et al.), psi is torch's name. Dozat has no weight decay:
``weight_decay`` with ``decoupled_weight_decay`` false is torch's L2 (docs/theory.md
§7.1), with true torch's AdamW-style decay theta *= 1 - alpha_t lambda (docs/theory.md
§7.2).

Pi_t is computed as exp(t log beta1 + sum_{i<=t} log(1 - 0.5 q^i)), q = 0.96^psi, not
as a running product (docs/theory.md §6.1, §7.3): the sum is tabulated once per psi up to
where its terms are below 2^-60 (a geometric tail after that, in closed form) or Pi_t
is below 2^-60 (then flushed to 0: 1 - Pi_t = 1 exactly).  The table is a pure function
of t, so a block of steps and single steps give the same coefficients bit for bit.

Zero denominators as in rules/adam.py (docs/theory.md §6.2): the step's gradient part
is 0 where D_t < root_tiny (the decoupled decay still applies); ``_weight`` is D_t.

Bytes per parameter (float32): p read and written, g read, m and v read and written:
7 x 4 = 28.
"""

from __future__ import annotations

import functools
import math

import numpy as np

from ..schedules import alpha_scalar, decay_power, per_distinct, step_size
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

_LOG_096 = math.log(0.96)
_NEGLIGIBLE = 2.0**-60  # as schedules.decay_power (docs/theory.md §6.1)


def momentum_at(beta1, psi, t):
    """mu_t = beta1 (1 - 0.5 * 0.96^(t psi)), with 0.96^(t psi) as exp(t psi log 0.96);
    for a table (t an (n, 1) array), once per distinct (beta1, psi) (the same values)."""
    shared = per_distinct(momentum_at, t, beta1, psi) if np.ndim(t) == 2 else None
    if shared is not None:
        return shared
    return np.asarray(beta1, np.float64) * (1.0 - 0.5 * np.exp(t * psi * _LOG_096))


@functools.lru_cache(maxsize=64)
def _log_table(psi: float) -> tuple[np.ndarray, float, bool]:
    """(L, log q, flushed): L[k] = sum_{i<=k} log(1 - 0.5 q^i) for k = 0..K, where K is
    the first i with 0.5 q^i < 2^-60 (the remaining terms are -0.5 q^i to within 2^-121)
    or with L[K] < log 2^-60 (then ``flushed``: the product is 0 from there on)."""
    log_q = psi * _LOG_096
    parts, total, start, size = [np.zeros(1)], 0.0, 1, 1024
    while True:
        i = np.arange(start, start + size, dtype=np.float64)
        half_q = 0.5 * np.exp(i * log_q)
        terms = np.log1p(-half_q)
        cum = total + np.cumsum(terms)
        small = half_q < _NEGLIGIBLE
        low = cum < math.log(_NEGLIGIBLE)
        stop = np.flatnonzero(small | low)
        if stop.size:
            k = int(stop[0])
            parts.append(cum[: k + 1])
            return np.concatenate(parts), log_q, bool(low[k])
        parts.append(cum)
        total, start, size = float(cum[-1]), start + size, size * 2


def _log_p(psi: float, t: np.ndarray) -> np.ndarray:
    """sum_{i<=t} log(1 - 0.5 q^i) (-inf where flushed), elementwise over integer t."""
    table, log_q, flushed = _log_table(psi)
    k = table.size - 1
    t = np.asarray(t, dtype=np.int64)
    inside = table[np.minimum(t, k)]
    if flushed:
        return np.where(t >= k, -np.inf, inside)
    if log_q == 0.0:  # psi = 0: every term is log(0.5), tabulated until flushed above
        return inside
    # the geometric tail: sum_{i=k+1}^{t} -0.5 q^i = -0.5 q^(k+1) (1 - q^(t-k)) / (1 - q)
    extra = np.maximum(t - k, 0)
    tail = -0.5 * np.exp((k + 1) * log_q) * np.expm1(extra * log_q) / np.expm1(log_q)
    return inside + tail


def momentum_product(beta1, psi, t):
    """Pi_t = prod_{i<=t} mu_i per run (beta1, psi (R,) vectors; t an int or (n, 1) array),
    from the tabulated log sum (module docstring); values below 2^-60 flushed to 0."""
    beta1 = np.atleast_1d(np.asarray(beta1, np.float64))
    psi = np.broadcast_to(np.asarray(psi, np.float64), beta1.shape)
    t = np.asarray(t)
    shared = per_distinct(momentum_product, t, beta1, psi)  # its columns are computed alone
    if shared is not None:
        return shared
    out = np.empty(np.broadcast_shapes(t.shape, beta1.shape))
    for r in range(beta1.size):
        with np.errstate(divide="ignore"):
            log_pi = t * np.log(beta1[r]) + _log_p(float(psi[r]), t)
        out[..., r] = np.exp(log_pi)[..., 0] if t.ndim else np.exp(log_pi)
    return np.where(out < _NEGLIGIBLE, 0.0, out)


def reference(p, g, state, hp, t):
    """One NAdam step (torch's form) in float64 on (B, d) arrays, with mu_t and Pi_t
    written out as the module docstring has them."""
    m, v = state["m"], state["v"]
    b1, b2 = column(hp["beta1"]), column(hp["beta2"])
    alpha = column(hp["lr"]) / (math.sqrt(t) if hp["lr_schedule"] == "inv_sqrt" else 1.0)
    lam = column(hp["weight_decay"])
    if hp["decoupled_weight_decay"]:
        p *= 1.0 - alpha * lam
    else:
        g = with_l2(g, p, hp["weight_decay"])
    mu = column(momentum_at(hp["beta1"], hp["momentum_decay"], t))
    mu_next = column(momentum_at(hp["beta1"], hp["momentum_decay"], t + 1))
    pi = column(momentum_product(hp["beta1"], hp["momentum_decay"], t))
    pi_next = column(momentum_product(hp["beta1"], hp["momentum_decay"], t + 1))
    m[...] = b1 * m + (1.0 - b1) * g
    v[...] = b2 * v + (1.0 - b2) * g * g
    m_bar = (1.0 - mu) / (1.0 - pi) * g + mu_next / (1.0 - pi_next) * m
    denom = np.sqrt(v / (1.0 - b2**t)) + column(hp["eps"])
    p -= guarded(alpha * m_bar, denom, root_tiny(np.float64))


# The fused kernel: per run b1, ob1, b2, ob2, sg = alpha_t (1 - mu_t) / (1 - Pi_t),
# sm = alpha_t mu_{t+1} / (1 - Pi_{t+1}), isb = 1 / sqrt(1 - beta2^t), eps, wd (L2
# lambda, 0 when decoupled) and decay (1 - alpha_t lambda when decoupled, else 1):
#     g = g + wd p;  p = p * decay - (sg * g / d + sm * m / d),  d = sqrt(v) * isb + eps
# with the gradient part 0 where d < root_tiny (module docstring).
COEFS = ("b1", "ob1", "b2", "ob2", "sg", "sm", "isb", "eps", "wd", "decay")
ISB, EPS = COEFS.index("isb"), COEFS.index("eps")


def _row(p, g, m, v, _s2, c):
    """One stretch of the nadam kernel (numba): the same operations as ``_CUDA``."""
    b1, ob1, b2, ob2, sg, sm, isb, eps, wd, decay = (
        c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7], c[8], c[9]
    )  # fmt: skip
    zero = c[0] - c[0]  # 0 in the arrays' dtype (rules/amsgrad.py)
    floor = np.sqrt(np.finfo(c.dtype).tiny)  # root_tiny; "d < floor" is False for NaN
    for j in range(p.size):
        gj = g[j] if wd == zero else g[j] + wd * p[j]  # L2; wd == 0: g bit for bit
        mj = b1 * m[j] + ob1 * gj
        vj = b2 * v[j] + ob2 * gj * gj
        m[j] = mj
        v[j] = vj
        d = np.sqrt(vj) * isb + eps
        p[j] = p[j] * decay - (zero if d < floor else sg * (gj / d) + sm * (mj / d))


def _lane(p, g, m, v, s2, c):
    """``_row``'s operations on one element with its own coefficient row ``c`` (the
    lanes engine, engines/regret/lanes.py): returns the new (p, m, v, s2)."""
    b1, ob1, b2, ob2, sg, sm, isb, eps, wd, decay = (
        c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7], c[8], c[9]
    )  # fmt: skip
    zero = c[0] - c[0]
    floor = np.sqrt(np.finfo(c.dtype).tiny)
    gj = g if wd == zero else g + wd * p
    mj = b1 * m + ob1 * gj
    vj = b2 * v + ob2 * gj * gj
    d = np.sqrt(vj) * isb + eps
    return p * decay - (zero if d < floor else sg * (gj / d) + sm * (mj / d)), mj, vj, s2


_CUDA = """
    const T gj = (wd == ZERO) ? g : g + wd * p;
    const T mj = b1 * s0 + ob1 * gj;
    const T vj = b2 * s1 + ob2 * gj * gj;
    s0 = mj;
    s1 = vj;
    const T d = sqrt(vj) * isb + eps;
    p = p * decay - ((d < ROOT_TINY) ? ZERO : sg * (gj / d) + sm * (mj / d));
"""


def _weight(a0, a1, a2, c):
    """sqrt(v_hat_t) + eps: the rule's own denominator (docs/theory.md §2.1), in float64;
    0 where the step's (in the state's dtype) is below root_tiny (§6.2)."""
    w = np.sqrt(np.float64(a1)) * c[ISB] + c[EPS]
    return w - w * (np.sqrt(a1) * c[ISB] + c[EPS] < np.sqrt(np.finfo(c.dtype).tiny))


KERNEL = Kernel(
    name="nadam",
    coefs=COEFS,
    states=(2,),
    row=_row,
    cuda=_CUDA,
    weight=_weight,
    weight_cuda="(sqrt(a1) * isb + eps < ROOT_TINY) ? 0.0 : sqrt((double)a1) * isb + eps",
    lane=_lane,  # no settles: the momentum schedule's product changes the row every step
)


def coefficients(hp, t):
    """This step's kernel coefficients (``COEFS``) per run, for steps ``t``."""
    b1, b2, psi = hp["beta1"], hp["beta2"], hp["momentum_decay"]
    alpha = step_size(hp["lr"], hp["lr_schedule"], t)
    mu, mu_next = momentum_at(b1, psi, t), momentum_at(b1, psi, np.add(t, 1))
    pi, pi_next = momentum_product(b1, psi, t), momentum_product(b1, psi, np.add(t, 1))
    lam = hp["weight_decay"]
    decoupled = hp["decoupled_weight_decay"]
    return KERNEL.stack(
        t,
        b1=b1,
        ob1=1.0 - b1,
        b2=b2,
        ob2=1.0 - b2,
        sg=alpha * (1.0 - mu) / (1.0 - pi),
        sm=alpha * mu_next / (1.0 - pi_next),
        isb=1.0 / np.sqrt(1.0 - decay_power(b2, t)),
        eps=hp["eps"],
        wd=0.0 * lam if decoupled else lam,
        decay=1.0 - alpha * lam if decoupled else 1.0 + 0.0 * alpha,
    )


def textbook(p, g, state, hp, t):
    """NAdam as a user writes it in NumPy (torch.optim.NAdam's loop, running product)."""
    b1, b2, psi, lam = hp["beta1"], hp["beta2"], hp["momentum_decay"], hp["weight_decay"]
    alpha = alpha_scalar(hp, t)
    if lam and hp["decoupled_weight_decay"]:
        p *= 1 - alpha * lam
    elif lam:
        g = g + lam * p
    mu = b1 * (1 - 0.5 * 0.96 ** (t * psi))
    mu_next = b1 * (1 - 0.5 * 0.96 ** ((t + 1) * psi))
    pi = state["mu_product"] = state.get("mu_product", 1.0) * mu
    m = state["m"] = b1 * state["m"] + (1 - b1) * g
    v = state["v"] = b2 * state["v"] + (1 - b2) * g * g
    denom = np.sqrt(v / (1 - b2**t)) + hp["eps"]
    p -= alpha * (1 - mu) / (1 - pi) * g / denom
    p -= alpha * mu_next / (1 - pi * mu_next) * m / denom


def torch_form(hp):
    """torch.optim.NAdam (its momentum_decay, weight_decay and decoupled_weight_decay)."""
    args = dict(
        lr=hp["lr"], betas=(hp["beta1"], hp["beta2"]), eps=hp["eps"],
        weight_decay=hp["weight_decay"], momentum_decay=hp["momentum_decay"],
        decoupled_weight_decay=hp["decoupled_weight_decay"],
    )  # fmt: skip
    return "NAdam", args, ""


NADAM = Rule(
    rank=8,
    name="nadam",
    title="NAdam (Nesterov-accelerated Adam)",
    source="Dozat 2016, Algorithm 2 (torch.optim.NAdam form)",
    equation="theta -= alpha_t * ((1-mu_t) g / (1-Pi_t) + mu_{t+1} m / (1-Pi_{t+1})) / D",
    params=(
        lr_param(2e-3),
        beta_param("beta1", 0.9, "decay of the first-moment average m (and scale of mu_t)"),
        beta_param("beta2", 0.999, "decay of the second-moment average v"),
        eps_param(1e-8, "added to sqrt(v_hat) in the denominator"),
        Param(
            "momentum_decay",
            4e-3,
            "psi in mu_t = beta1 (1 - 0.5 * 0.96^(t psi)) (torch's; 1/250 in the paper)",
            low=0.0,
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
    textbook=textbook,
    torch_form=torch_form,
    train_lr={"constant": 3e-3, "inv_sqrt": 1e-1},
)

RULES = (NADAM,)
