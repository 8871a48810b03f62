r"""CuPy kernels for the GPU: the second body of each operation that has one.

A custom kernel exists only where it pays off: where the generic ``xp`` code
would launch several kernels and write temporaries, or (col2im) where it would
need a scatter. Each GPU function is the CUDA twin of ONE NumPy function of the
library, which is the reference it is tested against (``tests/backend/test_kernels.py``:
the CUDA body compiled for the CPU and run through ctypes, and on a GPU through
CuPy), the way Chainer's optimizers put ``update_core_gpu`` beside
``update_core_cpu``:

==================================  ===============================================
GPU function                        NumPy reference
==================================  ===============================================
:func:`im2col_gpu`                  :func:`minigan.functional.im2col.im2col`
:func:`col2im_gpu`                  :func:`minigan.functional.im2col.col2im`
:func:`relu_backward_gpu`           :func:`minigan.functional.relu_backward`
:func:`leaky_relu_forward_gpu`      :func:`minigan.functional.leaky_relu_forward`
:func:`leaky_relu_backward_gpu`     :func:`minigan.functional.leaky_relu_backward`
:func:`sigmoid_gpu`                 :func:`minigan.functional.sigmoid`
:func:`sigmoid_backward_gpu`        :func:`minigan.functional.sigmoid_backward`
:func:`tanh_backward_gpu`           :func:`minigan.functional.tanh_backward`
:func:`sigmoid_cross_entropy_gpu`   :func:`minigan.functional.losses.sigmoid_cross_entropy`
:func:`adam_update_gpu`             :func:`minigan.nn.optim.adam_update`
==================================  ===============================================

Each is registered as the GPU body of its operation (:func:`minigan.backend.op`):
the operation runs it when it receives CuPy arrays. ReLU
forward and tanh forward have no kernel: ``xp.maximum(x, 0)`` and
``xp.tanh(x)`` are already one launch each.

This module imports nothing from minigan: the im2col/col2im wrappers take the
:class:`minigan.functional.im2col.ConvGeometry` their caller computed.

How the kernels are built
-------------------------
Each kernel is a :class:`Source`: the parameter lists and the CUDA C body of a
``cupy.ElementwiseKernel`` (one thread per output element, ``i`` its linear
index, ``T`` the floating type of the arrays: float or double). The
``cupy.ElementwiseKernel`` object is created once per :class:`Source`, on its
first use, and memoized (:func:`_kernel`); CuPy then compiles it once per
dtype and device and caches the binary. CuPy is imported only inside the GPU
functions, so this module imports without CuPy.

The arithmetic kernels are compiled with ``--fmad=false``: no multiply-add is
contracted into one FMA, so every product is rounded as NumPy rounds it.
``sqrt`` and division are IEEE-rounded (NVRTC's default ``--prec-sqrt=true``
and ``--prec-div=true``), so the Adam update, the ReLU family and the tanh
and sigmoid backward passes compute their references' numbers to the last bit
(the tests check this with the same bodies compiled for the CPU, and allow the
dtype's tolerance on the GPU); only ``exp`` and ``log1p`` (sigmoid, the
cross-entropy) may differ by an ulp.

What "the same numbers" means in float32: CuPy compiles every kernel with
``-ftz=true`` (:data:`CUPY_OPTIONS`), so in single precision a subnormal input is read
as 0 and a result below the smallest normal float (1.18e-38) is flushed to 0, where
NumPy keeps the subnormal: ``sigmoid(-87.5)`` is 0 on the GPU and 9.98e-39 on the
CPU, and Adam's ``g * g`` is 0 for ``|g| < 1.1e-19``. Every normal result is
the same; float64 is never flushed. No training number depends on the difference
(a subnormal sigmoid output is already 0 to the cross-entropy, and Adam's ``eps`` of
1e-8 dwarfs a square root of 1e-38).

col2im as a gather
------------------
col2im adds every column entry back onto the pixel it came from. Written as a
scatter (one thread per column entry, ``atomicAdd`` into the image) the sums
would depend on thread timing. :func:`col2im_gpu` runs one thread per IMAGE
pixel instead, which loops over the kernel offsets ``(k, j)`` whose strided
window covers it and sums the matching column entries, in the same order as
``col2im``: no atomics, bit-identical results on every run.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass

import numpy as np

__all__ = [
    "CUPY_OPTIONS",
    "compile_options",
    "Source",
    "SOURCES",
    "im2col_gpu",
    "col2im_gpu",
    "relu_backward_gpu",
    "leaky_relu_forward_gpu",
    "leaky_relu_backward_gpu",
    "sigmoid_gpu",
    "sigmoid_backward_gpu",
    "tanh_backward_gpu",
    "sigmoid_cross_entropy_gpu",
    "adam_update_gpu",
]

_INT32_MAX = 2**31 - 1
_NO_FMA = ("--fmad=false",)
#: What CuPy appends to every kernel's NVRTC options (``cupy/cuda/compiler.py``):
#: float32 subnormals flushed to zero.
CUPY_OPTIONS = ("-ftz=true",)


def compile_options(source):
    """The NVRTC options CuPy compiles ``source`` with: its own, then CuPy's."""
    return tuple(source.options) + CUPY_OPTIONS


@dataclass(frozen=True)
class Source:
    """What a ``cupy.ElementwiseKernel`` is built from.

    Attributes
    ----------
    name : str
        Kernel name (shows up in profilers).
    in_params, out_params : str
        CuPy parameter lists, e.g. ``"T x, T slope"``; ``raw`` marks an array
        indexed by hand, ``T`` the floating type.
    operation : str
        CUDA C body run for each output element ``i``.
    options : tuple of str
        NVRTC options.
    """

    name: str
    in_params: str
    out_params: str
    operation: str
    options: tuple = ()


@functools.lru_cache(maxsize=None)
def _kernel(source):
    """The ``cupy.ElementwiseKernel`` for ``source``, created once and memoized."""
    import cupy

    return cupy.ElementwiseKernel(source.in_params, source.out_params, source.operation,
                                  source.name, options=source.options)   # + CUPY_OPTIONS


def _check_float(name, *arrays):
    """The kernels are written for float32 and float64 arrays of ONE dtype."""
    dtypes = {np.dtype(a.dtype) for a in arrays}
    if len(dtypes) != 1 or next(iter(dtypes)) not in (np.float32, np.float64):
        raise TypeError(
            f"{name}: expected float32 or float64 arrays of one dtype, got "
            f"{', '.join(str(a.dtype) for a in arrays)}"
        )


def _check_int32(name, *sizes):
    """The im2col/col2im kernels index with 32-bit ints: every array must fit. Called with
    the sizes the geometry gives, before anything is allocated."""
    if max(sizes) > _INT32_MAX:
        raise ValueError(
            f"{name}: an array of {max(sizes)} elements is too large for 32-bit indexing "
            f"(at most {_INT32_MAX}); use a smaller batch"
        )


# -- im2col ------------------------------------------------------------------------------
#: The int32 parameters of the im2col and col2im kernels, as :func:`_geometry_args` orders them.
_GEOMETRY_PARAMS = ("int32 batch, int32 channels, int32 h, int32 w, int32 kh, int32 kw, "
                    "int32 oh, int32 ow, int32 sh, int32 sw, int32 ph, int32 pw")


def _geometry_args(geom, batch, channels):
    """The scalars of :data:`_GEOMETRY_PARAMS` from a :class:`minigan.functional.im2col.ConvGeometry`."""
    return (batch, channels, *geom.image, *geom.kernel, *geom.grid, *geom.stride, *geom.padding)


IM2COL = Source(
    "minigan_im2col",
    "raw T img, " + _GEOMETRY_PARAMS,
    "T col",
    r"""
    // i runs over col (channels, kh, kw, oh, ow, batch), C-contiguous
    int n = i % batch;   int t = i / batch;
    int ox = t % ow;     t /= ow;
    int oy = t % oh;     t /= oh;
    int j = t % kw;      t /= kw;
    int k = t % kh;      int c = t / kh;
    int u = oy * sh + k - ph;          // row and column in the unpadded image
    int v = ox * sw + j - pw;
    bool inside = 0 <= u && u < h && 0 <= v && v < w;
    col = inside ? img[((n * channels + c) * h + u) * w + v] : (T)0;
    """,
)


def im2col_gpu(x, geom):
    r"""GPU im2col: one thread per column element, zeros where a window reads padding.

    .. math::
        \text{col}[c, i, j, r, t, n] = x_{pad}[n, c,\ r s_h + i,\ t s_w + j]

    (kernel offset :math:`(i, j)`, ``k, j`` in the kernel; grid pixel :math:`(r, t)`,
    ``oy, ox``; image pixel ``u, v``). Same arguments and layout as
    :func:`minigan.functional.im2col.im2col` (the reference).

    Parameters
    ----------
    x : cupy.ndarray of shape (N, C, h, w), float32 or float64
    geom : minigan.functional.im2col.ConvGeometry

    Returns
    -------
    col : cupy.ndarray of shape (C, kh, kw, oh, ow, N)
    """
    import cupy

    _check_float("im2col_gpu", x)
    N, C = x.shape[:2]
    col_shape = geom.col_shape(C, N)
    _check_int32("im2col_gpu", x.size, math.prod(col_shape))
    x = cupy.ascontiguousarray(x)
    col = cupy.empty(col_shape, dtype=x.dtype)
    if col.size:
        _kernel(IM2COL)(x, *_geometry_args(geom, N, C), col)
    return col


# -- col2im (gather) ----------------------------------------------------------------------
COL2IM = Source(
    "minigan_col2im_gather",
    "raw T col, " + _GEOMETRY_PARAMS,
    "T img",
    r"""
    // i runs over img (batch, channels, h, w), C-contiguous: one thread per image element
    int v = i % w;  int t = i / w;
    int u = t % h;  t /= h;
    int c = t % channels;  int n = t / channels;
    int U = u + ph;                    // position in the padded image
    int V = v + pw;
    // offsets k with U = oy * sh + k, 0 <= oy < oh, 0 <= k < kh, in ascending order
    int k0 = max(0, U - (oh - 1) * sh);  k0 += (U - k0) % sh;
    int j0 = max(0, V - (ow - 1) * sw);  j0 += (V - j0) % sw;
    int k1 = min(kh - 1, U);
    int j1 = min(kw - 1, V);
    T s = 0;
    for (int k = k0; k <= k1; k += sh) {
        int oy = (U - k) / sh;
        for (int j = j0; j <= j1; j += sw) {
            int ox = (V - j) / sw;
            s += col[((((c * kh + k) * kw + j) * oh + oy) * ow + ox) * batch + n];
        }
    }
    img = s;
    """,
)


def col2im_gpu(col, geom):
    r"""GPU col2im as a GATHER: one thread per image element, no atomics, deterministic.

    .. math::
        x[n, c, u, v] = \sum_{k \equiv u + p_h\ (s_h)}\ \sum_{j \equiv v + p_w\ (s_w)}
            \text{col}\Big[c, k, j, \tfrac{u + p_h - k}{s_h}, \tfrac{v + p_w - j}{s_w}, n\Big]

    over the offsets ``0 <= k < kh``, ``0 <= j < kw`` whose output position
    lies in ``[0, oh) x [0, ow)``, summed in ascending ``(k, j)`` order, the
    order of ``col2im``.

    Same arguments and result as :func:`minigan.functional.im2col.col2im` (the reference).

    Parameters
    ----------
    col : cupy.ndarray of shape (C, kh, kw, oh, ow, N), float32 or float64
    geom : minigan.functional.im2col.ConvGeometry

    Returns
    -------
    x : cupy.ndarray of shape (N, C, h, w)
    """
    import cupy

    _check_float("col2im_gpu", col)
    C, N = col.shape[0], col.shape[5]
    img_shape = (N, C) + geom.image
    _check_int32("col2im_gpu", col.size, math.prod(img_shape))
    col = cupy.ascontiguousarray(col)
    img = cupy.empty(img_shape, dtype=col.dtype)
    if img.size:
        _kernel(COL2IM)(col, *_geometry_args(geom, N, C), img)
    return img


# -- ReLU and LeakyReLU ---------------------------------------------------------------------
RELU_BACKWARD = Source(
    "minigan_relu_backward", "T dout, T out", "T dx",
    "dx = dout * (T)(out > (T)0);",
    _NO_FMA,
)


def relu_backward_gpu(dout, out):
    r""":math:`dx = \text{dout}\cdot[\text{out} > 0]` in one kernel.

    Reference: :func:`minigan.functional.relu_backward`.
    """
    _check_float("relu_backward_gpu", dout, out)
    return _kernel(RELU_BACKWARD)(dout, out)


LEAKY_RELU_FORWARD = Source(
    "minigan_leaky_relu_forward", "T x, T slope", "T out, bool positive",
    "positive = x > (T)0;  out = positive ? x : x * slope;",
    _NO_FMA,
)


def leaky_relu_forward_gpu(x, slope):
    r"""``out`` and the sign mask ``x > 0`` in one kernel.

    .. math:: \text{out} = x \text{ where } x > 0, \text{ else } \text{slope}\cdot x

    Reference: :func:`minigan.functional.leaky_relu_forward`.

    Returns
    -------
    out : cupy.ndarray like ``x``
    positive : cupy.ndarray of bool, ``x > 0`` (the cache of the backward pass)
    """
    _check_float("leaky_relu_forward_gpu", x)
    return _kernel(LEAKY_RELU_FORWARD)(x, float(slope))


LEAKY_RELU_BACKWARD = Source(
    "minigan_leaky_relu_backward", "T dout, bool positive, T slope", "T dx",
    "dx = positive ? dout : dout * slope;",
    _NO_FMA,
)


def leaky_relu_backward_gpu(dout, positive, slope):
    r""":math:`dx = \text{dout}` where ``positive``, else :math:`\text{slope}\cdot\text{dout}`.

    Reference: :func:`minigan.functional.leaky_relu_backward`.
    """
    _check_float("leaky_relu_backward_gpu", dout)
    return _kernel(LEAKY_RELU_BACKWARD)(dout, positive, float(slope))


# -- sigmoid and tanh -----------------------------------------------------------------------
SIGMOID = Source(
    "minigan_sigmoid", "T x", "T out",
    r"""
    out = (T)1 / ((T)1 + exp(-x));     // exp(-x) = inf for very negative x gives 0, the limit
    """,
    _NO_FMA,
)


def sigmoid_gpu(x):
    r""":math:`\sigma(x) = 1/(1+e^{-x})` in one kernel; :math:`e^{-x} = \infty` for very
    negative ``x`` gives 0, the right limit.

    Reference: :func:`minigan.functional.sigmoid`.
    """
    _check_float("sigmoid_gpu", x)
    return _kernel(SIGMOID)(x)


SIGMOID_BACKWARD = Source(
    "minigan_sigmoid_backward", "T dout, T out", "T dx",
    "dx = dout * out * ((T)1 - out);",
    _NO_FMA,
)


def sigmoid_backward_gpu(dout, out):
    r""":math:`dx = \text{dout}\cdot\text{out}\,(1 - \text{out})` in one kernel.

    Reference: :func:`minigan.functional.sigmoid_backward`.
    """
    _check_float("sigmoid_backward_gpu", dout, out)
    return _kernel(SIGMOID_BACKWARD)(dout, out)


TANH_BACKWARD = Source(
    "minigan_tanh_backward", "T dout, T out", "T dx",
    "dx = dout * ((T)1 - out * out);",
    _NO_FMA,
)


def tanh_backward_gpu(dout, out):
    r""":math:`dx = \text{dout}\,(1 - \text{out}^2)` in one kernel.

    Reference: :func:`minigan.functional.tanh_backward`.
    """
    _check_float("tanh_backward_gpu", dout, out)
    return _kernel(TANH_BACKWARD)(dout, out)


# -- sigmoid cross-entropy from logits ------------------------------------------------------
SIGMOID_CROSS_ENTROPY = Source(
    "minigan_sigmoid_cross_entropy", "T a, T t, T M", "T loss, T grad",
    r"""
    T e = exp(-fabs(a));
    T s = (T)1 / ((T)1 + exp(-a));                          // sigmoid(a)
    T r = (T)1 / ((T)1 + exp(a));                           // sigmoid(-a)
    loss = ((a > (T)0 ? a : (T)0) - a * t) + log1p(e);      // max(a,0) - a t + log(1 + e^-|a|)
    grad = (((T)1 - t) * s - t * r) / M;                     // ((1 - t) sigmoid(a) - t sigmoid(-a)) / M
    """,
    _NO_FMA,
)


def sigmoid_cross_entropy_gpu(logits, targets):
    r"""Mean sigmoid cross-entropy and its gradient: ONE kernel for both, then one sum.

    .. math::
        L = \frac1M\sum_i \max(a_i, 0) - a_i t_i + \log(1 + e^{-|a_i|}),\qquad
        \frac{\partial L}{\partial a_i} = \frac{(1 - t_i)\,\sigma(a_i) - t_i\,\sigma(-a_i)}{M}

    Same arguments and result as the reference, :func:`minigan.functional.losses.sigmoid_cross_entropy`.

    Parameters
    ----------
    logits : cupy.ndarray, float32 or float64
    targets : float or array broadcastable to ``logits`` (cast to its dtype)

    Returns
    -------
    loss : float
    dlogits : cupy.ndarray like ``logits``
    """
    import cupy

    _check_float("sigmoid_cross_entropy_gpu", logits)
    if np.isscalar(targets):
        targets = float(targets)
    else:
        targets = cupy.asarray(targets, dtype=logits.dtype)
    m = logits.size
    per_element, dlogits = _kernel(SIGMOID_CROSS_ENTROPY)(logits, targets, float(m))
    return float(per_element.sum()) / m, dlogits


# -- Adam -------------------------------------------------------------------------------------
ADAM = Source(
    "minigan_adam",
    "T g, T lr, T b1, T one_minus_b1, T b2, T one_minus_b2, T eps, T bc1, T bc2",
    "T p, T m, T v",
    r"""
    m = b1 * m + one_minus_b1 * g;                    // m <- b1 m + (1 - b1) g
    v = b2 * v + one_minus_b2 * (g * g);              // v <- b2 v + (1 - b2) g^2
    p = p - lr * (m / bc1) / (sqrt(v / bc2) + eps);   // p <- p - lr m^ / (sqrt(v^) + eps)
    """,
    _NO_FMA,
)


def adam_update_gpu(p, g, m, v, lr, b1, b2, eps, bc1, bc2):
    r"""One Adam update of one parameter array, in place: ONE kernel launch for p, m, v.

    Same arguments, same expression order and same result as the reference,
    :func:`minigan.nn.optim.adam_update`; the scalars are rounded to the arrays'
    dtype, as NumPy rounds a Python float it multiplies a float32 array by.
    """
    _check_float("adam_update_gpu", p, g, m, v)
    lr, b1, b2, eps, bc1, bc2 = (float(s) for s in (lr, b1, b2, eps, bc1, bc2))
    _kernel(ADAM)(g, lr, b1, 1.0 - b1, b2, 1.0 - b2, eps, bc1, bc2, p, m, v)


#: Every kernel source, by name (the compile test builds each one with NVRTC).
SOURCES = {s.name: s for s in (
    IM2COL, COL2IM, RELU_BACKWARD, LEAKY_RELU_FORWARD, LEAKY_RELU_BACKWARD, SIGMOID,
    SIGMOID_BACKWARD, TANH_BACKWARD, SIGMOID_CROSS_ENTROPY, ADAM,
)}
