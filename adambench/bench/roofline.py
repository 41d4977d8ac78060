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
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
from numba import njit, prange

from ..core.kernels_cpu import CHUNK
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
