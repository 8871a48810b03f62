"""The gradient penalty's double backward for a critic of three Dense layers: the forward
pass (top), the backward pass that gives the input gradient g (middle, right to left), and
the sweep of r = dP/d(signal) that goes forwards again (bottom), each weight gradient
taken where the sweep meets the backward signal of its layer."""

import matplotlib.pyplot as plt
from matplotlib.patches import FancyArrowPatch

cols = [0.0, 3.7, 7.4, 11.1]                 # the input side, between the layers, the output
rows = {"forward": 2.9, "backward": 1.6, "sweep": 0.0}
forward = [r"$h_0 = \hat x$", r"$h_1 = \phi(z_1)$", r"$h_2 = \phi(z_2)$", r"$f = z_3$"]
backward = [r"$g = e_1$", r"$\delta_1 = e_2 \odot \phi'_1$", r"$\delta_2 = e_3 \odot \phi'_2$",
            r"$\delta_3 = 1$"]
sweep = [r"$r_0 = \rho$", r"$r_1 = (r_0 W_1)\odot \phi'_1$", r"$r_2 = (r_1 W_2)\odot \phi'_2$"]

fig, ax = plt.subplots(figsize=(10.6, 4.2))
styles = {"forward": ("#eef3fb", "#4a6fa5"), "backward": ("#fdf0e6", "#c0611b"),
          "sweep": ("#eaf6ec", "#2e7d32")}
boxes = {}
for row, labels in (("forward", forward), ("backward", backward), ("sweep", sweep)):
    face, edge = styles[row]
    for i, label in enumerate(labels):
        boxes[row, i] = ax.text(cols[i], rows[row], label, ha="center", va="center",
                                fontsize=12, bbox={"boxstyle": "round,pad=0.35",
                                                   "facecolor": face, "edgecolor": edge})


def arrow(a, b, label, colour, below=False):
    ax.add_patch(FancyArrowPatch(posA=(cols[a[1]], rows[a[0]]), posB=(cols[b[1]], rows[b[0]]),
                                 patchA=boxes[a], patchB=boxes[b], arrowstyle="-|>",
                                 mutation_scale=14, color=colour, shrinkA=3, shrinkB=3))
    x = (cols[a[1]] + cols[b[1]]) / 2
    ax.text(x, rows[a[0]] + (-0.3 if below else 0.26), label, ha="center", fontsize=10.5,
            color=colour, va="center")


for l in (1, 2, 3):
    arrow(("forward", l - 1), ("forward", l), rf"$z_{l} = h_{l - 1} W_{l} + b_{l}$", "#4a6fa5")
    arrow(("backward", l), ("backward", l - 1), rf"$e_{l} = \delta_{l} W_{l}^\top$", "#c0611b")
for l in (1, 2):
    arrow(("sweep", l - 1), ("sweep", l), rf"$\cdot\,W_{l}$, then $\odot\,\phi'_{l}$", "#2e7d32",
          below=True)
# each weight gradient: the sweep's r_{l-1} (entering layer l) with layer l's delta_l
for l in (1, 2, 3):
    x = (cols[l - 1] + cols[l]) / 2
    ax.text(x, 0.8, rf"$\partial P/\partial W_{l} = r_{l - 1}^\top\,\delta_{l}$", ha="center",
            va="center", fontsize=11.5, bbox={"boxstyle": "round,pad=0.3", "facecolor": "white",
                                              "edgecolor": "0.4"})
    for (px, py, qy) in ((cols[l - 1], rows["sweep"] + 0.22, 0.6),
                         (cols[l], rows["backward"] - 0.22, 1.0)):
        ax.plot([px, x], [py, qy], ls=":", color="0.45", lw=1)
for row, text in (("forward", "forward pass"), ("backward", "backward: input gradient"),
                  ("sweep", "double backward: the sweep of r")):
    ax.text(-1.3, rows[row], text, ha="right", va="center", fontsize=10,
            color=styles[row][1])
ax.set_xlim(-4.6, 12.3)
ax.set_ylim(-0.6, 3.4)
ax.axis("off")
fig.tight_layout()
