r"""Losses computed from logits: sigmoid cross-entropy and the GAN losses.

Every loss returns its value and its gradient with respect to the logits
together, ``loss, dlogits = f(logits, ...)``: the gradient is the ``dout``
that starts the backward pass. The discriminator outputs a logit
:math:`a`; :math:`D(x) = \sigma(a)` is never formed on the way to the loss,
so no :math:`\log 0` can appear.

Sigmoid cross-entropy of a logit :math:`a` against a target :math:`t \in [0,1]`:

.. math::

    \ell(a, t) = -t \log\sigma(a) - (1-t)\log(1-\sigma(a))
               = \max(a, 0) - a t + \log(1 + e^{-|a|})

The right-hand form never exponentiates a positive number, so it is finite
for any logit. Its derivative is :math:`\partial\ell/\partial a = \sigma(a) - t`.
"""

from __future__ import annotations

from .backend import get_array_module, on_gpu
from .functional.activations import sigmoid

__all__ = [
    "sigmoid_cross_entropy",
    "generator_loss",
    "G_LOSSES",
]

G_LOSSES = ("non_saturating", "minimax")


def sigmoid_cross_entropy(logits, targets):
    r"""Mean sigmoid cross-entropy over all elements, value and gradient.

    .. math::
        L = \frac{1}{M}\sum_i \max(a_i, 0) - a_i t_i + \log(1 + e^{-|a_i|}),
        \qquad
        \frac{\partial L}{\partial a_i} = \frac{\sigma(a_i) - t_i}{M}

    Parameters
    ----------
    logits : ndarray of shape (N,) or (N, 1)
    targets : float or ndarray broadcastable to ``logits``
        Labels in [0, 1]; soft targets such as 0.9 implement label smoothing.

    Returns
    -------
    loss : float
    dlogits : ndarray like ``logits``
    """
    if on_gpu(logits):  # GPU: per-element loss and gradient in one fused kernel (minigan.kernels)
        from . import kernels
        return kernels.sigmoid_cross_entropy_gpu(logits, targets)
    xp = get_array_module(logits)
    a = logits
    m = a.size
    per_element = xp.maximum(a, 0) - a * targets + xp.log1p(xp.exp(-xp.abs(a)))
    loss = float(per_element.sum()) / m
    dlogits = (sigmoid(a) - targets) / m
    return loss, dlogits.astype(a.dtype, copy=False)


def generator_loss(fake_logits, form="non_saturating"):
    r"""The generator's loss on the discriminator's logits for its samples.

    ``"non_saturating"`` (what Goodfellow et al. use in practice):

    .. math:: L_G = -\frac{1}{m}\sum\log D(G(z)) = \frac1m\sum \ell(a, 1),
              \qquad \frac{\partial L_G}{\partial a} = \frac{\sigma(a) - 1}{m}

    ``"minimax"`` (the game's own term, which saturates when D wins):

    .. math:: L_G = \frac{1}{m}\sum\log(1 - D(G(z))) = -\frac1m\sum \ell(a, 0),
              \qquad \frac{\partial L_G}{\partial a} = -\frac{\sigma(a)}{m}

    Early in training D rejects fakes, :math:`\sigma(a) \approx 0`: the
    minimax gradient vanishes while the non-saturating one stays near
    :math:`-1/m`.

    Returns
    -------
    loss : float
    dfake : ndarray like ``fake_logits``
    """
    if form == "non_saturating":
        return sigmoid_cross_entropy(fake_logits, 1.0)
    if form == "minimax":
        loss, d = sigmoid_cross_entropy(fake_logits, 0.0)
        return -loss, -d
    raise ValueError(f"unknown generator loss {form!r}; use one of {G_LOSSES}")
