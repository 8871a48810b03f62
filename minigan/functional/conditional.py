r"""The label joins the sample: the one operation of a conditional GAN (Mirza & Osindero 2014).

The derivation, a worked example and the property test: ``docs/atlas/conditional.rst``.

A one-hot label ``c`` of ``K`` classes is concatenated to a sample: to the
features of a row (a dense layer's input: the noise of G, the flat image of
D), or as ``K`` constant channel maps beside an image's channels (a
convolution's input: channel ``k`` is 1 everywhere for class ``k``, 0
elsewhere).
"""

from __future__ import annotations

import statistics

import numpy as np

from minigan import backend

from .errors import ShapeError, check_dout

__all__ = ["label_concat_forward", "label_concat_backward", "label_from_noise_forward",
           "label_from_noise_backward", "label_cuts"]


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
    cache : tuple ``(C, shape)``: the number of channels (features) of ``x`` and the
        output's shape
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
    out = xp.concatenate([x, c.astype(x.dtype, copy=False)], axis=1)
    return out, (x.shape[1], out.shape)


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
    C, shape = cache
    check_dout("LabelConcat", dout, shape)
    dc = dout[:, C:] if len(shape) == 2 else dout[:, C:].sum(axis=(2, 3))
    return dout[:, :C], dc


def label_from_noise_forward(z, cuts):
    r"""``[0, z_1, ..., z_{D-1}, one_hot(c)]``: the noise with its first coordinate replaced
    by the label it chooses, its place among the sorted ``cuts``.

    .. math::
        c_n = \#\{\,j : z_{n,0} > t_j\,\}, \qquad
        \text{out}_n = [\,0,\ z_{n,1}, \dots, z_{n,D-1},\ e_{c_n}\,] \quad (N, D + K),

    with :math:`t_1 \le \dots \le t_{K-1}` the ``cuts`` (:math:`K - 1` of them for
    :math:`K` classes, so :math:`c_n \in \{0, \dots, K - 1\}`) and :math:`e_c` the one-hot
    row of class :math:`c`. With :math:`t_j` the quantiles of :math:`z_0`'s distribution at
    the cumulative shares :math:`p_0 + \dots + p_{j-1}`, class :math:`k` is drawn with
    probability :math:`p_k`:
    a generator fed ``out`` draws its own label from its own noise, and stays a function of
    ``z`` alone (:class:`minigan.nn.layers.SelfConditionedGenerator`). The coordinate that
    chose the label is not passed on (0 in its place): it would tell the generator the label
    again, and where in its group's interval it fell, while the other coordinates are
    independent of the label.

    Parameters
    ----------
    z : ndarray of shape (N, D), D >= 1
    cuts : ndarray of shape (K - 1,), sorted ascending

    Returns
    -------
    out : ndarray of shape (N, D + K), dtype of ``z``
    cache : tuple ``(D, shape)``: the width of ``z`` and the output's shape
    """
    if z.ndim != 2 or z.shape[1] < 1 or cuts.ndim != 1:
        raise ShapeError("LabelFromNoise",
                         f"noise of shape {tuple(z.shape)} and cuts of shape {tuple(cuts.shape)} "
                         "do not fit; expected (N, D) with D >= 1, and (K - 1,)",
                         layer_message=f"expected noise of shape (N, D), got {tuple(z.shape)}")
    xp = backend.get_array_module(z)
    label = (z[:, :1] > cuts[None, :]).sum(axis=1)
    one_hot = label[:, None] == xp.arange(cuts.shape[0] + 1)[None, :]
    out = xp.concatenate([z, one_hot.astype(z.dtype)], axis=1)
    out[:, 0] = 0
    return out, (z.shape[1], out.shape)


def label_from_noise_backward(dout, cache):
    r"""Gradient with respect to ``z``: the slice of the coordinates passed on, and 0 for the
    first. The label is a step function of :math:`z_0`, constant between the cuts, so it
    sends nothing back (almost everywhere), and :math:`z_0` reaches the output no other way.

    .. math:: \bar z_{:, 0} = 0, \qquad \bar z_{:, 1:} = \bar{\text{out}}_{[:, 1:D]}
    """
    D, shape = cache
    check_dout("LabelFromNoise", dout, shape)
    dz = dout[:, :D].copy()
    dz[:, 0] = 0
    return dz


def label_cuts(shares, prior="gaussian"):
    r"""Thresholds on the noise's first coordinate :math:`z_0` that draw class :math:`k`
    with probability :math:`p_k` = ``shares[k] / sum(shares)``, :math:`k = 0, \dots, K - 1`:
    the quantiles of :math:`z_0` at the cumulative shares,

    .. math:: t_j = F^{-1}(p_0 + \dots + p_{j-1}), \qquad j = 1, \dots, K - 1,

    with :math:`F` the standard normal's distribution function (``"gaussian"``) or the
    uniform one on :math:`[-1, 1]` (``"uniform"``, :math:`F^{-1}(u) = 2u - 1`).
    """
    shares = np.asarray(shares, dtype=np.float64)
    if shares.ndim != 1 or len(shares) < 1 or np.any(shares < 0) or shares.sum() <= 0:
        raise ValueError(f"shares must be numbers >= 0 with a positive sum, got "
                         f"{np.array2string(shares, threshold=8)}")
    cumulative = np.cumsum(shares / shares.sum())[:-1]
    if prior == "gaussian":
        tiny = 1e-12                                    # inv_cdf is defined on (0, 1)
        inv = statistics.NormalDist().inv_cdf
        return np.array([inv(min(max(u, tiny), 1.0 - tiny)) for u in cumulative])
    if prior == "uniform":
        return 2.0 * cumulative - 1.0
    raise ValueError(f"unknown prior {prior!r}; use 'gaussian' or 'uniform'")
