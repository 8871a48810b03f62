r"""
The optimal discriminator in 1-D: D against D*
==============================================

Data :math:`x \sim p_{data} = N(4, 1.25^2)`. For a fixed generator with density
:math:`p_g`, the discriminator that maximizes
:math:`V(D, G) = E_{p_{data}}[\log D(x)] + E_{p_g}[\log(1 - D(x))]` is, pointwise
(Goodfellow et al. 2014, Proposition 1),

.. math:: D^*(x) = \frac{p_{data}(x)}{p_{data}(x) + p_g(x)},

since :math:`a \log D + b \log(1 - D)` peaks at :math:`D = a / (a + b)`. At
:math:`D^*` the game's value is :math:`-\log 4 + 2\,\mathrm{JSD}(p_{data} \,\|\, p_g)`.

Top: the generator is frozen at its initialization, an affine map of
:math:`z \sim N(0, 1)`, and a small MLP discriminator trained with
:func:`minigan.functional.losses.sigmoid_cross_entropy` on logits comes close to :math:`D^*`.
Bottom: Algorithm 1 (:class:`minigan.gan.GAN`) then trains both players; the
generator's samples move onto the data and :math:`D^*` flattens towards 1/2.
"""

import matplotlib.pyplot as plt
import numpy as np

from minigan import gan
from minigan.functional import losses
from minigan.nn import layers, optim

rng = np.random.default_rng(0)
mu, sigma, m = 4.0, 1.25, 256


def real_batch():
    return rng.normal(mu, sigma, (m, 1))


def density(x, mean, std):
    return np.exp(-0.5 * ((x - mean) / std) ** 2) / (std * np.sqrt(2 * np.pi))


# G: z -> w z + c, so p_g = N(c, w^2) exactly.  D: x -> 32 LeakyReLU -> 32 LeakyReLU -> 1 logit.
G = layers.Sequential(layers.Dense(1, 1, rng=rng, dtype="float64"))
G.params["0.W"][...], G.params["0.b"][...] = 0.6, -1.0      # start far from the data
D = layers.Sequential(layers.Dense(1, 32, rng=rng, dtype="float64"), layers.LeakyReLU(0.2),
                      layers.Dense(32, 32, rng=rng, dtype="float64"), layers.LeakyReLU(0.2),
                      layers.Dense(32, 1, rng=rng, dtype="float64"))


def p_g(x):
    w, c = float(G.params["0.W"][0, 0]), float(G.params["0.b"][0])
    return density(x, c, abs(w))


def d_of(x):
    D.eval()
    out = 1 / (1 + np.exp(-D.forward(x[:, None])[:, 0]))
    D.train()
    return out


# 1. D alone against the frozen G: descend -E log D(x) - E log(1 - D(G(z)))
d_opt = optim.Adam(D, lr=2e-3)
for _ in range(1500):
    D.zero_grad()
    _, dreal = losses.sigmoid_cross_entropy(D.forward(real_batch()), 1.0)
    D.backward(dreal, input_grad=False)
    fake = G.forward(rng.standard_normal((m, 1)))
    _, dfake = losses.sigmoid_cross_entropy(D.forward(fake), 0.0)
    D.backward(dfake, input_grad=False)
    d_opt.step()

xs = np.linspace(-4, 10, 400)
fig, axes = plt.subplots(2, 1, figsize=(8, 7), sharex=True)


def panel(ax, title):
    d_star = density(xs, mu, sigma) / (density(xs, mu, sigma) + p_g(xs))
    ax.plot(xs, density(xs, mu, sigma), "k", label="$p_{data}$ = N(4, 1.25$^2$)")
    ax.plot(xs, p_g(xs), "C1", label="$p_g$")
    ax.plot(xs, d_star, "C2--", label="$D^*(x)$")
    ax.plot(xs, d_of(xs), "C0", label="$D(x) = \\sigma(a)$")
    ax.set_ylim(-0.02, 1.05)
    ax.set_ylabel("densities; D's output")
    ax.set_title(title)
    ax.legend(loc="upper left", fontsize=8)
    inside = (density(xs, mu, sigma) + p_g(xs)) > 1e-2
    return np.abs(d_of(xs) - d_star)[inside].max()


gap = panel(axes[0], "the generator frozen, D trained alone for 1500 steps")
print(f"frozen G: max |D - D*| where the densities live: {gap:.3f}")

# 2. Algorithm 1: one D step, one G step (non-saturating), 2000 iterations
model = gan.GAN(G, D, optim.Adam(G, lr=5e-3), optim.Adam(D, lr=2e-3), noise_dim=1, rng=rng)
for _ in range(2000):
    stats = model.train_iteration(real_batch)
w, c = float(G.params["0.W"][0, 0]), float(G.params["0.b"][0])
print(f"after training: p_g = N({c:.2f}, {abs(w):.2f}^2), p_data = N({mu}, {sigma}^2); "
      f"mean D(x) {stats['d_real']:.2f}, mean D(G(z)) {stats['d_fake']:.2f}")
panel(axes[1], "after 2000 iterations of Algorithm 1 (k = 1)")
axes[1].set_xlabel("x")
fig.tight_layout()
plt.show()
