"""Textbook NumPy versions of every rule: the peer a user would write from the paper.

Each is its rule's ``textbook`` (in ``core/rules/<rule>.py``, beside the rule's other
forms); this module collects them for the benchmark.

One expression per line, as the papers print the update, in the arrays' own dtype (the
hyperparameters are Python floats, which NumPy >= 2 keeps from promoting float32 arrays).
Each line allocates fresh temporaries; that, not arithmetic, is what makes plain NumPy
slow at large sizes (docs/design.md, "Facts measured": 46.6 ms for fp32 Adam at 1e7 against
3.9 ms fused).  These are timing peers: the float64 ``reference`` of each rule is the
specification, and tests/bench/test_timing.py checks these against it.

Unlike the references they do not guard 0/0 for coordinates whose gradients were all zero
(the papers' formulas do not either).

``step(p, g, state, hp, t)`` updates ``p`` in place and rebinds the arrays in ``state``;
``hp`` holds plain scalars (validated by the rule) and ``t`` counts from 1.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from ..core.registry import RULES

State = dict[str, np.ndarray]
Hp = dict[str, Any]
Step = Callable[[np.ndarray, np.ndarray, State, Hp, int], None]

# Each rule's textbook form lives in its file (``Rule.textbook``, core/rules/<rule>.py).
STEPS: dict[str, Step] = {
    name: rule.textbook for name, rule in RULES.items() if rule.textbook is not None
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
