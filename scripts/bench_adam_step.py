"""Time one Adam step at N = 1e7 float32: adambench vs textbook NumPy vs torch.optim.

All contenders run in this one process on the same machine, interleaved round by round,
so their ratios are comparable even where absolute times drift.  Usage::

    python scripts/bench_adam_step.py [--n 1e7] [--repeats 30] [--threads 0]

(``--threads 0`` keeps numba's and torch's defaults; 1 gives single-thread figures.)
"""

from __future__ import annotations

import argparse
import time

import numpy as np

import adambench


def textbook_adam(lr=1e-3, b1=0.9, b2=0.999, eps=1e-8):
    """Algorithm 1 as a user writes it in NumPy: one expression per line."""
    t = 0
    m = v = None

    def step(p, g):
        nonlocal t, m, v
        if m is None:
            m, v = np.zeros_like(p), np.zeros_like(p)
        t += 1
        m = b1 * m + (1 - b1) * g
        v = b2 * v + (1 - b2) * g * g
        m_hat = m / (1 - b1**t)
        v_hat = v / (1 - b2**t)
        p -= lr * m_hat / (np.sqrt(v_hat) + eps)

    return step


def contenders(n: int, rng: np.random.Generator) -> dict:
    p0 = rng.standard_normal(n, dtype=np.float32)
    g = rng.standard_normal(n, dtype=np.float32)
    out = {}

    opt = adambench.make_optimizer("adam")
    p1 = p0.copy()
    st = opt.init(p1)
    out["adambench (numba, fused)"] = lambda: opt.step(p1, g, st)

    p2 = p0.copy()
    tb = textbook_adam()
    out["textbook NumPy"] = lambda: tb(p2, g)

    try:
        import torch
    except ImportError:
        return out
    for label, kw in (
        ("fused=True", {"fused": True}),
        ("foreach=True", {"foreach": True}),
        ("single-tensor", {"foreach": False}),
    ):
        tp = torch.nn.Parameter(torch.from_numpy(p0.copy()))
        tp.grad = torch.from_numpy(g.copy())
        topt = torch.optim.Adam([tp], **kw)
        out[f"torch.optim.Adam {label}"] = topt.step
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=float, default=1e7)
    ap.add_argument("--repeats", type=int, default=30)
    ap.add_argument("--threads", type=int, default=0)
    args = ap.parse_args()
    n = int(args.n)
    if args.threads:
        import numba

        numba.set_num_threads(args.threads)
        try:
            import torch

            torch.set_num_threads(args.threads)
        except ImportError:
            pass
    fns = contenders(n, np.random.default_rng(0))
    samples = {k: [] for k in fns}
    for f in fns.values():  # warm-up: compilation and first-touch page faults
        f()
        f()
    for _ in range(args.repeats):
        for k, f in fns.items():
            t0 = time.perf_counter()
            f()
            samples[k].append(time.perf_counter() - t0)
    ours = np.median(samples["adambench (numba, fused)"])
    print(
        f"Adam step, N = {n:.0e} float32, {args.repeats} repeats, threads = "
        f"{args.threads or 'default'}"
    )
    print(f"{'contender':32s} {'median ms':>10s} {'IQR ms':>8s} {'vs adambench':>13s}")
    for k, s in samples.items():
        q1, med, q3 = np.percentile(s, [25, 50, 75])
        print(f"{k:32s} {med * 1e3:10.2f} {(q3 - q1) * 1e3:8.2f} {med / ours:12.2f}x")
    print(f"adambench: {28 * n / ours / 1e9:.1f} GB/s effective (Adam moves 28 B/param)")


if __name__ == "__main__":
    main()
