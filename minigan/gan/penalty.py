r"""The gradient penalty of WGAN-GP (Gulrajani et al. 2017) and its double backward, by hand.

The critic :math:`f` (the discriminator, without sigmoid) is pushed towards
1-Lipschitz functions by a penalty on the norm of its INPUT gradient at points
:math:`\hat x` between real and fake samples:

.. math::
    P(\theta) = \frac{\lambda}{N}\sum_{n=1}^{N}\big(\|g_n\| - 1\big)^2,\qquad
    g_n = \nabla_x f(\hat x_n;\theta).

Training the critic needs :math:`\partial P/\partial\theta`: the derivative, with
respect to the parameters, of a quantity that is itself a gradient. Written out for
critics made of Dense layers :math:`z_l = h_{l-1}W_l + b_l` and piecewise-linear
activations :math:`h_l = \phi(z_l)` (ReLU, LeakyReLU: :math:`\phi'(z_l) = s_l`, 1 or the
slope, and :math:`\phi'' = 0` away from the kink), with :math:`h_0 = \hat x` and one
output per sample.

**Input gradient** (the ordinary backward pass with :math:`\text{dout} = 1`): with
:math:`\delta_l = \partial f/\partial z_l` and :math:`e_l = \delta_l W_l^\top` the signal
leaving layer :math:`l` backwards (before the mask of the activation below it),

.. math::
    \delta_L = 1,\qquad \delta_{l-1} = e_l \odot s_{l-1},\qquad g = e_1.

**The penalty's gradient with respect to g**: for :math:`g_n \ne 0`,

.. math::
    \gamma_n = \frac{\partial P}{\partial g_n} = \frac{2\lambda}{N}\,
        \frac{\|g_n\| - 1}{\|g_n\|}\, g_n.

At :math:`g_n = 0` the norm has no derivative (:math:`\|g\|` is a cone there, and
:math:`(\|g_n\| - 1)^2` falls the same way in every direction); the code takes
:math:`\gamma_n = 0`, which favours no direction, and the property tests keep away
from that point.

**Double backward.** :math:`g` depends on :math:`W_l` through the :math:`W_l^\top` of
the chain above and through the masks :math:`s_l`; the masks are piecewise constant
in :math:`\theta`, so only the first dependence has a derivative. Write
:math:`r_{l-1} = \partial P/\partial e_l`, the gradient of the penalty with respect to
the signal leaving layer :math:`l`; then :math:`r_0 = \partial P/\partial g = \gamma`.
Differentiating the chain from its end :math:`g = e_1` back to its start
:math:`\delta_L` runs through the network FORWARDS, one line per line of the chain (on
the right):

.. math::
    \begin{aligned}
    r_0 &= \gamma &&\qquad g = e_1 \\
    \frac{\partial P}{\partial W_l} &= r_{l-1}^\top\,\delta_l,\quad
        \frac{\partial P}{\partial \delta_l} = r_{l-1} W_l
        &&\qquad e_l = \delta_l W_l^\top \\
    r_l &= (r_{l-1} W_l)\odot s_l &&\qquad \delta_l = e_{l+1}\odot s_l \\
    \frac{\partial P}{\partial b_l} &= 0 &&\qquad b_l \text{ only moves the masks}
    \end{aligned}

So :math:`r` is the critic's forward-mode tangent in the direction :math:`\gamma`
(Pearlmutter's :math:`R`-operator: Dense layers without their bias, activations as
their masks), and each weight gradient is the outer product of the tangent entering
the layer with the backward signal :math:`\delta_l` at its output. numpy-ml's WGAN-GP runs the same
forward sweep over its fully connected critic (``_bwd2``), with an extra
:math:`\phi''` term that is zero for these activations. Smooth activations (Tanh,
Sigmoid) would need that term, convolutions their own sweep, and batch norm
couples the samples whose gradients the penalty takes one by one:
:func:`check_critic` refuses them.

A :class:`~minigan.nn.layers.SpectralNorm` Dense layer takes part with its normalized
weight; its gradient is taken back through :math:`\sigma(W)`.
"""

from __future__ import annotations

from minigan import functional as F
from minigan.backend import get_array_module
from minigan.nn import layers as L

__all__ = ["check_critic", "gradient_penalty", "critic_input_gradient", "TWICE_DIFFERENTIABLE"]

#: Layer types the double backward is written for.
TWICE_DIFFERENTIABLE = (L.Dense, L.ReLU, L.LeakyReLU, L.Flatten, L.Reshape)


def _layers(critic):
    return list(critic.layers) if isinstance(critic, L.Sequential) else [critic]


def check_critic(critic):
    """Raise ``ValueError`` naming the first layer of ``critic`` the penalty cannot
    differentiate twice (anything but Dense, SpectralNorm(Dense), ReLU, LeakyReLU,
    Flatten and Reshape)."""
    if isinstance(critic, L.LabelledSequential):
        raise ValueError("WGAN-GP differentiates the critic twice, by hand for a chain of "
                         "layers that takes its input once; this discriminator joins a label "
                         f"to its layers ({type(critic).__name__}), which the penalty's double "
                         "backward does not follow. Use another --loss")
    for i, layer in enumerate(_layers(critic)):
        inner = layer.layer if isinstance(layer, L.SpectralNorm) else layer
        if type(inner) not in TWICE_DIFFERENTIABLE:
            todo = "Use a critic of those layers (--model vanilla, the toys) or another --loss"
            if isinstance(inner, L.BatchNorm):
                why = ("batch norm mixes the samples whose input gradients the penalty takes one "
                       "by one (Gulrajani et al. leave it out of the critic)")
            elif isinstance(inner, (L.Pack, L.MinibatchDiscrimination, L.MinibatchStdDev)):
                why = ("it mixes the samples whose input gradients the penalty takes one by one")
                todo = ("Leave out --pack and --minibatch with --loss wgan-gp, or use another "
                        "--loss")
            else:
                why = "its second derivative is not written here"
            raise ValueError(
                f"WGAN-GP differentiates the critic twice, by hand for Dense, ReLU, "
                f"LeakyReLU, Flatten and Reshape layers (and SpectralNorm of a Dense); "
                f"layer {i} of the discriminator, {layer!r}, cannot be: {why}. {todo}")


def critic_input_gradient(critic, x):
    r"""Forward pass of ``critic`` at ``x`` and its input gradient :math:`g = \nabla_x f`.

    Parameters
    ----------
    critic : Sequential (or one layer) of the layers :func:`check_critic` accepts,
        one output per sample
    x : ndarray of shape (N, ...)

    Returns
    -------
    out : ndarray of shape (N, 1), the critic's output
    g : ndarray like ``x``
    tape : list of ``(layer, W or None, cache, delta)``, what the double backward needs:
        each Dense layer's (normalized) weight and the backward signal
        :math:`\delta_l = \partial f/\partial z_l` at its output, each activation's cache
    """
    xp = get_array_module(x)
    tape, h = [], x
    for layer in _layers(critic):
        if isinstance(layer, L.SpectralNorm):
            out = layer.forward(h)          # one power step; W / sigma of this pass
            tape.append([layer, layer.weight(), None, None])
            h = out
        elif isinstance(layer, L.Dense):
            W = layer.params["W"]
            h, _ = F.dense_forward(h, W, layer.params["b"] if layer.has_bias else None)
            tape.append([layer, W, None, None])
        elif isinstance(layer, (L.ReLU, L.LeakyReLU)):
            slope = layer.slope if isinstance(layer, L.LeakyReLU) else 0.0
            h, cache = F.leaky_relu_forward(h, slope)
            tape.append([layer, None, cache, None])
        else:                                # Flatten, Reshape: h viewed with another shape
            shape_in = h.shape
            h = layer.forward(h)
            tape.append([layer, None, (shape_in, h.shape), None])
    if h.ndim != 2 or h.shape[1] != 1:
        raise ValueError(f"the critic should give one output per sample, (N, 1), not "
                         f"{tuple(h.shape)}")
    d = xp.ones_like(h)                      # dout = 1: the input gradient of each output
    for entry in reversed(tape):
        layer, W, cache = entry[:3]
        if W is not None:
            entry[3] = d                     # delta_l = df/dz_l
            d = d @ W.T if W.shape[1] > 1 else d * W.T    # delta_l W_l^T
        elif isinstance(layer, (L.ReLU, L.LeakyReLU)):
            d = F.leaky_relu_backward(d, cache)           # (.) * s_l
        else:
            d = d.reshape(cache[0])
    return h, d, tape


def gradient_penalty(critic, x_hat, weight=10.0, features=None):
    r"""The penalty :math:`P` at ``x_hat``; its gradient is ADDED to the critic's ``grads``.

    .. math::
        P = \frac{\lambda}{N}\sum_n (\|g_n\| - 1)^2,\qquad
        \frac{\partial P}{\partial W_l} = r_{l-1}^\top \delta_l,\qquad
        \frac{\partial P}{\partial b_l} = 0,

    :math:`r` the forward-mode tangent of the critic in the direction
    :math:`\gamma = \partial P/\partial g` (the module docstring derives it). A frozen
    critic keeps its gradients.

    Parameters
    ----------
    critic : Sequential of Dense, SpectralNorm(Dense), ReLU, LeakyReLU, Flatten, Reshape
    x_hat : ndarray of shape (N, ...)
        The points where the input gradient is penalized (held fixed).
    weight : float
        :math:`\lambda` (10 in the paper).
    features : int, optional
        Penalize the gradient with respect to the first ``features`` values of each
        (flattened) sample only: a conditional critic's image, without the one-hot
        label appended after it. Default: all of them.

    Returns
    -------
    float : the penalty :math:`P`
    """
    xp = get_array_module(x_hat)
    n = x_hat.shape[0]
    _, g_all, tape = critic_input_gradient(critic, x_hat)
    g_all = g_all.reshape(n, -1)
    g = g_all if features is None else g_all[:, :int(features)]
    norm = xp.sqrt((g * g).sum(axis=1, keepdims=True))
    penalty = weight * float(((norm - 1) ** 2).sum()) / n
    # gamma = dP/dg = (2 lambda / N) (|g| - 1) / |g| * g   (|g| = 0: the direction is 0),
    # and 0 for the input values the penalty does not measure
    r = xp.zeros_like(g_all)
    r[:, :g.shape[1]] = (2 * weight / n) * (norm - 1) / xp.maximum(norm, 1e-30) * g
    r = r.reshape(x_hat.shape)
    for layer, W, cache, delta in tape:   # forward sweep of the tangent r
        if W is not None:
            dW = r.T @ delta                                # dP/dW_l = r_{l-1}^T delta_l
            if isinstance(layer, L.SpectralNorm):
                layer.accumulate_weight_grad(dW)            # back through sigma(W)
            else:
                layer._accumulate(W=dW)
            r = r @ W                                        # r_{l-1} W_l
        elif isinstance(layer, (L.ReLU, L.LeakyReLU)):
            r = F.leaky_relu_backward(r, cache)              # (.) * s_l
        else:
            r = r.reshape(cache[1])
    return penalty
