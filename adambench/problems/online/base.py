"""What every online convex problem is: a generated sequence f_t(x) = phi(<a_t, x>, y_t)
on a bounded feasible set F (Reddi et al. section 2, docs/theory.md §2.1 and §4).

Every problem here is a generalised linear loss: step t draws a (sparse) vector a_t,
stored as ``nnz`` (index, value) pairs, and a label y_t from the counter-based stream of
its seed (``streams.py``), and f_t(x) = phi(<a_t, x>, y_t), so

    grad f_t(x) = phi'(z) a_t,    Hess f_t(x) = phi''(z) a_t a_t^T,    z = <a_t, x>.

That one form serves the engine (the gradient fused with the update) and the comparator
(Newton passes over the regenerated stream).  Family and loss are small integers so that
compiled code can dispatch on them (``kernels.py``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

# Families (the data generator) and losses (phi).  Numbers are part of the compiled code.
LINEAR, LOGISTIC, LEAST_SQUARES, HINGE, SPARSE_LOGISTIC, REDDI, REDDI_SYNTH, REDDI_STOCH = range(8)
PHI_LINEAR, PHI_LOGISTIC, PHI_SQUARE, PHI_SQHINGE = range(4)
# Projections onto F: clipping (box: Euclidean and sqrt(V)-weighted coincide), Euclidean
# onto a ball, sqrt(V)-weighted onto a ball (docs/theory.md §2.1: Pi_{F, sqrt(V_t)}).
PROJ_BOX, PROJ_BALL, PROJ_BALL_WEIGHTED = range(3)
PROJECTIONS = ("euclidean", "weighted")


@dataclass(frozen=True)
class Problem:
    """One concrete problem: a family with its dimension, feasible set and parameters.

    ``params(seed)`` gives the float64 vector the generator reads (a teacher, a mean, a
    frequency table): a pure function of the seed, drawn from the stream at t = 0.
    ``constants`` are the a-priori bounds G, G_inf (gradients over F) and D, D_inf
    (diameters of F); the theorems are evaluated on the run's observed constants.
    """

    name: str
    description: str
    family: int
    loss: int
    d: int
    nnz: int
    set_kind: str  # "box" ([-radius, radius]^d) or "ball" (||x||_2 <= radius)
    radius: float
    params: Callable[[int], np.ndarray]
    constants: dict[str, float]
    stochastic: bool = True
    default_lr: float = 0.1
    overrides: dict[str, float] = field(default_factory=dict)
    options: dict[str, Any] = field(default_factory=dict)

    @property
    def linear(self) -> bool:
        """True when every f_t is linear (closed-form comparator)."""
        return self.loss == PHI_LINEAR

    def projection_kind(self, projection: str) -> int:
        """The engine's projection code for ``projection`` (euclidean | weighted)."""
        if projection not in PROJECTIONS:
            raise ValueError(f"projection must be one of {' | '.join(PROJECTIONS)}")
        if self.set_kind == "box":
            return PROJ_BOX
        return PROJ_BALL if projection == "euclidean" else PROJ_BALL_WEIGHTED

    def diameters(self) -> tuple[float, float]:
        """(D, D_inf) of F: the largest L2 and L_inf distance between two points of F."""
        r = self.radius
        if self.set_kind == "box":
            return 2.0 * r * np.sqrt(self.d), 2.0 * r
        return 2.0 * r, 2.0 * r

    def project(self, x: np.ndarray) -> np.ndarray:
        """Euclidean projection onto F (NumPy; the engine has its own compiled one)."""
        if self.set_kind == "box":
            return np.clip(x, -self.radius, self.radius)
        n = np.linalg.norm(x, axis=-1, keepdims=True)
        return x * np.minimum(1.0, self.radius / np.maximum(n, 1e-300))

    def linear_min(self, s: np.ndarray) -> tuple[float, np.ndarray]:
        """min over F of <s, x> and a minimiser (the comparator of a linear problem)."""
        if self.set_kind == "box":
            x = -self.radius * np.sign(s)
            return float(-self.radius * np.abs(s).sum()), x
        n = float(np.linalg.norm(s))
        x = -self.radius * s / n if n > 0 else np.zeros_like(s)
        return -self.radius * n, x

    def gap(self, g: np.ndarray, x: np.ndarray) -> float:
        """Frank-Wolfe gap max_{y in F} <g, x - y> >= f(x) - min_F f for convex f.

        A certified bound on the comparator's error, from the gradient g at x.
        """
        if self.set_kind == "box":
            return float(g @ x + self.radius * np.abs(g).sum())
        return float(g @ x + self.radius * np.linalg.norm(g))

    def describe(self) -> dict[str, Any]:
        """A JSON-ready summary: name, description, dimension, set, constants, options."""
        return {
            "name": self.name,
            "description": self.description,
            "d": self.d,
            "nnz_per_step": self.nnz,
            "feasible_set": f"{self.set_kind}(radius={self.radius:g})",
            "stochastic": self.stochastic,
            "constants": dict(self.constants),
            "options": dict(self.options),
        }


def box_constants(g_inf_coords: np.ndarray, radius: float, d: int) -> dict[str, float]:
    """G, G_inf from per-coordinate gradient bounds, D, D_inf of the box [-r, r]^d."""
    return {
        "G": float(np.linalg.norm(g_inf_coords)),
        "G_inf": float(np.max(g_inf_coords)),
        "D": 2.0 * radius * float(np.sqrt(d)),
        "D_inf": 2.0 * radius,
    }


def check_dim(d: int, lo: int = 1, hi: int = 100_000) -> int:
    """Validate a dimension; ValueError naming the range."""
    if isinstance(d, bool) or int(d) != d or not lo <= d <= hi:
        raise ValueError(f"dim must be an integer in [{lo}, {hi}], got {d!r}")
    return int(d)
