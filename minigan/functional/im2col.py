r"""im2col / col2im: convolution as one matrix product.

The convolutions' gradients, derived through these two maps, with a worked example and the
property tests: ``docs/atlas/conv.rst``.

A 2-D convolution of an image batch ``x`` of shape ``(N, C, h, w)`` with a
kernel of ``kh x kw`` at stride ``(sh, sw)`` and zero padding ``(ph, pw)``
reads, for every output pixel, a ``C x kh x kw`` window of the padded input.
``im2col`` copies those windows into a matrix so that the convolution becomes
a single GEMM; ``col2im`` is its adjoint: it adds every window back to the
pixel it came from.

Output size (floored, as PyTorch does):

.. math::
    o_h = \left\lfloor \frac{h + 2 p_h - k_h}{s_h} \right\rfloor + 1

and the transposed convolution inverts it, from a grid of :math:`o_h` rows back to an
image of :math:`h` rows:

.. math::
    h = (o_h - 1)\, s_h - 2 p_h + k_h + \text{output_padding}_h

Column layout
-------------
``col`` has shape ``(C, kh, kw, oh, ow, N)``, C-contiguous, with

.. math::
    \text{col}[c, i, j, r, t, n] = x_{pad}[n, c,\ r s_h + i,\ t s_w + j]

for kernel offset :math:`(i, j)` and pixel :math:`(r, t)` of the ``oh x ow`` column grid
(the output pixel of a convolution); :math:`(u, v)` is a pixel of the ``h x w`` image.
``col.reshape(C*kh*kw, oh*ow*N)`` is then the column matrix without a
copy: the rows are indexed like the flattened kernel ``W.reshape(O, C*kh*kw)``
of a Conv2d weight ``(O, C, kh, kw)``, and the columns run over every output
pixel of the whole batch, the batch index fastest. A convolution is then ONE
GEMM ``W.reshape(O, -1) @ col.reshape(C*kh*kw, -1)`` of shape
``(O, oh*ow*N)``, followed by one transpose to ``(N, O, oh, ow)``; there is no
per-sample product. The GPU kernels :func:`minigan.backend.kernels.im2col_gpu` and
:func:`minigan.backend.kernels.col2im_gpu` produce and consume exactly this layout.

Why the batch index is innermost: every im2col copy and every col2im
addition moves a slab ``(C, oh, ow, N)`` between ``col`` and a strided view of
the padded image. With ``N`` last in both, the innermost loop is a contiguous
run of ``N`` values (64 for a DCGAN batch) in both arrays; with ``(N, oh, ow)``
it would be a run of ``ow`` values at stride ``s`` in the image (7 for the
14 -> 7 layer), and NumPy spends its time in loop overhead. Measured on 2 cores
in float32 for the 64 x 64 x 14 x 14 input of a k=4, s=2, p=1 layer: im2col
2.1 ms instead of 4.2 ms, col2im 3.1 ms instead of 10.8 ms; the transposes
to and from NCHW that it costs are about 0.3 ms.

Geometry
--------
Every function here takes one :class:`ConvGeometry` instead of a row of ints:
kernel, stride, padding and output padding, the image size ``(h, w)`` and the
column grid ``(oh, ow)``. The convolution ops compute and validate it once
per call (:mod:`minigan.functional.conv`); the GPU kernels read it too, which
is why :mod:`minigan.backend.kernels` needs nothing from this module (this module
imports the kernels, which import CuPy only when one first runs, and nothing imports
it back).

CPU implementation (Chainer's)
------------------------------
No Python loop per pixel and no scatter: :func:`im2col` loops over the
``kh x kw`` kernel offsets only; for each offset ``(i, j)`` the slab
``col[:, i, j]`` is ONE strided slice of the padded input. :func:`col2im`
runs the same loop and adds each slab into a strided slice of a zeroed
``(C, h, w, N)`` image, the layout of the slabs (``+=`` on a slice view touches
every pixel at most once per offset, so there are no duplicate indices). The
rows and columns of a slab whose taps land in the padding are left out of the
slice instead of being added onto a padded image and cropped away: the same
sums in the same order, without the padded image and its copy (about 0.5 ms of
the 6 to 9 ms of a 64 <-> 128 channel col2im with its GEMM).

col2im of a product, in blocks of output rows (CPU)
---------------------------------------------------
The backward-data pass of a convolution (and the forward pass of a transposed
one) applies col2im to a product ``W_m^T D``. For DCGAN's 64 <-> 128 channel
layers that column array is 1024 x 3136 floats (12.8 MB), more than the caches
hold. Its columns are ordered ``(r, t, n)``, so the columns of a few output
rows are a contiguous block of ``D``: :func:`col2im_matmul_cpu` multiplies one
such block (about one core's L2 cache, :data:`BLOCK_BYTES`), adds it onto the
image while it is still in cache, and reuses its buffer for the next
rows; the whole column array is never formed. Same sums, added in another
order; on 2 cores in float32 the GEMM + col2im of those layers takes about
6.5 ms instead of 8.5 ms. (The same blocking of im2col + GEMM in the forward
pass gained nothing measurable: that GEMM reads the columns at its own pace,
and the column array must be kept whole for the weight gradient anyway.)

The direct definitions of both convolutions, written with explicit loops and
independent of im2col, are :mod:`minigan.check.naive`: the tests compare with them.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from minigan.backend import get_array_module, kernels, op

__all__ = [
    "pair",
    "ConvGeometry",
    "conv_output_size",
    "conv_transpose_output_size",
    "im2col",
    "col2im",
    "col2im_matmul",
    "col2im_matmul_cpu",
    "nchw_copy",
]


def pair(value, name="value", owner="pair", minimum=None):
    """``value``, an int or an ``(h, w)`` pair of ints, as a pair of ints.

    A ValueError naming ``owner`` (the layer or op) and ``name`` when ``value`` is
    not such a pair, or when ``minimum`` is given and an entry is below it.
    """
    try:
        if isinstance(value, (tuple, list)):
            if len(value) != 2:
                raise TypeError
            hw = (value[0], value[1])
        else:
            hw = (value, value)
        if any(isinstance(v, bool) or int(v) != v for v in hw):
            raise TypeError
        hw = (int(hw[0]), int(hw[1]))
    except (TypeError, ValueError, OverflowError):      # OverflowError: int(inf)
        raise ValueError(
            f"{owner}: {name} must be an int or a pair of ints (h, w), got {value!r}"
        ) from None
    if minimum is not None and min(hw) < minimum:
        raise ValueError(f"{owner}: {name} must be >= {minimum}, got {value!r}")
    return hw


def conv_output_size(size, k, s, p):
    r"""Output length of a convolution along one axis, floored like PyTorch.

    .. math:: o = \lfloor (\text{size} + 2p - k) / s \rfloor + 1

    The result is below 1 when the kernel is larger than the padded input;
    callers turn that into an error that names the layer.
    """
    return (size + 2 * p - k) // s + 1


def conv_transpose_output_size(size, k, s, p, output_padding=0):
    r"""Output length of a transposed convolution along one axis (PyTorch's formula).

    .. math:: o = (\text{size} - 1)\, s - 2p + k + \text{output_padding}

    ``output_padding`` (``< s``) picks one of the ``s`` input sizes that a
    stride-``s`` convolution maps to ``size``.
    """
    return (size - 1) * s - 2 * p + k + output_padding


@dataclass(frozen=True)
class ConvGeometry:
    """The geometry of one convolution, each field an ``(h, w)`` pair of ints.

    ``image`` is the side im2col reads and col2im writes (a Conv2d's input, a
    ConvTranspose2d's output), ``grid`` the column grid ``(oh, ow)`` (a Conv2d's
    output, a ConvTranspose2d's input). Build it with :meth:`conv` or
    :meth:`conv_transpose`, which compute the other size; the convolution ops
    validate their arguments before (:mod:`minigan.functional.conv`).
    """

    kernel: tuple
    stride: tuple
    padding: tuple
    image: tuple
    grid: tuple
    output_padding: tuple = (0, 0)

    @classmethod
    def conv(cls, image, kernel, stride=1, padding=0):
        """The geometry of a convolution of an ``image = (h, w)`` input: ``grid`` from
        :func:`conv_output_size`."""
        kernel, stride, padding, image = (pair(v) for v in (kernel, stride, padding, image))
        grid = tuple(conv_output_size(image[a], kernel[a], stride[a], padding[a]) for a in (0, 1))
        return cls(kernel, stride, padding, image, grid)

    @classmethod
    def conv_transpose(cls, grid, kernel, stride=1, padding=0, output_padding=0):
        """The geometry of a transposed convolution of a ``grid = (h, w)`` input: ``image``
        (its output) from :func:`conv_transpose_output_size`."""
        kernel, stride, padding, output_padding, grid = (
            pair(v) for v in (kernel, stride, padding, output_padding, grid))
        image = tuple(conv_transpose_output_size(grid[a], kernel[a], stride[a], padding[a],
                                                 output_padding[a]) for a in (0, 1))
        return cls(kernel, stride, padding, image, grid, output_padding)

    def col_shape(self, channels, batch):
        """Shape of the column array, ``(C, kh, kw, oh, ow, N)``."""
        return (channels, *self.kernel, *self.grid, batch)

    def padded(self):
        """Size of the zero-padded image, ``(h + 2 ph, w + 2 pw)``."""
        return tuple(self.image[a] + 2 * self.padding[a] for a in (0, 1))


# -- CPU ---------------------------------------------------------------------
def _pad_to_slab_layout(x, geom):
    """``(N, C, h, w) -> (C, h + 2ph, w + 2pw, N)``, zero-padded: the one transpose of the input."""
    N, C, h, w = x.shape
    ph, pw = geom.padding
    xpad = get_array_module(x).zeros((C, *geom.padded(), N), dtype=x.dtype)
    xpad[:, ph:ph + h, pw:pw + w, :] = x.transpose(1, 2, 3, 0)
    return xpad


def _copy_windows(col, xpad, stride):
    """``col[:, i, j] = `` the strided window slab of every kernel offset ``(i, j)``.

    ``col`` is ``(C, kh, kw, oh, ow, N)``, ``xpad`` the padded ``(C, h + 2ph, w + 2pw, N)``
    image.
    """
    (sh, sw), (kh, kw, oh, ow) = stride, col.shape[1:5]
    for i in range(kh):
        i_end = i + sh * (oh - 1) + 1
        for j in range(kw):
            j_end = j + sw * (ow - 1) + 1
            col[:, i, j] = xpad[:, i:i_end:sh, j:j_end:sw, :]


def _grid_span(first, count, offset, stride, pad, size):
    """The grid indices ``g`` (rows ``r`` or columns ``t``) in ``[first, first + count)`` whose
    window tap lands inside the image, ``0 <= g * stride + offset - pad < size``, as
    ``(lo, hi)`` (empty when ``lo >= hi``)."""
    lo = max(first, -(-(pad - offset) // stride))
    hi = min(first + count, (size - 1 + pad - offset) // stride + 1)
    return lo, hi


def _add_windows(img, col, r0, geom):
    """``img[windows of output rows r0 ..] += col``: the adjoint of :func:`_copy_windows`.

    ``img`` is the unpadded ``(C, h, w, N)`` image, ``col`` is ``(C, kh, kw, rows, ow, N)``:
    the slabs of ``rows`` output rows from ``r0``. Taps that land in the padding are
    skipped (they would be cropped away), so no padded image is formed and copied. Grid
    rows ``r`` and columns ``t`` map to image rows ``u = r sh + i - ph`` and columns
    ``v = t sw + j - pw``.
    """
    (sh, sw), (ph, pw), (h, w) = geom.stride, geom.padding, geom.image
    kh, kw, rows, ow = col.shape[1:5]
    for i in range(kh):
        rlo, rhi = _grid_span(r0, rows, i, sh, ph, h)
        if rlo >= rhi:
            continue
        u0 = rlo * sh + i - ph
        u1 = u0 + (rhi - rlo - 1) * sh + 1
        for j in range(kw):
            tlo, thi = _grid_span(0, ow, j, sw, pw, w)
            if tlo >= thi:
                continue
            v0 = tlo * sw + j - pw
            v1 = v0 + (thi - tlo - 1) * sw + 1
            img[:, u0:u1:sh, v0:v1:sw, :] += col[:, i, j, rlo - r0:rhi - r0, tlo:thi]


def _to_nchw(img, bias=None, contiguous=True):
    """``(C, h, w, N)`` image -> ``(N, C, h, w)``, plus a per-channel bias.

    C-contiguous by default (one transposing copy). With ``contiguous=False``, the
    NCHW view of ``img`` itself (channel-major memory), the bias added in place.
    """
    if not contiguous:
        if bias is not None:
            img += bias.reshape(-1, 1, 1, 1)
        return img.transpose(3, 0, 1, 2)
    return nchw_copy(img.transpose(3, 0, 1, 2), bias)


def nchw_copy(view, bias=None):
    """A C-contiguous copy of an ``(N, C, h, w)`` view, plus a per-channel bias ``(C,)``
    added in the same pass (NumPy or CuPy)."""
    xp = get_array_module(view)
    out = xp.empty(view.shape, dtype=view.dtype)
    if bias is None:
        out[...] = view
    else:
        xp.add(view, bias.reshape(1, -1, 1, 1), out=out)
    return out


@op
def im2col(x, geom):
    r"""Unfold the ``kh x kw`` windows of a zero-padded NCHW batch into columns.

    .. math::
        \text{col}[c, i, j, r, t, n] = x_{pad}[n, c,\ r s_h + i,\ t s_w + j]

    (kernel offset :math:`(i, j)`, grid pixel :math:`(r, t)`).

    Parameters
    ----------
    x : ndarray of shape (N, C, h, w), ``(h, w) = geom.image``
    geom : ConvGeometry
        Kernel, stride, padding and the column grid ``(oh, ow)``.

    Returns
    -------
    col : ndarray of shape (C, kh, kw, oh, ow, N), dtype of ``x``; see the module docstring.
    """
    N, C = x.shape[:2]
    col = get_array_module(x).empty(geom.col_shape(C, N), dtype=x.dtype)
    _copy_windows(col, _pad_to_slab_layout(x, geom), geom.stride)
    return col


@op
def col2im(col, geom):
    r"""Adjoint of :func:`im2col`: add every window back onto its pixels.

    .. math::
        \text{out}[n, c, u, v] = \sum_{i, j, r, t\,:\ r s_h + i - p_h = u,\
                         t s_w + j - p_w = v} \text{col}[c, i, j, r, t, n]

    for image pixel :math:`(u, v)`, kernel offset :math:`(i, j)` and grid pixel
    :math:`(r, t)`, so that :math:`\langle \mathrm{im2col}(x), \text{col}\rangle =
    \langle x, \mathrm{col2im}(\text{col})\rangle` for all ``x`` and ``col``.

    Parameters
    ----------
    col : ndarray of shape (C, kh, kw, oh, ow, N)
    geom : ConvGeometry
        As given to :func:`im2col`; ``geom.image`` is the size of the image to
        rebuild (rows and columns that no window reaches get zero: a transposed
        convolution's output padding where it is wider than the padding; narrower, the
        taps the padding would crop land there, as in PyTorch).

    Returns
    -------
    out : ndarray of shape (N, C, h, w), C-contiguous, dtype of ``col``
    """
    C, N = col.shape[0], col.shape[5]
    img = get_array_module(col).zeros((C, *geom.image, N), dtype=col.dtype)
    _add_windows(img, col, 0, geom)
    return _to_nchw(img)


@op
def col2im_matmul(a, d, geom, bias=None, contiguous=True):
    r"""``col2im(a @ d)`` plus a per-channel bias: the backward-data pass of a convolution and
    the forward pass of a transposed one.

    .. math:: x = \mathrm{col2im}(A D) + \text{bias}

    Parameters
    ----------
    a : ndarray of shape (C*kh*kw, R)
        Rows indexed like ``col``'s ``(c, i, j)``.
    d : ndarray of shape (R, oh*ow*N)
        Columns ordered ``(r, t, n)``, the batch index fastest.
    geom : ConvGeometry
        As for :func:`col2im`.
    bias : ndarray of shape (C,) or None
    contiguous : bool
        Used by the NumPy body (:func:`col2im_matmul_cpu`): False lets it return the NCHW
        view of channel-major memory. Here the result is always C-contiguous.

    Returns
    -------
    x : ndarray of shape (N, C, h, w)
    """
    (kh, kw), (oh, ow) = geom.kernel, geom.grid
    C, N = a.shape[0] // (kh * kw), d.shape[1] // (oh * ow)
    out = col2im((a @ d).reshape(geom.col_shape(C, N)), geom)
    if bias is not None:
        out += bias.reshape(1, C, 1, 1)
    return out


#: Bytes of one block of the column array in :func:`col2im_matmul_cpu`: about one
#: core's L2 cache, so the block the GEMM writes is still cached when col2im reads it.
BLOCK_BYTES = 2 << 20


def _block_rows(K, ow, N, itemsize, oh):
    """Output rows per block: as many as fit ``K x (rows*ow*N)`` values in :data:`BLOCK_BYTES`."""
    return max(1, min(oh, BLOCK_BYTES // max(1, K * ow * N * itemsize)))


@col2im_matmul.cpu
def col2im_matmul_cpu(a, d, geom, bias=None, contiguous=True, rows=None):
    r""":func:`col2im_matmul` on NumPy: the product ``a @ d`` formed a few output rows at a
    time and added onto the image while in cache (see the module docstring).

    .. math::
        x = \mathrm{col2im}(A D) + \text{bias},\qquad
        A D = [\,A D_{r_0} \mid A D_{r_1} \mid \dots\,]

    where :math:`D_{r}` holds the columns of ``d`` that belong to output rows
    ``r`` (the columns are ordered ``(r, t, n)``, so each block is a contiguous
    range of columns). Each block :math:`A D_r` is the slab ``col[:, :, :, r]``
    of the column array: it is added onto the image right after the
    GEMM that writes it, and its buffer is reused for the next block.

    Parameters
    ----------
    a : ndarray of shape (C*kh*kw, R)
        Rows indexed like ``col``'s ``(c, i, j)``.
    d : ndarray of shape (R, oh*ow*N)
        Columns ordered ``(r, t, n)``, the batch index fastest.
    geom : ConvGeometry
        As for :func:`col2im`.
    bias : ndarray of shape (C,) or None
        Added to every pixel of channel ``c`` in the final copy.
    contiguous : bool
        True: a C-contiguous NCHW array. False: the NCHW view of channel-major
        ``(C, h, w, N)`` memory (no final transposing copy).
    rows : int, optional
        Output rows per block; by default as many as fit in :data:`BLOCK_BYTES`.

    Returns
    -------
    x : ndarray of shape (N, C, h, w)
        ``col2im((a @ d).reshape(C, kh, kw, oh, ow, N), geom)`` plus the bias, up to the
        order in which the additions are made.
    """
    (kh, kw), (oh, ow) = geom.kernel, geom.grid
    K = a.shape[0]
    C = K // (kh * kw)
    N = d.shape[1] // (oh * ow)
    width = ow * N                                       # columns of one output row
    dtype = np.result_type(a, d)
    rows = _block_rows(K, ow, N, dtype.itemsize, oh) if rows is None else max(1, min(oh, rows))
    img = np.zeros((C, *geom.image, N), dtype=dtype)
    buf = np.empty(K * rows * width, dtype=dtype)
    for r0 in range(0, oh, rows):
        nr = min(rows, oh - r0)
        block = buf[:K * nr * width].reshape(K, nr * width)
        np.matmul(a, d[:, r0 * width:(r0 + nr) * width], out=block)
        _add_windows(img, block.reshape(C, kh, kw, nr, ow, N), r0, geom)
    return _to_nchw(img, bias, contiguous)


# -- CuPy: the kernels of minigan.backend.kernels (col2im as a gather, no atomics)
@im2col.gpu
def _im2col_gpu(x, geom):
    """:func:`im2col`'s formula, ``col[c, i, j, r, t, n] = x_pad[n, c, r s_h + i, t s_w + j]``,
    one thread a column entry (``kernels.im2col_gpu``)."""
    return kernels.im2col_gpu(x, geom)


@col2im.gpu
def _col2im_gpu(col, geom):
    """:func:`col2im`, the adjoint of :func:`im2col`: each pixel gathers the window entries
    that read it, one thread a pixel, no atomics (``kernels.col2im_gpu``)."""
    return kernels.col2im_gpu(col, geom)
