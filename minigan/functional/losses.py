r"""Losses computed from logits: sigmoid cross-entropy and the GAN losses.

The derivations, worked examples and property tests: ``docs/atlas/losses.rst`` (sigmoid
and softmax cross-entropy, the generator's losses), ``docs/atlas/penalty.rst`` (the hinge,
least-squares and Wasserstein losses).

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

import math

import numpy as np

from minigan.backend import get_array_module, kernels, op

from .activations import sigmoid
from .errors import ShapeError

__all__ = [
    "sigmoid_cross_entropy",
    "generator_loss",
    "G_LOSSES",
    "softmax_cross_entropy",
    "least_squares_loss",
    "hinge_loss",
    "wasserstein_loss",
]

G_LOSSES = ("non_saturating", "minimax")


def _check_targets(op, outputs, targets):
    """Raise :class:`ShapeError` unless ``targets`` (a number or an array) broadcast to the
    shape of ``outputs`` without changing it: ``(N,)`` targets against ``(N, 1)`` outputs
    would make an ``(N, N)`` loss, ``N`` times too many terms, and a gradient of that shape."""
    shape = tuple(targets.shape) if hasattr(targets, "shape") else np.shape(targets)  # a list's
    want = tuple(outputs.shape)
    try:
        fits = np.broadcast_shapes(want, shape) == want
    except ValueError:
        fits = False
    if not fits:
        raise ShapeError(op, f"targets of shape {shape} do not fit outputs of shape {want}; "
                             f"expected a number or targets of shape {want}")


def _check_batch(op, outputs):
    """Raise :class:`ShapeError` when ``outputs`` holds no entry: the loss is a mean over
    them, and a mean over none would raise ``ZeroDivisionError``."""
    if outputs.size == 0:
        raise ShapeError(op, f"outputs of shape {tuple(outputs.shape)} hold no entry, and the "
                             "loss is their mean: give a batch of at least one sample")


def _check_sign(op, sign):
    """Raise ``ValueError`` unless ``sign`` is +1 (real samples) or -1 (fakes): another
    number would scale the loss and its gradient without a word (0: no loss at all)."""
    if isinstance(sign, bool) or sign not in (1, -1):
        raise ValueError(f"{op}: sign must be +1 (real samples) or -1 (fakes), got {sign!r}")


def _check_probabilities(op, targets, examples="1 real, 0 fake, 0.9 smoothed"):
    """Raise ``ValueError`` unless the targets of a cross-entropy are in [0, 1]: a number, or
    an array on the host (one on the GPU is not read back: a wait at every step).
    ``examples``: what such targets are, said in the message."""
    xp = get_array_module(targets) if hasattr(targets, "shape") else np
    if xp is not np:
        return
    t = np.asarray(targets)
    if t.size and not (t.dtype.kind in "biuf" and np.isfinite(t).all()
                       and t.min() >= 0 and t.max() <= 1):
        raise ValueError(f"{op}: targets must be probabilities in [0, 1] ({examples}), got "
                         + (f"{t.item()!r}" if t.ndim == 0 else
                            f"{t.dtype} targets from {t.min()} to {t.max()}"))


@op
def sigmoid_cross_entropy(logits, targets):
    r"""Mean sigmoid cross-entropy over all elements, value and gradient.

    .. math::
        L = \frac{1}{M}\sum_i \max(a_i, 0) - a_i t_i + \log(1 + e^{-|a_i|}),
        \qquad
        \frac{\partial L}{\partial a_i} = \frac{\sigma(a_i) - t_i}{M}
        = \frac{(1 - t_i)\,\sigma(a_i) - t_i\,\sigma(-a_i)}{M}

    The gradient is computed in the last form, which has no cancellation for a hard
    target: :math:`\sigma(a) - 1` rounds to 0 for logits above about 37 (17 in
    float32), :math:`-\sigma(-a)` keeps its :math:`-e^{-a}`.

    Parameters
    ----------
    logits : ndarray of shape (N,) or (N, 1)
    targets : float or ndarray of the shape of ``logits`` (or broadcast to it)
        Labels in [0, 1]; soft targets such as 0.9 implement label smoothing. ``(N, 1)``
        targets for ``(N, 1)`` logits, not ``(N,)`` (which would broadcast the loss to
        ``(N, N)``: refused).

    Returns
    -------
    loss : float
    dlogits : ndarray like ``logits``
    """
    _check_targets("sigmoid_cross_entropy", logits, targets)
    _check_batch("sigmoid_cross_entropy", logits)
    _check_probabilities("sigmoid_cross_entropy", targets)
    xp = get_array_module(logits)
    a = logits
    M = a.size                                                      # the entries averaged
    per_element = xp.maximum(a, 0) - a * targets + xp.log1p(xp.exp(-xp.abs(a)))
    loss = float(per_element.sum()) / M
    # sigma(a) - t written as (1 - t) sigma(a) - t sigma(-a), the same number (sigma(a) +
    # sigma(-a) = 1) without the cancellation of sigma(a) - 1 at large a: for t = 1 and
    # a = 40 it is -4.2e-18, where sigma(a) - 1 rounds to 0. t in the logits' dtype, as the
    # loss reads it (0.9 is 0.9f for float32 logits), so that 1 - t is of that t
    t = xp.asarray(targets, dtype=a.dtype)
    dlogits = ((1 - t) * sigmoid(a) - t * sigmoid(-a)) / M
    return loss, dlogits.astype(a.dtype, copy=False)


@sigmoid_cross_entropy.gpu
def _sigmoid_cross_entropy_gpu(logits, targets):
    """:func:`sigmoid_cross_entropy`'s formula, the mean of ``max(a, 0) - a t + log(1 +
    exp(-|a|))`` and its gradient ``((1 - t) sigmoid(a) - t sigmoid(-a)) / M``, per element
    in one fused kernel (minigan.backend.kernels)."""
    _check_targets("sigmoid_cross_entropy", logits, targets)
    _check_batch("sigmoid_cross_entropy", logits)
    _check_probabilities("sigmoid_cross_entropy", targets)
    return kernels.sigmoid_cross_entropy_gpu(logits, targets)


def generator_loss(fake_logits, form="non_saturating"):
    r"""The generator's loss on the discriminator's logits for its samples.

    ``"non_saturating"`` (what Goodfellow et al. use in practice):

    .. math:: L_G = -\frac{1}{M}\sum\log D(G(z)) = \frac1M\sum \ell(a, 1),
              \qquad \frac{\partial L_G}{\partial a} = \frac{\sigma(a) - 1}{M}

    ``"minimax"`` (the game's own term, which saturates when D wins):

    .. math:: L_G = \frac{1}{M}\sum\log(1 - D(G(z))) = -\frac1M\sum \ell(a, 0),
              \qquad \frac{\partial L_G}{\partial a} = -\frac{\sigma(a)}{M}

    Early in training D rejects fakes, :math:`\sigma(a) \approx 0`: the
    minimax gradient vanishes while the non-saturating one stays near
    :math:`-1/M` (:math:`M` the number of logits).

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


def softmax_cross_entropy(logits, targets):
    r"""Mean softmax cross-entropy over the batch, value and gradient, from logits.

    For a row of logits :math:`a \in \mathbb{R}^C` and a target row
    :math:`t` (one-hot, or any soft distribution):

    .. math::
        \log p_c = a_c - a_{\max} - \log\sum_j e^{a_j - a_{\max}}, \qquad
        a_{\max} = \max_j a_j

        L = -\frac{1}{N}\sum_{i=1}^{N}\sum_{c} t_{ic}\,\log p_{ic}

    Subtracting the row maximum leaves :math:`\log p` unchanged and makes every
    exponent :math:`\le 0`, so no logit can overflow (the largest term is
    :math:`e^0 = 1`, so the sum never underflows to 0 either). That term is taken out
    of the sum and the logarithm is ``log1p`` of the others, so the tiny loss of a
    confidently right row keeps its relative precision. Chain rule,
    with :math:`\partial\log p_c/\partial a_k = \delta_{ck} - p_k`:

    .. math::
        \frac{\partial L}{\partial a_{ik}}
        = \frac{1}{N}\Big(p_{ik}\sum_c t_{ic} - t_{ik}\Big)
        = \frac{p_{ik} - t_{ik}}{N} \quad\text{when each target row sums to 1.}

    At the largest logit of a row where :math:`p_{\max} > 1/2` the gradient is computed as
    :math:`(p_{\max} - 1)\sum_c t_c + \sum_{c \ne \max} t_c` with
    :math:`p_{\max} - 1 = \operatorname{expm1}(-\log z)`: for a confident row
    :math:`p_{\max}` rounds to 1 and :math:`p_{\max} - 1` to 0, where the true value
    (about :math:`-\sum_{c \ne \max} e^{a_c - a_{\max}}`) is representable.

    Parameters
    ----------
    logits : ndarray of shape (N, C)
    targets : ndarray of shape (N,) of int class indices, or (N, C) of floats
        Soft targets (rows of probabilities in [0, 1], e.g. label smoothing) are allowed; a
        row need not sum to 1 (the gradient's general form). Labels on the
        host that are not whole classes ``0 .. C - 1`` are a ``ValueError`` (-1 would pick the
        last class, 1.5 class 1, without a word).

    Returns
    -------
    loss : float
    dlogits : ndarray like ``logits``
    """
    xp = get_array_module(logits)
    a = logits
    if a.ndim != 2:
        raise ValueError(f"softmax_cross_entropy: logits must be (N, C), got {tuple(a.shape)}")
    n, c = a.shape
    _check_batch("softmax_cross_entropy", a)
    if targets.ndim == 1:  # class indices -> one-hot rows
        if len(targets) != n:
            raise ValueError(f"softmax_cross_entropy: {len(targets)} labels for {n} rows of "
                             "logits: give one label a row")
        if get_array_module(targets) is np and not (   # on the GPU: not read back, a wait
                targets.dtype.kind in "biuf" and (targets == np.floor(targets)).all()
                and targets.min() >= 0 and targets.max() < c):
            raise ValueError(f"softmax_cross_entropy: labels must be whole classes 0 to {c - 1}, "
                             f"got {targets.dtype} labels from {targets.min()} to "
                             f"{targets.max()} (-1 would pick the last class, 1.5 class 1)")
        t = xp.zeros_like(a)
        t[xp.arange(n), targets.astype(xp.int64)] = 1
    elif tuple(targets.shape) == (n, c):
        _check_probabilities("softmax_cross_entropy", targets,    # a negative one: a loss < 0
                             "rows of class probabilities: one-hot, or smoothed")
        t = targets.astype(a.dtype, copy=False)
    else:
        raise ValueError(f"softmax_cross_entropy: targets of shape {tuple(targets.shape)} do not "
                         f"fit logits {tuple(a.shape)}; give (N,) labels or (N, C) rows")
    top = a.argmax(axis=1)
    shifted = a - a[xp.arange(n), top][:, None]       # a - a_max: every exponent <= 0
    # log sum_j e^(a_j - a_max) = log(1 + the other terms): log1p keeps the relative precision
    # of a confident row's tiny loss, which log(1 + 1e-10) would round away
    others = xp.exp(shifted)
    others[xp.arange(n), top] = 0
    log_z = xp.log1p(others.sum(axis=1, keepdims=True))
    log_p = shifted - log_z                                         # log softmax
    loss = -float((t * log_p).sum()) / n
    rows = xp.arange(n)
    t_sum = t.sum(axis=1)                                           # sum_c t
    dlogits = xp.exp(log_p) * t_sum[:, None] - t                    # p sum_c t - t
    # at the largest logit of a row where p_top > 1/2, p_top sum_c t - t_top = (p_top - 1)
    # sum_c t + sum_(c != top) t_c, with p_top - 1 = expm1(-log z): a confident row's p_top
    # rounds to 1, and p_top - 1 to 0 (at a margin of 37 in float64, 17 in float32), where
    # expm1 keeps every digit; |p_top - 1| < 1/2 there, so the sum cancels no more than
    # the plain form (which stays where p_top <= 1/2: a flat row, p_top - 1 far from 0)
    t_others = t.copy()
    t_others[rows, top] = 0
    confident = xp.flatnonzero(log_z[:, 0] < math.log(2))          # p_top = e^(-log z) > 1/2
    dlogits[confident, top[confident]] = (xp.expm1(-log_z[confident, 0]) * t_sum[confident]
                                          + t_others[confident].sum(axis=1))
    dlogits /= n
    return loss, dlogits.astype(a.dtype, copy=False)


# -- other GAN losses: D's raw output, no sigmoid ------------------------------------
def least_squares_loss(outputs, targets):
    r"""Least squares (LSGAN, Mao et al. 2017), value and gradient, on D's raw outputs.

    .. math::
        L = \frac{1}{2M}\sum_i (a_i - t_i)^2,\qquad
        \frac{\partial L}{\partial a_i} = \frac{a_i - t_i}{M}

    D descends :math:`L(a_{real}, 1) + L(a_{fake}, 0)` and G descends
    :math:`L(a_{fake}, 1)`: the paper's 0-1 coding, :math:`a = 0, b = c = 1`.

    Parameters
    ----------
    outputs : ndarray of shape (N, 1)
    targets : float or ndarray of the shape of ``outputs`` (or broadcast to it)

    Returns
    -------
    loss : float
    doutputs : ndarray like ``outputs``
    """
    _check_targets("least_squares_loss", outputs, targets)
    _check_batch("least_squares_loss", outputs)
    diff = outputs - targets
    M = outputs.size
    return float((diff * diff).sum()) / (2 * M), (diff / M).astype(outputs.dtype, copy=False)


def hinge_loss(outputs, sign):
    r"""The hinge loss of D (Lim & Ye 2017; Miyato et al. 2018), value and gradient.

    .. math::
        L = \frac{1}{M}\sum_i \max(0, 1 - y\,a_i),\qquad
        \frac{\partial L}{\partial a_i} = -\frac{y}{M}\,[\,y\,a_i < 1\,]

    with :math:`y = +1` for real samples and :math:`-1` for fakes. The generator
    descends :math:`-\frac1M\sum a` (:func:`wasserstein_loss` with ``sign=+1``).

    Returns
    -------
    loss : float
    doutputs : ndarray like ``outputs``
    """
    _check_sign("hinge_loss", sign)
    _check_batch("hinge_loss", outputs)
    xp = get_array_module(outputs)
    margin = 1 - sign * outputs
    M = outputs.size
    active = margin > 0
    loss = float(xp.maximum(margin, 0).sum()) / M   # D infinitely sure and right: 0 (not NaN)
    step = outputs.dtype.type(-sign / M)
    return loss, xp.where(active, step, outputs.dtype.type(0))     # 0, not -0, where inactive


def wasserstein_loss(outputs, sign):
    r"""The critic's term of the Wasserstein GAN (Arjovsky et al. 2017), value and gradient.

    .. math::
        L = -\frac{y}{M}\sum_i a_i,\qquad \frac{\partial L}{\partial a_i} = -\frac{y}{M}

    The critic descends :math:`L(a_{real}, +1) + L(a_{fake}, -1) = -E[f(x)] + E[f(G(z))]`
    (plus the gradient penalty, :mod:`minigan.gan.penalty`); the generator descends
    :math:`L(a_{fake}, +1) = -E[f(G(z))]`.

    Returns
    -------
    loss : float
    doutputs : ndarray like ``outputs``
    """
    _check_sign("wasserstein_loss", sign)
    _check_batch("wasserstein_loss", outputs)
    xp = get_array_module(outputs)
    M = outputs.size
    return -sign * float(outputs.sum()) / M, xp.full_like(outputs, -sign / M)
