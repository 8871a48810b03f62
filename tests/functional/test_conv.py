"""Tests for minigan.functional.im2col and minigan.functional.conv, and the Conv2d / ConvTranspose2d layers.

The fast path (im2col + one GEMM) is compared with the naive loop references
in float64, the hand-written gradients with numeric vector-Jacobian products,
and the two operations with each other through their duality.
"""

import math
import os
import subprocess
import sys

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from minigan import functional as F
from minigan.check import testing
from minigan.check.gradcheck import rel_error
from minigan.check.naive import conv2d_naive, conv_transpose2d_naive
from minigan.check.testing import conv2d_configs as conv_configs
from minigan.check.testing import conv_transpose2d_configs as conv_transpose_configs
from minigan.functional import im2col as im2col_module
from minigan.functional.im2col import (
    ConvGeometry,
    col2im,
    col2im_matmul,
    col2im_matmul_cpu,
    conv_output_size,
    conv_transpose_output_size,
    im2col,
)
from minigan.nn import layers

EXACT_TOL = 1e-12    # two exact float64 computations of the same sum


def _arrays(cfg, out_axis):
    rng = np.random.default_rng(cfg["seed"])
    x = rng.standard_normal(cfg["x_shape"])
    W = rng.standard_normal(cfg["W_shape"])
    b = rng.standard_normal(cfg["W_shape"][out_axis]) if cfg["bias"] else None
    return x, W, b, rng


def _pair_args(x, W, b):
    """``arrays`` for check_pair: with or without the bias."""
    return {"x": x, "W": W, "b": b} if b is not None else {"x": x, "W": W}


# -- output sizes ----------------------------------------------------------------------
def test_output_size_formulas():
    # DCGAN: 28 -> 14 -> 7 in D, 7 -> 14 -> 28 in G (k=4, s=2, p=1)
    assert conv_output_size(28, 4, 2, 1) == 14
    assert conv_output_size(14, 4, 2, 1) == 7
    assert conv_transpose_output_size(7, 4, 2, 1) == 14
    assert conv_transpose_output_size(14, 4, 2, 1) == 28
    # PyTorch floors: (8 + 0 - 3) / 2 = 2.5 -> 2, plus 1
    assert conv_output_size(8, 3, 2, 0) == 3
    # output_padding picks the other input size that a stride-2 conv maps to 3
    assert conv_transpose_output_size(3, 3, 2, 0, 1) == 8
    assert conv_transpose_output_size(3, 3, 2, 0, 0) == 7


def test_conv_geometry_is_computed_once_and_immutable():
    """DCGAN's 14 -> 7 convolution and 7 -> 14 transposed convolution have one geometry."""
    conv = ConvGeometry.conv((14, 14), 4, 2, 1)
    assert (conv.kernel, conv.stride, conv.padding, conv.image, conv.grid) == (
        (4, 4), (2, 2), (1, 1), (14, 14), (7, 7))
    assert ConvGeometry.conv_transpose((7, 7), 4, 2, 1) == conv
    assert ConvGeometry.conv_transpose((3, 3), 3, 2, 0, 1).image == (8, 8)
    assert conv.col_shape(64, 16) == (64, 4, 4, 7, 7, 16)
    with pytest.raises(AttributeError):
        conv.stride = (1, 1)


# -- im2col / col2im -------------------------------------------------------------------
@settings(deadline=None)
@given(cfg=conv_configs())
def test_im2col_layout_matches_definition(cfg):
    """col[c, i, j, y, x, n] == x_pad[n, c, y*sh + i, x*sw + j], the layout the GPU twin follows."""
    x, W, _, _ = _arrays(cfg, 0)
    (sh, sw), (ph, pw) = cfg["stride"], cfg["padding"]
    N, C, H, Wd = x.shape
    kh, kw = W.shape[2:]
    col = im2col(x, ConvGeometry.conv((H, Wd), (kh, kw), (sh, sw), (ph, pw)))
    oh, ow = conv_output_size(H, kh, sh, ph), conv_output_size(Wd, kw, sw, pw)
    assert col.shape == (C, kh, kw, oh, ow, N)
    assert col.flags.c_contiguous and col.dtype == x.dtype
    xpad = np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)))
    expected = np.empty_like(col)
    for c in range(C):
        for i in range(kh):
            for j in range(kw):
                for n in range(N):
                    for y in range(oh):
                        for xx in range(ow):
                            expected[c, i, j, y, xx, n] = xpad[n, c, y * sh + i, xx * sw + j]
    np.testing.assert_array_equal(col, expected)


@settings(deadline=None)
@given(cfg=conv_configs())
def test_im2col_col2im_are_adjoint(cfg):
    """<im2col(x), c> == <x, col2im(c)> for random x and c."""
    x, W, _, rng = _arrays(cfg, 0)
    (sh, sw), (ph, pw) = cfg["stride"], cfg["padding"]
    H, Wd = x.shape[2:]
    kh, kw = W.shape[2:]
    geom = ConvGeometry.conv((H, Wd), (kh, kw), (sh, sw), (ph, pw))
    col_x = im2col(x, geom)
    c = rng.standard_normal(col_x.shape)
    back = col2im(c, geom)
    assert back.shape == x.shape and back.flags.c_contiguous
    lhs = float(np.sum(col_x * c))
    rhs = float(np.sum(x * back))
    assert abs(lhs - rhs) <= EXACT_TOL * max(np.abs(col_x * c).sum(), 1.0)


def test_numpy_arrays_run_the_formulas_and_the_blocked_product():
    """im2col and col2im run their formulas on NumPy arrays (the kernels are CuPy's bodies);
    col2im_matmul runs its blocked body, which gives the formula's sums."""
    for f in (im2col, col2im):
        assert f.bodies["cpu"] is f.reference and f.bodies["gpu"] is not f.reference
    assert col2im_matmul.bodies["cpu"] is col2im_matmul_cpu
    rng = np.random.default_rng(0)
    geom = ConvGeometry.conv((6, 5), (3, 2), (2, 1), (1, 0))
    a, d = rng.standard_normal((3 * 3 * 2, 4)), rng.standard_normal((4, 3 * 4 * 2))
    np.testing.assert_allclose(col2im_matmul(a, d, geom), col2im_matmul.reference(a, d, geom),
                               rtol=1e-13, atol=1e-13)


@settings(deadline=None)
@given(cfg=conv_configs(), rows=st.integers(1, 3), bias=st.booleans())
def test_col2im_matmul_in_blocks_equals_col2im_of_the_whole_product(cfg, rows, bias):
    """The blocked CPU path (a few output rows per GEMM) sums what col2im of ``a @ b`` sums."""
    x, W, _, rng = _arrays(cfg, 0)
    (sh, sw), (ph, pw) = cfg["stride"], cfg["padding"]
    N, C, H, Wd = x.shape
    kh, kw = W.shape[2:]
    geom = ConvGeometry.conv((H, Wd), (kh, kw), (sh, sw), (ph, pw))
    oh, ow = geom.grid
    a = rng.standard_normal((C * kh * kw, 3))
    b = rng.standard_normal((3, oh * ow * N))
    bvec = rng.standard_normal(C) if bias else None
    expected = col2im((a @ b).reshape(C, kh, kw, oh, ow, N), geom)
    if bias:
        expected += bvec.reshape(1, C, 1, 1)
    for r in (rows, None):
        got = col2im_matmul_cpu(a, b, geom, bvec, rows=r)
        assert got.shape == expected.shape and got.flags.c_contiguous
        assert rel_error(got, expected) <= EXACT_TOL


def test_dcgan_sized_layers_use_several_blocks_and_agree():
    """At DCGAN's 128 -> 64 channel size the column array is split into blocks of output rows;
    the result still equals col2im of the whole product, and so do the conv layers with every
    output row in its own block."""
    rng = np.random.default_rng(0)
    C, N = 64, 16
    a = rng.standard_normal((C * 16, 128)).astype(np.float32)
    b = rng.standard_normal((128, 7 * 7 * N)).astype(np.float32)
    rows = im2col_module._block_rows(C * 16, 7, 64, 4, 7)   # batch 64, float32
    assert 1 <= rows < 7
    geom = ConvGeometry.conv((14, 14), 4, 2, 1)
    assert geom.grid == (7, 7)
    whole = col2im((a @ b).reshape(C, 4, 4, 7, 7, N), geom)
    blocked = col2im_matmul_cpu(a, b, geom, rows=rows)
    assert rel_error(blocked, whole) <= 1e-5
    # the functional passes with one output row per block, against the naive loops
    x = rng.standard_normal((2, 3, 7, 6))
    Wt = rng.standard_normal((3, 2, 4, 4))
    saved = im2col_module.BLOCK_BYTES
    im2col_module.BLOCK_BYTES = 1
    try:
        out, cache = F.conv_transpose2d_forward(x, Wt, None, 2, 1)
        y = rng.standard_normal(out.shape)
        c_out, c_cache = F.conv2d_forward(y, Wt, None, 2, 1)
        dy, _, _ = F.conv2d_backward(rng.standard_normal(c_out.shape), c_cache)
    finally:
        im2col_module.BLOCK_BYTES = saved
    assert rel_error(out, conv_transpose2d_naive(x, Wt, None, 2, 1)) <= EXACT_TOL
    assert dy.shape == y.shape


def test_numpy_path_never_imports_cupy():
    """The NumPy path of the convolutions never imports CuPy (the kernels module, which
    holds the CUDA sources, imports it only when a kernel is built)."""
    code = (
        "import sys, numpy as np\n"
        "from minigan import functional as F\n"
        "x = np.ones((1, 2, 5, 5)); W = np.ones((3, 2, 3, 3))\n"
        "out, cache = F.conv2d_forward(x, W, None, 2, 1)\n"
        "F.conv2d_backward(out, cache)\n"
        "y, c = F.conv_transpose2d_forward(x, W.transpose(1, 0, 2, 3), None, 2, 1)\n"
        "F.conv_transpose2d_backward(y, c)\n"
        "assert 'cupy' not in sys.modules, 'cupy imported'\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path),
                                 "MINIGAN_DEVICE": "cpu"})
    assert result.returncode == 0, result.stderr


# -- forward against the naive references -------------------------------------------------
@settings(deadline=None)
@given(cfg=conv_configs())
def test_conv2d_forward_matches_naive_loops(cfg):
    x, W, b, _ = _arrays(cfg, 0)
    out, _ = F.conv2d_forward(x, W, b, cfg["stride"], cfg["padding"])
    ref = conv2d_naive(x, W, b, cfg["stride"], cfg["padding"])
    assert out.shape == ref.shape
    assert out.flags.c_contiguous
    assert rel_error(out, ref) <= EXACT_TOL


@settings(deadline=None)
@given(cfg=conv_transpose_configs())
def test_conv_transpose2d_forward_matches_naive_loops_and_output_size(cfg):
    x, W, b, _ = _arrays(cfg, 1)
    s, p, op = cfg["stride"], cfg["padding"], cfg["output_padding"]
    out, _ = F.conv_transpose2d_forward(x, W, b, s, p, op)
    N, _, H, Wd = x.shape
    _, O, kh, kw = W.shape
    expected_shape = (N, O, (H - 1) * s[0] - 2 * p[0] + kh + op[0],
                      (Wd - 1) * s[1] - 2 * p[1] + kw + op[1])
    assert out.shape == expected_shape
    assert out.flags.c_contiguous
    ref = conv_transpose2d_naive(x, W, b, s, p, op)
    assert rel_error(out, ref) <= EXACT_TOL


@settings(deadline=None)
@given(cfg=conv_configs(max_size=5))
def test_naive_references_are_adjoint(cfg):
    """<conv2d(x, W), y> == <x, conv_transpose2d(y, W)>: the two references agree with
    each other, independently of im2col."""
    x, W, _, rng = _arrays(cfg, 0)
    s, p = cfg["stride"], cfg["padding"]
    out = conv2d_naive(x, W, None, s, p)
    y = rng.standard_normal(out.shape)
    op = tuple(x.shape[2 + a] - conv_transpose_output_size(out.shape[2 + a], W.shape[2 + a],
                                                             s[a], p[a]) for a in (0, 1))
    back = conv_transpose2d_naive(y, W, None, s, p, op)
    assert back.shape == x.shape
    lhs, rhs = float(np.sum(out * y)), float(np.sum(x * back))
    assert abs(lhs - rhs) <= EXACT_TOL * max(np.abs(out * y).sum(), 1.0)


# -- duality of the two operations -----------------------------------------------------------
@settings(deadline=None)
@given(cfg=conv_configs())
def test_conv_transpose_forward_is_conv_backward_data(cfg):
    """conv_transpose2d_forward(y, W) == conv2d_backward(y)'s dx, with the output_padding
    that restores the input size; and conv_transpose2d_backward's dx == conv2d_forward."""
    x, W, _, rng = _arrays(cfg, 0)
    s, p = cfg["stride"], cfg["padding"]
    out, cache = F.conv2d_forward(x, W, None, s, p)
    y = rng.standard_normal(out.shape)
    dx, _, _ = F.conv2d_backward(y, cache)
    op = tuple(x.shape[2 + a] - conv_transpose_output_size(out.shape[2 + a], W.shape[2 + a],
                                                             s[a], p[a]) for a in (0, 1))
    assert all(0 <= op[a] < s[a] for a in (0, 1))
    t_out, t_cache = F.conv_transpose2d_forward(y, W, None, s, p, op)
    assert rel_error(t_out, dx) <= EXACT_TOL
    # and the other way round: backward-data of the transposed op is the conv forward
    z = rng.standard_normal(t_out.shape)
    t_dx, _, _ = F.conv_transpose2d_backward(z, t_cache)
    conv_z, _ = F.conv2d_forward(z, W, None, s, p)
    assert rel_error(t_dx, conv_z) <= EXACT_TOL


# -- gradients -----------------------------------------------------------------------------
@settings(deadline=None)
@given(cfg=conv_configs(max_size=5))
def test_conv2d_gradients_match_numeric_vjp(cfg):
    x, W, b, rng = _arrays(cfg, 0)
    s, p = cfg["stride"], cfg["padding"]

    def forward(*arrays):
        return F.conv2d_forward(arrays[0], arrays[1], arrays[2] if b is not None else None, s, p)

    def backward(dout, cache):
        dx, dW, db = F.conv2d_backward(dout, cache)
        return (dx, dW, db) if b is not None else (dx, dW)

    testing.assert_pair_gradients(forward, backward, _pair_args(x, W, b), rng=rng)


@settings(deadline=None)
@given(cfg=conv_transpose_configs(max_size=4))
def test_conv_transpose2d_gradients_match_numeric_vjp(cfg):
    x, W, b, rng = _arrays(cfg, 1)
    s, p, op = cfg["stride"], cfg["padding"], cfg["output_padding"]

    def forward(*arrays):
        bias = arrays[2] if b is not None else None
        return F.conv_transpose2d_forward(arrays[0], arrays[1], bias, s, p, op)

    def backward(dout, cache):
        dx, dW, db = F.conv_transpose2d_backward(dout, cache)
        return (dx, dW, db) if b is not None else (dx, dW)

    testing.assert_pair_gradients(forward, backward, _pair_args(x, W, b), rng=rng)


def _randomize(layer, rng):
    """Random float64 parameters (a zero bias would hide a wrong bias gradient's scale)."""
    for p in layer.params.values():
        p[...] = rng.standard_normal(p.shape)
    return layer


@settings(deadline=None)
@given(cfg=conv_configs(max_size=5))
def test_conv2d_layer_gradients_match_numeric_vjp(cfg):
    x, W, _, rng = _arrays(cfg, 0)
    O, C, kh, kw = W.shape
    layer = layers.Conv2d(C, O, (kh, kw), cfg["stride"], cfg["padding"], bias=cfg["bias"],
                          rng=rng, dtype="float64")
    errors = testing.assert_layer_gradients(_randomize(layer, rng), x, rng=rng)
    assert set(errors) == ({"x", "W", "b"} if cfg["bias"] else {"x", "W"})


@settings(deadline=None)
@given(cfg=conv_transpose_configs(max_size=4))
def test_conv_transpose2d_layer_gradients_match_numeric_vjp(cfg):
    x, W, _, rng = _arrays(cfg, 1)
    C, O, kh, kw = W.shape
    layer = layers.ConvTranspose2d(C, O, (kh, kw), cfg["stride"], cfg["padding"],
                                   cfg["output_padding"], bias=cfg["bias"], rng=rng,
                                   dtype="float64")
    testing.assert_layer_gradients(_randomize(layer, rng), x, rng=rng)


# -- layers: bookkeeping -------------------------------------------------------------------------
@pytest.mark.parametrize("make", [
    lambda: layers.Conv2d(3, 4, 3, stride=2, padding=1, dtype="float64"),
    lambda: layers.ConvTranspose2d(3, 4, 3, stride=2, padding=1, output_padding=1,
                                   dtype="float64"),
])
def test_conv_layers_accumulate_and_freeze(make):
    rng = np.random.default_rng(3)
    layer = make()
    x = rng.standard_normal((2, 3, 5, 5))
    out = layer.forward(x)
    dout = rng.standard_normal(out.shape)
    dx = layer.backward(dout)
    once = {k: g.copy() for k, g in layer.grads.items()}
    assert all(np.any(g != 0) for g in once.values())
    layer.forward(x)
    layer.backward(dout)
    for k, g in layer.grads.items():                  # a second batch adds up
        np.testing.assert_allclose(g, 2 * once[k], rtol=1e-14)
    layer.zero_grad()
    layer.freeze()
    layer.forward(x)
    frozen_dx = layer.backward(dout)
    np.testing.assert_array_equal(frozen_dx, dx)     # still passes the gradient on
    assert all(np.all(g == 0) for g in layer.grads.values())


def test_conv_layers_shapes_init_and_repr():
    rng = np.random.default_rng(0)
    d1 = layers.Conv2d(1, 64, 4, 2, 1, weight_init="dcgan_normal", rng=rng)
    d2 = layers.Conv2d(64, 128, 4, 2, 1, weight_init="dcgan_normal", rng=rng, bias=False)
    g1 = layers.ConvTranspose2d(128, 64, 4, 2, 1, weight_init="dcgan_normal", rng=rng)
    g2 = layers.ConvTranspose2d(64, 1, 4, 2, 1, weight_init="dcgan_normal", rng=rng)
    assert d1.params["W"].shape == (64, 1, 4, 4) and d1.params["b"].shape == (64,)
    assert "b" not in d2.params and d2.params["W"].shape == (128, 64, 4, 4)
    assert g1.params["W"].shape == (128, 64, 4, 4) and g1.params["b"].shape == (64,)
    assert abs(float(g1.params["W"].std()) - 0.02) < 0.002
    assert np.all(g1.params["b"] == 0)
    x = rng.standard_normal((2, 1, 28, 28)).astype(np.float32)
    h = d2(d1(x))
    assert h.shape == (2, 128, 7, 7)
    z = g2(g1(rng.standard_normal((2, 128, 7, 7)).astype(np.float32)))
    assert z.shape == (2, 1, 28, 28)
    assert repr(d1) == "Conv2d(1, 64, k=4, s=2, p=1)"
    assert repr(d2) == "Conv2d(64, 128, k=4, s=2, p=1, bias=False)"
    assert repr(layers.ConvTranspose2d(3, 2, (3, 4), 2, 0, 1)) == \
        "ConvTranspose2d(3, 2, k=(3, 4), s=2, p=0, op=1)"


def test_float32_stays_float32():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((2, 3, 8, 8)).astype(np.float32)
    for layer in (layers.Conv2d(3, 4, 4, 2, 1, dtype="float32"),
                  layers.ConvTranspose2d(3, 4, 4, 2, 1, dtype="float32")):
        out = layer(x)
        dx = layer.backward(np.ones_like(out))
        assert out.dtype == dx.dtype == np.float32, layer
        assert all(g.dtype == np.float32 for g in layer.grads.values())


# -- errors ------------------------------------------------------------------------------------
def _raises(fn, *fragments):
    with pytest.raises(ValueError) as info:
        fn()
    msg = str(info.value)
    for frag in fragments:
        assert frag in msg, f"{frag!r} not in {msg!r}"


def test_conv2d_errors_name_the_layer_and_shapes():
    z = np.zeros
    _raises(lambda: F.conv2d_forward(z((2, 3, 5, 5)), z((4, 2, 3, 3)), None),
            "Conv2d", "(2, 3, 5, 5)", "(4, 2, 3, 3)", "expected (N, 2, H, W)")
    _raises(lambda: F.conv2d_forward(z((2, 3, 5)), z((4, 3, 3, 3)), None),
            "Conv2d", "(2, 3, 5)", "expected (N, 3, H, W)")
    _raises(lambda: F.conv2d_forward(z((2, 3, 2, 2)), z((4, 3, 5, 5)), None, padding=1),
            "Conv2d", "kernel (5, 5) is larger than the padded input", "(2, 3, 2, 2)", "4 x 4")
    _raises(lambda: F.conv2d_forward(z((2, 3, 5, 5)), z((4, 3, 3, 3)), z(3)),
            "Conv2d", "bias of shape (3,)", "expected (4,)")
    _raises(lambda: F.conv2d_forward(z((2, 3, 5, 5)), z((4, 3, 3, 3)), None, padding=-1),
            "Conv2d", "padding must be >= 0")
    _raises(lambda: F.conv2d_forward(z((2, 3, 5, 5)), z((4, 3, 3, 3)), None, stride=(1, 0)),
            "Conv2d", "stride must be >= 1")
    _raises(lambda: F.conv2d_forward(z((2, 3, 5, 5)), z((4, 3, 3, 3)), None, stride=1.5),
            "Conv2d", "stride must be an int or a pair")
    _raises(lambda: F.conv2d_forward(z((2, 3, 5, 5)), z((4, 3, 3, 3)), None, stride=math.inf),
            "Conv2d", "stride must be an int or a pair")      # int(inf): an OverflowError
    out, cache = F.conv2d_forward(z((2, 3, 5, 5)), z((4, 3, 3, 3)), None)
    _raises(lambda: F.conv2d_backward(z((2, 4, 5, 5)), cache),
            "Conv2d", "dout of shape (2, 4, 5, 5)", "expected (2, 4, 3, 3)")


def test_conv_transpose2d_errors_name_the_layer_and_shapes():
    z = np.zeros
    _raises(lambda: F.conv_transpose2d_forward(z((2, 3, 5, 5)), z((4, 3, 3, 3)), None),
            "ConvTranspose2d", "(2, 3, 5, 5)", "(4, 3, 3, 3)", "expected (N, 4, H, W)")
    _raises(lambda: F.conv_transpose2d_forward(z((2, 3, 5, 5)), z((3, 4, 3, 3)), None,
                                               stride=2, output_padding=2),
            "ConvTranspose2d", "output_padding (2, 2) must be smaller than stride (2, 2)")
    _raises(lambda: F.conv_transpose2d_forward(z((2, 3, 1, 1)), z((3, 4, 1, 1)), None,
                                               padding=1),
            "ConvTranspose2d", "(2, 3, 1, 1)", "-1 x -1", ">= 1")
    _raises(lambda: F.conv_transpose2d_forward(z((2, 3, 5, 5)), z((3, 4, 3, 3)), z(3)),
            "ConvTranspose2d", "bias of shape (3,)", "expected (4,)")
    out, cache = F.conv_transpose2d_forward(z((2, 3, 5, 5)), z((3, 4, 3, 3)), None)
    _raises(lambda: F.conv_transpose2d_backward(z((2, 4, 5, 5)), cache),
            "ConvTranspose2d", "dout of shape (2, 4, 5, 5)", "expected (2, 4, 7, 7)")


def test_conv_layer_errors_name_the_layer():
    x = np.zeros((8, 3, 28, 28), dtype=np.float32)
    _raises(lambda: layers.Conv2d(1, 64, 4, stride=2, padding=1)(x),
            "Conv2d(1, 64, k=4, s=2, p=1): expected input (N, 1, H, W), got (8, 3, 28, 28)")
    _raises(lambda: layers.Conv2d(3, 8, 7)(np.zeros((1, 3, 4, 4))),
            "Conv2d(3, 8, k=7, s=1, p=0): kernel (7, 7) is larger than the padded input")
    _raises(lambda: layers.ConvTranspose2d(64, 1, 4, 2, 1)(x),
            "ConvTranspose2d(64, 1, k=4, s=2, p=1): expected input (N, 64, H, W), "
            "got (8, 3, 28, 28)")
    _raises(lambda: layers.ConvTranspose2d(3, 1, 4, stride=2, output_padding=2),
            "ConvTranspose2d", "output_padding (2, 2) must be smaller than stride (2, 2)")
    _raises(lambda: layers.Conv2d(0, 4, 3), "Conv2d", "in_channels must be >= 1, a whole number")
    _raises(lambda: layers.Conv2d(3, 4, 3, padding=-1), "Conv2d", "must be >= 0")


def test_layer_names_itself_once_in_op_errors():
    """The op checks; the layer puts its own name in front, once, also for backward."""
    conv = layers.Conv2d(3, 4, 3)
    out = conv(np.zeros((2, 3, 5, 5), np.float32))
    with pytest.raises(ValueError) as info:
        conv.backward(np.zeros((2, 4, 5, 5), np.float32))
    msg = str(info.value)
    assert msg.startswith("Conv2d(3, 4, k=3, s=1, p=0): dout of shape (2, 4, 5, 5)"), msg
    assert msg.count("Conv2d") == 1 and str(out.shape) in msg


# -- optional: an independent implementation ------------------------------------------------------
@settings(deadline=None)
@given(cfg=conv_transpose_configs())
def test_against_torch_if_available(cfg):
    torch = pytest.importorskip(
        "torch", reason="torch is not installed (optional; the naive references cover this)")
    tf = torch.nn.functional
    x, Wt, b, rng = _arrays(cfg, 1)
    s, p, op = cfg["stride"], cfg["padding"], cfg["output_padding"]
    tb = None if b is None else torch.from_numpy(b)
    out, _ = F.conv_transpose2d_forward(x, Wt, b, s, p, op)
    ref = tf.conv_transpose2d(torch.from_numpy(x), torch.from_numpy(Wt), tb, s, p, op)
    assert rel_error(out, ref.numpy()) <= EXACT_TOL
    # the same weight read as a Conv2d weight (O=C_in of the transposed op), on its output
    y = rng.standard_normal(out.shape)
    c_out, _ = F.conv2d_forward(y, Wt, None, s, p)
    c_ref = tf.conv2d(torch.from_numpy(y), torch.from_numpy(Wt), None, s, p)
    assert rel_error(c_out, c_ref.numpy()) <= EXACT_TOL
