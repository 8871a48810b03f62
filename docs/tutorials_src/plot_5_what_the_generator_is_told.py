r"""
What the generator is told
==========================

In Algorithm 1 the generator never sees the data. One thing reaches it from the
discriminator: in the G step, the gradient of G's loss with respect to each sample G
drew,

.. math::
    \frac{\partial L_G}{\partial x^{(i)}}
        = \frac1m\, \ell_G'\big(a^{(i)}\big)\, \frac{\partial a^{(i)}}{\partial x^{(i)}},
    \qquad x^{(i)} = G(z^{(i)}),

with :math:`a^{(i)}` D's logit for :math:`x^{(i)}` (:math:`D(x^{(i)}) = \sigma(a^{(i)})`):
D's backward pass started from the derivative of the game's generator loss
:math:`\ell_G` (for the non-saturating loss, :math:`\ell_G(a) = -\log \sigma(a)`,
:math:`\ell_G'(a) = -(1 - D(x))`). minigan computes it by hand
in one function, :func:`minigan.gan.generator_gradient`: D's forward pass, the game's
:meth:`~minigan.gan.games.Game.g_loss`, D's backward pass with D frozen.
:meth:`minigan.gan.GAN.g_step` hands its result to G's backward pass; this page draws
the same vectors (:mod:`minigan.lab.field`). G's step then moves its weights so that,
through G's Jacobian, the samples move along :math:`-\partial L_G/\partial x`: where D
says *real*.

GAN Lab (Kahng et al. 2018) shows these pictures in the browser. Here each is an
array you can print, and each arrow is the vector the G step uses:
``tests/lab/test_field.py`` holds it to a centred finite difference of G's loss through
D, in float64.
"""

import dataclasses

import matplotlib.pyplot as plt
import numpy as np

from minigan import backend
from minigan.lab import toys

backend.use("cpu")

# %%
# ring8 over training
# -------------------
# The toy of ``minigan toy ring8`` (eight Gaussians on a circle; Algorithm 1 on MLPs of
# two hidden layers of 64 units), run for 1,200 iterations instead of 10,000 (the step
# size decays over the run): long enough for G to find the modes, short enough to run
# while this page builds. ``noise_grid=True`` also draws G's image of a regular grid of
# noise vectors: G's 2-D noise plane, warped onto the data.
#
# Behind the samples, D's output over the plane: purple where D says *real*, green where
# it says *fake*, white and dashed where it cannot tell (one colour scale, 0 to 1, in every
# panel). At the first 100 of the 2,500
# generated samples (the same noise vectors in every panel, one batch of G's), arrows
# along :math:`-\partial L_G/\partial x`; the longest is drawn at a fixed share of the
# picture, and the legend gives its length.

spec = toys.TOYS["ring8"]
result = toys.run_gan_toy("ring8", iterations=1200, seed=0, snapshots=4, noise_grid=True)
print(f"{result['iterations']} iterations in {result['seconds']:.1f} s")

fig, axes = plt.subplots(2, 2, figsize=(10, 11), layout="constrained")
for ax, frame in zip(axes.flat, result["frames"], strict=True):
    image = toys.draw_frame(ax, spec, frame, result["real"])
fig.colorbar(image, ax=axes, shrink=0.8, label="D(x): the probability that x is real")
plt.show()

# %%
# At iteration 300 D is unsure almost everywhere (pale), and the arrows already point
# from G's spread-out samples towards the nearest modes. By iteration 600 G has folded
# its noise plane onto the ring: the warped grid is a polygon through the eight modes,
# most of it squeezed onto the polygon's edges. D now says *fake* everywhere but small
# islands at the modes (inside the dashed lines), where it says *real* only faintly: its
# output there stays near 0.5, so the islands are pale, not purple, and the real points
# (blue, drawn larger than G's) lie under G's samples. The samples on the edges between
# two modes are pushed along the edge, towards an island: the high-quality share climbs as
# they arrive.
#
# The arrays behind the last panel are what ``minigan toy ring8`` saves as
# ``field.npz``:

f = result["frames"][-1]["field"]
for key in ("xs", "ys", "d", "points", "grad", "noise", "noise_image"):
    print(f"{key:12s} {f[key].shape}")
length = np.hypot(*f["grad"].T)
print(f"|dL_G/dx| over the batch: median {np.median(length):.2e}, max {length.max():.2e}")

# %%
# One iteration, step by step
# ---------------------------
# ``step_by_step=N`` (``minigan toy ring8 --step-by-step N``) draws a frame after each D
# step and one after each G step of the first N iterations. Below, the first iteration,
# near the centre where G starts: before it, after its D step (D's surface moved, the
# samples did not: see the dashed line where D cannot tell), after its G step (the samples
# moved, D's surface did not); then, for each of the 100 samples, the direction of its
# arrow after the D step (what the G step that follows hands to G's backward pass, for
# its own batch of noise) beside the direction in which the G step moved it.

steps = toys.run_gan_toy("ring8", iterations=2, seed=0, snapshots=1, step_by_step=2)["steps"]
before, after_d, after_g = steps[:3]           # iteration 1: before, after its D step, its G step
points = after_d["field"]["points"]
arrow = -after_d["field"]["grad"]
move = after_g["samples"][:len(points)] - points

near = dataclasses.replace(spec, extent=1.0)   # the pictures' square: [-1, 1]^2
fig, axes = plt.subplots(2, 2, figsize=(10, 11), layout="constrained")
axes = axes.ravel()
for ax, frame in zip(axes[:3], (before, after_d, after_g), strict=True):
    image = toys.draw_frame(ax, near, frame, result["real"])
fig.colorbar(image, ax=axes[:3], shrink=0.8, label="D(x): the probability that x is real")
ax = axes[3]
for vectors, color, what in ((arrow, "k", "-dL_G/dx after the D step"),
                             (move, "C3", "the G step's move of the sample")):
    unit = vectors / np.hypot(*vectors.T)[:, None]
    ax.quiver(*points.T, *unit.T, color=color, angles="xy", scale_units="xy", scale=10,
              width=0.004, label=what + " (directions)")
ax.set(xlim=(-1, 1), ylim=(-1, 1), aspect="equal", xlabel="x1", ylabel="x2")
ax.set_title("ring8, iteration 1\neach sample's arrow and its move", fontsize=9)
ax.legend(fontsize=7, loc="upper right")
plt.show()

# %%
# Each sample moves by :math:`J_G(z^{(i)})\,\Delta\theta`, where Adam's step
# :math:`\Delta\theta` descends the gradient of the G step's whole batch (its own noise
# vectors), :math:`\sum_j J_G(z^{(j)})^\top \partial L_G/\partial x^{(j)}`: not each
# sample along its own arrow, but the batch's arrows pulled through G's weights. How well
# the moves follow the arrows, over the first two iterations:

for it in (1, 2):
    d_frame = next(s for s in steps if s["iteration"] == it and s["step"] == "d1")
    g_frame = next(s for s in steps if s["iteration"] == it and s["step"] == "g")
    p = d_frame["field"]["points"]
    m, a = g_frame["samples"][:len(p)] - p, -d_frame["field"]["grad"]
    cos = (m * a).sum(1) / (np.hypot(*m.T) * np.hypot(*a.T))
    print(f"iteration {it}: the samples moved {np.hypot(*m.T).mean():.1e} on average; "
          f"cosine between each move and its arrow: median {np.median(cos):+.2f}, "
          f"positive for {100 * np.mean(cos > 0):.0f}% of the batch")

# %%
# In one dimension
# ----------------
# ``gaussian1d`` (``minigan toy gaussian1d``): the same arrows on the axis, beside D, the
# optimal :math:`D^* = p_{data} / (p_{data} + p_g)` (1 in the data's tails, where G draws
# nothing; not drawn where neither density has mass, where it would be a ratio of two
# numbers near 0), the data's density and G's. Each
# arrow points to where D rises, and its length grows with D's slope there. The arrows
# follow D, not :math:`D^*`: D is a small network trained one step at a time, often far
# from the optimum for the current G, and G is told only what D believes.

one_d = toys.run_gan_toy("gaussian1d", seed=0, snapshots=3)      # 4,000 iterations
fig, axes = plt.subplots(3, 1, figsize=(8, 11), layout="constrained")
for ax, frame in zip(axes, one_d["frames"], strict=True):
    toys.draw_frame(ax, "gaussian1d", frame, one_d["real"])
plt.show()

# %%
# The xy game beside it
# ---------------------
# The smallest game of two players, :math:`V(x, y) = xy` with :math:`x` ascending V and
# :math:`y` descending it (:func:`minigan.lab.toys.xy_play`), has its own vector field:
# each player's gradient step, :math:`(\dot x, \dot y) = (y, -x)`, a rotation about the
# equilibrium (0, 0). Simultaneous steps spiral out, alternating steps (Algorithm 1's
# order: D, then G against the new D) circle. In the ring8 pictures G's arrows are one
# half of such a field: the other half, D's step, moves the surface the arrows come from.

u = np.linspace(-3, 3, 13)
gx, gy = np.meshgrid(u, u)
fig, axes = plt.subplots(1, 2, figsize=(11, 5), layout="constrained")
ax = axes[0]
ax.quiver(gx, gy, gy, -gx, color="0.4", angles="xy")
for alternating, color in ((False, "C3"), (True, "C0")):
    path = toys.xy_play(60, 0.1, alternating=alternating)
    ax.plot(*path.T, color=color, label=("alternating" if alternating else "simultaneous")
            + f" play, 60 steps of 0.1: |(x, y)| = {np.hypot(*path[-1]):.2f}")
ax.plot(0, 0, "k*", ms=10, label="equilibrium (0, 0)")
x0, y0 = path[0]
ax.plot(x0, y0, "ko", ms=5, label=f"both start at ({x0:g}, {y0:g}): |(x, y)| = {np.hypot(x0, y0):.2f}")
ax.set(xlabel="x (ascends xy)", ylabel="y (descends xy)", aspect="equal",
       title="V = xy: the players' gradient field (y, -x)")
ax.legend(fontsize=8, loc="upper center", bbox_to_anchor=(0.5, -0.12))
image = toys.draw_frame(axes[1], spec, result["frames"][-1], result["real"])
fig.colorbar(image, ax=axes[1], shrink=0.8, label="D(x): the probability that x is real")
plt.show()

# %%
# What D tells an MNIST generator
# -------------------------------
# The same vector for a generated digit is an image: what D asks G to change, pixel by
# pixel. ``minigan sample --checkpoint RUN --gradients`` draws each generated digit
# beside :math:`-\partial L_G/\partial x` (red: D asks for a brighter pixel; blue: a
# darker one; one colour scale for every pair), with D's output above each pair. The
# digits are one batch of D's, as in a G step, and D runs as the G step runs it (the
# DCGAN's batch norm with the batch's statistics). The figure below is a DCGAN after 3
# epochs of the 10,000 MNIST test digits (468 iterations, about a minute of training on two
# cores, more than this site spends on a page as it builds, and the MNIST files are not
# at hand there); it was made ahead with
#
# .. code-block:: bash
#
#     minigan train --model dcgan --split test --data-dir DIR --epochs 3 --seed 0 \
#         --device cpu --out runs/dcgan3
#     minigan sample --checkpoint runs/dcgan3 --gradients --n 24 --nrow 8 --seed 0 \
#         --out what_g_is_told_dcgan.png
#
# on a 2-core AMD EPYC virtual machine (no GPU), NumPy with OpenBLAS, float32, on
# 2026-12-03, with the code of commit 72acdae (the picture then reduced to 256 colours
# for the site).
#
# .. image:: /figures/what_g_is_told_dcgan.png
#    :alt: 24 generated digits, each beside the gradient D sends back to it
#
# The gradient is speckled, pixel by pixel: D's strided convolutions answer fine
# patterns, and G's transposed convolutions turn it into changes of whole strokes. Two
# things can be read off it. Its size follows D's verdict: for the non-saturating loss
# :math:`\ell_G'(a) = -(1 - D(x))`, so a digit D takes for fake gets a strong push and
# a convincing one a faint push (over these 24 digits the gradient's norm and D's output
# have a correlation of -0.97). And it asks for ink where G put ink: on the strokes the
# mean of :math:`-\partial L_G/\partial x` is positive (brighter, about 0.0017 a
# pixel), on the background slightly negative (darker, about -0.0004).
#
# Checked again on 2026-12-06 with the code of commit d49f2fd, on a 2-core AMD EPYC
# virtual machine without AVX-512 (NumPy with OpenBLAS, Haswell kernels, float32): the
# two commands drew the same 24 digits, with the same outputs of D and the same
# gradients (the picture is now 6 pixels taller, its colour bar at least as tall as its
# label); the correlation is -0.969; taking as strokes the pixels G drew above -0.5 (in
# its range [-1, 1]; 17% of the pixels) and the others as background, the means are
# +0.00170 on the strokes and -0.00045 on the background, and each of the 24 digits has a
# positive mean on its strokes and a negative one on its background. With -0.5 replaced
# by 0 (14% of the pixels strokes) the means are +0.00226 and -0.00046.
#
# The picture of ring8 in the README (``docs/figures/what_g_is_told_ring8.png``) is
# ``snapshot_01250.png`` of the toy's own run, made with
#
# .. code-block:: bash
#
#     OPENBLAS_NUM_THREADS=1 minigan toy ring8 --noise-grid
#
# (seed 0, 10,000 iterations; on a machine of the same kind on 2026-12-07, with the code
# of commit ed3b013, which draws the real samples larger than G's and under them, so that a
# mode G misses shows blue alone; reduced to 256 colours).
