"""Make ``tests/data/torch_reference.npz``: torch.optim trajectories in float64.

The independent check (docs/design.md, "One math spec per rule"): every
rule is compared step by step against torch.optim on the same random gradients.  This
script runs torch; ``tests/core/test_torch_reference.py`` runs adambench on the committed
gradients and compares, so the test suite needs no torch.  The test also imports this
file (by path) to regenerate the trajectories live when torch is installed.

Run from the repository root (needs torch)::

    python scripts/make_torch_reference.py            # writes tests/data/torch_reference.npz
    python scripts/make_torch_reference.py --out x.npz --seed 7 --steps 600

The gradients (seeded ``numpy.random.Generator``) mix scales from 1e-3 to 1e2 and
heavy tails, contain exact zeros, a burst of large gradients (so that AMSGrad's running
max departs from v), a sparse coordinate whose first gradients are zero and a coordinate
whose gradient is always zero.
"""

from __future__ import annotations

import math
import sys
from pathlib import Path
from typing import Any

import numpy as np

if str(Path(__file__).resolve().parent) not in sys.path:  # imported by path (the tests)
    sys.path.append(str(Path(__file__).resolve().parent))
import reference_common  # noqa: E402

SEED = 20150107
STEPS = 500
DIM = 6
ZERO_COORD = 5  # gradient always exactly zero
SPARSE_COORD = 4  # mostly zero, first gradients zero
DEFAULT_OUT = Path(__file__).resolve().parents[1] / "tests" / "data" / "torch_reference.npz"

# One case per torch.optim configuration.  ``kwargs`` are passed to the torch class as
# they are (plus foreach=False, the plain per-tensor loop); ``schedule`` "inv_sqrt" sets
# param_group["lr"] = lr / sqrt(t) before step t (docs/theory.md §1.5, §2.1).
CASES: list[dict[str, Any]] = [
    {"name": "adam", "optimizer": "Adam", "schedule": "constant",
     "kwargs": {"lr": 1e-2, "betas": [0.9, 0.999], "eps": 1e-8}},
    {"name": "adam_eps_large", "optimizer": "Adam", "schedule": "constant",
     "kwargs": {"lr": 3e-3, "betas": [0.5, 0.95], "eps": 1e-4}},
    {"name": "adam_inv_sqrt", "optimizer": "Adam", "schedule": "inv_sqrt",
     "kwargs": {"lr": 5e-2, "betas": [0.9, 0.99], "eps": 1e-8}},
    {"name": "adam_amsgrad", "optimizer": "Adam", "schedule": "constant",
     "kwargs": {"lr": 1e-2, "betas": [0.9, 0.99], "eps": 1e-8, "amsgrad": True}},
    {"name": "adam_amsgrad_inv_sqrt", "optimizer": "Adam", "schedule": "inv_sqrt",
     "kwargs": {"lr": 5e-2, "betas": [0.9, 0.999], "eps": 1e-6, "amsgrad": True}},
    {"name": "adamax", "optimizer": "Adamax", "schedule": "constant",
     "kwargs": {"lr": 2e-3, "betas": [0.9, 0.999], "eps": 1e-8}},
    {"name": "adamax_eps0", "optimizer": "Adamax", "schedule": "constant",
     "kwargs": {"lr": 2e-3, "betas": [0.9, 0.999], "eps": 0.0}},
    {"name": "adagrad", "optimizer": "Adagrad", "schedule": "constant",
     "kwargs": {"lr": 1e-1, "eps": 1e-10, "initial_accumulator_value": 0.0}},
    {"name": "adagrad_init", "optimizer": "Adagrad", "schedule": "constant",
     "kwargs": {"lr": 5e-2, "eps": 1e-6, "initial_accumulator_value": 0.1}},
    {"name": "rmsprop_momentum", "optimizer": "RMSprop", "schedule": "constant",
     "kwargs": {"lr": 1e-3, "alpha": 0.99, "eps": 1e-8, "momentum": 0.9, "centered": False}},
    {"name": "rmsprop_momentum_centered", "optimizer": "RMSprop", "schedule": "constant",
     "kwargs": {"lr": 1e-3, "alpha": 0.95, "eps": 1e-6, "momentum": 0.8, "centered": True}},
    {"name": "sgd", "optimizer": "SGD", "schedule": "constant",
     "kwargs": {"lr": 1e-3, "momentum": 0.0, "nesterov": False}},
    {"name": "sgd_momentum", "optimizer": "SGD", "schedule": "constant",
     "kwargs": {"lr": 1e-3, "momentum": 0.9, "nesterov": False}},
    {"name": "sgd_nesterov", "optimizer": "SGD", "schedule": "constant",
     "kwargs": {"lr": 1e-3, "momentum": 0.9, "nesterov": True}},
    {"name": "sgd_nesterov_inv_sqrt", "optimizer": "SGD", "schedule": "inv_sqrt",
     "kwargs": {"lr": 1e-2, "momentum": 0.5, "nesterov": True}},
]  # fmt: skip


def make_gradients(rng: np.random.Generator, steps: int = STEPS, dim: int = DIM) -> np.ndarray:
    """A (steps, dim) float64 gradient sequence with mixed scales and exact zeros.

    Columns: 0 small (1e-3) with drift; 1 unit scale with a 30x burst at steps 150-199;
    2 Student-t (3 dof) times 10; 3 log-uniform magnitudes 1e-3..1e2 with random signs;
    ``SPARSE_COORD`` 85 % zeros and none before step 6; ``ZERO_COORD`` always zero.
    Columns 0-3 also get about 10 % exact zeros.
    """
    if dim != DIM:
        raise ValueError(f"dim must be {DIM}, got {dim}")
    t = np.arange(steps)
    g = np.zeros((steps, dim))
    g[:, 0] = 1e-3 * (0.3 + rng.standard_normal(steps))
    g[:, 1] = (0.2 + rng.standard_normal(steps)) * np.where((t >= 150) & (t < 200), 30.0, 1.0)
    g[:, 2] = 10.0 * (rng.standard_t(3, steps) - 0.5)
    g[:, 3] = rng.choice([-1.0, 1.0], steps, p=[0.4, 0.6]) * 10.0 ** rng.uniform(-3, 2, steps)
    g[:, :4] *= rng.random((steps, 4)) >= 0.1
    g[:, SPARSE_COORD] = reference_common.sparse_column(rng, steps, leading_zeros=5)
    return g


def make_initial(rng: np.random.Generator, dim: int = DIM) -> np.ndarray:
    """Initial parameters, (dim,) float64."""
    return rng.standard_normal(dim)


def run_torch(case: dict[str, Any], grads: np.ndarray, p0: np.ndarray) -> np.ndarray:
    """The (steps, dim) parameter trajectory torch.optim produces for ``case`` in float64.

    Row k holds the parameters after step k + 1 (gradient ``grads[k]``).
    """
    import torch

    param = torch.tensor(p0, dtype=torch.float64, requires_grad=True)
    kwargs = dict(case["kwargs"])
    if "betas" in kwargs:
        kwargs["betas"] = tuple(kwargs["betas"])
    opt = getattr(torch.optim, case["optimizer"])([param], foreach=False, **kwargs)
    lr0 = kwargs["lr"]
    out = np.empty((grads.shape[0], p0.size))
    for k in range(grads.shape[0]):
        if case["schedule"] == "inv_sqrt":
            for group in opt.param_groups:
                group["lr"] = lr0 / math.sqrt(k + 1)
        elif case["schedule"] != "constant":
            raise ValueError(f"unknown schedule {case['schedule']!r}")
        param.grad = torch.tensor(grads[k], dtype=torch.float64)
        opt.step()
        out[k] = param.detach().numpy()
    return out


def build(
    seed: int = SEED,
    steps: int = STEPS,
    cases: list[dict[str, Any]] = CASES,
    run: reference_common.Oracle = run_torch,
) -> dict[str, np.ndarray]:
    """Every case's torch trajectory (``run``) on one seeded gradient sequence, as npz arrays."""
    import torch

    versions = {"torch_version": torch.__version__}
    return reference_common.build_arrays(
        seed, steps, cases, make_gradients, make_initial, run, versions
    )


def main(argv: list[str] | None = None) -> None:
    reference_common.main(argv, __doc__, DEFAULT_OUT, SEED, STEPS, build, len(CASES))


if __name__ == "__main__":
    main()
