r"""The games D and G can play, one object each: D's loss, G's loss, and how D's output reads.

The discriminator returns a raw output :math:`a` per sample (a logit for the
cross-entropy game). Each game turns a batch of them into a loss and its gradient
``dout``, the upstream gradient that starts D's backward pass:

- ``gan``, Goodfellow et al.'s: D descends :math:`\ell(a_r, 1 - s) + \ell(a_f, 0)` with the
  sigmoid cross-entropy :math:`\ell` (``s``: one-sided label smoothing); G descends
  :math:`\ell(a_f, 1)` (non-saturating) or :math:`-\ell(a_f, 0)` (minimax). D's output
  reads as the probability :math:`\sigma(a)`.
- ``lsgan``: D descends :math:`\tfrac12(a_r - 1)^2 + \tfrac12 a_f^2`, G
  :math:`\tfrac12(a_f - 1)^2`; the raw output, undecided at 0.5.
- ``hinge``: D descends :math:`[1 - a_r]_+ + [1 + a_f]_+`, G :math:`-a_f`; the raw output,
  undecided at 0.
- ``wgan-gp``: the critic descends :math:`-a_r + a_f` plus the gradient penalty, G
  :math:`-a_f`; the raw output, whose level is arbitrary (only differences count).

(each term a mean over its batch; the formulas and their gradients are in
:mod:`minigan.functional.losses`). The game is chosen once, by name
(:func:`get`); :class:`minigan.gan.GAN`, the pictures and the run settings ask it
what they need instead of testing the name.

A game of your own is a subclass of :class:`Game`: its attributes, and
:meth:`~Game.d_loss` and :meth:`~Game.g_loss`, each returning the loss (a float) and its
gradient with respect to ``outputs`` (their shape; a mean over :math:`M` outputs has
:math:`1/M` in it). An instance of it is the ``loss`` of :class:`minigan.gan.GAN`
(the command line and run folders know the four games above by name only). D's step
calls :meth:`~Game.d_loss` on one batch at a time: the real batch (``target`` 1 - s,
``sign`` +1), back-propagated before the fake batch is drawn, then the fake batch (0,
-1); G's step calls :meth:`~Game.g_loss` on D's outputs for G's samples. D's loss is
therefore a sum of one term per batch: a game whose terms mix the batches (the
relativistic GANs, which judge each batch against the other's mean) needs a ``d_step``
and a ``g_step`` of its own (the site's "Extending minigan", "A game of your own", writes the
relativistic average GAN so). The gradients are checked as the losses' are (the atlas's
page of the losses), with :func:`minigan.check.testing.loss_pair` (which also takes a loss
of both batches' outputs, with a gradient for each):

>>> import numpy as np
>>> from minigan import gan
>>> from minigan.check import testing
>>> from minigan.functional import losses
>>> from minigan.gan.games import Game
>>> class SymmetricLeastSquares(Game):     # Mao et al.'s -1/1 coding: D aims at +-1, G at 0
...     name, labels, boundary = "lsgan-sym", False, 0.0
...     def d_loss(self, outputs, target, sign):
...         return losses.least_squares_loss(outputs, float(sign))
...     def g_loss(self, outputs):
...         return losses.least_squares_loss(outputs, 0.0)
>>> game, rng = SymmetricLeastSquares(), np.random.default_rng(0)
>>> a = rng.standard_normal((5, 1))
>>> for f in (lambda a: game.d_loss(a, None, -1), game.g_loss):
...     forward, backward = testing.loss_pair(f)
...     assert testing.assert_pair_gradients(forward, backward, {"a": a}, rng=rng)["a"] < 1e-7
>>> from minigan.nn import layers, optim
>>> G, D = layers.Dense(2, 3, rng=rng), layers.Dense(3, 1, rng=rng)
>>> model = gan.GAN(G, D, optim.Adam(G), optim.Adam(D), noise_dim=2, loss=game, rng=rng)
>>> model.game is game, model.loss
(True, 'lsgan-sym')

Then the steps as Algorithm 1 runs them, the game inside: each step's gradient against the
differences of the loss it returns, the noise it draws replayed
(:func:`minigan.check.testing.assert_step_gradients`; ``update=False`` leaves the weights
where they are). A step of your own is checked the same way.

>>> G = layers.Dense(2, 3, rng=rng, dtype="float64")
>>> D = layers.Sequential(layers.Dense(3, 4, rng=rng, dtype="float64"), layers.Tanh(),
...                       layers.Dense(4, 1, rng=rng, dtype="float64"))
>>> model = gan.GAN(G, D, optim.Adam(G), optim.Adam(D), noise_dim=2, loss=game, rng=rng)
>>> x = rng.standard_normal((6, 3))
>>> errors = testing.assert_step_gradients(lambda: model.d_step(x, update=False)["d_loss"],
...                                        model.D, replayed=(model.G, model.rng))
>>> errors = testing.assert_step_gradients(lambda: model.g_step(6, update=False)["g_loss"],
...                                        model.G, replayed=(model.D, model.rng))
"""

from __future__ import annotations

import numpy as np

from minigan.functional import losses
from minigan.functional.activations import sigmoid

__all__ = ["Game", "CrossEntropy", "LeastSquares", "Hinge", "WassersteinGP", "GAMES", "NAMES",
           "G_LOSSES", "get", "optimal_discriminator"]

G_LOSSES = losses.G_LOSSES


class Game:
    """What every game answers. Subclasses set the attributes and the two losses.

    Attributes
    ----------
    name : str
        The name :func:`get` and ``--loss`` know it by.
    labels : bool
        Whether D's losses take targets (1 real, 0 fake), so that one-sided label
        smoothing and label flips apply.
    penalty : bool
        Whether D's step adds WGAN-GP's gradient penalty (:mod:`minigan.gan.penalty`).
    output_label : str
        What D's mean output is, in words (the loss curves' axis).
    point_label : str or None
        What D's output at one sample is, in words (written above each digit of ``minigan
        sample --gradients``); None: ``output_label`` says it (the Wasserstein critic's
        "mean" belongs to the curves only).
    probabilities : bool
        Whether :meth:`read` gives probabilities in [0, 1].
    boundary : float or None
        Where :meth:`read` says "cannot tell real from fake"; None when the level of
        D's output is arbitrary (the Wasserstein critic: only differences count).
    defaults : dict
        Training settings the game brings where a run does not choose them
        (``k``, ``lr``, ``betas``): ``minigan train`` applies them, the toys
        (:func:`minigan.lab.toys.run_gan_toy`) ``k`` and ``betas``;
        :class:`minigan.gan.GAN` itself none (give it ``k`` and the optimizers' settings).
    optimal_label : str
        :meth:`optimal_output` in words, for a game without labels (gaussian1d's legend;
        a game with labels is named by its targets' weighted mean).
    """

    name = ""
    labels = True
    penalty = False
    output_label = "D(x)"
    point_label = None
    probabilities = False
    boundary = None
    defaults = {}
    optimal_label = "D*(x)"

    def d_loss(self, outputs, target, sign):
        """D's loss on one batch and its gradient ``dout``: ``target`` for the games with
        labels (1 - s real, 0 fake, or per-sample flipped targets), ``sign`` (+1 real, -1
        fake) for the others."""
        raise NotImplementedError

    def g_loss(self, outputs):
        """G's loss on D's outputs for its samples and its gradient ``dout``."""
        raise NotImplementedError

    def read(self, outputs):
        """D's outputs as the pictures and ``d_real``/``d_fake`` show them."""
        return outputs

    def mean_output(self, outputs):
        """The mean of :meth:`read`, a Python float (the metrics' ``d_real``, ``d_fake``,
        ``d_gen``)."""
        return float(self.read(outputs).mean())

    def optimal_output(self, p_data, p_g, real_target=1.0, fake_target=0.0):
        """D's best answer at each point for fixed densities ``p_data`` and ``p_g`` (host
        arrays), as :meth:`read` shows it, or None when the game has no pointwise optimum.
        The games with labels: :func:`optimal_discriminator` of the (expected) targets; a
        game without labels says its own (:class:`Hinge`), else None."""
        if not self.labels:
            return None
        return optimal_discriminator(p_data, p_g, real_target, fake_target)

    def saturated(self, d_real, d_fake):
        """Whether D, with mean outputs ``d_real`` and ``d_fake`` (as :meth:`mean_output`
        gives them), tells the two batches apart with certainty, so that its gradient to G
        no longer leads anywhere (:mod:`minigan.gan.monitor`); None: the game has no such
        state (the Wasserstein critic)."""
        return None

    def __repr__(self):
        return f"{type(self).__name__}()"


class CrossEntropy(Game):
    """Goodfellow et al.'s game: sigmoid cross-entropy on D's logit.

    Parameters
    ----------
    g_loss : {"non_saturating", "minimax"}
        G's form (:func:`minigan.functional.losses.generator_loss`).
    """

    name = "gan"
    output_label = "D(x), probability"
    probabilities = True
    boundary = 0.5

    def __init__(self, g_loss="non_saturating"):
        if g_loss not in G_LOSSES:
            raise ValueError(f"unknown g_loss {g_loss!r}; use one of {G_LOSSES}")
        self.g_form = g_loss

    def d_loss(self, outputs, target, sign):
        return losses.sigmoid_cross_entropy(outputs, target)

    def g_loss(self, outputs):
        return losses.generator_loss(outputs, self.g_form)

    def read(self, outputs):
        return sigmoid(outputs)

    def saturated(self, d_real, d_fake):
        """Mean D(x) at least 0.99 and mean D(G(z)) at most 0.01."""
        return d_real >= 0.99 and d_fake <= 0.01

    def __repr__(self):
        return f"CrossEntropy(g_loss={self.g_form!r})"


class LeastSquares(Game):
    """LSGAN (Mao et al. 2017) with the 0-1 coding: D aims at 1 and 0, G at 1."""

    name = "lsgan"
    output_label = "D(x), least-squares output"
    boundary = 0.5

    def d_loss(self, outputs, target, sign):
        return losses.least_squares_loss(outputs, target)

    def g_loss(self, outputs):
        return losses.least_squares_loss(outputs, 1.0)

    def saturated(self, d_real, d_fake):
        """Mean output at least 0.95 on real samples and at most 0.05 on fakes."""
        return d_real >= 0.95 and d_fake <= 0.05


class Hinge(Game):
    """The hinge game (Lim & Ye 2017; Miyato et al. 2018): D's margin loss, G's -E[D(G(z))]."""

    name = "hinge"
    labels = False
    output_label = "D(x), raw output"
    boundary = 0.0
    optimal_label = "D*(x) = sign(p_data - p_g)"

    def d_loss(self, outputs, target, sign):
        return losses.hinge_loss(outputs, sign)

    def g_loss(self, outputs):
        return losses.wasserstein_loss(outputs, +1)

    def saturated(self, d_real, d_fake):
        """Every margin met on average: mean output at least 1 on real samples and at most
        -1 on fakes (where D's loss, and so its gradient, is 0)."""
        return d_real >= 1.0 and d_fake <= -1.0

    def optimal_output(self, p_data, p_g, real_target=1.0, fake_target=0.0):
        r""":math:`D^* = \operatorname{sign}(p_{data} - p_g)`: it minimizes
        :math:`p_{data}\max(0, 1 - D) + p_g\max(0, 1 + D)`, linear in D on [-1, 1] and
        larger outside."""
        return np.sign(p_data - p_g)


class WassersteinGP(Game):
    """WGAN-GP (Gulrajani et al. 2017): the critic's Wasserstein loss plus the gradient penalty.

    Its defaults are those of the paper's MNIST and toy code: 5 critic steps per G
    step, Adam 1e-4 with betas 0.5 / 0.9 (the paper's Algorithm 1 lists beta1 = 0).
    """

    name = "wgan-gp"
    labels = False
    penalty = True
    output_label = "critic f(x), mean"
    point_label = "critic f(x)"
    defaults = {"k": 5, "lr": 1e-4, "betas": (0.5, 0.9)}

    def d_loss(self, outputs, target, sign):
        return losses.wasserstein_loss(outputs, sign)

    def g_loss(self, outputs):
        return losses.wasserstein_loss(outputs, +1)

    def optimal_output(self, p_data, p_g, real_target=1.0, fake_target=0.0):
        """None: the critic is bound only by its gradient, not pointwise."""
        return None


def optimal_discriminator(p_data, p_g, real_target=1.0, fake_target=0.0):
    r"""The optimal discriminator for a fixed generator, pointwise.

    .. math:: D^*(x) = \frac{t_r\, p_{data}(x) + t_f\, p_g(x)}{p_{data}(x) + p_g(x)}

    At each :math:`x`, D minimizes :math:`p_{data}\,\ell(D, t_r) + p_g\,\ell(D, t_f)`; for
    the cross-entropy of a probability (Goodfellow et al. 2014, Proposition 1) and for
    the least-squares game (Mao et al. 2017) the minimizer is the same weighted mean of
    the targets. With the targets 1 and 0 it is :math:`p_{data} / (p_{data} + p_g)`;
    label smoothing and flips change the targets' expected values. Where both densities
    vanish (every output is then as good): the mean of the two targets, 0.5 for 1 and 0.
    """
    total = p_data + p_g
    safe = np.where(total > 0, total, 1)
    return np.where(total > 0, (real_target * p_data + fake_target * p_g) / safe,
                    0.5 * (real_target + fake_target))


#: The games by name, in the order ``--loss`` lists them.
GAMES = {game.name: game for game in (CrossEntropy, LeastSquares, Hinge, WassersteinGP)}
NAMES = tuple(GAMES)


def get(name="gan", g_loss="non_saturating"):
    """The game called ``name``, or ``name`` itself when it is a :class:`Game` (a game of
    your own); ``g_loss`` chooses G's form in the cross-entropy game.

    Raises
    ------
    ValueError
        For an unknown name (or a subclass of :class:`Game` given where its instance is
        wanted), or a ``g_loss`` other than the non-saturating one with a game that has
        its own generator loss (a game given: other than its own form, ``g_form``).
    TypeError
        For a game of your own that does not define both :meth:`Game.d_loss` and
        :meth:`Game.g_loss`.
    """
    if isinstance(name, Game):   # it plays its own G loss (the cross-entropy game: its form)
        missing = [f"{loss}{args}" for loss, args in (("d_loss", "(outputs, target, sign)"),
                                                      ("g_loss", "(outputs)"))
                   if getattr(type(name), loss) is getattr(Game, loss)]
        if missing:
            raise TypeError(f"the game {type(name).__name__} defines no {' and no '.join(missing)}; "
                            "a game of your own returns D's and G's losses and their gradients "
                            "with respect to D's outputs (minigan.gan.games says how)")
        if g_loss not in ("non_saturating", getattr(name, "g_form", None)):
            raise ValueError(f"g_loss {g_loss!r} with the game {name!r} given as loss: the game "
                             "plays its own generator loss (leave g_loss out; the cross-entropy "
                             "game takes its form, CrossEntropy('minimax'))")
        return name
    if isinstance(name, type) and issubclass(name, Game):
        raise ValueError(f"loss {name.__name__} is a class; give the game, an instance of it "
                         f"({name.__name__}())")
    if not isinstance(name, str) or name not in GAMES:
        raise ValueError(f"unknown loss {name!r}; use one of {NAMES}, or give a game of your "
                         "own, an instance of a subclass of minigan.gan.games.Game")
    if name == CrossEntropy.name:
        return CrossEntropy(g_loss)
    if g_loss != "non_saturating":
        raise ValueError(f"g_loss {g_loss!r} is a form of the cross-entropy GAN; loss "
                         f"{name!r} has its own generator loss (leave g_loss out)")
    return GAMES[name]()
