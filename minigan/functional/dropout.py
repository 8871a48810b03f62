"""Dropout: the one shape-preserving operation that needs randomness.

The derivation, a worked example and the property test: ``docs/atlas/dropout.rst``.
"""

from __future__ import annotations

from .errors import check_dout

__all__ = ["dropout_forward", "dropout_backward"]


def dropout_forward(x, mask):
    r"""Inverted dropout with a given keep-mask.

    .. math:: \text{out} = x \odot m, \qquad m_i \in \{0, 1/(1-p)\}

    The mask is drawn by the caller from the host generator (so one seed gives
    the same mask on CPU and GPU) and already scaled by :math:`1/(1-p)`, so that
    :math:`E[\text{out}] = x` and evaluation needs no rescaling.

    Parameters
    ----------
    x : ndarray of any shape
    mask : ndarray of the same shape, entries 0 or 1/(1-p)

    Returns
    -------
    out : ndarray like ``x``
    cache : the mask
    """
    if mask.shape != x.shape:
        raise ValueError(f"Dropout: mask of shape {mask.shape} does not match input {x.shape}")
    return x * mask, mask


def dropout_backward(dout, cache):
    r""":math:`dx = \text{dout} \odot m`: dropped units pass no gradient."""
    check_dout("Dropout", dout, cache.shape)
    return dout * cache
