r"""Pure forward/backward pairs, the mathematics of minigan.

Every operation is a pair of functions::

    out, cache = op_forward(x, *params, **hyper)
    dx[, dW, db] = op_backward(dout, cache)

``dout`` is the gradient of the loss with respect to ``out``; each returned
gradient has the shape of the array it is the gradient of. The cache is an
explicit tuple holding exactly what the backward pass needs. In the formulas of
the docstrings a bar over a symbol is the gradient of the loss with respect to it,
:math:`\bar x = \partial L/\partial x` (``dx``); :math:`\bar y` and
:math:`\bar{\text{out}}` are ``dout``.

One file per family of operations (dense, activations, dropout, im2col and conv,
batch norm, pixel norm, spectral norm, minibatch statistics and packing, the label join, the
losses); the map of where each gradient lives, with its derivation and its property
test, is the gradient atlas of the documentation site (``docs/atlas/index.rst``).
Flatten and reshape need no pair of their own: the layers reshape ``dout`` back.

The ops check their arguments; a mismatch raises
``minigan.functional.ShapeError`` (a ValueError), which a layer
re-raises under its own name.
"""

from .activations import (
    leaky_relu_backward,
    leaky_relu_forward,
    relu_backward,
    relu_forward,
    sigmoid,
    sigmoid_backward,
    sigmoid_forward,
    tanh_backward,
    tanh_forward,
)
from .batchnorm import batchnorm_backward, batchnorm_forward
from .conditional import (
    label_concat_backward,
    label_concat_forward,
    label_cuts,
    label_from_noise_backward,
    label_from_noise_forward,
)
from .conv import (
    conv2d_backward,
    conv2d_forward,
    conv_transpose2d_backward,
    conv_transpose2d_forward,
)
from .dense import dense_backward, dense_forward
from .dropout import dropout_backward, dropout_forward
from .errors import ShapeError
from .minibatch import (
    minibatch_discrimination_backward,
    minibatch_discrimination_forward,
    minibatch_stddev_backward,
    minibatch_stddev_forward,
    pack_backward,
    pack_forward,
)
from .pixelnorm import pixel_norm_backward, pixel_norm_forward
from .spectral import spectral_norm_backward, spectral_norm_forward

__all__ = [
    "dense_forward",
    "dense_backward",
    "relu_forward",
    "relu_backward",
    "leaky_relu_forward",
    "leaky_relu_backward",
    "tanh_forward",
    "tanh_backward",
    "sigmoid",
    "sigmoid_forward",
    "sigmoid_backward",
    "dropout_forward",
    "dropout_backward",
    "conv2d_forward",
    "conv2d_backward",
    "conv_transpose2d_forward",
    "conv_transpose2d_backward",
    "batchnorm_forward",
    "batchnorm_backward",
    "pixel_norm_forward",
    "pixel_norm_backward",
    "ShapeError",
    "spectral_norm_forward",
    "spectral_norm_backward",
    "minibatch_discrimination_forward",
    "minibatch_discrimination_backward",
    "minibatch_stddev_forward",
    "minibatch_stddev_backward",
    "pack_forward",
    "pack_backward",
    "label_concat_forward",
    "label_concat_backward",
    "label_from_noise_forward",
    "label_from_noise_backward",
    "label_cuts",
]
