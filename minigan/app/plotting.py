"""Pictures of a run: a grid of samples and the loss curves, as PNG files.

>>> save_grid(gan_model.sample(64), "samples.png")    # doctest: +SKIP
>>> save_loss_curves(rows, "loss_curves.png")          # doctest: +SKIP

Both go through matplotlib's Agg renderer (no window, no display needed;
pyplot is never imported) and are written atomically: a crash never leaves a
half-written PNG behind.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from minigan import backend
from minigan.gan import games, monitor

from .fileio import atomic_write, check_destination
from .runlog import PENALTY

__all__ = ["GRID_FORMATS", "grid_format", "check_grid_path", "grid_shape", "make_grid", "save_grid",
           "label_rows",
           "loss_curves_figure",
           "save_loss_curves", "gradient_pairs_figure", "save_gradient_pairs"]

#: Image formats :func:`save_grid` writes, by file extension.
GRID_FORMATS = ("png", "jpg", "jpeg", "tif", "tiff", "bmp", "webp")


def grid_format(path):
    """The image format ``path``'s extension names (one of :data:`GRID_FORMATS`), or None."""
    fmt = Path(path).suffix.lower().lstrip(".")
    return fmt if fmt in GRID_FORMATS else None


def check_grid_path(path, option="--out"):
    """The format of the picture ``path`` (see :func:`grid_format`), refused with a
    ``ValueError`` naming ``option`` and what to do when :func:`save_grid` could not write
    it: an extension that names no format, a folder that is missing or not writable, a
    folder given as the file. Writes nothing: call it before the work whose picture it is.
    """
    fmt = grid_format(path)
    if fmt is None:
        raise ValueError(f"{f'{option} ' if option else ''}{path}: cannot tell the image "
                         f"format from the name; end it in one of "
                         f"{', '.join('.' + f for f in GRID_FORMATS)}")
    check_destination(path, option)
    return fmt


def grid_shape(n, nrow=None):
    """``(rows, per_row)`` of a grid of ``n`` images, ``nrow`` a row, as :func:`make_grid` and
    :func:`gradient_pairs_figure` lay them out.

    ``nrow`` None gives ``ceil(sqrt(n))`` a row, a square-ish grid; more than ``n`` gives one
    row of the ``n`` images. A ``row_labels`` argument needs one label per row.
    """
    per_row = math.ceil(math.sqrt(n)) if nrow is None else int(nrow)
    if per_row < 1:
        raise ValueError(f"nrow must be >= 1, got {nrow}")
    per_row = min(per_row, n)
    return math.ceil(n / per_row), per_row


def make_grid(images, nrow=None, value_range=None, padding=2, pad_value=0.5):
    """Tile images into one grayscale picture with values in [0, 1].

    Parameters
    ----------
    images : array of shape (N, H*W) with H == W, (N, H, W) or (N, 1, H, W)
        NumPy or CuPy.
    nrow : int, optional
        Images per row (default: ``ceil(sqrt(N))``, a square-ish grid); more than N gives
        one row of the N images, not a row padded with empty cells.
    value_range : (low, high), optional
        Pixel range of ``images``; default: (-1, 1) when any value is
        negative (a tanh generator), else (0, 1).
    padding : int
        Pixels between images.
    pad_value : float
        Gray level of the padding.

    Returns
    -------
    numpy.ndarray of shape (rows * (H + padding) + padding, nrow * (W + padding) + padding)
    """
    x = _square_images(images, "make_grid")
    if value_range is None:
        value_range = (-1.0, 1.0) if x.min() < 0 else (0.0, 1.0)
    low, high = value_range
    x = np.clip((x - low) / (high - low), 0.0, 1.0)

    n, h, w = x.shape
    try:
        rows, nrow = grid_shape(n, nrow)
    except ValueError as exc:
        raise ValueError(f"make_grid: {exc}") from None
    grid = np.full((rows * (h + padding) + padding, nrow * (w + padding) + padding), pad_value)
    for i in range(n):
        r, c = divmod(i, nrow)
        top, left = padding + r * (h + padding), padding + c * (w + padding)
        grid[top:top + h, left:left + w] = x[i]
    return grid


def _square_images(images, who):
    """``images`` (N, H*W) square, (N, H, W) or (N, 1, H, W), NumPy or CuPy, as a host float64
    array (N, H, W)."""
    x = np.asarray(backend.to_host(images), dtype=np.float64)
    if x.ndim == 4 and x.shape[1] == 1:
        x = x[:, 0]
    elif x.ndim == 2:
        side = math.isqrt(x.shape[1])
        if side * side != x.shape[1]:
            raise ValueError(
                f"{who}: flat images of {x.shape[1]} pixels are not square; "
                "pass them shaped (N, H, W)"
            )
        x = x.reshape(len(x), side, side)
    if x.ndim != 3 or len(x) == 0:
        raise ValueError(
            f"{who}: expected images of shape (N, H*W), (N, H, W) or (N, 1, H, W) with N > 0, "
            f"got {tuple(np.shape(images))}"
        )
    return x


def save_grid(images, path, nrow=None, value_range=None, upscale=2, row_labels=None):
    """Save a grid of images (see :func:`make_grid` for the arguments).

    The format is the one the extension of ``path`` names (PNG, JPEG, TIFF,
    BMP, WebP: :data:`GRID_FORMATS`); another extension raises ``ValueError``. The picture
    has one grey channel (half the bytes of an RGBA PNG of the same pixels), or RGB with
    ``row_labels``.
    ``upscale`` repeats every pixel that many times in each direction so that
    28 x 28 digits are not tiny on screen. ``row_labels``, one short text per row of the
    grid (a conditional run's digits), are written in a white margin left of the rows
    (:func:`label_rows`); the grid's pixels stay as they are.
    """
    from matplotlib import colormaps
    from PIL import Image  # matplotlib's own dependency, and its writer

    fmt = grid_format(path)
    if fmt is None:
        raise ValueError(f"save_grid: {path}: the extension names no image format I write; "
                         f"use one of {', '.join('.' + f for f in GRID_FORMATS)}")
    grid = make_grid(images, nrow=nrow, value_range=value_range)
    if upscale > 1:
        grid = grid.repeat(upscale, axis=0).repeat(upscale, axis=1)
    fmt = {"tif": "tiff", "jpg": "jpeg"}.get(fmt, fmt)
    # uint8 arrays: (H, W) is one grey channel (mode L), with the bytes imsave(cmap="gray")
    # wrote as RGBA; (H, W, 3) is RGB (the mode follows the array: Pillow's mode argument
    # is deprecated)
    if row_labels is None:
        picture = Image.fromarray(colormaps["gray"](np.clip(grid, 0.0, 1.0), bytes=True)[..., 0])
    else:
        side = _square_images(images[:1], "save_grid").shape[1]
        picture = Image.fromarray(
            label_rows(grid, row_labels, cell=side * upscale, padding=2 * upscale))
    atomic_write(path, lambda f: picture.save(f, format=fmt))


def label_rows(grid, row_labels, cell, padding):
    """``grid`` (a :func:`make_grid` picture, values in [0, 1]) as an RGB ``uint8`` picture
    with a white margin on its left holding ``row_labels[r]`` beside row ``r``.

    ``cell`` and ``padding`` are the height of one image and of the gap between rows, in
    the grid's pixels; there must be one label per row. The grid's own pixels are copied,
    not resampled.
    """
    from matplotlib import colormaps
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    h, w = grid.shape
    labels = [str(label) for label in row_labels]
    if len(labels) != (h - padding) // (cell + padding):
        raise ValueError(f"label_rows: {len(labels)} labels for "
                         f"{(h - padding) // (cell + padding)} rows")
    size = max(10, round(0.45 * cell))                    # the labels' height, in pixels
    margin = round(size * (0.7 * max(map(len, labels), default=1) + 0.8))
    dpi, tall = 100, h + 1             # a pixel to spare: the canvas rounds its size
    fig = Figure(figsize=((margin + 1) / dpi, tall / dpi), dpi=dpi, facecolor="white")
    for r, label in enumerate(labels):
        centre = padding + r * (cell + padding) + cell / 2      # from the top, in pixels
        fig.text(margin / 2 / (margin + 1), 1 - centre / tall, label, ha="center", va="center",
                 fontsize=size * 72 / dpi, color="black")
    canvas = FigureCanvasAgg(fig)
    canvas.draw()
    text = np.asarray(canvas.buffer_rgba())[..., :3]
    pixels = colormaps["gray"](np.clip(grid, 0.0, 1.0), bytes=True)[..., :3]   # as imsave's
    return np.concatenate([text[:h, :margin], pixels], axis=1)


def _smooth(y, window):
    """Trailing moving average (same length as ``y``)."""
    if window <= 1 or len(y) < 2:
        return y
    c = np.cumsum(np.insert(y, 0, 0.0))
    end = np.arange(1, len(y) + 1)
    start = np.maximum(0, end - window)
    return (c[end] - c[start]) / (end - start)


def _score_panels(ax_is, ax_fid, scores, real):
    """Inception score (left panel) and FID (right panel) at each evaluation, each beside
    its value for real digits (dotted). Two panels, not two axes of one: on one panel the
    first score, low on its axis, sat on the other's real line, low on its own.

    FID is drawn on a log scale where every value is above 0: a run's falls from about 100
    to about 2, and on a linear axis its last scores and the real digits' (about 1 to 2)
    lie on one line at the bottom."""
    it = [float(r["iteration"]) for r in scores]
    for ax, key, label, color in ((ax_is, "inception_score", "inception score", "tab:green"),
                                  (ax_fid, "fid", "FID", "tab:red")):
        values = [float(r[key]) for r in scores]
        ax.plot(it, values, "o-", color=color, label="generated")
        if key in real:
            values.append(float(real[key]))
            ax.axhline(values[-1], color=color, linestyle=":", linewidth=1,
                       label="real digits")
        if key == "fid" and all(v > 0 for v in values):
            ax.set_yscale("log")
            label = "FID (log scale)"
        ax.set_ylabel(label)
        ax.set_xlabel("iteration")
        ax.grid(True, alpha=0.3)
        ax.legend(loc="best", fontsize="small")


#: The largest value :func:`loss_curves_figure` draws as it is (a larger one is drawn at it):
#: matplotlib cannot lay out an axis whose span overflows ("arange: cannot compute length").
LARGEST_DRAWN = 1e100


def save_loss_curves(metrics_rows, path, smooth=None, scores=None, real_scores=None,
                     loss="gan"):
    """Write :func:`loss_curves_figure` of the rows to the PNG file ``path``. Losses of a run
    on its way to diverge overflow in the moving average and matplotlib's scaling: drawn as
    they come, without NumPy's overflow warnings."""
    with np.errstate(over="ignore", invalid="ignore"):
        fig = loss_curves_figure(metrics_rows, smooth, scores, real_scores, loss)
        atomic_write(path, lambda f: fig.savefig(f, format="png", dpi=100))


def loss_curves_figure(metrics_rows, smooth=None, scores=None, real_scores=None, loss="gan"):
    """D loss, G loss (and D's penalty), D(x) and D(G(z)) against the iteration, in two
    panels.

    With ``scores`` (rows of ``scores.csv``, ``--eval-every``) two more panels, side by side
    under them, show the inception score and the FID at each evaluation, the real
    held-out digits' values (``real_scores``) as dotted lines.

    Parameters
    ----------
    metrics_rows : sequence of dict
        One per iteration, with ``iteration``, ``d_loss``, ``g_loss``,
        ``d_real`` (mean D(x)) and ``d_fake`` (mean D(G(z)) in the D step), and
        ``penalty`` (D's R1 or gradient penalty, drawn on the losses' panel against an axis
        of its own where it is not 0 throughout; optional); values may be numbers or
        strings (rows read back from a CSV file).
    smooth : int, optional
        Moving-average window; default about 1/50 of the run. The raw values
        are drawn faintly underneath.
    scores : sequence of dict, optional
        With ``iteration``, ``inception_score`` and ``fid``.
    real_scores : dict, optional
        The same metrics for real held-out digits.
    loss : {"gan", "lsgan", "hinge", "wgan-gp"} or minigan.gan.games.Game
        The game the rows come from (a game of your own: the one its
        :class:`~minigan.gan.GAN` played): with ``gan`` D's outputs are probabilities, drawn
        on a fixed [0, 1] axis around 0.5; the other games' outputs are raw numbers of
        any size (``d_real`` and ``d_fake`` are their means), drawn on an axis that
        fits them, with a line where D cannot tell real from fake (the game's
        ``boundary``: 0.5 for the least-squares game, 0 for hinge; none for the
        Wasserstein critic, whose level is arbitrary: the gap between its two means is
        what it measures).

    Returns
    -------
    matplotlib.figure.Figure
    """
    from matplotlib.figure import Figure

    try:         # its output's label, the line where D is undecided, the axis
        game = games.get(loss)
    except ValueError as exc:
        raise ValueError(f"loss_curves_figure: {exc}") from None
    output_label, undecided, probabilities = game.output_label, game.boundary, game.probabilities

    rows = list(metrics_rows)
    if not rows:
        raise ValueError("loss_curves_figure: no metrics rows to plot")

    def column(name):          # drawn within +-1e100: an axis from -1e308 to 1e308 (a hand-
        return np.clip([float(r[name]) for r in rows], -LARGEST_DRAWN, LARGEST_DRAWN)  # edit)

    it = column("iteration")
    window = max(1, len(rows) // 50) if smooth is None else int(smooth)
    fig = Figure(figsize=(8, 9 if scores else 6), layout="constrained")
    grid = fig.add_gridspec(3 if scores else 2, 2)
    ax_loss = fig.add_subplot(grid[0, :])
    ax_prob = fig.add_subplot(grid[1, :], sharex=ax_loss)
    ax_loss.tick_params(labelbottom=False)
    panels = (
        (ax_loss, (("d_loss", "D loss"), ("g_loss", "G loss")), "loss"),
        (ax_prob, (("d_real", "D(x)"), ("d_fake", "D(G(z))")), output_label),
    )
    # an 800-pixel-wide figure shows no more than a few thousand points per line: draw
    # every step-th one (the moving average is still taken over every iteration)
    step = max(1, len(rows) // 4000)
    for ax, curves, ylabel in panels:
        for (name, label), color in zip(curves, ("tab:blue", "tab:orange"), strict=True):
            y = column(name)
            if window > 1:
                ax.plot(it[::step], y[::step], color=color, alpha=0.25, linewidth=0.7)
            ax.plot(it[::step], _smooth(y, window)[::step], color=color, label=label,
                    linewidth=1.4)
        ax.set_ylabel(ylabel)
        ax.grid(True, alpha=0.3)
        ax.legend(loc="upper right")
    penalty = _penalty_column(rows)
    if penalty is not None:      # R1 or WGAN-GP's penalty, on an axis of its own (right)
        label = PENALTY["gradient_penalty" if game.penalty else "r1"]
        ax_penalty = ax_loss.twinx()
        known = ~np.isnan(penalty)
        smoothed = np.full_like(penalty, np.nan)
        smoothed[known] = _smooth(penalty[known], window)  # over the rows that have one
        ax_penalty.plot(it[::step], smoothed[::step], color="tab:purple", label=label,
                        linewidth=1.2)
        ax_penalty.set_ylabel(label, color="tab:purple")
        ax_penalty.set_ylim(bottom=0)
        ax_loss.get_legend().remove()    # one legend, above both axes' lines
        ax_penalty.legend(handles=[*ax_loss.get_legend_handles_labels()[0],
                                   *ax_penalty.get_legend_handles_labels()[0]],
                          loc="upper right")
    if probabilities:
        ax_prob.set_ylim(-0.02, 1.02)
    stopped = monitor.stretches(rows, game, monitor.STRETCH)
    for i, (first, last) in enumerate(stopped):      # the game stopped: D certain on both
        for ax in (ax_loss, ax_prob):
            ax.axvspan(first, last, color="tab:red", alpha=0.12, linewidth=0,
                       label="D certain: the game stopped" if i == 0 and ax is ax_prob else None)
    if stopped:
        ax_prob.legend(loc="upper right")
    if undecided is not None:
        ax_prob.axhline(undecided, color="gray", linestyle=":", linewidth=1)
    ax_prob.set_xlabel("iteration")
    if scores:
        _score_panels(fig.add_subplot(grid[2, 0], sharex=ax_loss),
                      fig.add_subplot(grid[2, 1], sharex=ax_loss), scores, real_scores or {})
    ax_loss.set_title("GAN training" + (f" (moving average over {window})" if window > 1 else ""))
    return fig


def _penalty_column(rows):
    """The rows' ``penalty`` values as an array (NaN where a row has none: an older run's,
    not known; the line leaves a gap there), or None where there is nothing to draw: no
    value known, or all 0 (no penalty)."""
    penalty = np.array([float(v) if v not in ("", None) else np.nan
                        for v in (r.get("penalty") for r in rows)])
    known = penalty[~np.isnan(penalty)]
    return penalty if known.any() else None


#: The signed images of :func:`gradient_pairs_figure`: red where D asks for a higher pixel
#: value, blue where it asks for a lower one, white where it asks nothing.
GRADIENT_MAP = "RdBu_r"
#: The length of the colour bar's label of :func:`gradient_pairs_figure`, in inches: a bar
#: shorter than it (one row of pairs) cut the label's ends off.
COLOUR_BAR_LABEL_INCHES = 2.4


def gradient_pairs_figure(images, grads, d=None, nrow=None, value_range=None,
                          output_label="D(x)", title=None, row_labels=None):
    r"""Each generated digit beside the gradient G's loss sends back to it through D.

    The right image of each pair is :math:`-\partial L_G/\partial x`, pixel by pixel: the
    direction in which the G step pushes the digit (red: D asks for a higher value of that
    pixel, a brighter stroke; blue: a lower one), on one colour scale for every pair,
    symmetric about 0 (the colour bar gives it).

    Parameters
    ----------
    images, grads : arrays of shape (N, H*W), (N, H, W) or (N, 1, H, W)
        The digits and :math:`\partial L_G/\partial x` at each
        (:func:`minigan.lab.field.digit_gradients`).
    d : array of shape (N,), optional
        D's output at each digit, as the game reads it: written above the pair.
    nrow : int, optional
        Pairs per row (default: a square-ish layout; at most N, as :func:`make_grid`).
    value_range : (low, high), optional
        The digits' pixel range (default as :func:`make_grid`).
    output_label : str
        What ``d`` is, in words (the game's ``output_label``).
    title : str, optional
    row_labels : sequence of str, optional
        One text per row, written left of it (a conditional run's digits).

    Returns
    -------
    matplotlib.figure.Figure
    """
    from matplotlib import colormaps
    from matplotlib.cm import ScalarMappable
    from matplotlib.colors import Normalize
    from matplotlib.figure import Figure

    x = _square_images(images, "gradient_pairs_figure")
    g = -_square_images(grads, "gradient_pairs_figure")
    if g.shape != x.shape:
        raise ValueError(f"gradient_pairs_figure: {len(x)} images of {x.shape[1:]} but "
                         f"{len(g)} gradients of {g.shape[1:]}")
    if value_range is None:
        value_range = (-1.0, 1.0) if x.min() < 0 else (0.0, 1.0)
    low, high = value_range
    x = np.clip((x - low) / (high - low), 0.0, 1.0)
    scale = float(np.abs(g).max()) or 1.0
    norm = Normalize(-scale, scale)
    cmap = colormaps[GRADIENT_MAP]
    n, h, w = x.shape
    try:
        rows, per_row = grid_shape(n, nrow)
    except ValueError as exc:
        raise ValueError(f"gradient_pairs_figure: {exc}") from None
    inner, outer, top = 1, 6, 9                  # pixels between the pair, between pairs, above
    pair_w, cell_h = 2 * w + inner + outer, h + top
    mosaic = np.ones((rows * cell_h + outer, per_row * pair_w + outer, 3))
    for i in range(n):
        r, c = divmod(i, per_row)
        y0, x0 = outer + r * cell_h + top, outer + c * pair_w
        mosaic[y0:y0 + h, x0:x0 + w] = x[i][..., None]
        mosaic[y0:y0 + h, x0 + w + inner:x0 + 2 * w + inner] = cmap(norm(g[i]))[..., :3]
    px = 2.0 / 100                                   # each pixel 2 x 2 on the screen at 100 dpi
    left = 0.2 if row_labels is None else 0.45       # inches left of the pairs
    # the colour bar is as tall as the pairs, and at least as tall as its two-line label
    bar = max(mosaic.shape[0] * px, COLOUR_BAR_LABEL_INCHES)
    drawn = mosaic.shape[1] * px + left + 1.4        # the pairs and the colour bar beside them
    width, height = max(drawn, 6.0), bar + 1.0       # at least as wide as the title
    shift = (width - drawn) / 2                      # a few pairs: centred, the bar beside them
    fig = Figure(figsize=(width, height), dpi=100)
    ax = fig.add_axes(((shift + left) / width, (0.3 + bar - mosaic.shape[0] * px) / height,
                       mosaic.shape[1] * px / width, mosaic.shape[0] * px / height))  # tops level
    ax.imshow(mosaic, interpolation="nearest")
    ax.set_axis_off()
    if row_labels is not None:
        if len(row_labels) != rows:
            raise ValueError(f"gradient_pairs_figure: {len(row_labels)} row labels for "
                             f"{rows} rows")
        for r, label in enumerate(row_labels):
            ax.text(0, outer + r * cell_h + top + h / 2, f"{label} ", ha="right", va="center",
                    fontsize=11, clip_on=False)
    if d is not None and len(np.ravel(d)) == n:
        for i, value in enumerate(np.ravel(d)):
            r, c = divmod(i, per_row)
            said = f"{value:.2f}"
            ax.text(outer + c * pair_w + w + inner / 2, outer + r * cell_h + top / 2,
                    "0.00" if said == "-0.00" else said, ha="center", va="center", fontsize=6)
    cax = fig.add_axes(((shift + drawn - 1.25) / width, 0.3 / height, 0.12 / width,
                        bar / height))
    fig.colorbar(ScalarMappable(norm, cmap), cax=cax)
    cax.set_ylabel("-dL_G/dx per pixel\nred: D asks for brighter, blue: darker", fontsize=7)
    cax.tick_params(labelsize=7)
    head = title or "Each digit G drew (left), beside the gradient G's loss sends it through D"
    if d is not None and len(np.ravel(d)) == n:
        head += f"\nabove each pair: {output_label}"
    fig.suptitle(head, fontsize=9, y=1 - 0.08 / height, va="top")
    return fig


def save_gradient_pairs(path, images, grads, **kwargs):
    """Write :func:`gradient_pairs_figure` (its keyword arguments) to ``path``, in the format
    its extension names (:data:`GRID_FORMATS`), atomically."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.image import imsave

    fmt = grid_format(path)
    if fmt is None:
        raise ValueError(f"save_gradient_pairs: {path}: the extension names no image format I "
                         f"write; use one of {', '.join('.' + f for f in GRID_FORMATS)}")
    fig = gradient_pairs_figure(images, grads, **kwargs)
    canvas = FigureCanvasAgg(fig)
    canvas.draw()
    rgb = np.asarray(canvas.buffer_rgba())[..., :3].copy()
    fmt = {"tif": "tiff"}.get(fmt, fmt)
    atomic_write(path, lambda f: imsave(f, rgb, format=fmt))
