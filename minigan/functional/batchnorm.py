r"""Batch normalization (Ioffe & Szegedy, 2015): forward and backward pass.

The derivation, a worked example and the property test: ``docs/atlas/batchnorm.rst``.

Statistics are per channel: over the batch for ``(N, C)`` input, over the
batch and both spatial axes for ``(N, C, H, W)`` input, so each channel
averages :math:`m = N` or :math:`m = N H W` values. Running statistics follow
PyTorch: ``running = (1 - momentum) * running + momentum * batch_stat``, with
the UNBIASED batch variance :math:`\frac{m}{m-1}\sigma^2_B` for
``running_var``, while the batch itself is normalized with the biased one.

:func:`batchnorm_forward` and :func:`batchnorm_backward` are the formulas, line
by line. The bodies that run (:func:`minigan.backend.op`, on NumPy and CuPy
alike) compute the same formulas with fewer passes over the data; they come
after, with how they do it.
"""

from __future__ import annotations

from minigan.backend import get_array_module, op

from .conv import as_layout_of, is_channel_major
from .errors import ShapeError, check_dout

__all__ = ["batchnorm_forward", "batchnorm_backward"]


def _check_input(x, C):
    """``x`` must be ``(N, C)`` or ``(N, C, H, W)`` (a :class:`ShapeError` otherwise)."""
    if x.ndim not in (2, 4) or x.shape[1] != C:
        raise ShapeError(
            "BatchNorm",
            f"input of shape {tuple(x.shape)} does not fit {C} features; "
            f"expected (N, {C}) or (N, {C}, H, W)",
            layer_message=f"expected input (N, {C}) or (N, {C}, H, W), got {tuple(x.shape)}",
        )


def _check_arrays(x, gamma, beta, running_mean, running_var, training):
    """The shapes :func:`batchnorm_forward` needs (a :class:`ShapeError` otherwise)."""
    C = gamma.shape[0]
    _check_input(x, C)
    for name, a in (("beta", beta), ("running_mean", running_mean),
                    ("running_var", running_var)):
        if tuple(a.shape) != (C,):
            raise ShapeError(
                "BatchNorm",
                f"{name} of shape {tuple(a.shape)} does not fit gamma of shape "
                f"{tuple(gamma.shape)}; expected ({C},)",
            )
    if training and x.size // C < 2:
        raise ShapeError(
            "BatchNorm",
            f"training needs more than one value per channel to estimate a "
            f"variance, got input of shape {tuple(x.shape)}; use a larger batch or eval()",
        )


def _axes_and_shape(x):
    """The axes a per-channel statistic sums over, and the shape that broadcasts a ``(C,)``
    vector against ``x``: ``(0,)`` and ``(1, C)``, or ``(0, 2, 3)`` and ``(1, C, 1, 1)``."""
    if x.ndim == 2:
        return (0,), (1, -1)
    return (0, 2, 3), (1, -1, 1, 1)


@op
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
    cache : tuple ``(xhat, gamma, inv_std, training)`` with
        ``inv_std`` :math:`= 1/\sqrt{\sigma^2 + \epsilon}` of shape (C,).
    """
    C = gamma.shape[0]
    _check_arrays(x, gamma, beta, running_mean, running_var, training)
    xp = get_array_module(x)
    axes, shape = _axes_and_shape(x)               # channel c: axis 1, sums over the rest
    m = x.size // C
    if training:
        mean = x.mean(axis=axes)                                     # mu_B
        var = ((x - mean.reshape(shape)) ** 2).mean(axis=axes)       # sigma_B^2, biased
        inv_std = 1 / xp.sqrt(var + eps)                             # 1 / sqrt(sigma^2 + eps)
        xhat = (x - mean.reshape(shape)) * inv_std.reshape(shape)    # x normalized
        running_mean *= 1 - momentum
        running_mean += momentum * mean
        running_var *= 1 - momentum
        running_var += (momentum * m / (m - 1)) * var                # unbiased
    else:
        inv_std = 1 / xp.sqrt(running_var + eps)
        xhat = (x - running_mean.reshape(shape)) * inv_std.reshape(shape)
    out = gamma.reshape(shape) * xhat + beta.reshape(shape)          # gamma xhat + beta
    return out, (xhat, gamma, inv_std, bool(training))


@op
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
        \left(\text{dout} - \operatorname{mean}_c(\text{dout}) - \hat x\,
        \operatorname{mean}_c(\text{dout}\cdot\hat x)\right)

    where :math:`\operatorname{mean}_c` is the mean over the :math:`m` values of the
    channel, so :math:`\operatorname{mean}_c(\text{dout}) = (\partial L/\partial\beta)/m`
    and :math:`\operatorname{mean}_c(\text{dout}\cdot\hat x) = (\partial L/\partial\gamma)/m`.
    In evaluation mode the statistics are constants and
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
    xhat, gamma, inv_std, training = cache
    check_dout("BatchNorm", dout, xhat.shape)
    axes, shape = _axes_and_shape(xhat)
    m = xhat.size // gamma.shape[0]
    dbeta = dout.sum(axis=axes)                       # dL/dbeta  = sum dout
    dgamma = (dout * xhat).sum(axis=axes)             # dL/dgamma = sum dout * xhat
    scale = (gamma * inv_std).reshape(shape)          # gamma / sqrt(sigma^2 + eps)
    if training:      # mu_B and sigma_B depend on every x of the channel
        dx = scale * (dout - dbeta.reshape(shape) / m - xhat * dgamma.reshape(shape) / m)
    else:             # the running statistics are constants
        dx = scale * dout
    if not param_grads:
        return dx, None, None
    return dx, dgamma, dbeta


# == the bodies that run: the same formulas in fewer passes ====================================
# Every per-channel sum is one ``einsum`` over the input as it lies in memory:
# "nchw->c" for sum(x) and "nchw,nchw->c" for sum(a b), which reads both arrays once and
# writes no temporary (a product followed by a reduction over the axes (0, 2, 3) is three to
# four times slower for DCGAN's shapes). The training forward pass goes over the data six
# times (sum, centre, sum of squares, scale, and the affine map in two), the backward pass
# six (two sums and four elementwise passes).
#
# A per-channel vector v is broadcast so that NumPy's inner loop runs over long contiguous
# runs (_per_channel): against channel-major memory (the NCHW views the convolution layers
# return, batch index fastest) as (1, C, 1, 1), whose inner loop covers H*W*N values;
# against C-contiguous NCHW memory as one (1, C, H, W) row (v[c] repeated H*W times),
# broadcast over the batch axis alone, so that the inner loop covers C*H*W values instead of
# H*W. Either halves the time of such a pass compared with (1, C, 1, 1) against NCHW memory.
def _per_channel(v, x):
    """The ``(C,)`` vector ``v`` shaped to broadcast against ``x`` with long inner loops.

    ``(1, C)`` for ``(N, C)`` input; ``(1, C, 1, 1)`` for channel-major ``(N, C, H, W)``
    memory; else ``(1, C, H, W)`` with ``v[c]`` repeated, broadcast over the batch only.
    """
    if x.ndim == 2:
        return v.reshape(1, -1)
    if is_channel_major(x):
        return v.reshape(1, -1, 1, 1)
    xp = get_array_module(v)
    return xp.repeat(v, x.shape[2] * x.shape[3]).reshape((1,) + tuple(x.shape[1:]))


def _channel_sum(a, b=None):
    r"""Per-channel :math:`\sum a` (or :math:`\sum a\,b`) over every axis but axis 1."""
    xp = get_array_module(a)
    spec = "nc" if a.ndim == 2 else "nchw"
    if b is None:
        return xp.einsum(f"{spec}->c", a)
    return xp.einsum(f"{spec},{spec}->c", a, b)


@batchnorm_forward.gpu
@batchnorm_forward.cpu
def _batchnorm_forward_fast(x, gamma, beta, running_mean, running_var, training,
                            momentum=0.1, eps=1e-5):
    """:func:`batchnorm_forward`, six passes over the data: every per-channel sum one
    ``einsum`` (:func:`_channel_sum`), every per-channel vector broadcast with long inner
    loops (:func:`_per_channel`), ``out=`` buffers instead of temporaries."""
    C = gamma.shape[0]
    _check_arrays(x, gamma, beta, running_mean, running_var, training)
    xp = get_array_module(x)
    m = x.size // C
    if training:
        mean = _channel_sum(x) / m
        xhat = xp.subtract(x, _per_channel(mean, x),            # x - mu, normalized
                           out=xp.empty_like(x))                # in place below
        var = _channel_sum(xhat, xhat) / m              # biased: normalizes the batch
        inv_std = 1 / xp.sqrt(var + eps)
        xp.multiply(xhat, _per_channel(inv_std, x), out=xhat)   # (x - mu) / sqrt(var + eps)
        running_mean *= 1 - momentum
        running_mean += momentum * mean
        running_var *= 1 - momentum
        running_var += (momentum * m / (m - 1)) * var   # unbiased, PyTorch's convention
    else:
        inv_std = 1 / xp.sqrt(running_var + eps)
        xhat = x - _per_channel(running_mean, x)
        xhat *= _per_channel(inv_std, x)
    out = xp.multiply(xhat, _per_channel(gamma, x), out=xp.empty_like(xhat))
    out += _per_channel(beta, x)                                # gamma xhat + beta
    return out, (xhat, gamma, inv_std, bool(training))


def _dx_train(dout, xhat, mean_dout_xhat, mean_dout, scale, out):
    r"""``out = scale * (dout - mean(dout) - xhat * mean(dout * xhat))``, training mode.

    ``mean_dout_xhat`` is the per-channel mean of ``dout * xhat``, that is
    :math:`(\partial L/\partial\gamma)/m`; ``mean_dout`` that of ``dout``, that is
    :math:`(\partial L/\partial\beta)/m`; ``scale`` is :math:`\gamma/\sqrt{\sigma^2_B + \epsilon}`;
    each shaped by :func:`_per_channel`."""
    xp = get_array_module(dout)
    xp.multiply(xhat, mean_dout_xhat, out=out)            # xhat * mean(dout * xhat)
    out += mean_dout                                      #   + mean(dout)
    xp.subtract(dout, out, out=out)                       # dout - mean(dout) - xhat * ...
    out *= scale                                 # dL/dx = gamma / sqrt(sigma^2 + eps) * (...)
    return out


@batchnorm_backward.gpu
@batchnorm_backward.cpu
def _batchnorm_backward_fast(dout, cache, param_grads=True):
    """:func:`batchnorm_backward`, six passes over the data (two sums, four elementwise
    passes), in the memory order of the forward input."""
    xhat, gamma, inv_std, training = cache
    check_dout("BatchNorm", dout, xhat.shape)
    C = gamma.shape[0]
    xp = get_array_module(dout)
    dout = as_layout_of(dout, xhat)     # every pass below in one memory order
    scale = _per_channel(gamma * inv_std, xhat)
    if training or param_grads:
        dbeta = _channel_sum(dout)                            # dL/dbeta  = sum dout
        dgamma = _channel_sum(dout, xhat)                     # dL/dgamma = sum dout * xhat
    if training:
        m = xhat.size // C
        dx = _dx_train(dout, xhat, _per_channel(dgamma / m, xhat),     # mean(dout * xhat)
                       _per_channel(dbeta / m, xhat), scale,            # mean(dout)
                       out=xp.empty_like(xhat))
    else:
        # dL/dx = gamma / sqrt(sigma_run^2 + eps) * dout
        dx = xp.multiply(dout, scale, out=xp.empty_like(xhat))
    if not param_grads:
        return dx, None, None
    return dx, dgamma, dbeta
