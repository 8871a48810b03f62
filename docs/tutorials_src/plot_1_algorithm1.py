r"""
Algorithm 1 line by line
========================

One iteration of Goodfellow et al.'s Algorithm 1 (k = 1) for the vanilla GAN, written
with the forward/backward pairs of :mod:`minigan.functional` and the losses of
:mod:`minigan.functional.losses`, so that every array and every gradient call is on the page.
At the end the same iteration is run by :meth:`minigan.gan.GAN.train_iteration` from
the same seed, and the parameters of both are compared.

The players (the classic TensorFlow listing, ``minigan train --model vanilla``, here with
a batch of 64 where that model takes 128; the default model, ``mlp``, is larger and plays
another game, :doc:`/cli`):

- :math:`G`: :math:`z \in \mathbb{R}^{100}` :math:`\to` Dense 128, ReLU :math:`\to` Dense 784, sigmoid;
- :math:`D`: :math:`x \in \mathbb{R}^{784}` :math:`\to` Dense 128, ReLU :math:`\to` Dense 1, a **logit**
  :math:`a`, with :math:`D(x) = \sigma(a)` formed only inside the loss.

Stand-in data: uniform "images" in :math:`[0, 1]^{784}` (the examples use MNIST;
the shapes are the same).
"""

import numpy as np

from minigan import functional as F
from minigan import gan
from minigan.functional import losses
from minigan.nn import layers, optim

m, nz, nh, nx = 64, 100, 128, 784            # batch, noise, hidden units, pixels


def build(seed):
    rng = np.random.default_rng(seed)
    G = layers.Sequential(layers.Dense(nz, nh, rng=rng, dtype="float64"), layers.ReLU(),
                          layers.Dense(nh, nx, rng=rng, dtype="float64"), layers.Sigmoid())
    D = layers.Sequential(layers.Dense(nx, nh, rng=rng, dtype="float64"), layers.ReLU(),
                          layers.Dense(nh, 1, rng=rng, dtype="float64"))
    return G, D, rng


def show(name, a):
    print(f"{name:<34} {str(a.shape):>11}")


G, D, rng = build(0)
X = np.random.default_rng(1).random((1000, nx))                 # stand-in data set
x_real = X[:m]                                                   # one real minibatch
g, d = G.params, D.params                                        # "0.W", "0.b", "2.W", "2.b"
for k in sorted(g):
    show(f"G.{k}", g[k])
for k in sorted(d):
    show(f"D.{k}", d[k])

# %%
# The discriminator step
# ----------------------
# D ascends :math:`\frac1m\sum_i \bigl[\log D(x^{(i)}) + \log(1 - D(G(z^{(i)})))\bigr]`, that is,
# descends the cross-entropy :math:`L_D = \frac1m\sum \ell(a_{real}, 1) + \frac1m\sum
# \ell(a_{fake}, 0)` with :math:`\ell(a, t) = \max(a, 0) - a t + \log(1 + e^{-|a|})`
# (:func:`minigan.functional.losses.sigmoid_cross_entropy`, whose gradient is
# :math:`(\sigma(a) - t)/m`). The real and the fake batch go through D in separate
# passes; their gradients **add up** before the one update.

z = gan.sample_noise(m, nz, rng=rng, dtype="float64")             # z ~ N(0, I)
show("z", z)
# G's forward pass: the fake batch (no gradient needed into G in a D step)
h, _ = F.dense_forward(z, g["0.W"], g["0.b"])
h, _ = F.relu_forward(h)
fake, _ = F.sigmoid_forward(F.dense_forward(h, g["2.W"], g["2.b"])[0])
show("x_fake = G(z)", fake)


def d_forward(x):
    """D's forward pass, keeping each pair's cache for the backward pass."""
    h1, c1 = F.dense_forward(x, d["0.W"], d["0.b"])               # (m, 128)
    r1, c2 = F.relu_forward(h1)                                   # (m, 128)
    a, c3 = F.dense_forward(r1, d["2.W"], d["2.b"])               # (m, 1): logits
    return a, (c1, c2, c3)


def d_backward(da, caches, input_grad=False):
    """D's backward pass: returns dx (or None) and the parameter gradients."""
    c1, c2, c3 = caches
    dr1, dW2, db2 = F.dense_backward(da, c3)                      # (m, 128), (128, 1), (1,)
    dh1 = F.relu_backward(dr1, c2)                                # (m, 128)
    dx, dW0, db0 = F.dense_backward(dh1, c1, input_grad=input_grad)
    return dx, {"0.W": dW0, "0.b": db0, "2.W": dW2, "2.b": db2}


a_real, cache_real = d_forward(x_real)
loss_real, da_real = losses.sigmoid_cross_entropy(a_real, 1.0)    # da = (sigma(a) - 1)/m
_, grads_real = d_backward(da_real, cache_real)
a_fake, cache_fake = d_forward(fake)
loss_fake, da_fake = losses.sigmoid_cross_entropy(a_fake, 0.0)    # da = sigma(a)/m
_, grads_fake = d_backward(da_fake, cache_fake)
d_grads = {k: grads_real[k] + grads_fake[k] for k in d}           # the two halves accumulate
show("a_real, a_fake (logits)", a_real)
show("dL_D/da_real", da_real)
for k in sorted(d_grads):
    show(f"dL_D/D.{k}", d_grads[k])
print(f"L_D = {loss_real:.4f} + {loss_fake:.4f}")

# %%
# Then one Adam update of D's four arrays (:func:`minigan.nn.optim.adam_update`, step
# :math:`t = 1`, so the bias corrections are :math:`1 - \beta_1` and :math:`1 - \beta_2`).

lr, b1, b2, eps = 1e-3, 0.9, 0.999, 1e-8
d_state = {k: (np.zeros_like(p), np.zeros_like(p)) for k, p in d.items()}
for k, p in d.items():
    optim.adam_update(p, d_grads[k], *d_state[k], lr, b1, b2, eps, 1 - b1, 1 - b2)

# %%
# The generator step
# ------------------
# G descends the non-saturating loss :math:`L_G = -\frac1m\sum \log D(G(z))
# = \frac1m\sum\ell(a, 1)` (:func:`minigan.functional.losses.generator_loss`) with a FRESH noise
# batch. The gradient passes through the **updated, frozen** D: D's backward computes
# :math:`\partial L_G/\partial x` for G's output and none of D's own gradients.

z = gan.sample_noise(m, nz, rng=rng, dtype="float64")
h0, cg1 = F.dense_forward(z, g["0.W"], g["0.b"])                 # (m, 128)
h1, cg2 = F.relu_forward(h0)                                     # (m, 128)
a2, cg3 = F.dense_forward(h1, g["2.W"], g["2.b"])                # (m, 784)
fake, cg4 = F.sigmoid_forward(a2)                                # (m, 784): pixels in (0, 1)
a_gen, cache_gen = d_forward(fake)
g_loss, da_gen = losses.generator_loss(a_gen, "non_saturating")  # da = (sigma(a) - 1)/m
c1, c2, c3 = cache_gen
dr1 = F.dense_backward(da_gen, c3, param_grads=False)[0]          # frozen D: dx only
dfake = F.dense_backward(F.relu_backward(dr1, c2), c1, param_grads=False)[0]
show("dL_G/dG(z)", dfake)
da2 = F.sigmoid_backward(dfake, cg4)                             # (m, 784)
dh1, dW2g, db2g = F.dense_backward(da2, cg3)                     # (m, 128), (128, 784), (784,)
dh0 = F.relu_backward(dh1, cg2)
_, dW0g, db0g = F.dense_backward(dh0, cg1, input_grad=False)      # no gradient into z
g_grads = {"0.W": dW0g, "0.b": db0g, "2.W": dW2g, "2.b": db2g}
for k in sorted(g_grads):
    show(f"dL_G/G.{k}", g_grads[k])
g_state = {k: (np.zeros_like(p), np.zeros_like(p)) for k, p in g.items()}
for k, p in g.items():
    optim.adam_update(p, g_grads[k], *g_state[k], lr, b1, b2, eps, 1 - b1, 1 - b2)
print(f"L_G = {g_loss:.4f}")

# %%
# The same iteration by the library
# ---------------------------------
# :class:`minigan.gan.GAN` does exactly these calls through the layers; from the same
# seed it draws the same noise and ends with the same parameters. It returns the
# iteration's numbers: ``d_loss`` (:math:`L_D` above, the sum of its two halves),
# ``d_real`` and ``d_fake`` (the mean :math:`D(x)` and :math:`D(G(z))` in the D step),
# ``g_loss`` (:math:`L_G`) and ``d_gen`` (the mean :math:`D(G(z))` in the G step, through
# the updated D). Here ``d_gen`` is far above ``d_fake``: the stand-in data and G's first
# outputs both sit around 0.5, D cannot yet tell them apart, and its one step, pushed
# mostly by the larger loss on the real batch, raised its output for real and fake alike.

G2, D2, rng2 = build(0)
model = gan.GAN(G2, D2, optim.Adam(G2), optim.Adam(D2), noise_dim=nz, k=1, rng=rng2)
stats = model.train_iteration(lambda: x_real)
print({k: round(v, 4) for k, v in stats.items()})
diff = max(float(np.abs(a[k] - b[k]).max()) for a, b in ((g, G2.params), (d, D2.params))
           for k in a)
print(f"largest difference between the two runs' parameters: {diff:.1e}")
assert diff < 1e-12
