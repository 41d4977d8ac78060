"""Fixtures of the training-engine tests (test_run_plan.py, test_training.py).

``digits``: the real digits data, loaded once per module.  ``one_thread``: BLAS and numba
limited to one thread each for a module (``engines/training.thread_limits``), so that two
thread pools do not stall each other on a small or shared machine; a module asks for it
with ``pytestmark = pytest.mark.usefixtures("one_thread")``.
"""

from __future__ import annotations

import pytest

from adambench.engines.training import thread_limits
from adambench.problems.data import load_digits


@pytest.fixture(scope="module")
def digits():
    return load_digits()


@pytest.fixture(scope="module")
def one_thread():
    with thread_limits(1):
        yield
