"""Counter-based random streams: every value is a pure function of (seed, t, index).

docs/design.md, "Streams are functions of (seed, t)": a problem's data at step t is computed
from the seed and t alone, so any block of steps can be regenerated (for the comparator,
for resuming) in O(block) memory, T = 1e7 needs no O(T) storage, and a GPU port sees the
same data.  The generator is the SplitMix64 finaliser (Steele, Lea & Flood 2014) applied
to a Weyl-sequence counter built from (key, t, index), twice, which passes BigCrush as a
counter-based generator.

The same functions exist twice with the same integer arithmetic: numba scalar functions
(``uniform``, ``normal``, for compiled loops) and vectorised NumPy ones (``uniform_np``,
``normal_np``).  Uniforms agree bit for bit; normals (Box-Muller: log, cos) agree to the
last few ulps, since NumPy's and LLVM's libm may round differently.
"""

from __future__ import annotations

import numpy as np
from numba import njit

_JIT = dict(cache=True, nogil=True, error_model="numpy")

_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_T_MUL = np.uint64(0xD1B54A32D192ED03)
_I_MUL = np.uint64(0x8CB92BA72F3D8DD7)
_M1 = np.uint64(0xBF58476D1CE4E5B9)
_M2 = np.uint64(0x94D049BB133111EB)
_S30, _S27, _S31, _S11 = np.uint64(30), np.uint64(27), np.uint64(31), np.uint64(11)
_TO_UNIT = 2.0**-53
_TWO_PI = 2.0 * np.pi


@njit(**_JIT)
def _mix(z):
    """SplitMix64's output function: a bijection of uint64 with full avalanche."""
    z = (z ^ (z >> _S30)) * _M1
    z = (z ^ (z >> _S27)) * _M2
    return z ^ (z >> _S31)


def stream_key(seed: int) -> np.uint64:
    """The 64-bit key of a seed (any int >= 0); distinct seeds give unrelated streams."""
    if seed < 0:
        raise ValueError(f"seed must be >= 0, got {seed}")
    z = np.array([(seed * int(_GOLDEN) + int(_GOLDEN)) % 2**64], dtype=np.uint64)
    return np.uint64(_mix_np(z)[0])


@njit(**_JIT)
def bits(key, t, i):
    """64 random bits for step t, index i of the stream ``key`` (t, i >= 0)."""
    z = key + np.uint64(t) * _T_MUL + np.uint64(i) * _I_MUL
    return _mix(_mix(z) + _GOLDEN)


@njit(**_JIT)
def uniform(key, t, i):
    """A float64 uniform on [0, 1) with 53 random bits."""
    return np.float64(bits(key, t, i) >> _S11) * _TO_UNIT


@njit(**_JIT)
def uniform_features(key, t, w, idx, val):
    """A dense a_t uniform on [-1, 1]^d into (idx, val), d = idx.size; returns <w[:d], a_t>.

    The feature vector of the teacher problems (logistic, hinge, least squares).
    """
    z = 0.0
    for i in range(idx.size):
        a = 2.0 * uniform(key, t, i) - 1.0
        idx[i] = i
        val[i] = a
        z += w[i] * a
    return z


@njit(**_JIT)
def normal(key, t, i):
    """A standard normal from the uniforms at indices 2i, 2i+1 (Box-Muller, cosine branch)."""
    u1 = 1.0 - uniform(key, t, 2 * i)  # in (0, 1]: log is finite
    u2 = uniform(key, t, 2 * i + 1)
    return np.sqrt(-2.0 * np.log(u1)) * np.cos(_TWO_PI * u2)


def _mix_np(z: np.ndarray) -> np.ndarray:
    z = (z ^ (z >> _S30)) * _M1
    z = (z ^ (z >> _S27)) * _M2
    return z ^ (z >> _S31)


def bits_np(key: np.uint64, t: np.ndarray, i: np.ndarray) -> np.ndarray:
    """Vectorised ``bits``: broadcasts t and i (non-negative integer arrays)."""
    t = np.asarray(t, dtype=np.uint64)
    i = np.asarray(i, dtype=np.uint64)
    with np.errstate(over="ignore"):
        z = np.uint64(key) + t * _T_MUL + i * _I_MUL
        return _mix_np(_mix_np(z) + _GOLDEN)


def uniform_np(key: np.uint64, t: np.ndarray, i: np.ndarray) -> np.ndarray:
    """Vectorised ``uniform``: the same numbers, bit for bit."""
    return (bits_np(key, t, i) >> _S11).astype(np.float64) * _TO_UNIT


def normal_np(key: np.uint64, t: np.ndarray, i: np.ndarray) -> np.ndarray:
    """Vectorised ``normal`` (equal to a few ulps; see the module docstring)."""
    i = np.asarray(i, dtype=np.uint64)
    u1 = 1.0 - uniform_np(key, t, np.uint64(2) * i)
    u2 = uniform_np(key, t, np.uint64(2) * i + np.uint64(1))
    return np.sqrt(-2.0 * np.log(u1)) * np.cos(_TWO_PI * u2)
