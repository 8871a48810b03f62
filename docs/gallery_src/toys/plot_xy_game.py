r"""
The xy game: simultaneous against alternating gradient play
============================================================

The smallest zero-sum game, :math:`V(x, y) = x y`: the player :math:`x` maximizes
:math:`V` (as D does), the player :math:`y` minimizes it (as G does), the roles of
``minigan toy xy`` (:func:`minigan.lab.toys.xy_play`). Its only equilibrium is :math:`(0, 0)`.
The gradients are :math:`\partial V/\partial x = y` and :math:`\partial V/\partial y = x`.

*Simultaneous* gradient play updates both players from the same point,

.. math::
    x_{t+1} = x_t + \eta\, y_t, \qquad y_{t+1} = y_t - \eta\, x_t,

a rotation scaled by :math:`\sqrt{1 + \eta^2} > 1` per step: it spirals **away** from the
equilibrium. *Alternating* play (what Algorithm 1 does: D moves, then G moves against
the new D) lets :math:`y` answer the new :math:`x`,

.. math::
    x_{t+1} = x_t + \eta\, y_t, \qquad y_{t+1} = y_t - \eta\, x_{t+1},

a map of determinant 1: it circles the equilibrium forever on a closed orbit,
neither converging nor diverging. Neither reaches :math:`(0, 0)`.

Both players here are plain parameter arrays trained by :class:`minigan.nn.optim.SGD`,
which descends: :math:`x` ascends :math:`V` by descending :math:`-V`.
"""

import matplotlib.pyplot as plt
import numpy as np

from minigan.nn import optim

eta, steps = 0.1, 200


def play(alternating):
    x, y = np.array([2.0]), np.array([2.0])          # both players start at (2, 2)
    gx, gy = np.zeros(1), np.zeros(1)                  # their gradients
    opt_x, opt_y = optim.SGD([(x, gx)], lr=eta), optim.SGD([(y, gy)], lr=eta)
    path = [(x[0], y[0])]
    for _ in range(steps):
        gx[...] = -y                                   # d(-V)/dx = -y
        gy[...] = x                                    # dV/dy = x
        opt_x.step()                                   # x <- x + eta y
        if alternating:
            gy[...] = x                                # y answers the NEW x
        opt_y.step()                                   # y <- y - eta x
        path.append((x[0], y[0]))
    return np.array(path)


simultaneous, alternating = play(False), play(True)
r = np.hypot(*simultaneous.T)
print(f"distance to (0, 0) after {steps} steps: simultaneous {r[-1]:.2f} "
      f"(predicted {r[0] * (1 + eta**2) ** (steps / 2):.2f}), "
      f"alternating {np.hypot(*alternating[-1]):.2f} (started at {r[0]:.2f})")
ra = np.hypot(*alternating.T)          # the closed orbit is an ellipse, not a circle
print(f"alternating: the distance to (0, 0) swings between {ra.min():.2f} and {ra.max():.2f}, "
      f"the same at every turn")

fig, axes = plt.subplots(1, 2, figsize=(9, 4.4), sharex=True, sharey=True)
for ax, path, name in zip(axes, (simultaneous, alternating), ("simultaneous", "alternating"),
                          strict=True):
    ax.plot(*path.T, lw=1)
    ax.plot(*path[0], "o", color="C1", label="start (2, 2)")
    ax.plot(0, 0, "k*", ms=10, label="equilibrium (0, 0)")
    ax.set_title(f"{name} gradient play, \N{GREEK SMALL LETTER ETA} = {eta}")
    ax.set_xlabel("x (maximizes xy)")
    ax.set_aspect("equal")
axes[0].set_ylabel("y (minimizes xy)")
axes[0].legend(loc="lower left")
fig.tight_layout()
plt.show()
