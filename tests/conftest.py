"""Shared test configuration: hypothesis profiles, markers, the device, and the fixtures every
floor's tests share (real and tiny MNIST, the command line's arguments, comparing runs).

The tests mirror the package's floors, one folder each (``tests/nn`` for ``minigan.nn``,
...); ``tests/project`` holds what spans them (the import graph, the docs, the examples).
No test module imports another: what they share is here, as fixtures.

Hypothesis profiles (select with HYPOTHESIS_PROFILE=name), from
:func:`minigan.check.testing.register_profiles`:

- ``ci``   (default when CI is set): few examples, derandomized (the same examples on
  every run, so a CI result is reproducible);
- ``dev``  (default otherwise): a few more;
- ``deep``: many examples, for a thorough run before a release.

``python -m pytest`` leaves out the tests marked ``slow`` (learning runs, whole training
runs through the command line, the site's scripts); ``python -m pytest -m slow`` runs them.
Both run in one worker process per CPU (pytest-xdist, ``-n auto`` in setup.cfg); ``-n 0``
runs the tests in pytest's own process. BLAS runs one thread (``OPENBLAS_NUM_THREADS=1``
unless set): the tests' matrices are small, and threads waiting for a busy core make them
many times slower.
"""

import os

for _variable in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_variable, "1")      # before NumPy loads its BLAS

import csv  # noqa: E402
import importlib.util  # noqa: E402
import io  # noqa: E402
import linecache  # noqa: E402
import signal  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
import pytest  # noqa: E402

from minigan import backend  # noqa: E402
from minigan.app import checkpoint  # noqa: E402
from minigan.check import gradcheck, testing  # noqa: E402
from minigan.data import write_idx  # noqa: E402

testing.register_profiles()

ROOT = Path(__file__).resolve().parents[1]
SHARED_MNIST = ROOT.parent / "shared" / "data" / "mnist"
TEST_IMAGES = "t10k-images-idx3-ubyte.gz"
PARTS = ("G", "D", "g_opt", "d_opt")


def _load_standin():
    """tests/cupy_standin.py, the stand-in for CuPy, as the module ``cupy_standin``."""
    spec = importlib.util.spec_from_file_location("cupy_standin",
                                                  Path(__file__).with_name("cupy_standin.py"))
    module = importlib.util.module_from_spec(spec)
    sys.modules["cupy_standin"] = module
    spec.loader.exec_module(module)
    return module


STANDIN = _load_standin()


def pytest_configure(config):
    """The kernels' bodies the stand-in compiles are kept in pytest's cache
    (``.pytest_cache/d/host-kernels``) for the next worker and the next run: one library of
    minigan's kernels, about a second to compile, and the few kernels tests make (a run
    with ``-p no:cacheprovider`` compiles them in each process)."""
    cache = getattr(config, "cache", None)
    if cache is not None:
        STANDIN.BUILD_CACHE = str(cache.mkdir("host-kernels"))


REAL_GPU = backend.gpu_available()
#: What the tests marked ``gpu`` run on here: CuPy on a GPU, else the NumPy stand-in.
GPU_KIND = "cupy" if REAL_GPU else "numpy-standin"


def pytest_generate_tests(metafunc):
    """A test marked ``gpu`` takes the ``gpu_device`` fixture, and its name says which."""
    if metafunc.definition.get_closest_marker("gpu"):
        metafunc.parametrize("gpu_device", [GPU_KIND], indirect=True)


def _use_standin(broken=None):
    """Install the stand-in as ``cupy`` (forgetting kernels and probes made with another);
    returns the function that puts things back."""
    from minigan.backend import kernels

    saved = STANDIN.install(broken)
    kernels._kernel.cache_clear()
    backend._state.pop("probed", None)

    def restore():
        backend.use("cpu")
        STANDIN.uninstall(saved)
        kernels._kernel.cache_clear()
        backend._state.pop("probed", None)
    return restore


@pytest.fixture(autouse=True)
def gpu_device(request, _cpu_and_float32):
    """The GPU of the tests marked ``gpu``: CuPy's where a GPU is present, else the stand-in
    (``tests/cupy_standin.py``: NumPy underneath, the kernels' CUDA bodies compiled for the
    CPU, CuPy's refusals), installed as ``cupy`` for the test. Other tests: nothing."""
    kind = getattr(request, "param", None)
    if kind in (None, "cupy"):
        yield "cupy"
        return
    if STANDIN.compiler() is None:
        pytest.skip("the CuPy stand-in runs the kernels' CUDA bodies compiled for the CPU: "
                    "it needs a C++ compiler (g++, clang++ or $CXX)")
    restore = _use_standin()
    try:
        yield "numpy-standin"
    finally:
        restore()


@pytest.fixture
def cupy_standin():
    """``cupy_standin(broken=None)``: install the stand-in as ``cupy`` for this test (also on a
    machine with a GPU), whole or with a broken part ("nvrtc", "cublas"); returns the module.
    Uninstalled after the test."""
    restores = []

    def install(broken=None):
        if STANDIN.compiler() is None:
            pytest.skip("the CuPy stand-in needs a C++ compiler (g++, clang++ or $CXX)")
        restores.append(_use_standin(broken))
        return STANDIN
    yield install
    for restore in reversed(restores):
        restore()


@pytest.fixture(scope="session")
def run_on_host():
    """``run_on_host(source, *args, out=None, ftz=False)``: a kernel's CUDA body compiled for
    the CPU, run on NumPy arrays (see tests/cupy_standin.py), or a skip without a compiler."""
    if STANDIN.compiler() is None:
        pytest.skip("running the kernel bodies on the CPU needs a C++ compiler (g++ or $CXX)")
    return STANDIN.run_on_host


@pytest.fixture(scope="session")
def kernel_source():
    """``kernel_source(source, ctype, target="cuda")``: a kernel as a complete file, laid out
    as ``cupy.ElementwiseKernel`` lays it out."""
    return STANDIN.standalone_source


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


def _blank_png():
    """A 1 x 1 grey PNG file's bytes."""
    from PIL import Image  # matplotlib's own dependency
    buffer = io.BytesIO()
    Image.new("L", (1, 1), 128).save(buffer, format="PNG")
    return buffer.getvalue()


BLANK_PNG = _blank_png()


@pytest.fixture(autouse=True)
def _loss_curves_built_not_rendered(request, monkeypatch):
    """A run the tests train in process draws its loss curves at its end: the figure is built
    (every line of minigan's code that draws them) and a 1 x 1 PNG written in place of its
    rendering, which takes matplotlib 0.3 s, a third of a tiny run (about 150 runs: a third of
    the suite's time). The tests marked ``rendered_curves`` render them (tests/app/test_plotting.py),
    as do runs in a child process (the slow tests' command lines), runs that a module's or
    the session's fixture trains, and runs after a test's own ``monkeypatch.undo()`` (which
    undoes this too)."""
    if request.node.get_closest_marker("rendered_curves"):
        return
    from minigan.app import fileio, plotting

    def build_and_write_blank(metrics_rows, path, *args, **kwargs):
        plotting.loss_curves_figure(metrics_rows, *args, **kwargs)
        fileio.atomic_write(path, lambda f: f.write(BLANK_PNG))

    monkeypatch.setattr(plotting, "save_loss_curves", build_and_write_blank)


@pytest.fixture(autouse=True)
def _no_wait_for_the_disk(monkeypatch):
    """``os.fsync`` checks its file descriptor and returns, without waiting for the disk:
    a test's files need not outlive a power cut, and the runs the tests train made about
    2,500 fsyncs, 7 s of the suite. What the writers do is unchanged (they call it in the
    same places: tests/app/test_runs.py follows the order), and a test that makes fsync
    fail patches it again (tests/app/test_outputs.py). Child processes sync for real."""
    monkeypatch.setattr(os, "fsync", os.fstat)      # an OSError for a bad descriptor, as fsync


def _ctrl_c(model, stats):
    """A Ctrl-C: SIGINT to this process."""
    os.kill(os.getpid(), signal.SIGINT)


@pytest.fixture
def after_iteration(monkeypatch):
    """``after_iteration(n, act=ctrl_c)``: the ``n``-th call of ``GAN.train_iteration`` from now
    on (counted over every run the test trains) calls ``act(model, stats)`` after its
    iteration and before it returns ``stats``; by default ``act`` sends this process a
    Ctrl-C. ``monkeypatch.undo()`` puts the method back."""
    from minigan import gan
    real = gan.GAN.train_iteration

    def install(n, act=_ctrl_c):
        calls = 0

        def iteration(self, *args, **kwargs):
            nonlocal calls
            stats = real(self, *args, **kwargs)
            calls += 1
            if calls == n:
                act(self, stats)
            return stats

        monkeypatch.setattr(gan.GAN, "train_iteration", iteration)
    return install


@pytest.fixture
def float64():
    """Make float64 the default dtype for the test (gradient checks)."""
    backend.set_default_dtype("float64")
    yield np.float64


@pytest.fixture(scope="session")
def root():
    """The repository's root folder."""
    return ROOT


def _run_docs_code(code, where, namespace):
    """Run ``code``, a block of Python taken out of a page of the docs, in ``namespace``.

    The block is compiled under a name of its own, ``<where>`` (``where`` says the page and
    the block), whose lines :mod:`linecache` is given: a traceback shows the block's lines,
    and ``inspect.getsource``, which hypothesis reads of each test it runs, finds them. Under
    the page's own path both would read the page at the block's line numbers: its prose,
    which Python 3.12 and later refuse to tokenize (the test then fails inside hypothesis).
    """
    filename = f"<{where}>"
    linecache.cache[filename] = (len(code), None, code.splitlines(True), filename)
    exec(compile(code, filename, "exec"), namespace)
    return namespace


@pytest.fixture(scope="session")
def run_docs_code():
    """``run_docs_code(code, where, namespace)``: runs a block of Python from the docs
    (:func:`_run_docs_code`) and returns the namespace."""
    return _run_docs_code


@pytest.fixture
def benchmark_script(monkeypatch):
    """``benchmark_script("bench_cpu")``: benchmarks/bench_cpu.py as a module. The scripts
    put folders on ``sys.path`` and import ``bench_cpu`` from benchmarks/: the path is
    theirs for the test (benchmarks/ first), and ``bench_cpu`` imported afresh, both undone
    after it."""
    folder = ROOT / "benchmarks"
    monkeypatch.setattr(sys, "path", [str(folder), *sys.path])
    monkeypatch.setitem(sys.modules, "bench_cpu", None)
    del sys.modules["bench_cpu"]

    def load(name):
        spec = importlib.util.spec_from_file_location(f"{name}_under_test", folder / f"{name}.py")
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        return module
    return load


# -- MNIST ----------------------------------------------------------------------------------------
def real_mnist_dir():
    """The folder of the real MNIST files: ``$MINIGAN_DATA`` when set, else the shared copy."""
    env = os.environ.get("MINIGAN_DATA")
    return Path(env).expanduser() if env else SHARED_MNIST


@pytest.fixture(scope="session", name="real_mnist_dir")
def _real_mnist_dir_fixture():
    """``real_mnist_dir()``: where the real MNIST files are looked for, now."""
    return real_mnist_dir


@pytest.fixture(scope="session")
def real_mnist():
    """The folder holding the real MNIST test split; the test is skipped, saying where it
    looked, when the files are not there."""
    folder = real_mnist_dir()
    if not (folder / TEST_IMAGES).is_file():
        pytest.skip(f"the MNIST test split is not in {folder} (set MINIGAN_DATA to its folder)")
    return folder


def _write_tiny_mnist(folder, n=256, seed=0):
    """``n`` blurry 28 x 28 strokes as un-gzipped IDX files named like the MNIST test split."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[:28, :28]
    images = np.zeros((n, 28, 28), np.uint8)
    for i in range(n):
        cy, cx, r = rng.uniform(9, 19), rng.uniform(9, 19), rng.uniform(4, 8)
        ring = np.exp(-((np.hypot(yy - cy, xx - cx) - r) ** 2) / 2.0)
        images[i] = np.clip(255 * ring, 0, 255).astype(np.uint8)
    folder.mkdir(parents=True, exist_ok=True)
    write_idx(folder / "t10k-images-idx3-ubyte", images)
    write_idx(folder / "t10k-labels-idx1-ubyte", rng.integers(0, 10, n).astype(np.uint8))
    return folder


@pytest.fixture(scope="session")
def write_tiny_mnist():
    """``write_tiny_mnist(folder, n=256, seed=0)``: a tiny MNIST-like test split in ``folder``
    (a training run on it takes a second or two)."""
    return _write_tiny_mnist


@pytest.fixture(scope="session")
def data_dir(tmp_path_factory):
    """A folder with the tiny MNIST-like test split, shared by the tests that only read it."""
    return _write_tiny_mnist(tmp_path_factory.mktemp("mnist"))


# -- the command line and run folders --------------------------------------------------------------
def _train_args(data_dir, out, *more):
    model = [] if "--model" in more else ["--model", "vanilla"]    # the vanilla GAN, unless said
    return ["train", "--split", "test", "--data-dir", str(data_dir), "--no-download",
            "--device", "cpu", "--quiet", "--batch-size", "32", "--out", str(out), *model, *more]


@pytest.fixture(scope="session")
def train_args():
    """``train_args(data_dir, out, *more)``: the arguments of a quick ``minigan train`` of the
    tiny split on the CPU into ``out``, of the vanilla GAN unless ``more`` names a model."""
    return _train_args


def _metrics_rows(run_dir):
    with open(Path(run_dir) / "metrics.csv", newline="") as f:
        return [{k: v for k, v in row.items() if k != "seconds"} for row in csv.DictReader(f)]


@pytest.fixture(scope="session")
def metrics_rows():
    """``metrics_rows(run_dir)``: the rows of a run's ``metrics.csv``, without the seconds."""
    return _metrics_rows


def _run_state(run_dir):
    """Everything a run's checkpoint holds, as plain Python/NumPy values."""
    ckpt = checkpoint.load_checkpoint(Path(run_dir) / "checkpoint.npz")
    arrays = {f"{p}/{k}": v for p in PARTS for k, v in ckpt[p].items()}
    arrays.update({f"extra/{k}": np.asarray(v) for k, v in ckpt["extra"].items()
                   if k != "seconds"})
    return arrays, ckpt["rng_states"], ckpt["counters"]


@pytest.fixture(scope="session")
def run_state():
    """``run_state(run_dir)``: the arrays, random states and counters of a run's checkpoint."""
    return _run_state


def _assert_same_run(a, b):
    arrays_a, rngs_a, counters_a = _run_state(a)
    arrays_b, rngs_b, counters_b = _run_state(b)
    assert arrays_a.keys() == arrays_b.keys()
    for key in arrays_a:
        assert np.array_equal(arrays_a[key], arrays_b[key]), f"{key} differs"
    assert rngs_a == rngs_b
    assert counters_a == counters_b
    assert _metrics_rows(a) == _metrics_rows(b)


@pytest.fixture(scope="session")
def assert_same_run():
    """``assert_same_run(a, b)``: two run folders hold the same state and metrics, bit for bit."""
    return _assert_same_run


def _assert_one_line_error(rc, err, *needles, code=2):
    assert rc == code
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("minigan: error: ")
    assert "Traceback" not in err
    for needle in needles:
        assert needle in lines[0], lines[0]


@pytest.fixture(scope="session")
def assert_one_line_error():
    """``assert_one_line_error(rc, err, *needles)``: exit code 2 and one ``minigan: error:`` line
    holding every needle."""
    return _assert_one_line_error


@pytest.fixture(scope="session")
def assert_one_line_failure():
    """``assert_one_line_failure(rc, err, *needles)``: exit code 1 (a command that could not go
    on: a full disk) and one ``minigan: error:`` line holding every needle."""
    return lambda rc, err, *needles: _assert_one_line_error(rc, err, *needles, code=1)


def _start_cli(*args):
    """``python -m minigan ARGS`` in a child process (stdout and stderr piped)."""
    env = {**os.environ, "PYTHONPATH": str(ROOT), "OPENBLAS_NUM_THREADS": "1"}
    env.pop("MINIGAN_DEVICE", None)
    return subprocess.Popen([sys.executable, "-m", "minigan", *args], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=env,
                            preexec_fn=_sighup_at_its_default if os.name == "posix" else None)


def _sighup_at_its_default():
    """The child as a terminal starts it, SIGHUP at its default, also where the tests run
    under nohup (which ignores SIGHUP, and a child inherits that)."""
    signal.signal(signal.SIGHUP, signal.SIG_DFL)


@pytest.fixture(scope="session")
def start_cli():
    """``start_cli(*args)``: ``python -m minigan ARGS`` started in a child process (a
    ``subprocess.Popen`` with stdout and stderr piped, text)."""
    return _start_cli


# -- small data and gradient helpers ------------------------------------------------------------
def _blobs(n, seed=0):
    """Ten easy classes: digit c lights up row block c of the image."""
    r = np.random.default_rng(seed)
    y = r.integers(0, 10, n)
    x = r.uniform(0, 0.2, (n, 28, 28)).astype(np.float32)
    for i, c in enumerate(y):
        x[i, 2 * c + 3: 2 * c + 6, 4:24] = 1.0
    return x.reshape(n, 784), y


@pytest.fixture(scope="session")
def blobs():
    """``blobs(n, seed=0)``: ``n`` 28 x 28 images of ten easy classes and their labels."""
    return _blobs


def _step_gradients(model, step, net):
    """``{"all": error}``: testing.assert_step_gradients's measure of a D or G step's gradient
    (gradcheck.check_step, every draw of the model's generator and the other network's state
    replayed; over the tolerance, measured again as testing's checks do), without its
    assertion, so that a test can first rule out kinks with what the step saw."""
    other = model.G if net is model.D else model.D
    errors = gradcheck.check_step(step, net, replayed=(other, model.rng))
    error = errors["parameters"]
    if error > testing.GRAD_TOL:
        error = errors.remeasured("parameters", testing.GRAD_TOL)[0]
    return {"all": error}


@pytest.fixture(scope="session")
def step_gradients():
    """``step_gradients(model, step, net)``: the error of a whole D or G step's gradient."""
    return _step_gradients
