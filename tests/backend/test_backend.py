"""Backend selection, host/device moves, dtype and seeding."""

import os
import subprocess
import sys
import warnings

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
    assert str(err.value).startswith("backend.use('gpu') (--device gpu) needs")  # from Python too
    assert "Use backend.use('cpu')" in str(err.value)
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
    with pytest.raises(ValueError, match="^default dtype must be float32 or float64, got 'flaot32'$"):
        backend.set_default_dtype("flaot32")         # NumPy's "data type not understood"
    with pytest.raises(ValueError, match="^Dense: dtype must be float32 or float64, got 'f32'$"):
        layers.Dense(2, 2, dtype="f32")


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


@pytest.mark.parametrize("dtype", ["int32", np.int64, "float16", "flaot32"])
def test_random_draws_refuse_a_dtype_that_is_not_float32_or_float64(dtype):
    """Before, randn and uniform cast to any dtype: an integer one rounded gaussian noise to
    whole numbers (``gan.sample_noise(3, 2, dtype="int32")`` gave 0, -1 and 1) without a word."""
    rng = np.random.default_rng(0)
    with pytest.raises(ValueError, match="^randn: dtype must be float32 or float64, got "):
        backend.randn((3, 2), rng, dtype)
    with pytest.raises(ValueError, match="^uniform: dtype must be float32 or float64, got "):
        backend.uniform(-1, 1, (3, 2), rng, dtype)
    assert backend.randn((3, 2), rng, "float64").dtype == np.float64

@pytest.mark.parametrize("value", [-1, 1.5, "a"])
def test_a_seed_that_is_not_one_is_named(value):
    """NumPy said "expected non-negative integer", or "SeedSequence expects int or sequence of
    ints for entropy not 1.5", naming neither the seed nor where it went."""
    before = backend.rng()
    with pytest.raises(ValueError, match=rf"^seed must be a whole number >= 0, a "
                                         rf"numpy.random.SeedSequence or None, got {value!r} \("):
        backend.seed(value)
    assert backend.rng() is before


@pytest.mark.parametrize("make", [lambda rng: layers.Dense(3, 3, rng=rng),
                                  lambda rng: backend.randn((2,), rng)])
def test_a_seed_given_as_the_generator_says_how_to_make_one(make):
    """``rng=0`` raised "'int' object has no attribute 'normal'" from inside an initializer."""
    with pytest.raises(TypeError, match=r"^rng must be a numpy.random.Generator or None, got 0: "
                                        r"for a seed, pass numpy.random.default_rng\(0\)$"):
        make(0)


def test_environment_asking_for_a_missing_gpu_warns_and_stays_on_cpu():
    if backend.gpu_available():
        pytest.skip("a GPU is present here")
    code = "from minigan import backend; print(backend.device())"
    env = {**os.environ, "MINIGAN_DEVICE": "gpu"}
    run = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
    assert run.returncode == 0 and run.stdout.strip() == "cpu"
    assert "MINIGAN_DEVICE=gpu asks for a GPU that is not usable: CuPy" in run.stderr
    assert "--device" not in run.stderr                  # no option was given


def test_a_gpu_the_environment_chose_is_named_as_the_environment(monkeypatch):
    """use(None) under MINIGAN_DEVICE=gpu without a GPU names the variable, not --device;
    so does minigan train without --device."""
    if backend.gpu_available():
        pytest.skip("a GPU is present here")
    monkeypatch.setenv("MINIGAN_DEVICE", "gpu")
    with pytest.raises(backend.BackendError) as err:
        backend.use(None)
    message = str(err.value)
    assert message.startswith("MINIGAN_DEVICE=gpu (no device given: backend.use(None), or no "
                              "--device) needs a usable GPU: ")
    assert message.endswith("Use backend.use('cpu') (--device cpu), or unset MINIGAN_DEVICE.")
    code = ("import sys; from minigan.app.cli import main; "
            "sys.exit(main(['train', '--split', 'test', '--data-dir', sys.argv[1]]))")
    run = subprocess.run([sys.executable, "-c", code, "no-such-folder"], capture_output=True,
                         text=True, env={**os.environ, "MINIGAN_DEVICE": "gpu"})
    assert run.returncode == 2, run.stderr
    assert run.stderr.startswith("minigan: error: MINIGAN_DEVICE=gpu (no device given: "
                                 "backend.use(None), or no --device)")


def test_an_unknown_device_the_environment_chose_is_named_as_the_environment(monkeypatch):
    """use(None) under MINIGAN_DEVICE=tpu said "unknown device 'tpu'" alone: minigan sample,
    eval and interpolate, given no --device, named no place where 'tpu' had come from."""
    monkeypatch.setenv("MINIGAN_DEVICE", "tpu")
    with pytest.raises(ValueError) as err:
        backend.use(None)
    assert str(err.value) == ("MINIGAN_DEVICE=tpu (no device given: backend.use(None), or no "
                              "--device): unknown device 'tpu'; set MINIGAN_DEVICE to cpu, gpu "
                              "or auto (or unset it), or give one: backend.use('cpu') "
                              "(--device cpu)")
    with pytest.raises(ValueError, match="^unknown device 'tpu': use"):
        backend.use("tpu")                               # given: named as given
    assert backend.use("cpu") == "cpu"


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


# -- a GPU that CuPy sees but cannot run on -------------------------------------------------------
@pytest.mark.parametrize("broken, library", [("nvrtc", "NVRTC"), ("cublas", "cuBLAS")])
def test_a_gpu_cupy_cannot_run_on_is_not_used(cupy_standin, broken, library):
    """CuPy imports and counts a GPU, but a kernel does not compile or a product fails (the
    CUDA libraries it loads at first use are missing): auto warns why and stays on the CPU,
    gpu refuses, saying what to install."""
    cupy_standin(broken)
    with pytest.warns(UserWarning, match="cannot run on it") as caught:
        assert backend.use("auto") == "cpu"
    assert backend.xp() is np and library in str(caught[0].message)
    with pytest.raises(backend.BackendError, match="cannot run on it") as err:
        backend.use("gpu")
    assert "pip install" in str(err.value) and "--device cpu" in str(err.value)
    assert not backend.gpu_available()


def test_cupy_without_a_driver_says_so(cupy_standin, monkeypatch):
    """CUDA's runtime says "driver version is insufficient" also where no NVIDIA driver is
    installed (CuPy imports without one): the error says both what it may mean and how to
    tell; auto stays on the CPU without a word, as for any machine without a GPU."""
    standin = cupy_standin()

    def no_driver():
        raise standin.CUDARuntimeError("cudaErrorInsufficientDriver: CUDA driver version is "
                                       "insufficient for CUDA runtime version")

    monkeypatch.setattr(standin.runtime, "getDeviceCount", no_driver)
    with pytest.raises(backend.BackendError, match="CUDA is not usable") as err:
        backend.use("gpu")
    assert "no NVIDIA driver was found, or it is older" in str(err.value)
    assert "nvidia-smi" in str(err.value) and "--device cpu" in str(err.value)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert backend.use("auto") == "cpu"


def test_a_gpu_cupy_runs_on_is_used_and_probed_once(cupy_standin, monkeypatch):
    standin = cupy_standin()
    calls = []
    real = standin.ElementwiseKernel
    monkeypatch.setattr(standin, "ElementwiseKernel",
                        lambda *a, **k: calls.append(a[-1]) or real(*a, **k))
    assert backend.use("auto") == "gpu" and backend.use("gpu") == "gpu"
    assert backend.gpu_available()
    assert calls == ["minigan_probe"]                  # one probe for the process


def test_train_on_a_gpu_cupy_cannot_run_on(cupy_standin, train_args, data_dir, tmp_path, capsys,
                                           assert_one_line_error):
    """--device gpu: one line, exit 2, nothing written; --device auto: a warning, then the
    run trains on the CPU."""
    from minigan.app.cli import main

    cupy_standin("nvrtc")
    out = tmp_path / "gpu"
    args = train_args(data_dir, out, "--epochs", "1")
    args[args.index("--device") + 1] = "gpu"
    assert_one_line_error(main(args), capsys.readouterr().err, "cannot run on it")
    assert not out.exists()
    args = train_args(data_dir, tmp_path / "auto", "--epochs", "1")
    args[args.index("--device") + 1] = "auto"
    assert main(args) == 0
    err = capsys.readouterr().err
    assert "minigan: warning: --device auto: CuPy sees a GPU but cannot run on it" in err
    assert "; running on the CPU" in err                  # not "training": sample says it too
    config = (tmp_path / "auto" / "config.json").read_text()
    assert '"device": "cpu"' in config
