r"""2-D convolution and transposed convolution: forward and backward passes.

The derivation, a worked example and the property test: ``docs/atlas/conv.rst``.

Layouts and semantics are PyTorch's: NCHW activations; a Conv2d weight is
``(out, in, kh, kw)``, a ConvTranspose2d weight is ``(in, out, kh, kw)``, the
bias is ``(out,)`` or None; ``stride``, ``padding`` and ``output_padding``
are an int or an ``(h, w)`` pair.

Both operations go through :mod:`minigan.functional.im2col` (column layout
``(C, kh, kw, oh, ow, N)``) and one GEMM. Write the Conv2d map as the
linear operator :math:`\mathcal{C}_W`; then

=====================  ===============================  =============================
                       Conv2d                           ConvTranspose2d
=====================  ===============================  =============================
forward                :func:`_conv_apply`              :func:`_conv_adjoint`
                       (im2col, GEMM)                   (GEMM, col2im)
                       :math:`y = \mathcal{C}_W x`      :math:`y = \mathcal{C}_W^\top x`
backward-data          :func:`_conv_adjoint`            :func:`_conv_apply`
                       :math:`\mathcal{C}_W^\top`       :math:`\mathcal{C}_W`
weight gradient        :func:`_conv_weight_grad`        :func:`_conv_weight_grad`
=====================  ===============================  =============================

The transposed convolution's forward pass is the convolution's backward-data
pass and the other way round; both weight gradients are the same product of a
"gradient-side" matrix with the columns of the "image-side" array.

On the CPU, :func:`_conv_adjoint` never writes the whole column array
``W_m^T D``: :func:`minigan.functional.im2col.col2im_matmul_cpu` computes it a few output
rows at a time and adds each block onto the image while it is in cache (and
adds the bias in the final copy). Conv2d's bias gradient is the row sums of the
``(O, oh*ow*N)`` matrix that its backward pass builds anyway; ConvTranspose2d's, whose
``dout`` is an ``(N, O, h, w)`` image that no product needs as a matrix, is the per-channel
sums of ``dout`` (:func:`_channel_sums`).

The forward and backward passes come first, each with its formula; then the
shared pieces of the table, the checks of the arguments, and last the memory
layout that makes the NumPy passes fast (``contiguous=False``).
"""

from __future__ import annotations

import numpy as np

from minigan.backend import get_array_module

from .errors import ShapeError, check_dout
from .im2col import ConvGeometry, col2im_matmul, im2col, nchw_copy, pair

__all__ = [
    "conv2d_forward",
    "conv2d_backward",
    "conv_transpose2d_forward",
    "conv_transpose2d_backward",
    "conv_hyperparameters",
    "is_channel_major",
    "as_layout_of",
]


# -- Conv2d --------------------------------------------------------------------------
def conv2d_forward(x, W, b, stride=1, padding=0, contiguous=True):
    r"""2-D cross-correlation (PyTorch's ``conv2d``) as im2col + one GEMM.

    .. math::
        \text{out}[n, o, r, t] = b_o + \sum_{c, i, j}
            W[o, c, i, j]\; x_{pad}[n, c,\ r s_h + i,\ t s_w + j]

    .. math:: o_h = \lfloor (h + 2 p_h - k_h) / s_h \rfloor + 1

    (output pixel :math:`(r, t)`, a pixel of im2col's column grid; kernel offset
    :math:`(i, j)`; image height :math:`h`).

    Parameters
    ----------
    x : ndarray of shape (N, C, h, w)
    W : ndarray of shape (O, C, kh, kw)
    b : ndarray of shape (O,) or None
    stride : int or (int, int), >= 1
    padding : int or (int, int), >= 0
    contiguous : bool
        True: ``out`` is C-contiguous. False (NumPy): ``out`` may be the NCHW view of
        channel-major memory (see the module docstring); same values.

    Returns
    -------
    out : ndarray of shape (N, O, oh, ow)
    cache : tuple ``(col, W, geom, has_bias, channel_major)``; ``col`` is the im2col
        of ``x``, kept for the weight gradient, ``geom`` the ``minigan.functional.im2col.ConvGeometry``,
        ``channel_major`` whether ``x`` was (the layout ``dx`` is handed back in).
    """
    geom = _conv2d_geometry(x, W, b, stride, padding)
    N, O = x.shape[0], W.shape[0]
    # col (C, kh, kw, oh, ow, N); out_mat = W_m X_col, (O, oh*ow*N)
    col, out_mat = _conv_apply(W.reshape(O, -1), x, geom)
    out = _from_channel_matrix(out_mat, N, *geom.grid, b, contiguous)  # (N, O, oh, ow), + b
    return out, (col, W, geom, b is not None, is_channel_major(x))


def conv2d_backward(dout, cache, param_grads=True, contiguous=None, input_grad=True):
    r"""Gradients of the loss through :func:`conv2d_forward`.

    With :math:`D` = ``dout`` as an ``(O, oh*ow*N)`` matrix, :math:`X_{col}`
    the ``(C*kh*kw, oh*ow*N)`` im2col of ``x`` and :math:`W_m` = ``W`` as
    ``(O, C*kh*kw)``, the forward pass is :math:`\text{out} = W_m X_{col} + b`, so

    .. math::
        \frac{\partial L}{\partial x} = \mathrm{col2im}(W_m^\top D),\qquad
        \frac{\partial L}{\partial W} = D\, X_{col}^\top,\qquad
        \frac{\partial L}{\partial b_o} = \textstyle\sum_{n, r, t} \text{dout}[n, o, r, t]

    Parameters
    ----------
    dout : ndarray of shape (N, O, oh, ow)
    cache : tuple from :func:`conv2d_forward`
    param_grads : bool
        When False, ``dW`` and ``db`` are skipped and returned as None.
    contiguous : bool or None
        As for the forward pass, for ``dx``; None (the default): the layout the
        forward input had (C-contiguous unless it was channel-major).
    input_grad : bool
        When False, ``dx`` is skipped and returned as None (nothing upstream needs it).

    Returns
    -------
    dx : ndarray of shape (N, C, h, w) or None
    dW : ndarray of shape (O, C, kh, kw) or None
    db : ndarray of shape (O,) or None (also None without a bias)
    """
    col, W, geom, has_bias, channel_major = cache
    N, O = col.shape[5], W.shape[0]
    check_dout("Conv2d", dout, (N, O) + geom.grid)
    contiguous = not channel_major if contiguous is None else contiguous
    d_mat = _to_channel_matrix(dout)                               # (O, oh*ow*N)
    dx = None
    if input_grad:                                                 # dL/dx = col2im(W_m^T D)
        dx = _conv_adjoint(W.reshape(O, -1).T, d_mat, geom, contiguous=contiguous)
    if not param_grads:
        return dx, None, None
    dW = _conv_weight_grad(col, d_mat)                             # dL/dW = D X_col^T
    db = d_mat.sum(axis=1) if has_bias else None                   # dL/db_o = sum dout[:, o]
    return dx, dW, db


# -- ConvTranspose2d -----------------------------------------------------------------
def conv_transpose2d_forward(x, W, b, stride=1, padding=0, output_padding=0, contiguous=True):
    r"""Transposed convolution (PyTorch's ``conv_transpose2d``) as one GEMM + col2im.

    It is the backward-data pass of a Conv2d whose weight is ``W`` read as
    ``(out_conv=in, in_conv=out, kh, kw)``:

    .. math::
        \text{out}_{pad}[n, o,\ r s_h + i,\ t s_w + j] \mathrel{+}=
            \sum_c x[n, c, r, t]\; W[c, o, i, j],
        \qquad \text{out} = \text{crop}_{p}(\text{out}_{pad}) + b

    (input pixel :math:`(r, t)`, a pixel of the column grid, ``oh x ow``; kernel offset
    :math:`(i, j)`; the output is the ``h x w`` image)

    .. math:: h = (o_h - 1)\, s_h - 2 p_h + k_h + \text{output_padding}_h

    Parameters
    ----------
    x : ndarray of shape (N, C, oh, ow)
    W : ndarray of shape (C, O, kh, kw)
    b : ndarray of shape (O,) or None
    stride : int or (int, int), >= 1
    padding : int or (int, int), >= 0
    output_padding : int or (int, int), >= 0 and < stride (PyTorch's rule)
    contiguous : bool
        True: ``out`` is C-contiguous. False (NumPy): ``out`` may be the NCHW view of
        channel-major memory (see the module docstring); same values.

    Returns
    -------
    out : ndarray of shape (N, O, h, w)
    cache : tuple ``(x_mat, W, geom, has_bias, channel_major)``; ``x_mat`` is ``x`` as
        a ``(C, oh*ow*N)`` matrix, kept for the weight gradient, ``geom`` the
        ``minigan.functional.im2col.ConvGeometry`` (``x`` is its column grid, the output its image),
        ``channel_major`` whether ``x`` was.
    """
    geom = _conv_transpose2d_geometry(x, W, b, stride, padding, output_padding)
    C = x.shape[1]
    x_mat = _to_channel_matrix(x)                                  # (C, oh*ow*N)
    out = _conv_adjoint(W.reshape(C, -1).T, x_mat, geom,           # col2im(W_m^T X) + b,
                        b, contiguous)                             # (N, O, h, w)
    return out, (x_mat, W, geom, b is not None, is_channel_major(x))


def conv_transpose2d_backward(dout, cache, param_grads=True, contiguous=None,
                              input_grad=True):
    r"""Gradients of the loss through :func:`conv_transpose2d_forward`.

    The forward pass is :math:`\text{out} = \mathrm{col2im}(W_m^\top X) + b`
    with :math:`X` = ``x`` as a ``(C, oh*ow*N)`` matrix and :math:`W_m` = ``W``
    as ``(C, O*kh*kw)``. The adjoint of col2im is im2col, so with
    :math:`D_{col}` the ``(O*kh*kw, oh*ow*N)`` im2col of ``dout``:

    .. math::
        \frac{\partial L}{\partial x} = W_m D_{col}\ \text{(a Conv2d forward of dout)},\qquad
        \frac{\partial L}{\partial W} = X D_{col}^\top,\qquad
        \frac{\partial L}{\partial b_o} = \textstyle\sum_{n, u, v} \text{dout}[n, o, u, v]

    Parameters
    ----------
    dout : ndarray of shape (N, O, h, w)
    cache : tuple from :func:`conv_transpose2d_forward`
    param_grads : bool
        When False, ``dW`` and ``db`` are skipped and returned as None.
    contiguous : bool or None
        As for the forward pass, for ``dx``; None (the default): the layout the
        forward input had (C-contiguous unless it was channel-major).
    input_grad : bool
        When False, ``dx`` is skipped and returned as None (nothing upstream needs it).

    Returns
    -------
    dx : ndarray of shape (N, C, oh, ow) or None
    dW : ndarray of shape (C, O, kh, kw) or None
    db : ndarray of shape (O,) or None (also None without a bias)
    """
    x_mat, W, geom, has_bias, channel_major = cache
    C, O = W.shape[:2]
    N = x_mat.shape[1] // (geom.grid[0] * geom.grid[1])
    check_dout("ConvTranspose2d", dout, (N, O) + geom.image)
    contiguous = not channel_major if contiguous is None else contiguous
    dcol, dx_mat = _conv_apply(W.reshape(C, -1), dout, geom,      # (O, kh, kw, oh, ow, N),
                               product=input_grad)                 # dL/dx = W_m D_col
    dx = _from_channel_matrix(dx_mat, N, *geom.grid, contiguous=contiguous) if input_grad else None
    if not param_grads:
        return dx, None, None
    dW = _conv_weight_grad(dcol, x_mat)                            # dL/dW = X D_col^T
    db = _channel_sums(dout) if has_bias else None                 # dL/db_o = sum dout[:, o]
    return dx, dW, db


# -- the shared pieces ---------------------------------------------------------------
def _conv_weight_grad(col, grid_mat):
    r"""The weight gradient both operations share: ``grid_mat @ col^T``.

    .. math:: \frac{\partial L}{\partial W}[q, c, i, j] =
        \sum_{r, t, n} \text{grid_mat}[q, (r, t, n)]\; \text{col}[c, i, j, r, t, n]

    (grid pixel :math:`(r, t)`, kernel offset :math:`(i, j)`).

    Parameters
    ----------
    col : ndarray of shape (C, kh, kw, oh, ow, N)
        im2col of the image-side array (Conv2d: the input ``x``; ConvTranspose2d:
        the upstream gradient ``dout``).
    grid_mat : ndarray of shape (Q, oh*ow*N)
        The array that lives on the column grid, as a matrix: Conv2d's upstream gradient
        ``dout`` (:math:`D`), ConvTranspose2d's input ``x`` (:math:`X`).

    Returns
    -------
    ndarray of shape (Q, C, kh, kw): Conv2d's ``dW`` ``(out, in, kh, kw)``,
    ConvTranspose2d's ``dW`` ``(in, out, kh, kw)``.
    """
    C, kh, kw = col.shape[:3]
    return (grid_mat @ col.reshape(C * kh * kw, -1).T).reshape(grid_mat.shape[0], C, kh, kw)


def _conv_apply(Wm, x, geom, product=True):
    r"""The convolution map :math:`\mathcal{C}_W`: im2col of ``x``, then one GEMM ``Wm @ col``.

    ``Wm`` is ``(R, C*kh*kw)``, ``x`` the ``(N, C, h, w)`` image side. Returns the
    ``(C, kh, kw, oh, ow, N)`` column array (kept for the weight gradient) and the
    ``(R, oh*ow*N)`` product: channels by output pixels, the batch index fastest
    (None with ``product=False``, when only the columns are wanted).
    """
    col = im2col(x, geom)
    return col, (Wm @ col.reshape(Wm.shape[1], -1) if product else None)


def _conv_adjoint(WmT, mat, geom, bias=None, contiguous=True):
    r"""The adjoint map :math:`\mathcal{C}_W^\top`: ``col2im(WmT @ mat)`` as an NCHW image.

    ``WmT`` is ``(C*kh*kw, R)``, ``mat`` is ``(R, oh*ow*N)``; the result is
    ``(N, C, h, w)``, plus ``bias`` ``(C,)`` if given. On the CPU the product is
    formed a few rows of the grid at a time (:func:`minigan.functional.im2col.col2im_matmul_cpu`).
    """
    return col2im_matmul(WmT, mat, geom, bias, contiguous)


def _to_channel_matrix(a):
    """``(N, C, h, w) -> (C, h*w*N)``, the column order of im2col: one transpose copy
    (none when ``a`` is already a view of channel-major memory)."""
    N, C, h, w = a.shape
    xp = get_array_module(a)
    return xp.ascontiguousarray(a.transpose(1, 2, 3, 0)).reshape(C, h * w * N)


def _channel_sums(a):
    """Per-channel sums of an ``(N, C, h, w)`` array in any memory order, ``(C,)``."""
    xp = get_array_module(a)
    return xp.einsum("nchw->c", a)


def _from_channel_matrix(m, N, h, w, bias=None, contiguous=True):
    """``(C, h*w*N) -> (N, C, h, w)`` plus ``bias`` ``(C,)``: C-contiguous (the bias added in
    the transposing copy), or with ``contiguous=False`` on NumPy the NCHW view of ``m``."""
    C = m.shape[0]
    xp = get_array_module(m)
    view = m.reshape(C, h, w, N).transpose(3, 0, 1, 2)
    if not contiguous and xp is np:
        if bias is not None:
            m += bias.reshape(C, 1)
        return view
    return nchw_copy(view, bias)


# -- checks --------------------------------------------------------------------------
# Each forward pass checks its arguments once, here (:func:`conv_hyperparameters`
# for stride and padding, then the arrays against each other, raising
# ``minigan.functional.ShapeError``), and computes one
# :class:`minigan.functional.im2col.ConvGeometry` that im2col, col2im and the GPU kernels
# take and that the cache keeps for the backward pass.
def conv_hyperparameters(op, stride, padding, output_padding=0):
    """``stride`` (>= 1), ``padding`` (>= 0) and ``output_padding`` (>= 0, smaller than
    the stride) as ``(h, w)`` pairs; a ValueError naming ``op`` otherwise.

    The one check of these values: the forward passes run it on every call, the
    layers once, when they are built.
    """
    stride = pair(stride, "stride", op, 1)
    padding = pair(padding, "padding", op, 0)
    output_padding = pair(output_padding, "output_padding", op, 0)
    if output_padding[0] >= stride[0] or output_padding[1] >= stride[1]:
        raise ValueError(
            f"{op}: output_padding {output_padding} must be smaller than stride {stride}"
        )
    return stride, padding, output_padding


def _check_arrays(op, x, W, b, in_axis, out_axis):
    """Check ranks and channel counts of ``x``, ``W``, ``b`` (a :class:`ShapeError`)."""
    if W.ndim != 4:
        raise ShapeError(op, f"weight must be 4-D, got shape {tuple(W.shape)}")
    names = ("out", "in") if in_axis == 1 else ("in", "out")
    w_desc = f"({names[0]}, {names[1]}, kh, kw)"
    if x.ndim != 4 or x.shape[1] != W.shape[in_axis]:
        expected = f"(N, {W.shape[in_axis]}, H, W)"
        raise ShapeError(
            op,
            f"input of shape {tuple(x.shape)} does not fit weight of shape "
            f"{tuple(W.shape)} {w_desc}; expected {expected}",
            layer_message=f"expected input {expected}, got {tuple(x.shape)}",
        )
    if b is not None and tuple(b.shape) != (W.shape[out_axis],):
        raise ShapeError(
            op,
            f"bias of shape {tuple(b.shape)} does not fit weight of shape "
            f"{tuple(W.shape)} {w_desc}; expected ({W.shape[out_axis]},)",
        )


def _conv2d_geometry(x, W, b, stride, padding):
    """Check the arguments of :func:`conv2d_forward`; return its ``ConvGeometry``."""
    op = "Conv2d"
    stride, padding, _ = conv_hyperparameters(op, stride, padding)
    _check_arrays(op, x, W, b, in_axis=1, out_axis=0)
    (h, w), (ph, pw), (kh, kw) = x.shape[2:], padding, W.shape[2:]
    if h + 2 * ph < kh or w + 2 * pw < kw:
        raise ShapeError(
            op,
            f"kernel ({kh}, {kw}) is larger than the padded input: input of shape "
            f"{tuple(x.shape)} with padding ({ph}, {pw}) is {h + 2 * ph} x {w + 2 * pw}; "
            f"expected H + 2*padding >= kh and W + 2*padding >= kw",
        )
    return ConvGeometry.conv(x.shape[2:], W.shape[2:], stride, padding)


def _conv_transpose2d_geometry(x, W, b, stride, padding, output_padding):
    """Check the arguments of :func:`conv_transpose2d_forward`; return its ``ConvGeometry``."""
    op = "ConvTranspose2d"
    stride, padding, output_padding = conv_hyperparameters(op, stride, padding, output_padding)
    _check_arrays(op, x, W, b, in_axis=0, out_axis=1)
    geom = ConvGeometry.conv_transpose(x.shape[2:], W.shape[2:], stride, padding, output_padding)
    ho, wo = geom.image
    if ho < 1 or wo < 1:
        raise ShapeError(
            op,
            f"input of shape {tuple(x.shape)} with weight {tuple(W.shape)}, "
            f"stride {stride}, padding {padding}, output_padding {output_padding} gives "
            f"an output of {ho} x {wo}; expected (H-1)*stride - 2*padding + kernel "
            f"+ output_padding >= 1",
        )
    return geom


# -- memory layout: what makes the NumPy passes fast ---------------------------------
# Both maps produce their result in channel-major memory ``(C, h, w, N)``, the
# batch index fastest: the GEMM writes ``(channels, pixels)`` and col2im adds
# onto a ``(C, h, w, N)`` image. By default every pass returns a C-contiguous
# NCHW array, which costs one transposing copy (about 0.6 ms for a 64 x 64 x 14 x
# 14 float32 batch on 2 cores, an eighth of that layer's GEMM time). With
# ``contiguous=False`` (NumPy only) the passes return the NCHW *view* of that
# memory instead: same shape, same values, other strides. The layers ask for
# it: the elementwise layers that follow keep the layout (NumPy ufuncs allocate
# in the inputs' memory order), and the next convolution needs channel-major
# memory anyway (im2col pads it, the transposed convolution multiplies it), so
# the transposes between two convolutions cancel out instead of being paid
# twice. The backward passes hand ``dx`` back in the layout the forward input
# had (recorded in the cache), so a caller never tracks layouts itself;
# :func:`is_channel_major` and :func:`as_layout_of` are the two helpers that
# :mod:`minigan.functional.batchnorm` shares.
def is_channel_major(a):
    """True when ``a`` is ``(N, C, h, w)`` with the batch index fastest in memory: the NCHW
    view of channel-major ``(C, h, w, N)`` memory that the passes return with
    ``contiguous=False``."""
    return a.ndim == 4 and a.shape[0] > 1 and a.strides[0] == a.itemsize


def as_layout_of(a, like):
    """``a``, copied to channel-major memory when ``like`` is channel-major and ``a`` is not
    (one transposing copy, instead of every later pass mixing two memory orders)."""
    if is_channel_major(like) and not is_channel_major(a):
        xp = get_array_module(a)
        return xp.ascontiguousarray(a.transpose(1, 2, 3, 0)).transpose(3, 0, 1, 2)
    return a
