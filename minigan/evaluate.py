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

import json
import time
from pathlib import Path

import numpy as np

from . import backend, metrics
from .classifier import load_default

__all__ = ["COMMANDS", "Reference", "score_images", "scoring_noise", "evaluate_generator",
           "evaluate_checkpoint", "format_table", "add_parser", "run"]

COMMANDS = ("eval",)

MIN_DIGITS = 20
"""Fewest digits scored: the inception score's 10 splits of at least 2, and more than
k = 3 neighbours for precision and recall."""


class Reference:
    """Real digits, split into a reference and a held-out set, with their classifier outputs.

    Parameters
    ----------
    reference, held_out : ndarray (N, 784), pixels in [0, 1]
    classifier : minigan.classifier.Classifier, optional (default: cached, else shipped)
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
        from .data import DataError, load_mnist

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
    from .gan import sample_noise

    drawn = [0]

    def noise(m):
        z = sample_noise(m, noise_dim, prior, rng, dtype)
        if conditional:
            from .conditional import CLASSES, labelled_noise
            z = labelled_noise(z, (drawn[0] + np.arange(m)) % CLASSES)
        drawn[0] += m
        return z

    return noise


def evaluate_checkpoint(path, n=10000, ref=None, seed=0, parzen=True, ema=True):
    """Load a run's generator (a run folder or checkpoint file) and score ``n`` of its digits.

    ``ema``: score the moving average of G's weights when the run kept one
    (``--ema``), else G's own weights (``scores["weights"]`` says which). A
    conditional run draws the ten digits in equal numbers.

    Returns
    -------
    (scores, real_scores, ref, checkpoint_path)
    """
    from . import checkpoint, runs

    path = Path(path)
    ckpt_path = path / "checkpoint.npz" if path.is_dir() else path
    G, spec, config = runs.load_generator(ckpt_path, ema=ema)
    noise = scoring_noise(spec.noise_dim, config.get("prior", "gaussian"),
                          np.random.default_rng(seed), np.dtype(config.get("dtype", "float32")),
                          config.get("conditional"))
    net = G.net if config.get("conditional") else G     # the images, without their labels
    scores = evaluate_generator(net, noise, n, ref, scale=spec.scale, parzen=parzen)
    scores["epoch"] = checkpoint.load_checkpoint(ckpt_path)["counters"].get("epoch")
    scores["weights"] = config["weights"]
    return scores, ref.real_row(n, parzen), ckpt_path


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


def add_parser(subparsers):
    """Add ``minigan eval RUN_OR_CHECKPOINT`` to the command line's subparsers."""
    p = subparsers.add_parser("eval", help="score a run's generator beside real held-out digits")
    p.add_argument("run", metavar="RUN_OR_CHECKPOINT", help="a run folder or a checkpoint.npz")
    p.add_argument("--n", type=int, default=10000, help="generated digits (default 10000)")
    p.add_argument("--device", choices=("cpu", "gpu", "auto"), default=None)
    p.add_argument("--data-dir", help="folder with the MNIST .gz files")
    p.add_argument("--no-download", dest="download", action="store_false",
                   help="never download the test split")
    p.add_argument("--seed", type=int, default=0, help="seed of the noise (default 0)")
    p.add_argument("--classifier", help="a classifier .npz (default: cached, else shipped)")
    p.add_argument("--no-parzen", dest="parzen", action="store_false",
                   help="leave out the Parzen window (the slowest metric)")
    p.add_argument("--out", help="where to write eval.json (default: the run folder)")
    p.add_argument("--no-ema", dest="ema", action="store_false",
                   help="score G's own weights even when the run kept their moving average")
    p.add_argument("--tstr-epochs", type=int, default=5,
                   help="a conditional run: epochs of the train-on-synthetic classifier "
                   "(default 5; 0 leaves TSTR out)")


def run(args):
    """Run ``minigan eval``; prints the table, writes eval.json; returns the exit code."""
    if args.n < MIN_DIGITS:
        raise ValueError(f"--n must be at least {MIN_DIGITS} (the inception score's 10 splits, "
                         f"k = 3 nearest neighbours), got {args.n}")
    backend.use(args.device)  # None: $MINIGAN_DEVICE, else auto
    start = time.perf_counter()
    clf = load_default(args.classifier)
    ref = Reference.load(args.data_dir, clf, args.download)
    scores, real, ckpt_path = evaluate_checkpoint(args.run, args.n, ref, args.seed, args.parzen,
                                                  getattr(args, "ema", True))
    tstr = _conditional_tstr(ckpt_path, args)
    seconds = time.perf_counter() - start
    weights = ("the moving average of G's weights" if scores["weights"] == "G_ema"
               else "G's weights")
    print(f"minigan eval {args.run}: {args.n} generated digits (epoch {scores.get('epoch')}, "
          f"{weights}), {seconds:.0f} s")
    print(format_table(scores, real, ref))
    if tstr is not None:
        epochs = f"{tstr['epochs']} epoch" + ("s" if tstr["epochs"] != 1 else "")
        print(f"TSTR (classifier trained on {tstr['n_synthetic']} labelled generated digits, "
              f"{epochs}): {100 * tstr['tstr']:.2f}% on {tstr['n_test']} real "
              f"digits; trained on {tstr['n_real']} real digits: {100 * tstr['trtr']:.2f}% "
              f"({tstr['data']})")
        scores["tstr"] = tstr
    out = Path(args.out) if args.out else Path(ckpt_path).parent / "eval.json"
    report = {"checkpoint": str(ckpt_path), "generated": scores, "real_held_out": real,
              "classifier": {k: clf.info.get(k) for k in ("version", "checksum", "trained_on",
                                                           "accuracy", "evaluated_on")},
              "data": ref.description, "seed": args.seed, "seconds": round(seconds, 1)}
    if "parzen_mean" in scores:
        report["parzen_caveat"] = metrics.PARZEN_CAVEAT
    out.write_text(json.dumps(report, indent=1))
    print(f"wrote {out}")
    return 0


def _conditional_tstr(ckpt_path, args):
    """TSTR of a conditional run (:func:`minigan.conditional.tstr`), or None."""
    from . import conditional, runs

    epochs = getattr(args, "tstr_epochs", 5)
    G, spec, config = runs.load_generator(ckpt_path, ema=getattr(args, "ema", True))
    if not config.get("conditional") or epochs < 1:
        return None
    return conditional.tstr(G, spec.noise_dim, spec.scale, config.get("prior", "gaussian"),
                            n=args.n, data_dir=args.data_dir, download=args.download,
                            epochs=epochs, seed=args.seed, dtype=config.get("dtype"))
