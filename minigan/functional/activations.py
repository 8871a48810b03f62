"""Elementwise activations: ReLU, LeakyReLU, Tanh, Sigmoid.

Each backward multiplies the upstream gradient ``dout`` by the local
derivative, written in terms of what the forward pass already computed.

The code below is the reference. On the GPU (CuPy arrays) the functions marked
"GPU:" call one fused kernel of :mod:`minigan.kernels` instead, the same
formula in CUDA, tested against this code.
"""

from __future__ import annotations

from ..backend import get_array_module, on_gpu
from ..parallel import chunked, outer_axis


def _constant_like(value, x):
    """``value`` shaped to broadcast against ``x``, for ``maximum`` (same numbers as the scalar).

    NumPy's ``maximum`` of an array and a scalar runs about three times slower than
    of two arrays (NumPy 2.4, float32 on AVX2): the scalar leaves the vectorized
    loop. One slice of ``x`` along its outermost memory axis, filled with ``value``
    and in ``x``'s memory order, broadcast over that axis alone, keeps the fast loop.
    CuPy and 0-d arrays: the scalar itself.
    """
    if on_gpu(x) or x.ndim == 0:
        return x.dtype.type(value)
    index = [slice(None)] * x.ndim
    index[outer_axis(x)] = slice(0, 1)
    block = get_array_module(x).empty_like(x[tuple(index)])
    block.fill(value)
    return block


def relu_forward(x):
    r""":math:`\text{out} = \max(x, 0)`. Returns ``out, cache`` with ``cache = out``."""
    xp = get_array_module(x)
    out = xp.maximum(x, _constant_like(0, x))
    return out, out


def relu_backward(dout, cache):
    r""":math:`dx = \text{dout} \cdot [x > 0]`; ``out > 0`` exactly when ``x > 0``."""
    out = cache
    if on_gpu(dout):  # GPU: one fused kernel (minigan.kernels)
        from .. import kernels
        return kernels.relu_backward_gpu(dout, out)
    return dout * (out > 0)


def leaky_relu_forward(x, slope=0.2):
    r""":math:`\text{out} = x` where :math:`x > 0`, else :math:`\text{slope}\cdot x`.

    Returns ``out, cache`` with ``cache = (x > 0, slope)``.
    """
    if on_gpu(x):  # GPU: out and the sign mask in one fused kernel (minigan.kernels)
        from .. import kernels
        out, positive = kernels.leaky_relu_forward_gpu(x, slope)
        return out, (positive, slope)
    xp = get_array_module(x)
    if 0 < slope <= 1:
        # replaces where(positive, x, slope * x), same numbers, ~20x faster on the CPU
        # (where() is slow for an unpredictable mask): max(x, slope*x) for 0 < slope <= 1;
        # in pieces on both cores (minigan.parallel)
        out, positive = xp.empty_like(x), xp.empty_like(x, dtype=bool)
        chunked(_leaky_relu_body, x, x.dtype.type(slope), positive, out=out)
        return out, (positive, slope)
    positive = x > 0
    return xp.where(positive, x, x * slope), (positive, slope)


def _leaky_relu_body(x, slope, positive, out):
    """``out = max(x, slope x)`` and ``positive = x > 0``, for ``0 < slope <= 1``."""
    xp = get_array_module(x)
    xp.multiply(x, slope, out=out)
    xp.maximum(x, out, out=out)
    xp.greater(x, 0, out=positive)


def leaky_relu_backward(dout, cache):
    r""":math:`dx = \text{dout}` where :math:`x > 0`, else :math:`\text{slope}\cdot\text{dout}`."""
    positive, slope = cache
    if on_gpu(dout):  # GPU: one fused kernel (minigan.kernels)
        from .. import kernels
        return kernels.leaky_relu_backward_gpu(dout, positive, slope)
    xp = get_array_module(dout)
    if 0 < slope <= 1:
        # replaces where(positive, dout, slope * dout), same numbers, ~8x faster on the CPU:
        # the local slope max([x > 0], slope) is 1 or slope, then one product
        # dx in the memory order of the mask (of x): the upstream gradient of a Flatten
        # comes C-contiguous while x is often channel-major, and the next backward pass
        # (BatchNorm, a convolution) wants x's order
        return chunked(_leaky_relu_backward_body, dout, positive, dout.dtype.type(slope),
                       out=xp.empty_like(positive, dtype=dout.dtype))
    return xp.where(positive, dout, dout * slope)


def _leaky_relu_backward_body(dout, positive, slope, out):
    """``out = dout * max([x > 0], slope)``, the local slope being 1 or ``slope``."""
    xp = get_array_module(dout)
    out[...] = positive
    xp.maximum(out, _constant_like(slope, out), out=out)
    out *= dout


def tanh_forward(x):
    r""":math:`\text{out} = \tanh x`. Returns ``out, cache`` with ``cache = out``."""
    xp = get_array_module(x)
    out = xp.tanh(x)
    return out, out


def tanh_backward(dout, cache):
    r""":math:`dx = \text{dout}\,(1 - \text{out}^2)`, since :math:`\tanh' = 1 - \tanh^2`."""
    out = cache
    if on_gpu(dout):  # GPU: one fused kernel (minigan.kernels)
        from .. import kernels
        return kernels.tanh_backward_gpu(dout, out)
    return dout * (1 - out * out)


def sigmoid(x):
    r"""Logistic function :math:`\sigma(x) = 1 / (1 + e^{-x})` that cannot overflow.

    With :math:`e = \exp(-|x|) \in (0, 1]`, :math:`\sigma(x) = 1/(1+e)` for
    :math:`x \ge 0` and :math:`e/(1+e)` for :math:`x < 0`: ``exp`` is never
    taken of a positive number, so no overflow and no warning for any ``x``.
    """
    if on_gpu(x):  # GPU: one fused kernel (minigan.kernels)
        from .. import kernels
        return kernels.sigmoid_gpu(x)
    xp = get_array_module(x)
    e = xp.exp(-xp.abs(x))
    # replaces where(x >= 0, 1/(1+e), e/(1+e)) by a blend with a 0/1 mask: the same numbers
    # (the other branch adds an exact 0), 1.2x to 2.8x faster at G's (N, 784) output
    # (benchmarks/README.md), since where() is slow for an unpredictable mask
    pos = (x >= 0).astype(x.dtype)
    out = (1 / (1 + e)) * pos
    out += (e / (1 + e)) * (1 - pos)
    return out


def sigmoid_forward(x):
    r""":math:`\text{out} = \sigma(x)`. Returns ``out, cache`` with ``cache = out``."""
    out = sigmoid(x)
    return out, out


def sigmoid_backward(dout, cache):
    r""":math:`dx = \text{dout}\,\sigma(x)\,(1 - \sigma(x))`."""
    out = cache
    if on_gpu(dout):  # GPU: one fused kernel (minigan.kernels)
        from .. import kernels
        return kernels.sigmoid_backward_gpu(dout, out)
    return dout * out * (1 - out)
