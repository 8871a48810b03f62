"""``minigan eval``: score a generator, beside the same scores for real held-out digits.

A number is never shown alone: every score of the generated digits is
printed next to the same score of real digits that play the generator's
part. The real digits are cut in two:

- the *reference* set, what generated digits are compared to (FID and
  precision/recall measure the distance to it; the Parzen window of the real
  row is built on it);
- the *held-out* set, digits the reference set does not include, scored
  exactly like generated ones (IS, classes, FID and precision/recall against
  the reference, Parzen log-likelihood at them).

With the 60,000 training digits at hand the reference is the first 10,000 of
them and the held-out set the 10,000 test digits; with only the test split,
the reference is test digits 0-4,999 and the held-out set 5,000-9,999. FID,
precision/recall and the Parzen window use the same number of generated
digits as the real row uses real ones (FID and Parzen depend on it).

Score a run folder (or a checkpoint file)::

    minigan eval runs/vanilla --n 10000 --data-dir DIR

which prints the table and writes ``eval.json`` into the run folder. From
code (a trainer scoring its generator every few epochs)::

    from minigan import evaluate
    ref = evaluate.Reference.load(data_dir="DIR")        # once: real digits and their features
    scores = evaluate.evaluate_generator(G, model.sample_noise, 2000, ref, scale="sigmoid")
"""

from __future__ import annotations

import numpy as np

from minigan import backend

from . import metrics
from .classifier import load_default

__all__ = ["MIN_DIGITS", "Reference", "score_images", "scoring_noise", "evaluate_generator",
           "format_table", "conditional_tstr"]

MIN_DIGITS = 20
"""Fewest digits scored: the inception score's 10 splits of at least 2, and more than
k = 3 neighbours for precision and recall."""


class Reference:
    """Real digits, split into a reference and a held-out set, with their classifier outputs.

    Parameters
    ----------
    reference, held_out : ndarray (N, 784), pixels in [0, 1]
    classifier : minigan.lab.classifier.Classifier, optional (default: cached, else shipped)
    description : str
        Which digits each set holds (printed with every report).
    """

    def __init__(self, reference, held_out, classifier=None, description=""):
        self.classifier = load_default() if classifier is None else classifier
        self.reference = np.asarray(reference, dtype=np.float32)
        self.held_out = np.asarray(held_out, dtype=np.float32)
        self.description = description
        self.ref_features, _ = self.classifier.features_and_probs(self.reference)
        self._real_rows = {}

    @classmethod
    def load(cls, data_dir=None, classifier=None, download=True):
        """The MNIST reference and held-out digits (see the module docstring).

        The test split is downloaded when missing (unless ``download=False``); the
        training split is used only when its files are already at hand.
        """
        from minigan.data import DataError, load_mnist

        test = load_mnist("test", data_dir=data_dir, scale="sigmoid", download=download)[0]
        try:
            train = load_mnist("train", data_dir=data_dir, scale="sigmoid", download=False)[0]
        except DataError:
            train = None
        if train is not None:
            return cls(train[:10000], test, classifier,
                       "reference: MNIST train digits 0-9,999; real row: the 10,000 test digits")
        half = min(5000, len(test) // 2)   # 5,000 of MNIST's 10,000; half of a smaller set
        return cls(test[:half], test[half:], classifier,
                   f"reference: MNIST test digits 0-{half - 1:,}; real row: held-out test digits "
                   f"{half:,}-{len(test) - 1:,}")

    def real_row(self, n=None, parzen=True):
        """The scores of the first ``min(n, len(held_out))`` held-out real digits (all of
        them by default), computed once per count.

        Pass the number of generated digits: :func:`score_images` compares that many
        (at most ``len(held_out)``), and FID, precision/recall, the Parzen window and
        the inception score all move with the count, so the real row must be scored
        on as many digits to stand beside them.
        """
        m = len(self.held_out) if n is None else min(int(n), len(self.held_out))
        row = self._real_rows.get(m)
        if row is None or (parzen and "parzen_mean" not in row):
            self._real_rows[m] = score_images(self.held_out[:m], self, parzen=parzen, real=True)
        return self._real_rows[m]


def _parzen_split(ref):
    """Validation and test points of the Parzen protocol: held-out digits, 1,000 and the rest."""
    n_valid = min(1000, len(ref.held_out) // 5)
    return ref.held_out[:n_valid], ref.held_out[n_valid:]


def score_images(images, ref, parzen=True, real=False):
    """Every metric of a set of digits ``(N, 784)`` in [0, 1] against ``ref``.

    IS and the class statistics use all ``N`` digits; FID, precision/recall
    and the Parzen window use ``min(N, len(ref.held_out))`` of them, the
    count of ``ref.real_row(N)``. ``real=True`` scores held-out digits
    themselves (the Parzen window is then built on the reference digits).
    """
    if len(images) < MIN_DIGITS:
        raise ValueError(f"scoring needs at least {MIN_DIGITS} digits (the inception score's 10 "
                         f"splits, k = 3 nearest neighbours), got {len(images)}; score more")
    clf = ref.classifier
    feats, probs = clf.features_and_probs(images)
    m = min(len(images), len(ref.held_out))
    is_mean, is_std = metrics.inception_score(probs)
    scores = {"n": int(len(images)), "inception_score": is_mean, "inception_score_std": is_std,
              **metrics.class_statistics(probs),
              "fid": metrics.fid(feats[:m], ref.ref_features), "n_compared": int(m)}
    xp = backend.xp()
    p, r = metrics.precision_recall(xp.asarray(ref.ref_features[:m]), xp.asarray(feats[:m]))
    scores.update(precision=p, recall=r)
    if parzen:
        valid, test = _parzen_split(ref)
        centres = ref.reference if real else np.asarray(images[:m], dtype=np.float32)
        centres = centres[:min(m, len(ref.reference))]
        result = metrics.parzen_window(xp.asarray(centres), xp.asarray(valid), xp.asarray(test))
        scores.update({f"parzen_{k}": v for k, v in result.items()})
    return scores


def _to_unit(images, scale):
    x = backend.to_host(images).reshape(len(images), -1).astype(np.float32)
    return (x + 1) / 2 if scale == "tanh" else x


def evaluate_generator(generator, sample_noise, n, ref, scale="sigmoid", parzen=True,
                       batch_size=1000):
    """Draw ``n`` digits from ``generator`` and score them (a trainer's ``--eval-every`` hook).

    Parameters
    ----------
    generator : Layer, noise -> images (put in evaluation mode here, restored after)
    sample_noise : callable ``m -> (m, noise_dim)`` noise on the device (``GAN.sample_noise``)
    n : int
    ref : Reference
    scale : {"sigmoid", "tanh"}, the generator's pixel range ([0, 1] or [-1, 1])
    parzen : bool, include the Parzen window (the slowest metric)

    Returns
    -------
    dict of scores (see :func:`score_images`)
    """
    with generator.evaluating():
        images = np.concatenate([_to_unit(generator.forward(sample_noise(min(batch_size, n - i))),
                                          scale) for i in range(0, n, batch_size)])
    return score_images(images, ref, parzen=parzen)


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
            from minigan.gan.conditional import CLASSES, labelled_noise
            z = labelled_noise(z, (drawn[0] + np.arange(m)) % CLASSES)
        drawn[0] += m
        return z

    return noise


def _pm(mean, se, digits=2):
    return f"{mean:.{digits}f} ± {se:.{digits}f}"


def format_table(scores, real, ref):
    """The report: one line per metric, the generated digits beside the real held-out ones."""
    rows = [
        ("inception score (10 splits)", _pm(scores["inception_score"], scores["inception_score_std"]),
         _pm(real["inception_score"], real["inception_score_std"])),
        ("classes covered (>= 5% of samples)", f"{scores['classes_covered']}/10",
         f"{real['classes_covered']}/10"),
        ("confident share (p >= 0.9)", f"{scores['confident_share']:.3f}",
         f"{real['confident_share']:.3f}"),
        (f"FID ({scores['n_compared']} vs reference)", f"{scores['fid']:.2f}", f"{real['fid']:.2f}"),
        ("precision (k = 3)", f"{scores['precision']:.3f}", f"{real['precision']:.3f}"),
        ("recall (k = 3)", f"{scores['recall']:.3f}", f"{real['recall']:.3f}"),
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
    if "parzen_mean" in scores:
        lines.append(f"* {metrics.PARZEN_CAVEAT}")
    lines.append(ref.classifier.describe())
    lines.append(ref.description)
    return "\n".join(lines)


def conditional_tstr(generator, noise_dim, scale, prior="gaussian", n=10000, data_dir=None, download=True,
         epochs=5, seed=0, dtype=None):
    """Train on synthetic, test on real: labelled generated digits against as many real ones.

    As many generated digits as real training digits (at most ``n``), one tenth
    of each class, train the classifier architecture of ``minigan.lab.classifier``
    (``epochs`` epochs, seeded); the same architecture, settings and seed train on
    the same number of real labelled digits (:func:`minigan.lab.metrics.tstr`); both
    are tested on real digits neither has seen. The real digits are those of
    ``minigan eval``: with the training split at hand, training digits 0-9,999
    train and the 10,000 test digits test; with only the test split, test digits
    0-4,999 train and 5,000-9,999 test.

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
        xr, yr, data = xr[:10000], yr[:10000], "real: MNIST train digits 0-9,999; test: MNIST test"
    except DataError:
        xr, yr, xt, yt = xt[:5000], yt[:5000], xt[5000:], yt[5000:]
        data = "real: MNIST test digits 0-4,999; test: MNIST test digits 5,000-9,999"
    labels = np.arange(min(int(n), len(xr))) % conditional.CLASSES
    x = conditional.generate(generator, labels, noise_dim, prior, np.random.default_rng(seed), dtype)
    x = x.reshape(len(x), -1).astype(np.float32)
    x = (x + 1) / 2 if scale == "tanh" else x
    scores = metrics.tstr(x, labels, xr, yr, xt, yt, epochs=epochs, seed=seed)
    return {"tstr": float(scores["tstr"]), "trtr": float(scores["trtr"]),
            "n_synthetic": scores["n_train"], "n_real": scores["n_train"],
            "n_test": int(len(xt)), "data": data, "epochs": int(epochs)}
