"""The ``gan`` floor: Algorithm 1 and what a GAN is made of.

- :mod:`minigan.gan.algorithm`: :class:`~minigan.gan.GAN`, the D and G steps of Goodfellow et al.'s
  Algorithm 1, :func:`~minigan.gan.sample_noise`, the one sampler of the prior, and
  :func:`~minigan.gan.generator_gradient`, what the G step receives from D;
- :mod:`minigan.gan.games`: the games D and G play (cross-entropy, least squares, hinge,
  WGAN-GP): each player's loss, how D's output reads, and what a game of your own answers;
- :mod:`minigan.gan.loop`: the one training loop, iteration after iteration;
- :mod:`minigan.gan.monitor`: when the game has stopped (D certain on both batches);
- :mod:`minigan.gan.conditional`: the conditional GAN (G(z, c), D(x, c));
- :mod:`minigan.gan.clusters`: self-conditioning, the conditional GAN's labels found by
  k-means among the images;
- :mod:`minigan.gan.penalty`: the gradient penalties of WGAN-GP and R1 and their double
  backward;
- :mod:`minigan.gan.ema`: the moving average of G's weights;
- :mod:`minigan.gan.models`: the MNIST GANs (the default MLP GAN, mlp-large, the vanilla
  GAN, the DCGAN) and their training defaults.

Imports :mod:`minigan.nn`, :mod:`minigan.functional` and :mod:`minigan.backend`.
"""

from . import algorithm, clusters, conditional, ema, games, loop, models, monitor, penalty
from .algorithm import GAN, PRIORS, generator_gradient, sample_noise

__all__ = ["GAN", "PRIORS", "sample_noise", "generator_gradient", "algorithm", "clusters", "conditional",
           "ema", "games", "loop", "models", "monitor", "penalty"]
