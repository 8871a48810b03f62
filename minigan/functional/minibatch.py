r"""Letting the discriminator see the whole minibatch: three remedies against mode collapse.

The derivation, a worked example and the property test: ``docs/atlas/minibatch.rst``.

A collapsed generator's samples look alike; a discriminator that judges one
sample at a time cannot tell. Each operation here gives D a statistic of
several samples at once, and back-propagates through that statistic:

- minibatch discrimination (Salimans et al. 2016): each sample's closeness to
  the others, through a learned projection ``T``;
- minibatch standard deviation (Karras et al. 2018): the standard deviation
  of each feature over a group of samples, averaged into one extra feature;
- packing (PacGAN, Lin et al. 2018): ``m`` samples concatenated into one
  input of D, which then scores the pack.

Inputs are ``(N, F)`` rows or ``(N, C, H, W)`` maps.
"""

from __future__ import annotations

from minigan import backend

from .errors import ShapeError, check_dout

__all__ = ["minibatch_discrimination_forward", "minibatch_discrimination_backward",
           "minibatch_stddev_forward", "minibatch_stddev_backward", "pack_forward",
           "pack_backward"]


# -- minibatch discrimination -----------------------------------------------------------------
def minibatch_discrimination_forward(x, T, kernels):
    r"""Minibatch discrimination: each row gets ``kernels`` closeness features to the other rows.

    With :math:`M = x T` reshaped to ``(N, B, C)`` (``B = kernels`` rows of
    ``C`` numbers per sample),

    .. math::
        D_{ijb} = \sum_c |M_{ibc} - M_{jbc}|, \qquad
        o_{ib} = \sum_{j \ne i} e^{-D_{ijb}}, \qquad
        \text{out} = [\,x,\ o\,]

    (Salimans et al. 2016 also sum the term :math:`j = i`, a constant 1.)

    Parameters
    ----------
    x : ndarray of shape (N, F)
    T : ndarray of shape (F, B * C)
    kernels : int
        ``B``; ``T.shape[1]`` must be a multiple of it.

    Returns
    -------
    out : ndarray of shape (N, F + B)
    cache : tuple ``(x, T, sign, E)``: ``sign`` :math:`= \mathrm{sign}(M_{ibc} - M_{jbc})`
        of shape (N, N, B, C), ``E`` :math:`= e^{-D_{ijb}}` (0 on the diagonal) of shape (N, N, B)
    """
    if x.ndim != 2 or T.ndim != 2 or x.shape[1] != T.shape[0] or T.shape[1] % int(kernels):
        raise ShapeError(
            "MinibatchDiscrimination",
            f"input of shape {tuple(x.shape)} and T of shape {tuple(T.shape)} do not fit; "
            f"expected (N, F) and (F, {int(kernels)} * C)",
            layer_message=f"expected input of shape (N, {T.shape[0]}), got {tuple(x.shape)}")
    if x.shape[0] == 0:
        raise ShapeError("MinibatchDiscrimination", f"input of shape {tuple(x.shape)}: an empty "
                         "batch has no samples to compare; give at least one")
    xp = backend.get_array_module(x)
    N, B = x.shape[0], int(kernels)
    M = (x @ T).reshape(N, B, -1)
    diff = M[:, None] - M[None, :]                       # (N, N, B, C): M_ibc - M_jbc
    E = xp.exp(-xp.abs(diff).sum(axis=3))                # (N, N, B)
    E *= (1 - xp.eye(N, dtype=x.dtype))[:, :, None]      # j != i
    out = xp.concatenate([x, E.sum(axis=1)], axis=1)
    return out, (x, T, xp.sign(diff), E)


def minibatch_discrimination_backward(dout, cache):
    r"""Gradients through minibatch discrimination.

    With :math:`\bar o` = ``dout[:, F:]``, every :math:`D_{ijb}` feeds
    :math:`o_{ib}`, and :math:`M_{ibc}` appears in :math:`D_{ijb}` and in
    :math:`D_{jib}`:

    .. math::
        \bar D_{ijb} = -\bar o_{ib}\, E_{ijb}, \qquad
        \bar M_{ibc} = \sum_j (\bar D_{ijb} + \bar D_{jib})\, \mathrm{sign}(M_{ibc} - M_{jbc}),

    .. math::
        \bar T = x^\top \bar M, \qquad \bar x = \text{dout}_{[:, :F]} + \bar M\, T^\top

    (:math:`\bar M` flattened to ``(N, B * C)``).

    Returns
    -------
    dx : ndarray of shape (N, F)
    dT : ndarray of shape (F, B * C)
    """
    x, T, sign, E = cache
    F = x.shape[1]
    check_dout("MinibatchDiscrimination", dout, (x.shape[0], F + E.shape[2]))
    dD = -dout[:, F:][:, None, :] * E                            # o_ib = sum_j E_ijb
    dM = ((dD + dD.transpose(1, 0, 2))[..., None] * sign).sum(axis=1)   # D_ijb and D_jib
    dM = dM.reshape(x.shape[0], -1)                              # M = x @ T
    return dout[:, :F] + dM @ T.T, x.T @ dM


# -- minibatch standard deviation -------------------------------------------------------------
def minibatch_stddev_forward(x, group_size=None, eps=1e-8):
    r"""Minibatch standard deviation: one more feature (or channel), the spread of the group.

    The batch is cut into :math:`Q = N / G` interleaved groups of
    ``G = group_size`` samples, as in Karras et al.'s code: sample
    :math:`n = g Q + q` belongs to group :math:`q`. For each group and each of the ``K`` values of a sample
    (features, or channels times pixels),

    .. math::
        \mu_{qk} = \frac1G \sum_g x_{gqk}, \qquad
        \sigma_{qk} = \sqrt{\frac1G \sum_g (x_{gqk} - \mu_{qk})^2 + \epsilon}, \qquad
        s_q = \frac1K \sum_k \sigma_{qk},

    and ``out`` is ``x`` with :math:`s_q` appended to every sample of group
    :math:`q`: one more column of ``(N, F)`` rows, one more constant channel of
    ``(N, C, H, W)`` maps.

    Parameters
    ----------
    x : ndarray of shape (N, F) or (N, C, H, W)
    group_size : int, optional
        ``G``, a divisor of ``N`` (default ``N``: the whole batch is one group;
        Karras et al. use 4); a batch smaller than ``G`` is one group of ``N``, as in
        their code (``min(G, N)``).
    eps : float

    Returns
    -------
    out : ndarray of shape (N, F + 1) or (N, C + 1, H, W)
    cache : tuple ``(xc, sigma, G, shape)``: ``xc`` :math:`= x - \mu` of shape (G, Q, K),
        ``sigma`` of shape (Q, K), ``shape`` the output's
    """
    if x.ndim not in (2, 4):
        raise ShapeError("MinibatchStdDev", f"input of shape {tuple(x.shape)}: expected (N, F) "
                         "or (N, C, H, W)")
    N = x.shape[0]
    if N == 0:
        raise ShapeError("MinibatchStdDev", f"input of shape {tuple(x.shape)}: an empty batch "
                         "has no spread; give at least one sample")
    G = N if group_size is None else min(int(group_size), N)
    if G < 1 or N % G:
        raise ShapeError("MinibatchStdDev",
                         f"input of shape {tuple(x.shape)} with group size {group_size}: expected "
                         "(N, F) or (N, C, H, W) with N a multiple of the group size",
                         layer_message=f"batch of {N} is not a multiple of the group size {G}")
    xp = backend.get_array_module(x)
    xg = x.reshape(G, N // G, -1)                                # (G, Q, K)
    xc = xg - xg.mean(axis=0)
    sigma = xp.sqrt((xc * xc).mean(axis=0) + eps)                # (Q, K)
    s = xp.tile(sigma.mean(axis=1), G)                           # (N,): s_q for n = g Q + q
    extra = s.reshape((N, 1) + x.shape[2:]) if x.ndim == 2 else xp.broadcast_to(
        s[:, None, None, None], (N, 1) + x.shape[2:])
    out = xp.concatenate([x, extra.astype(x.dtype, copy=False)], axis=1)
    return out, (xc, sigma, G, out.shape)


def minibatch_stddev_backward(dout, cache):
    r"""Gradients through the minibatch standard deviation.

    With :math:`\bar s_q` the sum of ``dout``'s extra feature (or channel, over
    its pixels) over the ``G`` samples of group :math:`q`:

    .. math::
        \bar\sigma_{qk} = \frac{\bar s_q}{K}, \qquad
        \bar x_{gqk} = \bar{\text{out}}_{gqk} + \bar\sigma_{qk}\,
            \frac{x_{gqk} - \mu_{qk}}{G\, \sigma_{qk}}

    (the path through :math:`\mu` adds :math:`-\frac1G\sum_g` of the same
    term, which is zero since :math:`\sum_g (x_{gqk} - \mu_{qk}) = 0`).

    The second derivative, which R1 needs through this layer (the tangent of
    :math:`\bar x` along an input direction), is written in :mod:`minigan.gan.penalty`
    (``_add_parameter_gradient``; the module docstring derives it).

    Returns
    -------
    dx : ndarray of the input's shape
    """
    xc, sigma, G, shape = cache
    check_dout("MinibatchStdDev", dout, shape)
    N, C = dout.shape[0], dout.shape[1] - 1
    ds = dout[:, C:].reshape(G, N // G, -1).sum(axis=(0, 2))    # s_q reaches every n of group q
    dsigma = ds[:, None] / sigma.shape[1]                        # s_q = mean_k sigma_qk
    dxg = dsigma * xc / (G * sigma)                              # sigma = sqrt(mean_g xc^2 + eps)
    return dout[:, :C] + dxg.reshape((N, C) + dout.shape[2:])


# -- packing -------------------------------------------------------------------------------------
def pack_forward(x, m):
    r"""PacGAN's packing: ``m`` consecutive samples concatenated into one input of D.

    .. math::
        \text{out}_p = [\,x_{pm},\ x_{pm + 1},\ \dots,\ x_{pm + m - 1}\,]

    along the feature axis of ``(N, F)`` rows (``(N / m, m F)``) or the
    channel axis of ``(N, C, H, W)`` maps (``(N / m, m C, H, W)``): both are
    one reshape of a C-ordered array.

    Parameters
    ----------
    x : ndarray of shape (N, ...), ``N`` a multiple of ``m``
    m : int

    Returns
    -------
    out : ndarray of shape (N / m, m * x.shape[1], ...)
    cache : tuple ``(shape, m)``: the input's shape and the pack size
    """
    m = int(m)
    if m < 1 or x.shape[0] % m:
        raise ShapeError("Pack", f"a batch of {x.shape[0]} cannot be cut into packs of {m}",
                         layer_message=f"a batch of {x.shape[0]} is not a multiple of {m}")
    return x.reshape((x.shape[0] // m, m * x.shape[1]) + x.shape[2:]), (x.shape, m)


def pack_backward(dout, cache):
    r"""Gradient through packing: each sample gets its slice of its pack's gradient.

    .. math:: \bar x_{pm + i} = \bar{\text{out}}_{p,\ [i F, (i + 1) F)}

    (:math:`F` the width of one sample: its features, or its channels for maps).

    Returns
    -------
    dx : ndarray of the input's shape
    """
    shape, m = cache
    check_dout("Pack", dout, (shape[0] // m, m * shape[1]) + tuple(shape[2:]))
    return dout.reshape(shape)
