"""Shared test configuration: hypothesis profiles, the gpu marker, dtype fixtures.

Hypothesis profiles (select with HYPOTHESIS_PROFILE=name), from
:func:`minigan.check.testing.register_profiles`:

- ``ci``   (default when CI is set): few examples, derandomized (the same examples on
  every run, so a CI result is reproducible), keeps the suite to minutes on 2 cores;
- ``dev``  (default otherwise): a few more;
- ``deep``: many examples, for a thorough run before a release.
"""

import os

import numpy as np
import pytest

from minigan import backend
from minigan.check import testing

testing.register_profiles()

SHARED_MNIST = os.path.join(os.path.dirname(__file__), "..", "..", "shared", "data", "mnist")


def pytest_collection_modifyitems(config, items):
    """Skip tests marked ``gpu`` where CuPy or a GPU is missing, saying which."""
    if backend.gpu_available():
        return
    reason = "needs an NVIDIA GPU with CuPy: " + (backend._import_cupy()[1] or "unavailable")
    skip = pytest.mark.skip(reason=reason)
    for item in items:
        if "gpu" in item.keywords:
            item.add_marker(skip)


@pytest.fixture(autouse=True)
def _cpu_and_float32(monkeypatch):
    """Every test starts on the CPU in float32 and leaves it so; a ``MINIGAN_DEVICE`` set in
    the shell does not reach the tests (those about it set it themselves)."""
    monkeypatch.delenv("MINIGAN_DEVICE", raising=False)
    backend.use("cpu")
    backend.set_default_dtype("float32")
    yield
    backend.use("cpu")
    backend.set_default_dtype("float32")


@pytest.fixture
def float64():
    """Make float64 the default dtype for the test (gradient checks)."""
    backend.set_default_dtype("float64")
    yield np.float64
