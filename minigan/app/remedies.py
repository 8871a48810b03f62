"""The command-line options of the remedies against mode collapse, shared by ``train`` and ``toy``.

=====================================  ==================================================
option                                 what it builds
=====================================  ==================================================
``--conditional`` (train only)         G(z, c) and D(x, c): :mod:`minigan.gan.conditional`
``--pack M``                           D judges packs of M samples: :class:`~minigan.nn.layers.Pack`
``--minibatch discrimination``         :class:`~minigan.nn.layers.MinibatchDiscrimination` in D
``--minibatch stddev``                 :class:`~minigan.nn.layers.MinibatchStdDev` in D
``--ema DECAY``                        a moving average of G's weights: :mod:`minigan.gan.ema`
``--spectral-norm``                    :class:`~minigan.nn.layers.SpectralNorm` around D's weights
``--label-flip P``                     D's labels swapped with probability P
``--instance-noise SIGMA``             Gaussian noise on D's inputs, annealed to 0
``--loss {gan,lsgan,hinge,wgan-gp}``   the game (:mod:`minigan.functional.losses`, :mod:`minigan.gan.penalty`)
``--gp-weight LAMBDA``                 the weight of WGAN-GP's gradient penalty
=====================================  ==================================================
"""

from __future__ import annotations

from minigan.functional.losses import LOSSES
from minigan.gan.models import MINIBATCH

from . import argtypes

__all__ = ["add_options"]


def add_options(parser, conditional=True):
    """Add the options of the table above to ``parser`` (unset: None)."""
    g = parser.add_argument_group("against mode collapse")
    if conditional:
        g.add_argument("--conditional", action="store_true", default=None,
                       help="conditional GAN: G and D take the digit's one-hot label")
    g.add_argument("--pack", type=argtypes.positive_int, metavar="M",
                   help="PacGAN: D judges packs of M samples at once (default 1)")
    g.add_argument("--minibatch", choices=MINIBATCH,
                   help="a minibatch layer before D's last layer: Salimans et al.'s minibatch "
                   "discrimination or Karras et al.'s minibatch standard deviation")
    g.add_argument("--ema", type=argtypes.decay, metavar="DECAY",
                   help="keep a moving average of G's weights (e.g. 0.999); sample grids, "
                   "sample, interpolate and eval use it")
    g.add_argument("--spectral-norm", action="store_true", default=None,
                   help="spectral normalization of D's Dense and Conv2d weights")
    g.add_argument("--label-flip", type=argtypes.flip_probability, metavar="P",
                   help="swap each label of D's batches with probability P (default 0)")
    g.add_argument("--instance-noise", type=argtypes.non_negative_float, metavar="SIGMA",
                   help="Gaussian noise of std SIGMA on D's inputs (the images, not a "
                   "conditional run's labels), annealed linearly to 0 at the last iteration "
                   "(default 0)")
    g.add_argument("--loss", choices=LOSSES,
                   help="the game: gan (cross-entropy, default), lsgan (least squares), hinge, "
                   "wgan-gp (Wasserstein with gradient penalty; defaults n-critic 5, Adam "
                   "betas 0.5/0.9, and lr 1e-4 in train)")
    g.add_argument("--gp-weight", type=argtypes.non_negative_float, metavar="LAMBDA",
                   help="weight of WGAN-GP's gradient penalty (default 10)")
