r"""Elementwise activations: ReLU, LeakyReLU, Tanh, Sigmoid.

The derivation, a worked example and the property test: ``docs/atlas/activations.rst``.

Each backward multiplies the upstream gradient ``dout`` by the local
derivative, written in terms of what the forward pass already computed.

Each operation is its plain formula, written once against ``xp`` (NumPy or
CuPy). Where a faster body pays, it is registered under the formula
(:func:`minigan.backend.op`): ``@relu_forward.cpu`` is the same computation
tuned for NumPy, ``@relu_backward.gpu`` one fused CUDA kernel of
:mod:`minigan.backend.kernels`. The formulas are what the faster bodies are
tested against (``tests/functional/test_bodies.py``, the CUDA ones in
``tests/backend/test_kernels.py``).
"""

from __future__ import annotations

import numpy as np

from minigan.backend import get_array_module, kernels, op

from .errors import check_dout

__all__ = ["relu_forward", "relu_backward", "leaky_relu_forward", "leaky_relu_backward",
           "tanh_forward", "tanh_backward", "sigmoid", "sigmoid_forward", "sigmoid_backward"]


# -- ReLU ----------------------------------------------------------------------------------------
@op
def relu_forward(x):
    r""":math:`\text{out} = \max(x, 0)`. Returns ``out, cache`` with ``cache = out``."""
    xp = get_array_module(x)
    out = xp.maximum(x, 0)
    return out, out


@op
def relu_backward(dout, cache):
    r""":math:`dx = \text{dout} \cdot [x > 0]`; ``out > 0`` exactly when ``x > 0``."""
    out = cache
    check_dout("ReLU", dout, out.shape)
    return dout * (out > 0)


# -- LeakyReLU -----------------------------------------------------------------------------------
@op
def leaky_relu_forward(x, slope=0.2):
    r""":math:`\text{out} = x` where :math:`x > 0`, else :math:`\text{slope}\cdot x`.

    Returns ``out, cache`` with ``cache = (x > 0, slope)``; ``slope`` as a Python float, so
    that a NumPy scalar (``np.float64(0.2)``) leaves float32 arrays in float32.
    """
    xp, slope = get_array_module(x), float(slope)
    positive = x > 0
    return xp.where(positive, x, x * slope), (positive, slope)


@op
def leaky_relu_backward(dout, cache):
    r""":math:`dx = \text{dout}` where :math:`x > 0`, else :math:`\text{slope}\cdot\text{dout}`."""
    positive, slope = cache
    check_dout("LeakyReLU", dout, positive.shape)
    xp = get_array_module(dout)
    return xp.where(positive, dout, dout * slope)


# -- Tanh ----------------------------------------------------------------------------------------
def tanh_forward(x):
    r""":math:`\text{out} = \tanh x`. Returns ``out, cache`` with ``cache = out``."""
    xp = get_array_module(x)
    out = xp.tanh(x)
    return out, out


@op
def tanh_backward(dout, cache):
    r""":math:`dx = \text{dout}\,(1 - \text{out}^2)`, since :math:`\tanh' = 1 - \tanh^2`: exactly 0
    where ``out`` rounds to :math:`\pm 1` (:math:`|x|` above about 10 in float32)."""
    out = cache
    check_dout("Tanh", dout, out.shape)
    return dout * (1 - out * out)


# -- Sigmoid -------------------------------------------------------------------------------------
@op
def sigmoid(x):
    r"""Logistic function :math:`\sigma(x) = 1 / (1 + e^{-x})`, for any ``x``.

    For very negative ``x`` (below about -88 in float32, -709 in float64)
    :math:`e^{-x}` overflows to ``inf`` and :math:`1/(1 + \infty) = 0`, the
    right limit (the true value is below the smallest normal float there).
    That overflow is expected, so it is silenced: no warning for any ``x``.
    """
    xp = get_array_module(x)
    with np.errstate(over="ignore"):          # NumPy's warning; CuPy does not warn
        return 1 / (1 + xp.exp(-x))


def sigmoid_forward(x):
    r""":math:`\text{out} = \sigma(x)`. Returns ``out, cache`` with ``cache = out``."""
    out = sigmoid(x)
    return out, out


@op
def sigmoid_backward(dout, cache):
    r""":math:`dx = \text{dout}\,\sigma(x)\,(1 - \sigma(x))`, from the output: exactly 0 where
    ``out`` rounds to 1 (:math:`x` above about 17 in float32), where the true value is
    :math:`e^{-x}`."""
    out = cache
    check_dout("Sigmoid", dout, out.shape)
    return dout * out * (1 - out)


# == the faster bodies ==========================================================================
# -- NumPy: the same numbers, fewer passes or a faster inner loop
def _constant_like(value, x):
    """``value`` shaped to broadcast against ``x``, for ``maximum`` (same numbers as the scalar).

    NumPy's ``maximum`` of an array and a scalar runs about three times slower than
    of two arrays (NumPy 2.4, float32 on AVX2): the scalar leaves the vectorized
    loop. One slice of ``x`` along its outermost memory axis, filled with ``value``
    and in ``x``'s memory order, broadcast over that axis alone, keeps the fast loop.
    A 0-d array: the scalar itself.
    """
    if x.ndim == 0:
        return x.dtype.type(value)
    index = [slice(None)] * x.ndim
    index[_outer_axis(x)] = slice(0, 1)
    block = get_array_module(x).empty_like(x[tuple(index)])
    block.fill(value)
    return block


def _outer_axis(a):
    """The axis of ``a`` outermost in memory (largest stride) among those longer than 1."""
    axes = [ax for ax in range(a.ndim) if a.shape[ax] > 1]
    return max(axes, key=lambda ax: abs(a.strides[ax])) if axes else 0


@relu_forward.cpu
def _relu_forward_cpu(x):
    """:func:`relu_forward`: ``max(x, 0)`` against a block of zeros (:func:`_constant_like`),
    about three times faster than against the scalar."""
    out = get_array_module(x).maximum(x, _constant_like(0, x))
    return out, out


@leaky_relu_forward.cpu
def _leaky_relu_forward_cpu(x, slope=0.2):
    """:func:`leaky_relu_forward` as ``max(x, slope x)`` for 0 < slope <= 1: the same numbers,
    about 20 times faster than ``where`` (slow for an unpredictable mask)."""
    slope = float(slope)
    if not 0 < slope <= 1:
        return leaky_relu_forward.reference(x, slope)
    xp = get_array_module(x)
    out = xp.multiply(x, x.dtype.type(slope))
    xp.maximum(x, out, out=out)
    return out, (x > 0, slope)


@leaky_relu_backward.cpu
def _leaky_relu_backward_cpu(dout, cache):
    """:func:`leaky_relu_backward` as ``max([x > 0], slope) * dout`` for 0 < slope <= 1: the
    local slope is 1 or ``slope``, then one product; about 8 times faster than ``where``.

    ``dx`` comes in the memory order of the mask (of ``x``): the upstream gradient of a
    Flatten comes C-contiguous while ``x`` is often channel-major, and the next backward
    pass (BatchNorm, a convolution) wants ``x``'s order.
    """
    positive, slope = cache
    if not 0 < slope <= 1:
        return leaky_relu_backward.reference(dout, cache)
    check_dout("LeakyReLU", dout, positive.shape)
    xp = get_array_module(dout)
    dx = xp.empty_like(positive, dtype=dout.dtype)
    dx[...] = positive
    xp.maximum(dx, _constant_like(slope, dx), out=dx)
    dx *= dout
    return dx


@sigmoid.cpu
def _sigmoid_cpu(x):
    """:func:`sigmoid` in place in one buffer, ``-x``, ``exp``, ``+ 1``, ``1 / .``: four passes
    and no temporaries (the same numbers as the formula)."""
    xp = get_array_module(x)
    out = xp.negative(x, out=xp.empty_like(x))
    with np.errstate(over="ignore"):
        xp.exp(out, out=out)
    out += 1
    return xp.divide(1, out, out=out)


# -- CuPy: one fused kernel each (minigan.backend.kernels, the same formula in CUDA)
@relu_backward.gpu
def _relu_backward_gpu(dout, cache):
    """:func:`relu_backward`'s formula, ``dx = dout * [out > 0]``, in one kernel
    (``relu_backward_gpu``, ``minigan/backend/kernels.py``)."""
    check_dout("ReLU", dout, cache.shape)
    return kernels.relu_backward_gpu(dout, cache)


@leaky_relu_forward.gpu
def _leaky_relu_forward_gpu(x, slope=0.2):
    """:func:`leaky_relu_forward`'s formula, ``out = x if x > 0 else slope * x``, in one kernel
    (``leaky_relu_forward_gpu``, ``minigan/backend/kernels.py``)."""
    slope = float(slope)
    out, positive = kernels.leaky_relu_forward_gpu(x, slope)   # out and the mask, one launch
    return out, (positive, slope)


@leaky_relu_backward.gpu
def _leaky_relu_backward_gpu(dout, cache):
    """:func:`leaky_relu_backward`'s formula, ``dx = dout if x > 0 else slope * dout``, in one
    kernel (``leaky_relu_backward_gpu``, ``minigan/backend/kernels.py``)."""
    positive, slope = cache
    check_dout("LeakyReLU", dout, positive.shape)
    return kernels.leaky_relu_backward_gpu(dout, positive, slope)


@tanh_backward.gpu
def _tanh_backward_gpu(dout, cache):
    """:func:`tanh_backward`'s formula, ``dx = dout * (1 - out**2)``, in one kernel
    (``tanh_backward_gpu``, ``minigan/backend/kernels.py``)."""
    check_dout("Tanh", dout, cache.shape)
    return kernels.tanh_backward_gpu(dout, cache)


@sigmoid.gpu
def _sigmoid_gpu(x):
    """:func:`sigmoid`'s formula, ``1 / (1 + exp(-x))``, in one kernel (``sigmoid_gpu``,
    ``minigan/backend/kernels.py``)."""
    return kernels.sigmoid_gpu(x)


@sigmoid_backward.gpu
def _sigmoid_backward_gpu(dout, cache):
    """:func:`sigmoid_backward`'s formula, ``dx = dout * out * (1 - out)``, in one kernel
    (``sigmoid_backward_gpu``, ``minigan/backend/kernels.py``)."""
    check_dout("Sigmoid", dout, cache.shape)
    return kernels.sigmoid_backward_gpu(dout, cache)
