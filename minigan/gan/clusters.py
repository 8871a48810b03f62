r"""Self-conditioning: a conditional GAN whose labels are groups of the images, found by k-means.

An unconditional GAN has to learn by itself to draw every kind of digit in its share; a
conditional one is told which digit to draw and judged on the pair, and covers them all.
Self-conditioning (Liu et al. 2020, "Diverse image generation via self-conditioned GANs")
gets the second without labels: the training images are split into :math:`K` groups
(here once, before training, by k-means on their pixels), each image's group is its
label for D, and G draws the group itself from its noise
(:class:`minigan.nn.layers.SelfConditionedGenerator`), each with its share of the
training images. The result is still an unconditional generator, :math:`x = G(z)`,
:math:`z \sim p_z`: nothing but the images went in.

- :func:`kmeans`: the groups (Lloyd's algorithm from k-means++ seeds, Arthur &
  Vassilvitskii 2007).
- :func:`self_condition`: the groups' shares put into a generator, as the cuts of its
  noise's first coordinate (:func:`minigan.functional.label_cuts`) that draw group
  :math:`k` with its share :math:`p_k`.
"""

from __future__ import annotations

import numpy as np

from minigan import backend
from minigan.functional import label_cuts
from minigan.functional.errors import whole_number

__all__ = ["kmeans", "self_condition", "KMEANS_ITERATIONS"]

#: Lloyd's iterations at most (it stops earlier when no image changes group).
KMEANS_ITERATIONS = 100


def kmeans(x, k, rng, iterations=KMEANS_ITERATIONS, restarts=1, progress=None):
    r"""``k`` groups of the rows of ``x``: k-means++ seeds, then Lloyd's iterations; the best
    of ``restarts`` such runs.

    Minimizes the within-group sum of squares
    :math:`W = \sum_n \|x_n - \mu_{c_n}\|^2` by turns:

    .. math::
        c_n \leftarrow \arg\min_j \|x_n - \mu_j\|^2
            = \arg\min_j \left(\|\mu_j\|^2 - 2\, x_n \cdot \mu_j\right), \qquad
        \mu_j \leftarrow \frac{1}{|\{n : c_n = j\}|} \sum_{n : c_n = j} x_n

    until no row changes group (or ``iterations``). The seeds are k-means++'s: the first
    a random row, each next one a row drawn with probability proportional to its squared
    distance to the nearest seed so far. A group left empty takes the row farthest from
    its own centre. Each run ends in a local minimum that depends on its seeds; with
    ``restarts`` > 1 the runs draw their seeds one after another from ``rng`` and the one
    with the lowest :math:`W` is kept (scikit-learn's ``n_init``). Computed on the host in
    float64.

    Parameters
    ----------
    x : array of shape (N, F), N >= k
    k : int, >= 1
    rng : numpy.random.Generator
    iterations : int
    restarts : int, >= 1
    progress : callable, optional
        Called after each of Lloyd's iterations as ``progress(restart, iteration, moved)``:
        the run (from 0), the iteration (from 1) and how many rows changed group in it (all
        ``N`` at the first; 0 ends the run). It changes nothing in the result.

    Returns
    -------
    centres : ndarray (k, F), float64
    labels : ndarray (N,), int64, each row's group
    """
    x = np.asarray(backend.to_host(x), dtype=np.float64).reshape(len(x), -1)
    rng = backend.rng(rng)                  # a seed given in its place: say so
    if not np.isfinite(x).all():
        bad = int(np.flatnonzero(~np.isfinite(x).all(axis=1))[0])
        raise ValueError(f"k-means needs finite rows; row {bad} holds NaN or inf (drop it, or "
                         "draw it again)")
    n, k = len(x), whole_number("k-means: k (the number of groups)", k, 1)
    if k > n:
        raise ValueError(f"k-means needs 1 <= k <= the number of rows ({n}), got k = {k}")
    restarts = whole_number("k-means: restarts", restarts, 1)
    iterations = whole_number("k-means: iterations", iterations, 1)
    sq = np.einsum("nf,nf->n", x, x)
    best = None
    for restart in range(restarts):
        told = None if progress is None else (
            lambda iteration, moved, restart=restart: progress(restart, iteration, moved))
        run = _lloyd(x, sq, k, rng, iterations, told)
        if best is None or run[2] < best[2]:
            best = run
    return best[0], best[1]


def _lloyd(x, sq, k, rng, iterations, progress=None):
    """One run of :func:`kmeans` (``sq`` holds each row's squared norm): its centres, its
    labels and its within-group sum of squares W; ``progress(iteration, moved)`` after each
    iteration."""
    n = len(x)

    def squared_distances(centres):          # (N, k), by the expansion in kmeans
        d = sq[:, None] - 2.0 * (x @ centres.T) + np.einsum("kf,kf->k", centres, centres)
        return np.maximum(d, 0.0)

    centres = np.empty((k, x.shape[1]))
    centres[0] = x[rng.integers(n)]
    nearest = squared_distances(centres[:1])[:, 0]
    for j in range(1, k):
        total = nearest.sum()
        pick = rng.choice(n, p=nearest / total) if total > 0 else rng.integers(n)
        centres[j] = x[pick]
        nearest = np.minimum(nearest, squared_distances(centres[j:j + 1])[:, 0])
    labels = None
    for iteration in range(1, iterations + 1):
        d = squared_distances(centres)
        new = d.argmin(axis=1)
        moved = n if labels is None else int(np.count_nonzero(new != labels))
        if progress is not None:
            progress(iteration, moved)
        if moved == 0:
            break
        labels = new
        members = labels[None, :] == np.arange(k)[:, None]        # (k, N): one product sums
        counts, sums = members.sum(axis=1), members.astype(np.float64) @ x   # every group
        misfit = d[np.arange(n), labels]
        for j in np.flatnonzero(counts == 0):             # an empty group: the worst-fit row
            far = int(misfit.argmax())
            misfit[far] = -np.inf                         # each row moves once
            counts[labels[far]] -= 1
            sums[labels[far]] -= x[far]
            sums[j], counts[j], labels[far] = x[far], 1, j
        centres = np.where(counts[:, None] > 0, sums / np.maximum(counts, 1)[:, None], centres)
    # W = sum_n |x_n|^2 - sum_j n_j |mu_j|^2, each centre its group's mean: no (N, F) array
    within = float(sq.sum() - counts @ np.einsum("kf,kf->k", centres, centres))
    return centres, labels, within


def self_condition(generator, labels, prior="gaussian"):
    """Set a :class:`~minigan.nn.layers.SelfConditionedGenerator`'s cuts so that it draws
    each group in its share of ``labels`` (the training images' groups). Returns the shares."""
    if isinstance(labels, tuple):
        raise TypeError("self_condition takes the images' groups, an array (N,): kmeans "
                        "returns (centres, groups), so pass kmeans(...)[1]")
    labels = np.asarray(backend.to_host(labels))
    if labels.ndim != 1 or len(labels) == 0 or labels.dtype.kind not in "iu":
        raise ValueError(f"self_condition: labels should be each training image's group, "
                         f"whole numbers of shape (N,), N >= 1, got {labels.dtype} of shape "
                         f"{labels.shape}")
    if labels.min() < 0 or labels.max() >= generator.classes:
        raise ValueError(f"labels run from {labels.min()} to {labels.max()}, but the generator "
                         f"draws groups 0 to {generator.classes - 1}")
    shares = np.bincount(labels, minlength=generator.classes) / len(labels)
    generator.cuts[...] = backend.asarray(label_cuts(shares, prior).astype(generator.cuts.dtype))
    return shares
