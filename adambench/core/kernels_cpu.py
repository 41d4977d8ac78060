"""Fused CPU update kernels (numba): one pass over memory, in place, parallel over the array.

Each rule's kernel (``Kernel.row`` in ``rules/<rule>.py``, beside its equations) updates
one contiguous 1-D stretch of a run's parameters from the run's coefficient row.  This
module compiles those rows and builds, from the registry, the dispatch by kernel number
that ``apply`` and the regret engine call: ``step_row`` (the update), ``weight`` and
``weighted`` (the diagonal of sqrt(V_t) for the weighted projection), and ``tracks``,
``track_term``, ``track_add`` (a per-step statistic of a theorem).  Nothing here knows
a rule by name: the dispatch is generated Python source over ``KERNELS``.

Performance notes (measured, see README): the rows loop over ``range(x.size)`` of 1-D
slices, since ``range(j0, j1)`` over a bigger array defeats LLVM's vectorizer, and the
error model is numpy's (no zero-division branch per element).  Every constant is
precomputed in the array's dtype, so float32 arrays are updated in float32 arithmetic.
"""

from __future__ import annotations

import hashlib
import inspect
import types
from collections.abc import Callable
from typing import Any

import numpy as np
from numba import njit, prange

from .registry import KERNELS, KINDS
from .spec import Kernel

_JIT = dict(cache=True, nogil=True, error_model="numpy")

# Elements per parallel work item: small enough to balance two threads at 1e5,
# large enough that per-chunk overhead vanishes.
CHUNK = 16384


def _dispatch_source(tag: str) -> str:
    """Python source of the dispatch functions over ``KERNELS`` (compiled by numba).

    ``tag`` (a hash of the kernels' code) is part of every name, so numba's on-disk cache
    never serves a dispatch compiled from other rules.
    """
    n = len(KERNELS)
    args = "p, g, s0, s1, s2, c"

    def chain(call: str, indent: str = "    ") -> str:
        lines = []
        for i in range(n):
            head = "if" if i == 0 else "elif"
            lines.append(f"{indent}{head} kind == {i}:" if i < n - 1 else f"{indent}else:")
            lines.append(f"{indent}    {call.format(i=i)}")
        return "\n".join(lines)

    def select(fn: str, params: str, callee: str, ids: list[int], default: str) -> list[str]:
        """``fn(kind, params)``: ``callee<i>(params)`` for the kernels ``ids``, else default."""
        body = [f"    if kind == {i}:\n        return {callee}{i}({params})" for i in ids]
        return [f"def {fn}_{tag}(kind, {params}):", *body, f"    return {default}", ""]

    weighted = [i for i, k in enumerate(KERNELS) if k.weight is not None]
    tracked = [i for i, k in enumerate(KERNELS) if k.track is not None]
    out = [f"def step_row_{tag}(kind, {args}):", chain(f"_row{{i}}({args})"), ""]
    out += select("weight", "a0, a1, a2, c", "_weight", weighted, "1.0")
    out += [
        f"def weighted_{tag}(kind):",
        f"    return {' or '.join(f'kind == {i}' for i in weighted) or 'False'}",
        "",
    ]
    out += select("tracks", "c", "_track_on", tracked, "False")
    out += select("track_term", "a0, a1, a2", "_track_term", tracked, "0.0")
    out += select("track_add", "total, c", "_track_add", tracked, "0.0")
    return "\n".join(out)


def _build() -> dict[str, object]:
    """Wrap every kernel's pieces and the dispatch over them in numba dispatchers (each
    compiles, or loads from numba's cache, at its first call)."""
    code = "".join(
        inspect.getsource(f)
        for k in KERNELS
        for f in (k.row, k.weight, *((k.track.on, k.track.term, k.track.add) if k.track else ()))
        if f is not None
    )
    tag = hashlib.sha256(code.encode()).hexdigest()[:12]
    space: dict[str, object] = {"__name__": __name__, "np": np}
    for i, k in enumerate(KERNELS):
        space[f"_row{i}"] = njit(**_JIT)(k.row)
        if k.weight is not None:
            space[f"_weight{i}"] = njit(**_JIT)(k.weight)
        if k.track is not None:
            space[f"_track_on{i}"] = njit(**_JIT)(k.track.on)
            space[f"_track_term{i}"] = njit(**_JIT)(k.track.term)
            space[f"_track_add{i}"] = njit(**_JIT)(k.track.add)
    # Compiled under this file's name, so that numba caches the dispatch beside it.
    exec(compile(_dispatch_source(tag), __file__, "exec"), space)  # noqa: S102
    names = ("step_row", "weight", "weighted", "tracks", "track_term", "track_add")
    return {"tag": tag, **{name: njit(**_JIT)(space[f"{name}_{tag}"]) for name in names}}


_D = _build()
TAG: str = _D["tag"]  # a hash of every kernel's code


def kernel_jit(**options: Any) -> Callable[[Callable[..., Any]], Any]:
    """``numba.njit(**options)`` for code that calls the dispatch (``step_row``, ...).

    numba's disk cache does not see a callee change, so a cached caller would keep an old
    rule's arithmetic; the kernels' ``TAG`` in the function's cache name prevents that.
    """

    def wrap(f: Callable[..., Any]) -> Any:
        g = types.FunctionType(f.__code__, f.__globals__, f.__name__, f.__defaults__,
                               f.__closure__)  # fmt: skip
        g.__qualname__ = f"{f.__qualname__}_{TAG}"
        g.__module__, g.__doc__ = f.__module__, f.__doc__
        return njit(**options)(g)

    return wrap


step_row = _D["step_row"]  # step_row(kind, p, g, s0, s1, s2, c): update one stretch
weight = _D["weight"]  # weight(kind, a0, a1, a2, c): sqrt(V_t)'s diagonal at a coordinate
weighted = _D["weighted"]  # weighted(kind): False where V_t = I
tracks = _D["tracks"]  # tracks(kind, c): does this step add to the kernel's statistic
track_term = _D["track_term"]  # track_term(kind, a0, a1, a2): one coordinate's term
track_add = _D["track_add"]  # track_add(kind, total, c): the step's increment


@kernel_jit(parallel=True, **_JIT)
def _apply(kind, p, g, s0, s1, s2, coef, chunk):
    rows, d = p.shape
    per_row = (d + chunk - 1) // chunk
    for k in prange(rows * per_row):
        i = k // per_row
        j0 = (k - i * per_row) * chunk
        j1 = min(j0 + chunk, d)
        c = coef[i if coef.shape[0] > 1 else 0]
        step_row(kind, p[i, j0:j1], g[i, j0:j1], s0[i, j0:j1], s1[i, j0:j1], s2[i, j0:j1], c)


def apply(
    kernel: Kernel, p: np.ndarray, g: np.ndarray, buffers: list[np.ndarray], coef: np.ndarray
) -> None:
    """Run ``kernel`` in place on C-contiguous (B, d) arrays of one dtype.

    ``buffers`` are the rule's state arrays in the order its kernel takes them; missing
    ones are filled with ``p``, which the kernel never touches through them (not ``g``:
    a read-only ``g`` there would not compile).  ``coef`` is (R, K) in the arrays'
    dtype, R = 1 or B.
    """
    s = list(buffers) + [p] * (3 - len(buffers))
    _apply(KINDS[kernel.name], p, g, s[0], s[1], s[2], coef, CHUNK)
