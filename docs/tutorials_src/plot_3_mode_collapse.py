r"""
Seeing mode collapse
====================

A generator *collapses* when it covers only some of the data's modes: samples of good
quality, but too few kinds. On MNIST it is hard to see; on a ring of eight Gaussians
(*ring8*) or a 5 x 5 grid of them (*grid25*) it is obvious, because every mode is a
visible blob in the plane.

The structure of the experiment:

1. **The data**: eight Gaussians of standard deviation 0.02 on the unit circle (below),
   or twenty-five on a grid.
2. **Without a remedy**: a small MLP GAN trained with Algorithm 1; the samples at a few
   iterations show the generator visiting one or a few modes at a time and hopping
   between them as D learns to reject each.
3. **With a remedy**: the same GAN with a remedy against collapse; the samples cover all
   the modes.
4. **A number, not just a picture**: how many modes hold samples, and the share of
   samples far from every mode.

.. note::

   Steps 2 to 4 are the toy experiments of the lab (``minigan toy ring8``, ``grid25``);
   their figures plug in here (the sampler below then becomes the lab's).
"""

import matplotlib.pyplot as plt
import numpy as np


def ring8(n, rng, radius=1.0, std=0.02):
    """n points from eight Gaussians evenly spaced on a circle."""
    k = rng.integers(0, 8, n)
    centers = radius * np.stack([np.cos(2 * np.pi * k / 8), np.sin(2 * np.pi * k / 8)], axis=1)
    return centers + std * rng.standard_normal((n, 2))


x = ring8(2000, np.random.default_rng(0))
fig, ax = plt.subplots(figsize=(4, 4))
ax.scatter(*x.T, s=2)
ax.set_aspect("equal")
ax.set_title("ring8: the data")
plt.show()
