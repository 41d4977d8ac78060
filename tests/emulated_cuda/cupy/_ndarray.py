"""The emulated CuPy array: a host array behind CuPy's rules (see ``__init__.py``)."""

from __future__ import annotations

import functools
from typing import Any

import numpy as np
from numpy.lib.mixins import NDArrayOperatorsMixin


def _unwrap(x: Any, strict: bool = True) -> Any:
    if isinstance(x, ndarray):
        return x._a
    if strict and isinstance(x, np.ndarray):
        raise TypeError(f"Unsupported type {type(x)} (a NumPy array where a cupy array is needed)")
    if isinstance(x, (list, tuple)):
        return type(x)(_unwrap(v, strict) for v in x)
    return x


def _wrap(x: Any) -> Any:
    if isinstance(x, np.ndarray):
        return ndarray._of(x)
    if isinstance(x, tuple):
        return tuple(_wrap(v) for v in x)
    if isinstance(x, list):
        return [_wrap(v) for v in x]
    return x


class MemoryPointer:
    """``x.data``: a device pointer with CuPy's copy methods (memcpy on the host)."""

    def __init__(self, arr: np.ndarray):
        self._a = arr
        self.ptr = arr.ctypes.data

    def copy_from_device_async(self, src: MemoryPointer, size: int, stream: Any = None) -> None:
        if size > min(self._a.nbytes, src._a.nbytes):
            raise ValueError("copy past the end of an allocation")
        dst = self._a.reshape(-1).view(np.uint8)
        dst[:size] = src._a.reshape(-1).view(np.uint8)[:size]

    copy_from_device = copy_from_device_async


class ndarray(NDArrayOperatorsMixin):
    """A "device" array: a host array behind CuPy's rules."""

    __slots__ = ("_a",)

    def __init__(self, shape: Any, dtype: Any = float, order: str = "C"):
        self._a = np.empty(shape, dtype=dtype, order=order)

    @classmethod
    def _of(cls, a: np.ndarray) -> ndarray:
        out = cls.__new__(cls)
        out._a = a
        return out

    # -- CuPy's boundary with the host --------------------------------------------------
    def __array__(self, dtype: Any = None, copy: Any = None) -> np.ndarray:
        raise TypeError(
            "Implicit conversion to a NumPy array is not allowed. "
            "Please use `.get()` to construct a NumPy array explicitly."
        )

    def get(self, stream: Any = None, order: str = "C", out: Any = None) -> np.ndarray:
        if out is not None:
            out[...] = self._a
            return out
        return np.array(self._a, order=order, copy=True)

    def set(self, arr: np.ndarray, stream: Any = None) -> None:
        self._a[...] = arr

    @property
    def data(self) -> MemoryPointer:
        return MemoryPointer(self._a)

    def __dlpack__(self, *a: Any, **k: Any) -> Any:
        """Export over DLPack: the emulated device memory is host memory (kDLCPU)."""
        return self._a.__dlpack__(*a, **k)

    def __dlpack_device__(self) -> Any:
        return self._a.__dlpack_device__()

    # -- NumPy protocol: CuPy arrays in, CuPy arrays out -----------------------------------
    def __array_ufunc__(self, ufunc: Any, method: str, *inputs: Any, **kwargs: Any) -> Any:
        if "out" in kwargs:
            kwargs["out"] = tuple(_unwrap(o) for o in kwargs["out"])
        res = getattr(ufunc, method)(*(_unwrap(i) for i in inputs), **kwargs)
        return _wrap(res)

    def __array_function__(self, func: Any, types: Any, args: Any, kwargs: Any) -> Any:
        return _wrap(func(*_unwrap(args), **{k: _unwrap(v) for k, v in kwargs.items()}))

    # -- array attributes and methods ----------------------------------------------------
    shape = property(lambda self: self._a.shape)
    dtype = property(lambda self: self._a.dtype)
    size = property(lambda self: self._a.size)
    ndim = property(lambda self: self._a.ndim)
    nbytes = property(lambda self: self._a.nbytes)
    itemsize = property(lambda self: self._a.itemsize)
    strides = property(lambda self: self._a.strides)
    flags = property(lambda self: self._a.flags)
    T = property(lambda self: ndarray._of(self._a.T))

    def __len__(self) -> int:
        return len(self._a)

    def __repr__(self) -> str:
        return "emulated-cupy " + repr(self._a)

    def __getitem__(self, key: Any) -> Any:
        return _wrap(self._a[_unwrap(key)])

    def __setitem__(self, key: Any, value: Any) -> None:
        self._a[_unwrap(key)] = _unwrap(value, strict=False)

    def __iter__(self) -> Any:
        return (_wrap(v) for v in self._a)

    def __float__(self) -> float:
        return float(self._a)

    def __int__(self) -> int:
        return int(self._a)

    def __bool__(self) -> bool:
        return bool(self._a)

    def __index__(self) -> int:
        return self._a.__index__()

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__"):  # no __array_interface__, buffer or other host protocol
            raise AttributeError(name)
        attr = getattr(self._a, name)
        if not callable(attr):
            return _wrap(attr)

        @functools.wraps(attr)
        def method(*a: Any, **k: Any) -> Any:
            return _wrap(attr(*_unwrap(a), **{kk: _unwrap(v) for kk, v in k.items()}))

        return method

    def item(self) -> Any:
        return self._a.item()

    def tolist(self) -> Any:
        return self._a.tolist()
