"""The memory roofline of an update rule: trivial compiled loops with its own access pattern.

A fused in-place update reads the parameters, the gradient and every state array once and
writes the parameters and the states once.  Its memory limit is therefore not a copy (a
copy pays a read for every line it writes, so a fused kernel beats "copy bandwidth" by
1.3-1.5x, docs/design.md, "Facts measured") but a trivial loop that reads ``k`` arrays and
writes ``k - 1`` of them in place, with one multiply-add per written element: read 4 /
write 3 for Adam, 5 / 4 for AMSGrad, 3 / 2 for AdaGrad and SGD with momentum, 2 / 1 for
plain SGD (docs/design.md, "Bytes each rule must move").  The loops run on the same chunked
``prange`` as ``core.kernels_cpu.apply``, so thread counts mean the same thing for both.
A plain copy and a STREAM triad are kept beside them for reference.

A 16-bit dtype layout (core/precision.py) moves ``Layout.bytes(nstates)``: bf16 p, g with
fp32 m, v read 12 B and write 10 B per parameter; with a float32 master (``mixed``) g, the
states and the master are read and p, the states and the master written (14 + 14 B).  Its
loop moves exactly those bytes, p and g as 16-bit integers, with one multiply-add per
float32 element; with a master, p is written in the same pass as the master rounded to
nearest even, which is what p already holds, so this loop too leaves the arrays as they
were.  A parameter
list's roofline is the flat loop of the same total size and layout (bench/run.py).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
from numba import njit, prange

from ..core.kernels_cpu import CHUNK
from ..core.precision import BFLOAT16, FLOAT32, Layout
from ..core.rounding import f32_bits
from ..core.spec import Rule

_JIT = dict(cache=True, nogil=True, error_model="numpy")


@dataclass(frozen=True)
class Pattern:
    """Arrays a kernel reads and writes per parameter, and the bytes that makes per step."""

    reads: int
    writes: int

    @property
    def name(self) -> str:
        return f"r{self.reads}w{self.writes}"

    def bytes_per_param(self, itemsize: int) -> int:
        return (self.reads + self.writes) * itemsize


def rule_pattern(rule: Rule, hp: Mapping[str, Any]) -> Pattern:
    """The access pattern for these hyperparameters: p, g, states in; p and states out."""
    n = len(rule.buffers(hp))
    return Pattern(reads=2 + n, writes=1 + n)


def rule_bytes(rule: Rule, hp: Mapping[str, Any], itemsize: int) -> int:
    """Bytes per parameter one step must move (docs/design.md §8; fp32 figures scaled by itemsize).

    ``Rule.bytes_per_param`` is the figure for the default hyperparameters in float32; a
    configuration with another number of state arrays (SGD with momentum, centred RMSprop)
    moves what its access pattern says.
    """
    pattern = rule_pattern(rule, hp)
    default_n = len(rule.buffers(rule.validate({})))
    if len(rule.buffers(hp)) == default_n:
        return rule.bytes_per_param * itemsize // 4
    return pattern.bytes_per_param(itemsize)


def layout_pattern(rule: Rule, hp: Mapping[str, Any], layout: Layout) -> Pattern:
    """Arrays read and written in ``layout``: a master copy is read instead of p, and written."""
    n = len(rule.buffers(hp))
    return Pattern(reads=2 + n, writes=(2 if layout.master else 1) + n)


def layout_bytes(rule: Rule, hp: Mapping[str, Any], layout: Layout) -> int:
    """Bytes per parameter one step moves in ``layout``: ``rule_bytes`` for a uniform layout,
    else the read and written bytes of ``Layout.bytes`` (docs/design.md §8)."""
    if layout.uniform:
        return rule_bytes(rule, hp, layout.param.itemsize)
    read, written = layout.bytes(len(rule.buffers(hp)))
    return read + written


# One loop per written-array count: p (and states) <- c0 * x + c1 * g: one multiply-add
# per element written, so the loop is bound by memory, not arithmetic.
@njit(**_JIT)
def _w1(p, g, c0, c1):
    for j in range(p.size):
        p[j] = c0 * p[j] + c1 * g[j]


@njit(**_JIT)
def _w2(p, g, a, c0, c1):
    for j in range(p.size):
        gj = c1 * g[j]
        p[j] = c0 * p[j] + gj
        a[j] = c0 * a[j] + gj


@njit(**_JIT)
def _w3(p, g, a, b, c0, c1):
    for j in range(p.size):
        gj = c1 * g[j]
        p[j] = c0 * p[j] + gj
        a[j] = c0 * a[j] + gj
        b[j] = c0 * b[j] + gj


@njit(**_JIT)
def _w4(p, g, a, b, d, c0, c1):
    for j in range(p.size):
        gj = c1 * g[j]
        p[j] = c0 * p[j] + gj
        a[j] = c0 * a[j] + gj
        b[j] = c0 * b[j] + gj
        d[j] = c0 * d[j] + gj


@njit(**_JIT)
def _pattern_row(writes, p, g, s0, s1, s2, c0, c1):
    if writes == 1:
        _w1(p, g, c0, c1)
    elif writes == 2:
        _w2(p, g, s0, c0, c1)
    elif writes == 3:
        _w3(p, g, s0, s1, c0, c1)
    else:
        _w4(p, g, s0, s1, s2, c0, c1)


@njit(parallel=True, **_JIT)
def _pattern(writes, p, g, s0, s1, s2, c0, c1, chunk):
    n = p.size
    for k in prange((n + chunk - 1) // chunk):
        j0 = k * chunk
        j1 = min(j0 + chunk, n)
        _pattern_row(writes, p[j0:j1], g[j0:j1], s0[j0:j1], s1[j0:j1], s2[j0:j1], c0, c1)


# 16-bit layouts: p, g as uint16 bits (p <- k0 p + k1 g, integers), float32 states
# (x <- c0 x + c1 g); with a master m, p <- m rounded to bfloat16 (nearest, ties to even).
_U16, _HALF, _ONE = np.uint32(16), np.uint32(0x7FFF), np.uint32(1)


@njit(**_JIT, inline="always")
def _rounded(x):
    """bfloat16 bits of the float32 ``x``, to nearest (ties to even): p written from the
    master in the same pass, as the fused kernel writes it (core/multi_tensor.py)."""
    b = f32_bits(x)
    return np.uint16((b + _HALF + ((b >> _U16) & _ONE)) >> _U16)


@njit(**_JIT)
def _l0(p, g, k0, k1):
    for j in range(p.size):
        p[j] = k0 * p[j] + k1 * g[j]


@njit(**_JIT)
def _l1(p, g, a, c0, c1, k0, k1):
    for j in range(p.size):
        gj = g[j]
        p[j] = k0 * p[j] + k1 * gj
        a[j] = c0 * a[j] + c1 * np.float32(gj)


@njit(**_JIT)
def _l2(p, g, a, b, c0, c1, k0, k1):
    for j in range(p.size):
        gj = g[j]
        gf = c1 * np.float32(gj)
        p[j] = k0 * p[j] + k1 * gj
        a[j] = c0 * a[j] + gf
        b[j] = c0 * b[j] + gf


@njit(**_JIT)
def _l3(p, g, a, b, d, c0, c1, k0, k1):
    for j in range(p.size):
        gj = g[j]
        gf = c1 * np.float32(gj)
        p[j] = k0 * p[j] + k1 * gj
        a[j] = c0 * a[j] + gf
        b[j] = c0 * b[j] + gf
        d[j] = c0 * d[j] + gf


@njit(**_JIT)
def _m0(p, g, m, c0, c1):
    for j in range(p.size):
        mj = c0 * m[j] + c1 * np.float32(g[j])
        m[j] = mj
        p[j] = _rounded(mj)


@njit(**_JIT)
def _m1(p, g, a, m, c0, c1):
    for j in range(p.size):
        gf = c1 * np.float32(g[j])
        a[j] = c0 * a[j] + gf
        mj = c0 * m[j] + gf
        m[j] = mj
        p[j] = _rounded(mj)


@njit(**_JIT)
def _m2(p, g, a, b, m, c0, c1):
    for j in range(p.size):
        gf = c1 * np.float32(g[j])
        a[j] = c0 * a[j] + gf
        b[j] = c0 * b[j] + gf
        mj = c0 * m[j] + gf
        m[j] = mj
        p[j] = _rounded(mj)


@njit(**_JIT)
def _m3(p, g, a, b, d, m, c0, c1):
    for j in range(p.size):
        gf = c1 * np.float32(g[j])
        a[j] = c0 * a[j] + gf
        b[j] = c0 * b[j] + gf
        d[j] = c0 * d[j] + gf
        mj = c0 * m[j] + gf
        m[j] = mj
        p[j] = _rounded(mj)


@njit(**_JIT)
def _low_row(nst, master, p, g, s0, s1, s2, m, c0, c1, k0, k1):
    if master:
        if nst == 0:
            _m0(p, g, m, c0, c1)
        elif nst == 1:
            _m1(p, g, s0, m, c0, c1)
        elif nst == 2:
            _m2(p, g, s0, s1, m, c0, c1)
        else:
            _m3(p, g, s0, s1, s2, m, c0, c1)
    elif nst == 0:
        _l0(p, g, k0, k1)
    elif nst == 1:
        _l1(p, g, s0, c0, c1, k0, k1)
    elif nst == 2:
        _l2(p, g, s0, s1, c0, c1, k0, k1)
    else:
        _l3(p, g, s0, s1, s2, c0, c1, k0, k1)


@njit(parallel=True, **_JIT)
def _low(nst, master, p, g, s0, s1, s2, m, c0, c1, k0, k1, chunk):
    n = p.size
    for k in prange((n + chunk - 1) // chunk):
        j0 = k * chunk
        j1 = min(j0 + chunk, n)
        _low_row(
            nst, master, p[j0:j1], g[j0:j1], s0[j0:j1], s1[j0:j1], s2[j0:j1], m[j0:j1],
            c0, c1, k0, k1,
        )  # fmt: skip


@njit(**_JIT)
def _copy_row(src, dst):
    for j in range(src.size):
        dst[j] = src[j]


@njit(**_JIT)
def _triad_row(a, b, c, s):
    for j in range(a.size):
        a[j] = b[j] + s * c[j]


@njit(parallel=True, **_JIT)
def _copy(src, dst, chunk):
    n = src.size
    for k in prange((n + chunk - 1) // chunk):
        j0 = k * chunk
        j1 = min(j0 + chunk, n)
        _copy_row(src[j0:j1], dst[j0:j1])


@njit(parallel=True, **_JIT)
def _triad(a, b, c, s, chunk):
    n = a.size
    for k in prange((n + chunk - 1) // chunk):
        j0 = k * chunk
        j1 = min(j0 + chunk, n)
        _triad_row(a[j0:j1], b[j0:j1], c[j0:j1], s)


def filled(n: int, dtype: Any, rng: np.random.Generator, count: int) -> list[np.ndarray]:
    """Arrays of values in [0.5, 1.5): cheap to draw, and the loops keep them there."""
    out = []
    for _ in range(count):
        a = rng.random(n, dtype=np.dtype(dtype))
        a += 0.5
        out.append(a)
    return out


def pattern_loop(
    pattern: Pattern, arrays: list[np.ndarray], coefficients: tuple[float, float] = (1.0, 0.0)
) -> Callable[[], None]:
    """A zero-argument callable running ``pattern`` once over ``arrays``, leaving them as they were.

    ``arrays`` are ``pattern.reads`` distinct 1-D arrays of one length and dtype: the
    kernel's own parameters, gradient and states (p, g, s0, ...).  The loop writes
    ``1 * x + 0 * g`` back, which is x again for finite values, so it can share the
    kernel's memory: the roofline then sees the same pages (and huge pages, and TLB
    reach) as the kernel, which separate arrays, placed anew in every run, do not.  The
    coefficients are runtime values, so the compiler cannot drop the loads or stores
    (other ``coefficients`` let tests see that every array is written).
    """
    if not 1 <= pattern.writes <= 4 or pattern.reads != pattern.writes + 1:
        raise ValueError(f"no roofline loop for access pattern {pattern.name}")
    if len(arrays) != pattern.reads or len({id(a) for a in arrays}) != len(arrays):
        raise ValueError(f"{pattern.name} needs {pattern.reads} distinct arrays")
    dtype = arrays[0].dtype
    p, g, states = arrays[0], arrays[1], list(arrays[2:])
    s = states + [p] * (3 - len(states))
    c0, c1 = dtype.type(coefficients[0]), dtype.type(coefficients[1])
    writes = pattern.writes

    def run() -> None:
        _pattern(writes, p, g, s[0], s[1], s[2], c0, c1, CHUNK)

    return run


def layout_loop(
    layout: Layout,
    p: np.ndarray,
    g: np.ndarray,
    states: list[np.ndarray],
    master: np.ndarray | None = None,
    coefficients: tuple[float, float] = (1.0, 0.0),
) -> Callable[[], None]:
    """The roofline loop of ``layout`` over a kernel's own flat arrays, leaving them unchanged.

    A uniform layout is ``pattern_loop``'s; a 16-bit one reads and writes what
    ``Layout.bytes`` counts (p, g as 16-bit integers, float32 states; with ``master``, the
    master instead of p is read, p is written from it).  Other ``coefficients`` let tests
    see each array written.
    """
    n = len(states)
    if layout.uniform:
        pattern = Pattern(reads=2 + n, writes=1 + n)
        return pattern_loop(pattern, [p, g, *states], coefficients)
    if layout.state != FLOAT32 or not 0 <= n <= 3 or (layout.master and layout.param != BFLOAT16):
        raise ValueError(f"no roofline loop for layout {layout.name} with {n} state arrays")
    if layout.master and (master is None or master.dtype != FLOAT32):
        raise ValueError(f"layout {layout.name} needs its float32 master array")
    arrays = [p, g, *states] + ([master] if layout.master else [])
    if len({id(a) for a in arrays}) != len(arrays) or len({a.size for a in arrays}) != 1:
        raise ValueError(f"layout {layout.name} needs distinct arrays of one length")
    pu, gu = p.view(np.uint16), g.view(np.uint16)
    none = np.empty(0, np.float32)
    s = [*states, none, none, none][:3]
    m = master if layout.master else none
    c0, c1 = np.float32(coefficients[0]), np.float32(coefficients[1])
    k0, k1 = np.uint16(int(coefficients[0])), np.uint16(int(coefficients[1]))
    use_master = bool(layout.master)

    def run() -> None:
        _low(n, use_master, pu, gu, s[0], s[1], s[2], m, c0, c1, k0, k1, CHUNK)

    return run


def copy_loop(arrays: list[np.ndarray]) -> Callable[[], None]:
    """dst <- src (STREAM copy: 2 arrays' bytes counted)."""
    src, dst = arrays

    def run() -> None:
        _copy(src, dst, CHUNK)

    return run


def triad_loop(arrays: list[np.ndarray]) -> Callable[[], None]:
    """a <- b + s c (STREAM triad: 3 arrays' bytes counted)."""
    a, b, c = arrays
    s = a.dtype.type(0.5)

    def run() -> None:
        _triad(a, b, c, s, CHUNK)

    return run


# Bytes per element the STREAM convention counts (write-allocate reads not counted).
COPY_ARRAYS = 2
TRIAD_ARRAYS = 3
