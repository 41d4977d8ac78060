"""pytest-benchmark timings of the same update kernels ``adambench bench`` times.

For projects that already gate speed with pytest-benchmark.  Not part of the default
test run (pyproject's addopts has ``--ignore=tests/benchmarks --benchmark-disable``):

    pytest -o addopts="" tests/benchmarks --benchmark-only \
        --benchmark-save=kernels            # then --benchmark-compare to check

Each kernel is benchmarked beside the roofline loop with its own access pattern
(analysis/roofline.py) on the same arrays; ``extra_info`` carries the bytes one step
must move, so GB/s = bytes / mean time.  Absolute times, as pytest-benchmark compares
them, swing on shared machines: ``adambench bench --compare`` is the gate that does
not (it compares time / roofline, docs/design.md, "Timing is relative").
"""

from __future__ import annotations

import numpy as np
import pytest

from adambench import make_optimizer
from adambench.bench import roofline
from adambench.bench.config import DEFAULT_OPTIMIZERS
from adambench.bench.timing import threads

SIZES = [10**5, 10**6, 10**7]


def _setup(name: str, n: int):
    rng = np.random.default_rng(0)
    opt = make_optimizer(name)
    p = rng.standard_normal(n, dtype=np.float32)
    g = rng.standard_normal(n, dtype=np.float32)
    state = opt.init(p)
    own = [p, g, *(state.buffers[b] for b in opt.rule.buffers(opt.hp))]
    pattern = roofline.rule_pattern(opt.rule, opt.hp)
    return opt, p, g, state, pattern, roofline.pattern_loop(pattern, own)


@pytest.mark.parametrize("n", SIZES, ids=lambda n: f"n{n:.0e}")
@pytest.mark.parametrize("name", DEFAULT_OPTIMIZERS)
def test_kernel_step(benchmark, name, n):
    opt, p, g, state, pattern, _ = _setup(name, n)
    benchmark.group = f"{name} n={n:.0e} fp32 1 thread"
    benchmark.extra_info["bytes_per_step"] = roofline.rule_bytes(opt.rule, opt.hp, 4) * n
    with threads(1):
        opt.step(p, g, state)  # compile / load from cache outside the timing
        benchmark(opt.step, p, g, state)
    assert np.isfinite(p).all()


@pytest.mark.parametrize("n", SIZES, ids=lambda n: f"n{n:.0e}")
@pytest.mark.parametrize("name", DEFAULT_OPTIMIZERS)
def test_roofline_loop(benchmark, name, n):
    opt, p, g, state, pattern, loop = _setup(name, n)
    benchmark.group = f"{name} n={n:.0e} fp32 1 thread"
    benchmark.extra_info["bytes_per_step"] = pattern.bytes_per_param(4) * n
    benchmark.extra_info["pattern"] = pattern.name
    with threads(1):
        loop()
        benchmark(loop)
