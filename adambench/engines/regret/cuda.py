"""The regret engine's inner loop on a CUDA device: one launch advances every run a block.

The GPU twin of ``cpu.run_block`` (read that first): for each step of the
block every run plays x_t, regenerates f_t from its seed's counter-based stream
(``streams.py``: SplitMix64 of (key, t, index), the same integer arithmetic, so a CPU and
a GPU run see the same a_t and y_t), takes g_t = phi'(<a_t, x_t>) a_t, applies its rule's
update (the ``<kernel>_step`` device functions generated from ``core.kernels_cuda``'s
STEP_BODIES, i.e. the same per-element math as the CPU kernels), projects onto F and
accumulates the same statistics (Kahan sum of f_t(x_t), sum_t g_{t,i}^2, max ||g_t||_2^2,
max ||g_t||_inf, the bounding box of the played points, AMSGrad's Thm 4 middle term).

One warp per run, each lane holding ceil(d / 32) coordinates of x and of the states in
registers for the whole block (d is small); at d = 1 one thread per run (``warp_of``: a
phase map's cells are then independent threads, with no shuffles).  The sums <a_t, x_t>
and ||a_t||^2 are warp reductions, so they are added in another order than the CPU's
sequential loop: results
agree to float tolerance, not bit for bit (labels agree except where a uniform falls
within an ulp of its threshold).  ||g_t||_2^2 is computed as phi'^2 ||a_t||^2 and
||g_t||_inf as |phi'| max |a_t,i| (equal up to rounding, the max exactly).

Every problem family and projection of ``base.py`` is ported: box clipping, the
Euclidean ball and the sqrt(V)-weighted ball (Newton on the multiplier, warp-reduced).
The module is compiled per (dtype, d, nnz) with NVRTC (``--fmad=false``, as the update
kernels) and cached by CuPy.  The host side (checkpoints, comparator, statistics) stays
in ``engine.run``, which calls ``DeviceBlocks`` instead of ``gen_block`` + ``run_block``.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

import numpy as np

from ...core import kernels_cuda
from ...core.registry import KERNELS
from ...problems.online import base, hinge, least_squares, linear, logistic, reddi, sparse_logistic
from ...problems.streams import stream_key

WARPS_PER_BLOCK = 4
THREADS_PER_BLOCK = 32 * WARPS_PER_BLOCK


def warp_of(d: int) -> int:
    """Threads per run: one for d = 1 (a phase map's problems: a warp per run would leave
    31 of its 32 threads idle), a warp otherwise."""
    return 1 if d == 1 else 32


# The device code lives beside this file, in cuda.cu (package data).
_DEVICE_CODE = (Path(__file__).with_name("cuda.cu")).read_text()


def _defines(family: int, d: int, nnz: int, warp: int) -> str:
    """Compile-time constants: sizes, family and loss codes (problems/online/base.py)."""
    per = (d + warp - 1) // warp
    lanes = 1
    while lanes < min(d, warp):
        lanes *= 2
    consts = {
        "WARP": warp, "D": d, "NNZ": nnz, "PER": per, "LANES": lanes, "FAMILY": family,
        "LABEL_INDEX": sparse_logistic._LABEL_INDEX, "REDDI_PERIOD": reddi.PERIOD,
        "REDDI_BIG": repr(reddi.BIG), "REDDI_SMALL": repr(reddi.SMALL),
        "REDDI_PROB": repr(reddi.PROB), "LS_SQRT3": repr(least_squares._SQRT3),
    }  # fmt: skip
    for name in ("LINEAR", "LOGISTIC", "LEAST_SQUARES", "HINGE", "SPARSE_LOGISTIC", "REDDI",
                 "REDDI_SYNTH", "REDDI_STOCH"):  # fmt: skip
        consts[f"F_{name}"] = getattr(base, name)
    for name in ("PHI_LINEAR", "PHI_LOGISTIC", "PHI_SQUARE", "PHI_SQHINGE", "PROJ_BOX",
                 "PROJ_BALL", "PROJ_BALL_WEIGHTED"):  # fmt: skip
        consts[name] = getattr(base, name)
    return "".join(f"#define {k} {v}\n" for k, v in consts.items())


def _dispatch() -> str:
    """Device functions choosing a kernel's step, weight and track by kernel number (the
    numbering of ``registry.KERNELS``, as on the CPU)."""
    fn = "__device__ __forceinline__"
    steps = "".join(
        f"        case {i}: {k.name}_step(p, g, a0, a1, a2, c); break;\n"
        for i, k in enumerate(KERNELS)
    )
    out = [
        f"{fn} void rule_step(int kind, T& p, T g, T& a0, T& a1, T& a2, const T* c) {{\n"
        f"    switch (kind) {{\n{steps}    }}\n}}",
        f"{fn} double weight(int kind, T a0, T a1, T a2, const T* c) {{\n"
        + "".join(
            f"    if (kind == {i}) return {k.name}_weight(a0, a1, a2, c);\n"
            for i, k in enumerate(KERNELS)
            if k.weight is not None
        )
        + "    return 1.0;\n}",
        f"{fn} bool weighted(int kind) {{\n    return "
        + (" || ".join(f"kind == {i}" for i, k in enumerate(KERNELS) if k.weight) or "false")
        + ";\n}",
    ]
    tracked = [(i, k) for i, k in enumerate(KERNELS) if k.track is not None]
    for name, args, call, default in (
        ("tracks", "const T* c", "{k}_track_on(c)", "false"),
        ("track_term", "T a0, T a1, T a2", "{k}_track_term(a0, a1, a2)", "0.0"),
        ("track_add", "double sum, const T* c", "{k}_track_add(sum, c)", "0.0"),
    ):
        ret = "bool" if name == "tracks" else "double"
        body = "".join(
            f"    if (kind == {i}) return {call.format(k=k.name)};\n" for i, k in tracked
        )
        out.append(f"{fn} {ret} {name}(int kind, {args}) {{\n{body}    return {default};\n}}")
    return "\n".join(out) + "\n"


def engine_source(dtype: str, family: int, d: int, nnz: int) -> str:
    """The whole CUDA module: the update step functions, then the fused engine kernel,
    ``warp_of(d)`` threads per run."""
    update = kernels_cuda.cuda_source(dtype)
    return _defines(family, d, nnz, warp_of(d)) + update + _dispatch() + _DEVICE_CODE


# The family modules whose samplers this port transcribes (kept imported so a rename fails).
_PORTED = (linear, logistic, least_squares, hinge, sparse_logistic, reddi)


@cache
def _module(dtype: str, family: int, d: int, nnz: int) -> Any:
    import cupy

    src = engine_source(dtype, family, d, nnz)
    return cupy.RawModule(code=src, options=kernels_cuda.NVRTC_OPTIONS)


# Families whose comparator is a sum of a_t computed on the device (``segment_sums``).
DEVICE_SUMS = (base.LINEAR, base.REDDI_STOCH)


def stream_sums(problem: Any, seeds: list[int], ends: np.ndarray) -> np.ndarray:
    """``comparator.stream_sums`` on the device: (S, K, d) sums of a_t up to each end.

    One warp per (seed, coordinate, checkpoint segment), then a cumulative sum over the
    segments on the host: the same sums as the CPU's running sum up to rounding (added
    in another order).
    """
    import cupy

    if problem.family not in DEVICE_SUMS:
        raise ValueError(f"no device stream sums for problem family {problem.family}")
    keys = cupy.asarray(np.array([stream_key(s) for s in seeds], dtype=np.uint64))
    prm = np.ascontiguousarray(np.stack([problem.params(s) for s in seeds]), np.float64)
    S, K, d = len(seeds), len(ends), problem.d
    out = cupy.zeros((S, K, d))
    fn = _module("float64", problem.family, d, problem.nnz).get_function("segment_sums")
    threads = 32 * WARPS_PER_BLOCK
    blocks = -(-S * K * d // WARPS_PER_BLOCK)
    args = (keys, cupy.asarray(prm), np.int32(prm.shape[1]),
            cupy.asarray(np.asarray(ends, np.int64)), np.int32(K), np.int32(S), out)  # fmt: skip
    fn((blocks,), (threads,), args)
    return np.cumsum(out.get().transpose(0, 2, 1), axis=2).transpose(0, 2, 1)


class DeviceBlocks:
    """The engine's per-run arrays on the device, advanced a block of steps per launch.

    Built from the host arrays of ``engine.run`` (copied up once); ``download`` copies
    the device state back into those same host arrays (in place) at a checkpoint.
    """

    def __init__(self, problem: Any, keys: np.ndarray, prm: np.ndarray, host: dict[str, Any]):
        import cupy

        self.problem = problem
        self.host = host
        self.dev = {k: cupy.asarray(v) for k, v in host.items() if isinstance(v, np.ndarray)}
        self.keys = cupy.asarray(keys.astype(np.uint64))
        self.prm = cupy.asarray(np.ascontiguousarray(prm, np.float64))
        x = host["x"]
        self.B, self.d = x.shape
        module = _module(x.dtype.name, problem.family, problem.d, problem.nnz)
        self.kernel = module.get_function("run_block")

    def run(self, t0: int, table: np.ndarray, proj: int) -> None:
        """Advance every run through steps t0 .. t0 + len(table) - 1."""
        import cupy

        n, P, kmax = table.shape
        dev = self.dev
        tab = cupy.asarray(np.ascontiguousarray(table))
        per_block = THREADS_PER_BLOCK // warp_of(self.problem.d)  # runs per thread block
        blocks = (self.B + per_block - 1) // per_block
        args = (
            np.int32(self.problem.loss), self.keys, self.prm, np.int32(self.prm.shape[1]),
            np.int64(t0), np.int32(n), dev["run_seed"], dev["run_point"], dev["kinds"], tab,
            np.int32(P), np.int32(kmax), dev["x"], dev["s0"], dev["s1"], dev["s2"],
            np.int32(proj), np.float64(self.problem.radius), dev["loss_sum"],
            dev["loss_comp"], dev["gsq"], dev["gmax2"], dev["gmaxinf"], dev["xmin"],
            dev["xmax"], dev["tracked"], dev["diverged"], np.int32(self.B),
        )  # fmt: skip
        self.kernel((blocks,), (THREADS_PER_BLOCK,), args)

    def download(self) -> None:
        """Copy the device arrays into the host arrays (in place); waits for the device."""
        for k, arr in self.dev.items():
            if k not in ("run_seed", "run_point", "kinds"):
                self.host[k][...] = arr.get()
