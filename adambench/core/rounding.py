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
  (127 - 15 = 112), a subnormal by one exact float32 product; narrowing rounds to nearest
  even on the 13 (or, for results below 2^-14, more) dropped bits, overflows to infinity,
  and keeps a NaN's top significand bits (at least one set), as NumPy does.

Each conversion is branch-free (every candidate computed, one selected), so the fused
16-bit loops of core/multi_tensor.py keep a rule's arithmetic in one pass per element.
"""

from __future__ import annotations

import numpy as np
from numba import njit, types
from numba.extending import intrinsic

_JIT = dict(cache=True, nogil=True, inline="always")


def _bitcast(source: types.Type, target: types.Type):
    """An intrinsic reinterpreting a ``source`` scalar's bits as ``target`` (same width)."""

    @intrinsic
    def cast(typingctx, value):  # noqa: ARG001 - numba's signature
        def codegen(context, builder, signature, args):
            return builder.bitcast(args[0], context.get_value_type(target))

        return target(source), codegen

    return cast


bits_f32 = _bitcast(types.uint32, types.float32)  # the float32 with these uint32 bits
f32_bits = _bitcast(types.float32, types.uint32)  # a float32's bits as uint32


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
    normal = (e + np.uint32(112)) << np.uint32(23) | (m << np.uint32(13))
    # inf or NaN: the significand moves up, payload kept
    special = np.uint32(0x7F800000) | (m << np.uint32(13))
    # subnormal (or zero) m * 2^-24: exact in float32 arithmetic (m < 2^10, the product a
    # float32 normal), so no loop normalises it
    tiny = f32_bits(np.float32(m) * np.float32(2.0**-24))
    return sign | (special if e == np.uint32(0x1F) else (tiny if e == np.uint32(0) else normal))


@njit(**_JIT)
def _round_shift(v, s):
    """v >> s rounded to nearest, ties to even (1 <= s <= 31)."""
    q = v >> s
    rest = v & ((np.uint32(1) << s) - np.uint32(1))
    half = np.uint32(1) << (s - np.uint32(1))
    up = (rest > half) | ((rest == half) & ((q & np.uint32(1)) == np.uint32(1)))
    return q + np.uint32(up)


@njit(**_JIT)
def f32_to_f16(x):
    """float16 bits nearest (ties to even) to the float32 with bits ``x``."""
    x = np.uint32(x)
    sign = (x >> np.uint32(16)) & np.uint32(0x8000)
    e = (x >> np.uint32(23)) & np.uint32(0xFF)
    m = x & np.uint32(0x7FFFFF)
    # infinity, or a NaN with its top significand bits (one set when they are all zero)
    nan = np.uint32(0x7C00) + (m >> np.uint32(13))
    nan += np.uint32(nan == np.uint32(0x7C00))
    special = np.uint32(0x7C00) if m == np.uint32(0) else nan
    # normal: rebias the exponent and round the significand; a carry out of the significand
    # moves into the exponent (and to infinity past 65504), which is the correct result
    normal = ((e - np.uint32(112)) << np.uint32(10)) + _round_shift(m, np.uint32(13))
    # |x| < 2^-14, a float16 subnormal: (m | 2^23) * 2^(e - 150) in units of 2^-24 is
    # (m | 2^23) >> (126 - e); the shift is clamped to 1..31 where the value is not used
    s = np.uint32(min(max(np.int64(126) - np.int64(e), np.int64(1)), np.int64(31)))
    sub = _round_shift(m | np.uint32(0x800000), s)
    # Every candidate is computed and one selected, so that LLVM can vectorise a loop of
    # these; |x| >= 2^16 is beyond the largest float16 (65504) after rounding, and below
    # 2^-25 (half the smallest subnormal) the result is a signed zero.
    h = sub if e >= np.uint32(102) else np.uint32(0)
    h = normal if e > np.uint32(112) else h
    h = np.uint32(0x7C00) if e >= np.uint32(143) else h
    h = special if e == np.uint32(0xFF) else h
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
