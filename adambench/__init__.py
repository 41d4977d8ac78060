"""adambench: benchmark the Adam family of optimizers and measure their online regret.

    >>> import numpy as np, adambench
    >>> opt = adambench.make_optimizer("adam", lr=1e-3)
    >>> params = np.zeros(4); state = opt.init(params)
    >>> opt.step(params, np.ones(4), state)

Heavy modules (numba kernels) load on first use, so importing adambench is cheap.
"""

from __future__ import annotations

from typing import Any

from ._version import __version__

__all__ = ["make_optimizer", "list_optimizers", "__version__"]


def make_optimizer(name: str, **hyperparameters: Any):
    """The optimizer ``name`` with validated hyperparameters (see ``adambench list``)."""
    from .core.optimizer import make_optimizer as _make

    return _make(name, **hyperparameters)


def list_optimizers() -> list[str]:
    """Names of every optimizer rule."""
    from .core.registry import RULES

    return list(RULES)
