"""Make ``tests/data/optax_reference.npz``: optax trajectories of Yogi, AdaBelief and Lion
in float64.

The independent check of ``core/rules/yogi.py``, ``adabelief.py`` and ``lion.py``
(docs/theory.md §7.1, §7.2, §7.4): optax 0.2.8's ``optax.yogi``, ``optax.adabelief`` and
``optax.lion`` run on one seeded gradient sequence with ``jax_enable_x64``, and
``tests/core/test_optax_reference.py`` runs adambench on the committed gradients and
compares, so the test suite needs neither jax nor optax.  The test also imports this file
(by path) to rerun optax live when it is importable.

Run from the repository root (needs jax and optax)::

    python scripts/make_optax_reference.py            # writes tests/data/optax_reference.npz
    python scripts/make_optax_reference.py --out x.npz --seed 7 --steps 600

The gradients (seeded ``numpy.random.Generator``, d = 10) have per-coordinate scales from
1e-6 to 1e3, heavy tails, about 15 % exact zeros, a burst of large gradients, a sparse
coordinate whose first gradients are zero and a coordinate whose gradient is always zero.
Each case names the optax call (``optimizer``, ``kwargs``) and the schedule: "inv_sqrt"
passes ``learning_rate = lambda count: lr / sqrt(count + 1)`` (optax counts from 0, so
step t gets lr / sqrt(t)).
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import numpy as np

if str(Path(__file__).resolve().parent) not in sys.path:  # imported by path (the tests)
    sys.path.append(str(Path(__file__).resolve().parent))
import reference_common  # noqa: E402

SEED = 20200314
STEPS = 500
DIM = 10
ZERO_COORD = 9  # gradient always exactly zero
SPARSE_COORD = 8  # mostly zero, none before step 8
DEFAULT_OUT = Path(__file__).resolve().parents[1] / "tests" / "data" / "optax_reference.npz"

# One case per optax configuration (``kwargs`` besides learning_rate are passed as they
# are).  The test maps each to adambench hyperparameters (docs/theory.md §7).
CASES: list[dict[str, Any]] = [
    {"name": "yogi_optax_defaults", "optimizer": "yogi", "schedule": "constant",
     "lr": 1e-2, "kwargs": {}},
    {"name": "yogi_inv_sqrt", "optimizer": "yogi", "schedule": "inv_sqrt",
     "lr": 5e-2, "kwargs": {"b1": 0.8, "b2": 0.99, "eps": 1e-4}},
    {"name": "adabelief_optax_defaults", "optimizer": "adabelief", "schedule": "constant",
     "lr": 1e-3, "kwargs": {}},
    {"name": "adabelief_eps_paper", "optimizer": "adabelief", "schedule": "inv_sqrt",
     "lr": 3e-2, "kwargs": {"b1": 0.9, "b2": 0.99, "eps": 1e-8, "eps_root": 1e-8}},
    {"name": "adabelief_eps_outside", "optimizer": "adabelief", "schedule": "constant",
     "lr": 1e-3, "kwargs": {"eps": 1e-8, "eps_root": 0.0}},
    {"name": "lion", "optimizer": "lion", "schedule": "constant",
     "lr": 1e-4, "kwargs": {"b1": 0.9, "b2": 0.99, "weight_decay": 0.0}},
    {"name": "lion_optax_default_wd", "optimizer": "lion", "schedule": "constant",
     "lr": 3e-4, "kwargs": {}},
    {"name": "lion_wd_inv_sqrt", "optimizer": "lion", "schedule": "inv_sqrt",
     "lr": 1e-2, "kwargs": {"b1": 0.5, "b2": 0.9, "weight_decay": 0.1}},
]  # fmt: skip


def make_gradients(rng: np.random.Generator, steps: int = STEPS, dim: int = DIM) -> np.ndarray:
    """A (steps, dim) float64 gradient sequence with mixed scales and exact zeros.

    Columns 0-7: scale 10^k for k evenly from -6 to 3, Gaussian with a drift (columns
    0-3) or Student-t with 3 degrees of freedom (4-7), times a 30x burst at steps
    200-249 in columns 2 and 5; about 15 % exact zeros.  ``SPARSE_COORD``: 85 % zeros and
    none before step 8.  ``ZERO_COORD``: always zero.
    """
    if dim != DIM:
        raise ValueError(f"dim must be {DIM}, got {dim}")
    t = np.arange(steps)
    n = SPARSE_COORD
    scales = 10.0 ** np.linspace(-6, 3, n)
    g = np.zeros((steps, dim))
    g[:, : n // 2] = 0.3 + rng.standard_normal((steps, n // 2))
    g[:, n // 2 : n] = rng.standard_t(3, (steps, n - n // 2)) - 0.2
    burst = np.where((t >= 200) & (t < 250), 30.0, 1.0)
    g[:, 2] *= burst
    g[:, 5] *= burst
    g[:, :n] *= scales
    g[:, :n] *= rng.random((steps, n)) >= 0.15
    g[:, SPARSE_COORD] = reference_common.sparse_column(rng, steps, leading_zeros=7)
    return g


def make_initial(rng: np.random.Generator, dim: int = DIM) -> np.ndarray:
    """Initial parameters, (dim,) float64."""
    return rng.standard_normal(dim)


def run_optax(case: dict[str, Any], grads: np.ndarray, p0: np.ndarray) -> np.ndarray:
    """The (steps, dim) parameter trajectory optax produces for ``case`` in float64.

    Row k holds the parameters after step k + 1 (gradient ``grads[k]``).
    """
    import jax

    jax.config.update("jax_enable_x64", True)
    import jax.numpy as jnp
    import optax

    lr = case["lr"]
    if case["schedule"] == "inv_sqrt":

        def learning_rate(count):
            return lr / jnp.sqrt(count + 1.0)

    elif case["schedule"] == "constant":
        learning_rate = lr
    else:
        raise ValueError(f"unknown schedule {case['schedule']!r}")
    opt = getattr(optax, case["optimizer"])(learning_rate, **case["kwargs"])
    params = jnp.asarray(p0, dtype=jnp.float64)
    state = opt.init(params)
    update = jax.jit(opt.update)
    out = np.empty((grads.shape[0], p0.size))
    for k in range(grads.shape[0]):
        g = jnp.asarray(grads[k], dtype=jnp.float64)
        updates, state = update(g, state, params)
        params = optax.apply_updates(params, updates)
        out[k] = np.asarray(params)
    assert out.dtype == np.float64
    return out


def build(seed: int = SEED, steps: int = STEPS) -> dict[str, np.ndarray]:
    """Every case's optax trajectory on one seeded gradient sequence, as npz arrays."""
    import jax
    import optax

    versions = {"optax_version": optax.__version__, "jax_version": jax.__version__}
    return reference_common.build_arrays(
        seed, steps, CASES, make_gradients, make_initial, run_optax, versions
    )


def main(argv: list[str] | None = None) -> None:
    reference_common.main(argv, __doc__, DEFAULT_OUT, SEED, STEPS, build, len(CASES))


if __name__ == "__main__":
    main()
