"""``minigan eval``: score a generator, beside the same scores for real held-out digits.

A number is never shown alone: every score of the generated digits is
printed next to the same score of real digits that play the generator's
part. The real digits are cut in two:

- the *reference* set, what generated digits are compared to (FID,
  precision/recall and density/coverage measure the distance to it; the Parzen
  window of the real row is built on it);
- the *held-out* set, digits the reference set does not include, scored
  exactly like generated ones (the *real row*).

Both halves come from one population: a seeded random split, stratified by class
(:data:`SPLIT_SEED`, the same for every run), of the split the scored generator did
not train on when the data at hand allows it (:meth:`Reference.load`). MNIST's test
digits 0-4,999 come from NIST's training set and are cleaner than 5,000-9,999, from
NIST's test set: an ordered cut would compare two populations (FID 18.3 between the two
halves, against 1 to 2 between random halves). Every score uses the same number of
generated and real digits (:func:`score_images`): FID, the inception score,
precision/recall, density/coverage and the Parzen window all move with the count.

A run trained on the test split, scored where only the test split is at hand, saw every
digit the lab scores it against; the report says so (the ``caveat`` of
:class:`Reference`), and measures memorisation (:func:`memorisation`): how near generated
digits sit to the digits the generator trained on, against how near real held-out digits
sit to them.

Score a run folder (or a checkpoint file)::

    minigan eval runs/vanilla --data-dir DIR

which prints the table and writes ``eval.json`` into the run folder. One set of generated
digits is one draw of the generator's noise, and FID moves with it (a few odd digits among
5,000 move its means and covariances): ``--draws K`` scores ``K`` draws and reports each
score's spread (:func:`draw_spread`). From
code (a trainer scoring its generator every few epochs)::

    from minigan.lab import scoring
    ref = scoring.Reference.load(data_dir="DIR", trained_on="test")   # once
    scores = scoring.evaluate_generator(G, model.sample_noise, 2000, ref, scale="sigmoid")
"""

from __future__ import annotations

import numpy as np

from minigan import backend
from minigan.functional.errors import whole_number
from minigan.gan.algorithm import GENERATE_BATCH, output_range
from minigan.nn.layers import generated_images

from . import metrics
from .classifier import as_digits, load_default

__all__ = ["MIN_DIGITS", "SPLIT_SEED", "Reference", "stratified_split", "sample_rows",
           "shuffled_rows", "digits_by_class", "score_images",
           "MEMORISED_DIGITS", "memorisation", "scoring_noise", "scored_labels", "least_said",
           "evaluate_generator", "format_table",
           "DRAW_SCORES", "draw_spread", "conditional_tstr", "collapse_warning", "BLIND",
           "UNLIKE", "looks_like_no_digit", "unlike_warning", "COPY_TOLERANCE",
           "copies_of_real", "copies_warning",
           "SCALES"]

MIN_DIGITS = 20
"""Fewest digits scored: the inception score's 10 splits of at least 2, and more than
k = 5 neighbours for density and coverage."""

#: The seed of the lab's split of real digits into the reference and the real row.
SPLIT_SEED = 0

#: The lines of the report a degenerate generator (one good digit drawn over and over)
#: can score well on: they are marked, to be read beside recall, coverage and the classes.
BLIND = ("confident_share", "precision", "density")


def sample_rows(n, m, seed=SPLIT_SEED):
    """Indices of ``m`` of ``n`` rows, sorted: all of them when ``m >= n``, else a seeded
    random choice.

    The reference and held-out digits keep the order of the split they come from, and
    MNIST's test split is ordered by population (digits 0-4,999 come from NIST's training
    set, cleaner than 5,000-9,999): the first 2,000 of either half are all of the cleaner
    population, and a real row scored on them compares two populations (FID 6.2 at 2,000
    digits, against about 2 for a random 2,000 of the same held-out digits).
    :func:`shuffled_rows` gives the same rows in a random order.
    """
    return np.sort(shuffled_rows(n, m, seed))


def shuffled_rows(n, m, seed=SPLIT_SEED):
    """Indices of ``m`` of ``n`` rows (all of them when ``m >= n``, else a seeded random
    choice, :func:`sample_rows`') in a seeded random order: for digits that come in an
    order of their own (the split's two populations, a file sorted by class), since the
    scores take the first of them and the inception score's splits are runs of them."""
    return np.random.default_rng(seed).permutation(n)[:m]


def digits_by_class(images, classes, per_class, n_classes=10):
    """A row per class: the first ``per_class`` of ``images`` whose class (``classes``, the
    classifier's reading of each) is that one, in the order given, and black digits where
    a class has fewer; a class no digit is read as is a black row.

    Returns
    -------
    ndarray ``(n_classes * per_class, *image_shape)``, the images' dtype; class ``c``'s row
    is ``[c * per_class, (c + 1) * per_class)``
    """
    images, classes = np.asarray(images), np.asarray(classes)
    if len(images) != len(classes):
        raise ValueError(f"digits_by_class: {len(images)} images and {len(classes)} classes")
    rows = np.zeros((n_classes * per_class,) + images.shape[1:], dtype=images.dtype)
    for c in range(n_classes):
        first = images[classes == c][:per_class]
        rows[c * per_class:c * per_class + len(first)] = first
    return rows


def stratified_split(labels, first, seed=SPLIT_SEED):
    """Indices of a seeded random split of ``labels`` into ``first`` and the rest, each class
    in the same proportion in both parts (as near as whole digits allow); sorted.
    ``first`` is a count from 0 to ``len(labels)``; else a ValueError."""
    labels = np.asarray(labels)
    if isinstance(first, bool) or not isinstance(first, (int, np.integer)) or \
            not 0 <= first <= len(labels):
        raise ValueError(f"stratified_split: first should be a count of labels from 0 to "
                         f"{len(labels):,}, got {first!r}")
    rng = np.random.default_rng(seed)
    share = first / len(labels)
    a, b = [], []
    for c in np.unique(labels):
        idx = rng.permutation(np.flatnonzero(labels == c))
        k = int(round(share * len(idx)))
        a.append(idx[:k])
        b.append(idx[k:])
    a, b = np.concatenate(a), np.concatenate(b)
    while len(a) > first:                      # rounding per class: move the excess over
        a, b = a[:-1], np.append(b, a[-1])
    while len(a) < first:
        a, b = np.append(a, b[-1]), b[:-1]
    return np.sort(a), np.sort(b)


class Reference:
    """Real digits, split into a reference and a held-out set, with their classifier outputs.

    Parameters
    ----------
    reference, held_out : ndarray (N, 784), pixels in [0, 1] (or another shape
        :func:`~minigan.lab.classifier.as_digits` takes), at least :data:`MIN_DIGITS` each
    classifier : minigan.lab.classifier.Classifier, optional (default: cached, else shipped)
    description : str
        Which digits each set holds (printed with every report).
    caveat : str, optional
        A sentence for every report when the scored generator trained on these digits.
    training : ndarray (T, 784), optional
        The digits the scored generator trained on, for :func:`memorisation`.
    held_out_in_training : ndarray of int, optional
        For each held-out digit its index in ``training`` when it is one of them (a run
        trained on the digits the lab scores with), else -1.
    """

    def __init__(self, reference, held_out, classifier=None, description="", caveat=None,
                 training=None, held_out_in_training=None):
        self.classifier = load_default() if classifier is None else classifier
        self.reference = np.asarray(backend.to_host(as_digits(reference, "reference")),
                                    dtype=np.float32)
        self.held_out = np.asarray(backend.to_host(as_digits(held_out, "held_out")),
                                   dtype=np.float32)
        for name, digits in (("reference", self.reference), ("held_out", self.held_out)):
            if len(digits) < MIN_DIGITS:     # every score compares as many digits of each
                raise ValueError(f"{name} holds {len(digits)} digits; a reference needs at least "
                                 f"{MIN_DIGITS} in each set (the inception score's 10 splits, "
                                 "k = 5 nearest neighbours): give more")
        self.description, self.caveat = description, caveat
        self.training = (None if training is None      # NumPy or CuPy, as the other two
                         else np.asarray(backend.to_host(training), dtype=np.float32))
        self.held_out_in_training = held_out_in_training
        self.ref_features, _ = self.classifier.features_and_probs(self.reference)
        self._real_rows = {}

    @classmethod
    def load(cls, data_dir=None, classifier=None, download=True, trained_on=None):
        """The reference and held-out digits for a generator trained on ``trained_on``.

        Both halves are a :func:`stratified_split` of one split of MNIST: the test split,
        unless the generator trained on it and the training split is at hand, which then
        gives 10,000 reference and 10,000 held-out digits. A generator trained on the only
        split at hand gets a ``caveat``. The test split is downloaded when missing
        (unless ``download=False``); the training split is used only when at hand.

        Parameters
        ----------
        data_dir : str or os.PathLike, optional
            The folder of the MNIST files (default :func:`~minigan.data.default_data_dir`).
        classifier : minigan.lab.classifier.Classifier, optional
            Scores the digits (default: the cached one, else the shipped one).
        download : bool
            With ``False`` a missing test split raises
            :class:`~minigan.data.MNISTDownloadError` instead of being downloaded.
        trained_on : {"train", "test"} or None
            The split the scored generator trained on (None: unknown; the test split).
        """
        from minigan.data import DataError, load_mnist

        test_x, test_y = load_mnist("test", data_dir=data_dir, scale="sigmoid",
                                    download=download)
        train = None
        if trained_on == "test" or trained_on == "train":
            try:
                train = load_mnist("train", data_dir=data_dir, scale="sigmoid", download=False)
            except DataError:
                train = None
        training = {"test": test_x, "train": None if train is None else train[0]}.get(trained_on)
        if trained_on == "test" and train is not None:
            pool, name, n = train, "training", 10000
            a, b = stratified_split(pool[1], n)
            b = b[stratified_split(pool[1][b], n)[0]]
            caveat = None
        else:
            pool, name, n = (test_x, test_y), "test", len(test_y) // 2
            a, b = stratified_split(test_y, n)
            caveat = None
            if trained_on == "test":
                caveat = ("this run trained on the MNIST test split, the only split at hand, so "
                          "it saw every digit it is scored against (the reference, the real "
                          "row, the Parzen and TSTR digits): what it memorised flatters its "
                          "scores; put the training split beside the test split to score it "
                          "on digits it has not seen (or train with --split train)")
        description = (f"reference: {len(a):,} MNIST {name} digits, real row: {len(b):,} other "
                       f"{name} digits (a random split stratified by class, seed {SPLIT_SEED})")
        if trained_on is not None:
            description += f"; the generator trained on the {trained_on} split"
        inside = None
        if training is not None:
            inside = b if name == trained_on else np.full(len(b), -1)
        return cls(pool[0][a], pool[0][b], classifier, description, caveat, training, inside)

    def real_row(self, n=None, parzen=True):
        """The scores of ``min(n, len(held_out))`` held-out real digits (all of them by
        default; fewer: a seeded random choice of them), in a seeded random order
        (:func:`shuffled_rows`), computed once per count.

        Pass the number of generated digits: :func:`score_images` compares as many (at
        most ``len(held_out)``), since every score moves with the count.
        """
        m = len(self.held_out) if n is None else min(
            whole_number(f"n (the real digits to score; scoring needs at least {MIN_DIGITS})", n,
                         MIN_DIGITS), len(self.held_out))
        row = self._real_rows.get(m)
        if row is None or (parzen and "parzen_mean" not in row):
            # in a random order: the held-out digits keep the split's order, its two
            # populations one after the other, and the inception score's splits were theirs
            rows = shuffled_rows(len(self.held_out), m)
            self._real_rows[m] = score_images(self.held_out[rows], self, parzen=parzen,
                                              real=True)
        return self._real_rows[m]


def _parzen_split(ref):
    """Validation and test points of the Parzen protocol: a seeded random 1,000 of the
    held-out digits (a fifth when they are fewer than 5,000) and the rest, each in the
    held-out digits' order. The first 1,000 were all of the test split's cleaner population
    (:func:`sample_rows`): the bandwidth was chosen on it and the log-likelihood measured
    on digits with less of it."""
    order = shuffled_rows(len(ref.held_out), len(ref.held_out))
    n_valid = min(1000, len(ref.held_out) // 5)
    return ref.held_out[np.sort(order[:n_valid])], ref.held_out[np.sort(order[n_valid:])]


def score_images(images, ref, parzen=True, real=False, asked=None, classes_out=None):
    """Every metric of a set of digits ``(N, 784)`` in [0, 1] against ``ref``.

    ``classes_out``: a list; the class the classifier reads in each scored digit (``(m,)``
    ints, ``m`` below) is appended to it, from the same pass as the scores.

    ``asked``: the class each digit was drawn as (a conditional generator's labels, ``(N,)``
    ints, NumPy or CuPy, :func:`scored_labels`); the scores then hold ``label_agreement``
    (:func:`~minigan.lab.metrics.label_agreement`), read from the same pass of the
    classifier as the other scores.

    ``images`` may also be ``(N, 28, 28)``, ``(N, 1, 28, 28)`` or ``(N, 28, 28, 1)``, NumPy
    or CuPy. Pixels must be finite and in [0, 1]: map a tanh generator's [-1, 1] with
    ``(x + 1) / 2`` and 8-bit pixels with ``x / 255`` first; other ranges, shapes and NaNs
    are refused with a ``ValueError`` that says so (:func:`~minigan.lab.classifier.as_digits`),
    since scored as they are they give wrong scores.

    Every score uses the first ``m = min(N, len(ref.held_out))`` digits, the count of
    ``ref.real_row(N)``; precision, recall, density and coverage compare them with as many
    reference digits (all of them, or a seeded random choice of ``m``: :func:`sample_rows`).
    ``real=True`` scores held-out digits themselves (the Parzen window is then built on as
    many reference digits, chosen alike). The inception score's 10 splits are runs of the
    digits in the order given: give them in a random order (digits sorted by class or by
    source would score each split on a part of the classes or one population).
    """
    _need_reference(ref)
    if len(images) < MIN_DIGITS:
        raise ValueError(f"scoring needs at least {MIN_DIGITS} digits (the inception score's 10 "
                         f"splits, k = 5 nearest neighbours), got {len(images)}; score more")
    images = as_digits(images)
    clf = ref.classifier
    m = min(len(images), len(ref.held_out))
    images = backend.to_host(images[:m])       # NumPy or CuPy: scored from the host
    feats, probs = clf.features_and_probs(images)
    is_mean, is_std = metrics.inception_score(probs)
    scores = {"n": int(m), "inception_score": is_mean, "inception_score_std": is_std,
              **metrics.class_statistics(probs),
              "fid": metrics.fid(feats[:m], ref.ref_features), "n_compared": int(m)}
    xp = backend.xp()
    rows = sample_rows(len(ref.reference), m)
    real_f, fake_f = xp.asarray(ref.ref_features[rows]), xp.asarray(feats[:m])
    p, r = metrics.precision_recall(real_f, fake_f)
    density, coverage = metrics.density_coverage(real_f, fake_f)
    scores.update(precision=p, recall=r, density=density, coverage=coverage)
    classes = probs.argmax(axis=1)
    if classes_out is not None:
        classes_out.append(classes)
    if asked is not None:
        scores["label_agreement"] = metrics.label_agreement(    # asked: NumPy or CuPy
            classes, np.asarray(backend.to_host(asked))[:m])
    if parzen:
        valid, test = _parzen_split(ref)
        centres = ref.reference[rows] if real else np.asarray(images[:len(rows)],
                                                              dtype=np.float32)
        result = metrics.parzen_window(xp.asarray(centres), xp.asarray(valid), xp.asarray(test))
        scores.update({f"parzen_{k}": v for k, v in result.items()})
    return scores


#: The generated digits :func:`memorisation` compares with the training digits unless told.
MEMORISED_DIGITS = 2000


def memorisation(images, ref, n=MEMORISED_DIGITS, chunk=250):
    """How near generated digits sit to the digits the generator trained on, against how near
    real held-out digits sit to them, in pixels and in the classifier's features.

    For each digit, the distance to its nearest training digit (a held-out digit that is
    itself a training digit is measured to its nearest *other* one). ``copies`` is the share
    of generated digits nearer (in pixels) than the 1st percentile of the real digits'
    distances: about 0.01 for a generator that draws new digits, near 1 for one that
    returns its training digits.

    Returns
    -------
    dict with ``copies``, the median distances ``pixels_generated``, ``pixels_real``,
    ``features_generated``, ``features_real``, ``n`` and the nearest training digit of the
    ``nearest`` generated digits (``pairs``: indices into ``images`` and ``ref.training``);
    None without ``ref.training``
    """
    _need_reference(ref)
    n = whole_number("memorisation: n (digits compared)", n, 1)
    chunk = whole_number("memorisation: chunk (digits measured at once)", chunk, 1)
    if ref.training is None:
        return None
    xp = backend.xp()
    train = xp.asarray(ref.training)
    train_f = xp.asarray(ref.classifier.features_and_probs(ref.training)[0])
    gen = np.asarray(images[:n], dtype=np.float32)
    rows = sample_rows(len(ref.held_out), n)          # not the first n: see sample_rows
    real = ref.held_out[rows]
    own = ref.held_out_in_training
    own = np.full(len(real), -1) if own is None else np.asarray(own)[rows]

    def nearest(points, points_f, exclude):
        d_px, d_f, idx = [], [], []
        for i in range(0, len(points), chunk):
            d = metrics.squared_distances(xp.asarray(points[i:i + chunk]), train)
            df = metrics.squared_distances(xp.asarray(points_f[i:i + chunk]), train_f)
            rows = xp.arange(d.shape[0])
            ex = xp.asarray(exclude[i:i + chunk])
            mask = ex >= 0
            d[rows[mask], ex[mask]] = xp.inf            # not itself
            df[rows[mask], ex[mask]] = xp.inf
            j = d.argmin(axis=1)
            idx.append(backend.to_host(j))
            d_px.append(backend.to_host(xp.sqrt(d[rows, j])))
            d_f.append(backend.to_host(xp.sqrt(df.min(axis=1))))
        return np.concatenate(d_px), np.concatenate(d_f), np.concatenate(idx)

    gen_f = ref.classifier.features_and_probs(gen)[0]
    real_f = ref.classifier.features_and_probs(real)[0]
    g_px, g_f, g_idx = nearest(gen, gen_f, np.full(len(gen), -1))
    r_px, r_f, _ = nearest(real, real_f, own)
    threshold = np.percentile(r_px, 1)
    order = np.argsort(g_px)[:10]
    return {"copies": float((g_px < threshold).mean()), "n": int(len(gen)),
            "pixels_generated": float(np.median(g_px)), "pixels_real": float(np.median(r_px)),
            "features_generated": float(np.median(g_f)), "features_real": float(np.median(r_f)),
            "pairs": [(int(i), int(g_idx[i])) for i in order]}


#: Half an 8-bit level, 1/510: a scored pixel this near a real digit's counts as its copy
#: (:func:`copies_of_real`).
COPY_TOLERANCE = 0.5 / 255


def _levels(images):
    """Each digit of ``images`` (N, ...) in [0, 1] as the bytes of its pixels rounded to the
    nearest 8-bit level (``round(255 x)``), one ``bytes`` per digit."""
    x = np.asarray(backend.to_host(images), dtype=np.float32).reshape(len(images), -1)
    return [row.tobytes() for row in np.rint(np.clip(x, 0, 1) * 255).astype(np.uint8)]


def copies_of_real(images, ref):
    """How many of ``images`` are copies of the real digits the lab scores them against:
    ``ref``'s reference digits or its held-out ones (the real row), in every pixel.

    A digit is a copy when each of its pixels lies within half an 8-bit level
    (:data:`COPY_TOLERANCE`, 1/510 in [0, 1]) of the real digit's: both are rounded to the
    nearest level and compared byte for byte (a hash of each of ``ref``'s digits, a few
    milliseconds for 10,000). MNIST's pixels are whole levels ``k / 255``, so a digit saved
    and read back keeps its levels: 8-bit pixels exactly, float32, float64 or float16 (an
    error of at most 2^-11, a eighth of a level) and a tanh's ``2 x - 1`` mapped back to
    [0, 1] (a float32 rounding) all move a pixel by far less than half a level. A digit
    drawn anew differs from every real one by more at some pixel. The scores of copies
    flatter: a copy of a reference digit sits on it in the classifier's features, and a
    file of test digits scored FID 0.65 against its real row's 0.95.

    Parameters
    ----------
    images : ndarray (N, 784), pixels in [0, 1] (or another shape of N digits), NumPy or CuPy;
        other pixels are refused (:func:`~minigan.lab.classifier.as_digits`)
    ref : Reference

    Returns
    -------
    dict with ``copies`` (how many of the ``n`` digits are copies), ``share``
    (``copies / n``), ``reference`` and ``held_out`` (the copies of each set's digits),
    ``tolerance`` (:data:`COPY_TOLERANCE`) and ``first`` (the indices into ``images`` of
    the first ten copies)
    """
    _need_reference(ref)
    images = as_digits(images, "copies_of_real: images")   # [0, 255] or [-1, 1]: said, not clipped
    real = dict.fromkeys(_levels(ref.held_out), "held_out")
    real.update(dict.fromkeys(_levels(ref.reference), "reference"))
    found = [real.get(row) for row in _levels(images)]
    rows = [i for i, where in enumerate(found) if where is not None]
    n = len(found)
    return {"copies": len(rows), "n": n, "share": len(rows) / n,     # n >= 1: as_digits
            "reference": found.count("reference"), "held_out": found.count("held_out"),
            "tolerance": COPY_TOLERANCE, "first": rows[:10]}


def copies_warning(copies):
    """The sentence saying how many scored digits are copies of the lab's real digits
    (:func:`copies_of_real`'s dict), or None when none is."""
    if copies is None or not copies["copies"]:
        return None
    return (f"{copies['copies']:,} of the {copies['n']:,} scored digits "
            f"({100 * copies['share']:.1f}%) are copies of the real digits they are scored "
            f"against ({copies['reference']:,} of the reference digits, "
            f"{copies['held_out']:,} of the real row's held-out digits; every pixel within "
            "half an 8-bit level of theirs): the scores of copies flatter (a copy of a "
            "reference digit sits on it), and this row can beat the real one; score digits "
            "that are not MNIST's test digits")


def _need_reference(ref):
    """``ref``, or a TypeError unless it is a :class:`Reference` (None would fail with
    "'NoneType' object has no attribute 'classifier'")."""
    if not isinstance(ref, Reference):
        raise TypeError(f"ref must be a scoring.Reference, the real digits scored beside "
                        f"(scoring.Reference.load(data_dir=DIR)), got {type(ref).__name__}")
    return ref


#: The pixel range each ``scale`` of :func:`evaluate_generator` maps to [0, 1].
SCALES = {"sigmoid": (0.0, 1.0), "tanh": (-1.0, 1.0)}


def _check_scale(generator, scale):
    """A ValueError unless ``scale`` is one of :data:`SCALES` and, for a generator that ends in
    a Sigmoid or a Tanh, that one's: ``"tanh"`` for a sigmoid generator would map its [0, 1]
    pixels to [0.5, 1] and score them without a word."""
    if scale not in SCALES:
        raise ValueError(f"scale must be one of {tuple(SCALES)}, the generator's pixel range "
                         f"([0, 1] or [-1, 1]), got {scale!r}")
    drawn = output_range(generator)
    for name, (low, high) in SCALES.items():
        if drawn == (low, high) and name != scale:
            raise ValueError(f"the generator ends in a {name.capitalize()}, whose pixels are in "
                             f"[{low:g}, {high:g}], and scale is {scale!r}: pass scale={name!r}")


def _to_unit(images, scale):
    x = backend.to_host(images).reshape(len(images), -1).astype(np.float32)
    return (x + 1) / 2 if scale == "tanh" else x


def evaluate_generator(generator, sample_noise, n, ref, scale="sigmoid", parzen=True,
                       batch_size=GENERATE_BATCH, memorise=False, images_out=None, asked=None,
                       classes_out=None):
    """Draw ``n`` digits from ``generator`` and score them (a trainer's ``--eval-every`` hook):
    at most as many as the scores read, the real held-out digits' count (and, with
    ``memorise``, :data:`MEMORISED_DIGITS`), which is what ``images_out`` receives.

    Parameters
    ----------
    generator : Layer, noise -> images (put in evaluation mode here, restored after; a
        :class:`~minigan.nn.layers.ConditionalGenerator`'s images without their label)
    sample_noise : callable ``m -> (m, noise_dim)`` noise on the device (``GAN.sample_noise``)
    n : int
    ref : Reference
    scale : {"sigmoid", "tanh"}, the generator's pixel range ([0, 1] or [-1, 1])
    parzen : bool, include the Parzen window (the slowest metric)
    batch_size : int, digits generated at once, a bound on G's memory
        (``minigan.gan.algorithm.GENERATE_BATCH`` unless given)
    memorise : bool, measure :func:`memorisation` too (``ref.training`` needed)
    images_out : list, optional; the digits drawn are appended to it
    asked : int array (n,), optional; the class each digit is drawn as (a conditional
        generator's, :func:`scored_labels`): the scores then hold ``label_agreement``
    classes_out : list, optional; the class the classifier reads in each scored digit is
        appended to it (:func:`score_images`)

    Returns
    -------
    dict of scores (see :func:`score_images`), with ``memorisation`` when asked

    Raises
    ------
    ValueError
        For a ``scale`` other than ``"sigmoid"`` and ``"tanh"``, or another than the one of
        a generator that ends in a Sigmoid or a Tanh; for ``n`` not a whole number of at least
        :data:`MIN_DIGITS` or ``batch_size`` not one of at least 1, before any digit is drawn.
    TypeError
        When ``ref`` is not a :class:`Reference`.
    """
    _need_reference(ref)
    _check_scale(generator, scale)
    n = whole_number(f"n (the digits to score; scoring needs at least {MIN_DIGITS})", n, MIN_DIGITS)
    batch_size = whole_number("batch_size", batch_size, 1)
    # every score reads the first min(n, held-out) digits (memorisation its first
    # MEMORISED_DIGITS): the digits past them would only fill the memory (an --eval-n of 10**9)
    n = min(n, max(len(ref.held_out), MEMORISED_DIGITS if memorise else 0))
    with generator.evaluating():
        images = np.concatenate([
            _to_unit(generated_images(generator, sample_noise(min(batch_size, n - i))), scale)
            for i in range(0, n, batch_size)])
    scores = score_images(images, ref, parzen=parzen, asked=asked, classes_out=classes_out)
    if memorise and ref.training is not None:
        scores["memorisation"] = memorisation(images, ref)
    if images_out is not None:
        images_out.append(images)
    return scores


def scoring_noise(noise_dim, prior, rng, dtype, conditional=False):
    """``noise(m)``: the next ``m`` noise vectors of the digits to score, from ``rng``.

    z comes from the run's prior (:func:`minigan.gan.sample_noise`); a conditional
    run's vectors carry the labels 0, 1, ..., 9, 0, 1, ... in turn across calls,
    so the ten classes are drawn in equal shares.
    """
    from minigan.gan import sample_noise

    drawn = [0]

    def noise(m):
        z = sample_noise(m, noise_dim, prior, rng, dtype)
        if conditional:
            from minigan.gan.conditional import labelled_noise
            z = labelled_noise(z, scored_labels(drawn[0] + m)[drawn[0]:])
        drawn[0] += m
        return z

    return noise


def scored_labels(n):
    """The classes a conditional run's first ``n`` scored digits were asked for
    (:func:`scoring_noise`): 0, 1, ..., 9, 0, 1, ..."""
    from minigan.gan.conditional import CLASSES
    return np.arange(n) % CLASSES


def least_said(agreement):
    """``"the least: digit 9, 64.6%"``: the class of
    :func:`~minigan.lab.metrics.label_agreement`'s ``agreement`` read least often as asked,
    and its share (what ``eval`` and ``train --eval-every`` print beside the agreement)."""
    least = agreement["least_class"]
    return f"the least: digit {least}, {100 * agreement['per_class'][least]:.1f}%"


def _pm(mean, se, digits=2):
    return f"{mean:.{digits}f} ± {se:.{digits}f}"


def format_table(scores, real, ref, draws=None, of_file=False, verdicts=True):
    """The report: one line per metric, the generated digits beside the real held-out ones.

    ``draws``: the spread over several draws of the noise, :func:`draw_spread`'s dict with
    the draws' ``seeds`` and count ``n`` (``minigan eval --draws``), printed below the rows.
    ``of_file``: the digits of a file, drawn elsewhere (the advice of the warnings below it).
    ``verdicts``: the warnings below the table (mode collapse, no digit, copies) as they
    are (True), left out (False), or each after the words it gives (a string: ``"if its
    images are digits: "``, for a generator of a data set of one's own, which the scores of a
    digit classifier judge only where its images are digits).
    """
    rows = [
        ("inception score (10 splits)", _pm(scores["inception_score"], scores["inception_score_std"]),
         _pm(real["inception_score"], real["inception_score_std"])),
        ("classes covered (>= 5% of samples)", f"{scores['classes_covered']}/10",
         f"{real['classes_covered']}/10"),
        ("confident share (p >= 0.9) \u2021", f"{scores['confident_share']:.3f}",
         f"{real['confident_share']:.3f}"),
        (f"FID ({scores['n_compared']} vs reference)", f"{scores['fid']:.2f}", f"{real['fid']:.2f}"),
        ("precision (k = 3) \u2021", f"{scores['precision']:.3f}", f"{real['precision']:.3f}"),
        ("recall (k = 3)", f"{scores['recall']:.3f}", f"{real['recall']:.3f}"),
        ("density (k = 5) \u2021", f"{scores['density']:.3f}", f"{real['density']:.3f}"),
        ("coverage (k = 5)", f"{scores['coverage']:.3f}", f"{real['coverage']:.3f}"),
    ]
    if "parzen_mean" in scores:
        rows.append(("Parzen log-likelihood (nats) *",
                     _pm(scores["parzen_mean"], scores["parzen_se"], 1),
                     _pm(real["parzen_mean"], real["parzen_se"], 1)))
        rows.append(("  Parzen bandwidth sigma", f"{scores['parzen_sigma']:.3f}",
                     f"{real['parzen_sigma']:.3f}"))
    w = max(len(r[0]) for r in rows)
    lines = [f"{'metric':<{w}}  {'generated':>14}  {'real held-out':>14}"]
    lines += [f"{a:<{w}}  {b:>14}  {c:>14}" for a, b, c in rows]
    hist = lambda h: " ".join(f"{100 * s:3.0f}" for s in h)  # noqa: E731
    lines.append(f"{'class shares (%) 0..9':<{w}}  generated {hist(scores['histogram'])}")
    lines.append(f"{'':<{w}}  real      {hist(real['histogram'])}")
    if draws is not None:
        lines += _spread_rows(draws, w)
    lines.append("\u2021 a generator that draws one good digit over and over scores well here: "
                 "read it beside recall, coverage and the classes covered")
    if "parzen_mean" in scores:
        lines.append(f"* {metrics.PARZEN_CAVEAT}")
    said = "" if isinstance(verdicts, bool) else str(verdicts)
    lines += [f"warning: {said}{w}"
              for w in (warnings(scores, real, ref, of_file) if verdicts else ())]
    lines.append(ref.classifier.describe())
    described = ref.description
    if real["n"] < len(ref.held_out):       # the real column is as many as the generated
        described += (f"; the real held-out column scores {real['n']:,} of the "
                      f"{len(ref.held_out):,} held-out digits (a seeded random choice), as many "
                      "as the generated ones")
    lines.append(described)
    return "\n".join(lines)


#: The scores whose spread over noise draws ``minigan eval --draws`` reports.
DRAW_SCORES = ("fid", "inception_score", "precision", "recall", "coverage", "classes_covered")


def draw_spread(draws):
    """The spread of each score over several draws of a generator's noise.

    The digits one generator draws depend on its noise; so do their scores: FID above all,
    which a few odd digits among thousands move by much. Score the same generator on
    several draws (``minigan eval --draws K``) and compare generators by the spread.

    Parameters
    ----------
    draws : list of dict
        The scores of each draw (:func:`score_images`), two or more.

    Returns
    -------
    dict
        For each name of :data:`DRAW_SCORES`: ``values`` (one per draw, in order), ``mean``,
        ``std`` (the sample standard deviation, divided by ``K - 1``), ``min`` and ``max``.
    """
    if len(draws) < 2:
        raise ValueError(f"a spread needs two draws or more, got {len(draws)}")
    spread = {}
    for name in DRAW_SCORES:
        values = np.array([d[name] for d in draws], dtype=np.float64)
        spread[name] = {"values": values.tolist(), "mean": float(values.mean()),
                        "std": float(values.std(ddof=1)), "min": float(values.min()),
                        "max": float(values.max())}
    return spread


def _spread_rows(draws, w):
    """:func:`format_table`'s rows of the spread over noise draws, in its columns."""
    seeds, n, k = draws["seeds"], draws["n"], len(draws["seeds"])
    labels = {"fid": "FID", "inception_score": "inception score",
              "precision": "precision (k = 3)", "recall": "recall (k = 3)",
              "coverage": "coverage (k = 5)", "classes_covered": "classes covered"}
    lines = [f"{f'over {k} draws of the noise':<{w}}  {'mean ± sd':>14}  {'range':>14}",
             f"  (--seed {seeds[0]} to {seeds[-1]}, {n} digits each)"]
    for name, label in labels.items():
        s = draws[name]
        digits = {"classes_covered": 1, "precision": 3, "recall": 3, "coverage": 3}.get(name, 2)
        ends = " to ".join(f"{s[end]:.{0 if name == 'classes_covered' else digits}f}"
                           for end in ("min", "max"))
        lines.append(f"{'  ' + label:<{w}}  {_pm(s['mean'], s['std'], digits):>14}  {ends:>14}")
    return lines


#: The share of the real row's precision and of its density under which both put the
#: generated digits among none of the real ones (:func:`unlike_warning`).
UNLIKE = 0.1


def looks_like_no_digit(scores, real):
    """Whether the generated digits fall among none of the real ones: their precision and
    their density both under :data:`UNLIKE` (a tenth) of the real row's.

    Precision is the share of generated digits inside a real digit's ball, density the
    number of real balls a generated digit falls in (over k): near 0 both, almost no drawn
    digit sits where any real digit does. A tenth of the real row's is far from what anything
    digit-like scores: 2,000 held-out MNIST test digits score precision 0.87 and density
    0.99; uniform noise and the same digits inverted 0.000 and 0.000; a collapsed generator
    (copies of one digit, of one class, a blank image) 0.91 to 1.00 and 0.20 to 1.04; the
    digits transposed, blurred to half contrast or under Gaussian noise of 0.3, 0.41 to 0.69
    and 0.23 to 0.51; the 10-epoch vanilla GAN of the results, one blurry blob, precision
    0.39. Relative to the real row, since the balls' sizes (and so both scores) move with
    the count of digits and the feature space."""
    return (scores["precision"] < UNLIKE * real["precision"]
            and scores["density"] < UNLIKE * real["density"])


def unlike_warning(scores, real, of_file=False):
    """The sentence saying the generated digits look like none of the real ones
    (:func:`looks_like_no_digit`), or None: beside ``minigan eval``'s table and each score of
    a run's ``--eval-every``. Such digits also cover none of the data, which is not a
    collapse onto part of it (:func:`collapse_warning`); the classifier still reads a class
    in each, often one class with confidence (noise: confident share 1.000), which the
    sentence says to read as nothing. What to check: a file's pixels (``of_file``: digits
    drawn elsewhere, ``minigan eval FILE.npy``), else the generator's training (a run's
    digits, whose scale and layout are its own)."""
    if not looks_like_no_digit(scores, real):
        return None
    read = ""
    if "confident_share" in scores and "classes_covered" in scores:
        read = (f"; the classifier still reads a digit in each (confident share "
                f"{scores['confident_share']:.3f}, {int(scores['classes_covered'])} "
                f"class{'es' if int(scores['classes_covered']) != 1 else ''} covered), which "
                "says nothing of digits like these")
    return (f"the generated digits look like none of the real ones (precision "
            f"{scores['precision']:.3f} and density {scores['density']:.3f}, real digits "
            f"{real['precision']:.3f} and {real['density']:.3f}): noise or images of something "
            f"else, not a collapse{read}. " + (
                "Check the pixels' scale and layout (white digits on black, in the range the "
                "scale says, each row 28 x 28 in order, not transposed), that the generator "
                "that drew them had trained (an untrained one draws noise) and that the "
                "images are digits at all (a file of something else)" if of_file else
                "A generator that has not trained yet draws noise, and one whose training "
                "diverged draws noise again: look at the run's grids and loss curves, and "
                "train longer, or again with a smaller step (--lr)"))


def collapse_warning(scores, real):
    """The sentence saying the generator collapsed onto part of the data, or None: beside
    ``minigan eval``'s table and each score of a run's ``--eval-every``, where precision
    alone can look good for a collapsed generator.

    Said when the generated digits cover under half the real digits' neighbourhoods
    (coverage) and look like real digits in part: not when their precision and density are
    both near 0 (:func:`looks_like_no_digit`), digits that cover nothing because they look
    like no digit at all (noise), which :func:`unlike_warning` names instead. A collapsed
    generator draws real-looking digits, precision and density near the real row's or above
    (copies of one class: 0.91 and 1.04 against 0.87 and 0.99), so one threshold, near 0,
    tells the two apart, with no middle ground left unsaid."""
    if scores["coverage"] >= 0.5 * real["coverage"] or looks_like_no_digit(scores, real):
        return None
    return (f"the generated digits cover {100 * scores['coverage']:.0f}% of the real digits' "
            f"neighbourhoods, real digits {100 * real['coverage']:.0f}%: the generator has "
            "collapsed onto part of the data (mode collapse), or, early in its training, has "
            "not reached the rest yet")


def warnings(scores, real, ref, of_file=False):
    """What the report must say besides its numbers: scored digits that are copies of the
    real ones (``scores["copies_of_real"]``, a file's), digits that look like no real digit
    (``of_file``: digits of a file, drawn elsewhere), a collapsed generator, one that copies
    its training digits, one scored on the digits it trained on."""
    out = [said for said in (copies_warning(scores.get("copies_of_real")),
                             unlike_warning(scores, real, of_file),
                             collapse_warning(scores, real))
           if said]
    mem = scores.get("memorisation")
    if mem is not None and mem["copies"] > 0.1:
        out.append(f"{100 * mem['copies']:.0f}% of the generated digits sit nearer a training "
                   f"digit than 99% of real held-out digits do: the generator copies its "
                   "training digits")
    if ref.caveat:
        out.append(ref.caveat)
    return out


def conditional_tstr(generator, noise_dim, scale, prior="gaussian", n=10000, data_dir=None,
                     download=True, epochs=metrics.TSTR_EPOCHS, seed=0, dtype=None):
    """Train on synthetic, test on real: labelled generated digits against as many real ones.

    As many generated digits as real training digits (at most ``n``), one tenth
    of each class, train the classifier architecture of ``minigan.lab.classifier``
    (``epochs`` epochs, seeded); the same architecture, settings and seed train on
    the same number of real labelled digits (:func:`minigan.lab.metrics.tstr`); both
    are tested on real digits neither classifier has seen (the generator may have: a
    run trained on the test split, where only it is at hand, saw them all). With the
    training split at hand, 10,000 training digits (a stratified random choice,
    :data:`SPLIT_SEED`) train and the 10,000 test digits test; with only the test split,
    the halves of :meth:`Reference.load`: the reference half trains, the real row tests.

    Returns
    -------
    dict with ``tstr`` (accuracy of the classifier trained on generated digits),
    ``trtr`` (trained on real digits), ``n_synthetic`` and ``n_real`` (the digits
    each was trained on: the same number), ``n_test``, ``data``, ``epochs``
    """
    from minigan.data import DataError, load_mnist
    from minigan.gan import conditional

    xt, yt = load_mnist("test", data_dir=data_dir, scale="sigmoid", download=download)
    try:
        xr, yr = load_mnist("train", data_dir=data_dir, scale="sigmoid", download=False)
        keep = stratified_split(yr, 10000)[0]
        xr, yr = xr[keep], yr[keep]
        data = "real: 10,000 MNIST training digits; test: the 10,000 MNIST test digits"
    except DataError:
        a, b = stratified_split(yt, len(yt) // 2)
        xr, yr, xt, yt = xt[a], yt[a], xt[b], yt[b]
        data = (f"real: {len(a):,} MNIST test digits; test: the other {len(b):,} (a random split "
                f"stratified by class, seed {SPLIT_SEED})")
    labels = np.arange(min(int(n), len(xr))) % conditional.CLASSES
    x = conditional.generate(generator, labels, noise_dim, prior, np.random.default_rng(seed), dtype)
    x = x.reshape(len(x), -1).astype(np.float32)
    x = (x + 1) / 2 if scale == "tanh" else x
    scores = metrics.tstr(x, labels, xr, yr, xt, yt, epochs=epochs, seed=seed)
    return {"tstr": float(scores["tstr"]), "trtr": float(scores["trtr"]),
            "n_synthetic": scores["n_train"], "n_real": scores["n_train"],
            "n_test": int(len(xt)), "data": data, "epochs": int(epochs)}
