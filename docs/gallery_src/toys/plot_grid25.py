r"""
grid25: twenty-five Gaussians on a grid
=======================================

The harder mixture of VEEGAN and PacGAN: 25 Gaussians of standard deviation 0.05 whose
means are the grid :math:`\{-4, -2, 0, 2, 4\}^2` (:func:`minigan.lab.toys.grid25_modes`),
scored with the same protocol as :doc:`ring8 <plot_ring8>`
(:func:`minigan.lab.metrics.mode_coverage`, 2,500 samples, high quality within 3 standard
deviations of the nearest mode).

The run is the one of ``minigan toy grid25`` (:func:`minigan.lab.toys.run_gan_toy`: MLPs of
two hidden layers of 128 units, Adam 1e-3 with :math:`\beta_1 = 0.5`, batch 100, 8,000
iterations at a constant step), for one seed; :doc:`/results/toys` has the same run for
seeds 0 to 4::

    OPENBLAS_NUM_THREADS=1 minigan toy grid25 --seeds 5
"""

import matplotlib.pyplot as plt

from minigan import backend
from minigan.lab import metrics, toys

backend.use("cpu")
spec = toys.TOYS["grid25"]
result = toys.run_gan_toy("grid25", seed=0, snapshots=4, field=False)   # 8,000 iterations
print(f"{result['iterations']} iterations in {result['seconds']:.1f} s")

fig, axes = plt.subplots(2, 2, figsize=(9, 9.6), layout="constrained")
for ax, frame in zip(axes.flat, result["frames"], strict=True):
    toys.draw_frame(ax, spec, frame, result["real"])
plt.show()

# %%
# The numbers beside PacGAN's Table 1 (plain GAN, far longer training):

cov = metrics.mode_coverage(result["frames"][-1]["samples"], spec.modes, spec.std)
pub = toys.PUBLISHED["grid25"]
print(f"ours (seed 0, 8,000 iterations): {cov['modes_covered']} of 25 modes, "
      f"{100 * cov['high_quality']:.1f}% high quality, reverse KL {cov['reverse_kl']:.3f}")
print(f"PacGAN Table 1, plain GAN:       {pub['modes'][0]} ± {pub['modes'][1]} modes, "
      f"{100 * pub['high_quality'][0]:.1f}% high quality, reverse KL {pub['reverse_kl'][0]:.2f}")

# %%
# The pictures say why the high-quality share is far below PacGAN's: after 8,000
# iterations most of G's samples still lie on lines and arcs between the modes, more
# than 3 standard deviations (0.15) from any of them, so they count for no mode.
