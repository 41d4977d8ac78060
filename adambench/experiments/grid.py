"""Hyperparameter grids: the product of per-parameter axes, one validated point each.

Shared by every experiment and by both front ends (``adambench regret`` / ``run`` and
``adambench sweep``), so that a grid means the same points wherever it is given.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence
from typing import Any

from ..core.spec import Rule


def expand(
    rule: Rule, fill: Mapping[str, Any], axes: Mapping[str, Sequence[Any]]
) -> list[dict[str, Any]]:
    """Every point of the grid ``axes`` over ``fill``, checked by the rule.

    The rule: a point is ``fill`` (keys the rule has, in their order) with one value from
    each axis; the axes vary in the rule's parameter order, the last fastest, and an axis
    that is also in ``fill`` overrides it in place.  An integer given for a float
    parameter becomes a float.  Each point is validated by ``rule.validate``; a
    ValueError carries the rule's own message (callers add where the grid came from).
    An axis the rule does not have is a ValueError naming the allowed ones.
    """
    names = [p.name for p in rule.params]
    unknown = sorted(set(axes) - set(names))
    if unknown:
        raise ValueError(f"unknown hyperparameter {unknown[0]!r}; allowed: {', '.join(names)}")
    order = [(k, axes[k]) for k in names if k in axes]
    out = []
    for combo in itertools.product(*(v for _, v in order)):
        hp = {k: v for k, v in fill.items() if k in names}
        hp.update({k: v for (k, _), v in zip(order, combo, strict=True)})
        for k, v in hp.items():
            if rule.param(k).kind == "float" and isinstance(v, int) and not isinstance(v, bool):
                hp[k] = float(v)
        rule.validate(hp)
        out.append(hp)
    return out
