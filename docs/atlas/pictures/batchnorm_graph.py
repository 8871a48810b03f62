"""Batch norm's computational graph for one channel: the forward pass left to right (black),
and under each node the gradient the backward pass computes there (red), right to left."""

import matplotlib.pyplot as plt
from matplotlib.patches import FancyArrowPatch

nodes = {   # name: (x, y, forward formula, backward formula[, where the backward formula goes])
    "x": (0.0, 1.0, r"$x$", r"$\bar x = \bar d + \bar\mu/m$"),
    "mu": (2.3, 2.6, r"$\mu = \frac{1}{m}\sum_k x_k$", r"$\bar\mu = -\sum_k \bar d_k$"),
    "d": (4.6, 1.0, r"$d = x - \mu$", r"$\bar d = s\,\bar{\hat x} + \frac{2}{m}\,d\;\overline{\sigma^2}$"),
    "var": (6.9, 2.6, r"$\sigma^2 = \frac{1}{m}\sum_k d_k^2$",
            r"$\overline{\sigma^2} = -\frac{1}{2}\,s^3\,\bar s$"),
    "s": (9.2, 2.6, r"$s = (\sigma^2 + \epsilon)^{-1/2}$", r"$\bar s = \sum_k \bar{\hat x}_k\, d_k$",
          "right"),
    "xhat": (9.2, 1.0, r"$\hat x = d\, s$", r"$\bar{\hat x} = \gamma\,\bar y$"),
    "out": (11.8, 1.0, r"out $= \gamma\hat x + \beta$", r"$\bar y$ = dout", "right"),
    "gamma": (11.8, 2.6, r"$\gamma$", r"$\bar\gamma = \sum_k \bar y_k \hat x_k$", "right"),
    "beta": (11.8, -0.6, r"$\beta$", r"$\bar\beta = \sum_k \bar y_k$", "right"),
}
edges = [("x", "mu"), ("x", "d"), ("mu", "d"), ("d", "var"), ("var", "s"), ("s", "xhat"),
         ("d", "xhat"), ("xhat", "out"), ("gamma", "out"), ("beta", "out")]

fig, ax = plt.subplots(figsize=(10, 3.7))
box = {"boxstyle": "round,pad=0.35", "facecolor": "#eef3fb", "edgecolor": "#4a6fa5"}
artists = {}
for name, (x, y, forward, backward, *where) in nodes.items():
    artists[name] = ax.text(x, y, forward, ha="center", va="center", fontsize=12.5, bbox=box)
    if where:                                             # beside the node, right of it
        dx = {"out": 1.3, "s": 1.25}.get(name, 0.45)
        ax.text(x + dx, y - (0.55 if name == "s" else 0.0), backward, ha="left", va="center",
                fontsize=11, color="#b22222")
    else:                                                 # under the node
        ax.text(x, y - 0.55, backward, ha="center", va="top", fontsize=11, color="#b22222")
for a, b in edges:
    ax.add_patch(FancyArrowPatch(posA=nodes[a][:2], posB=nodes[b][:2], patchA=artists[a],
                                 patchB=artists[b], arrowstyle="-|>", mutation_scale=14,
                                 color="0.2", shrinkA=4, shrinkB=4))
ax.text(0.0, 3.3, "forward: arrows, left to right;  backward: the gradients in red, "
        "right to left "
        r"(a bar is $\partial L/\partial\,\cdot$, sums over the channel's $m$ values)",
        fontsize=9.5, color="0.25", ha="left")
ax.set_xlim(-0.8, 15.2)
ax.set_ylim(-1.5, 3.6)
ax.axis("off")
fig.tight_layout()
