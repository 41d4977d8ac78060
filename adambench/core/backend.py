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


def module(backend: str) -> ModuleType:
    """The array module of a chosen backend name (``numpy`` or ``cupy``)."""
    if backend == "cupy":
        import cupy

        return cupy
    if backend != "numpy":
        raise ValueError(f"backend must be numpy | cupy, got {backend!r}")
    return np


def to_numpy(x: Any) -> np.ndarray:
    """A host NumPy array of ``x`` (a device-to-host copy for CuPy arrays)."""
    return x.get() if is_cupy_array(x) else np.asarray(x)


def synchronize(xp: ModuleType) -> None:
    """Wait for the device's queued work (CuPy); nothing to wait for on NumPy.

    Host clocks around device work read launch times unless the device is synchronised.
    """
    if xp is not np:
        xp.cuda.Device().synchronize()


def kernels_for(x: Any) -> ModuleType:
    """The module whose ``apply(kernel, p, g, buffers, coef)`` updates arrays like ``x``."""
    if is_cupy_array(x):
        from . import kernels_cuda

        return kernels_cuda
    from . import kernels_cpu

    return kernels_cpu


def cuda_status() -> tuple[bool, str]:
    """(True, device name) when CuPy imports and sees a CUDA device; else (False, why).

    Never raises: a missing CuPy, a missing or too old driver and zero devices are all
    just "not usable" with the reason in words.
    """
    import importlib.util

    if importlib.util.find_spec("cupy") is None:
        return False, "cupy is not installed"
    try:
        import cupy

        count = cupy.cuda.runtime.getDeviceCount()
    except Exception as e:  # noqa: BLE001 - ImportError, CUDARuntimeError: one answer
        return False, " ".join(f"{type(e).__name__}: {e}".split())[:200]
    if count < 1:
        return False, "no CUDA device found"
    return True, f"{count} CUDA device(s)"


def no_device_message(why: str, where: str = "--backend cupy") -> str:
    """The one wording of "CuPy asked for, no usable device" (every command, sweeps too)."""
    return (
        f"backend 'cupy' ({where}) needs CuPy and a usable CUDA device: {why}; "
        "--backend numpy runs on the CPU, --backend auto falls back to it"
    )


def select_backend(name: str, where: str = "--backend") -> str:
    """``numpy`` or ``cupy`` for ``--backend numpy|cupy|auto``; ValueError (one line) if unusable.

    ``auto`` picks CuPy when it imports and ``cupy.cuda.runtime.getDeviceCount() > 0``,
    else NumPy.  This is the one place that words a backend error (bench, regret, run,
    ablate and sweep all call it); ``where`` names the option or config key.
    """
    if name not in BACKENDS:
        raise ValueError(f"{where}: unknown backend {name!r}; choose from: {' | '.join(BACKENDS)}")
    if name == "numpy":
        return "numpy"
    ok, why = cuda_status()
    if name == "cupy" and not ok:
        raise ValueError(no_device_message(why, f"{where} cupy"))
    return "cupy" if ok else "numpy"
