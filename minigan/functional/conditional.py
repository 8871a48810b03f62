r"""The label joins the sample: the one operation of a conditional GAN (Mirza & Osindero 2014).

A one-hot label ``c`` of ``K`` classes is concatenated to a sample: to the
features of a row (a dense layer's input: the noise of G, the flat image of
D), or as ``K`` constant channel maps beside an image's channels (a
convolution's input: channel ``k`` is 1 everywhere for class ``k``, 0
elsewhere).
"""

from __future__ import annotations

from minigan import backend

from .errors import ShapeError


def label_concat_forward(x, c):
    r"""``x`` with the label ``c`` appended: as features, or as constant channel maps.

    .. math::
        \text{out}_{n} = [\,x_n,\ c_n\,] \quad (N, F + K), \qquad
        \text{out}_{n,:,h,w} = [\,x_{n,:,h,w},\ c_n\,] \quad (N, C + K, H, W)

    Parameters
    ----------
    x : ndarray of shape (N, F) or (N, C, H, W)
    c : ndarray of shape (N, K), one-hot (or any real numbers: the pair is linear)

    Returns
    -------
    out : ndarray of shape (N, F + K) or (N, C + K, H, W)
    cache : tuple ``(C, ndim)``: the number of channels (features) of ``x`` and its rank
    """
    if c.ndim != 2 or x.ndim not in (2, 4) or c.shape[0] != x.shape[0]:
        raise ShapeError("LabelConcat",
                         f"sample of shape {tuple(x.shape)} and label of shape {tuple(c.shape)} "
                         "do not fit; expected (N, F) or (N, C, H, W), and (N, K)",
                         layer_message=f"expected labels of shape ({x.shape[0]}, K), got "
                         f"{tuple(c.shape)}")
    xp = backend.get_array_module(x)
    if x.ndim == 4:
        c = xp.broadcast_to(c[:, :, None, None], c.shape + x.shape[2:])
    return xp.concatenate([x, c.astype(x.dtype, copy=False)], axis=1), (x.shape[1], x.ndim)


def label_concat_backward(dout, cache):
    r"""Gradients through the concatenation: each input gets its slice.

    .. math::
        \bar x = \bar{\text{out}}_{[:, :C]}, \qquad
        \bar c_{nk} = \bar{\text{out}}_{n, C + k} \ \text{(rows)}, \qquad
        \bar c_{nk} = \textstyle\sum_{h,w} \bar{\text{out}}_{n, C + k, h, w} \ \text{(maps:
        a broadcast forward is a sum backward)}

    Returns
    -------
    dx : ndarray of the shape of ``x``
    dc : ndarray of shape (N, K)
    """
    C, ndim = cache
    dc = dout[:, C:] if ndim == 2 else dout[:, C:].sum(axis=(2, 3))
    return dout[:, :C], dc
