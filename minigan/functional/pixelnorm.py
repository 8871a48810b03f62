r"""Pixelwise feature normalization (Karras et al. 2018, "Progressive Growing of GANs", 4.2).

The derivation, a worked example and the property test: ``docs/atlas/pixelnorm.rst``.

Each sample's feature vector (each pixel's vector of channels, for maps) is scaled to a
root mean square of one. Unlike batch norm it looks at one sample at a time, so a
generator that uses it draws the same image from the same noise in training and in
evaluation, whatever the rest of the batch, and it has no parameters and no running
statistics.
"""

from __future__ import annotations

from minigan import backend

from .errors import ShapeError, check_dout

__all__ = ["pixel_norm_forward", "pixel_norm_backward"]


def pixel_norm_forward(x, eps=1e-8):
    r"""Pixel norm: each row (or each pixel's channels) divided by its root mean square.

    With ``K`` the size of axis 1 (features of ``(N, F)`` rows, channels of
    ``(N, C, H, W)`` maps),

    .. math::
        r = \Big(\frac1K \sum_k x_k^2 + \epsilon\Big)^{-1/2}, \qquad y_k = x_k\, r .

    Parameters
    ----------
    x : ndarray of shape (N, F) or (N, C, H, W)
    eps : float

    Returns
    -------
    out : ndarray of the shape of ``x``
    cache : tuple ``(out, r)``, ``r`` with axis 1 kept (size 1)
    """
    if x.ndim not in (2, 4):
        raise ShapeError("PixelNorm", f"expected (N, F) rows or (N, C, H, W) maps, got an "
                                      f"input of shape {tuple(x.shape)}")
    xp = backend.get_array_module(x)
    r = 1.0 / xp.sqrt(xp.mean(x * x, axis=1, keepdims=True) + eps)
    out = x * r
    return out, (out, r)


def pixel_norm_backward(dout, cache):
    r"""Gradient through pixel norm.

    :math:`\partial r / \partial x_j = -r^3 x_j / K`, so
    :math:`\bar x_j = r\,\bar y_j - \frac{r^3 x_j}{K} \sum_k \bar y_k x_k`; with
    :math:`y = x r`,

    .. math::
        \bar x = r\,\Big(\bar y - y\, \frac1K \sum_k \bar y_k\, y_k\Big)

    (the part of :math:`\bar y` along :math:`y` taken out: scaling ``x`` does not
    change ``y``, up to :math:`\epsilon`).

    Returns
    -------
    dx : ndarray of the shape of ``dout``
    """
    out, r = cache
    check_dout("PixelNorm", dout, out.shape)
    xp = backend.get_array_module(dout)
    along = xp.mean(dout * out, axis=1, keepdims=True)
    return r * (dout - out * along)
