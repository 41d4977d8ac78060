"""Shared fixtures: the array backends every backend-aware test runs on.

``backend`` runs a test three ways:

* ``numpy``: always;
* ``cupy``: real CuPy on a CUDA device, only where CuPy imports and sees one; elsewhere
  skipped with the reason "no CUDA device/cupy" (``pytest -ra`` lists them).  These
  cases carry the ``gpu`` marker, so ``pytest -m gpu`` runs exactly them;
* ``emulated``: the same CuPy code paths against the emulated ``cupy`` of
  ``tests/emulated_cuda`` (CUDA kernels compiled by the host C++ compiler, warps run in
  lock step, arguments checked as a device needs them).  It checks the device code and
  its host glue on any machine with a C++ compiler, but says nothing of GPU speed and is
  not a GPU run.  The test sees ``backend == "cupy"``.

``device`` is the same for tests that only make sense with a CuPy device: ``cupy``
(real, ``gpu`` marker) or ``emulated``.
"""

from __future__ import annotations

import functools
import importlib
import os
import shutil
import sys
from pathlib import Path

import pytest

NO_GPU = "no CUDA device/cupy"
EMULATOR = Path(__file__).with_name("emulated_cuda")


@functools.lru_cache(maxsize=1)
def cuda_usable() -> bool:
    """True when a real CuPy imports and ``getDeviceCount() > 0`` (core/backend.cuda_status)."""
    from adambench.core.backend import cuda_status

    return cuda_status()[0]


def _device_params(real: list[str]) -> list:
    return [
        *real,
        pytest.param("cupy", marks=[pytest.mark.gpu], id="cupy"),
        pytest.param("emulated", marks=[pytest.mark.emulated], id="emulated"),
    ]


def _cupy_modules() -> list[str]:
    return [m for m in sys.modules if m.split(".")[0] in ("cupy", "cupyx")]


def _clear_device_caches() -> None:
    """Compiled modules and device facts cached by adambench (they name a cupy module)."""
    from adambench import results
    from adambench.core import kernels_cuda, kernels_cuda_chunks
    from adambench.engines.regret import cuda as engine_cuda

    kernels_cuda._module.cache_clear()
    kernels_cuda_chunks._module.cache_clear()
    engine_cuda._module.cache_clear()
    results.gpu_info.cache_clear()


@pytest.fixture
def example(monkeypatch, tmp_path):
    """The example plugin (``tests/core/plugin_fixtures.py``) installed for one test."""
    sys.path.insert(0, str(Path(__file__).with_name("core")))
    from plugin_fixtures import install, uninstall

    install(monkeypatch, tmp_path)
    yield
    uninstall()


@pytest.fixture
def emulated_cupy(monkeypatch):
    """The emulated ``cupy``/``cupyx`` in place of any real one, here and in subprocesses."""
    if shutil.which("g++") is None and shutil.which("clang++") is None:
        pytest.skip("no C++ compiler for the CUDA emulator")
    cuda_usable()  # cache the real answer before the emulator hides it
    for name in _cupy_modules():
        monkeypatch.delitem(sys.modules, name)
    monkeypatch.syspath_prepend(str(EMULATOR))
    path = os.environ.get("PYTHONPATH")
    monkeypatch.setenv("PYTHONPATH", str(EMULATOR) + (os.pathsep + path if path else ""))
    _clear_device_caches()
    cupy = importlib.import_module("cupy")
    assert getattr(cupy, "EMULATED", False), cupy.__file__
    yield cupy
    for name in _cupy_modules():  # the emulated ones; monkeypatch then restores the real
        del sys.modules[name]
    _clear_device_caches()


@pytest.fixture(params=_device_params(["numpy"]))
def backend(request) -> str:
    """The backend name ("numpy" or "cupy"); the real CuPy case skips without a device."""
    if request.param == "cupy" and not cuda_usable():
        pytest.skip(NO_GPU)
    if request.param == "emulated":
        request.getfixturevalue("emulated_cupy")
        return "cupy"
    return request.param


@pytest.fixture
def xp(backend):
    """The array module of ``backend`` (numpy, cupy or the emulated cupy)."""
    return importlib.import_module("cupy" if backend == "cupy" else "numpy")


@pytest.fixture(params=_device_params([]))
def device(request) -> str:
    """A CuPy device: the real one (skipped without it) or the emulated one."""
    if request.param == "cupy" and not cuda_usable():
        pytest.skip(NO_GPU)
    if request.param == "emulated":
        request.getfixturevalue("emulated_cupy")
    return request.param


def pytest_configure(config) -> None:
    """Tables are laid out for the width each test asks for, not the invoking terminal's:
    a ``COLUMNS``/``LINES`` in the environment (a user's shell; pytest-xdist sets them in
    its workers) would be read once when the CLI's console is made, and fix its width."""
    for name in ("COLUMNS", "LINES"):
        os.environ.pop(name, None)


def pytest_collection_modifyitems(items) -> None:
    """Every test on the emulator carries the ``emulated`` marker (``pytest -m emulated``)."""
    for item in items:
        if "emulated_cupy" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.emulated)


def pytest_terminal_summary(terminalreporter) -> None:
    """Say plainly, just above pytest's last line, when the GPU tests did not run."""
    skipped = terminalreporter.stats.get("skipped", [])
    gpu = [r for r in skipped if "gpu" in getattr(r, "keywords", {}) or NO_GPU in str(r.longrepr)]
    passed = terminalreporter.stats.get("passed", [])
    emu = [r for r in passed if "emulated" in getattr(r, "keywords", {})]
    if gpu:
        terminalreporter.write_line(
            f"GPU: {len(gpu)} GPU tests skipped ({NO_GPU} on this machine); "
            "run scripts/gpu-check.sh on a CUDA machine"
            + (f"; {len(emu)} passed on the host CUDA emulator (not a GPU)" if emu else "")
        )
