r"""What a GAN learned, in numbers: classifier scores, feature-space distances, likelihoods.

Every function takes arrays and returns plain floats (or dicts of them); none
knows about runs or files (:mod:`minigan.lab.scoring` does). Distances are
computed in chunks against ``xp`` (NumPy or CuPy), so 10,000 x 10,000 pairs
never sit in memory at once.

- :func:`inception_score` (Salimans et al. 2016) and :func:`class_statistics`
  (histogram of predicted classes, classes covered, confident share), from a
  classifier's probabilities.
- :func:`fid` (Heusel et al. 2017): the Frechet distance of two Gaussians fitted
  to features; the matrix square root by a symmetric eigendecomposition.
- :func:`precision_recall` (Kynkaanniemi et al. 2019): k-nearest-neighbour
  manifolds, k = 3; :func:`density_coverage` (Naeem et al. 2020): the real manifold
  alone, k = 5, which outliers and a collapsed generator cannot inflate.
- :func:`parzen_log_likelihood` with Goodfellow et al.'s (2014) protocol.
- :func:`tstr`: train on synthetic, test on real.
- :func:`mode_coverage`: the VEEGAN / PacGAN protocol for Gaussian mixtures.
"""

from __future__ import annotations

import math

import numpy as np

from minigan import backend
from minigan.functional.errors import real_number, whole_number

__all__ = [
    "inception_score", "class_statistics", "label_agreement", "sqrtm_psd", "frechet_distance", "fid",
    "squared_distances", "knn_radii", "precision_recall", "density_coverage",
    "parzen_log_likelihood",
    "parzen_window", "PARZEN_SIGMAS", "PARZEN_CAVEAT", "tstr", "TSTR_EPOCHS", "mode_coverage",
]

#: Goodfellow et al.'s bandwidth grid for the Parzen window.
PARZEN_SIGMAS = np.logspace(-1, 0, 10)

PARZEN_CAVEAT = ("Parzen-window log-likelihood is a poor measure in 784 dimensions "
                 "(Theis et al. 2016): it can rank a model below one that stores the "
                 "training set, and disagrees with sample quality; read it beside the others.")


def _host(a):
    return np.asarray(backend.to_host(a), dtype=np.float64)


def _features(x, name):
    """``x`` as an array of floats on its device (a list read as NumPy): whole numbers and
    booleans as float64, float16 as float32, since the distances square them in their own
    type (200**2 is 64 in uint8; int32 wraps above 46,340**2); other floats as they are.
    Complex numbers are refused (a ``TypeError``)."""
    xp = backend.get_array_module(x)
    x = xp.asarray(x)
    if x.dtype.kind in "biu":
        return x.astype(xp.float64)
    if x.dtype == xp.float16:
        return x.astype(xp.float32)
    if x.dtype.kind != "f":
        raise TypeError(f"{name} of dtype {x.dtype}: features are real numbers")
    return x


def _neighbour_features(x, name):
    """:func:`_features` in float64, for the neighbour measures (:func:`knn_radii`,
    :func:`precision_recall`, :func:`density_coverage`): they compare distances with radii
    of the same sets, and the expansion :func:`squared_distances` computes cancels where
    the features sit far from 0 compared with their spread (float32 features around 1e4
    scored precision and recall (1.0, 1.0) where float64 gave (1.0, 0.025)). The lab's own
    features are float64 already."""
    x = _features(x, name)
    return x.astype(backend.get_array_module(x).float64, copy=False)


def _one_set(x, fewest, name):
    """Refuse a feature set a distance cannot measure: not ``(N, d)``, fewer than ``fewest``
    rows, NaN or infinite values (a ``ValueError`` saying which)."""
    shape = x.shape if hasattr(x, "shape") else np.shape(x)    # NumPy or CuPy
    if len(shape) != 2:
        raise ValueError(f"{name} of shape {shape}: give one row of features per "
                         "sample, (N, d)")
    if len(x) < fewest:
        raise ValueError(f"{name} holds {len(x)} rows; this measure needs at least {fewest}")
    xp = backend.get_array_module(x)
    if not bool(xp.isfinite(x).all()):
        raise ValueError(f"{name} holds NaN or infinite values; drop the samples they come "
                         "from")


def _two_sets(a, b, fewest, names=("features1", "features2")):
    """:func:`_one_set` of each of two feature sets a distance compares (``fewest``: one count
    for both, or a pair), and their feature sizes the same."""
    counts = (fewest, fewest) if np.ndim(fewest) == 0 else fewest
    for name, x, fewest in zip(names, (a, b), counts, strict=True):
        _one_set(x, fewest, name)
    if a.shape[1] != b.shape[1]:
        raise ValueError(f"{names[0]} {a.shape} and {names[1]} {b.shape} have different feature "
                         "sizes; compute both with the same network")


# -- classifier scores ---------------------------------------------------------------


def _class_probs(probs):
    """``probs`` on the host in float64, refused (a ``ValueError``) unless they are class
    probabilities: ``(N, C)`` with ``N`` at least 1, finite, non-negative, each row summing
    to 1."""
    p = _host(probs)
    if p.ndim != 2 or len(p) == 0 or not np.isfinite(p).all() or (p < 0).any() \
            or not np.allclose(p.sum(axis=1), 1, atol=1e-3):
        raise ValueError(f"probs of shape {p.shape}: give class probabilities, (N, C), each row "
                         "finite, non-negative and summing to 1 (logits: apply a softmax first)")
    return p


def _positive(name, value, most_dims=0):
    """Refuse (a ``ValueError``) a scale that is not a finite number above 0, or a scale of
    more than ``most_dims`` dimensions (0: one number; 1: one number or a 1-D array)."""
    v = np.asarray(value, dtype=np.float64)
    if v.ndim > most_dims:
        what = "one number" if most_dims == 0 else "one number or a 1-D array of them"
        raise ValueError(f"{name} must be {what}, got an array of shape {v.shape}")
    if v.size == 0 or not (np.isfinite(v) & (v > 0)).all():
        raise ValueError(f"{name} must be above 0 and finite, got {value!r}")


def inception_score(probs, splits=10, eps=1e-12):
    r"""Inception score of class probabilities ``p(y|x)``, mean and std over ``splits``.

    .. math::
        \mathrm{IS} = \exp\Big(\mathbb{E}_x\, \mathrm{KL}\big(p(y|x)\,\|\,p(y)\big)\Big),
        \qquad p(y) = \mathbb{E}_x\, p(y|x)

    1 when every sample gets the same prediction; the number of classes when
    each sample is confidently of one class and the classes are balanced.

    Parameters
    ----------
    probs : ndarray (N, C), rows summing to 1
    splits : int
        The samples are cut into this many consecutive parts (Salimans et
        al. use 10), part ``i`` from ``i N // splits`` up to ``(i + 1) N // splits`` as in
        their code; the score is computed on each. A whole number >= 1; more splits than
        samples give one split a sample.
    eps : float
        Added to each probability inside the logarithms, so that a class with probability 0
        adds 0 to the KL term rather than ``nan``.

    Returns
    -------
    (mean, std) : floats over the splits
    """
    p = _class_probs(probs)
    scores, n = [], len(p)
    k = min(whole_number("inception_score: splits", splits, 1), n)
    for i in range(k):                  # the parts of Salimans et al.'s code: i n // k onwards
        part = p[i * n // k:(i + 1) * n // k]
        py = part.mean(axis=0, keepdims=True)
        kl = (part * (np.log(part + eps) - np.log(py + eps))).sum(axis=1)
        scores.append(math.exp(kl.mean()))
    return float(np.mean(scores)), float(np.std(scores))


def class_statistics(probs, min_share=0.05, confident=0.9):
    """Which classes a set of samples is classified as.

    Parameters
    ----------
    probs : ndarray (N, C), rows summing to 1
    min_share : float
        In (0, 1]: the share of the samples a class must hold to count as covered (0 or
        below would count every class, a class with no sample too).
    confident : float
        In [0, 1]: the probability a sample's class must reach to count as confident.

    Returns
    -------
    dict
        ``histogram``: share of the samples predicted as each class;
        ``classes_covered``: classes holding at least ``min_share`` of them;
        ``confident_share``: share classified with probability >= ``confident``.
    """
    share_least, least_probability = real_number(min_share), real_number(confident)
    if share_least is None or not 0 < share_least <= 1:
        raise ValueError(f"class_statistics: min_share must be a number in (0, 1], the share of "
                         f"the samples a covered class holds, got {min_share!r}")
    if least_probability is None or not 0 <= least_probability <= 1:
        raise ValueError(f"class_statistics: confident must be a probability in [0, 1], got "
                         f"{confident!r}")
    p = _class_probs(probs)
    counts = np.bincount(p.argmax(axis=1), minlength=p.shape[1])
    share = counts / len(p)
    return {
        "histogram": [round(float(s), 4) for s in share],
        "classes_covered": int((share >= share_least).sum()),
        "confident_share": float((p.max(axis=1) >= least_probability).mean()),
    }


def label_agreement(predicted, asked, n_classes=10):
    r"""How often a classifier reads a conditional generator's digits as the class asked.

    .. math::
        a = \frac{1}{N} \sum_i [\hat y_i = y_i], \qquad
        a_c = \frac{\sum_i [\hat y_i = c,\ y_i = c]}{\sum_i [y_i = c]}

    with :math:`y_i` the class G was told to draw and :math:`\hat y_i` the one the
    classifier reads. A generator that ignores its label scores about 1/10 on ten balanced
    classes; one that draws each class well, about the classifier's accuracy on real digits.

    Parameters
    ----------
    predicted, asked : int arrays (N,)
        The classifier's class of each digit, and the class G was asked for.
    n_classes : int

    Returns
    -------
    dict
        ``agreement``: the share read as asked, :math:`a`; ``per_class``: :math:`a_c` for
        each class ``0 .. n_classes - 1`` (None for a class never asked); ``least_class``:
        the class asked for with the least :math:`a_c` (the lower class of a tie).
    """
    predicted, asked = np.asarray(backend.to_host(predicted)), np.asarray(backend.to_host(asked))
    if predicted.ndim != 1 or predicted.shape != asked.shape or not len(asked):
        raise ValueError(f"label_agreement: one predicted class per asked label, as 1-D arrays, "
                         f"got shapes {predicted.shape} and {asked.shape}")
    for name, a in (("predicted", predicted), ("asked", asked)):
        if a.dtype.kind not in "iu" or a.min() < 0 or a.max() >= n_classes:
            raise ValueError(f"label_agreement: {name} must hold whole classes 0 .. "
                             f"{n_classes - 1}, got {a.dtype} values {a.min()} .. {a.max()}")
    right = predicted == asked
    asked_count = np.bincount(asked, minlength=n_classes)
    right_count = np.bincount(asked[right], minlength=n_classes)
    per_class = [float(r / a) if a else None
                 for r, a in zip(right_count, asked_count, strict=True)]
    least = min((a, c) for c, a in enumerate(per_class) if a is not None)[1]
    return {"agreement": float(right.mean()), "per_class": per_class, "least_class": least}


# -- Frechet distance ----------------------------------------------------------------


def sqrtm_psd(a):
    r"""Square root of a symmetric positive semi-definite matrix: :math:`V \sqrt{\Lambda} V^\top`.

    ``numpy.linalg.eigh`` of :math:`A = V\Lambda V^\top`; eigenvalues that
    rounding made slightly negative are set to 0.
    """
    w, v = np.linalg.eigh(_host(a))
    return (v * np.sqrt(np.clip(w, 0, None))) @ v.T


def frechet_distance(mu1, cov1, mu2, cov2):
    r"""Frechet (2-Wasserstein) distance between :math:`N(\mu_1, \Sigma_1)` and :math:`N(\mu_2, \Sigma_2)`.

    .. math::
        d^2 = \|\mu_1 - \mu_2\|^2 + \mathrm{Tr}\big(\Sigma_1 + \Sigma_2
              - 2(\Sigma_1\Sigma_2)^{1/2}\big)

    :math:`\Sigma_1\Sigma_2` is not symmetric, but it is similar to
    :math:`S = \Sigma_1^{1/2}\Sigma_2\Sigma_1^{1/2}`, which is symmetric PSD, so
    :math:`\mathrm{Tr}(\Sigma_1\Sigma_2)^{1/2} = \sum_i \sqrt{\lambda_i(S)}`:
    two symmetric eigendecompositions, no SciPy.
    """
    mu1, mu2, cov1, cov2 = _host(mu1), _host(mu2), _host(cov1), _host(cov2)
    d = mu1.shape[0] if mu1.ndim == 1 else None
    if d is None or mu2.shape != (d,) or cov1.shape != (d, d) or cov2.shape != (d, d):
        raise ValueError(f"frechet_distance: means of shape (d,) and covariances (d, d) of one "
                         f"d, got mu1 {mu1.shape}, cov1 {cov1.shape}, mu2 {mu2.shape}, cov2 "
                         f"{cov2.shape}")
    r1 = sqrtm_psd(cov1)
    s = r1 @ cov2 @ r1
    tr_sqrt = np.sqrt(np.clip(np.linalg.eigvalsh((s + s.T) / 2), 0, None)).sum()
    d2 = float(((mu1 - mu2) ** 2).sum() + np.trace(cov1) + np.trace(cov2) - 2 * tr_sqrt)
    return max(d2, 0.0)


def fid(features1, features2):
    """Frechet distance between Gaussians fitted to two feature sets ``(N, d)`` and ``(M, d)``."""
    f1, f2 = _host(features1), _host(features2)
    _two_sets(f1, f2, 2)
    return frechet_distance(f1.mean(0), np.atleast_2d(np.cov(f1, rowvar=False)),   # d = 1: (1, 1)
                            f2.mean(0), np.atleast_2d(np.cov(f2, rowvar=False)))


# -- nearest neighbours --------------------------------------------------------------


def squared_distances(a, b):
    r"""All squared Euclidean distances :math:`\|a_i - b_j\|^2 = |a_i|^2 + |b_j|^2 - 2 a_i\cdot b_j`,
    ``(len(a), len(b))``, clipped at 0 (rounding can make the expansion slightly negative);
    whole numbers and booleans in float64, where their own type would wrap their squares."""
    a, b = _features(a, "a"), _features(b, "b")
    xp = backend.get_array_module(a, b)
    d = (a * a).sum(1)[:, None] + (b * b).sum(1)[None, :] - 2 * (a @ b.T)
    return xp.maximum(d, 0)


def knn_radii(features, k=3, chunk=2048):
    """Distance from each row to its ``k``-th nearest other row (the row itself excluded)."""
    k, chunk = _neighbours("knn_radii", k, chunk)
    features = _neighbour_features(features, "features")
    _one_set(features, k + 1, "knn_radii: features")     # a row's k-th nearest other row
    xp = backend.get_array_module(features)
    return xp.sqrt(_knn_squared_radii(features, k, chunk))


def _neighbours(what, k, chunk):
    """``k`` and ``chunk`` as ints, or a ValueError naming ``what`` unless each is a whole
    number >= 1: ``k = 0`` gives balls of radius 0 (precision and recall 0), a negative ``k``
    the distance to the farthest point (precision and recall 1, a negative density), without a
    word."""
    return (whole_number(f"{what}: k (the nearest neighbour that sets a ball's radius)", k, 1),
            whole_number(f"{what}: chunk (rows computed at a time)", chunk, 1))


def _knn_squared_radii(features, k, chunk):
    """:func:`knn_radii` squared, as :func:`squared_distances` gives them: the balls compare
    squared distances with these, not with the square of a square root, which rounding moves
    by an ulp (about half of them) and so leaves out a point on a ball's edge (the ``k``-th
    neighbour itself, when the fake set holds the real points)."""
    xp = backend.get_array_module(features)
    out = []
    for i in range(0, len(features), chunk):
        d = squared_distances(features[i:i + chunk], features)
        out.append(xp.partition(d, k, axis=1)[:, k])  # index 0 is the row itself
    return xp.concatenate(out)


def _inside_any_ball(points, centers, squared_radii, chunk):
    """For each point: is it within ``sqrt(squared_radii[j])`` of some ``centers[j]``?"""
    return _ball_counts(points, centers, squared_radii, chunk) > 0


def precision_recall(real, fake, k=3, chunk=2048):
    r"""Improved precision and recall (Kynkaanniemi et al. 2019).

    Each set's manifold is the union of closed balls around its points, each with
    the radius of the distance to that point's ``k``-th nearest neighbour in
    the same set (a point at that distance is inside, as in the paper's
    :math:`\|\phi - \phi'\| \le \|\phi' - \mathrm{NN}_k(\phi')\|`). Precision: the
    share of fake points inside the real manifold (are the samples realistic?). Recall: the
    share of real points inside the fake manifold (is the data's variety covered?).

    Parameters
    ----------
    real, fake : ndarrays (N, d) and (M, d) of features (NumPy or CuPy)
    k : int
        3, as Kynkaanniemi et al. recommend.
    chunk : int
        Rows of the distance matrices computed at a time, to bound the memory; the result
        does not depend on it.

    Returns
    -------
    (precision, recall) : floats in [0, 1]
    """
    k, chunk = _neighbours("precision_recall", k, chunk)
    real, fake = _neighbour_features(real, "real"), _neighbour_features(fake, "fake")
    _two_sets(real, fake, k + 1, ("real", "fake"))
    real_r2, fake_r2 = _knn_squared_radii(real, k, chunk), _knn_squared_radii(fake, k, chunk)
    precision = float(_inside_any_ball(fake, real, real_r2, chunk).mean())
    recall = float(_inside_any_ball(real, fake, fake_r2, chunk).mean())
    return precision, recall


def _ball_counts(points, centers, squared_radii, chunk):
    """For each point: in how many of the closed balls ``(centers[j], sqrt(squared_radii[j]))``
    it lies.

    The distances are computed with the centres as rows, in the chunks of
    :func:`_knn_squared_radii`: a matrix product's rounding depends on the side an operand
    is on and on the chunk's size (float32's on the CPU, by an ulp), so a centre's ``k``-th
    neighbour computed the other way round could land outside the ball its own distance
    set."""
    xp = backend.get_array_module(points, centers)
    counts = xp.zeros(len(points), dtype=xp.int64)
    for i in range(0, len(centers), chunk):
        d = squared_distances(centers[i:i + chunk], points)
        counts += (d <= squared_radii[i:i + chunk, None]).sum(axis=0)
    return counts


def density_coverage(real, fake, k=5, chunk=2048):
    r"""Density and coverage (Naeem et al. 2020), from the real points' k-NN balls alone.

    With :math:`B_i` the closed ball around real point :math:`x_i` whose radius is the
    distance to its ``k``-th nearest real neighbour (as the balls of :func:`precision_recall`;
    Naeem et al.'s code leaves a point at that distance out, which changes the scores only
    where fake points coincide with real ones: a set scored against itself has density
    :math:`(k + 1)/k` here, 1 there),

    .. math::
        \text{density} = \frac{1}{kM}\sum_{j=1}^{M}\sum_{i=1}^{N}[y_j \in B_i],\qquad
        \text{coverage} = \frac{1}{N}\sum_{i=1}^{N}[\exists j:\ y_j \in B_i].

    Unlike precision and recall they use no ball around a fake point, so a generator's
    outliers do not inflate them: density counts how many real neighbourhoods a fake
    point falls in (1 on average for samples of the real distribution, above 1 where
    fakes crowd the densest real regions), coverage the share of real neighbourhoods that
    hold any fake point. A generator that draws one image, however real it looks, covers
    a handful of neighbourhoods: coverage near 0.

    Parameters
    ----------
    real, fake : ndarrays (N, d) and (M, d) of features (NumPy or CuPy)
    k : int
        5, as Naeem et al. recommend.
    chunk : int
        Rows of the distance matrices computed at a time, to bound the memory; the result
        does not depend on it.

    Returns
    -------
    (density, coverage) : floats; coverage in [0, 1]
    """
    k, chunk = _neighbours("density_coverage", k, chunk)
    real, fake = _neighbour_features(real, "real"), _neighbour_features(fake, "fake")
    _two_sets(real, fake, (k + 1, 1), ("real", "fake"))
    r2 = _knn_squared_radii(real, k, chunk)
    density = float(_ball_counts(fake, real, r2, chunk).sum()) / (k * len(fake))
    xp = backend.get_array_module(real, fake)
    hit = xp.zeros(len(real), dtype=bool)
    for i in range(0, len(real), chunk):
        d = squared_distances(real[i:i + chunk], fake)
        hit[i:i + chunk] = (d.min(axis=1) <= r2[i:i + chunk])
    return density, float(hit.mean())


# -- Parzen window -------------------------------------------------------------------


def parzen_log_likelihood(samples, points, sigma, chunk=1000):
    r"""Log-density of each of ``points`` under a Gaussian Parzen window on ``samples``.

    .. math::
        \log \hat p(x) = \log\frac{1}{n}\sum_{i=1}^{n}\mathcal N(x; s_i, \sigma^2 I)
        = \operatorname{LSE}_i\Big(-\frac{\|x - s_i\|^2}{2\sigma^2}\Big)
          - \log n - \frac{d}{2}\log(2\pi\sigma^2)

    The log-sum-exp subtracts its largest term first, so it stays finite
    however far ``x`` lies from every sample.

    Parameters
    ----------
    samples : ndarray (n, d)
    points : ndarray (m, d)
    sigma : float or 1-D array of bandwidths
    chunk : int
        Points scored at once (a ``chunk`` x n block of distances in memory at a time); the
        result does not depend on it.

    Returns
    -------
    ndarray (m,) of float64, or (len(sigma), m) when ``sigma`` is an array
    """
    _two_sets(samples, points, 1, ("samples", "points"))
    chunk = whole_number("parzen_log_likelihood: chunk (points scored at once)", chunk, 1)
    _positive("sigma", sigma, most_dims=1)
    xp = backend.get_array_module(samples, points)
    sigmas = np.atleast_1d(np.asarray(sigma, dtype=np.float64))
    n, d = samples.shape
    out = np.empty((len(sigmas), len(points)))
    for i in range(0, len(points), chunk):
        dist = squared_distances(points[i:i + chunk], samples)
        for j, s in enumerate(sigmas):
            e = dist * (-0.5 / s ** 2)
            m = e.max(axis=1, keepdims=True)
            lse = m[:, 0] + xp.log(xp.exp(e - m).sum(axis=1))
            out[j, i:i + chunk] = backend.to_host(lse)
    out -= np.log(n) + 0.5 * d * np.log(2 * np.pi * sigmas[:, None] ** 2)
    return out if np.ndim(sigma) else out[0]


def parzen_window(samples, valid, test, sigmas=PARZEN_SIGMAS, chunk=1000):
    """Goodfellow et al.'s protocol: the bandwidth with the best mean log-likelihood on
    ``valid``, then the mean log-likelihood on ``test`` and its standard error.

    Returns
    -------
    dict with ``sigma``, ``mean``, ``se`` (std / sqrt(len(test))), ``n_samples``
    """
    valid_ll = parzen_log_likelihood(samples, valid, np.asarray(sigmas), chunk).mean(axis=1)
    sigma = float(np.asarray(sigmas)[int(np.argmax(valid_ll))])
    ll = parzen_log_likelihood(samples, test, sigma, chunk)
    return {"sigma": sigma, "mean": float(ll.mean()),
            "se": float(ll.std(ddof=1) / math.sqrt(len(ll))), "n_samples": int(len(samples))}


# -- train on synthetic, test on real ------------------------------------------------


#: Epochs of the train-on-synthetic classifier unless told (``minigan eval --tstr-epochs``).
TSTR_EPOCHS = 5


def tstr(x_synthetic, y_synthetic, x_real, y_real, x_test, y_test, epochs=TSTR_EPOCHS,
         seed=0):
    """Train-on-synthetic, test-on-real, beside train-on-real, test-on-real.

    The classifier architecture (:func:`minigan.lab.classifier.build`) is trained
    once on the labelled synthetic digits and once on as many labelled real
    digits, with the same settings and seed; both are scored on the real test
    digits. Pixels in [0, 1], shape ``(N, 784)``. When one set is larger, ``n``
    of its rows are drawn at random (seeded), not its first ``n``: generated
    digits often come sorted by class, and their head would hold only some
    classes.

    Returns
    -------
    dict with ``tstr`` and ``trtr`` accuracies and ``n_train``
    """
    from . import classifier

    x_synthetic, x_real, x_test = (backend.to_host(classifier.as_digits(x, f"tstr: {name}"))
                                   for x, name in ((x_synthetic, "x_synthetic"),
                                                   (x_real, "x_real"), (x_test, "x_test")))
    n = min(len(x_synthetic), len(x_real))
    rng = np.random.default_rng(seed)
    scores = {}
    for name, x, y in (("tstr", x_synthetic, y_synthetic), ("trtr", x_real, y_real)):
        keep = np.sort(rng.permutation(len(x))[:n]) if len(x) > n else slice(None)
        net = classifier.train_classifier(x[keep], y[keep], epochs=epochs, seed=seed)
        scores[name] = classifier.Classifier(net).accuracy(x_test, y_test)
    scores["n_train"] = int(n)
    return scores


# -- mixtures of Gaussians -----------------------------------------------------------


def mode_coverage(samples, modes, std, quality_stds=3.0):
    r"""The VEEGAN / PacGAN protocol on a mixture of Gaussians with equal weights.

    A sample is *high quality* when it lies within ``quality_stds`` standard
    deviations of its nearest mode; a mode is *covered* when it is the
    nearest mode of at least one high-quality sample. The reverse KL is that
    of the histogram :math:`q` of the high-quality samples over the modes to
    the uniform distribution: :math:`\sum_k q_k \log(K q_k)` (0 when every
    mode gets the same share, :math:`\log K` when all fall on one).

    Parameters
    ----------
    samples : ndarray (N, d)
    modes : ndarray (K, d)
    std : float, the standard deviation of each component
    quality_stds : float
        How far from its nearest mode, in ``std``, a high-quality sample may lie (3, as
        VEEGAN and PacGAN use).

    Returns
    -------
    dict with ``modes_covered`` (int), ``high_quality`` (share), ``reverse_kl``
    (None without any high-quality sample) and ``counts`` per mode
    """
    s, m = _host(samples), _host(modes)          # lists too, as the host arrays they become
    _two_sets(s, m, 1, ("samples", "modes"))
    _positive("std", std)
    _positive("quality_stds", quality_stds)
    d2 = ((s[:, None, :] - m[None, :, :]) ** 2).sum(axis=2)
    nearest = d2.argmin(axis=1)
    good = np.sqrt(d2[np.arange(len(s)), nearest]) <= quality_stds * std
    counts = np.bincount(nearest[good], minlength=len(m))
    q = counts / max(int(good.sum()), 1)
    kl = float((q[q > 0] * np.log(len(m) * q[q > 0])).sum()) if good.any() else None
    return {"modes_covered": int((counts > 0).sum()), "high_quality": float(good.mean()),
            "reverse_kl": kl, "counts": counts.tolist()}
