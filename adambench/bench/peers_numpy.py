"""Textbook NumPy versions of every rule: the peer a user would write from the paper.

One expression per line, as the papers print the update, in the arrays' own dtype (the
hyperparameters are Python floats, which NumPy >= 2 keeps from promoting float32 arrays).
Each line allocates fresh temporaries; that, not arithmetic, is what makes plain NumPy
slow at large sizes (DESIGN.md, "Facts measured": 46.6 ms for fp32 Adam at 1e7 against
3.9 ms fused).  These are timing peers: the float64 ``reference`` of each rule is the
specification, and tests/analysis/test_timing.py checks these against it.

Unlike the references they do not guard 0/0 for coordinates whose gradients were all zero
(the papers' formulas do not either).

``step(p, g, state, hp, t)`` updates ``p`` in place and rebinds the arrays in ``state``;
``hp`` holds plain scalars (validated by the rule) and ``t`` counts from 1.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np

State = dict[str, np.ndarray]
Hp = dict[str, Any]


def _alpha(hp: Hp, t: int) -> float:
    """alpha_t = alpha or alpha / sqrt(t) (Kingma & Ba Thm 4.1; Reddi et al. section 2.1)."""
    return hp["lr"] / math.sqrt(t) if hp["lr_schedule"] == "inv_sqrt" else hp["lr"]


def _beta1_t(hp: Hp, t: int) -> float:
    return hp["beta1"] * hp["beta1_decay"] ** (t - 1)


def adam(p: np.ndarray, g: np.ndarray, state: State, hp: Hp, t: int) -> None:
    """Kingma & Ba Algorithm 1 (paper-spec 1.1), or the efficient form of section 2 (1.2)."""
    b1, b2, b1t = hp["beta1"], hp["beta2"], _beta1_t(hp, t)
    m = state["m"] = b1t * state["m"] + (1 - b1t) * g
    v = state["v"] = b2 * state["v"] + (1 - b2) * g * g
    if hp.get("eps_hat", -1.0) >= 0:
        alpha_t = _alpha(hp, t) * math.sqrt(1 - b2**t) / (1 - b1**t)
        p -= alpha_t * m / (np.sqrt(v) + hp["eps_hat"])
        return
    m_hat = m / (1 - b1**t)
    v_hat = v / (1 - b2**t)
    p -= _alpha(hp, t) * m_hat / (np.sqrt(v_hat) + hp["eps"])


def adam_nobias(p: np.ndarray, g: np.ndarray, state: State, hp: Hp, t: int) -> None:
    """Adam without bias correction (Kingma & Ba section 6.4; paper-spec 1.7)."""
    b1t = _beta1_t(hp, t)
    m = state["m"] = b1t * state["m"] + (1 - b1t) * g
    v = state["v"] = hp["beta2"] * state["v"] + (1 - hp["beta2"]) * g * g
    p -= _alpha(hp, t) * m / (np.sqrt(v) + hp["eps"])


def amsgrad(p: np.ndarray, g: np.ndarray, state: State, hp: Hp, t: int) -> None:
    """Reddi et al. Algorithm 2 (paper-spec 2.4); torch's bias-corrected form if asked."""
    b1, b2, b1t = hp["beta1"], hp["beta2"], _beta1_t(hp, t)
    m = state["m"] = b1t * state["m"] + (1 - b1t) * g
    v = state["v"] = b2 * state["v"] + (1 - b2) * g * g
    v_hat = state["v_hat"] = np.maximum(state["v_hat"], v)
    alpha = _alpha(hp, t)
    if hp["bias_correction"]:
        denom = np.sqrt(v_hat) / math.sqrt(1 - b2**t) + hp["eps"]
        alpha = alpha / (1 - b1**t)
    else:
        denom = np.sqrt(v_hat) + hp["eps"]
    p -= alpha * m / denom


def adamax(p: np.ndarray, g: np.ndarray, state: State, hp: Hp, t: int) -> None:
    """Kingma & Ba section 7.1, Algorithm 2 (paper-spec 1.8), eps inside the max."""
    b1t = _beta1_t(hp, t)
    m = state["m"] = b1t * state["m"] + (1 - b1t) * g
    u = state["u"] = np.maximum(hp["beta2"] * state["u"], np.abs(g) + hp["eps"])
    p -= (_alpha(hp, t) / (1 - hp["beta1"] ** t)) * m / u


def adagrad(p: np.ndarray, g: np.ndarray, state: State, hp: Hp, t: int) -> None:
    """Diagonal AdaGrad (Duchi et al. 2011; paper-spec 3.1)."""
    s = state["s"] = state["s"] + g * g
    denom = np.sqrt(s) + hp["eps"]
    p -= _alpha(hp, t) * g / denom


def rmsprop_momentum(p: np.ndarray, g: np.ndarray, state: State, hp: Hp, t: int) -> None:
    """RMSprop with momentum on the rescaled gradient (paper-spec 3.2-3.3, torch form)."""
    rho, mu, eps = hp["decay"], hp["momentum"], hp["eps"]
    v = state["v"] = rho * state["v"] + (1 - rho) * g * g
    w = v
    if hp["centered"]:
        gbar = state["gbar"] = rho * state["gbar"] + (1 - rho) * g
        w = v - gbar * gbar
    denom = np.sqrt(w + eps) if hp["eps_inside"] else np.sqrt(w) + eps
    b = state["b"] = mu * state["b"] + g / denom
    p -= _alpha(hp, t) * b


def sgd(p: np.ndarray, g: np.ndarray, state: State, hp: Hp, t: int) -> None:
    """SGD, classical or Nesterov momentum (paper-spec 3.4, torch.optim.SGD form)."""
    if "b" not in state:
        p -= _alpha(hp, t) * g
        return
    b = state["b"] = hp["momentum"] * state["b"] + g
    d = g + hp["momentum"] * b if hp["nesterov"] else b
    p -= _alpha(hp, t) * d


STEPS: dict[str, Callable[[np.ndarray, np.ndarray, State, Hp, int], None]] = {
    "adam": adam,
    "adam-nobias": adam_nobias,
    "amsgrad": amsgrad,
    "adamax": adamax,
    "adagrad": adagrad,
    "rmsprop-momentum": rmsprop_momentum,
    "sgd": sgd,
}


def scalar_hp(hp: dict[str, Any]) -> Hp:
    """Validated hyperparameters (1-element float64 vectors) as plain Python scalars."""
    out: Hp = {}
    for k, v in hp.items():
        if isinstance(v, np.ndarray):
            if v.size != 1:
                raise ValueError(f"the textbook peer takes one value of {k}, got {v.size}")
            v = float(v.reshape(-1)[0])
        out[k] = v
    return out
