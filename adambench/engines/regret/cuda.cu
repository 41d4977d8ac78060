// The regret engine's CUDA device code (read by cuda.py, which prepends the compile-time
// #defines, the update-rule functions of core/kernels_cuda.py and the dispatch over them by
// kernel number: rule_step, weight, weighted, tracks, track_term, track_add).
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

// Warp sum over the lanes that hold coordinates, then lane 0's value to every lane.  With
// WARP == 1 (a thread per run, for the 1-D problems) a thread holds every coordinate and
// its own sum is the run's: no shuffle, and threads of one hardware warp are other runs.
__device__ __forceinline__ double wsum(double v) {
#if WARP > 1
#pragma unroll
    for (int off = 16; off >= 1; off >>= 1) {
        if (off < LANES) v += __shfl_xor_sync(FULL, v, off);
    }
    return __shfl_sync(FULL, v, 0);
#else
    return v;
#endif
}
__device__ __forceinline__ double wmax(double v) {
#if WARP > 1
#pragma unroll
    for (int off = 16; off >= 1; off >>= 1) {
        if (off < LANES) v = pymaxd(v, __shfl_xor_sync(FULL, v, off));
    }
    return __shfl_sync(FULL, v, 0);
#else
    return v;
#endif
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

extern "C" __global__ void run_block(
    const int loss, const u64* __restrict__ keys, const double* __restrict__ prm,
    const int plen, const long long t0, const int n,
    const long long* __restrict__ run_seed, const long long* __restrict__ run_point,
    const long long* __restrict__ kinds, const T* __restrict__ table, const int P,
    const int kmax, T* x, T* s0, T* s1, T* s2, const int proj, const double radius,
    double* loss_sum, double* loss_comp, double* gsq, double* gmax2, double* gmaxinf,
    double* xmin, double* xmax, double* tracked, bool* diverged, const int B)
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
    double g2max = gmax2[r], ginf = gmaxinf[r], acc_track = tracked[r];
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
#if WARP > 1
        bad = __any_sync(FULL, bad);
#endif
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
#if WARP > 1
        zx = __shfl_sync(FULL, av[0] * (double)xr[0], 0);
#else
        zx = av[0] * (double)xr[0];
#endif
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
        double amsum = 0.0;  // the tracked statistic's sum over coordinates
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
                if (proj != PROJ_BALL && weighted(kind)) {
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
        if (tracks(kind, c)) {  // a theorem's per-step statistic (Kernel.track)
#pragma unroll
            for (int q = 0; q < PER; ++q) if (own[q]) amsum += track_term(kind, a0[q], a1[q], a2[q]);
            acc_track += track_add(kind, wsum(amsum), c);
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
        gmax2[r] = g2max; gmaxinf[r] = ginf; tracked[r] = acc_track;
        if (dead) diverged[r] = true;
    }
}

#if FAMILY == F_LINEAR || FAMILY == F_REDDI_STOCH
// The linear comparator's pass (comparator.stream_sums): sum of a_t over the steps of one
// checkpoint segment (ends[k-1], ends[k]] for one (seed, coordinate), one warp each, its
// 32 lanes striding over t, then a warp sum.  The host adds the segments up.
extern "C" __global__ void segment_sums(const u64* __restrict__ keys,
    const double* __restrict__ prm, const int plen, const long long* __restrict__ ends,
    const int K, const int S, double* out)
{
    const long long w = ((long long)blockIdx.x * blockDim.x + threadIdx.x) / 32;
    const int lane = (int)(threadIdx.x % 32);
    if (w >= (long long)S * D * K) return;  // whole warps
    const int k = (int)(w % K);
    const int i = (int)((w / K) % D);
    const int s = (int)(w / ((long long)K * D));
    const u64 key = keys[s];
    const long long lo = k == 0 ? 1 : ends[k - 1] + 1;
    double acc = 0.0;
    for (long long t = lo + lane; t <= ends[k]; t += 32) {
#if FAMILY == F_LINEAR
        acc += prm[(long long)s * plen + i] + 2.0 * uniform(key, t, i) - 1.0;
#else
        acc += uniform(key, t, 0) < REDDI_PROB ? REDDI_BIG : REDDI_SMALL;
#endif
    }
#pragma unroll
    for (int off = 16; off >= 1; off >>= 1) acc += __shfl_xor_sync(FULL, acc, off);
    if (lane == 0) out[((long long)s * K + k) * D + i] = acc;
}
#endif
