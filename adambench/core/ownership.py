"""Which optimizer a state belongs to: the key ``Optimizer.init`` stamps on a state, and
the one-line error for a state stepped by another optimizer.

Invariant: two optimizers have the same key exactly when they step every state the same
way (same rule name, same validated hyperparameter values, scalars and length-1 vectors
alike), so a state steps only with an optimizer of its owner's key.
"""

from __future__ import annotations

from typing import Any

import numpy as np

Key = tuple[str, tuple[tuple[str, Any], ...]]


def key_of(name: str, hp: dict[str, Any]) -> Key:
    """(rule name, sorted (hyperparameter, value) pairs), floats as tuples of per-run values.

    A scalar and a length-1 vector are the same value (validation stores both as a
    length-1 vector); -0.0 == 0.0, and NaN never occurs (refused by validation).
    """
    items = tuple(
        (k, tuple(float(x) for x in v.reshape(-1)) if isinstance(v, np.ndarray) else v)
        for k, v in sorted(hp.items())
    )
    return (name, items)


def _show_value(v: Any) -> str:
    if isinstance(v, tuple):
        text = f"{v[0]!r}" if len(v) == 1 else "[" + ", ".join(f"{x!r}" for x in v) + "]"
    else:
        text = repr(v)
    return text if len(text) <= 40 else text[:37] + "..."


def foreign_state(owner: Key | None, mine: Key) -> str:
    """The one-line error for a state made by another optimizer (or by no optimizer)."""
    fix = "step it with the optimizer that made it, or call init(params) for a new state"
    if owner is None:
        return f"this state was not made by Optimizer.init, so {mine[0]!r} cannot step it; {fix}"
    if owner[0] != mine[0]:
        return f"this state was made by {owner[0]!r}, not {mine[0]!r}; {fix}"
    theirs, ours = dict(owner[1]), dict(mine[1])
    diff = [k for k in sorted(set(theirs) | set(ours)) if theirs.get(k) != ours.get(k)]
    shown = diff[:3]
    a = ", ".join(f"{k}={_show_value(theirs.get(k))}" for k in shown)
    b = ", ".join(f"{k}={_show_value(ours.get(k))}" for k in shown)
    more = f" (and {len(diff) - 3} more)" if len(diff) > 3 else ""
    return f"this state was made by {owner[0]!r} with {a}, not {b}{more}; {fix}"
