"""Backend selection, host/device moves, dtype and seeding."""

import os
import subprocess
import sys

import numpy as np
import pytest

from minigan import backend
from minigan.nn import layers


def test_cpu_is_numpy():
    assert backend.use("cpu") == "cpu"
    assert backend.xp() is np and backend.device() == "cpu"
    assert isinstance(backend.asarray([1.0, 2.0]), np.ndarray)


def test_auto_falls_back_to_numpy_without_a_gpu():
    if backend.gpu_available():
        pytest.skip("a GPU is present here: auto picks it, tested in the gpu tests")
    assert backend.use("auto") == "cpu"
    assert backend.xp() is np


def test_gpu_without_a_gpu_says_what_is_missing():
    if backend.gpu_available():
        pytest.skip("a GPU is present here, so --device gpu works")
    with pytest.raises(backend.BackendError, match="needs a usable GPU: CuPy") as err:
        backend.use("gpu")
    assert "--device cpu" in str(err.value)
    assert backend.device() == "cpu"  # a failed switch leaves the backend as it was


def test_unknown_device():
    with pytest.raises(ValueError, match="unknown device 'tpu'"):
        backend.use("tpu")


@pytest.mark.parametrize("value, expected", [("cpu", "cpu"), ("auto", None)])
def test_environment_variable_selects_the_device(value, expected):
    code = "from minigan import backend; print(backend.device())"
    env = {**os.environ, "MINIGAN_DEVICE": value}
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                         check=True).stdout.strip()
    assert out == (expected or ("gpu" if backend.gpu_available() else "cpu"))


def test_to_host_and_default_dtype():
    a = backend.randn((3, 2), np.random.default_rng(0))
    assert a.dtype == np.float32
    assert isinstance(backend.to_host(a), np.ndarray)
    backend.set_default_dtype("float64")
    assert backend.randn((2,)).dtype == np.float64
    assert layers.Dense(2, 2).params["W"].dtype == np.float64
    with pytest.raises(ValueError, match="float32 or float64"):
        backend.set_default_dtype("int32")


def test_one_seed_one_stream():
    a = backend.randn((4,), np.random.default_rng(3))
    b = backend.randn((4,), np.random.default_rng(3))
    np.testing.assert_array_equal(a, b)
    backend.seed(11)
    w1 = layers.Dense(3, 3).params["W"].copy()
    backend.seed(11)
    np.testing.assert_array_equal(layers.Dense(3, 3).params["W"], w1)
    u = backend.uniform(-1, 1, (1000,), np.random.default_rng(0))
    assert u.min() >= -1 and u.max() < 1


def test_environment_asking_for_a_missing_gpu_warns_and_stays_on_cpu():
    if backend.gpu_available():
        pytest.skip("a GPU is present here")
    code = "from minigan import backend; print(backend.device())"
    env = {**os.environ, "MINIGAN_DEVICE": "gpu"}
    run = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
    assert run.returncode == 0 and run.stdout.strip() == "cpu"
    assert "MINIGAN_DEVICE=gpu" in run.stderr and "needs a usable GPU" in run.stderr


def test_requested_device_is_what_the_environment_asks(monkeypatch):
    monkeypatch.delenv("MINIGAN_DEVICE", raising=False)
    assert backend.requested_device() == "auto"
    monkeypatch.setenv("MINIGAN_DEVICE", "")
    assert backend.requested_device() == "auto"
    monkeypatch.setenv("MINIGAN_DEVICE", "cpu")
    assert backend.requested_device() == "cpu"  # read at each call, not at import
    previous = backend.device()
    try:
        assert backend.use(None) == "cpu"
        monkeypatch.setenv("MINIGAN_DEVICE", "tpu")
        with pytest.raises(ValueError, match="unknown device 'tpu'"):
            backend.use(None)
    finally:
        backend.use(previous)


def test_only_the_backend_reads_the_device_variable():
    """MINIGAN_DEVICE is a key in backend/__init__.py alone; everything else asks the backend."""
    import ast
    from pathlib import Path

    import minigan

    package = Path(minigan.__file__).parent
    readers = set()
    for path in package.rglob("*.py"):
        tree = ast.parse(path.read_text(), filename=str(path))
        for node in ast.walk(tree):
            if isinstance(node, ast.Constant) and node.value == "MINIGAN_DEVICE":
                readers.add(path.relative_to(package).as_posix())
            if isinstance(node, ast.Call) and getattr(node.func, "attr", "") == "getenv":
                readers.add(path.relative_to(package).as_posix())
    assert readers == {"backend/__init__.py"}


def test_the_public_names_exist():
    assert all(hasattr(backend, name) for name in backend.__all__)
    assert not hasattr(backend, "to_device")  # asarray is the one host -> device move
