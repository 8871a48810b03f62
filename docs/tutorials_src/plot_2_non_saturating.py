r"""
Why the non-saturating loss
===========================

In the minimax game the generator descends :math:`\log(1 - D(G(z)))`. Early in
training the discriminator rejects the fakes with confidence, :math:`D(G(z)) \approx 0`,
and there this loss is flat: the generator gets almost no gradient. Goodfellow et al.
(2014) therefore train G to *maximize* :math:`\log D(G(z))` instead, the
non-saturating loss, which has the same fixed point and strong gradients exactly where
G is losing.

With D's logit :math:`a` for a fake and :math:`D = \sigma(a)`, per sample:

.. math::
    \text{minimax:}\quad \frac{\partial}{\partial a}\log(1 - \sigma(a)) = -\sigma(a) = -D,

.. math::
    \text{non-saturating:}\quad \frac{\partial}{\partial a}\bigl(-\log \sigma(a)\bigr)
    = \sigma(a) - 1 = -(1 - D).

The minimax gradient vanishes like :math:`D` as :math:`D \to 0`; the non-saturating one
tends to :math:`-1`. Both point the same way (raise :math:`a`, fool D).

The curves below are not drawn from these formulas: they are the gradients returned by
:func:`minigan.functional.losses.generator_loss`, the function training uses, evaluated on a batch of
logits (times the batch size :math:`m`, since the loss is a mean).

"""

import matplotlib.pyplot as plt
import numpy as np

from minigan.functional import losses

a = np.linspace(-9, 9, 721)[:, None]          # a batch of D's logits for fake samples
D = 1 / (1 + np.exp(-a[:, 0]))
m = a.shape[0]
curves = {}
for form in ("minimax", "non_saturating"):
    loss, dlogits = losses.generator_loss(a, form)
    curves[form] = np.abs(dlogits[:, 0]) * m    # |dL_G/da| per sample
    print(f"{form:>15}: |dL/da| at D(G(z)) = {D[0]:.1e}: {curves[form][0]:.1e}, "
          f"at D(G(z)) = 0.5: {np.interp(0.5, D, curves[form]):.2f}")

assert np.allclose(curves["minimax"], D) and np.allclose(curves["non_saturating"], 1 - D)

fig, axes = plt.subplots(1, 2, figsize=(10, 4))
for form, style in (("minimax", "C3"), ("non_saturating", "C0")):
    label = {"minimax": "minimax  $\\log(1 - D(G(z)))$",
             "non_saturating": "non-saturating  $-\\log D(G(z))$"}[form]
    axes[0].plot(D, curves[form], style, label=label)
    axes[1].semilogy(D, curves[form], style, label=label)
for ax in axes:
    ax.set_xlabel("D(G(z)): how much D believes the fake")
    ax.axvspan(0, 0.1, color="0.9")
    ax.text(0.01, 0.5 if ax is axes[0] else 1e-3, "early training:\nD rejects the fakes",
            fontsize=8)
axes[0].set_ylabel("|dL_G / da| per sample (a: D's logit)")
axes[0].legend(fontsize=8)
axes[1].set_ylabel("|dL_G / da| per sample, log scale")
axes[1].set_title("the same, log scale")
fig.tight_layout()
plt.show()

# %%
# In a real run: the gradient that reaches G's parameters
# -------------------------------------------------------
# The factor above multiplies every gradient the generator gets. The lab's experiment
# :func:`minigan.lab.toys.generator_gradient_norms` measures it where it matters, on G's
# parameters, during training on the 1-D toy (data :math:`N(4, 1.25^2)`, G and D MLPs
# 1-32-32-1; the ``gaussian1d`` toy of ``minigan toy``). Both runs start from the same
# weights and data and differ only in G's loss. D first takes 300 steps alone, so that it
# rejects the fakes, as D often does early in training, while G is poor; then Algorithm 1 runs
# for 200 iterations and :math:`\|\partial L_G/\partial\theta_G\|` is recorded at each
# (``minigan toy gaussian1d`` draws the left panel, ``generator_gradient.png``).

from minigan import backend  # noqa: E402
from minigan.lab import toys  # noqa: E402

backend.use("cpu")
norms = toys.generator_gradient_norms(iterations=200, seed=0)
fig, axes = plt.subplots(1, 2, figsize=(10, 3.5))
for form, style in (("minimax", "C3"), ("non_saturating", "C0")):
    rec = norms[form]
    axes[0].semilogy(rec["grad_norm"], style, label=toys.G_LOSS_LABELS[form])
    axes[1].plot(rec["d_gen"], style, label=toys.G_LOSS_LABELS[form])
    print(f"{form:>15}: mean |dL_G/dtheta_G| over the first 50 iterations "
          f"{np.mean(rec['grad_norm'][:50]):.3g}, mean D(G(z)) {np.mean(rec['d_gen'][:50]):.3f}")
axes[0].set(xlabel="iteration", ylabel="|dL_G / dtheta_G|", title="G's gradient norm")
axes[1].set(xlabel="iteration", ylabel="mean D(G(z))", title="how much D believes the fakes")
axes[0].legend(fontsize=8)
fig.tight_layout()
plt.show()

# %%
# While :math:`D(G(z))` is near 0 the minimax generator receives a gradient several times
# smaller than the non-saturating one, from the same weights (the printed means). The
# right panel shows that here it still fools D about as fast: both players use Adam,
# which divides each step by the recent size of the gradient, so a gradient made smaller
# as a whole still gives steps of much the same size. Under a plain gradient step,
# :math:`\theta \leftarrow \theta - \eta\,\partial L_G/\partial\theta`
# (:class:`minigan.nn.optim.SGD`), it would not: the step shrinks with the gradient, and
# the minimax generator would learn slowest exactly when it is worst.
