r"""Batch normalization (Ioffe & Szegedy, 2015): forward and backward pass.

Statistics are per channel: over the batch for ``(N, C)`` input, over the
batch and both spatial axes for ``(N, C, H, W)`` input, so each channel
averages :math:`m = N` or :math:`m = N H W` values. Running statistics follow
PyTorch: ``running = (1 - momentum) * running + momentum * batch_stat``, with
the UNBIASED batch variance :math:`\frac{m}{m-1}\sigma^2_B` for
``running_var``, while the batch itself is normalized with the biased one.
"""

from __future__ import annotations

from ..backend import get_array_module

__all__ = ["batchnorm_forward", "batchnorm_backward"]


def _axes(x, C, where):
    """Reduction axes and broadcast shape for ``(N, C)`` or ``(N, C, H, W)`` input."""
    if x.ndim == 2 and x.shape[1] == C:
        return (0,), (1, C)
    if x.ndim == 4 and x.shape[1] == C:
        return (0, 2, 3), (1, C, 1, 1)
    raise ValueError(
        f"BatchNorm: {where} of shape {tuple(x.shape)} does not fit {C} features; "
        f"expected (N, {C}) or (N, {C}, H, W)"
    )


def batchnorm_forward(x, gamma, beta, running_mean, running_var, training,
                      momentum=0.1, eps=1e-5):
    r"""Normalize each channel, then scale and shift it.

    Training mode, with :math:`\mu_B, \sigma^2_B` the mean and biased variance
    of the batch over the :math:`m` values of each channel:

    .. math::
        \hat x = \frac{x - \mu_B}{\sqrt{\sigma^2_B + \epsilon}}, \qquad
        \text{out} = \gamma \hat x + \beta

    and, in place,

    .. math::
        \mu_{run} \leftarrow (1 - \text{momentum})\,\mu_{run} + \text{momentum}\,\mu_B,\quad
        \sigma^2_{run} \leftarrow (1 - \text{momentum})\,\sigma^2_{run}
            + \text{momentum}\,\tfrac{m}{m-1}\sigma^2_B

    Evaluation mode uses :math:`\mu_{run}, \sigma^2_{run}` in place of the
    batch statistics and updates nothing.

    Parameters
    ----------
    x : ndarray of shape (N, C) or (N, C, H, W)
    gamma, beta : ndarray of shape (C,)
    running_mean, running_var : ndarray of shape (C,)
        Updated in place in training mode.
    training : bool
    momentum : float
    eps : float

    Returns
    -------
    out : ndarray like ``x``
    cache : tuple ``(xhat, gamma, inv_std, axes, training)`` with
        ``inv_std`` :math:`= 1/\sqrt{\sigma^2 + \epsilon}` of shape (C,).
    """
    C = gamma.shape[0]
    axes, bshape = _axes(x, C, "input")
    for name, a in (("beta", beta), ("running_mean", running_mean),
                    ("running_var", running_var)):
        if tuple(a.shape) != (C,):
            raise ValueError(
                f"BatchNorm: {name} of shape {tuple(a.shape)} does not fit gamma of shape "
                f"{tuple(gamma.shape)}; expected ({C},)"
            )
    xp = get_array_module(x)
    m = x.size // C
    if training:
        if m < 2:
            raise ValueError(
                f"BatchNorm: training needs more than one value per channel to estimate a "
                f"variance, got input of shape {tuple(x.shape)}; use a larger batch or eval()"
            )
        mean = x.mean(axis=axes)
        xc = x - mean.reshape(bshape)
        var = (xc * xc).mean(axis=axes)                 # biased: normalizes the batch
        inv_std = 1 / xp.sqrt(var + eps)
        xhat = xc * inv_std.reshape(bshape)
        running_mean *= 1 - momentum
        running_mean += momentum * mean
        running_var *= 1 - momentum
        running_var += (momentum * m / (m - 1)) * var   # unbiased, PyTorch's convention
    else:
        inv_std = 1 / xp.sqrt(running_var + eps)
        xhat = (x - running_mean.reshape(bshape)) * inv_std.reshape(bshape)
    out = xhat * gamma.reshape(bshape)
    out += beta.reshape(bshape)
    return out, (xhat, gamma, inv_std, axes, bool(training))


def batchnorm_backward(dout, cache, param_grads=True):
    r"""Gradients of the loss through :func:`batchnorm_forward`.

    .. math::
        \frac{\partial L}{\partial \beta} = \sum \text{dout},\qquad
        \frac{\partial L}{\partial \gamma} = \sum \text{dout}\cdot\hat x

    (sums over the :math:`m` values of each channel). In training mode
    :math:`\mu_B` and :math:`\sigma_B` depend on every :math:`x` of the
    channel; differentiating through them gives the compact form

    .. math::
        \frac{\partial L}{\partial x} = \frac{\gamma}{\sqrt{\sigma^2_B + \epsilon}}
        \left(\text{dout} - \overline{\text{dout}} - \hat x\,
        \overline{\text{dout}\cdot\hat x}\right)

    where the bar is the per-channel mean, i.e. :math:`\partial L/\partial\beta / m`
    and :math:`\partial L/\partial\gamma / m`. In evaluation mode the
    statistics are constants and
    :math:`\partial L/\partial x = \gamma\,\text{dout} / \sqrt{\sigma^2_{run} + \epsilon}`.

    Parameters
    ----------
    dout : ndarray like the forward input
    cache : tuple from :func:`batchnorm_forward`
    param_grads : bool
        When False, ``dgamma`` and ``dbeta`` are returned as None.

    Returns
    -------
    dx : ndarray like ``dout``
    dgamma, dbeta : ndarray of shape (C,) or None
    """
    xhat, gamma, inv_std, axes, training = cache
    if tuple(dout.shape) != tuple(xhat.shape):
        raise ValueError(
            f"BatchNorm: dout of shape {tuple(dout.shape)}, expected {tuple(xhat.shape)}"
        )
    C = gamma.shape[0]
    bshape = (1, C) if xhat.ndim == 2 else (1, C, 1, 1)
    scale = (gamma * inv_std).reshape(bshape)
    if training or param_grads:
        dbeta = dout.sum(axis=axes)                           # dL/dbeta  = sum dout
        dgamma = (dout * xhat).sum(axis=axes)                 # dL/dgamma = sum dout * xhat
    if training:
        m = xhat.size // C
        dx = dout - (dbeta / m).reshape(bshape)               # dout - mean(dout)
        dx -= xhat * (dgamma / m).reshape(bshape)             #   - xhat * mean(dout * xhat)
        dx *= scale                                           # dL/dx = gamma/sigma * (...)
    else:
        dx = dout * scale                                     # dL/dx = gamma/sigma_run * dout
    if not param_grads:
        return dx, None, None
    return dx, dgamma, dbeta
