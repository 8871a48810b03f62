"""The GPU kernels, each against the library's NumPy code for the same operation.

Each fused operation has two bodies: the NumPy reference (``im2col``,
``col2im``, the activations, the loss, ``adam_update``) and its CUDA kernel
in :mod:`minigan.backend.kernels`. Three layers of checks:

1. on the CPU, the NumPy code paths never touch a kernel or CuPy;
2. the CUDA bodies outside CuPy: with CuPy and NVRTC installed (no GPU needed)
   every kernel source compiles for float and double; with a C++ compiler every
   body, compiled for the CPU, reproduces its NumPy reference;
3. on the GPU code path (tests marked ``gpu``: on CuPy with a GPU, else through the
   stand-in of ``tests/cupy_standin.py``, which runs the same bodies on the CPU and refuses
   what CuPy refuses), every kernel equals its NumPy reference, every layer equals its
   CPU self, col2im is deterministic, a seeded DCGAN run follows the CPU run, and a GPU
   checkpoint resumes on the CPU.
"""

import inspect
import os
import re
import subprocess
import sys
import textwrap

import numpy as np
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from minigan import backend
from minigan import functional as F
from minigan.backend import kernels
from minigan.check import testing
from minigan.functional import losses
from minigan.functional.im2col import ConvGeometry, col2im, im2col
from minigan.nn import layers as L
from minigan.nn import optim

seeds = st.integers(0, 2**32 - 1)
dtypes = st.sampled_from([np.float32, np.float64])
#: Relative tolerances of the kernel-vs-reference comparisons.
RTOL = {np.float32: 1e-5, np.float64: 1e-12}


def assert_close(actual, expected, dtype, err_msg=""):
    """``actual`` (NumPy or CuPy) equals ``expected`` to the dtype's relative tolerance,
    relative to the largest entry (:func:`minigan.check.testing.assert_close_on_scale`)."""
    testing.assert_close_on_scale(actual, expected, RTOL[np.dtype(dtype).type], err_msg)


@st.composite
def conv_configs(draw):
    """A valid convolution: batch 1-4, channels 1-4, spatial 1-9, kernel 1-5, stride 1-3,
    padding 0-2, with the kernel fitting in the padded input."""
    n, c = draw(st.integers(1, 4)), draw(st.integers(1, 4))
    h, w = draw(st.integers(1, 9)), draw(st.integers(1, 9))
    kh, kw = draw(st.integers(1, 5)), draw(st.integers(1, 5))
    sh, sw = draw(st.integers(1, 3)), draw(st.integers(1, 3))
    ph, pw = draw(st.integers(0, 2)), draw(st.integers(0, 2))
    assume(kh <= h + 2 * ph and kw <= w + 2 * pw)
    return n, c, h, w, kh, kw, sh, sw, ph, pw


def geometry(n, c, h, w, kh, kw, sh, sw, ph, pw):
    """The :class:`ConvGeometry` of a drawn configuration (the batch and channels aside)."""
    return ConvGeometry.conv((h, w), (kh, kw), (sh, sw), (ph, pw))


def random_col(r, n, c, h, w, kh, kw, sh, sw, ph, pw, dtype):
    geom = geometry(n, c, h, w, kh, kw, sh, sw, ph, pw)
    return r.standard_normal(geom.col_shape(c, n)).astype(dtype)


# == 1. CPU: the NumPy paths never touch a kernel or CuPy ============================================
activation_shapes = st.lists(st.integers(1, 6), min_size=1, max_size=4).map(tuple)


# -- the NumPy paths never touch CuPy ------------------------------------------------------------
def _numpy_pipeline():
    """Every dispatched operation once, on NumPy arrays (also run in the subprocess below)."""
    r = np.random.default_rng(0)
    x = r.standard_normal((3, 4))
    for fwd, bwd in ((F.relu_forward, F.relu_backward), (F.tanh_forward, F.tanh_backward),
                     (F.sigmoid_forward, F.sigmoid_backward),
                     (F.leaky_relu_forward, F.leaky_relu_backward)):
        out, cache = fwd(x)
        bwd(np.ones_like(out), cache)
    losses.sigmoid_cross_entropy(x, 1.0)
    p = x.copy()
    opt = optim.Adam([(p, np.ones_like(p))])
    opt.step()
    conv = L.Conv2d(2, 3, 3, stride=2, padding=1, rng=np.random.default_rng(1))
    out = conv(r.standard_normal((2, 2, 5, 5)).astype(np.float32))
    conv.backward(np.ones_like(out))


def test_numpy_path_never_calls_a_kernel(monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("a GPU kernel was called with NumPy arrays")

    for name in kernels.__all__:
        if name.endswith("_gpu"):
            monkeypatch.setattr(kernels, name, refuse)
    _numpy_pipeline()


def test_numpy_path_never_imports_cupy():
    """With ``import cupy`` made to fail, the module imports and the NumPy path runs."""
    code = (
        "import sys\n"
        "sys.modules['cupy'] = None  # any import of cupy now raises ImportError\n"
        "import minigan.backend.kernels\n"
        "import numpy as np\n"
        "from minigan import functional as F\n"
        "from minigan.functional import losses\n"
        "from minigan.nn import layers as L, optim\n"
        + textwrap.dedent(inspect.getsource(_numpy_pipeline))
        + "_numpy_pipeline()\n"
        "print('ok')\n"
    )
    env = {**os.environ, "MINIGAN_DEVICE": "cpu"}
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    env["PYTHONPATH"] = os.pathsep.join([root] + [p for p in [env.get("PYTHONPATH")] if p])
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          env=env, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "ok"


def test_gpu_functions_name_their_reference():
    """Every GPU function names the NumPy function it is tested against, and no NumPy
    copy of an operation lives in the kernels module."""
    for name in kernels.__all__:
        if name.endswith("_gpu"):
            doc = getattr(kernels, name).__doc__
            assert "reference" in doc.lower() and ":func:`minigan." in doc, name
            assert f":func:`{name}`" in kernels.__doc__, (
                f"{name} is missing from the table of GPU functions and their references in "
                f"the docstring of minigan/backend/kernels.py")
    assert not [name for name in dir(kernels) if name.endswith("_numpy")]


# == 2. The kernel bodies outside CuPy: compiled by NVRTC, and run on the CPU as C++ ============
def _params(spec):
    """``[(raw, type, name), ...]`` of a CuPy parameter list such as ``"raw T img, int32 h"``."""
    return [(p.split()[0] == "raw", p.split()[-2], p.split()[-1]) for p in spec.split(",")]


def _nvrtc():
    """CuPy's NVRTC binding, or a skip saying what is missing."""
    try:
        from cupy.cuda import nvrtc
    except Exception as exc:
        pytest.skip(f"compiling the kernels needs CuPy (pip install cupy-cuda12x): "
                    f"{type(exc).__name__}: {exc}")
    try:
        nvrtc.getVersion()
    except Exception as exc:
        pytest.skip(f"compiling the kernels needs NVRTC (pip install nvidia-cuda-nvrtc-cu12, "
                    f"or a CUDA toolkit on the library path): {type(exc).__name__}: {exc}")
    return nvrtc


@pytest.mark.parametrize("name", sorted(kernels.SOURCES))
@pytest.mark.parametrize("ctype", ["float", "double"])
def test_kernel_source_compiles_with_nvrtc(name, ctype, kernel_source):
    """Each CUDA body, in a file laid out like CuPy's, compiles for float and double with
    the options CuPy compiles it with (the kernel's own and CuPy's ``-ftz=true``); CuPy
    accepts its parameter lists (building the ``ElementwiseKernel`` object needs no GPU:
    CuPy compiles at the first call)."""
    nvrtc = _nvrtc()
    source = kernels.SOURCES[name]
    built = kernels._kernel(source)
    assert built is kernels._kernel(source)  # memoized: one object per kernel
    assert (built.nin, built.nout) == (len(_params(source.in_params)),
                                       len(_params(source.out_params)))
    code = kernel_source(source, ctype)
    options = ("-arch=compute_80", "--std=c++14") + kernels.compile_options(source)
    prog = nvrtc.createProgram(code, f"{name}.cu", (), ())
    try:
        try:
            nvrtc.compileProgram(prog, options)
        except nvrtc.NVRTCError:
            pytest.fail(f"{name} ({ctype}) does not compile:\n{nvrtc.getProgramLog(prog)}\n{code}")
        ptx = nvrtc.getPTX(prog)
    finally:
        nvrtc.destroyProgram(prog)
    ptx = ptx.decode() if isinstance(ptx, bytes) else ptx
    assert re.search(rf"\.entry\s+{name}\b", ptx)


@given(cfg=conv_configs(), dtype=dtypes, seed=seeds)
def test_im2col_and_col2im_bodies_on_host_equal_cpu(cfg, dtype, seed, run_on_host):
    """The im2col and col2im-gather CUDA bodies, run on the CPU, give ``im2col`` and
    ``col2im`` to the last bit (the gather sums in col2im's order).

    ``h, w`` are drawn freely, so the image may have rows that no window reaches (the
    transposed convolution's output_padding): the gather must give them zero.
    """
    n, c, h, w = cfg[:4]
    geom = geometry(*cfg)
    r = np.random.default_rng(seed)
    x = r.standard_normal((n, c, h, w)).astype(dtype)
    args = kernels._geometry_args(geom, n, c)
    (col,) = run_on_host(kernels.IM2COL, x, *args, out=[np.empty(geom.col_shape(c, n), dtype)])
    np.testing.assert_array_equal(col, im2col(x, geom))
    col = random_col(r, *cfg, dtype)
    (img,) = run_on_host(kernels.COL2IM, col, *args, out=[np.empty((n, c, h, w), dtype)])
    np.testing.assert_array_equal(img, col2im(col, geom))


def test_col2im_body_on_host_counts_windows(run_on_host):
    """col2im of all-ones columns counts, for each pixel, the windows that cover it."""
    geom = ConvGeometry.conv((4, 4), 3, 2, 1)   # 3 x 3 kernel, stride 2, padding 1: 2 x 2 grid
    col = np.ones(geom.col_shape(1, 1))
    expected = np.outer([1, 2, 1, 1], [1, 2, 1, 1])
    (img,) = run_on_host(kernels.COL2IM, col, *kernels._geometry_args(geom, 1, 1),
                         out=[np.empty((1, 1, 4, 4))])
    np.testing.assert_array_equal(img[0, 0], expected)
    np.testing.assert_array_equal(col2im(col, geom)[0, 0], expected)


@given(shape=activation_shapes, dtype=dtypes, slope=st.sampled_from([0.0, 0.01, 0.2, 1.5]),
       seed=seeds)
def test_activation_bodies_on_host_equal_functional(shape, dtype, slope, seed, run_on_host):
    """The activation CUDA bodies, run on the CPU, against :mod:`minigan.functional`: bit for
    bit where only +, -, * and / are involved (and comparisons); the sigmoid's ``exp`` may
    differ by an ulp."""
    r = np.random.default_rng(seed)
    x = (3 * r.standard_normal(shape)).astype(dtype)
    x.flat[0] = 0.0  # the kink itself
    dout = r.standard_normal(shape).astype(dtype)

    out, cache = F.relu_forward(x)
    (dx,) = run_on_host(kernels.RELU_BACKWARD, dout, out)
    np.testing.assert_array_equal(dx, F.relu_backward(dout, cache))

    out, cache = F.leaky_relu_forward(x, slope)
    y, positive = run_on_host(kernels.LEAKY_RELU_FORWARD, x, slope)
    np.testing.assert_array_equal(y, out)
    np.testing.assert_array_equal(positive, cache[0])
    (dx,) = run_on_host(kernels.LEAKY_RELU_BACKWARD, dout, positive, slope)
    np.testing.assert_array_equal(dx, F.leaky_relu_backward(dout, cache))

    out, cache = F.sigmoid_forward(x)
    (y,) = run_on_host(kernels.SIGMOID, x)
    assert_close(y, out, dtype)
    (dx,) = run_on_host(kernels.SIGMOID_BACKWARD, dout, out)
    np.testing.assert_array_equal(dx, F.sigmoid_backward(dout, cache))

    out, cache = F.tanh_forward(x)
    (dx,) = run_on_host(kernels.TANH_BACKWARD, dout, out)
    np.testing.assert_array_equal(dx, F.tanh_backward(dout, cache))
    for a in (out, F.relu_backward(dout, out), F.sigmoid(x), F.tanh_backward(dout, out)):
        assert a.dtype == dtype


@given(n=st.integers(1, 8), two_d=st.booleans(), dtype=dtypes,
       scale=st.sampled_from([0.1, 1.0, 30.0, 300.0]),
       target=st.sampled_from([0.0, 1.0, 0.9, "array"]), seed=seeds)
def test_sigmoid_cross_entropy_body_on_host_equals_losses(n, two_d, dtype, scale, target, seed, run_on_host):
    """The fused loss-and-gradient body against ``losses.sigmoid_cross_entropy`` (``exp`` and
    ``log1p`` may differ by an ulp), finite for logits of any size."""
    r = np.random.default_rng(seed)
    shape = (n, 1) if two_d else (n,)
    logits = (scale * r.standard_normal(shape)).astype(dtype)
    targets = r.uniform(0, 1, shape).astype(dtype) if target == "array" else target
    loss, dlogits = losses.sigmoid_cross_entropy(logits, targets)
    per_element, grad = run_on_host(kernels.SIGMOID_CROSS_ENTROPY, logits, targets, float(n))
    host_loss = float(per_element.sum()) / n
    assert np.isfinite(host_loss)
    assert host_loss == pytest.approx(loss, rel=RTOL[dtype])
    assert grad.dtype == dlogits.dtype == dtype
    assert_close(grad, dlogits, dtype)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_the_cross_entropy_body_and_losses_take_one_minus_the_same_target(dtype, run_on_host):
    """At logits where sigmoid is exact in both (0, and +-100, where it is 1 or 0), the
    gradient of a soft target is ((1 - t) sigmoid(a) - t sigmoid(-a)) / M with nothing to
    round but 1 - t: the CPU took 1 - 0.9 in float64 (0.1f) where the kernel takes (T)1 - 0.9f
    (0.100000024), a difference that near sigmoid(a) = 0.9 (label smoothing's zero) was a
    thousandth of each entry. Both take t in the logits' dtype: the same bits."""
    logits = np.array([0.0, 100.0, -100.0, 0.0], dtype)
    for targets in (0.9, np.array([0.9, 0.9, 0.9, 0.3], dtype)):
        _, dlogits = losses.sigmoid_cross_entropy(logits, targets)
        _, grad = run_on_host(kernels.SIGMOID_CROSS_ENTROPY, logits, targets, 4.0)
        np.testing.assert_array_equal(grad, dlogits)


@given(shape=activation_shapes, dtype=dtypes, lr=st.sampled_from([1e-3, 2e-4, 0.1]),
       b1=st.sampled_from([0.0, 0.5, 0.9]), b2=st.sampled_from([0.9, 0.999]),
       eps=st.sampled_from([1e-8, 1e-5]), seed=seeds)
def test_adam_body_on_host_equals_optim(shape, dtype, lr, b1, b2, eps, seed, run_on_host):
    """Three steps of the Adam body and of ``optim.adam_update``: the same expression order,
    so the same numbers to the last bit."""
    r = np.random.default_rng(seed)
    p = r.standard_normal(shape).astype(dtype)
    ref = [p.copy(), np.zeros_like(p), np.zeros_like(p)]
    host = [p.copy(), np.zeros_like(p), np.zeros_like(p)]
    for t in range(1, 4):
        g = r.standard_normal(shape).astype(dtype)
        bc1, bc2 = 1.0 - b1**t, 1.0 - b2**t
        optim.adam_update(ref[0], g, ref[1], ref[2], lr, b1, b2, eps, bc1, bc2)
        run_on_host(kernels.ADAM, g, lr, b1, 1.0 - b1, b2, 1.0 - b2, eps, bc1, bc2, out=host)
    for a, b, name in zip(host, ref, "pmv", strict=True):
        assert a.dtype == dtype
        np.testing.assert_array_equal(a, b, err_msg=name)


# == 3. GPU: kernels against the NumPy references, layers against the CPU ========================
def _cupy():
    import cupy

    return cupy


@pytest.mark.gpu
@given(cfg=conv_configs(), dtype=dtypes, seed=seeds)
def test_im2col_gpu_equals_cpu(cfg, dtype, seed):
    cp = _cupy()
    n, c, h, w = cfg[:4]
    geom = geometry(*cfg)
    x = np.random.default_rng(seed).standard_normal((n, c, h, w)).astype(dtype)
    col = kernels.im2col_gpu(cp.asarray(x), geom)
    assert col.dtype == dtype
    np.testing.assert_array_equal(col.get(), im2col(x, geom))


@pytest.mark.gpu
@given(cfg=conv_configs(), dtype=dtypes, seed=seeds)
def test_col2im_gpu_equals_cpu(cfg, dtype, seed):
    cp = _cupy()
    n, c, h, w = cfg[:4]
    geom = geometry(*cfg)
    col = random_col(np.random.default_rng(seed), *cfg, dtype)
    img = kernels.col2im_gpu(cp.asarray(col), geom)
    assert img.dtype == dtype and img.shape == (n, c, h, w)
    assert_close(img, col2im(col, geom), dtype)


@pytest.mark.gpu
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_col2im_gpu_is_deterministic(dtype):
    """A gather has no atomics: two runs give the same bits (DCGAN's ConvT 128 -> 64 size)."""
    cp = _cupy()
    col = cp.asarray(np.random.default_rng(0).standard_normal((64, 4, 4, 7, 7, 32)).astype(dtype))
    geom = ConvGeometry.conv((14, 14), 4, 2, 1)
    first = kernels.col2im_gpu(col, geom)
    second = kernels.col2im_gpu(col, geom)
    assert first.get().tobytes() == second.get().tobytes()


@pytest.mark.gpu
@given(shape=activation_shapes, dtype=dtypes, slope=st.sampled_from([0.0, 0.2, 1.5]),
       seed=seeds)
def test_activation_kernels_equal_functional(shape, dtype, slope, seed):
    cp = _cupy()
    r = np.random.default_rng(seed)
    x = (3 * r.standard_normal(shape)).astype(dtype)
    x.flat[0] = 0.0
    dout = r.standard_normal(shape).astype(dtype)
    out = np.tanh(x)  # any array in (-1, 1) serves as a cached output
    gx, gdout, gout = cp.asarray(x), cp.asarray(dout), cp.asarray(out)

    assert_close(kernels.relu_backward_gpu(gdout, gout), F.relu_backward(dout, out), dtype)
    g_out, g_positive = kernels.leaky_relu_forward_gpu(gx, slope)
    c_out, c_cache = F.leaky_relu_forward(x, slope)
    assert_close(g_out, c_out, dtype)
    np.testing.assert_array_equal(g_positive.get(), c_cache[0])
    assert_close(kernels.leaky_relu_backward_gpu(gdout, g_positive, slope),
                 F.leaky_relu_backward(dout, c_cache), dtype)
    assert_close(kernels.sigmoid_gpu(gx), F.sigmoid(x), dtype)
    assert_close(kernels.sigmoid_backward_gpu(gdout, gout), F.sigmoid_backward(dout, out), dtype)
    assert_close(kernels.tanh_backward_gpu(gdout, gout), F.tanh_backward(dout, out), dtype)


@pytest.mark.gpu
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_sigmoid_kernel_cannot_overflow(dtype):
    cp = _cupy()
    x = np.array([-1e4, -100.0, -1.0, 0.0, 1.0, 100.0, 1e4], dtype=dtype)
    out = kernels.sigmoid_gpu(cp.asarray(x)).get()
    assert np.all(np.isfinite(out))
    assert_close(out, F.sigmoid(x), dtype)


@pytest.mark.gpu
def test_the_32_bit_size_guard_comes_before_the_allocation(monkeypatch):
    """An im2col or col2im whose result would need more than 2**31 - 1 elements is refused
    from its geometry, before anything is allocated (not after allocating gigabytes)."""
    cp = _cupy()
    allocated = []
    real_empty = cp.empty
    monkeypatch.setattr(cp, "empty", lambda *a, **k: allocated.append(a) or real_empty(*a, **k))
    huge = ConvGeometry.conv((50_000, 50_000), 1, 1, 0)          # 2.5e9 pixels per channel
    with pytest.raises(ValueError, match="too large for 32-bit indexing"):
        kernels.im2col_gpu(cp.zeros((1, 1, 1, 1), dtype=np.float32), huge)
    with pytest.raises(ValueError, match="too large for 32-bit indexing"):
        kernels.col2im_gpu(cp.zeros((1, 1, 1, 1, 1, 1), dtype=np.float32), huge)
    assert allocated == []


@pytest.mark.gpu
def test_float32_kernels_flush_subnormals_as_the_kernels_docs_say():
    """CuPy compiles with -ftz=true: in float32 a result below the smallest normal float is
    0 on the GPU where NumPy keeps the subnormal; float64 is not flushed. What the kernels'
    docs promise ("the same numbers" for every normal result)."""
    cp = _cupy()
    x = np.array([-87.5, -80.0, 0.0, 3.0], dtype=np.float32)
    gpu, cpu = kernels.sigmoid_gpu(cp.asarray(x)).get(), F.sigmoid(x)
    assert 0 < cpu[0] < np.finfo(np.float32).tiny and gpu[0] == 0.0     # flushed
    np.testing.assert_allclose(gpu[1:], cpu[1:], rtol=RTOL[np.float32])  # normal: the same
    x64 = x.astype(np.float64)
    np.testing.assert_allclose(kernels.sigmoid_gpu(cp.asarray(x64)).get(), F.sigmoid(x64),
                               rtol=RTOL[np.float64])
    assert "-ftz=true" in kernels.CUPY_OPTIONS and "flushed to 0" in kernels.__doc__


@pytest.mark.gpu
@given(n=st.integers(1, 64), two_d=st.booleans(), dtype=dtypes,
       scale=st.sampled_from([0.1, 1.0, 30.0, 300.0]),
       target=st.sampled_from([0.0, 1.0, 0.9, "array"]), seed=seeds)
def test_sigmoid_cross_entropy_kernel_equals_losses(n, two_d, dtype, scale, target, seed):
    cp = _cupy()
    r = np.random.default_rng(seed)
    shape = (n, 1) if two_d else (n,)
    logits = (scale * r.standard_normal(shape)).astype(dtype)
    targets = r.uniform(0, 1, shape).astype(dtype) if target == "array" else target
    g_targets = cp.asarray(targets) if target == "array" else targets
    loss, dlogits = kernels.sigmoid_cross_entropy_gpu(cp.asarray(logits), g_targets)
    ref_loss, ref_dlogits = losses.sigmoid_cross_entropy(logits, targets)
    assert isinstance(loss, float) and np.isfinite(loss)
    assert loss == pytest.approx(ref_loss, rel=RTOL[dtype])
    assert dlogits.dtype == dtype
    assert_close(dlogits, ref_dlogits, dtype)
    # and through the dispatch in minigan.functional.losses
    loss2, dlogits2 = losses.sigmoid_cross_entropy(cp.asarray(logits), g_targets)
    assert loss2 == loss
    assert_close(dlogits2, dlogits, dtype)


@pytest.mark.gpu
@given(shape=activation_shapes, dtype=dtypes, lr=st.sampled_from([1e-3, 2e-4, 0.1]),
       b1=st.sampled_from([0.0, 0.5, 0.9]), b2=st.sampled_from([0.9, 0.999]), seed=seeds)
def test_adam_kernel_equals_optim(shape, dtype, lr, b1, b2, seed):
    """Three steps, in place: p, m and v follow ``optim.adam_update`` on the host (the kernel
    is compiled without FMA contraction)."""
    cp = _cupy()
    r = np.random.default_rng(seed)
    p = r.standard_normal(shape).astype(dtype)
    cpu = [p.copy(), np.zeros_like(p), np.zeros_like(p)]
    gpu = [cp.asarray(a) for a in cpu]
    ids = [id(a) for a in gpu]
    for t in range(1, 4):
        g = r.standard_normal(shape).astype(dtype)
        bc1, bc2 = 1.0 - b1**t, 1.0 - b2**t
        optim.adam_update(cpu[0], g, cpu[1], cpu[2], lr, b1, b2, 1e-8, bc1, bc2)
        kernels.adam_update_gpu(gpu[0], cp.asarray(g), gpu[1], gpu[2], lr, b1, b2, 1e-8, bc1, bc2)
    assert [id(a) for a in gpu] == ids
    for g_arr, c_arr, name in zip(gpu, cpu, "pmv", strict=True):
        assert_close(g_arr, c_arr, dtype, err_msg=name)


@pytest.mark.gpu
def test_adam_optimizer_on_gpu_uses_the_kernel(monkeypatch):
    cp = _cupy()
    calls = []
    real = kernels.adam_update_gpu

    def spy(*args):
        calls.append(args[0].shape)
        return real(*args)

    monkeypatch.setattr(kernels, "adam_update_gpu", spy)
    params = [(cp.ones((3, 2)), cp.full((3, 2), 0.5)), (cp.ones(4), cp.ones(4))]
    optim.Adam(params).step()
    assert calls == [(3, 2), (4,)]


@pytest.mark.gpu
@pytest.mark.parametrize("make", [
    lambda pairs: optim.Adam(pairs, lr=1e-2, betas=(0.5, 0.999)),
    lambda pairs: optim.RMSProp(pairs, lr=1e-2, alpha=0.9),
    lambda pairs: optim.SGD(pairs, lr=1e-2, momentum=0.9)], ids=["Adam", "RMSProp", "SGD"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_each_optimizer_steps_on_the_gpu_as_on_the_cpu(make, dtype):
    """Three steps of each optimizer on the device's arrays, in place (the arrays the test
    holds move): parameters and state equal the NumPy optimizer's."""
    cp = _cupy()
    r = np.random.default_rng(0)
    shapes = [(5, 3), (3,)]
    cpu = [(r.standard_normal(s).astype(dtype), np.zeros(s, dtype)) for s in shapes]
    gpu = [(cp.asarray(p), cp.asarray(g)) for p, g in cpu]
    start = [p.copy() for p, _ in cpu]
    on_cpu, on_gpu = make(cpu), make(gpu)
    for _ in range(3):
        for (_, g), (_, h) in zip(cpu, gpu, strict=True):
            g[...] = r.standard_normal(g.shape).astype(dtype)
            h[...] = cp.asarray(g)
        on_cpu.step()
        on_gpu.step()
    assert not any(np.array_equal(cp.asnumpy(q), s) for (q, _), s in zip(gpu, start, strict=True))
    state = on_gpu.state_dict()
    for key, value in on_cpu.state_dict().items():
        assert_close(state[key], value, dtype, err_msg=key)
    for (p, _), (q, _) in zip(cpu, gpu, strict=True):
        assert_close(q, p, dtype)


# -- every layer on the GPU equals its CPU self ------------------------------------------------
#: Layer factories ``rng -> layer`` and the input shape each takes.
LAYERS = {
    "Dense": (lambda r: L.Dense(6, 5, rng=r), (4, 6)),
    "ReLU": (lambda r: L.ReLU(), (4, 3, 5, 5)),
    "LeakyReLU": (lambda r: L.LeakyReLU(0.2), (4, 3, 5, 5)),
    "Tanh": (lambda r: L.Tanh(), (4, 7)),
    "Sigmoid": (lambda r: L.Sigmoid(), (4, 7)),
    "Dropout": (lambda r: L.Dropout(0.3, rng=r), (4, 3, 5, 5)),
    "Conv2d": (lambda r: L.Conv2d(3, 4, 4, stride=2, padding=1, rng=r), (2, 3, 8, 8)),
    "Conv2d_k3s1p1": (lambda r: L.Conv2d(3, 2, 3, stride=1, padding=1, rng=r), (2, 3, 5, 6)),
    "ConvTranspose2d": (lambda r: L.ConvTranspose2d(4, 3, 4, stride=2, padding=1, rng=r),
                        (2, 4, 7, 7)),
    "ConvTranspose2d_op": (lambda r: L.ConvTranspose2d(2, 3, 3, stride=2, padding=1,
                                                       output_padding=1, rng=r), (2, 2, 4, 5)),
    "BatchNorm1d": (lambda r: L.BatchNorm(5), (8, 5)),
    "BatchNorm2d": (lambda r: L.BatchNorm(3), (4, 3, 5, 5)),
    "Sequential": (lambda r: L.Sequential(
        L.Conv2d(1, 4, 4, stride=2, padding=1, rng=r), L.LeakyReLU(0.2),
        L.Conv2d(4, 8, 4, stride=2, padding=1, rng=r), L.BatchNorm(8), L.LeakyReLU(0.2),
        L.Flatten(), L.Dense(8 * 2 * 2, 1, rng=r)), (3, 1, 8, 8)),
    "Sequential_generator": (lambda r: L.Sequential(
        L.Dense(5, 8 * 2 * 2, rng=r), L.BatchNorm(8 * 2 * 2), L.ReLU(), L.Reshape((8, 2, 2)),
        L.ConvTranspose2d(8, 4, 4, stride=2, padding=1, rng=r), L.BatchNorm(4), L.ReLU(),
        L.ConvTranspose2d(4, 1, 4, stride=2, padding=1, rng=r), L.Tanh()), (3, 5)),
    # the layers added after the GPU path was written; in training mode the spectral norm's
    # forward pass replaces its buffer u, which the test compares with the CPU's
    "SpectralNorm_Dense": (lambda r: L.SpectralNorm(L.Dense(6, 5, rng=r), rng=r), (4, 6)),
    "SpectralNorm_Conv2d": (lambda r: L.SpectralNorm(
        L.Conv2d(3, 4, 4, stride=2, padding=1, rng=r), rng=r), (2, 3, 8, 8)),
    "MinibatchStdDev": (lambda r: L.MinibatchStdDev(), (4, 3, 5, 5)),
    "MinibatchStdDev_groups": (lambda r: L.MinibatchStdDev(group_size=2), (6, 7)),
    "MinibatchDiscrimination": (lambda r: L.MinibatchDiscrimination(6, kernels=4, kernel_dim=3,
                                                                    rng=r), (5, 6)),
    "Pack": (lambda r: L.Pack(2), (4, 3, 5, 5)),
    "PixelNorm": (lambda r: L.PixelNorm(), (4, 6)),
    "PixelNorm_maps": (lambda r: L.PixelNorm(), (2, 3, 4, 4)),
    "ConditionalGenerator": (lambda r: L.ConditionalGenerator(L.Sequential(
        L.Dense(5 + 10, 12, rng=r), L.BatchNorm(12), L.ReLU(), L.Reshape((3, 2, 2)),
        L.Tanh()), classes=10), (4, 15)),
    "SelfConditionedGenerator": (lambda r: L.SelfConditionedGenerator(L.Sequential(
        L.Dense(5 + 4, 6, rng=r), L.LeakyReLU(0.2), L.PixelNorm(), L.Dense(6, 7, rng=r),
        L.Tanh()), classes=4), (6, 5)),
    "LabelledSequential": (lambda r: L.LabelledSequential(
        L.Dense(5 + 3, 6, rng=r), L.LeakyReLU(0.2), L.PixelNorm(), L.Dense(6 + 3, 7, rng=r),
        L.Tanh(), classes=3), (4, 8)),
}


def test_every_layer_class_is_compared_on_the_gpu():
    """Each layer class of ``minigan.nn.layers.__all__`` is in LAYERS, alone or inside a
    Sequential (Flatten, Reshape), so that the test below runs it on both devices."""
    defined = {getattr(L, name) for name in L.__all__ if isinstance(getattr(L, name), type)
               and issubclass(getattr(L, name), L.Layer) and name != "Layer"}
    covered = {type(inner) for make, _ in LAYERS.values()
               for inner in make(np.random.default_rng(0)).walk()}
    missing = sorted(cls.__name__ for cls in defined - covered)
    assert not missing, (f"layers never compared on the GPU with their CPU selves: {missing}; "
                         f"add each to LAYERS (tests/backend/test_kernels.py) with an input shape")


#: Layer comparisons (GEMMs and reductions sum in another order on the GPU), relative to the
#: problem's scale.
LAYER_RTOL = {np.float32: 1e-4, np.float64: 1e-12}


def _run_layer(device, name, dtype, x, dout, seed, training):
    backend.use(device)
    backend.set_default_dtype(dtype)
    make, _ = LAYERS[name]
    layer = make(np.random.default_rng(seed)).train(training)
    out = layer.forward(backend.asarray(x))
    dx = layer.backward(backend.asarray(dout))
    host = lambda d: {k: backend.to_host(v) for k, v in d.items()}  # noqa: E731
    return (backend.to_host(out), backend.to_host(dx), host(layer.params), host(layer.grads),
            host(layer.buffers))


@pytest.mark.gpu
@pytest.mark.parametrize("training", [True, False], ids=["train", "eval"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("name", sorted(LAYERS))
def test_layer_on_gpu_equals_cpu(name, dtype, training):
    """A layer's output, input gradient, parameters, gradients and buffers on the GPU equal
    its CPU self, each entry within ``rtol`` of the PROBLEM's scale: the inputs are of unit
    scale, and the scale is the largest magnitude among everything compared. An array's own
    scale would not do: a gradient that is exactly 0 in exact arithmetic (a bias feeding a
    BatchNorm in training) is rounding noise on both devices, and the noise differs."""
    _, shape = LAYERS[name]
    r = np.random.default_rng(7)
    x = r.standard_normal(shape).astype(dtype)
    # dout has the output's shape: take it from a CPU forward pass
    backend.use("cpu")
    backend.set_default_dtype(dtype)
    out_shape = LAYERS[name][0](np.random.default_rng(0)).train(training).forward(x).shape
    dout = r.standard_normal(out_shape).astype(dtype)
    cpu = _run_layer("cpu", name, dtype, x, dout, 0, training)
    gpu = _run_layer("gpu", name, dtype, x, dout, 0, training)
    rtol = LAYER_RTOL[dtype]
    compared = [("out", cpu[0], gpu[0]), ("dx", cpu[1], gpu[1])]
    for what, c_dict, g_dict in zip(("params", "grads", "buffers"), cpu[2:], gpu[2:], strict=True):
        assert set(c_dict) == set(g_dict), what
        compared += [(f"{what}[{key}]", c_dict[key], g_dict[key]) for key in c_dict]
    scale = max(float(np.abs(c).max()) for _, c, _ in compared if c.size)
    for what, c, g in compared:
        assert g.dtype == c.dtype, what
        np.testing.assert_allclose(g, c, rtol=rtol, atol=rtol * scale, err_msg=f"{name} {what}")
    assert cpu[0].dtype == cpu[1].dtype == dtype


@pytest.mark.gpu
def test_dropout_same_seed_same_mask_on_gpu():
    x = np.ones((5, 40), dtype=np.float32)
    masks = []
    for device in ("cpu", "gpu"):
        backend.use(device)
        out = L.Dropout(0.5, rng=np.random.default_rng(3)).forward(backend.asarray(x))
        masks.append(backend.to_host(out))
    np.testing.assert_array_equal(masks[0], masks[1])
    assert 0 < (masks[0] == 0).sum() < x.size


@pytest.mark.gpu
def test_functional_ops_on_gpu_call_the_kernels(monkeypatch):
    """CuPy arrays go through the fused kernels (each called once), NumPy arrays never."""
    cp = _cupy()
    calls = []

    def spy(name, real):
        def call(*args, **kwargs):
            calls.append(name)
            return real(*args, **kwargs)
        return call

    for name in kernels.__all__:
        if name.endswith("_gpu"):
            monkeypatch.setattr(kernels, name, spy(name, getattr(kernels, name)))
    x = cp.asarray(np.random.default_rng(0).standard_normal((4, 3)))
    out, cache = F.leaky_relu_forward(x, 0.2)
    F.leaky_relu_backward(cp.ones_like(out), cache)
    out, cache = F.relu_forward(x)
    F.relu_backward(cp.ones_like(out), cache)
    out, cache = F.sigmoid_forward(x)
    F.sigmoid_backward(cp.ones_like(out), cache)
    out, cache = F.tanh_forward(x)
    F.tanh_backward(cp.ones_like(out), cache)
    losses.sigmoid_cross_entropy(x, 1.0)
    assert calls == ["leaky_relu_forward_gpu", "leaky_relu_backward_gpu", "relu_backward_gpu",
                     "sigmoid_gpu", "sigmoid_backward_gpu", "tanh_backward_gpu",
                     "sigmoid_cross_entropy_gpu"]


# -- end to end: a seeded DCGAN run, a GPU checkpoint resumed on the CPU ---------------------------
def _dcgan_run(device, dtype, iterations=20, batch=16, seed=0):
    """``iterations`` of Algorithm 1 on the DCGAN with fixed real data.

    Returns the final parameters, the per-iteration statistics and samples of
    the final generator (evaluation mode) on fixed noise, all on the host.
    """
    from minigan import gan
    from minigan.gan import models

    backend.use(device)
    backend.set_default_dtype(dtype)
    G, D = models.dcgan(np.random.default_rng(seed), dtype=dtype)
    spec = models.MODELS["dcgan"]
    g_opt = optim.Adam(G, lr=spec.lr, betas=spec.betas)
    d_opt = optim.Adam(D, lr=spec.lr, betas=spec.betas)
    trainer = gan.GAN(G, D, g_opt, d_opt, spec.noise_dim, rng=np.random.default_rng(seed + 1))
    data = np.random.default_rng(seed + 2).uniform(-1, 1, (4, batch, 1, 28, 28)).astype(dtype)
    batches = (backend.asarray(data[i % len(data)]) for i in range(iterations * trainer.k))
    history = [trainer.train_iteration(lambda: next(batches)) for _ in range(iterations)]
    params = {f"{who}/{k}": backend.to_host(v)
              for who, model in (("G", G), ("D", D)) for k, v in model.params.items()}
    z = np.random.default_rng(seed + 3).standard_normal((8, spec.noise_dim)).astype(dtype)
    samples = backend.to_host(trainer.sample(z=backend.asarray(z)))
    return params, history, samples


@pytest.mark.gpu
@pytest.mark.slow    # two DCGAN runs: seconds on a GPU, a while through the stand-in
def test_dcgan_20_iterations_gpu_matches_cpu_float64():
    """In float64 the seeded run is the same on both devices, parameter by parameter.

    The devices round differently (GEMM and reduction order), at ~1e-16. Measured
    on the CPU, perturbing the initial weights by 1e-15 moves the parameters after
    20 iterations by at most ~1e-13 of their scale (the biases that feed a
    BatchNorm, whose true gradient is zero, by ~5e-10 in absolute terms):
    rtol 1e-6 and atol 1e-8 leave a wide margin and still catch any kernel error.
    """
    cpu_params, cpu_hist, cpu_samples = _dcgan_run("cpu", "float64")
    gpu_params, gpu_hist, gpu_samples = _dcgan_run("gpu", "float64")
    assert set(cpu_params) == set(gpu_params)
    for key, c in cpu_params.items():
        assert gpu_params[key].dtype == np.float64
        np.testing.assert_allclose(gpu_params[key], c, rtol=1e-6, atol=1e-8, err_msg=key)
    for c, g in zip(cpu_hist, gpu_hist, strict=True):
        for k in c:
            assert g[k] == pytest.approx(c[k], rel=1e-8, abs=1e-10), k
    np.testing.assert_allclose(gpu_samples, cpu_samples, rtol=1e-6, atol=1e-8)


@pytest.mark.gpu
@pytest.mark.slow    # two DCGAN runs: seconds on a GPU, a while through the stand-in
def test_dcgan_20_iterations_gpu_follows_cpu_float32():
    """In float32 the two runs stay together in what they measure, not bit for bit.

    Why not compare parameters element by element (say rtol 1e-3, atol 1e-4):
    Adam divides each gradient by its own running scale, so its first step is
    ``lr * sign(g)`` and an element whose gradient is at rounding level moves by
    ~lr = 2e-4 per step in a direction that depends on the rounding. The biases
    that feed a BatchNorm have exactly such gradients (BatchNorm cancels them), and
    the two players feed each other's differences back for 20 steps. Measured on
    the CPU with this seed, float32 against float64 differs by up to 2.6e-3 in
    those biases and 8.9e-4 in the generator's first weights, and perturbing the
    initial float32 weights by 1e-7 gives the same spread: an element-wise
    tolerance that passes would bound nothing that Adam does not bound anyway
    (~lr per step). The float64 test above checks the parameters; here the
    per-iteration losses and mean D outputs must agree to 5% (measured spread
    between float32 and float64: at most 1.2e-2 relative).
    """
    _, cpu_hist, _ = _dcgan_run("cpu", "float32")
    _, gpu_hist, _ = _dcgan_run("gpu", "float32")
    for i, (c, g) in enumerate(zip(cpu_hist, gpu_hist, strict=True)):
        for k in c:
            assert np.isfinite(g[k]), (i, k)
            assert g[k] == pytest.approx(c[k], rel=5e-2, abs=1e-3), (i, k)


def _default_run(device, dtype, iterations=9, batch=32, seed=0):
    """``iterations`` of the default model's training as the trainer builds it: its groups
    found by k-means (on the host) in 300 fixed images, G self-conditioned on them, the
    hinge game with minibatch standard deviation, R1 on every fourth D step, G's step on the
    D step's batch, and the moving average of G after each iteration.

    Returns the final parameters of G, D and the average (and the average's buffers), the
    per-iteration statistics and the average's digits of fixed noise, all on the host, and
    whether every parameter and buffer lived on the GPU.
    """
    from minigan import gan
    from minigan.gan import clusters, conditional, models
    from minigan.gan.ema import EMA

    backend.use(device)
    backend.set_default_dtype(dtype)
    spec = models.MODELS["mlp"]
    G, D = models.build("mlp", np.random.default_rng(seed), np.dtype(dtype),
                        **models.remedies(spec.defaults))
    images = np.random.default_rng(seed + 1).uniform(-1, 1, (300, 784)).astype(dtype)
    _, groups = clusters.kmeans(images, spec.defaults["clusters"], np.random.default_rng(seed + 2))
    clusters.self_condition(G, groups, "gaussian")
    model = gan.GAN(G, D, optim.Adam(G, spec.lr, spec.betas), optim.Adam(D, spec.lr, spec.betas),
                    spec.noise_dim, rng=np.random.default_rng(seed + 3), check_data=False,
                    loss=spec.defaults["loss"], reuse_fake=spec.reuse_fake,
                    r1=spec.defaults["r1"])
    ema = EMA(G, spec.defaults["ema"])
    on_device, labels = backend.asarray(images), backend.asarray(groups.astype(np.int64))
    order = np.random.default_rng(seed + 4).permutation(len(images))
    rows = (backend.asarray(order[(i * batch) % 256:(i * batch) % 256 + batch])
            for i in range(iterations * model.k))
    history = []
    for _ in range(iterations):
        history.append(model.train_iteration(lambda: conditional.with_labels(
            on_device[(at := next(rows))], labels[at], G.classes)))
        ema.update()
    arrays = {f"{who}/{k}": v for who, net in (("G", G), ("D", D), ("G_ema", ema.generator))
              for k, v in net.params.items()}
    arrays.update({f"G_ema/buffer/{k}": v for k, v in ema.generator.buffers.items()})
    on_gpu = all(backend.on_gpu(v) for v in arrays.values())
    z = np.random.default_rng(seed + 5).standard_normal((8, spec.noise_dim)).astype(dtype)
    samples = backend.to_host(L.generated_images(ema.generator, backend.asarray(z)))
    return {k: backend.to_host(v) for k, v in arrays.items()}, history, samples, on_gpu


@pytest.mark.gpu
def test_the_default_models_training_on_the_gpu_matches_the_cpu_float64():
    """The default model's whole iteration (groups, pixel norm, the group at each of G's
    layers, hinge, minibatch standard deviation, lazy R1 and its double backward, the reused
    fake batch, Adam, the moving average) is the same on both devices in float64, to the
    devices' rounding: the tolerances of the DCGAN's run above (measured through the
    stand-in: 9e-14 of each array's scale at most)."""
    cpu_arrays, cpu_hist, cpu_samples, cpu_on_gpu = _default_run("cpu", "float64")
    gpu_arrays, gpu_hist, gpu_samples, gpu_on_gpu = _default_run("gpu", "float64")
    assert gpu_on_gpu and not cpu_on_gpu
    assert set(cpu_arrays) == set(gpu_arrays)
    assert any(k.startswith("G_ema/buffer/") for k in cpu_arrays)      # the groups' cuts
    for key, c in cpu_arrays.items():
        assert gpu_arrays[key].dtype == c.dtype, key
        np.testing.assert_allclose(gpu_arrays[key], c, rtol=1e-6, atol=1e-8, err_msg=key)
    assert any(h["r1"] > 0 for h in cpu_hist)                    # R1 was taken
    for c, g in zip(cpu_hist, gpu_hist, strict=True):
        assert set(c) == set(g)
        for k in c:
            assert g[k] == pytest.approx(c[k], rel=1e-8, abs=1e-10), k
    np.testing.assert_allclose(gpu_samples, cpu_samples, rtol=1e-6, atol=1e-8)


@pytest.mark.gpu
def test_gpu_checkpoint_resumes_on_cpu(tmp_path):
    from minigan import gan
    from minigan.app import checkpoint
    from minigan.gan import models

    def build(seed):
        G, D = models.vanilla(np.random.default_rng(seed), dtype="float32")
        g_opt, d_opt = optim.Adam(G), optim.Adam(D)
        trainer = gan.GAN(G, D, g_opt, d_opt, 100, rng=np.random.default_rng(seed + 1))
        return G, D, g_opt, d_opt, trainer

    backend.use("gpu")
    G, D, g_opt, d_opt, trainer = build(0)
    x = backend.asarray(np.random.default_rng(2).random((8, 784)).astype(np.float32))
    for _ in range(3):
        trainer.train_iteration(lambda: x)
    path = tmp_path / "gpu.npz"
    checkpoint.save_checkpoint(path, generator=G, discriminator=D, g_opt=g_opt, d_opt=d_opt,
                               iteration=3, epoch=0,
                               rng_states={"noise": trainer.rng.bit_generator.state},
                               config={"model": "vanilla"})
    gpu_state = {
        "G": {k: backend.to_host(v) for k, v in G.state_dict().items()},
        "D": {k: backend.to_host(v) for k, v in D.state_dict().items()},
        "g_opt": {k: backend.to_host(v) for k, v in g_opt.state_dict().items()},
        "d_opt": {k: backend.to_host(v) for k, v in d_opt.state_dict().items()},
    }

    backend.use("cpu")
    G2, D2, g_opt2, d_opt2, trainer2 = build(9)
    ckpt = checkpoint.load_checkpoint(path)
    checkpoint.restore(ckpt, generator=G2, discriminator=D2, g_opt=g_opt2, d_opt=d_opt2,
                       model="vanilla")
    restored = {"G": G2.state_dict(), "D": D2.state_dict(), "g_opt": g_opt2.state_dict(),
                "d_opt": d_opt2.state_dict()}
    for part, state in gpu_state.items():
        assert set(state) == set(restored[part]), part
        for key, value in state.items():
            assert isinstance(restored[part][key], np.ndarray), (part, key)
            np.testing.assert_array_equal(restored[part][key], value, err_msg=f"{part}/{key}")
    assert g_opt2.t == g_opt.t == 3
    # and training continues on the CPU from there
    trainer2.rng.bit_generator.state = ckpt["rng_states"]["noise"]
    stats = trainer2.train_iteration(lambda: backend.to_host(x))
    assert np.isfinite(stats["d_loss"]) and np.isfinite(stats["g_loss"])
