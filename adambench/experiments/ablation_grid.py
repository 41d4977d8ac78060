"""The grid of the bias-correction ablation (Kingma & Ba section 6.4, Figure 4).

A point is (beta1, beta2, log10 alpha), and both variants, Adam with (Algorithm 1) and
without (``adam-nobias``) the bias corrections, run every point: beta1 in {0, 0.9},
beta2 in {0.99, 0.999, 0.9999}, log10(alpha) in {-5, ..., -1} by default, each for a
short and a long budget of epochs (10 and 100 in the paper).  ``grid_points`` gives the
points in table order, the order of every row the ablation writes.
"""

from __future__ import annotations

import itertools
from dataclasses import asdict, dataclass
from typing import Any

VARIANTS = ("adam", "adam-nobias")


@dataclass(frozen=True)
class AblationConfig:
    """The grid and budgets of ``adambench ablate bias-correction``."""

    task: str = "vae"
    beta1: tuple[float, ...] = (0.0, 0.9)
    beta2: tuple[float, ...] = (0.99, 0.999, 0.9999)
    log10_lr: tuple[float, ...] = (-5.0, -4.0, -3.0, -2.0, -1.0)
    short_epochs: int = 10
    long_epochs: int = 100
    seeds: tuple[int, ...] = (0, 1, 2)  # each seed is analysed on its own (``findings``)
    batch_size: int = 128
    dtype: str = "float32"
    width: float = 0.25
    backend: str = "numpy"  # numpy | cupy: where the runs train


def grid_points(cfg: AblationConfig) -> list[tuple[float, float, float]]:
    """(beta1, beta2, log10 lr) for every point, in table order."""
    return list(itertools.product(cfg.beta1, cfg.beta2, cfg.log10_lr))


def config_dict(cfg: AblationConfig) -> dict[str, Any]:
    return asdict(cfg)
