"""The regret engine's inner loop on a CUDA device: one launch advances every run a block.

The GPU twin of ``engine_kernels.run_block`` (read that first): for each step of the
block every run plays x_t, regenerates f_t from its seed's counter-based stream
(``streams.py``: SplitMix64 of (key, t, index), the same integer arithmetic, so a CPU and
a GPU run see the same a_t and y_t), takes g_t = phi'(<a_t, x_t>) a_t, applies its rule's
update (the ``<kernel>_step`` device functions generated from ``core.kernels_cuda``'s
STEP_BODIES, i.e. the same per-element math as the CPU kernels), projects onto F and
accumulates the same statistics (Kahan sum of f_t(x_t), sum_t g_{t,i}^2, max ||g_t||_2^2,
max ||g_t||_inf, the bounding box of the played points, AMSGrad's Thm 4 middle term).

One warp per run, each lane holding ceil(d / 32) coordinates of x and of the states in
registers for the whole block (d is small); the sums <a_t, x_t> and ||a_t||^2 are warp
reductions, so they are added in another order than the CPU's sequential loop: results
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
from typing import Any

import numpy as np

from ...core import kernels_cuda
from ...core.kernels_cpu import KINDS
from . import base, hinge, least_squares, linear, logistic, reddi, sparse_logistic

WARPS_PER_BLOCK = 4

_DEVICE_CODE = r"""
#define FULL 0xffffffffu
typedef unsigned long long u64;

// streams.py: SplitMix64 finaliser of a Weyl counter built from (key, t, index).
__device__ __forceinline__ u64 mix(u64 z) {
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}
__device__ __forceinline__ double uniform(u64 key, long long t, long long i) {
    u64 z = key + (u64)t * 0xD1B54A32D192ED03ull + (u64)i * 0x8CB92BA72F3D8DD7ull;
    return (double)(mix(mix(z) + 0x9E3779B97F4A7C15ull) >> 11) * 1.1102230246251565e-16;  // 2^-53
}
__device__ __forceinline__ double pymaxd(double a, double b) { return b > a ? b : a; }

// Warp sum over the lanes that hold coordinates, then lane 0's value to every lane.
__device__ __forceinline__ double wsum(double v) {
#pragma unroll
    for (int off = 16; off >= 1; off >>= 1) {
        if (off < LANES) v += __shfl_xor_sync(FULL, v, off);
    }
    return __shfl_sync(FULL, v, 0);
}
__device__ __forceinline__ double wmax(double v) {
#pragma unroll
    for (int off = 16; off >= 1; off >>= 1) {
        if (off < LANES) v = pymaxd(v, __shfl_xor_sync(FULL, v, off));
    }
    return __shfl_sync(FULL, v, 0);
}

// (phi, phi') of the loss at z with label y (kernels.phi and the family modules).
__device__ __forceinline__ void phi(int loss, double z, double y, double& f, double& df) {
    if (loss == PHI_LINEAR) { f = z; df = 1.0; return; }
    if (loss == PHI_LOGISTIC) {
        const double m = -y * z;
        double s;
        if (m > 0.0) { f = m + log1p(exp(-m)); s = 1.0 / (1.0 + exp(-m)); }
        else { const double e = exp(m); f = log1p(e); s = e / (1.0 + e); }
        df = -y * s;
        return;
    }
    if (loss == PHI_SQUARE) { const double r = z - y; f = 0.5 * r * r; df = r; return; }
    const double h = 1.0 - y * z;  // squared hinge
    if (h <= 0.0) { f = 0.0; df = 0.0; } else { f = h * h; df = -2.0 * y * h; }
}

// The rule's per-coordinate denominator, the diagonal of sqrt(V_t) (engine_kernels._weight).
__device__ __forceinline__ double weight(int kind, T a0, T a1, T a2, const T* c) {
    if (kind == K_ADAM) return sqrt((double)a1) * c[5] + c[6];
    if (kind == K_AMSGRAD) return sqrt((double)a2) * c[5] + c[6];
    if (kind == K_ADAMAX) return (double)a1;
    if (kind == K_ADAGRAD) return sqrt((double)a0) + c[1];
    if (kind == K_RMSPROP) {
        if (c[6] != 0) return sqrt((double)a0 + c[4]);
        return sqrt((double)a0) + c[4];
    }
    return 1.0;
}

__device__ __forceinline__ void rule_step(int kind, T& p, T g, T& a0, T& a1, T& a2,
                                          const T* c) {
    switch (kind) {
        case K_ADAM: adam_step(p, g, a0, a1, a2, c); break;
        case K_AMSGRAD: amsgrad_step(p, g, a0, a1, a2, c); break;
        case K_ADAMAX: adamax_step(p, g, a0, a1, a2, c); break;
        case K_ADAGRAD: adagrad_step(p, g, a0, a1, a2, c); break;
        case K_RMSPROP: rmsprop_step(p, g, a0, a1, a2, c); break;
        default: sgd_step(p, g, a0, a1, a2, c);
    }
}

extern "C" __global__ void run_block(
    const int loss, const u64* __restrict__ keys, const double* __restrict__ prm,
    const int plen, const long long t0, const int n,
    const long long* __restrict__ run_seed, const long long* __restrict__ run_point,
    const long long* __restrict__ kinds, const T* __restrict__ table, const int P,
    const int kmax, T* x, T* s0, T* s1, T* s2, const int proj, const double radius,
    double* loss_sum, double* loss_comp, double* gsq, double* gmax2, double* gmaxinf,
    double* xmin, double* xmax, double* ams_acc, bool* diverged, const int B)
{
    const int r = (int)((blockIdx.x * blockDim.x + threadIdx.x) / WARP);
    const int lane = (int)(threadIdx.x % WARP);
    if (r >= B || diverged[r]) return;  // whole warps: r is uniform across a warp
    const long long s = run_seed[r];
    const int kind = (int)kinds[r];
    const long long pt = run_point[r];
    const u64 key = keys[s];
    const double* pr = prm + s * plen;

    T xr[PER], a0[PER], a1[PER], a2[PER];
    double sq[PER], lo[PER], hi[PER], w[PER];
    bool own[PER];
#pragma unroll
    for (int q = 0; q < PER; ++q) {
        const int i = lane + WARP * q;
        own[q] = i < D;
        const long long o = (long long)r * D + (own[q] ? i : 0);
        xr[q] = own[q] ? x[o] : (T)0;
        a0[q] = own[q] ? s0[o] : (T)0;
        a1[q] = own[q] ? s1[o] : (T)0;
        a2[q] = own[q] ? s2[o] : (T)0;
        sq[q] = own[q] ? gsq[o] : 0.0;
        lo[q] = own[q] ? xmin[o] : 0.0;
        hi[q] = own[q] ? xmax[o] : 0.0;
    }
    double total = loss_sum[r], comp = loss_comp[r];
    double g2max = gmax2[r], ginf = gmaxinf[r], acc_ams = ams_acc[r];
    bool dead = false;

    for (int k = 0; k < n; ++k) {
        const long long t = t0 + k;
        // the played point x_t: its bounding box, and a divergence check
        bool bad = false;
#pragma unroll
        for (int q = 0; q < PER; ++q) {
            if (!own[q]) continue;
            const double xi = (double)xr[q];
            if (xi < lo[q]) lo[q] = xi;
            if (xi > hi[q]) hi[q] = xi;
            if (!isfinite(xi)) bad = true;
        }
        bad = __any_sync(FULL, bad);
        // a_t (value per owned coordinate: av), the label y_t, z = <a_t, x_t>
        double av[PER];
        double zt = 0.0, zx = 0.0, asq = 0.0, amax = 0.0, y = 0.0;
#if FAMILY == F_SPARSE_LOGISTIC
        int idx[NNZ];
        {
            int draw = 0;
            double zteach = 0.0;
            for (int j = 0; j < NNZ; ++j) {
                int cc;
                while (true) {
                    const double u = uniform(key, t, draw);
                    draw += 1;
                    int lo_i = 0, hi_i = D;  // searchsorted(cdf, u, side="right")
                    while (lo_i < hi_i) {
                        const int mid = (lo_i + hi_i) >> 1;
                        if (pr[mid] <= u) lo_i = mid + 1; else hi_i = mid;
                    }
                    cc = lo_i < D - 1 ? lo_i : D - 1;
                    bool fresh = true;
                    for (int q2 = 0; q2 < j; ++q2) if (idx[q2] == cc) fresh = false;
                    if (fresh) break;
                }
                idx[j] = cc;
                zteach += pr[D + cc];
            }
            const double pp = 1.0 / (1.0 + exp(-zteach));
            y = uniform(key, t, LABEL_INDEX) < pp ? 1.0 : -1.0;
        }
#pragma unroll
        for (int q = 0; q < PER; ++q) {
            av[q] = 0.0;
            for (int j = 0; j < NNZ; ++j) if (idx[j] == lane + WARP * q) av[q] = 1.0;
            if (own[q]) { zx += av[q] * (double)xr[q]; }
        }
        zx = wsum(zx);
        asq = NNZ;
        amax = 1.0;
#elif FAMILY == F_REDDI || FAMILY == F_REDDI_SYNTH || FAMILY == F_REDDI_STOCH
#if FAMILY == F_REDDI
        av[0] = (t % 3 == 1) ? pr[0] : -1.0;
#elif FAMILY == F_REDDI_SYNTH
        av[0] = (t % REDDI_PERIOD == 1) ? REDDI_BIG : REDDI_SMALL;
#else
        av[0] = uniform(key, t, 0) < REDDI_PROB ? REDDI_BIG : REDDI_SMALL;
#endif
        zx = __shfl_sync(FULL, av[0] * (double)xr[0], 0);
        asq = av[0] * av[0];
        amax = fabs(av[0]);
#else  // dense: linear, logistic, least-squares, hinge
#pragma unroll
        for (int q = 0; q < PER; ++q) {
            av[q] = 0.0;
            if (!own[q]) continue;
            const int i = lane + WARP * q;
            const double u = uniform(key, t, i);
#if FAMILY == F_LINEAR
            av[q] = pr[i] + 2.0 * u - 1.0;
#else
            av[q] = 2.0 * u - 1.0;
            zt += pr[i] * av[q];
#endif
            zx += av[q] * (double)xr[q];
            asq += av[q] * av[q];
            amax = pymaxd(amax, fabs(av[q]));
        }
        zx = wsum(zx);
        asq = wsum(asq);
        amax = wmax(amax);
#if FAMILY == F_LOGISTIC
        zt = wsum(zt);
        y = uniform(key, t, D) < 1.0 / (1.0 + exp(-zt)) ? 1.0 : -1.0;
#elif FAMILY == F_LEAST_SQUARES
        zt = wsum(zt);
        y = zt + pr[D] * LS_SQRT3 * (2.0 * uniform(key, t, D) - 1.0);
#elif FAMILY == F_HINGE
        zt = wsum(zt);
        y = zt >= 0.0 ? 1.0 : -1.0;
        if (uniform(key, t, D) < pr[D]) y = -y;
#endif
#endif
        double f, df;
        phi(loss, zx, y, f, df);
        if (bad || !isfinite(f)) { dead = true; break; }
        const double yk = f - comp;  // Kahan summation of f_t(x_t)
        const double tk = total + yk;
        comp = (tk - total) - yk;
        total = tk;
        g2max = pymaxd(g2max, df * df * asq);
        ginf = pymaxd(ginf, fabs(df) * amax);
        const T* c = table + ((long long)k * P + pt) * kmax;
        double amsum = 0.0;
#pragma unroll
        for (int q = 0; q < PER; ++q) {
            if (!own[q]) continue;
#if FAMILY == F_SPARSE_LOGISTIC
            const double gj = av[q] != 0.0 ? df * av[q] : 0.0;  // inactive: +0, as the CPU
#else
            const double gj = df * av[q];
#endif
            sq[q] += gj * gj;
            rule_step(kind, xr[q], (T)gj, a0[q], a1[q], a2[q], c);
        }
        // projection onto F
        if (proj == PROJ_BOX) {
#pragma unroll
            for (int q = 0; q < PER; ++q) {
                if (!own[q]) continue;
                if (xr[q] < -radius) xr[q] = (T)(-radius);
                else if (xr[q] > radius) xr[q] = (T)radius;
            }
        } else {
            const double r2 = radius * radius;
            double n2 = 0.0;
#pragma unroll
            for (int q = 0; q < PER; ++q) if (own[q]) n2 += (double)xr[q] * (double)xr[q];
            n2 = wsum(n2);
            if (n2 > r2) {
                double wm = 0.0;
                if (proj != PROJ_BALL && kind != K_SGD) {
#pragma unroll
                    for (int q = 0; q < PER; ++q) {
                        w[q] = own[q] ? weight(kind, a0[q], a1[q], a2[q], c) : 0.0;
                        wm = pymaxd(wm, w[q]);
                    }
                    wm = wmax(wm);
                }
                if (wm <= 0.0 || !isfinite(wm)) {
                    const double scale = radius / sqrt(n2);
#pragma unroll
                    for (int q = 0; q < PER; ++q) if (own[q]) xr[q] = (T)((double)xr[q] * scale);
                } else {
                    double mu = 0.0;
                    for (int it = 0; it < 200; ++it) {
                        double h = 0.0, dh = 0.0;
#pragma unroll
                        for (int q = 0; q < PER; ++q) {
                            if (own[q] && w[q] > 0.0) {
                                const double qq = w[q] / (w[q] + mu);
                                const double yi = (double)xr[q];
                                h += qq * qq * yi * yi;
                                dh -= 2.0 * qq * qq * yi * yi / (w[q] + mu);
                            }
                        }
                        h = wsum(h) - r2;
                        dh = wsum(dh);
                        if (h <= 1e-15 * r2 || dh >= 0.0) break;
                        const double st = -h / dh;
                        if (st <= 1e-16 * mu) break;
                        mu += st;
                    }
                    n2 = 0.0;
#pragma unroll
                    for (int q = 0; q < PER; ++q) {
                        if (!own[q]) continue;
                        const double xi = w[q] > 0.0 ? w[q] * (double)xr[q] / (w[q] + mu) : 0.0;
                        xr[q] = (T)xi;
                        n2 += (double)xr[q] * (double)xr[q];
                    }
                    n2 = wsum(n2);
                    if (n2 > r2) {
                        const double scale = radius / sqrt(n2);
#pragma unroll
                        for (int q = 0; q < PER; ++q)
                            if (own[q]) xr[q] = (T)((double)xr[q] * scale);
                    }
                }
            }
        }
        if (kind == K_AMSGRAD && c[4] > 0) {
#pragma unroll
            for (int q = 0; q < PER; ++q) if (own[q]) amsum += sqrt((double)a2[q]);
            acc_ams += (double)c[0] * wsum(amsum) / (double)c[4];
        }
    }
#pragma unroll
    for (int q = 0; q < PER; ++q) {
        if (!own[q]) continue;
        const long long o = (long long)r * D + lane + WARP * q;
        x[o] = xr[q]; s0[o] = a0[q]; s1[o] = a1[q]; s2[o] = a2[q];
        gsq[o] = sq[q]; xmin[o] = lo[q]; xmax[o] = hi[q];
    }
    if (lane == 0) {
        loss_sum[r] = total; loss_comp[r] = comp;
        gmax2[r] = g2max; gmaxinf[r] = ginf; ams_acc[r] = acc_ams;
        if (dead) diverged[r] = true;
    }
}
"""


def _defines(family: int, d: int, nnz: int, warp: int) -> str:
    """Compile-time constants: sizes, family and loss codes (base.py), kernels (KINDS)."""
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
    for kernel, code in KINDS.items():
        consts[f"K_{kernel.upper()}"] = code
    return "".join(f"#define {k} {v}\n" for k, v in consts.items())


def engine_source(dtype: str, family: int, d: int, nnz: int) -> str:
    """The whole CUDA module: the update step functions, then the fused engine kernel."""
    update = kernels_cuda.cuda_source(dtype)
    return _defines(family, d, nnz, 32) + update + _DEVICE_CODE


_HOST_SHIM = """#include <cmath>
using std::exp; using std::log1p; using std::isfinite;
#define __global__
#define __restrict__
struct HostDim { unsigned x; };
static HostDim blockIdx, threadIdx, blockDim;
#define __shfl_xor_sync(mask, v, off) (v)
#define __shfl_sync(mask, v, lane) (v)
#define __any_sync(mask, b) (b)
"""


def host_engine_source(dtype: str, family: int, d: int, nnz: int) -> str:
    """The same kernel as C++ for the host with a "warp" of one lane (for tests only).

    With WARP = 1 one thread holds all d coordinates and every warp reduction is the
    identity, so ``host_run_block`` (the kernel called once per run) checks the stream
    hash, samplers, losses, update dispatch, projections and statistics against the
    numba engine on a machine without a GPU; only the lane split and the shuffles are
    left to the device tests.
    """
    update = kernels_cuda.host_source(dtype).replace("#include <cmath>", "")
    wrapper = _DEVICE_CODE.split('extern "C" __global__ void run_block(')[1].split(")")[0]
    names = [a.split()[-1].lstrip("*") for a in wrapper.split(",")]
    loop = (
        'extern "C" void host_run_block(' + wrapper + ") {\n"
        "    blockDim.x = 1; threadIdx.x = 0;\n"
        "    for (int rr = 0; rr < B; ++rr) { blockIdx.x = rr; run_block("
        + ", ".join(names)
        + "); }\n}\n"
    )
    return _HOST_SHIM + _defines(family, d, nnz, 1) + update + _DEVICE_CODE + loop


# The family modules whose samplers this port transcribes (kept imported so a rename fails).
_PORTED = (linear, logistic, least_squares, hinge, sparse_logistic, reddi)


@cache
def _kernel(dtype: str, family: int, d: int, nnz: int) -> Any:
    import cupy

    src = engine_source(dtype, family, d, nnz)
    module = cupy.RawModule(code=src, options=kernels_cuda.NVRTC_OPTIONS)
    return module.get_function("run_block")


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
        self.kernel = _kernel(x.dtype.name, problem.family, problem.d, problem.nnz)

    def run(self, t0: int, table: np.ndarray, proj: int) -> None:
        """Advance every run through steps t0 .. t0 + len(table) - 1."""
        import cupy

        n, P, kmax = table.shape
        dev = self.dev
        tab = cupy.asarray(np.ascontiguousarray(table))
        threads = 32 * WARPS_PER_BLOCK
        blocks = (self.B + WARPS_PER_BLOCK - 1) // WARPS_PER_BLOCK
        args = (
            np.int32(self.problem.loss), self.keys, self.prm, np.int32(self.prm.shape[1]),
            np.int64(t0), np.int32(n), dev["run_seed"], dev["run_point"], dev["kinds"], tab,
            np.int32(P), np.int32(kmax), dev["x"], dev["s0"], dev["s1"], dev["s2"],
            np.int32(proj), np.float64(self.problem.radius), dev["loss_sum"],
            dev["loss_comp"], dev["gsq"], dev["gmax2"], dev["gmaxinf"], dev["xmin"],
            dev["xmax"], dev["ams_acc"], dev["diverged"], np.int32(self.B),
        )  # fmt: skip
        self.kernel((blocks,), (threads,), args)

    def download(self) -> None:
        """Copy the device arrays into the host arrays (in place); waits for the device."""
        for k, arr in self.dev.items():
            if k not in ("run_seed", "run_point", "kinds"):
                self.host[k][...] = arr.get()
