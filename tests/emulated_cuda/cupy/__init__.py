"""An emulated ``cupy`` for testing adambench's CuPy code paths on a machine without a GPU.

NOT CuPy, and not a simulator of GPU speed.  It is the part of CuPy's interface that
adambench uses, kept as strict as CuPy where a host-side slip would break on a device:

* ``ndarray`` wraps a host array and is a different type from ``numpy.ndarray``:
  ``numpy.asarray(x)`` raises ``TypeError`` (CuPy forbids implicit device-to-host copies),
  mixing it with NumPy arrays in a ufunc raises ``TypeError``; ``.get()`` copies to host;
* ``RawModule`` / ``RawKernel`` compile the CUDA source with the host compiler and run
  every thread of the grid (``_emulator.py``: warps in lock step for the warp
  intrinsics, argument types and contiguity checked);
* ``cuda.runtime`` reports one device named "host emulator (not a GPU)".

Installed by the test fixtures (``tests/conftest.py``: the ``emulated`` backend case) by
putting this folder first on ``sys.path`` and ``PYTHONPATH``.
"""

from __future__ import annotations

import functools
import types
from typing import Any

import numpy as np

from . import _emulator
from ._forwarded import FORWARDED
from ._ndarray import MemoryPointer, _unwrap, _wrap, ndarray

__version__ = "0.0+emulated"
EMULATED = True

float16, float32, float64 = np.float16, np.float32, np.float64
int8, int32, int64 = np.int8, np.int32, np.int64
uint8, uint32, uint64, bool_ = np.uint8, np.uint32, np.uint64, np.bool_
dtype = np.dtype
newaxis = None
inf, nan, pi = np.inf, np.nan, np.pi


# -- array creation: host data in (allowed), device arrays out -----------------------------
def asarray(a: Any, dtype: Any = None, order: Any = None) -> ndarray:
    if isinstance(a, ndarray):
        if dtype is None or np.dtype(dtype) == a.dtype:
            return a
        return ndarray._of(a._a.astype(dtype))
    return ndarray._of(np.array(a, dtype=dtype, order=order or "K", copy=True))


def array(a: Any, dtype: Any = None, copy: bool = True, order: str = "K") -> ndarray:
    return ndarray._of(np.array(_unwrap(a, strict=False), dtype=dtype, copy=True, order=order))


def ascontiguousarray(a: Any, dtype: Any = None) -> ndarray:
    src = _unwrap(a, strict=False)
    out = np.ascontiguousarray(src, dtype=dtype)
    if isinstance(a, ndarray) and out is src:
        return a
    if not isinstance(a, ndarray) and out is src:
        out = out.copy()
    return ndarray._of(out)


def asnumpy(a: Any, stream: Any = None) -> np.ndarray:
    return a.get() if isinstance(a, ndarray) else np.asarray(a)


def get_array_module(*args: Any) -> Any:
    import sys

    return sys.modules[__name__] if any(isinstance(a, ndarray) for a in args) else np


def __getattr__(name: str) -> Any:
    """The NumPy functions of the allow-list ``_forwarded.FORWARDED`` (``zeros``, ``sqrt``,
    ...), taking and returning device arrays; ufuncs dispatch through
    ``ndarray.__array_ufunc__``.  Any other name is an AttributeError, as on CuPy."""
    if name not in FORWARDED:
        raise AttributeError(
            f"module 'cupy' has no attribute {name!r} (the emulated cupy forwards only the "
            "NumPy names CuPy has that adambench uses: tests/emulated_cuda/cupy/_forwarded.py)"
        )
    fn = getattr(np, name)
    if isinstance(fn, np.ufunc):
        return fn  # dispatches to ndarray.__array_ufunc__
    if callable(fn) and not isinstance(fn, type):

        @functools.wraps(fn)
        def call(*a: Any, **k: Any) -> Any:
            return _wrap(fn(*_unwrap(a), **{kk: _unwrap(v) for kk, v in k.items()}))

        return call
    return fn


# -- kernels ---------------------------------------------------------------------------------
class RawKernel:
    """``cupy.RawKernel(code, name, options=...)``; called as ``k(grid, block, args)``."""

    def __init__(
        self,
        code: str,
        name: str,
        options: tuple[str, ...] = (),
        backend: str = "nvrtc",
        **kwargs: Any,
    ):
        self.code, self.name, self.options = code, name, tuple(options)
        self._kernel: _emulator.Kernel | None = None

    @property
    def kernel(self) -> _emulator.Kernel:
        if self._kernel is None:
            self._kernel = _module(self.code, self.options).get_function(self.name)
        return self._kernel

    def __call__(
        self,
        grid: tuple[int, ...],
        block: tuple[int, ...],
        args: tuple[Any, ...],
        *,
        shared_mem: int = 0,
        enable_cooperative_groups: bool = False,
    ) -> None:
        if not isinstance(args, tuple):
            raise TypeError("kernel arguments must be a tuple")
        self.kernel.launch(grid, block, args, _buffer)


class RawModule:
    """``cupy.RawModule(code=..., options=...)``; ``get_function(name)`` -> ``RawKernel``."""

    def __init__(
        self,
        code: str | None = None,
        *,
        path: str | None = None,
        options: tuple[str, ...] = (),
        backend: str = "nvrtc",
        **kwargs: Any,
    ):
        if code is None:
            raise NotImplementedError("the emulated cupy compiles source code only")
        self.code, self.options = code, tuple(options)

    def get_function(self, name: str) -> RawKernel:
        k = RawKernel(self.code, name, self.options)
        k._kernel = _module(self.code, self.options).get_function(name)
        return k


@functools.lru_cache(maxsize=64)
def _module(code: str, options: tuple[str, ...]) -> _emulator.Module:
    return _emulator.Module(code, options)


def _buffer(a: Any) -> np.ndarray | None:
    return a._a if isinstance(a, ndarray) else None


# -- random, memory pools, runtime ------------------------------------------------------------
class _Generator:
    def __init__(self, seed: Any = None):
        self._g = np.random.default_rng(seed)

    def standard_normal(self, size: Any = None, dtype: Any = np.float64, out: Any = None) -> Any:
        return ndarray._of(self._g.standard_normal(size, dtype=dtype))

    def random(self, size: Any = None, dtype: Any = np.float64, out: Any = None) -> Any:
        return ndarray._of(self._g.random(size, dtype=dtype))


random = types.SimpleNamespace(default_rng=_Generator, Generator=_Generator)


class _Pool:
    def free_all_blocks(self, stream: Any = None) -> None:
        pass

    def used_bytes(self) -> int:
        return 0

    def total_bytes(self) -> int:
        return 0


_POOL = _Pool()


def get_default_memory_pool() -> _Pool:
    return _POOL


def get_default_pinned_memory_pool() -> _Pool:
    return _POOL


def _props(device: int = 0) -> dict[str, Any]:
    return {
        "name": b"host emulator (not a GPU)",
        "totalGlobalMem": 8 << 30,
        "major": 0,
        "minor": 0,
        "multiProcessorCount": 1,
    }


def _mem_info() -> tuple[int, int]:
    try:
        with open("/proc/meminfo") as f:
            avail = next(int(x.split()[1]) * 1024 for x in f if x.startswith("MemAvailable"))
    except (OSError, StopIteration):
        avail = 1 << 30
    return avail, 8 << 30


class _Device:
    def __init__(self, index: int = 0):
        self.id = index

    def synchronize(self) -> None:
        pass

    def __enter__(self) -> _Device:
        return self

    def __exit__(self, *exc: Any) -> None:
        pass


cuda = types.SimpleNamespace(
    runtime=types.SimpleNamespace(
        getDeviceCount=lambda: 1,
        getDeviceProperties=_props,
        driverGetVersion=lambda: 0,
        runtimeGetVersion=lambda: 0,
        memGetInfo=_mem_info,
        deviceSynchronize=lambda: None,
    ),
    Device=_Device,
    MemoryPointer=MemoryPointer,
    get_current_stream=lambda: None,
)
