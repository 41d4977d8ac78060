"""16-bit floats in numba: bfloat16 and float16 to float32 exactly, and back to nearest even.

Invariant: every function here gives, bit for bit, what ``astype`` gives (ml_dtypes for
bfloat16, NumPy for float16), NaNs included; tests/core/test_rounding.py checks all 65536
16-bit patterns and float32 patterns around every rounding boundary.  numba has no 16-bit
float type on the CPU, so values travel as their bit patterns: a bfloat16 or float16 array
is viewed as uint16, a float32 array as uint32.

* bfloat16 is the top half of a float32: widening is ``bits << 16``; narrowing rounds the
  dropped 16 bits to nearest, ties to even, and turns a NaN into the quiet NaN of its sign
  (``0x7fc0``, as ml_dtypes).
* float16 (1 sign, 5 exponent, 10 significand bits, bias 15): widening rebiases the exponent
  (127 - 15 = 112) and normalises subnormals; narrowing rounds to nearest even on the 13 (or,
  for results below 2^-14, more) dropped bits, overflows to infinity, and keeps a NaN's top
  significand bits (at least one set), as NumPy does.
"""

from __future__ import annotations

import numpy as np
from numba import njit

_JIT = dict(cache=True, nogil=True, inline="always")


@njit(**_JIT)
def bf16_to_f32(b):
    """float32 bits of the bfloat16 with bits ``b`` (exact)."""
    return np.uint32(b) << np.uint32(16)


@njit(**_JIT)
def f32_to_bf16(x):
    """bfloat16 bits nearest (ties to even) to the float32 with bits ``x``."""
    x = np.uint32(x)
    if (x & np.uint32(0x7FFFFFFF)) > np.uint32(0x7F800000):  # NaN: quiet, sign kept
        return np.uint16((x >> np.uint32(16)) & np.uint32(0x8000) | np.uint32(0x7FC0))
    odd = (x >> np.uint32(16)) & np.uint32(1)
    return np.uint16((x + np.uint32(0x7FFF) + odd) >> np.uint32(16))


@njit(**_JIT)
def f16_to_f32(h):
    """float32 bits of the float16 with bits ``h`` (exact)."""
    h = np.uint32(h)
    sign = (h & np.uint32(0x8000)) << np.uint32(16)
    e = (h >> np.uint32(10)) & np.uint32(0x1F)
    m = h & np.uint32(0x3FF)
    if e == np.uint32(0x1F):  # inf or NaN: the significand moves up, payload kept
        return sign | np.uint32(0x7F800000) | (m << np.uint32(13))
    if e == np.uint32(0):
        if m == np.uint32(0):
            return sign
        # subnormal m * 2^-24: shift m up until its leading 1 is bit 10 (the implicit one)
        k = np.uint32(0)
        while (m & np.uint32(0x400)) == np.uint32(0):
            m <<= np.uint32(1)
            k += np.uint32(1)
        return (
            sign
            | ((np.uint32(113) - k) << np.uint32(23))
            | ((m & np.uint32(0x3FF)) << np.uint32(13))
        )
    return sign | ((e + np.uint32(112)) << np.uint32(23)) | (m << np.uint32(13))


@njit(**_JIT)
def _round_shift(v, s):
    """v >> s rounded to nearest, ties to even (1 <= s <= 31)."""
    q = v >> s
    rest = v & ((np.uint32(1) << s) - np.uint32(1))
    half = np.uint32(1) << (s - np.uint32(1))
    if rest > half or (rest == half and (q & np.uint32(1)) == np.uint32(1)):
        q += np.uint32(1)
    return q


@njit(**_JIT)
def f32_to_f16(x):
    """float16 bits nearest (ties to even) to the float32 with bits ``x``."""
    x = np.uint32(x)
    sign = (x >> np.uint32(16)) & np.uint32(0x8000)
    e = (x >> np.uint32(23)) & np.uint32(0xFF)
    m = x & np.uint32(0x7FFFFF)
    if e == np.uint32(0xFF):
        if m == np.uint32(0):
            return np.uint16(sign | np.uint32(0x7C00))
        h = np.uint32(0x7C00) + (m >> np.uint32(13))
        if h == np.uint32(0x7C00):  # a NaN whose top bits are all zero stays a NaN
            h += np.uint32(1)
        return np.uint16(sign | h)
    if e >= np.uint32(143):  # |x| >= 2^16: beyond the largest float16 (65504) after rounding
        return np.uint16(sign | np.uint32(0x7C00))
    if e <= np.uint32(112):  # |x| < 2^-14: a float16 subnormal (or zero)
        if e < np.uint32(102):  # |x| < 2^-25: below half the smallest subnormal
            return np.uint16(sign)
        # value = (m | 2^23) * 2^(e - 150); in units of 2^-24 that is (m | 2^23) >> (126 - e)
        return np.uint16(sign | _round_shift(m | np.uint32(0x800000), np.uint32(126) - e))
    # normal: rebias the exponent and round the significand; a carry out of the significand
    # moves into the exponent (and to infinity past 65504), which is the correct result
    h = ((e - np.uint32(112)) << np.uint32(10)) + _round_shift(m, np.uint32(13))
    return np.uint16(sign | h)


@njit(cache=True, nogil=True)
def widen(bits, out, code):
    """out (uint32 view of float32) <- the 16-bit values ``bits`` (code 1 bf16, 2 f16)."""
    if code == 1:
        for j in range(bits.size):
            out[j] = bf16_to_f32(bits[j])
    else:
        for j in range(bits.size):
            out[j] = f16_to_f32(bits[j])


@njit(cache=True, nogil=True)
def narrow(x, out, code):
    """out (uint16) <- the float32 values with bits ``x``, rounded (code 1 bf16, 2 f16)."""
    if code == 1:
        for j in range(x.size):
            out[j] = f32_to_bf16(x[j])
    else:
        for j in range(x.size):
            out[j] = f32_to_f16(x[j])
