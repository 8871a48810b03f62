r"""Algorithm 1 of Goodfellow et al. (2014): minibatch training of a GAN.

The two players play the minimax game

.. math::
    \min_G \max_D V(D, G) = E_{x\sim p_{data}}[\log D(x)] + E_{z\sim p_z}[\log(1 - D(G(z)))]

by alternating gradient steps. One training iteration:

1. ``k`` times: sample a fresh minibatch of ``m`` noise vectors and a fresh
   minibatch of ``m`` real examples, and update D by ascending
   :math:`\frac1m\sum \log D(x^{(i)}) + \log(1 - D(G(z^{(i)})))`. The real and the
   fake batch go through D in separate forward passes (their gradients
   accumulate before the one update), so batch statistics never mix them.
2. Sample a fresh noise minibatch (or, with ``reuse_fake``, take the last D step's fake
   batch, whose forward pass G still holds) and update G by descending its loss
   (non-saturating :math:`-\log D(G(z))` by default, or the minimax
   :math:`\log(1 - D(G(z)))`), back-propagated through a FROZEN D: the
   gradient flows through D to G's output, but D's gradients and
   parameters are left alone.

A D step never touches G's parameters and a G step never touches D's.
"""

from __future__ import annotations

import math

import numpy as np

from minigan import backend
from minigan.functional.errors import amount, whole_number
from minigan.nn import layers

from . import games, penalty

__all__ = ["GAN", "PRIORS", "GENERATE_BATCH", "sample_noise", "generator_gradient",
           "check_outputs", "check_penalized_critic", "output_range"]

PRIORS = ("gaussian", "uniform")
#: D steps between two of lazy R1's: Karras et al. 2020 take 16 at batch 32, the default 4 at
#: batch 128.
R1_EVERY = 4
#: Images one forward pass of G draws when many are wanted (``minigan sample``,
#: ``interpolate``, the lab's scores, a conditional generator's digits): a convolutional
#: G's buffers grow with its batch.
GENERATE_BATCH = 1000


def sample_noise(m, noise_shape, prior="gaussian", rng=None, dtype=None):
    r"""``m`` noise vectors z from the prior: drawn on the host, returned on the device.

    The one sampler of the prior: training, the fixed batch of the sample
    grids, ``minigan sample`` and the examples all draw z here, so one seed
    gives one z everywhere.

    Parameters
    ----------
    m : int
        Number of vectors.
    noise_shape : int or tuple
        Shape of one vector (100 for the MNIST models).
    prior : {"gaussian", "uniform"}
        :math:`N(0, I)` (the ganhacks advice) or :math:`U(-1, 1)`.
    rng : numpy.random.Generator, optional
        Host generator; default the library's (:func:`minigan.backend.rng`).
    dtype : float32 or float64, optional
        Default :func:`minigan.backend.default_dtype`.

    Returns
    -------
    z : array of shape ``(m,) + noise_shape`` on the active device
    """
    shape = (whole_number("m (the number of noise vectors)", m, 0),) + _noise_shape(noise_shape)
    if prior == "gaussian":
        return backend.randn(shape, rng, dtype)
    if prior == "uniform":
        return backend.uniform(-1.0, 1.0, shape, rng, dtype)
    raise ValueError(f"unknown prior {prior!r}; use one of {PRIORS}")


def _noise_shape(noise_shape, name="noise_shape"):
    """The shape of one noise vector, a tuple of sizes >= 1, from an int or a tuple."""
    if np.isscalar(noise_shape):
        return (whole_number(name, noise_shape, 1),)
    return tuple(whole_number(f"each size of {name} {tuple(noise_shape)!r}", n, 1) for n in noise_shape)


def generator_gradient(discriminator, game, x):
    r"""G's loss on a batch of samples and its gradient with respect to them, through a
    frozen D: the one thing Algorithm 1 passes from D to G.

    .. math::
        L_G = \frac1m \sum_i \ell_G\big(D(x^{(i)})\big), \qquad
        \frac{\partial L_G}{\partial x^{(i)}}
            = \frac1m\, \ell_G'\big(D(x^{(i)})\big)\, \frac{\partial D(x^{(i)})}{\partial x^{(i)}}

    (:math:`\ell_G` the game's generator loss, :meth:`minigan.gan.games.Game.g_loss`; the
    last factor is D's backward pass), for a D that judges each sample alone. Where D mixes
    the batch (batch norm in training mode, minibatch statistics) every output depends on
    every sample, and D's backward pass gives the sum over the outputs,
    :math:`\frac1m \sum_j \ell_G'\big(D(x^{(j)})\big)\, \partial D(x^{(j)})/\partial x^{(i)}`.
    :meth:`GAN.g_step` hands this ``dx`` to G's backward pass; the pictures of
    :mod:`minigan.lab.field` draw it. D is frozen while it runs (its ``grads``, and a spectral
    norm's ``u``, are left alone; then each of its layers is as frozen as before,
    :meth:`~minigan.nn.layers.Layer.freezing`) and stays in its mode: a D with batch norm in
    training mode normalizes with the statistics of ``x``, as in the G step.

    Parameters
    ----------
    discriminator : minigan.nn.layers.Layer
        Maps ``(m, ...)`` samples to ``(m, 1)`` raw outputs.
    game : minigan.gan.games.Game or str
        The game, or its name (:func:`minigan.gan.games.get`).
    x : array of shape ``(m, ...)``
        D's input: G's samples (in the G step, with the instance noise added).

    Returns
    -------
    loss : float
        :math:`L_G`.
    outputs : array of shape ``(m, 1)``
        D's raw outputs :math:`D(x^{(i)})` (logits for the cross-entropy game).
    dx : array like ``x``
        :math:`\partial L_G / \partial x`.
    """
    game = games.get(game)
    with discriminator.freezing():
        outputs = check_outputs(discriminator, _forward_of(discriminator, x,
                                                          "the discriminator on G's samples"))
        loss, doutputs = game_answer(game, "g_loss", outputs)   # dL_G/dD(x), one per sample
        dx = discriminator.backward(doutputs)           # dL_G/dx: through D, D's grads untouched
    return loss, outputs, dx


def game_answer(game, which, outputs, *args):
    """``game.d_loss(outputs, *args)`` or ``game.g_loss(outputs)`` (``which``), its loss as a
    float; a TypeError or ValueError naming the game's method unless it returns a pair, one
    number for the loss and a gradient of the shape and dtype of ``outputs``: a game of one's
    own that returned its loss as an array of shape ``(1, 1)`` would train and report that
    array, and :func:`minigan.gan.loop.train` fail on it ("only 0-dimensional arrays can be
    converted to Python scalars"); a flat gradient, or a float64 one to float32 players,
    would fail in D's last layer, naming the layer, and a float32 one to float64 players
    would train rounded."""
    answer = getattr(game, which)(outputs, *args)
    said = f"{type(game).__name__}.{which}"
    if not (isinstance(answer, tuple) and len(answer) == 2):
        raise TypeError(f"{said} must return a pair (loss, gradient with respect to D's "
                        f"outputs), got {type(answer).__name__}")
    loss, grad = answer
    if isinstance(loss, bool) or not (isinstance(loss, (int, float, np.floating, np.integer))
                                      or getattr(loss, "shape", None) == ()):
        shape = getattr(loss, "shape", None)
        got = f"an array of shape {tuple(shape)}" if shape is not None else type(loss).__name__
        raise TypeError(f"{said}: its loss must be one number, got {got} (return "
                        "float(loss), and the gradient second)")
    if tuple(getattr(grad, "shape", ())) != tuple(outputs.shape) or not hasattr(grad, "shape"):
        got = (f"of shape {tuple(grad.shape)}" if hasattr(grad, "shape")
               else f"a {type(grad).__name__}")
        raise ValueError(f"{said}: its gradient is {got}, D's outputs {tuple(outputs.shape)}: "
                         "return one entry per output, d loss / d outputs")
    if grad.dtype != outputs.dtype:     # float32 players: a float64 gradient failed in D's
        raise ValueError(                # last layer, naming it; float64 ones trained rounded
            f"{said}: its gradient is {grad.dtype}, D's outputs {outputs.dtype}: compute it in "
            f"the outputs' dtype (from outputs, or .astype(outputs.dtype))")
    return float(loss), grad


def check_penalized_critic(discriminator, game, r1=0.0):
    """Raise :class:`minigan.gan.penalty.CriticError` when the game's penalty (WGAN-GP's) or
    R1 (``r1`` > 0) must differentiate ``discriminator`` twice and cannot: the check
    :class:`GAN` makes when built, for a caller that wants it sooner."""
    if game.penalty:
        penalty.check_critic(discriminator)
    if r1:
        penalty.check_critic(discriminator, r1=True)


def _forward_of(net, x, what):
    """``net.forward(x)``; a ValueError (a shape that does not fit, mostly) says which pass
    of Algorithm 1 it was, ``what`` (G on its noise, D on the real batch or on G's
    samples; a function giving it, called only then), and the input's shape: a wrong
    ``noise_dim`` and a G whose samples do not fit D both failed with the same words of a
    Dense layer, naming neither player."""
    try:
        return net.forward(x)
    except ValueError as exc:
        said = what() if callable(what) else what
        raise ValueError(f"{said}, of shape {tuple(x.shape)}: {exc}") from exc


def check_outputs(discriminator, outputs):
    """``outputs`` of ``discriminator``, or ``ValueError`` when they are not one raw output a
    sample, shape ``(m, 1)``: the games read every entry as a sample's, so a D ending in
    ``Dense(..., 2)`` would train on two "samples" a sample without a word."""
    if outputs.ndim != 2 or outputs.shape[1] != 1:
        raise ValueError(
            f"the discriminator gives outputs of shape {tuple(outputs.shape)}; it must give "
            f"one raw output (a logit) per sample, shape (m, 1): end it in a Dense(..., 1) "
            f"(after a Flatten for images)")
    return outputs


def _out_of_range(lo, hi, low, high):
    """What :meth:`GAN.check_real` says of a real batch with values in ``[lo, hi]``, more than
    half the width of the generator's range ``[low, high]`` beyond it: the scaling that
    would fit, where the values look like another common pixel range."""
    seen = f"the real batch has values in [{lo:g}, {hi:g}]"
    if (lo < low - 10 * (high - low) or hi > high + 10 * (high - low)) and lo >= 0:
        return (f"{seen}, far outside the generator's range [{low:g}, {high:g}]; scale the "
                "data to that range (uint8 pixels: x / 255 for [0, 1], x / 127.5 - 1 for "
                "[-1, 1])")
    if (low, high) == (0.0, 1.0) and -1.0 <= lo < 0 and hi <= 1.0:
        return (f"{seen}, which look like [-1, 1] pixels, and the generator draws in [0, 1]: "
                "give (x + 1) / 2 (load_mnist(..., scale='sigmoid') loads MNIST so), or end "
                "the generator in Tanh")
    return (f"{seen}, beyond the generator's range [{low:g}, {high:g}] by more than half its "
            "width: it cannot draw them, and D would tell real from fake by them alone; "
            "scale the data to that range")


class GAN:
    r"""A generator, a discriminator, their optimizers, and Algorithm 1.

    Parameters
    ----------
    generator, discriminator : minigan.nn.layers.Layer
        ``generator`` maps ``(m, noise_dim)`` noise to samples;
        ``discriminator`` maps samples to ``(m, 1)`` LOGITS (no sigmoid): a D that ends in
        a Sigmoid is refused here, outputs of another shape at the first step
        (``gan.algorithm.check_outputs``).
    g_optimizer, d_optimizer : minigan.nn.optim.Optimizer
        Built on ``generator`` and ``discriminator`` respectively.
    noise_dim : int or tuple
        Shape of one noise vector (100 for the MNIST models).
    k : int
        Discriminator steps per generator step (Goodfellow et al. used 1).
    g_loss : {"non_saturating", "minimax"}
    label_smoothing : float
        One-sided: the real target becomes ``1 - label_smoothing``.
    prior : {"gaussian", "uniform"}
        :math:`N(0, I)` (the ganhacks advice) or :math:`U(-1, 1)`.
    rng : numpy.random.Generator, optional
        Host generator for the noise; default the library's generator
        (:func:`minigan.backend.rng`), so ``backend.seed(s)`` seeds it.
    pixel_range : (low, high), optional
        Range of the real data and of G's output; default (0, 1) when G ends in
        a Sigmoid, (-1, 1) when it ends in a Tanh, else unknown.
    check_data : bool
        Check each real batch (:meth:`check_real`): a dtype other than the players', an
        empty batch, NaN or inf, values far outside ``pixel_range``, or, for a generator that
        appends a label, a batch without one-hot labels joined, raise ``ValueError`` before
        any update.
    label_flip : float
        Probability that a sample's label is swapped in a D step: a real sample
        then gets the fake target 0 and a fake sample the real target
        ``1 - label_smoothing`` (each sample drawn independently; a packed D, whose
        first layer is :class:`~minigan.nn.layers.Pack`, judges a pack of samples as one,
        so a pack's label is flipped as one).
    instance_noise : float
        :math:`\sigma_0` of Gaussian noise added to every input of D (real and fake, in
        the D and the G step), annealed linearly to 0 over the run:
        :math:`\sigma = \sigma_0 (1 - \text{progress})`, where ``progress`` (the
        fraction of the run done, 0 to 1) is set by the training loop before each
        iteration.
    loss : {"gan", "lsgan", "hinge", "wgan-gp"} or minigan.gan.games.Game
        The game: the cross-entropy GAN of Goodfellow et al. (``g_loss`` chooses G's
        form), least squares (:func:`minigan.functional.losses.least_squares_loss`), hinge
        (:func:`minigan.functional.losses.hinge_loss`, G descends :math:`-E[D(G(z))]`) or WGAN-GP
        (:func:`minigan.functional.losses.wasserstein_loss` plus the gradient penalty of
        :mod:`minigan.gan.penalty` at points between real and fake samples; ``k`` is its
        ``n_critic``). All but ``"gan"`` read D's raw output, never through a sigmoid.
        Or a game of your own, an instance of a subclass of
        :class:`~minigan.gan.games.Game` (:mod:`minigan.gan.games` says what it answers).
    gp_weight : float
        :math:`\lambda` of the gradient penalty (WGAN-GP only; 10 in the paper).
    reuse_fake : bool
        G's step learns from the fake batch of the D step just before it, whose forward
        pass G still holds, instead of drawing fresh noise as Algorithm 1 does: one forward
        pass of G fewer per iteration (PyTorch's DCGAN example does the same). With an
        ``on_step`` callback (:meth:`train_iteration`), which may run G between the steps,
        the G step draws fresh noise.
    r1 : float
        :math:`\gamma` of R1 (Mescheder et al. 2018), :math:`\frac{\gamma}{2}` times the mean
        squared norm of D's input gradient on the real batch as D sees it (after instance
        noise; a label's values left out), added to D's loss
        (:func:`minigan.gan.penalty.r1_penalty`); 0: none.
    r1_every : int
        Lazy R1 (Karras et al. 2020): the penalty's gradient, times ``r1_every``, joins D's
        on every ``r1_every``-th D step only (those where D's optimizer has taken a multiple
        of ``r1_every`` steps, so a resumed run keeps the rhythm).

    Attributes
    ----------
    last_r1 : float
        R1's penalty at the last D step that took it (0 before the first), which each D step
        reports as ``r1``; the trainer's checkpoint keeps it (``r1_last``; one saved before
        it kept it resumes with 0 until the next step that takes R1).
    """

    def __init__(self, generator, discriminator, g_optimizer, d_optimizer, noise_dim,
                 k=1, g_loss="non_saturating", label_smoothing=0.0, prior="gaussian", rng=None,
                 pixel_range=None, check_data=True, label_flip=0.0, instance_noise=0.0,
                 loss="gan", gp_weight=10.0, reuse_fake=False, r1=0.0, r1_every=R1_EVERY):
        whole_number("k (discriminator steps per generator step)", k, 1)
        label_smoothing = amount("label_smoothing", label_smoothing, below=1.0)
        if prior not in PRIORS:
            raise ValueError(f"unknown prior {prior!r}; use one of {PRIORS}")
        label_flip = amount("label_flip", label_flip, below=0.5)
        instance_noise = amount("instance_noise", instance_noise)
        gp_weight, r1 = amount("gp_weight", gp_weight), amount("r1", r1)
        whole_number("r1_every", r1_every, 1)
        if not math.isfinite(r1 * r1_every):     # each lazy step weighs R1 r1_every times
            raise ValueError(f"r1 {r1:g} times r1_every {r1_every}, the weight of each lazy R1 "
                             "step, is not a finite number; give a smaller r1")
        if isinstance(_last_layer(discriminator), layers.Sigmoid):
            raise ValueError("the discriminator ends in a Sigmoid; the losses take its raw "
                             "output (a logit) and apply the sigmoid themselves, in a form "
                             "that cannot overflow: remove the last layer")
        self.game = games.get(loss, g_loss)          # the one place the game is chosen
        loss = self.game.name or type(self.game).__name__   # a game of one's own: its name
        if not self.game.labels and (label_smoothing or label_flip):
            raise ValueError(f"loss {loss!r} has no labels to smooth or flip; use "
                             "label_smoothing and label_flip with 'gan' or 'lsgan'")
        check_penalized_critic(discriminator, self.game, r1)
        _check_one_dtype(generator, discriminator)
        for role, player in (("generator", generator), ("discriminator", discriminator)):
            layers.refuse_unheld(role, player)      # one it holds but does not list: untrained
        _check_optimizer("g_optimizer", g_optimizer, generator, "generator")
        _check_optimizer("d_optimizer", d_optimizer, discriminator, "discriminator")
        self.G, self.D = generator, discriminator
        self.g_opt, self.d_opt = g_optimizer, d_optimizer
        self.noise_shape = _noise_shape(noise_dim, "noise_dim")
        self.k = int(k)
        self.loss, self.g_loss = loss, getattr(self.game, "g_form", g_loss)   # a game's own
        self.label_smoothing = float(label_smoothing)
        self.prior = prior
        self.rng = backend.rng(rng)
        self.pixel_range = (output_range(generator) if pixel_range is None
                            else _pixel_range(pixel_range))
        self.check_data = bool(check_data)
        #: The players' floating dtype (D's first parameter's): the real batches' too.
        self.dtype = next((p.dtype for p, _ in discriminator.parameters()), None)
        #: Whether the players' weights are on the GPU (D's first parameter's): the real
        #: batches must be there too.
        self.on_gpu = next((backend.on_gpu(p) for p, _ in discriminator.parameters()), False)
        self.label_flip = float(label_flip)
        self.pack = next((layer.m for layer in discriminator.walk()
                          if isinstance(layer, layers.Pack)), 1)
        self.instance_noise = float(instance_noise)
        self.progress = 0.0
        self.gp_weight = float(gp_weight)
        self.reuse_fake = bool(reuse_fake)
        self.r1, self.r1_every = float(r1), int(r1_every)
        self.last_r1 = 0.0       # the penalty of the last D step that took it (reported)
        if isinstance(generator, layers.ConditionalGenerator):   # it appends a label
            self.label_channels = generator.classes
        self._kept_fake = None   # the D step's G(z), its forward pass still in G's caches
        self._checked = None     # the real batch train_iteration just checked (d_step skips it)

    def check_real(self, x):
        """Raise ``ValueError`` if the real batch ``x`` is not of the players' dtype or device,
        is empty, holds NaN or inf, is far out of range, or lacks the one-hot labels a
        labelled generator's batches carry.

        A float64 batch given to float32 players would run the whole iteration in float64,
        twice as slow and with other numbers, without a word (integer pixels likewise). "Far"
        is more than half the width of ``pixel_range`` beyond it, values the generator can
        never draw, by which D tells real from fake without learning anything else: uint8
        pixels 0..255 given to a [0, 1] or [-1, 1] model, or pixels in [-1, 1] given to a
        [0, 1] one (``load_mnist``'s default scale is ``"tanh"``), not the odd outlier. A
        generator that appends a label (:attr:`label_channels`) needs one-hot labels joined
        to the real images too.
        """
        if not hasattr(x, "dtype"):
            raise ValueError(f"the real batch is a {type(x).__name__}, not an array: give "
                             f"an array (numpy.asarray(batch, dtype=numpy.{self.dtype}))")
        if backend.on_gpu(x) != self.on_gpu:     # else CuPy's error from inside a layer
            raise ValueError(
                "the real batch is on the GPU and the players' weights on the CPU: give NumPy "
                "batches (backend.to_host(x)), or build the players on the GPU"
                if backend.on_gpu(x) else
                "the real batch is a NumPy array and the players' weights are on the GPU "
                "(backend.use('gpu'), or $MINIGAN_DEVICE): move the data there once, "
                "X = backend.asarray(X), and draw the batches from it")
        if self.dtype is not None and x.dtype != self.dtype:
            seen = f"the real batch is {x.dtype}, the players' weights {self.dtype}"
            if x.dtype.kind in "biu":
                raise ValueError(
                    f"{seen}: give float pixels, x.astype(numpy.{self.dtype}) scaled to the "
                    "generator's range (8-bit pixels: / 255 for [0, 1], / 127.5 - 1 for "
                    "[-1, 1])")
            if x.dtype.kind != "f":
                raise ValueError(f"{seen}: give real pixels as {self.dtype}, scaled to the "
                                 "generator's range")
            if x.dtype not in (np.float32, np.float64):      # float16: no players of it
                raise ValueError(f"{seen}: give the batches as {self.dtype} "
                                 f"(x.astype(numpy.{self.dtype}))")
            raise ValueError(
                f"{seen}: give the batches as {self.dtype} (x.astype(numpy.{self.dtype})), or "
                f"build the players in {x.dtype} (backend.set_default_dtype) if that is what "
                "you want")
        if x.size == 0:
            raise ValueError(f"the real batch is empty (shape {tuple(x.shape)}); give at least "
                             "one sample a batch (the last batch of an epoch too)")
        # One min and one max of the batch: two cheap passes (NaN and inf propagate into
        # them), about 11 us for a 128 x 784 batch (0.3% of a vanilla iteration) on the
        # CPU, and one small transfer on the GPU, which also brings whether the labels
        # joined to the images (label_channels) are one-hot. The Trainer checks its whole
        # data set once at load instead (check_data=False).
        xp = backend.get_array_module(x)
        k = self.label_channels
        labelled = bool(k) and x.ndim in (2, 4)
        checks = [x.min(), x.max()]
        if labelled and x.shape[1] > k:
            c = x[:, -k:] if x.ndim == 2 else x[:, -k:, 0, 0]
            checks.append((((c == 0) | (c == 1)).all() & (c.sum(axis=1) == 1).all()).astype(x.dtype))
        values = backend.to_host(xp.stack(checks))
        lo, hi = float(values[0]), float(values[1])
        if not (math.isfinite(lo) and math.isfinite(hi)):
            raise ValueError(
                f"the real batch (shape {tuple(x.shape)}) holds NaN or inf values; give "
                "finite data")
        if self.pixel_range is not None:
            low, high = self.pixel_range
            if lo < low - (high - low) / 2 or hi > high + (high - low) / 2:
                raise ValueError(_out_of_range(lo, hi, low, high))
        if labelled and (len(values) < 3 or not values[2]):   # the labels joined to the images
            raise ValueError(
                f"the real batch's last {k} {'columns' if x.ndim == 2 else 'channels'} are "
                f"not one-hot labels, as the generator's {k} classes ask: give the images "
                f"with their labels joined, conditional.with_labels(x, labels, classes={k}) "
                "(its classes, 10 unless told, must be the generator's)")

    def sample_noise(self, m, dtype=None):
        """``m`` noise vectors from this GAN's prior and host random generator ``rng`` (see
        :func:`sample_noise`), in ``dtype``, by default the players' (float32 noise would give
        float64 players values rounded to float32)."""
        return sample_noise(m, self.noise_shape, self.prior, self.rng, dtype or self.dtype)

    # -- noise on D's inputs and labels: instance noise, label flips ---------------------
    def instance_noise_std(self):
        r""":math:`\sigma = \sigma_0 \max(0, 1 - \text{progress})`: the instance noise now."""
        return self.instance_noise * max(0.0, 1.0 - float(self.progress))

    #: How many features (or channel maps) at the end of each of D's inputs are a label,
    #: not data: instance noise and the gradient penalty leave them as they are
    #: (a :class:`~minigan.nn.layers.ConditionalGenerator`'s one-hot label: set from G).
    label_channels = 0

    def _data_width(self, x):
        """The features (or channels) of D's input ``x`` that are data, before the label."""
        return x.shape[1] - self.label_channels

    def _data_values(self, x):
        """How many values of one flattened sample of ``x`` are data, before the label: what
        the penalties measure the gradient with respect to."""
        return x[0, :self._data_width(x)].size

    def noisy(self, x):
        """``x`` plus Gaussian instance noise of :meth:`instance_noise_std` (``x`` itself at 0),
        on the data alone: a noisy label is not a label (:attr:`label_channels`).

        The noise is additive, so the gradient with respect to ``x`` is the gradient with
        respect to the noisy input: backward passes need no change.
        """
        std = self.instance_noise_std()
        if std == 0.0:
            return x
        out = x.copy()
        data = out[:, :self._data_width(x)]
        data += backend.randn(data.shape, self.rng, x.dtype) * x.dtype.type(std)
        return out

    def d_targets(self, m, dtype):
        """The targets of D's real and fake batch of ``m`` samples: ``(1 - s, 0)``, or arrays
        with one row per output of D (``m / pack``: a packed D judges a pack as one) in
        which each label is swapped with probability ``label_flip``."""
        real, fake = 1.0 - self.label_smoothing, 0.0
        if self.label_flip == 0.0:
            return real, fake
        flips = self.rng.random((2, m // self.pack, 1)) < self.label_flip
        return (backend.asarray(np.where(flips[0], fake, real), dtype),
                backend.asarray(np.where(flips[1], real, fake), dtype))

    def d_step(self, x_real, update=True):
        r"""One discriminator update on a real batch and a fresh fake batch of the same size.

        D descends

        .. math::
            L_D = -\frac{1}{m}\sum \log D(x) - \frac{1}{m}\sum \log(1 - D(G(z)))
                = \frac1m\sum \ell(a_{real}, 1 - s) + \frac1m\sum \ell(a_{fake}, 0),

        the negative of the value :math:`V(D, G)` that D ascends in Algorithm 1
        (:math:`\ell` is :func:`minigan.functional.losses.sigmoid_cross_entropy`, ``s`` the
        one-sided label smoothing of Salimans et al. 2016: only the real labels
        are softened). Each term is back-propagated right after its own
        forward pass, which overwrites D's caches; the gradients accumulate.
        With another ``loss`` the two terms are the game's
        (:meth:`minigan.gan.games.Game.d_loss`); WGAN-GP adds
        the gradient penalty at :math:`\hat x = \epsilon x + (1 - \epsilon) G(z)`,
        :math:`\epsilon \sim U(0, 1)` per sample (:meth:`gradient_penalty`).
        Label flips and instance noise (:meth:`d_targets`, :meth:`noisy`) apply to both
        batches. With ``r1``, R1's gradient at the real batch joins D's on every
        ``r1_every``-th step, ``r1_every`` times over (:func:`minigan.gan.penalty.r1_penalty`).
        With ``check_data`` the real batch is checked first (:meth:`check_real`).
        With ``update=False`` the step leaves its gradient in ``D.grads`` and D's weights
        where they are (its gradient checked: :func:`minigan.check.testing.assert_step_gradients`;
        on a step that takes R1, the gradient of ``d_loss + r1_every * r1``, ``d_loss``
        leaving the penalty out).

        Returns
        -------
        dict with ``d_loss``, ``d_real`` (mean D(x)) and ``d_fake`` (mean D(G(z))); with
        ``r1``, ``r1``: the penalty :math:`\frac{\gamma}{2}` mean :math:`|\nabla_x f|^2` at the
        last step of this object that took it (0 before the first; not part of ``d_loss``);
        in a game with a gradient penalty (WGAN-GP), ``gradient_penalty``: its term, part of
        ``d_loss``

        Raises
        ------
        ValueError
            With ``check_data``, when ``x_real`` fails :meth:`check_real` (not an array of the
            players' dtype, empty, NaN or inf, far outside ``pixel_range``, labels missing),
            before anything moves.
        """
        checked, self._checked = self._checked, None
        if self.check_data and x_real is not checked:     # train_iteration checked it already
            self.check_real(x_real)
        m = x_real.shape[0]
        self.D.zero_grad()
        real_target, fake_target = self.d_targets(m, x_real.dtype)
        # real batch: -log D(x)  (target 1 - smoothing)
        x_seen = self.noisy(x_real)
        real_logits = check_outputs(self.D, _forward_of(self.D, x_seen,
                                                       "the discriminator on the real batch"))
        loss_real, dreal = game_answer(self.game, "d_loss", real_logits, real_target, +1)
        self.D.backward(dreal, input_grad=False)  # no one needs dL/dx of the data
        # fake batch, in its own forward pass: -log(1 - D(G(z)))
        generated = self._generate(m, x_real.dtype)
        self._kept_fake = generated if self.reuse_fake else None
        fake = self.noisy(generated)
        fake_logits = _forward_of(self.D, fake, "the discriminator on G's samples")
        loss_fake, dfake = game_answer(self.game, "d_loss", fake_logits, fake_target, -1)
        self.D.backward(dfake, input_grad=False)
        stats = {"d_loss": loss_real + loss_fake, "d_real": self.game.mean_output(real_logits),
                 "d_fake": self.game.mean_output(fake_logits)}
        if self.r1:  # + gamma/2 E|grad f(x)|^2 on the real batch, lazily
            if self.d_opt.t % self.r1_every == 0:
                self.last_r1 = penalty.r1_penalty(self.D, x_seen, self.r1 * self.r1_every,
                                                   self._data_values(x_seen)) / self.r1_every
            stats["r1"] = self.last_r1
        if self.game.penalty:  # + lambda E[(|grad f(x_hat)| - 1)^2], x_hat on the segments
            stats["gradient_penalty"] = self.gradient_penalty(x_seen, fake)
            stats["d_loss"] += stats["gradient_penalty"]
        if update:
            self.d_opt.step()
        return stats

    def gradient_penalty(self, x_real, fake):
        r"""WGAN-GP's penalty at :math:`\hat x = \epsilon x + (1 - \epsilon) G(z)`,
        :math:`\epsilon \sim U(0, 1)` per sample; its gradient is added to D's
        (:func:`minigan.gan.penalty.gradient_penalty`). Returns the penalty.

        A label (:attr:`label_channels`) is not blended: :math:`\hat x` carries the real
        sample's (a blend of two one-hot labels is not a label), and the penalty measures
        the critic's gradient with respect to the data values only (the label's come after
        them in a flattened sample)."""
        eps = backend.uniform(0.0, 1.0, (x_real.shape[0],) + (1,) * (x_real.ndim - 1), self.rng,
                              x_real.dtype)
        width = self._data_width(x_real)
        x_hat = eps * x_real + (1 - eps) * fake
        x_hat[:, width:] = x_real[:, width:]
        return penalty.gradient_penalty(self.D, x_hat, self.gp_weight,
                                        features=self._data_values(x_hat))

    def g_step(self, m, dtype=None, update=True):
        """One generator update through the frozen discriminator, on ``m`` fresh samples of
        G, or on the D step's fake batch when ``reuse_fake`` kept it (of ``m`` samples,
        G's caches still its forward pass; it is used once). With ``update=False`` the
        gradient stays in ``G.grads`` and G's weights where they are.

        Returns
        -------
        dict with ``g_loss`` and ``d_gen`` (mean D(G(z)) seen by this step)

        Raises
        ------
        ValueError
            When ``m`` is not a whole number >= 1.
        """
        whole_number("m (the G step's samples)", m, 1)   # 0: a mean over no samples
        self.G.zero_grad()
        fake = self.g_step_batch(m, dtype)
        # d(x + noise)/dx = 1: the gradient at the noisy input is the gradient at G(z)
        loss, logits, dfake = generator_gradient(self.D, self.game, self.noisy(fake))
        self.G.backward(dfake, input_grad=False)  # no one needs dL/dz of the noise
        if update:
            self.g_opt.step()
        return {"g_loss": loss, "d_gen": self.game.mean_output(logits)}

    def g_step_batch(self, m, dtype=None):
        """The ``m`` samples of G a G step learns from, G's caches holding their forward
        pass: the D step's fake batch when ``reuse_fake`` kept it (used once), else
        ``m`` samples of fresh noise, as Algorithm 1 draws them."""
        fake, self._kept_fake = self._kept_fake, None
        if fake is None or fake.shape[0] != m:
            fake = self._generate(m, dtype)
        return fake

    def _generate(self, m, dtype):
        """G's forward pass on ``m`` fresh noise vectors (Algorithm 1's G(z)); a shape that
        does not fit says it was G on its noise (``noise_dim``)."""
        shape = self.noise_shape
        return _forward_of(self.G, self.sample_noise(m, dtype), lambda: (   # said on an error
            f"the generator on its noise (noise_dim {shape[0] if len(shape) == 1 else shape})"))

    def train_iteration(self, next_real_batch, on_step=None):
        """One iteration of Algorithm 1: ``k`` D steps, then one G step.

        Parameters
        ----------
        next_real_batch : callable
            Returns a fresh real minibatch (on the active device) at each call.
        on_step : callable, optional
            ``on_step(step)`` after each D step (``step`` is ``"d1"``, ``"d2"``, ... up to
            ``k``) and after the G step (``"g"``), so that the alternation can be watched
            (the toys' ``--step-by-step`` frames). It must leave the players as it finds
            them.

        Returns
        -------
        dict with ``d_loss``, ``d_real``, ``d_fake`` (and ``r1`` or ``gradient_penalty``
        where the D step gives them: :meth:`d_step`) from the last D step, ``g_loss`` and
        ``d_gen`` from the G step

        Raises
        ------
        ValueError
            When ``check_data`` is on and a real batch fails :meth:`check_real` (another
            dtype, empty, NaN or inf, far outside ``pixel_range``, labels missing), before
            the D step that would use it.
        TypeError
            When ``next_real_batch`` is not a function (a batch given in its place).
        """
        if not callable(next_real_batch):
            raise TypeError(f"next_real_batch must be a function that returns a fresh real batch "
                            f"at each call (lambda: next(batches)), got "
                            f"{type(next_real_batch).__name__}")
        for i in range(self.k):
            x = next_real_batch()
            if self.check_data:
                self.check_real(x)
                self._checked = x    # d_step need not check it again
            stats = self.d_step(x)
            if on_step is not None:
                on_step(f"d{i + 1}")
                self._kept_fake = None   # on_step may have run G: its caches are not the batch's
        stats.update(self.g_step(x.shape[0], x.dtype))
        if on_step is not None:
            on_step("g")
        return stats

    def sample(self, n=None, z=None):
        """Generator samples in evaluation mode (BatchNorm uses its running statistics).

        Give either ``n`` (fresh noise) or ``z`` (e.g. one fixed batch reused every epoch);
        both together are a ``ValueError``. A ``z`` of another floating dtype than the
        players' is taken in theirs: the samples are always in the players' dtype (float64
        noise ran a float32 G in float64).
        """
        if z is not None and n is not None:
            raise ValueError(f"give n (that many fresh noise vectors) or z (the noise itself), "
                             f"not both: got n={n!r} and z of shape {tuple(getattr(z, 'shape', ()))}")
        if z is None:
            z = self.sample_noise(n)
        elif getattr(z, "dtype", None) is not None and z.dtype.kind == "f" \
                and self.dtype is not None and z.dtype != self.dtype:
            z = z.astype(self.dtype)
        self._kept_fake = None       # G's caches are about to be this batch's
        with self.G.evaluating():
            return layers.generated_images(self.G, z)


def _check_one_dtype(generator, discriminator):
    """ValueError unless every parameter of both players has one dtype: a float32 G with a
    float64 D (or a layer of another dtype inside one) would run G on float64 noise, every
    pass of it in float64, and cast its gradients back to float32, without a word."""
    seen = {}
    for role, player in (("generator", generator), ("discriminator", discriminator)):
        for name, p in player.params.items():
            seen.setdefault(np.dtype(p.dtype).name, f"the {role}'s {name!r}")
    if len(seen) > 1:
        said = " and ".join(f"{where} is {dtype}" for dtype, where in seen.items())
        raise ValueError(f"the players' parameters are not of one dtype: {said}; build every "
                         "layer of both in one dtype (dtype=... on each, or "
                         "minigan.backend.set_default_dtype before building them)")


def _check_optimizer(name, optimizer, player, role):
    """ValueError unless every array ``optimizer`` updates is a parameter of ``player``: the
    two optimizers swapped, or one given for both, would step the wrong player's weights
    (a D step moving G) without a word."""
    own = {id(p) for p, _ in player.parameters()}
    if any(id(p) not in own for p, _ in getattr(optimizer, "pairs", ())):
        raise ValueError(
            f"{name} updates arrays that are not the {role}'s parameters (the two optimizers "
            f"swapped, or one optimizer for both?): build it on the {role}, "
            f"{name}=optim.Adam({role}) or another optimizer of its own")


def _pixel_range(value):
    """``(low, high)`` as two floats, or a ValueError unless they are finite and low < high."""
    try:
        low, high = (float(v) for v in value)
    except (TypeError, ValueError):
        low = high = math.nan
    if not (math.isfinite(low) and math.isfinite(high) and low < high):
        raise ValueError(f"pixel_range must be (low, high), two finite numbers with low < high, "
                         f"such as (0, 1) or (-1, 1), got {value!r}")
    return low, high


def _last_layer(net):
    """The layer that gives ``net``'s output: a Sequential's last (a labelled generator's
    net's), else ``net``."""
    if isinstance(net, layers.ConditionalGenerator):
        net = net.net
    while isinstance(net, layers.Sequential) and len(net):
        net = net.layers[-1]
    return net


def output_range(generator):
    """The range of ``generator``'s pixels: (0, 1) for a generator ending in a Sigmoid,
    (-1, 1) for a Tanh, else None (a labelled generator's: its net's)."""
    last = _last_layer(generator)
    if isinstance(last, layers.Sigmoid):
        return (0.0, 1.0)
    if isinstance(last, layers.Tanh):
        return (-1.0, 1.0)
    return None
