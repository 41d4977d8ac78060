"""Array backends: NumPy (numba kernels) and CuPy, chosen from the arrays themselves.

Like ``cupy.get_array_module``, but without importing CuPy unless an array came from it,
so that NumPy-only users never pay CuPy's import.
"""

from __future__ import annotations

from types import ModuleType
from typing import Any

import numpy as np

BACKENDS = ("numpy", "cupy", "auto")


def is_cupy_array(x: Any) -> bool:
    return type(x).__module__.split(".")[0] == "cupy"


def array_module(x: Any) -> ModuleType:
    """``numpy`` or ``cupy``, whichever ``x`` belongs to."""
    if is_cupy_array(x):
        import cupy

        return cupy
    return np


def kernels_for(x: Any) -> ModuleType:
    """The module whose ``apply(kernel, p, g, buffers, coef)`` updates arrays like ``x``."""
    if is_cupy_array(x):
        raise ValueError("the cupy backend is not available in this version (CPU only)")
    from . import kernels_cpu

    return kernels_cpu
