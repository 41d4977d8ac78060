"""Regret bounds of the theory, evaluated on a run's own observed constants.

Each function returns ``{"theorem", "applies", "why", "value", "terms", "guarantee",
"sound"}``: the bound is evaluated only where the theorem's conditions hold for the run
(otherwise ``applies`` is False and ``why`` names the failing condition).
``guarantee`` is the growth the bound itself proves for these settings ("O(sqrt T)", or
None where it grows faster, e.g. Theorem 4 at a constant beta1); ``sound`` is False for
a theorem whose proof is known to be wrong (Kingma & Ba Theorem 4.1), whose bound
therefore guarantees nothing.  ``trivial_bound`` is T G D (convexity: f_t(x_t) -
f_t(x*) <= <g_t, x_t - x*> <= G D); a bound above it is vacuous at this T.

The constants are those the run observed up to T (``engines/regret/engine.py``):
G = max ||g_t||_2, G_inf = max ||g_t||_inf, sum_i ||g_{1:T,i}||_2, D and D_inf of the
bounding box of the iterates and the comparator point, v_hat_T.  eps > 0 in a rule is
treated as 0 (every analysis takes eps = 0); this is recorded in ``why``.

Which bound applies to a rule is the rule's own declaration (``Rule.theorem``, a key of
``THEOREMS``; None: no theorem).  Every entry takes (hp, T, d, constants, euclidean,
weighted): ``euclidean`` / ``weighted`` say whether the run's projection is the
Euclidean one / the sqrt(V)-weighted one (both on a box).

* OGD / SGD, alpha_t = alpha/sqrt(t) (docs/theory.md §4.2, derived from the standard bound):
  R(T) <= D^2 sqrt(T) / (2 alpha) + alpha G^2 sqrt(T).
* AdaGrad, diagonal, constant alpha (Duchi et al.; docs/theory.md §3.1):
  R(T) <= (D_inf^2 / (2 alpha) + alpha) sum_i ||g_{1:T,i}||_2, which is
  sqrt(2) D_inf sum_i ||g_{1:T,i}||_2 at the optimal alpha = D_inf / sqrt(2).
* Adam, Kingma & Ba Theorem 4.1 (docs/theory.md §1.5): all three terms; needs alpha/sqrt(t),
  gamma = beta1^2/sqrt(beta2) < 1 and beta1_t = beta1 lambda^(t-1) with lambda < 1
  (with beta1 = 0 every lambda in (0, 1) gives the same algorithm, so the bound holds
  for the infimum over lambda, the limit lambda -> 0: (1 - lambda)^2 -> 1).  The
  theorem is known to be wrong (Reddi et al.; docs/theory.md §1.5): a run may exceed it.
* AMSGrad, Reddi et al. Theorem 4 (docs/theory.md §2.4, final form): needs
  alpha/sqrt(t), gamma = beta1/sqrt(beta2) < 1, the paper's form (no bias correction).
  With beta1_t = beta1 lambda^(t-1), lambda < 1 (Corollary 1) the middle term is at most
  beta1 D_inf^2 d G_inf / (2 alpha (1 - beta1) (1 - lambda)^2), a constant: O(sqrt T).
  With a constant beta1 > 0 the middle term, summed exactly over the run, grows like
  T^(3/2) and the bound guarantees nothing; with beta1 = 0 it is 0.
* AdaBelief, Zhuang et al. Theorem 2.1 (docs/theory.md §8.3): needs alpha/sqrt(t),
  eps added to s_t (eps_placement = paper, eps > 0: then s_t >= c = eps), and
  s_{t,i} <= s_{t+1,i} for every t and i.  That last condition is the theorem's
  hypothesis, not a property of AdaBelief (an EMA; it fails e.g. once g_t - m_t shrinks),
  and a run does not record it: the bound applies only where the constants say
  ``s_nondecreasing`` (none of the engine's runs do), so AdaBelief's rows read n/a with
  that reason.  Its middle term sum_i ||g^2_{1:T,i}||_2 is bounded by G_inf(observed)
  sum_i ||g_{1:T,i}||_2 (the engine keeps sum g^2, not sum g^4), and the last term is
  summed exactly over the run (``belief_mid``); O(sqrt(T log T)) with beta1 decay.

Every legal hyperparameter gives a record, never an exception (``_ratio``):

* beta2 = 0 (legal: v_t = g_t^2): gamma = beta1^2/sqrt(beta2) (Thm 4.1), beta1/sqrt(beta2)
  (Thm 4) is undefined (0/0 at beta1 = 0, infinite above), so neither theorem applies and
  ``why`` says "needs beta2 > 0 ...".  A beta2 so small that gamma overflows gives
  gamma = inf, which fails the condition gamma < 1 the same way.
* A term beyond float64 (e.g. alpha = 5e-324: D^2 / (2 alpha) overflows) is +inf: the
  theorem still applies (its conditions hold), its ``value`` is inf (null in a results
  file, which has no Inf), the row marks it vacuous (inf >= T G D), and ``why`` says
  "overflows float64".  A term whose numerator is exactly 0 (e.g. D = 0) is 0 even when
  its denominator underflowed.  A NaN constant (a diverged run) gives a NaN value, and
  ``why`` says "a term is NaN".
"""

from __future__ import annotations

import math
import sys
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from ..core.registry import get_rule

NO_THEOREM = "no regret theorem for this rule (docs/theory.md §4.3)"


SQRT_T = "O(sqrt T)"


OVERFLOW = "a term overflows float64: the bound is infinite (vacuous)"
NOT_A_NUMBER = "a term is NaN (a constant the run observed is not a number)"
_LOG_MAX = math.log(sys.float_info.max)


def _ratio(num: Sequence[float], den: Sequence[float] = ()) -> float:
    """prod(num) / prod(den) for factors >= 0 (den > 0 exactly), never raising.

    0 when a numerator factor is 0 (the exact value, whatever the denominator's rounding);
    +inf when the value is beyond float64 (a denominator that underflowed to 0 such as
    2 alpha at alpha = 5e-324, or a numerator that overflowed); NaN if a factor is NaN.
    Evaluated directly, and in logarithms where the direct product under- or overflows.
    """
    num, den = [float(f) for f in num], [float(f) for f in den]
    if any(math.isnan(f) for f in (*num, *den)):
        return math.nan
    if any(f == 0 for f in num):
        return 0.0
    n, m = math.prod(num), math.prod(den)
    if math.isfinite(n) and math.isfinite(m) and m > 0:
        v = n / m
        if v != 0 and math.isfinite(v):
            return v
    if any(f < 0 for f in (*num, *den)):  # not a bound's factor: plain arithmetic
        return n / m if m != 0 else math.nan
    if any(math.isinf(f) for f in den):
        return math.nan if any(math.isinf(f) for f in num) else 0.0
    if any(math.isinf(f) for f in num) or any(f == 0 for f in den):
        return math.inf
    log = sum(map(math.log, num)) - sum(map(math.log, den))
    return math.inf if log > _LOG_MAX else math.exp(log)


def _gamma(b1: float, b2: float, power: int) -> float | None:
    """beta1^power / sqrt(beta2); None at beta2 = 0 (undefined: the theorem needs beta2 > 0)."""
    if b2 <= 0:
        return None
    return _ratio([b1] * power, [math.sqrt(b2)])


def _result(
    theorem: str,
    why: str = "",
    terms: dict[str, float] | None = None,
    guarantee: str | None = SQRT_T,
    sound: bool = True,
) -> dict[str, Any]:
    if terms is None:
        return {"theorem": theorem, "applies": False, "why": why, "value": None, "terms": {},
                "guarantee": None, "sound": sound}  # fmt: skip
    for bad, note in ((math.isinf, OVERFLOW), (math.isnan, NOT_A_NUMBER)):
        if any(bad(v) for v in terms.values()):
            why = f"{why}; {note}" if why else note
    return {
        "theorem": theorem,
        "applies": True,
        "why": why,
        "value": float(sum(terms.values())),
        "terms": {k: float(v) for k, v in terms.items()},
        "guarantee": guarantee,
        "sound": sound,
    }


def trivial_bound(T: int, constants: Mapping[str, float]) -> float:
    """T G D: what any run's regret is at most (convexity and the observed G, D)."""
    return float(T) * constants["G"] * constants["D"]


def _scalar(hp: Mapping[str, Any], name: str) -> Any:
    v = hp[name]
    try:
        return float(v.reshape(-1)[0]) if hasattr(v, "reshape") else v
    except (TypeError, ValueError):
        return v


def ogd(
    hp: Mapping[str, Any], T: int, d: int, c: Mapping[str, float], euclidean: bool, weighted: bool
) -> dict[str, Any]:
    """Projected OGD with alpha_t = alpha/sqrt(t) (docs/theory.md §4.2)."""
    name = "OGD: D^2 sqrt(T)/(2 alpha) + alpha G^2 sqrt(T)"
    if hp["lr_schedule"] != "inv_sqrt":
        return _result(name, "needs lr_schedule = inv_sqrt (alpha/sqrt(t))")
    if _scalar(hp, "momentum") != 0:
        return _result(name, "needs momentum = 0 (plain projected gradient descent)")
    if not (euclidean or weighted):  # SGD's V is the identity: weighted is Euclidean
        return _result(name, "needs the Euclidean projection")
    a, rt, D, G = _scalar(hp, "lr"), math.sqrt(T), c["D"], c["G"]
    terms = {"distance": _ratio([D, D, rt], [2 * a]), "gradient": _ratio([a, G, G, rt])}
    return _result(name, "", terms)


def adagrad(
    hp: Mapping[str, Any], T: int, d: int, c: Mapping[str, float], euclidean: bool, weighted: bool
) -> dict[str, Any]:
    """Diagonal AdaGrad with a constant alpha (docs/theory.md §3.1)."""
    name = "AdaGrad: (D_inf^2/(2 alpha) + alpha) sum_i ||g_1:T,i||_2"
    if hp["lr_schedule"] != "constant":
        return _result(name, "needs lr_schedule = constant (AdaGrad's own 1/sqrt(sum g^2))")
    if _scalar(hp, "initial_accumulator") != 0:
        return _result(name, "needs initial_accumulator = 0")
    if not weighted:
        return _result(name, "needs the sqrt(V)-weighted projection (Duchi et al.)")
    a = _scalar(hp, "lr")
    s = c["sum_g_norms"]
    why = "eps treated as 0" if _scalar(hp, "eps") > 0 else ""
    Di = c["D_inf"]
    return _result(
        name, why, {"distance": _ratio([Di, Di, s], [2 * a]), "gradient": _ratio([a, s])}
    )


def adam_thm41(
    hp: Mapping[str, Any], T: int, d: int, c: Mapping[str, float], euclidean: bool, weighted: bool
) -> dict[str, Any]:
    """Kingma & Ba Theorem 4.1, all three terms (docs/theory.md §1.5)."""
    name = "Kingma & Ba Thm 4.1"
    sound = False  # the proof is wrong (Reddi et al. section 3; docs/theory.md §1.5)
    b1, b2, lam = _scalar(hp, "beta1"), _scalar(hp, "beta2"), _scalar(hp, "beta1_decay")
    if hp["lr_schedule"] != "inv_sqrt":
        return _result(name, "needs lr_schedule = inv_sqrt (alpha_t = alpha/sqrt(t))")
    if _scalar(hp, "eps_hat") >= 0:
        return _result(name, "needs Algorithm 1 (eps_hat off)")
    gamma = _gamma(b1, b2, 2)
    if gamma is None:
        return _result(name, "needs beta2 > 0 (beta1^2/sqrt(beta2) < 1 is undefined at beta2 = 0)")
    if gamma >= 1:
        return _result(name, f"needs beta1^2/sqrt(beta2) < 1, got {gamma:.4g}")
    if b1 > 0 and lam >= 1:
        return _result(name, "needs beta1 decay lambda < 1 (beta1_decay) when beta1 > 0")
    if not weighted:
        return _result(name, "needs the sqrt(V)-weighted projection or a box")
    a = _scalar(hp, "lr")
    one_minus_lam = 1.0 if b1 == 0 else 1.0 - lam
    why = "beta1 = 0: lambda -> 0 (any lambda gives the same run)" if b1 == 0 else ""
    if _scalar(hp, "eps") > 0:
        why = (why + "; " if why else "") + "eps treated as 0"
    D, Di, Gi, r2 = c["D"], c["D_inf"], c["G_inf"], math.sqrt(1 - b2)
    t1 = _ratio([D, D, c["sum_sqrt_T_vhat"]], [2, a, 1 - b1])
    t2 = _ratio([a, 1 + b1, Gi, c["sum_g_norms"]], [1 - b1, r2, 1 - gamma, 1 - gamma])
    t3 = _ratio([d, Di, Di, Gi, r2], [2, a, 1 - b1, one_minus_lam, one_minus_lam])
    return _result(name, why, {"v_hat": t1, "gradients": t2, "momentum": t3}, sound=sound)


def amsgrad_thm4(
    hp: Mapping[str, Any], T: int, d: int, c: Mapping[str, float], euclidean: bool, weighted: bool
) -> dict[str, Any]:
    """Reddi et al. Theorem 4 (docs/theory.md §2.4); Corollary 1 when beta1 decays."""
    b1, b2, lam = _scalar(hp, "beta1"), _scalar(hp, "beta2"), _scalar(hp, "beta1_decay")
    corollary = b1 > 0 and lam < 1
    name = "Reddi et al. Thm 4 + Cor 1 (AMSGrad)" if corollary else "Reddi et al. Thm 4 (AMSGrad)"
    if hp["lr_schedule"] != "inv_sqrt":
        return _result(name, "needs lr_schedule = inv_sqrt (alpha_t = alpha/sqrt(t))")
    if hp["bias_correction"]:
        return _result(name, "needs the paper's form (bias_correction = false)")
    gamma = _gamma(b1, b2, 1)
    if gamma is None:
        return _result(name, "needs beta2 > 0 (beta1/sqrt(beta2) < 1 is undefined at beta2 = 0)")
    if gamma >= 1:
        return _result(name, f"needs beta1/sqrt(beta2) < 1, got {gamma:.4g}")
    if not weighted:
        return _result(name, "needs the sqrt(V)-weighted projection or a box")
    a = _scalar(hp, "lr")
    notes = ["eps treated as 0"] if _scalar(hp, "eps") > 0 else []
    Di, Gi = c["D_inf"], c["G_inf"]
    t1 = _ratio([Di, Di, math.sqrt(T), c["sum_sqrt_vhat"]], [a, 1 - b1])
    if corollary:  # sum_t lambda^(t-1) sqrt(t) <= 1 / (1 - lambda)^2, sqrt(v_hat) <= G_inf
        t2 = _ratio([b1, Di, Di, d, Gi], [2, a, 1 - b1, 1 - lam, 1 - lam])
    else:
        t2 = _ratio([Di, Di, c["ams_mid"]], [2, 1 - b1])
    t3 = _ratio(
        [a, math.sqrt(1 + math.log(T)), c["sum_g_norms"]],
        [1 - b1, 1 - b1, 1 - gamma, math.sqrt(1 - b2)],
    )
    guarantee: str | None = SQRT_T
    if b1 > 0 and not corollary:
        guarantee = None
        notes.append(
            "constant beta1: the middle term grows like T^(3/2), no O(sqrt T) guarantee "
            "(Corollary 1 needs beta1_decay < 1)"
        )
    terms = {"v_hat": t1, "momentum": t2, "gradients": t3}
    return _result(name, "; ".join(notes), terms, guarantee=guarantee)


def adabelief_thm21(
    hp: Mapping[str, Any], T: int, d: int, c: Mapping[str, float], euclidean: bool, weighted: bool
) -> dict[str, Any]:
    """Zhuang et al. Theorem 2.1 (docs/theory.md §8.3): AdaBelief, convex online case.

    R(T) <= D_inf^2 sqrt(T) / (2 alpha (1 - beta1)) sum_i sqrt(s_{T,i})
          + (1 + beta1) alpha sqrt(1 + log T) / (2 sqrt(c) (1 - beta1)^3)
            sum_i ||g^2_{1:T,i}||_2
          + D_inf^2 / (2 (1 - beta1)) sum_t sum_i beta1_t sqrt(s_{t,i}) / alpha_t

    The statement, constants and conditions are as docs/theory.md §8.3 reads the paper;
    they could not be compared with the printed theorem (the stored copies of the paper
    show only its opening), so they are unverified there, not known to be wrong.
    """
    b1, lam = _scalar(hp, "beta1"), _scalar(hp, "beta1_decay")
    name = "Zhuang et al. Thm 2.1 (AdaBelief)"
    if hp["lr_schedule"] != "inv_sqrt":
        return _result(name, "needs lr_schedule = inv_sqrt (alpha_t = alpha/sqrt(t))")
    eps = _scalar(hp, "eps")
    if hp["eps_placement"] != "paper" or eps <= 0:
        return _result(name, "needs s_{t,i} >= c > 0: eps > 0 added to s_t (eps_placement = paper)")
    if not weighted:
        return _result(name, "needs the sqrt(s_hat)-weighted projection or a box")
    if not c.get("s_nondecreasing", False):
        return _result(
            name,
            "needs s_{t,i} <= s_{t+1,i} for all t, i (the theorem's hypothesis): AdaBelief's "
            "s_t is an EMA that does not keep it, and the run does not record it",
        )
    a, Di, Gi = _scalar(hp, "lr"), c["D_inf"], c["G_inf"]
    t1 = _ratio([Di, Di, math.sqrt(T), c["sum_sqrt_s"]], [2, a, 1 - b1])
    # sum_i ||g^2_{1:T,i}||_2 <= G_inf sum_i ||g_{1:T,i}||_2 (docs/theory.md §8.3)
    t2 = _ratio(
        [1 + b1, a, math.sqrt(1 + math.log(T)), Gi, c["sum_g_norms"]],
        [2, math.sqrt(eps), 1 - b1, 1 - b1, 1 - b1],
    )
    t3 = _ratio([Di, Di, c["belief_mid"]], [2, 1 - b1])
    notes, guarantee = ["c = eps (s_t >= eps)"], "O(sqrt(T log T))"
    if b1 > 0 and lam >= 1:
        guarantee = None
        notes.append(
            "constant beta1: the last term grows like T^(3/2), no sublinear guarantee "
            "(Corollary 2.1.1 needs beta1_decay < 1)"
        )
    terms = {"s": t1, "gradients": t2, "momentum": t3}
    return _result(name, "; ".join(notes), terms, guarantee=guarantee)


Theorem = Callable[[Mapping[str, Any], int, int, Mapping[str, float], bool, bool], dict[str, Any]]

# Rule.theorem -> its bound (see the module docstring).
THEOREMS: dict[str, Theorem] = {
    "ogd": ogd,
    "adagrad": adagrad,
    "kingma-ba-4.1": adam_thm41,
    "reddi-4": amsgrad_thm4,
    "zhuang-2.1": adabelief_thm21,
}


def bound(
    optimizer: str,
    hp: Mapping[str, Any],
    T: int,
    d: int,
    constants: Mapping[str, float],
    box: bool,
    projection: str,
) -> dict[str, Any]:
    """The bound that applies to ``optimizer`` with ``hp`` at T, on observed ``constants``.

    The theorem is the rule's ``theorem`` (``THEOREMS``); a rule without one gets
    ``applies = False`` and ``why = NO_THEOREM``.
    """
    key = get_rule(optimizer).theorem
    if key is None:
        return _result("-", NO_THEOREM)
    if key not in THEOREMS:
        return _result("-", f"unknown theorem {key!r}; known: {', '.join(THEOREMS)}")
    euclidean = box or projection == "euclidean"
    weighted = box or projection == "weighted"
    return THEOREMS[key](hp, T, d, constants, euclidean, weighted)
