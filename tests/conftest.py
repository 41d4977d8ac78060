"""Shared fixtures: the array backends every backend-aware test runs on.

``backend`` yields ``"numpy"`` always and ``"cupy"`` only where CuPy imports and sees a
CUDA device; elsewhere the CuPy cases are skipped with the reason "no CUDA device/cupy"
(``pytest -ra`` lists them).  CuPy cases carry the ``gpu`` marker, so ``pytest -m gpu``
runs exactly them.
"""

from __future__ import annotations

import functools

import pytest

NO_GPU = "no CUDA device/cupy"


@functools.lru_cache(maxsize=1)
def cuda_usable() -> bool:
    """True when CuPy imports and ``getDeviceCount() > 0`` (core/backend.cuda_status)."""
    from adambench.core.backend import cuda_status

    return cuda_status()[0]


def _cupy_param():
    return pytest.param("cupy", marks=[pytest.mark.gpu], id="cupy")


@pytest.fixture(params=["numpy", _cupy_param()])
def backend(request) -> str:
    """The backend name; the CuPy case is skipped without a usable device."""
    if request.param == "cupy" and not cuda_usable():
        pytest.skip(NO_GPU)
    return request.param


@pytest.fixture
def xp(backend):
    """The array module of ``backend`` (numpy or cupy)."""
    if backend == "cupy":
        import cupy

        return cupy
    import numpy

    return numpy


@pytest.fixture
def gpu() -> None:
    """For tests that only make sense on a device: skip without one."""
    if not cuda_usable():
        pytest.skip(NO_GPU)


def pytest_terminal_summary(terminalreporter) -> None:
    """Say plainly, just above pytest's last line, when the GPU tests did not run."""
    skipped = terminalreporter.stats.get("skipped", [])
    gpu = [r for r in skipped if "gpu" in getattr(r, "keywords", {}) or NO_GPU in str(r.longrepr)]
    if gpu:
        terminalreporter.write_line(
            f"GPU: {len(gpu)} GPU tests skipped ({NO_GPU} on this machine); "
            "run scripts/gpu-check.sh on a CUDA machine"
        )
