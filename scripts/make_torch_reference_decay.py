"""Make ``tests/data/torch_reference_decay.npz``: torch.optim trajectories in float64 for
weight decay (L2 ``weight_decay`` on Adam, AMSGrad, AdaMax, AdaGrad, RMSprop, SGD) and
for AdamW, NAdam and RAdam (docs/theory.md §7).

The sibling of ``scripts/make_torch_reference.py`` (same gradient generator and
initial parameters, on its own seed; same trajectory layout), kept apart so that the
older file and its cases stay as they were.  ``tests/core/test_torch_reference_decay.py``
compares adambench with the committed trajectories without torch, and reruns torch
in-process when it is importable.

torch keeps some per-parameter scalars (NAdam's running product of mu_t, the step
counts) in ``torch.get_default_dtype()``, float32 unless changed; a float32 product of
mu_t alone moves NAdam's trajectory by ~1e-7 relative.  ``run_torch`` therefore runs
torch with the default dtype set to float64 (and restores it), so that the oracle is
float64 throughout.

Run from the repository root (needs torch)::

    python scripts/make_torch_reference_decay.py    # writes tests/data/torch_reference_decay.npz
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import numpy as np

if str(Path(__file__).resolve().parent) not in sys.path:  # imported by path (the tests)
    sys.path.append(str(Path(__file__).resolve().parent))
import make_torch_reference as _BASE  # noqa: E402  (its generator, torch loop and layout)
import reference_common  # noqa: E402

SEED = 20190101
STEPS = 500
DEFAULT_OUT = Path(__file__).resolve().parents[1] / "tests" / "data" / "torch_reference_decay.npz"

make_gradients = _BASE.make_gradients
make_initial = _BASE.make_initial

# One case per torch.optim configuration, as in make_torch_reference.py (``kwargs`` go to
# the torch class with foreach=False; ``schedule`` inv_sqrt sets lr / sqrt(t) before step t).
CASES: list[dict[str, Any]] = [
    {"name": "adam_wd", "optimizer": "Adam", "schedule": "constant",
     "kwargs": {"lr": 1e-2, "betas": [0.9, 0.999], "eps": 1e-8, "weight_decay": 0.1}},
    {"name": "adam_amsgrad_wd", "optimizer": "Adam", "schedule": "inv_sqrt",
     "kwargs": {"lr": 5e-2, "betas": [0.9, 0.99], "eps": 1e-8, "amsgrad": True,
                "weight_decay": 0.05}},
    {"name": "adamax_wd", "optimizer": "Adamax", "schedule": "constant",
     "kwargs": {"lr": 2e-3, "betas": [0.9, 0.999], "eps": 1e-8, "weight_decay": 0.1}},
    {"name": "adagrad_wd", "optimizer": "Adagrad", "schedule": "constant",
     "kwargs": {"lr": 1e-1, "eps": 1e-10, "initial_accumulator_value": 0.0,
                "weight_decay": 0.1}},
    {"name": "rmsprop_wd", "optimizer": "RMSprop", "schedule": "constant",
     "kwargs": {"lr": 1e-3, "alpha": 0.95, "eps": 1e-6, "momentum": 0.8, "centered": True,
                "weight_decay": 0.1}},
    {"name": "sgd_wd", "optimizer": "SGD", "schedule": "constant",
     "kwargs": {"lr": 1e-3, "momentum": 0.0, "nesterov": False, "weight_decay": 0.1}},
    {"name": "sgd_nesterov_wd", "optimizer": "SGD", "schedule": "constant",
     "kwargs": {"lr": 1e-3, "momentum": 0.9, "nesterov": True, "weight_decay": 0.05}},
    {"name": "adamw", "optimizer": "AdamW", "schedule": "constant",
     "kwargs": {"lr": 1e-2, "betas": [0.9, 0.999], "eps": 1e-8, "weight_decay": 0.01}},
    {"name": "adamw_strong", "optimizer": "AdamW", "schedule": "constant",
     "kwargs": {"lr": 1e-2, "betas": [0.8, 0.99], "eps": 1e-6, "weight_decay": 0.2}},
    {"name": "adamw_amsgrad", "optimizer": "AdamW", "schedule": "constant",
     "kwargs": {"lr": 1e-2, "betas": [0.9, 0.99], "eps": 1e-8, "weight_decay": 0.1,
                "amsgrad": True}},
    {"name": "adamw_inv_sqrt", "optimizer": "AdamW", "schedule": "inv_sqrt",
     "kwargs": {"lr": 5e-2, "betas": [0.9, 0.999], "eps": 1e-8, "weight_decay": 0.1}},
    {"name": "nadam", "optimizer": "NAdam", "schedule": "constant",
     "kwargs": {"lr": 2e-3, "betas": [0.9, 0.999], "eps": 1e-8, "momentum_decay": 4e-3}},
    {"name": "nadam_wd", "optimizer": "NAdam", "schedule": "constant",
     "kwargs": {"lr": 1e-2, "betas": [0.9, 0.999], "eps": 1e-8, "momentum_decay": 4e-3,
                "weight_decay": 0.1}},
    {"name": "nadam_decoupled", "optimizer": "NAdam", "schedule": "constant",
     "kwargs": {"lr": 1e-2, "betas": [0.9, 0.99], "eps": 1e-8, "momentum_decay": 4e-3,
                "weight_decay": 0.1, "decoupled_weight_decay": True}},
    {"name": "nadam_inv_sqrt", "optimizer": "NAdam", "schedule": "inv_sqrt",
     "kwargs": {"lr": 5e-2, "betas": [0.5, 0.999], "eps": 1e-6, "momentum_decay": 0.5}},
    {"name": "radam", "optimizer": "RAdam", "schedule": "constant",
     "kwargs": {"lr": 1e-2, "betas": [0.9, 0.999], "eps": 1e-8}},
    {"name": "radam_wd", "optimizer": "RAdam", "schedule": "constant",
     "kwargs": {"lr": 1e-2, "betas": [0.9, 0.999], "eps": 1e-8, "weight_decay": 0.1}},
    {"name": "radam_decoupled", "optimizer": "RAdam", "schedule": "inv_sqrt",
     "kwargs": {"lr": 5e-2, "betas": [0.8, 0.99], "eps": 1e-6, "weight_decay": 0.1,
                "decoupled_weight_decay": True}},
]  # fmt: skip


def run_torch(case: dict[str, Any], grads: np.ndarray, p0: np.ndarray) -> np.ndarray:
    """``make_torch_reference.run_torch`` with torch's default dtype float64 (module doc)."""
    import torch

    before = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)
    try:
        return _BASE.run_torch(case, grads, p0)
    finally:
        torch.set_default_dtype(before)


def build(seed: int = SEED, steps: int = STEPS) -> dict[str, np.ndarray]:
    """Every case's torch trajectory (float64 default dtype) on one seeded gradient sequence."""
    return _BASE.build(seed, steps, CASES, run_torch)


def main(argv: list[str] | None = None) -> None:
    reference_common.main(argv, __doc__, DEFAULT_OUT, SEED, STEPS, build, len(CASES))


if __name__ == "__main__":
    main()
