"""The MNIST classifier behind the metrics: a small CNN of minigan's own layers.

A score such as the inception score or FID is comparable only between runs
scored by the same network, so the classifier is fixed: it has a version
(:data:`VERSION`), its weights a SHA-256 checksum (:func:`checksum`), and
every report prints both. Train it with one command::

    minigan classifier train --split test --data-dir DIR --seed 0

(``--split test``: trained on the first 8,000 test digits, accuracy on the
last 2,000; ``--split train``: trained on the 60,000 training digits,
accuracy on the 10,000 test digits). The weights are written to the user's
cache (:func:`cache_path`) and :func:`load_default` prefers them; without a
cached classifier it loads the one shipped in the package
(``minigan/lab/classifier_v1.npz``, made by the command above).

The network, on 28 x 28 digits with pixels in [0, 1]::

    Conv2d(1, 32, 3, s2, p1) ReLU      28 -> 14
    Conv2d(32, 64, 3, s2, p1) ReLU     14 -> 7
    Conv2d(64, 64, 3, s2, p1) ReLU      7 -> 4
    Flatten, Dense(1024, 128) ReLU     <- the 128 features of FID and precision/recall
    Dropout(0.3), Dense(128, 10)       <- logits, trained with softmax cross-entropy
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import numpy as np

from minigan import backend
from minigan.data.npz import NpzError, entry_names, read_npz
from minigan.data.paths import cache_home, user_path
from minigan.functional import losses
from minigan.functional.errors import whole_number
from minigan.nn import layers as L
from minigan.nn import optim

__all__ = [
    "VERSION", "FEATURE_DIM", "build", "Classifier", "ClassifierError", "train_classifier", "checksum",
    "save", "load", "holds_classifier", "cache_path", "shipped_path", "default_path", "load_default",
    "split_for_training",
    "as_digits", "check_digit_shape", "DIGIT_SHAPES", "PIXEL_RANGES", "pixel_range",
]

VERSION = "mnist-cnn-v1"
FEATURE_DIM = 128
_FILE = "classifier_v1.npz"


def build(rng=None, dtype=None):
    """The classifier network, ``(N, 784)`` pixels in [0, 1] -> ``(N, 10)`` logits."""
    rng = np.random.default_rng(0) if rng is None else rng
    return L.Sequential(
        L.Reshape((1, 28, 28)),
        L.Conv2d(1, 32, 3, stride=2, padding=1, rng=rng, dtype=dtype), L.ReLU(),
        L.Conv2d(32, 64, 3, stride=2, padding=1, rng=rng, dtype=dtype), L.ReLU(),
        L.Conv2d(64, 64, 3, stride=2, padding=1, rng=rng, dtype=dtype), L.ReLU(),
        L.Flatten(),
        L.Dense(1024, FEATURE_DIM, weight_init="he_normal", rng=rng, dtype=dtype), L.ReLU(),
        L.Dropout(0.3, rng=rng),
        L.Dense(FEATURE_DIM, 10, rng=rng, dtype=dtype),
    )


#: The shapes of a batch of ``N`` digits the classifier reads (one channel, 28 x 28).
DIGIT_SHAPES = ((784,), (28, 28), (1, 28, 28), (28, 28, 1))


def check_digit_shape(shape, what="images"):
    """A ``ValueError`` saying what to do unless ``shape`` is a batch of digits of one of
    :data:`DIGIT_SHAPES` (what :func:`as_digits` checks first; a file's whole shape, checked
    before a slice of it is read)."""
    shape = tuple(shape)
    if len(shape) < 2 or shape[1:] not in DIGIT_SHAPES:
        shapes = ", ".join(str(("N",) + s).replace("'", "") for s in DIGIT_SHAPES)
        raise ValueError(f"{what} of shape {shape}: the lab scores a batch of 28 x 28 MNIST "
                         f"digits of one channel, {shapes}; resize or crop other digits to "
                         "28 x 28 (a batch of one digit: x[None])")


def as_digits(x, what="images"):
    """``x`` as ``(N, 784)`` digits for the classifier, or a ``ValueError`` saying what is wrong.

    ``x``: NumPy or CuPy (or a list), ``N`` digits of one of :data:`DIGIT_SHAPES` each, finite
    pixels in [0, 1] (a little rounding either side passes). Pixels in [-1, 1] or in
    [0, 255] are refused, not guessed at: scored as they are, they give a wrong inception
    score and FID without a word. ``what`` names ``x`` in the message.
    """
    xp = backend.get_array_module(x)
    x = xp.asarray(x)
    check_digit_shape(x.shape, what)
    if len(x) == 0:
        raise ValueError(f"{what} of shape {x.shape}: no digits to score")
    if x.dtype.kind not in "biuf":
        raise ValueError(f"{what} of dtype {x.dtype}: pixels are numbers in [0, 1]")
    x = x.reshape(len(x), 784)
    finite = xp.isfinite(x).all(axis=1)
    if not bool(finite.all()):
        bad = backend.to_host(xp.flatnonzero(~finite))
        holds = "digit holds" if len(bad) == 1 else "digits hold"
        raise ValueError(f"{what}: {len(bad)} of {len(x)} {holds} NaN or infinite pixels "
                         f"(the first: digit {bad[0]}); drop them or draw them again")
    lo, hi = float(x.min()), float(x.max())
    looks = pixel_range(lo, hi)
    if looks == (0, 1):
        return x
    seen = f"{what}: pixels from {lo:.4g} to {hi:.4g}; the lab scores pixels in [0, 1]"
    if looks == (-1, 1):
        raise ValueError(f"{seen}: these look like [-1, 1] (a tanh generator's), so pass "
                         "(x + 1) / 2")
    if looks == (0, 255):
        raise ValueError(f"{seen}: these look like [0, 255] (8-bit pixels), so pass x / 255")
    raise ValueError(f"{seen}: map them to [0, 1] as your generator's range says, or clip "
                     "them (numpy.clip(x, 0, 1))")


#: The pixel ranges digits come in, narrowest first: a sigmoid's, a tanh's, 8-bit pixels'.
PIXEL_RANGES = ((0, 1), (-1, 1), (0, 255))


def pixel_range(lo, hi):
    """The narrowest of :data:`PIXEL_RANGES` that pixels from ``lo`` to ``hi`` fit (a
    thousandth of its width either side passes: rounding), or None. [0, 255] only when
    some pixel is above 2: pixels up to 1.5 or 2 are not 8-bit ones, and divided by 255
    they would be scored as nearly black digits."""
    for low, high in PIXEL_RANGES:
        tol = 1e-3 * (high - low)
        if lo >= low - tol and hi <= high + tol and (high != 255 or hi > 2):
            return (low, high)
    return None


def checksum(net):
    """SHA-256 (hex) of the weights: every parameter's name, shape and float32 bytes, in order."""
    h = hashlib.sha256()
    for name, p in net.params.items():
        a = np.ascontiguousarray(backend.to_host(p), dtype="<f4")
        h.update(f"{name}{a.shape}".encode())
        h.update(a.tobytes())
    return h.hexdigest()


class Classifier:
    """A trained network with its version, checksum and provenance.

    Attributes
    ----------
    net : Sequential (in evaluation mode)
    info : dict
        ``version``, ``checksum``, ``trained_on``, ``accuracy``, ``evaluated_on``,
        ``command`` and ``seconds`` (what :func:`train_classifier` recorded).
    """

    def __init__(self, net, info=None):
        self.net = net.eval()
        self.info = {"version": VERSION, **(info or {})}
        self.info["checksum"] = checksum(net)

    @property
    def version(self):
        return self.info["version"]

    @property
    def checksum(self):
        return self.info["checksum"]

    def describe(self):
        """One line naming the classifier: version, checksum prefix, training data, accuracy."""
        acc = self.info.get("accuracy")
        acc = f", accuracy {100 * acc:.2f}% on {self.info.get('evaluated_on')}" if acc else ""
        return (f"classifier {self.version} sha256:{self.checksum[:16]} "
                f"(trained on {self.info.get('trained_on', '?')}{acc})")

    def features_and_probs(self, x, batch_size=1000):
        """Penultimate features ``(N, 128)`` and class probabilities ``(N, 10)``, on the host.

        ``x``: ``(N, 784)`` (or another of :data:`DIGIT_SHAPES`) pixels in [0, 1], NumPy or
        CuPy; each batch is moved to the device of the classifier's weights and runs there.
        Other shapes or pixel ranges are refused (:func:`as_digits`).
        """
        x = as_digits(x)
        batch_size = whole_number("batch_size", batch_size, 1)
        feats, probs = [], []
        # features: what the last layer sees (in evaluation mode, dropout passes it on as is)
        layers, head = self.net.layers[:-1], self.net.layers[-1]
        xp = backend.get_array_module(*self.net.params.values())
        with self.net.evaluating():
            for i in range(0, len(x), batch_size):
                h = backend.as_array_of(xp, x[i:i + batch_size], np.float32).reshape(-1, 784)
                for layer in layers:
                    h = layer.forward(h)
                logits = head.forward(h)
                shifted = logits - logits.max(axis=1, keepdims=True)
                p = xp.exp(shifted)
                feats.append(backend.to_host(h))
                probs.append(backend.to_host(p / p.sum(axis=1, keepdims=True)))
        return np.concatenate(feats).astype(np.float64), np.concatenate(probs).astype(np.float64)

    def predict(self, x, batch_size=1000):
        """Predicted class of each digit, ``(N,)`` int."""
        return self.features_and_probs(x, batch_size)[1].argmax(axis=1)

    def accuracy(self, x, y, batch_size=1000):
        """Share of ``x`` classified as its label ``y``, ``(N,)`` int classes (a ``ValueError``
        for labels of another shape: a column ``(N, 1)`` would be compared with every
        prediction, about 0.1 whatever the classifier)."""
        y = np.asarray(backend.to_host(y))
        if y.shape != (len(x),):
            raise ValueError(f"accuracy: y must hold one class a digit, shape ({len(x)},), got "
                             f"shape {y.shape}" + (" (y.ravel() for a column of them)"
                                                   if y.shape == (len(x), 1) else ""))
        return float(np.mean(self.predict(x, batch_size) == y))


def _shift(batch, rng, max_shift):
    """Each 28 x 28 digit moved by up to ``max_shift`` pixels each way (zero fill), on the host."""
    n = len(batch)
    pad = np.pad(batch.reshape(n, 28, 28), ((0, 0), (max_shift,) * 2, (max_shift,) * 2))
    dy, dx = rng.integers(0, 2 * max_shift + 1, (2, n))
    return np.stack([pad[i, dy[i]:dy[i] + 28, dx[i]:dx[i] + 28] for i in range(n)]).reshape(n, 784)


def train_classifier(images, labels, epochs=20, batch_size=64, lr=1e-3, seed=0, max_shift=2,
                     net=None, log=None):
    """Train the classifier architecture (Adam, softmax cross-entropy, random shifts).

    Parameters
    ----------
    images : ndarray (N, 784), or another of :data:`DIGIT_SHAPES`, pixels in [0, 1] (checked
        by :func:`as_digits`)
    labels : ndarray (N,) of int classes, or (N, 10) soft targets
    epochs, batch_size, lr : training length, minibatch and Adam's first step size
        (decayed along half a cosine, epoch by epoch)
    seed : int
        Seeds the initialization, the shuffling, the shifts and dropout.
    max_shift : int
        Augmentation: each training digit moved by up to this many pixels (0: none).
    net : Sequential, optional
        Another network of the same input and output (default :func:`build`).
    log : callable, optional
        Called with one line per epoch.

    Returns
    -------
    Sequential in evaluation mode

    Raises
    ------
    ValueError
        For ``epochs`` or ``batch_size`` below 1, a negative ``max_shift``, images that are
        not digits in [0, 1] (:func:`as_digits`), or not one label a digit, before any
        training.
    """
    epochs, batch_size = whole_number("epochs", epochs, 1), whole_number("batch_size", batch_size, 1)
    max_shift = whole_number("max_shift", max_shift, 0)
    images = np.asarray(backend.to_host(as_digits(images, "train_classifier: images")),
                        dtype=np.float32)
    labels = np.asarray(backend.to_host(labels))
    if len(labels) != len(images) or labels.ndim not in (1, 2):
        raise ValueError(f"train_classifier: one label a digit, (N,) classes or (N, 10) soft "
                         f"targets, got labels of shape {labels.shape} for {len(images)} digits")
    # the loss's own checks of the labels, once on the whole set before any training (a
    # batch's on the GPU are not read back)
    try:
        losses.softmax_cross_entropy(np.zeros((len(labels), 10), np.float32), labels)
    except ValueError as exc:
        raise ValueError(f"train_classifier: {exc}") from None
    rng = np.random.default_rng(seed)
    net = build(rng) if net is None else net
    opt = optim.Adam(net, lr=lr)
    net.train()
    for epoch in range(epochs):
        opt.lr = lr * 0.5 * (1 + np.cos(np.pi * epoch / epochs))   # cosine decay to ~0
        order = rng.permutation(len(images))
        total = 0.0
        for i in range(0, len(order), batch_size):
            idx = order[i:i + batch_size]
            x = _shift(images[idx], rng, max_shift) if max_shift else images[idx]
            net.zero_grad()
            logits = net.forward(backend.asarray(x))
            loss, dlogits = losses.softmax_cross_entropy(logits, backend.asarray(labels[idx]))
            net.backward(dlogits, input_grad=False)
            opt.step()
            total += loss * len(idx)
        if log:
            log(f"epoch {epoch + 1}/{epochs}: loss {total / len(order):.4f}")
    return net.eval()


class ClassifierError(NpzError):
    """A file is not a usable classifier of this version; the message says which and why."""


def save(clf, path):
    """Write ``clf`` (weights and info, checksum included) to an ``.npz`` file, atomically."""
    arrays = {f"param:{k}": backend.to_host(p) for k, p in clf.net.params.items()}
    arrays["info"] = np.array(json.dumps(clf.info, sort_keys=True))
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp.npz")
    try:
        np.savez_compressed(tmp, **arrays)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    return path


def holds_classifier(path):
    """Whether the file at ``path`` is an archive of :func:`save`'s entries (``info`` and
    ``param:...``), told by their names alone: a damaged classifier still is one (what
    ``minigan classifier train`` may write over), MNIST's files, a picture or a checkpoint
    are not."""
    names = entry_names(path) or ()
    return "info.npy" in names and all(n == "info.npy" or n.startswith("param:") for n in names)


#: The longest ``info`` entry read (the provenance of the weights, as JSON).
MAX_INFO = 1 << 16


def load(path):
    """Read a classifier written by :func:`save`, each entry checked before it is read.

    The file must hold the architecture's parameters (:func:`build`: each name, shape and a
    float dtype), finite, and an ``info`` entry of this :data:`VERSION` whose checksum
    matches the weights.

    Raises
    ------
    FileNotFoundError
        When there is no such file.
    ClassifierError
        (a ``ValueError``) naming the file and what is wrong with it.
    """
    path = user_path(path)
    shapes = {f"param:{k}": tuple(p.shape) for k, p in build(np.random.default_rng(0)).params.items()}

    def limit(name, shape, dtype):
        if name == "info":
            if shape != () or dtype.kind != "U" or dtype.itemsize > 4 * MAX_INFO:
                raise ValueError("should be a JSON text")
        elif name not in shapes:
            raise ValueError(f"is not a parameter of the classifier {VERSION}")
        elif shape != shapes[name] or dtype.kind != "f":
            raise ValueError(f"has shape {shape} and dtype {dtype}; the classifier's is "
                             f"{shapes[name]}, floating")

    try:
        arrays = read_npz(path, "classifier", limit, max_bytes=64 << 20)
    except NpzError as exc:
        raise ClassifierError(f"{exc}; give a classifier written by 'minigan classifier train'")\
            from None
    missing = sorted(set(shapes) - set(arrays)) + ([] if "info" in arrays else ["info"])
    if missing:
        raise ClassifierError(f"{path} is not a minigan classifier {VERSION}: it lacks "
                              f"{', '.join(missing[:4])}{' ...' if len(missing) > 4 else ''}")
    try:
        info = json.loads(str(arrays.pop("info")[()]))
        if not isinstance(info, dict):
            raise ValueError("not a JSON object")
    except (ValueError, RecursionError) as exc:
        raise ClassifierError(f"{path}: its info entry is not the classifier's ({exc})") from None
    if info.get("version") != VERSION:
        raise ClassifierError(f"{path}: classifier version {str(info.get('version'))[:40]!r}, "
                              f"expected {VERSION}")
    for name, value in arrays.items():
        if not np.isfinite(value).all():
            raise ClassifierError(f"{path}: {name} holds NaN or infinite weights")
    net = build(np.random.default_rng(0))
    net.load_state_dict({k[len("param:"):]: v for k, v in arrays.items()})
    clf = Classifier(net, {k: v for k, v in info.items() if k != "checksum"})
    if clf.checksum != info.get("checksum"):
        raise ClassifierError(f"{path}: weights do not match their recorded checksum "
                              f"({clf.checksum[:16]} != {str(info.get('checksum'))[:16]}); "
                              f"retrain with 'minigan classifier train'")
    return clf


def cache_path():
    """Where ``minigan classifier train`` writes by default:
    ``$XDG_CACHE_HOME/minigan/classifier_v1.npz`` or ``~/.cache/minigan/classifier_v1.npz``."""
    return cache_home() / "minigan" / _FILE


def shipped_path():
    """The classifier shipped in the package (``minigan/lab/classifier_v1.npz``)."""
    return Path(__file__).parent / _FILE


def default_path(path=None, option="--classifier"):
    """The file :func:`load_default` reads: ``path``, else the user's cached classifier, else
    the shipped one.

    Raises ``FileNotFoundError`` saying where it looked (``option``: the command line's
    name for ``path``).
    """
    if path:
        if not user_path(path).is_file():
            raise FileNotFoundError(f"no classifier at {path}; give the .npz file that "
                                    f"'minigan classifier train' wrote, or leave {option} "
                                    "out to use the cached or shipped one")
        return user_path(path)
    for candidate in (cache_path(), shipped_path()):
        if candidate.is_file():
            return candidate
    raise FileNotFoundError(f"no classifier cached at {cache_path()}, and the one shipped with "
                            f"minigan is missing from this installation ({shipped_path()}); "
                            "reinstall minigan, or train one with 'minigan classifier train'")


def load_default(path=None, option="--classifier"):
    """``path``, else the user's cached classifier, else the shipped one
    (:func:`default_path`).

    Raises ``FileNotFoundError`` saying where it looked (``option``: the command line's
    name for ``path``), and :class:`ClassifierError` for a file that is not a usable
    classifier.
    """
    chosen = default_path(path, option)
    try:
        return load(chosen)
    except ClassifierError as exc:
        if path or chosen != cache_path():
            raise
        raise ClassifierError(f"{exc} (the cached classifier: remove it to score with the one "
                              "shipped with minigan, or train it again)") from None


def split_for_training(split, data_dir=None, download=True):
    """The training and evaluation digits for ``minigan classifier train --split SPLIT``.

    ``"train"``: the 60,000 training digits, evaluated on the 10,000 test digits.
    ``"test"``: the test split's first 8,000 digits, evaluated on its last 2,000.

    Returns
    -------
    (x_train, y_train, x_eval, y_eval, trained_on, evaluated_on)
    """
    from minigan.data import load_mnist

    xt, yt = load_mnist("test", data_dir=data_dir, scale="sigmoid", download=download)
    if split == "train":
        x, y = load_mnist("train", data_dir=data_dir, scale="sigmoid", download=download)
        return x, y, xt, yt, "MNIST train (60,000 digits)", "MNIST test (10,000 digits)"
    if split == "test":
        return (xt[:8000], yt[:8000], xt[8000:], yt[8000:],
                "MNIST test digits 0-7,999", "MNIST test digits 8,000-9,999")
    raise ValueError(f"unknown split {split!r}: use 'train' or 'test'")
