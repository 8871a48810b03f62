r"""Both convolutions by their definitions, one output value at a time: slow, obvious, and
independent of im2col, so that the tests can hold the fast path against them.

- :func:`conv2d_naive`: PyTorch's ``conv2d``, every output pixel a sum over its window;
- :func:`conv_transpose2d_naive`: PyTorch's ``conv_transpose2d``, every input pixel
  stamping the kernel onto the output.
"""

from __future__ import annotations

import numpy as np

from minigan.functional.im2col import pair

__all__ = ["conv2d_naive", "conv_transpose2d_naive"]


def conv2d_naive(x, W, b=None, stride=1, padding=0):
    r"""Direct definition of PyTorch's ``conv2d``, one output value at a time.

    .. math::
        \text{out}[n, o, y, x] = b_o + \sum_{c, i, j}
            W[o, c, i, j]\; x_{pad}[n, c,\ y s_h + i,\ x s_w + j]

    Slow, obvious and independent of ``im2col``; only for tests.

    Parameters
    ----------
    x : ndarray of shape (N, C, H, W)
    W : ndarray of shape (O, C, kh, kw)
    b : ndarray of shape (O,) or None
    stride, padding : int or (int, int)

    Returns
    -------
    out : ndarray of shape (N, O, oh, ow)
    """
    sh, sw = pair(stride)
    ph, pw = pair(padding)
    N, C, H, Wd = x.shape
    O, _, kh, kw = W.shape
    oh = (H + 2 * ph - kh) // sh + 1
    ow = (Wd + 2 * pw - kw) // sw + 1
    xpad = np.zeros((N, C, H + 2 * ph, Wd + 2 * pw), dtype=x.dtype)
    xpad[:, :, ph:ph + H, pw:pw + Wd] = x
    out = np.zeros((N, O, oh, ow), dtype=np.result_type(x, W))
    for n in range(N):
        for o in range(O):
            for y in range(oh):
                for xx in range(ow):
                    window = xpad[n, :, y * sh:y * sh + kh, xx * sw:xx * sw + kw]
                    out[n, o, y, xx] = np.sum(window * W[o]) + (0 if b is None else b[o])
    return out


def conv_transpose2d_naive(x, W, b=None, stride=1, padding=0, output_padding=0):
    r"""Direct definition of PyTorch's ``conv_transpose2d``: every input pixel stamps
    the kernel, scaled by its value, onto the output.

    .. math::
        \text{out}_{pad}[n, o,\ y s_h + i,\ x s_w + j] \mathrel{+}=
            x[n, c, y, x]\; W[c, o, i, j]

    then the padding is cropped: ``out = out_pad[:, :, ph:ph+H_out, pw:pw+W_out]``,
    plus the bias. Slow, obvious and independent of ``col2im``; only for tests.

    Parameters
    ----------
    x : ndarray of shape (N, C, H, W)
    W : ndarray of shape (C, O, kh, kw)
    b : ndarray of shape (O,) or None
    stride, padding, output_padding : int or (int, int)

    Returns
    -------
    out : ndarray of shape (N, O, H_out, W_out), H_out = (H-1)*sh - 2*ph + kh + oph
    """
    sh, sw = pair(stride)
    ph, pw = pair(padding)
    oph, opw = pair(output_padding)
    N, C, H, Wd = x.shape
    _, O, kh, kw = W.shape
    Hp = (H - 1) * sh + kh + oph
    Wp = (Wd - 1) * sw + kw + opw
    out_pad = np.zeros((N, O, Hp, Wp), dtype=np.result_type(x, W))
    for n in range(N):
        for c in range(C):
            for y in range(H):
                for xx in range(Wd):
                    out_pad[n, :, y * sh:y * sh + kh, xx * sw:xx * sw + kw] += x[n, c, y, xx] * W[c]
    out = out_pad[:, :, ph:Hp - ph, pw:Wp - pw].copy()
    if b is not None:
        out += b.reshape(1, -1, 1, 1)
    return out
