"""The regret engine's path for a rule without a compiled kernel: its reference step.

A rule that has no fused kernel (a plugin's NumPy rule, ``core.registry.implementation``)
cannot run inside ``cpu.run_block``.  Its runs advance here, through the same blocks of
the same data (``generate.gen_block``) and into the same accumulators, one step at a
time for all of its runs together: a compiled pass plays x_t, reveals f_t and forms the
gradient exactly as ``run_block`` does (the bounding box of the played points, the Kahan
sum of the losses, sum_t g_{t,i}^2, max ||g_t||_2^2 and ||g_t||_inf, divergence), the
rule's ``reference(p, g, state, hp, t)`` updates the (runs, d) iterates in place in the
run dtype, and a compiled pass projects onto F (docs/theory.md §2.1).  The rule has no
preconditioner weight (``Kernel.weight``), so on a ball the projection is Euclidean, as
``run_block`` does for every rule with V_t = I.  Slower than a fused kernel (a few NumPy
calls per step), and equal to a plain per-step loop of the reference step and the
projection (tests/core/test_plugin_commands.py).
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numba import njit

from ...core.spec import Rule
from ...problems.online.base import PROJ_BOX
from ...problems.online.generate import phi
from .cpu import widen_box

_JIT = dict(cache=True, nogil=True, error_model="numpy")


@njit(**_JIT)
def _reveal(loss, k, idx, val, yv, seeds, x, g, xmin, xmax, total, comp, gsq, gmax2, gmaxinf,
            diverged):  # fmt: skip
    """Step k of the block for every run: play x (box, divergence), f_t, g_t (dense, zero
    elsewhere), the accumulators; as ``cpu.run_block``, in its order of operations."""
    R, d = x.shape
    nnz = idx.shape[2]
    for r in range(R):
        for i in range(d):
            g[r, i] = 0.0
        if diverged[r]:
            continue
        bad = widen_box(x[r], r, xmin, xmax)
        s = seeds[r]
        z = 0.0
        for j in range(nnz):
            z += val[s, k, j] * np.float64(x[r, idx[s, k, j]])
        f, df, _ = phi(loss, z, yv[s, k])
        if bad or not np.isfinite(f):
            diverged[r] = True
            continue
        yk = f - comp[r]
        tk = total[r] + yk
        comp[r] = (tk - total[r]) - yk
        total[r] = tk
        n2 = 0.0
        ninf = 0.0
        for j in range(nnz):
            gj = df * val[s, k, j]
            g[r, idx[s, k, j]] = gj
            gsq[r, idx[s, k, j]] += gj * gj
            n2 += gj * gj
            ninf = max(ninf, abs(gj))
        gmax2[r] = max(gmax2[r], n2)
        gmaxinf[r] = max(gmaxinf[r], ninf)


@njit(**_JIT)
def _project(proj, x, radius, diverged):
    """Clip to the box, or scale into the ball (Euclidean), every run that goes on."""
    R, d = x.shape
    for r in range(R):
        if diverged[r]:
            continue
        if proj == PROJ_BOX:
            for i in range(d):
                if x[r, i] < -radius:
                    x[r, i] = -radius
                elif x[r, i] > radius:
                    x[r, i] = radius
            continue
        n2 = 0.0
        for i in range(d):
            n2 += np.float64(x[r, i]) * np.float64(x[r, i])
        if n2 > radius * radius:
            scale = radius / np.sqrt(n2)
            for i in range(d):
                x[r, i] = x[r, i] * scale


class ReferenceRuns:
    """The runs ``runs`` (indices into the engine's batch) of one rule without a kernel,
    with their hyperparameters (per-run vectors, ``engine._groups``) and their state."""

    def __init__(self, rule: Rule, runs: np.ndarray, hp: dict[str, Any], d: int, ft: Any):
        self.rule, self.runs = rule, runs
        self.hp = {k: v for k, v in hp.items() if k != "points"}
        self.state: dict[str, np.ndarray] = {}
        for name in rule.buffers(self.hp):
            buf = np.zeros((len(runs), d), ft)
            start = rule.initial.get(name)
            if start is not None:
                buf[...] = np.asarray(self.hp[start], np.float64).reshape(-1, 1)
            self.state[name] = buf

    def advance(self, t: int, loss: int, idx: np.ndarray, val: np.ndarray, yv: np.ndarray,
                proj: int, radius: float, batch: dict[str, np.ndarray]) -> None:  # fmt: skip
        """Steps t .. t+n-1 (n = yv.shape[1]) on the block's data; ``batch`` holds the
        engine's (B, ...) arrays (x, run_seed and the accumulators), updated in place."""
        r = self.runs
        x = np.ascontiguousarray(batch["x"][r])
        acc = {k: np.ascontiguousarray(batch[k][r]) for k in _ACCUMULATORS}
        seeds = batch["run_seed"][r]
        g = np.zeros_like(x)
        for k in range(yv.shape[1]):
            dead = acc["diverged"]
            _reveal(loss, k, idx, val, yv, seeds, x, g, acc["xmin"], acc["xmax"],
                    acc["loss_sum"], acc["loss_comp"], acc["gsq"], acc["gmax2"], acc["gmaxinf"],
                    dead)  # fmt: skip
            if dead.all():
                break
            if dead.any():  # a diverged run keeps its last point and state
                keep = ~dead
                p, grad = x[keep], g[keep]
                state = {n: b[keep] for n, b in self.state.items()}
                self.rule.reference(p, grad, state, self._rows(keep), t + k)
                x[keep] = p
                for n, b in state.items():
                    self.state[n][keep] = b
            else:
                self.rule.reference(x, g, self.state, self.hp, t + k)
            _project(proj, x, radius, dead)
        batch["x"][r] = x
        for k, v in acc.items():
            batch[k][r] = v

    def _rows(self, keep: np.ndarray) -> dict[str, Any]:
        """The hyperparameters of the runs in ``keep`` (per-run vectors cut to them)."""
        return {
            k: v[keep] if isinstance(v, np.ndarray) and v.size == keep.size > 1 else v
            for k, v in self.hp.items()
        }


_ACCUMULATORS = (
    "xmin", "xmax", "loss_sum", "loss_comp", "gsq", "gmax2", "gmaxinf", "diverged"
)  # fmt: skip
