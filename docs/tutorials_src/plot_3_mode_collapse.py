r"""
Seeing mode collapse
====================

A generator *collapses* when it covers only some of the data's modes: too few kinds of
samples. On MNIST it is hard to see; on a ring of eight Gaussians (*ring8*) it is
obvious, because every mode is a visible blob in the plane, and it can be counted.

1. **The data**: eight Gaussians of standard deviation 0.02 on a circle of radius 2
   (:func:`minigan.lab.toys.ring8_modes`, :func:`minigan.lab.toys.mixture_sampler`).
2. **Without a remedy**: a GAN whose discriminator is too weak to follow the generator
   (two hidden layers of 16 units instead of the toy's 64), trained with Algorithm 1,
   one D step per G step.
3. **With a remedy**: the same GAN, same seed, with :math:`k = 5` discriminator steps per
   generator step (Algorithm 1's :math:`k`, ``--k`` of ``minigan toy``): D stays close to
   its optimum for the current G, so it can push samples off a crowded mode and toward
   the empty ones.
4. **A number, not just a picture**: the VEEGAN / PacGAN protocol of
   :func:`minigan.lab.metrics.mode_coverage` on 2,500 samples (a sample is high quality within
   3 standard deviations of its nearest mode, a mode is covered when a high-quality
   sample is nearest to it).

Both runs are :func:`minigan.lab.toys.run_gan_toy` on the ``ring8`` toy with the smaller
discriminator, 3,000 iterations (the toy's default is 10,000 with D of 64 units: that run,
in the :doc:`gallery </gallery/toys/plot_ring8>`, covers all eight modes without any
remedy). From the command line the remedy is ``minigan toy ring8 --k 5``; the weaker
discriminator needs the code below.
"""

import dataclasses

import matplotlib.pyplot as plt
import numpy as np

from minigan import backend
from minigan.lab import metrics, toys

backend.use("cpu")
ring8 = toys.TOYS["ring8"]
x = toys.mixture_sampler(ring8.modes, ring8.std)(np.random.default_rng(0), 2000)
fig, ax = plt.subplots(figsize=(4, 4))
ax.scatter(*x.T, s=2)
ax.plot(*ring8.modes.T, "k+", ms=8)
for i, (mx, my) in enumerate(ring8.modes):     # the numbers of the bar chart below
    ax.text(0.8 * mx, 0.8 * my, str(i), ha="center", va="center", fontsize=9)
ax.set(xlim=(-3, 3), ylim=(-3, 3), aspect="equal", xlabel="x1", ylabel="x2",
       title="ring8: the data and its 8 modes, numbered")
fig.tight_layout()
plt.show()

# %%
# Two runs, one difference
# ------------------------
# The toy with a weaker discriminator (``d_sizes``: 2 -> 16 -> 16 -> 1), same seed,
# same data, same noise; only ``k`` differs.

weak_d = dataclasses.replace(ring8, d_sizes=(2, 16, 16, 1))
runs = {"k = 1 (no remedy)": toys.run_gan_toy(weak_d, iterations=3000, seed=1, snapshots=3,
                                             field=False),
        "k = 5": toys.run_gan_toy(weak_d, iterations=3000, seed=1, snapshots=3, opts={"k": 5},
                                  field=False)}

fig, axes = plt.subplots(2, 3, figsize=(10, 7), layout="constrained")  # room for the legends
for row, (name, result) in zip(axes, runs.items(), strict=True):
    for ax, frame in zip(row, result["frames"], strict=True):
        toys.draw_frame(ax, weak_d, frame, result["real"], label=name)
plt.show()

# %%
# The numbers
# -----------
# :func:`minigan.lab.metrics.mode_coverage` on each run's final 2,500 samples: how many
# high-quality samples each mode received, the modes covered, and the reverse KL of
# that histogram to the uniform one (0 when every mode gets the same share,
# :math:`\log 8 \approx 2.08` when one mode gets them all).

fig, ax = plt.subplots(figsize=(8, 3))
for i, (name, result) in enumerate(runs.items()):
    cov = metrics.mode_coverage(result["frames"][-1]["samples"], ring8.modes, ring8.std)
    kl = "none" if cov["reverse_kl"] is None else f"{cov['reverse_kl']:.3f}"
    print(f"{name:>18}: {cov['modes_covered']} of 8 modes covered, "
          f"{100 * cov['high_quality']:.1f}% high quality, reverse KL {kl}, "
          f"per mode {cov['counts']} ({result['seconds']:.1f} s)")
    ax.bar(np.arange(8) + 0.4 * i - 0.2, cov["counts"], width=0.4, label=name)
ax.set(xlabel="mode", ylabel="high-quality samples",
       title="high-quality samples per mode, each run's final 2,500 samples")
ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1, 1))   # beside the bars, not on them
fig.tight_layout()
plt.show()

# %%
# With one discriminator step per generator step the weak D lags behind G: the
# generator's samples stay bunched in one narrow region that moves around the ring from
# one snapshot to the next (all its samples are one kind of sample, and mostly off
# every mode), the picture of collapse. With five, D is
# closer to its optimum for the current G, :math:`D^*(x) = p_{data}/(p_{data} + p_g)`,
# which is low where G piles up samples and high on the modes G misses: G's gradient
# then points toward the empty modes. The price is five times the discriminator's work
# per iteration. Covered is not the same as evenly covered: the bars and the reverse KL
# say how far each mode's share is from one eighth.
#
# More D steps are the remedy that Algorithm 1 already has; the same measurement applies
# to any other remedy, and ``minigan toy ring8 --seeds 5`` prints it for five seeds
# beside PacGAN's published numbers.
