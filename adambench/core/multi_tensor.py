"""One pass over many tensors on the CPU: a numba loop over a table of (tensor, offset, length).

Invariant: a call updates every element of every tensor of a dtype group exactly once, by
the rule's own row (``kernels_cpu.step_row``) on stretches of at most ``CHUNK`` elements,
and each stretch's arithmetic is that of the flat kernel on the same values: so stepping a
list is stepping each tensor alone, bit for bit.  16-bit values are widened to float32
before the row and rounded back after it (core/rounding.py), so a low-precision step is the
float32 step of the widened values plus one rounding per stored value (core/precision.py).
A kernel with a ``lane`` (``row``'s operations on one element, in ``row``'s order) does
that in one fused pass per element; any other widens each stretch into a per-thread buffer,
runs ``row`` and rounds in a loop of its own.  Both give the same bits.

The tensors are reached through their data addresses (a pointer table, one row per tensor:
p, g, s0, s1, s2, master; 0 where absent), not through a Python list: numba's list
arguments cost microseconds per tensor (measured: ~20 us per array for a reflected list),
an address ~0.4 us, and the table is built once per tensor and reused while the same arrays
come back (core/tree_state.py).  The ``prange`` runs over the table's rows, so hundreds of
small tensors are shared among threads like the chunks of one big array.
"""

from __future__ import annotations

import hashlib
import inspect
import threading
from functools import cache
from typing import Any

import numba
import numpy as np
from numba import carray, njit, prange, types
from numba.extending import intrinsic

from . import rounding
from .kernels_cpu import kernel_jit, step_row
from .registry import KERNELS
from .rounding import narrow, widen

_JIT = dict(cache=True, nogil=True, error_model="numpy")
CHUNK = 16384  # elements per table row (as kernels_cpu.CHUNK)
P, G, S0, M = 0, 1, 2, 5  # pointer table columns: p, g, s0..s2, master
COLUMNS = 6


def chunk_table(sizes: list[int], chunk: int = CHUNK) -> np.ndarray:
    """(C, 3) int64 rows (tensor index, offset, length): each tensor of ``sizes`` elements
    cut into stretches of at most ``chunk`` (an empty tensor has no row)."""
    rows = [
        (i, off, min(chunk, n - off)) for i, n in enumerate(sizes) for off in range(0, n, chunk)
    ]
    return np.array(rows, dtype=np.int64).reshape(-1, 3)


def _pointer_intrinsic(dtype: Any) -> Any:
    """An intrinsic turning an integer address into a typed pointer (for ``numba.carray``)."""

    @intrinsic
    def as_pointer(typingctx, address):  # noqa: ARG001 - numba's signature
        sig = types.CPointer(dtype)(types.int64)

        def codegen(context, builder, signature, args):
            return builder.inttoptr(args[0], context.get_value_type(signature.return_type))

        return sig, codegen

    return as_pointer


_ptr_f32 = _pointer_intrinsic(types.float32)
_ptr_f64 = _pointer_intrinsic(types.float64)
_ptr_u16 = _pointer_intrinsic(types.uint16)


@njit(**_JIT)
def address(a):
    """The data address of a NumPy array numba can type (16-bit floats: view as uint16)."""
    return a.ctypes.data


def _wide_kernel(as_pointer: Any, itemsize: int) -> Any:
    """The loop for a group of float32 (or float64) tensors with states of the same dtype."""

    def apply_wide(kind, nstates, ptrs, chunks, coef):
        c = coef[0]
        for k in prange(chunks.shape[0]):
            leaf, off, n = chunks[k, 0], chunks[k, 1], chunks[k, 2]
            at = off * itemsize
            p = carray(as_pointer(ptrs[leaf, 0] + at), n)
            g = carray(as_pointer(ptrs[leaf, 1] + at), n)
            s0 = carray(as_pointer(ptrs[leaf, 2] + at), n) if nstates > 0 else p
            s1 = carray(as_pointer(ptrs[leaf, 3] + at), n) if nstates > 1 else p
            s2 = carray(as_pointer(ptrs[leaf, 4] + at), n) if nstates > 2 else p
            step_row(kind, p, g, s0, s1, s2, c)

    apply_wide.__qualname__ = f"apply_wide{8 * itemsize}"
    return kernel_jit(parallel=True, **_JIT)(apply_wide)


_apply_f32 = _wide_kernel(_ptr_f32, 4)
_apply_f64 = _wide_kernel(_ptr_f64, 8)


@njit(**_JIT)
def _load(addr, off, n, code, scratch):
    """A stretch as float32: the array itself (code 0) or widened (1 bf16, 2 f16) into
    ``scratch`` (uint32, at least ``n`` long)."""
    if code == 0:
        return carray(_ptr_f32(addr + off * 4), n)
    wide = scratch[:n]
    widen(carray(_ptr_u16(addr + off * 2), n), wide, code)
    return wide.view(np.float32)


@njit(**_JIT)
def _store(x, addr, off, n, code):
    """Write a float32 stretch back to 16-bit storage, rounded (code 0: it is the storage)."""
    if code != 0:
        narrow(x.view(np.uint32), carray(_ptr_u16(addr + off * 2), n), code)


@kernel_jit(parallel=True, **_JIT)
def _apply_low(kind, nstates, ptrs, chunks, coef, pcode, scode, master, wide):
    """``wide`` (T, 5, >= longest stretch) uint32: thread t widens into ``wide[t]`` and
    takes the stretches t, t + T, t + 2T, ... (no allocation per stretch)."""
    c = coef[0]
    lanes = wide.shape[0]
    for t in prange(lanes):
        w = wide[t]
        for k in range(t, chunks.shape[0], lanes):
            leaf, off, n = chunks[k, 0], chunks[k, 1], chunks[k, 2]
            row = ptrs[leaf]
            p = _load(row[5], off, n, 0, w[0]) if master else _load(row[0], off, n, pcode, w[0])
            g = _load(row[1], off, n, pcode, w[1])
            s0 = _load(row[2], off, n, scode, w[2]) if nstates > 0 else p
            s1 = _load(row[3], off, n, scode, w[3]) if nstates > 1 else p
            s2 = _load(row[4], off, n, scode, w[4]) if nstates > 2 else p
            step_row(kind, p, g, s0, s1, s2, c)
            _store(p, row[0], off, n, pcode)  # with a master: p = master rounded
            if nstates > 0:
                _store(s0, row[2], off, n, scode)
            if nstates > 1:
                _store(s1, row[3], off, n, scode)
            if nstates > 2:
                _store(s2, row[4], off, n, scode)


_scratch = threading.local()  # per calling thread: concurrent steps never share buffers


def _widening_buffers(lanes: int, longest: int) -> np.ndarray:
    """A (lanes, 5, longest) uint32 buffer, kept between calls of this Python thread."""
    buf = getattr(_scratch, "wide", None)
    if buf is None or buf.shape[0] < lanes or buf.shape[2] < longest:
        buf = np.empty((lanes, 5, max(longest, 1)), np.uint32)
        _scratch.wide = buf
    return buf[:lanes]


# The fused 16-bit loop, for a kernel with a ``lane`` (core/spec.py: ``row``'s operations
# on one element): each element is widened, stepped and rounded in one pass, with no
# widening buffer between (measured on gpt2-124m ``mixed``, one thread: 0.74x the time of
# ``_apply_low``).  The same arithmetic on the same float32 values, so the same bits.
_FUSED = """
def NAME(ptrs, chunks, coef):
    c = coef[0]
    for k in prange(chunks.shape[0]):
        leaf, off, n = chunks[k, 0], chunks[k, 1], chunks[k, 2]
        row = ptrs[leaf]
ARRAYS
        for j in range(n):
LOADS
            p, s0, s1, s2 = _lane(p, g, s0, s1, s2, c)
STORES
"""
_VIEW = {0: ("_ptr_f32", 4), 1: ("_ptr_u16", 2), 2: ("_ptr_u16", 2)}
_WIDEN = {0: "{a}[j]", 1: "bits_f32(bf16_to_f32({a}[j]))", 2: "bits_f32(f16_to_f32({a}[j]))"}
_NARROW = {0: "{x}", 1: "f32_to_bf16(f32_bits({x}))", 2: "f32_to_f16(f32_bits({x}))"}


def _fused_source(name: str, nstates: int, pcode: int, scode: int, master: bool) -> str:
    """``_FUSED`` written out for one layout: which arrays exist and how each is read and
    stored (columns of the pointer table: p, g, s0..s2, master)."""
    codes = {P: pcode, G: pcode, M: 0, **{S0 + i: scode for i in range(nstates)}}
    cols = [P, G, *range(S0, S0 + nstates), *([M] if master else [])]
    arrays = []
    for col in cols:
        ptr, size = _VIEW[codes[col]]
        arrays.append(f"a{col} = carray({ptr}(row[{col}] + off * {size}), n)")
    src = f"a{M}" if master else f"a{P}"
    loads = [f"p = {_WIDEN[codes[M] if master else pcode].format(a=src)}",
             f"g = {_WIDEN[pcode].format(a=f'a{G}')}"]  # fmt: skip
    stores = [f"a{M}[j] = p"] if master else []
    stores.append(f"a{P}[j] = {_NARROW[pcode].format(x='p')}")
    for i in range(3):
        col = S0 + i
        if i < nstates:
            loads.append(f"s{i} = {_WIDEN[scode].format(a=f'a{col}')}")
            stores.append(f"a{col}[j] = {_NARROW[scode].format(x=f's{i}')}")
        else:
            loads.append(f"s{i} = p")  # as ``row``'s missing states: never used
    text = _FUSED.replace("NAME", name)
    for mark, lines, pad in (("ARRAYS", arrays, 8), ("LOADS", loads, 12), ("STORES", stores, 12)):
        text = text.replace(mark, "\n".join(" " * pad + ln for ln in lines))
    return text


@cache
def _fused(kind: int, nstates: int, pcode: int, scode: int, master: bool) -> Any:
    """The fused loop for kernel number ``kind`` and one 16-bit layout (None: no lane)."""
    kernel = KERNELS[kind]
    if kernel.lane is None:
        return None
    code = _FUSED + inspect.getsource(kernel.lane) + inspect.getsource(rounding)
    tag = hashlib.sha256(code.encode()).hexdigest()[:12]
    name = f"fused_{kernel.name.replace('-', '_')}_{nstates}_{pcode}{scode}{int(master)}_{tag}"
    space: dict[str, Any] = {
        "__name__": __name__, "np": np, "prange": prange, "carray": carray,
        "_ptr_f32": _ptr_f32, "_ptr_u16": _ptr_u16,
        "_lane": njit(**_JIT, inline="always")(kernel.lane),
        **{f: getattr(rounding, f) for f in ("bits_f32", "f32_bits", "bf16_to_f32",
                                             "f16_to_f32", "f32_to_bf16", "f32_to_f16")},
    }  # fmt: skip
    # compiled under this file's name (numba caches it beside it); the hash of the lane's
    # and the conversions' code in the name, so the disk cache never serves a loop
    # compiled from other code
    exec(compile(_fused_source(name, nstates, pcode, scode, master), __file__, "exec"), space)  # noqa: S102
    return njit(parallel=True, **_JIT)(space[name])


def apply(
    kind: int,
    nstates: int,
    ptrs: np.ndarray,
    chunks: np.ndarray,
    coef: np.ndarray,
    codes: tuple[int, int, bool],
) -> None:
    """Step one dtype group in place: ``ptrs`` (L, 6) int64 addresses, ``chunks`` its
    ``chunk_table``, ``coef`` (1, K) in the compute dtype, ``codes`` = (storage of p and g,
    storage of the states, master) as ``precision.STORAGE`` numbers.

    The caller keeps every array alive and checked (shapes, dtypes, contiguity): the loop
    trusts the addresses.
    """
    pcode, scode, master = codes
    if pcode == 0 and scode == 0 and not master:
        (_apply_f64 if coef.dtype == np.float64 else _apply_f32)(kind, nstates, ptrs, chunks, coef)
        return
    if not len(chunks):
        return
    fused = _fused(kind, nstates, pcode, scode, bool(master)) if coef.dtype == np.float32 else None
    if fused is not None:
        fused(ptrs, chunks, coef)
        return
    lanes = min(numba.get_num_threads(), len(chunks))
    wide = _widening_buffers(lanes, int(chunks[:, 2].max()))
    _apply_low(kind, nstates, ptrs, chunks, coef, pcode, scode, bool(master), wide)
