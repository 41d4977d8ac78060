"""core/rounding.py against ml_dtypes (bfloat16) and NumPy (float16) astype, bit for bit."""

from __future__ import annotations

import numpy as np
import pytest

from adambench.core import rounding
from adambench.core.precision import BFLOAT16, FLOAT16

CODES = {BFLOAT16: 1, FLOAT16: 2}


def _all16() -> np.ndarray:
    return np.arange(2**16, dtype=np.uint32).astype(np.uint16)


def _float32_cases(rng: np.random.Generator) -> np.ndarray:
    """float32 patterns that probe every rounding decision of both 16-bit formats: each
    16-bit value's float32 image and its neighbours at the half-way points, random patterns,
    and the boundaries (overflow, subnormal range, zero, infinities, NaNs)."""
    wide = _all16().astype(np.uint32)
    images = np.concatenate(
        [wide << 16, _all16().view(np.float16).astype(np.float32).view(np.uint32)]
    )
    offsets = np.array([0, 1, 2, 0x0FFF, 0x1000, 0x1001, 0x1FFF, 0x7FFF, 0x8000, 0x8001, 0xFFFF])
    near = (images[:, None].astype(np.int64) + offsets[None, :]).reshape(-1)
    below = (images[:, None].astype(np.int64) - offsets[None, 1:]).reshape(-1)
    rand = rng.integers(0, 2**32, size=2_000_000, dtype=np.uint64)
    out = np.concatenate([near, below, rand.astype(np.int64)]) % 2**32
    return out.astype(np.uint32)


@pytest.mark.parametrize("dtype", [BFLOAT16, FLOAT16], ids=["bfloat16", "float16"])
def test_widen_is_astype_on_every_16_bit_pattern(dtype):
    bits = _all16()
    out = np.empty(bits.size, np.uint32)
    rounding.widen(bits, out, CODES[dtype])
    with np.errstate(invalid="ignore"):
        expected = bits.view(dtype).astype(np.float32).view(np.uint32)
    np.testing.assert_array_equal(out, expected)


@pytest.mark.parametrize("dtype", [BFLOAT16, FLOAT16], ids=["bfloat16", "float16"])
def test_narrow_is_astype_round_to_nearest_even(dtype):
    x = _float32_cases(np.random.default_rng(5))
    out = np.empty(x.size, np.uint16)
    rounding.narrow(x, out, CODES[dtype])
    with np.errstate(invalid="ignore", over="ignore"):
        expected = x.view(np.float32).astype(dtype).view(np.uint16)
    bad = np.flatnonzero(out != expected)
    assert bad.size == 0, [hex(v) for v in x[bad[:5]]]
