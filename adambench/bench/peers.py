"""The textbook peer of a benchmark group, shared by the CPU runner (``run.py``) and the
CUDA one (``cuda.py``): the paper's update as a user would write it (``peers_numpy``),
on copies of the group's arrays, NumPy or CuPy alike (``core.backend.array_module``)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from ..core.backend import array_module
from . import peers_numpy


def textbook_peer(case_name: str, opt: Any, p: Any, g: Any) -> Callable[[], None]:
    """The textbook step of ``case_name`` on copies of ``p`` and ``g`` (NumPy or CuPy)."""
    step = peers_numpy.STEPS[case_name]
    hp = peers_numpy.scalar_hp(opt.hp)
    pp, gg = p.copy(), g.copy()
    xp = array_module(pp)
    state = {}
    for name in opt.rule.buffers(opt.hp):
        start = opt.rule.initial.get(name)
        state[name] = xp.full_like(pp, hp[start] if start else 0.0)
    t = [0]

    def run() -> None:
        t[0] += 1
        # The papers' formulas give 0/0 on coordinates whose gradients are all zero; a
        # timing peer computes them as written, without a warning per repeat.
        with np.errstate(divide="ignore", invalid="ignore"):
            step(pp, gg, state, hp, t[0])

    return run
