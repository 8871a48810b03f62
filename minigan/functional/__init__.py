"""Pure forward/backward pairs, the mathematics of minigan.

Every operation is a pair of functions::

    out, cache = op_forward(x, *params, **hyper)
    dx[, dW, db] = op_backward(dout, cache)

``dout`` is the gradient of the loss with respect to ``out``; each returned
gradient has the shape of the array it is the gradient of. The cache is an
explicit tuple holding exactly what the backward pass needs.

Where each gradient lives:

- dense: :mod:`minigan.functional.dense`
- ReLU, LeakyReLU, Tanh, Sigmoid: :mod:`minigan.functional.activations`
- dropout: :mod:`minigan.functional.dropout` (flatten and reshape need no
  gradient of their own: the layers :class:`minigan.nn.layers.Flatten` and
  :class:`minigan.nn.layers.Reshape` reshape ``dout`` back)
- Conv2d, ConvTranspose2d (each other's backward-data pass, one shared weight
  gradient): :mod:`minigan.functional.conv`, on top of :mod:`minigan.functional.im2col`
- BatchNorm (train and eval mode): :mod:`minigan.functional.batchnorm`
- spectral normalization of a weight: :mod:`minigan.functional.spectral`
- minibatch discrimination, minibatch standard deviation, packing:
  :mod:`minigan.functional.minibatch`
- a label joined to a sample (conditional GAN): :mod:`minigan.functional.conditional`

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
from .conditional import label_concat_backward, label_concat_forward
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
]
