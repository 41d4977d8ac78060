"""Dtype layouts of an update: the parameters' dtype, the state's, and a float32 master copy.

Invariant: a step computes in the layout's *compute* dtype (float64 when the state is
float64, float32 otherwise) on values widened exactly from their storage (every float16
and bfloat16 value is a float32 value), and rounds each value it stores once, to the
nearest value of its storage dtype, ties to even (IEEE 754 roundTiesToEven, what
``numpy.ndarray.astype`` and ml_dtypes do).  So a low-precision step is the float32 step
of the widened values followed by one rounding per stored value, bit for bit
(docs/theory.md §9).

With ``master=True`` the parameters live in a float32 master copy: the step reads the
master (not the low-precision parameters) and writes both, the parameters as the master
rounded to nearest even.  bfloat16 is ml_dtypes' NumPy dtype (the one JAX uses).

Bytes per parameter (``Layout.bytes``): a rule with n state arrays reads p (or its master),
g and every state once and writes p, every state (and the master) once.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import ml_dtypes
import numpy as np

FLOAT16 = np.dtype(np.float16)
BFLOAT16 = np.dtype(ml_dtypes.bfloat16)
FLOAT32 = np.dtype(np.float32)
FLOAT64 = np.dtype(np.float64)
WIDE = (FLOAT32, FLOAT64)  # dtypes the kernels compute in
LOW = (BFLOAT16, FLOAT16)  # 16-bit storage dtypes, computed in float32
PARAM_DTYPES = (*WIDE, *LOW)
_NAMES = {d.name: d for d in PARAM_DTYPES}
# How the kernels store a value: 0 = in the compute dtype itself, 1 = bfloat16, 2 = float16
# (both as 16-bit patterns, converted per element).
STORAGE = {FLOAT32: 0, FLOAT64: 0, BFLOAT16: 1, FLOAT16: 2}


def dtype_of(value: Any, what: str = "dtype") -> np.dtype:
    """A supported dtype from a name or dtype; ValueError (one line) for anything else."""
    found = None
    if isinstance(value, str):
        found = _NAMES.get(value)
    elif value is not None:
        try:
            found = np.dtype(value)
        except TypeError:
            found = None
    if found is None or not any(found == known for known in PARAM_DTYPES):
        shown = value if isinstance(value, str) else getattr(found, "name", repr(value))
        raise ValueError(f"{what} must be one of {', '.join(_NAMES)}, got {shown}")
    return found


@dataclass(frozen=True)
class Layout:
    """Where a step's values live: parameters and gradients in ``param``, every state array
    in ``state``, and (``master``) a float32 copy of the parameters that the step updates."""

    param: np.dtype
    state: np.dtype
    master: bool = False

    @property
    def compute(self) -> np.dtype:
        """The dtype the step computes in: float64 for a float64 state, else float32."""
        return FLOAT64 if self.state == FLOAT64 else FLOAT32

    @property
    def uniform(self) -> bool:
        """True when everything is in one wide dtype (the kernels convert nothing)."""
        return self.param == self.state and self.param in WIDE and not self.master

    @property
    def name(self) -> str:
        """``float32``, ``bfloat16`` (float32 state), ``bfloat16/bfloat16`` (a bfloat16
        state), ``bfloat16+master`` ...: the parameters' dtype, then what differs."""
        text = self.param.name
        if self.state != (self.param if self.param in WIDE else FLOAT32):
            text += f"/{self.state.name}"
        return text + ("+master" if self.master else "")

    def bytes(self, nstates: int) -> tuple[int, int]:
        """(read, written) bytes per parameter for a rule with ``nstates`` state arrays."""
        p, s, m = self.param.itemsize, self.state.itemsize, FLOAT32.itemsize
        state = nstates * s
        if self.master:
            return p + state + m, p + state + m  # g, states, master in; p, states, master out
        return 2 * p + state, p + state  # p, g, states in; p, states out

    def describe(self) -> str:
        """One phrase for tables: ``bfloat16 p, g; float32 state, master``."""
        state = f"{self.state.name} state" + (", float32 master" if self.master else "")
        return f"{self.param.name} p, g; {state}"


def layout(param: Any, state: Any = None, master_weights: bool = False) -> Layout:
    """The layout of parameters of dtype ``param``, checked (one-line ValueError).

    ``state`` defaults to the parameters' dtype for float32 and float64 and to float32 for
    float16 and bfloat16.  float32 and float64 parameters keep their state in their own
    dtype and need no master copy; 16-bit parameters take a float32 or 16-bit state.
    """
    p = dtype_of(param, "params")
    if not isinstance(master_weights, (bool, np.bool_)):
        raise ValueError(f"master_weights must be True or False, got {master_weights!r}")
    s = (p if p in WIDE else FLOAT32) if state is None else dtype_of(state, "state_dtype")
    if p in WIDE:
        if s != p:
            raise ValueError(
                f"state_dtype {s.name} with {p.name} params: {p.name} params keep their "
                f"state in {p.name} (a separate state dtype is for float16/bfloat16 params)"
            )
        if master_weights:
            raise ValueError(
                f"master_weights=True needs float16 or bfloat16 params; {p.name} params "
                "are their own master copy"
            )
    elif s == FLOAT64:
        raise ValueError(
            f"state_dtype float64 with {p.name} params: their state is float32, "
            "float16 or bfloat16 (the step computes in float32)"
        )
    return Layout(p, s, bool(master_weights))


# The layouts ``bench --dtype`` names: the wide dtypes, 16-bit parameters with a float32
# state, and ``mixed``: bfloat16 parameters and gradients, float32 state and master.
NAMED = {
    "float32": Layout(FLOAT32, FLOAT32),
    "float64": Layout(FLOAT64, FLOAT64),
    "bfloat16": Layout(BFLOAT16, FLOAT32),
    "float16": Layout(FLOAT16, FLOAT32),
    "mixed": Layout(BFLOAT16, FLOAT32, master=True),
}


def named_layout(name: str, where: str = "--dtype") -> Layout:
    """The layout called ``name`` (``NAMED``); ValueError listing the names."""
    try:
        return NAMED[name]
    except KeyError:
        raise ValueError(
            f"{where}: unknown dtype {name!r}; choose from: {', '.join(NAMED)}"
        ) from None


def unit_roundoff(dtype: np.dtype) -> float:
    """u = 2^-p for a dtype with p significand bits: |round(x) - x| <= u |x| (normal x)."""
    return float(np.finfo(np.dtype(dtype)).eps) / 2 if dtype != BFLOAT16 else 2.0**-8
