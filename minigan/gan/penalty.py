r"""The gradient penalties of WGAN-GP (Gulrajani et al. 2017) and R1 (Mescheder et al. 2018),
and their double backward, by hand.

The derivation, with a picture of the three passes, worked examples and the property tests:
``docs/atlas/penalty.rst``.

The critic :math:`f` (the discriminator, without sigmoid) is pushed towards
1-Lipschitz functions by a penalty on the norm of its INPUT gradient at points
:math:`\hat x` between real and fake samples:

.. math::
    P(\theta) = \frac{\lambda}{N}\sum_{n=1}^{N}\big(\|g_n\| - 1\big)^2,\qquad
    g_n = \nabla_x f(\hat x_n;\theta).

Training the critic needs :math:`\partial P/\partial\theta`: the derivative, with
respect to the parameters, of a quantity that is itself a gradient. Written out for
critics made of Dense layers :math:`z_l = h_{l-1}W_l + b_l` and piecewise-linear
activations :math:`h_l = \phi(z_l)` (ReLU, LeakyReLU: the mask :math:`\phi'_l = \phi'(z_l)`,
1 or LeakyReLU's slope, and :math:`\phi'' = 0` away from the kink), with :math:`h_0 = \hat x`
and one output per sample.

**Input gradient** (the ordinary backward pass with :math:`\text{dout} = 1`): with
:math:`\delta_l = \partial f/\partial z_l` and :math:`e_l = \delta_l W_l^\top` the signal
leaving layer :math:`l` backwards (before the mask of the activation below it),

.. math::
    \delta_L = 1,\qquad \delta_{l-1} = e_l \odot \phi'_{l-1},\qquad g = e_1.

**The penalty's gradient with respect to g**: for :math:`g_n \ne 0`,

.. math::
    \rho_n = \frac{\partial P}{\partial g_n} = \frac{2\lambda}{N}\,
        \frac{\|g_n\| - 1}{\|g_n\|}\, g_n.

At :math:`g_n = 0` the norm has no derivative (:math:`\|g\|` is a cone there, and
:math:`(\|g_n\| - 1)^2` falls the same way in every direction); the code takes
:math:`\rho_n = 0`, which favours no direction, and the property tests keep away
from that point.

**Double backward.** :math:`g` depends on :math:`W_l` through the :math:`W_l^\top` of
the chain above and through the masks :math:`\phi'_l`; the masks are piecewise constant
in :math:`\theta`, so only the first dependence has a derivative. Write
:math:`r_{l-1} = \partial P/\partial e_l`, the gradient of the penalty with respect to
the signal leaving layer :math:`l`; then :math:`r_0 = \partial P/\partial g = \rho`.
Differentiating the chain from its end :math:`g = e_1` back to its start
:math:`\delta_L` runs through the network FORWARDS, one line per line of the chain (on
the right):

.. math::
    \begin{aligned}
    r_0 &= \rho &&\qquad g = e_1 \\
    \frac{\partial P}{\partial W_l} &= r_{l-1}^\top\,\delta_l,\quad
        \frac{\partial P}{\partial \delta_l} = r_{l-1} W_l
        &&\qquad e_l = \delta_l W_l^\top \\
    r_l &= (r_{l-1} W_l)\odot \phi'_l &&\qquad \delta_l = e_{l+1}\odot \phi'_l \\
    \frac{\partial P}{\partial b_l} &= 0 &&\qquad b_l \text{ only moves the masks}
    \end{aligned}

So :math:`r` is the critic's forward-mode tangent in the direction :math:`\rho`
(Pearlmutter's :math:`R`-operator: Dense layers without their bias, activations as
their masks), and each weight gradient is the outer product of the tangent entering
the layer with the backward signal :math:`\delta_l` at its output. numpy-ml's WGAN-GP runs the same
forward sweep over its fully connected critic (``_bwd2``), with an extra
:math:`\phi''` term that is zero for these activations. Smooth activations (Tanh,
Sigmoid) would need that term, convolutions their own sweep, and batch norm
couples the samples whose gradients the penalty takes one by one:
:func:`check_critic` refuses them.

A :class:`~minigan.nn.layers.SpectralNorm` Dense layer takes part with its normalized
weight; its gradient is taken back through :math:`\sigma(W)`. The penalty's pass is a
forward pass of its own: in training mode it takes one more power step, so a D step that
takes the penalty moves the layer's ``u`` once more than one that does not (the penalty is
differentiated with the :math:`\sigma` of its own pass).

**R1** penalizes the input gradient on the real data towards zero,

.. math::
    P(\theta) = \frac{\gamma}{2N}\sum_{n=1}^{N}\|g_n\|^2,\qquad
    g_n = \frac{\partial}{\partial x_n}\sum_{m=1}^{N} f(x_m;\theta),
    \qquad \rho_n = \frac{\partial P}{\partial g_n} = \frac{\gamma}{N}\, g_n,

with :math:`\gamma` R1's weight (:func:`r1_penalty` says how training applies it);
:math:`g` is the gradient of the batch's sum, as StyleGAN's code takes it: a layer that
mixes the samples, the minibatch standard deviation
(:func:`minigan.functional.minibatch_stddev_forward`), then has a well-defined :math:`g`
too. Its backward pass reads the activations themselves (sample :math:`n = gQ + q` in
group :math:`q`, :math:`K` values a sample, :math:`\bar s_q` the sum over group :math:`q`
of the signal at the appended :math:`s_q`, as in
:func:`minigan.functional.minibatch_stddev_backward`):

.. math::
    \bar x_{gqk} = \bar{\text{out}}_{gqk} + \frac{\bar s_q}{K}\,
        \frac{x_{gqk} - \mu_{qk}}{G\,\sigma_{qk}},

so below it the backward signal :math:`\delta_l` moves with the input and the forward sweep
above is not the whole derivative. Along the input direction :math:`\rho` the
derivative of the ordinary parameter gradient is (mixed partials commute)
:math:`\partial P/\partial\theta = \frac{d}{d\epsilon}\nabla_\theta \textstyle\sum_m
f(x_m + \epsilon\rho_m)\big|_{\epsilon=0}`: the forward sweep carries the tangent
:math:`r` of every activation (at the minibatch layer,
:math:`\dot\sigma_{qk} = \sum_g (x_{gqk} - \mu_{qk})\, \dot x^c_{gqk} / (G\sigma_{qk})` with
:math:`\dot x^c` the tangent less its group mean, :math:`\dot s_q = \frac1K\sum_k
\dot\sigma_{qk}`), then a backward sweep carries the tangent :math:`\dot\delta` of the
backward signal, zero above the minibatch layer and there

.. math::
    \dot{\bar x}_{gqk} = \dot{\bar{\text{out}}}_{gqk}
        + \frac{\dot{\bar s}_q}{K}\frac{x_{gqk} - \mu_{qk}}{G\sigma_{qk}}
        + \frac{\bar s_q}{K G}\Big(\frac{\dot x^c_{gqk}}{\sigma_{qk}}
        - \frac{(x_{gqk} - \mu_{qk})\,\dot\sigma_{qk}}{\sigma_{qk}^2}\Big),

through the masks of the activations and :math:`W_l^\top` of the Dense layers below it.
Each Dense layer then gains

.. math::
    \frac{\partial P}{\partial W_l} = r_{l-1}^\top\,\delta_l + h_{l-1}^\top\,\dot\delta_l,
    \qquad \frac{\partial P}{\partial b_l} = \textstyle\sum_n \dot\delta_l,

which is the WGAN-GP sweep when no minibatch layer is present (:math:`\dot\delta = 0`).
"""

from __future__ import annotations

from minigan import functional as F
from minigan.backend import get_array_module
from minigan.functional.errors import amount, whole_number
from minigan.nn import layers as L

__all__ = ["CriticError", "check_critic", "gradient_penalty", "r1_penalty", "critic_input_gradient",
           "TWICE_DIFFERENTIABLE", "R1_TWICE_DIFFERENTIABLE"]

#: Layer types the double backward is written for.
TWICE_DIFFERENTIABLE = (L.Dense, L.ReLU, L.LeakyReLU, L.Flatten, L.Reshape)
#: What R1 differentiates twice: those and the minibatch standard deviation (R1 takes the
#: gradient of the batch's sum, which a layer that mixes the samples leaves well defined).
R1_TWICE_DIFFERENTIABLE = TWICE_DIFFERENTIABLE + (L.MinibatchStdDev,)


def _layers(critic):
    """The chain of layers the penalty runs through: a Sequential's layers, a Sequential
    inside it flattened into its own (the same chain); else the one layer."""
    if not isinstance(critic, L.Sequential):
        return [critic]
    return [inner for layer in critic.layers
            for inner in (_layers(layer) if type(layer) is L.Sequential else [layer])]


class CriticError(ValueError):
    """A critic the penalty cannot differentiate twice.

    ``penalty`` is ``"R1"`` or ``"WGAN-GP"``; ``reason`` says what stands in the way:
    ``"labels"`` (the critic joins a label to its layers), ``"mixes"`` (a layer that mixes
    the samples: packing, minibatch discrimination), ``"layer"`` (any other layer, batch norm
    included); ``problem`` is the message without its advice, for a caller (the command line)
    to give advice in its own terms.
    """

    def __init__(self, penalty, reason, problem, advice):
        super().__init__(f"{problem}. {advice}")
        self.penalty, self.reason, self.problem = penalty, reason, problem


def check_critic(critic, r1=False):
    """Raise :class:`CriticError` naming the first layer of ``critic`` the penalty cannot
    differentiate twice: anything but Dense, SpectralNorm(Dense), ReLU, LeakyReLU,
    Flatten and Reshape, and for R1 (``r1=True``) the minibatch standard deviation too."""
    name, off = ("R1", "r1=0") if r1 else ("WGAN-GP", "another loss")
    if isinstance(critic, L.LabelledSequential):
        raise CriticError(name, "labels",
                          f"{name} differentiates the critic twice, by hand for a chain of "
                          "layers that takes its input once; this discriminator joins a label "
                          f"to its layers ({type(critic).__name__}), which the penalty's double "
                          "backward does not follow", f"Use an unconditional one, or {off}")
    allowed = R1_TWICE_DIFFERENTIABLE if r1 else TWICE_DIFFERENTIABLE
    chain = _layers(critic)
    counted = ("the discriminator" if len(chain) == len(getattr(critic, "layers", chain)) else
               "the discriminator's layers in order (those of a Sequential inside it counted "
               "one by one)")
    for i, layer in enumerate(chain):
        inner = layer.layer if isinstance(layer, L.SpectralNorm) else layer
        if type(inner) not in allowed:
            reason, advice = "layer", f"Use a critic of those layers, or {off}"
            if isinstance(inner, L.BatchNorm):
                why = ("batch norm mixes the samples whose input gradients the penalty takes one "
                       "by one (Gulrajani et al. leave it out of the critic)")
            elif isinstance(inner, (L.Pack, L.MinibatchDiscrimination, L.MinibatchStdDev)):
                why = ("its second derivative is not written here" if r1 else
                       "it mixes the samples whose input gradients the penalty takes one by one")
                reason, advice = "mixes", f"Leave it out, or use {off}"
            else:
                why = "its second derivative is not written here"
            also = " and the minibatch standard deviation" if r1 else ""
            raise CriticError(
                name, reason,
                f"{name} differentiates the critic twice, by hand for Dense, ReLU, "
                f"LeakyReLU, Flatten and Reshape layers (and SpectralNorm of a Dense){also}; "
                f"layer {i} of {counted}, {layer!r}, cannot be: {why}", advice)


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
    g : ndarray like ``x``: the gradient of ``out.sum()``, each sample's own input gradient
        where no layer mixes the samples
    tape : list of ``[layer, W or None, cache, delta, h_in]``, what the double backward
        needs: each Dense layer's (normalized) weight, its input ``h_in`` and the backward
        signal :math:`\delta_l = \partial f/\partial z_l` at its output; each activation's
        and minibatch layer's cache (the minibatch layer's ``delta``: the signal at its output)
    """
    xp = get_array_module(x)
    tape, h = [], x
    for layer in _layers(critic):
        if isinstance(layer, L.SpectralNorm):
            out = layer.forward(h)          # one power step; W / sigma of this pass
            tape.append([layer, layer.weight(), None, None, h])
            h = out
        elif isinstance(layer, L.Dense):
            W = layer.params["W"]
            tape.append([layer, W, None, None, h])
            h, _ = F.dense_forward(h, W, layer.params["b"] if layer.has_bias else None)
        elif isinstance(layer, (L.ReLU, L.LeakyReLU)):
            slope = layer.slope if isinstance(layer, L.LeakyReLU) else 0.0
            h, cache = F.leaky_relu_forward(h, slope)
            tape.append([layer, None, cache, None, None])
        elif isinstance(layer, L.MinibatchStdDev):
            if h.ndim != 2:
                raise ValueError(f"the penalty's double backward takes the minibatch standard "
                                 f"deviation of flat features (N, F), not {tuple(h.shape)}")
            h, cache = F.minibatch_stddev_forward(h, layer.group_size, layer.eps)
            tape.append([layer, None, cache, None, None])
        else:                                # Flatten, Reshape: h viewed with another shape
            shape_in = h.shape
            h = layer.forward(h)
            tape.append([layer, None, (shape_in, h.shape), None, None])
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
            d = F.leaky_relu_backward(d, cache)           # (.) * phi'_l, the mask
        elif isinstance(layer, L.MinibatchStdDev):
            entry[3] = d                     # the signal at its output: s_bar_q sums it
            d = F.minibatch_stddev_backward(d, cache)
        else:
            d = d.reshape(cache[0])
    return h, d, tape


def _add_weight_gradient(layer, dW):
    r"""``dW`` (with respect to the weight the layer computes with) into a Dense layer's
    gradient, or back through :math:`\sigma(W)` into a SpectralNorm(Dense)'s."""
    if isinstance(layer, L.SpectralNorm):
        layer.accumulate_weight_grad(dW)
    else:
        layer._accumulate(W=dW)


def _add_parameter_gradient(tape, r):
    r"""Add :math:`\partial P/\partial\theta` to the critic's gradients, given the tape of
    :func:`critic_input_gradient` and :math:`r_0 = \rho = \partial P/\partial g` (shaped like
    the input).

    The forward sweep of the tangent :math:`r` adds :math:`r_{l-1}^\top\delta_l` to each Dense
    layer; where a minibatch layer moved the backward signal with the input, the backward
    sweep of its tangent :math:`\dot\delta` adds :math:`h_{l-1}^\top\dot\delta_l` and
    :math:`\sum_n\dot\delta_l` (the module docstring derives both)."""
    xp = get_array_module(r)
    tangents = {}                     # a minibatch layer's place in the tape -> (xc_dot, sigma_dot)
    for i, (layer, W, cache, delta, _) in enumerate(tape):   # forward sweep of the tangent r
        if W is not None:
            _add_weight_gradient(layer, r.T @ delta)         # dP/dW_l = r_{l-1}^T delta_l
            r = r @ W                                        # r_{l-1} W_l
        elif isinstance(layer, (L.ReLU, L.LeakyReLU)):
            r = F.leaky_relu_backward(r, cache)              # (.) * phi'_l, the mask
        elif isinstance(layer, L.MinibatchStdDev):
            xc, sigma, G, _ = cache                          # xc = x - mu, (G, Q, K)
            xc_dot = r.reshape(G, *sigma.shape)
            xc_dot = xc_dot - xc_dot.mean(axis=0)            # x^c dot: the tangent of x - mu
            sigma_dot = (xc * xc_dot).sum(axis=0) / (G * sigma)     # sigma's tangent, (Q, K)
            tangents[i] = (xc_dot, sigma_dot)
            s_dot = xp.tile(sigma_dot.mean(axis=1), G)       # s_q = mean_k sigma_qk: its tangent
            r = xp.concatenate([r, s_dot[:, None]], axis=1)
        else:
            r = r.reshape(cache[1])
    if not tangents:                                         # the backward signal held still
        return
    first_dense = min(i for i, entry in enumerate(tape) if entry[1] is not None)
    delta_dot = None                                         # delta's tangent: 0 above the
    for i in range(max(tangents), first_dense - 1, -1):      # first minibatch layer from the top
        layer, W, cache, delta, h_in = tape[i]
        if W is not None:
            inner = layer.layer if isinstance(layer, L.SpectralNorm) else layer
            _add_weight_gradient(layer, h_in.T @ delta_dot)  # + h_{l-1}^T delta_dot_l
            if inner.has_bias:
                layer._accumulate(b=delta_dot.sum(axis=0))   # dP/db_l = sum_n delta_dot_l
            if i > first_dense:                              # no weight below: the input's
                delta_dot = (delta_dot @ W.T if W.shape[1] > 1    # tangent is not needed
                             else delta_dot * W.T)
        elif isinstance(layer, (L.ReLU, L.LeakyReLU)):
            delta_dot = F.leaky_relu_backward(delta_dot, cache)      # (.) * phi'_l
        elif isinstance(layer, L.MinibatchStdDev):
            xc, sigma, G, _ = cache
            (Q, K), N = sigma.shape, xc.shape[0] * xc.shape[1]
            xc_dot, sigma_dot = tangents[i]
            s_bar = delta[:, K].reshape(G, Q).sum(axis=0)[:, None]   # s_bar_q, (Q, 1)
            s_bar_dot = (0.0 if delta_dot is None                    # its tangent
                         else delta_dot[:, K].reshape(G, Q).sum(axis=0)[:, None])
            x_bar_dot = (s_bar_dot / K) * xc / (G * sigma) + (s_bar / (K * G)) * (
                xc_dot / sigma - xc * sigma_dot / sigma ** 2)        # the tangent of x_bar
            delta_dot = x_bar_dot.reshape(N, K) + (     # + the tangent of out_bar
                0.0 if delta_dot is None else delta_dot[:, :K])
        else:
            delta_dot = delta_dot.reshape(cache[0])


def gradient_penalty(critic, x_hat, weight=10.0, features=None):
    r"""WGAN-GP's penalty :math:`P` at ``x_hat``; its gradient is ADDED to the critic's ``grads``.

    .. math::
        P = \frac{\lambda}{N}\sum_n (\|g_n\| - 1)^2,\qquad
        \frac{\partial P}{\partial W_l} = r_{l-1}^\top \delta_l,\qquad
        \frac{\partial P}{\partial b_l} = 0,

    :math:`r` the forward-mode tangent of the critic in the direction
    :math:`\rho = \partial P/\partial g` (the module docstring derives it). A frozen
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
    check_critic(critic)

    weight = amount("gradient_penalty: weight", weight)
    def penalty_of(g, n):
        xp = get_array_module(g)
        norm = _row_norms(g)
        # rho = dP/dg = (2 lambda / N) (|g| - 1) / |g| * g   (|g| = 0: the direction is 0)
        return (weight * float(((norm - 1) ** 2).sum()) / n,
                (2 * weight / n) * (norm - 1) / xp.where(norm > 0, norm, 1) * g)

    return _penalize(critic, x_hat, features, penalty_of)


def _row_norms(g):
    r"""Each row's Euclidean norm :math:`\|g_n\|`, ``(N, 1)``, without the underflow of
    squaring.

    A row whose entries are below about :math:`10^{-23}` in float32 (:math:`10^{-162}` in
    float64) squares to 0, which made its norm 0 (and a row whose squares are subnormal
    numbers, a norm up to a quarter off): the penalty's gradient
    :math:`\rho = \tfrac{2\lambda}{N}(\|g\| - 1)/\|g\| \cdot g`, of length
    :math:`2\lambda/N` for a nearly flat critic, came out as :math:`-\tfrac{2\lambda}{N} g`,
    vanishingly small: the penalty stopped pushing where it should push hardest. Each row
    is divided first by a power of two near its largest entry
    (:math:`2^{e-1}`, the entry :math:`f\,2^e` with :math:`f \in [1/2, 1)`: exact), then
    :math:`\|g_n\| = 2^{e-1} \|g_n / 2^{e-1}\|`: the same bits as the plain
    :math:`\sqrt{\sum g^2}` wherever that one loses nothing (and finite where its square
    overflows).
    """
    xp = get_array_module(g)
    largest = xp.abs(g).max(axis=1, keepdims=True)
    _, exponent = xp.frexp(largest)                        # largest = f 2^e, f in [0.5, 1)
    # 2^(e - 1) (1/2 for a row of zeros): a power of two, finite for the largest float too
    scale = xp.ldexp(xp.ones_like(largest), exponent - 1)
    scaled = g / scale
    return scale * xp.sqrt((scaled * scaled).sum(axis=1, keepdims=True))


def r1_penalty(critic, x, gamma=0.1, features=None):
    r"""R1's penalty :math:`P` on the real batch ``x``; its gradient is ADDED to the critic's
    ``grads``.

    .. math::
        P = \frac{\gamma}{2N}\sum_n \|g_n\|^2,\qquad
        g = \nabla_x \textstyle\sum_m f(x_m),\qquad
        \rho_n = \frac{\partial P}{\partial g_n} = \frac{\gamma}{N}\, g_n

    (the module docstring derives the double backward, through the minibatch standard
    deviation too). A frozen critic keeps its gradients.

    In training (``--r1`` :math:`\gamma`), :meth:`minigan.gan.GAN.d_step` applies it lazily
    (Karras et al. 2020): only on the D steps where D's optimizer has taken a multiple of
    ``r1_every`` steps (``d_opt.t % r1_every == 0``; ``r1_every`` is ``R1_EVERY`` = 4 of
    :mod:`minigan.gan.algorithm` in the trainer), on the real batch as D sees it, after D's
    gradients of the real and the fake batch and before the optimizer step, with weight
    ``r1_every`` :math:`\cdot\,\gamma`: over ``r1_every`` steps, D's gradient gets R1's at
    weight :math:`\gamma` on average. The step reports ``P / r1_every`` (R1 at weight
    :math:`\gamma`, not added to ``d_loss``) until the next step that takes it.

    Parameters
    ----------
    critic : Sequential of the layers :func:`check_critic` accepts with ``r1=True``
    x : ndarray of shape (N, ...)
        The real batch (held fixed).
    gamma : float
        :math:`\gamma`, the weight (``r1_every`` times ``--r1`` on a lazy D step).
    features : int, optional
        As for :func:`gradient_penalty`: the data values of a labelled critic's input.

    Returns
    -------
    float : the penalty :math:`P`
    """
    check_critic(critic, r1=True)

    gamma = amount("r1_penalty: gamma", gamma)
    def penalty_of(g, n):
        return 0.5 * gamma * float((g * g).sum()) / n, (gamma / n) * g     # P, rho = dP/dg

    return _penalize(critic, x, features, penalty_of)


def _penalize(critic, x, features, penalty_of):
    r"""What both penalties share: the input gradient ``g`` of the first ``features`` values of
    each flattened sample (all of them by default), ``P, dP_dg = penalty_of(g, N)`` (``dP_dg``
    is :math:`\rho = \partial P/\partial g`), and
    :math:`\partial P/\partial\theta` added to the critic's gradients (0 for the input
    values not measured: a label's). Returns ``P``."""
    if not hasattr(x, "shape") or x.shape[0] == 0:
        raise ValueError("the penalty is a mean over the samples: give an array of at least one "
                         "sample, got " + (f"shape {tuple(x.shape)}" if hasattr(x, "shape")
                                           else f"a {type(x).__name__}"))
    n = x.shape[0]
    size = x[0].size
    if features is not None:
        features = whole_number(f"features (the data values of each sample's {size}, before a "
                                "label)", features, 1)
        if features > size:
            raise ValueError(f"features is {features}, more than the {size} values of each sample")
    _, g_all, tape = critic_input_gradient(critic, x)
    g_all = g_all.reshape(n, -1)
    g = g_all if features is None else g_all[:, :features]
    penalty, dP_dg = penalty_of(g, n)                    # P and rho = dP/dg
    r = get_array_module(g_all).zeros_like(g_all)       # r_0 = rho, 0 on a label's values
    r[:, :g.shape[1]] = dP_dg
    _add_parameter_gradient(tape, r.reshape(x.shape))
    return penalty
