"""What the oracle-data scripts share: the npz layout and the command line.

``scripts/make_torch_reference.py``, ``make_torch_reference_decay.py`` and
``make_optax_reference.py`` each define their cases, their gradient generator and the
loop that runs their oracle (torch.optim or optax); this module runs every case on one
seeded gradient sequence, lays the result out as the npz arrays the tests read
(``tests/core/oracle_data.py``) and writes the file from the shared command line
(``--out``, ``--seed``, ``--steps``).
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

MIN_STEPS = 500  # the tests check trajectories of at least this many steps

Case = dict[str, Any]
Oracle = Callable[[Case, np.ndarray, np.ndarray], np.ndarray]


def sparse_column(rng: np.random.Generator, steps: int, leading_zeros: int) -> np.ndarray:
    """A mostly-zero gradient column: standard normal on about 15 % of the steps, zero on
    the first ``leading_zeros`` steps, and one 1.0 halfway if that left it all zero."""
    sparse = rng.standard_normal(steps) * (rng.random(steps) < 0.15)
    sparse[:leading_zeros] = 0.0
    if not sparse.any():
        sparse[steps // 2] = 1.0
    return sparse


def build_arrays(
    seed: int,
    steps: int,
    cases: Sequence[Case],
    make_gradients: Callable[[np.random.Generator, int], np.ndarray],
    make_initial: Callable[[np.random.Generator], np.ndarray],
    run: Oracle,
    versions: Mapping[str, str],
) -> dict[str, np.ndarray]:
    """Every case's oracle trajectory on one seeded gradient sequence, as npz arrays.

    The gradients are drawn first, then the initial parameters, from one
    ``numpy.random.Generator(seed)``; ``trajectories[c]`` is ``run(cases[c], grads, p0)``.
    ``versions`` (e.g. ``{"torch_version": torch.__version__}``) are stored as they are,
    before numpy's version and the seed.
    """
    rng = np.random.default_rng(seed)
    grads = make_gradients(rng, steps)
    p0 = make_initial(rng)
    traj = np.stack([run(case, grads, p0) for case in cases])
    return {
        "grads": grads,
        "p0": p0,
        "trajectories": traj,
        "cases": np.array(json.dumps(list(cases))),
        **{key: np.array(value) for key, value in versions.items()},
        "numpy_version": np.array(np.__version__),
        "seed": np.array(seed),
    }


def main(
    argv: list[str] | None,
    doc: str,
    default_out: Path,
    seed: int,
    steps: int,
    build: Callable[[int, int], dict[str, np.ndarray]],
    n_cases: int,
) -> None:
    """Parse ``--out/--seed/--steps``, ``build(seed, steps)`` and write the npz file.

    ``doc`` is the script's module docstring (its first paragraph is the description).
    Fewer than ``MIN_STEPS`` steps is a usage error (exit 2).
    """
    parser = argparse.ArgumentParser(description=doc.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=default_out, help="npz file to write")
    parser.add_argument("--seed", type=int, default=seed, help="numpy Generator seed")
    parser.add_argument(
        "--steps", type=int, default=steps, help=f"steps per trajectory (>= {MIN_STEPS})"
    )
    args = parser.parse_args(argv)
    if args.steps < MIN_STEPS:
        parser.error(f"--steps must be >= {MIN_STEPS}, got {args.steps}")
    data = build(args.seed, args.steps)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(args.out, **data)
    size = args.out.stat().st_size
    print(f"wrote {args.out} ({size / 1024:.0f} KiB): {n_cases} cases x {args.steps} steps")
