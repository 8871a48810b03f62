r"""
ring8: eight Gaussians on a circle, and how many modes the GAN covers
=====================================================================

The data is an equal mixture of eight Gaussians of standard deviation 0.02 whose means
lie on a circle of radius 2 (:func:`minigan.lab.toys.ring8_modes`). A GAN that *collapses*
puts its samples on a few of the eight; a picture shows it at once, and the VEEGAN /
PacGAN protocol (Srivastava et al. 2017, Lin et al. 2018) turns it into numbers,
computed here by :func:`minigan.lab.metrics.mode_coverage` on 2,500 samples:

- a sample is **high quality** when it lies within 3 standard deviations of its nearest
  mode;
- a mode is **covered** when it is the nearest mode of at least one high-quality sample;
- the **reverse KL** of the high-quality samples' histogram over the modes to the uniform
  one, :math:`\sum_k q_k \log(K q_k)`: 0 when every mode gets the same share,
  :math:`\log 8 \approx 2.08` when all the samples fall on one mode.

The run below is the one of ``minigan toy ring8`` (:func:`minigan.lab.toys.run_gan_toy`:
Algorithm 1 on MLPs of two hidden layers of 64 units, Adam 1e-3 with
:math:`\beta_1 = 0.5`, batch 100, 10,000 iterations, the step size decayed linearly to a
tenth), for one seed; :doc:`/results/toys` has the same run for seeds 0 to 4::

    OPENBLAS_NUM_THREADS=1 minigan toy ring8 --seeds 5

The networks are PacGAN's synthetic-data setup scaled down to train in well under a
minute on 2 CPU cores; PacGAN trains far longer (400 epochs of 100,000 points), so its
Table 1 and our numbers are printed side by side, not as the same experiment.
"""

import matplotlib.pyplot as plt
import numpy as np

from minigan import backend
from minigan.lab import metrics, toys

backend.use("cpu")
spec = toys.TOYS["ring8"]
result = toys.run_gan_toy("ring8", seed=0, snapshots=4, field=False)    # 10,000 iterations
print(f"{result['iterations']} iterations in {result['seconds']:.1f} s")

# %%
# Samples over training
# ---------------------
# Each panel: 2,500 samples of G from the same fixed noise (orange) over real data
# (blue, drawn larger, so a mode G misses shows blue alone), with the protocol's numbers
# at that iteration.

fig, axes = plt.subplots(2, 2, figsize=(9, 9.6), layout="constrained")
for ax, frame in zip(axes.flat, result["frames"], strict=True):
    toys.draw_frame(ax, spec, frame, result["real"])
plt.show()

# %%
# The protocol, step by step
# --------------------------
# :func:`minigan.lab.metrics.mode_coverage` on the final samples also returns how many
# high-quality samples each mode received.

samples = result["frames"][-1]["samples"]
cov = metrics.mode_coverage(samples, spec.modes, spec.std)
pub = toys.PUBLISHED["ring8"]
print(f"ours (seed 0, 10,000 iterations): {cov['modes_covered']} of 8 modes, "
      f"{100 * cov['high_quality']:.1f}% high quality, reverse KL {cov['reverse_kl']:.3f}")
print(f"PacGAN Table 1, plain GAN:        {pub['modes'][0]} ± {pub['modes'][1]} modes, "
      f"{100 * pub['high_quality'][0]:.1f}% high quality, reverse KL {pub['reverse_kl'][0]:.2f}")

fig, ax = plt.subplots(figsize=(6, 3))
ax.bar(np.arange(8), cov["counts"], color="C1")
ax.axhline(len(samples) * cov["high_quality"] / 8, color="k", ls="--", lw=1,
           label="uniform share of the high-quality samples")
ax.set(xlabel="mode (angle k * 45 degrees)", ylabel="high-quality samples",
       title="high-quality samples per mode, seed 0, 10,000 iterations")
ax.legend(fontsize=8)
fig.tight_layout()
plt.show()

# %%
# The samples that are not high quality lie on the paths between neighbouring modes: a
# short run leaves the generator spreading some mass along them, which lowers the
# high-quality share even when every mode is covered.
