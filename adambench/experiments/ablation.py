"""The bias-correction ablation of Kingma & Ba section 6.4 (Figure 4; docs/theory.md §1.7).

Grid: beta1 in {0, 0.9}, beta2 in {0.99, 0.999, 0.9999}, log10(alpha) in {-5, ..., -1},
Adam with (Algorithm 1) and without (``adam-nobias``) the bias corrections
m_hat = m / (1 - beta1^t), v_hat = v / (1 - beta2^t) (section 3, docs/theory.md §1.4).  The
loss after a short and a long budget of epochs is the number Figure 4 plots (10 and 100
epochs in the paper).  All 30 grid points of one variant train as one batch, with
beta1, beta2 and alpha as per-run vectors, so every point sees the same initialisation
and minibatches (per seed).

Paper's finding, as three claims: (1) without correction, beta2 close to 1 is unstable
(worst early in training); (2) the best results come with small 1 - beta2 *and* the
correction; (3) Adam (corrected) is as good as or better than the uncorrected variant for
every setting.  ``findings`` decides each claim on every seed separately (each seed with
its own tolerance) and calls a claim only when the seeds agree (``unanimous``): gaps far
below the tolerance flip from seed to seed and decide nothing.

Here: training the grid (``run_ablation``).  The grid and its configuration are
``ablation_grid.py``, the claims and their rules ``ablation_findings.py``; every name is
importable from this module.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np

from ..core.backend import module
from ..engines.training import TaskData, train_batch
from ..problems.catalog import make_task
from ..problems.data import Dataset
from ..stats import unanimous
from .ablation_findings import CLAIM_STATUSES, CLAIMS, REPRODUCED, findings, split_text
from .ablation_grid import VARIANTS, AblationConfig, config_dict, grid_points

__all__ = [
    "CLAIMS",
    "CLAIM_STATUSES",
    "REPRODUCED",
    "VARIANTS",
    "AblationConfig",
    "config_dict",
    "findings",
    "grid_points",
    "run_ablation",
    "split_text",
    "unanimous",
]


def run_ablation(
    cfg: AblationConfig, data: Dataset, on_epoch: Callable[[str, int], None] | None = None
) -> dict[str, Any]:
    """Train both variants over the grid; return the table rows and the findings.

    A row holds the mean over seeds (None when a seed diverged) and, under ``*_per_seed``,
    each seed's value in ``cfg.seeds`` order (None for a diverged run)."""
    if not cfg.seeds:
        raise ValueError("the ablation needs at least one seed")
    task = make_task(cfg.task, data.n_features, data.n_classes, data.image_shape, cfg.width)
    dtype = np.dtype(cfg.dtype)
    prepared = TaskData.prepare(task, data, dtype, module(cfg.backend))
    points = grid_points(cfg)
    k = len(cfg.seeds)
    b1 = np.repeat([p[0] for p in points], k)
    b2 = np.repeat([p[1] for p in points], k)
    lrs = np.repeat([10.0 ** p[2] for p in points], k)
    seeds = np.tile(np.asarray(cfg.seeds, dtype=np.int64), len(points))
    results, timing = {}, {}
    for variant in VARIANTS:
        cb = (lambda e, _v=variant: on_epoch(_v, e)) if on_epoch else None
        res = train_batch(
            task,
            prepared,
            variant,
            lrs,
            seeds,
            cfg.long_epochs,
            cfg.batch_size,
            dtype,
            {"beta1": b1, "beta2": b2},
            cb,
            eval_epochs={cfg.short_epochs, cfg.long_epochs},
        )
        results[variant] = res
        timing[variant] = {
            **{f"{key}_seconds": v for key, v in res.times.items()},
            "runs": len(lrs),
        }
    rows = []
    for i, (beta1, beta2, lg) in enumerate(points):
        row: dict[str, Any] = {"beta1": beta1, "beta2": beta2, "log10_lr": lg}
        sl = slice(i * k, (i + 1) * k)
        for variant in VARIANTS:
            res = results[variant]
            for budget, e in (("short", cfg.short_epochs), ("long", cfg.long_epochs)):
                vals = res.train_loss[sl, e]
                row[f"{variant}_{budget}"] = float(vals.mean()) if np.isfinite(vals).all() else None
                row[f"{variant}_{budget}_per_seed"] = [
                    float(v) if math.isfinite(v) else None for v in vals
                ]
            div = res.diverged_epoch[sl]
            row[f"{variant}_diverged_epoch"] = int(div.max()) if (div >= 0).any() else None
            row[f"{variant}_diverged_epoch_per_seed"] = [int(d) if d >= 0 else None for d in div]
        rows.append(row)
    # Every grid point starts from its seed's initialisation: epoch 0 is the seed's start.
    start = results["adam"].train_loss[:k, 0]
    initial = [float(v) for v in start]
    return {
        "task": task.describe(),
        "initial_loss": float(np.nanmean(start)),
        "initial_loss_per_seed": initial,
        "rows": rows,
        "findings": findings(rows, cfg, initial),
        "timing": timing,
    }
