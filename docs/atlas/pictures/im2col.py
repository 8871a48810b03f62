"""im2col as a picture: the patches of a 3 x 3 image become the columns of X_col, and the
convolution is the kernel's row times those columns (the numbers come from minigan)."""

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.patches import FancyArrowPatch, Rectangle

from minigan import functional as F

x = np.arange(1.0, 10.0).reshape(1, 1, 3, 3)
W = np.array([[[[1.0, 0.0], [-1.0, 2.0]]]])
out, cache = F.conv2d_forward(x, W, None)
col = cache[0].reshape(4, 4)               # rows: kernel offsets (i, j); columns: pixels (r, t)
colours = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728"]


def grid(ax, x0, y0, values, fill=None, size=1.0):
    """A table of numbers with its top-left corner at (x0, y0); fill[r][c] a colour or None."""
    for r, row in enumerate(values):
        for c, v in enumerate(row):
            face = fill[r][c] if fill is not None else "white"
            ax.add_patch(Rectangle((x0 + c * size, y0 - (r + 1) * size), size, size,
                                   facecolor=face, edgecolor="0.3", lw=0.8,
                                   alpha=0.35 if face != "white" else 1))
            ax.text(x0 + (c + 0.5) * size, y0 - (r + 0.5) * size, f"{v:g}",
                    ha="center", va="center", fontsize=11)


fig, ax = plt.subplots(figsize=(8.6, 2.5))
# the image, with its four 2 x 2 patches outlined
grid(ax, 0, 3.5, x[0, 0])
for k, (r, t) in enumerate([(0, 0), (0, 1), (1, 0), (1, 1)]):
    d = 0.06 * (k + 1)
    ax.add_patch(Rectangle((t + d, 3.5 - r - 2 + d), 2 - 2 * d, 2 - 2 * d, fill=False,
                           edgecolor=colours[k], lw=2.2))
ax.text(1.5, 3.8, r"image $x$ ($3\times 3$)", ha="center", fontsize=11)
ax.add_patch(FancyArrowPatch((3.2, 2.0), (4.4, 2.0), arrowstyle="-|>", mutation_scale=16))
ax.text(3.8, 2.2, "im2col", ha="center", fontsize=10)

# the columns: column k is patch k, read row by row; a row per kernel offset (i, j)
grid(ax, 5.2, 3.6, col, fill=[colours] * 4, size=0.8)
ax.text(6.8, 3.85, r"$X_{col}$: a column per patch", ha="center", fontsize=11)
for r, (i, j) in enumerate([(0, 0), (0, 1), (1, 0), (1, 1)]):
    ax.text(5.1, 3.6 - (r + 0.5) * 0.8, f"({i},{j})", ha="right", va="center",
            fontsize=8, color="0.4")

# the kernel as a row, times the columns: one output value per column
grid(ax, 9.4, 3.6, W.reshape(1, 4), size=0.8)
ax.text(11.0, 3.85, r"$W_m$: the kernel as a row", ha="center", fontsize=11)
ax.text(11.0, 2.3, r"$W_m X_{col}$", ha="center", fontsize=11)
grid(ax, 9.4, 2.0, W.reshape(1, 4) @ col, fill=[colours], size=0.8)
ax.add_patch(FancyArrowPatch((12.7, 1.6), (13.7, 1.6), arrowstyle="-|>", mutation_scale=16))
grid(ax, 13.8, 2.4, out[0, 0], fill=[colours[:2], colours[2:]], size=0.8)
ax.text(14.6, 2.65, r"out ($2\times 2$)", ha="center", fontsize=11)

ax.set_xlim(-0.1, 15.5)
ax.set_ylim(0.3, 4.1)
ax.set_aspect("equal")
ax.axis("off")
fig.tight_layout()
