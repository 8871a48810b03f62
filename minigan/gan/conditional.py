r"""Conditional GAN (Mirza & Osindero 2014): choose the digit.

G takes the noise and a one-hot label, :math:`G(z, c)`; D judges an image
with its label, :math:`D(x, c)`, and the game becomes

.. math::
    \min_G \max_D\ E_{(x, c) \sim p_{data}}[\log D(x, c)]
        + E_{z \sim p_z,\, c \sim p_c}[\log(1 - D(G(z, c), c))].

Here the label travels with the sample: a real batch is the images with
their labels appended (:func:`with_labels`), and the generator
(:class:`minigan.nn.layers.ConditionalGenerator`) appends the label it was given
to what it draws. So D's input is the pair, G's is ``[z, c]``, and
:class:`ConditionalGAN` differs from :class:`minigan.gan.GAN` in its
noise, ``[z, c]`` with ``c`` drawn uniformly over the classes, and in two
places where the label must stay a label: instance noise goes on the image
alone, and WGAN-GP's penalty points blend images beside the real sample's
label and measure the gradient with respect to the image. Every other loss,
step and remedy of the plain GAN applies unchanged.

- Dense layers (the vanilla model): the label is concatenated to z and to the
  flat image (D's first layer takes 784 + 10 numbers).
- Convolutions (the DCGAN): the label is concatenated to z, and joins D's
  input as 10 constant channel maps beside the image's channel
  (:func:`minigan.functional.label_concat_forward`).

:func:`minigan.lab.scoring.conditional_tstr` measures how well the labels were
learned: a classifier trained on labelled generated digits, tested on real ones,
beside the same classifier trained on as many real digits.
"""

from __future__ import annotations

import numpy as np

from minigan import backend
from minigan.functional.conditional import label_concat_forward
from minigan.functional.errors import whole_number
from minigan.nn import layers

from . import algorithm as gan

__all__ = ["CLASSES", "ConditionalGAN", "one_hot", "with_labels", "labelled_noise",
           "draw_labels", "digit_rows", "generate"]

CLASSES = 10


def one_hot(labels, classes=CLASSES, dtype=None):
    """``(N,)`` integer labels -> ``(N, classes)`` one-hot rows, on the labels' device.

    Raises ``ValueError`` for labels of another shape than ``(N,)`` (a column ``(N, 1)``
    would give rows of shape ``(N, 1, classes)``) or not numbers, for a label outside
    ``0 .. classes - 1`` or not a whole number
    (its row would be all zeros: a sample of no class), for labels on the host: labels
    already on the GPU (a run's, checked when its data was loaded) are taken as they are,
    since reading their range back would cost two waits on the device at every batch."""
    xp = backend.get_array_module(labels)
    labels = xp.asarray(labels)
    if labels.ndim != 1 or labels.dtype.kind not in "biuf":
        raise ValueError(f"labels must be one integer class a sample, shape (N,), got "
                         f"{labels.dtype} labels of shape {tuple(labels.shape)}"
                         + (" (labels.ravel() for a column of them)"
                            if labels.ndim == 2 and labels.shape[1] == 1 else ""))
    if xp is np and labels.dtype.kind == "f" and not np.isfinite(labels).all():
        raise ValueError(f"labels must be classes 0 to {classes - 1}, got "
                         f"{labels[~np.isfinite(labels)][0]}")
    if xp is np and labels.size and not (0 <= labels.min() and labels.max() < classes):
        raise ValueError(f"labels must be classes 0 to {classes - 1}, got labels from "
                         f"{int(labels.min())} to {int(labels.max())} (classes={classes})")
    if xp is np and labels.size and (labels != np.floor(labels)).any():
        raise ValueError(f"labels must be whole numbers, classes 0 to {classes - 1}, got "
                         f"{labels[labels != np.floor(labels)][0]} (its one-hot row would be "
                         "all zeros)")
    dtype = backend.default_dtype() if dtype is None else dtype
    return (labels[:, None] == xp.arange(classes)[None, :]).astype(dtype)


def with_labels(x, labels, classes=CLASSES):
    """Real images with their one-hot labels appended (features of a row, or channel maps)."""
    return label_concat_forward(x, one_hot(labels, classes, x.dtype))[0]


def labelled_noise(z, labels, classes=CLASSES):
    """``[z, one_hot(labels)]``: the input of a conditional generator (one label a noise
    vector: ``ValueError`` otherwise)."""
    rows = one_hot(labels, classes, z.dtype)     # labels that are not (N,) said as such first
    if len(rows) != len(z):
        raise ValueError(f"{len(z)} noise vectors and {len(rows)} labels: give one label a "
                         "noise vector")
    xp = backend.get_array_module(z)
    return xp.concatenate([z, xp.asarray(rows)], axis=1)


def draw_labels(rng, m, classes=CLASSES, present=None):
    """``m`` labels drawn uniformly from the host generator ``rng``: over ``0 .. classes - 1``,
    or over ``present`` where it is given (the classes a data set holds)."""
    if present is None:
        return rng.integers(0, classes, int(m))
    present = np.asarray(present, dtype=np.int64)
    return present[rng.integers(0, len(present), int(m))]


def digit_rows(per_digit, classes=CLASSES):
    """Labels ``0 .. 0, 1 .. 1, ...``: a grid of ``per_digit`` columns shows one digit a row.
    ``classes``: how many (the classes ``0 .. classes - 1``), or the classes themselves in
    their order (those a data set holds)."""
    rows = np.arange(classes) if np.ndim(classes) == 0 else np.asarray(classes, dtype=np.int64)
    return np.repeat(rows, per_digit)


class ConditionalGAN(gan.GAN):
    """:class:`minigan.gan.GAN` whose noise carries a label: ``[z, one_hot(c)]``.

    ``generator`` is a :class:`minigan.nn.layers.ConditionalGenerator`; the real
    batches given to :meth:`~minigan.gan.GAN.train_iteration` are :func:`with_labels` of the
    images. The labels of the fake batches are drawn uniformly from the same
    host generator as z, over every class, or over ``drawn_classes`` where it is set (the
    classes a data set holds: a label that no real image carries would only teach D that
    its fakes are fake). :meth:`sample` returns the images alone.
    """

    def __init__(self, generator, discriminator, g_optimizer, d_optimizer, noise_dim,
                 **kwargs):
        if not isinstance(generator, layers.ConditionalGenerator):
            raise TypeError(f"ConditionalGAN needs a layers.ConditionalGenerator(net, classes) "
                            f"as its generator, got a {type(generator).__name__}")
        self.classes = generator.classes
        #: The classes the fake batches' labels are drawn from, uniformly (None: every class)
        self.drawn_classes = None
        super().__init__(generator, discriminator, g_optimizer, d_optimizer, noise_dim,
                         **kwargs)

    def sample_noise(self, m, dtype=None, labels=None):
        """``m`` rows ``[z, one_hot(c)]``; ``c`` uniform over the classes unless given."""
        # a count of labels (one_hot, in labelled_noise, refuses what is not (N,) labels)
        if labels is not None and np.ndim(labels) == 1 and len(labels) != int(m):
            raise ValueError(f"{len(labels)} labels for {int(m)} samples: give one label a "
                             "sample, or none (uniform over the classes)")
        z = super().sample_noise(m, dtype)
        if labels is None:
            labels = draw_labels(self.rng, m, self.classes, self.drawn_classes)
        return labelled_noise(z, labels, self.classes)

    def sample(self, n=None, z=None, labels=None):
        """Images (without their labels) in evaluation mode, from ``z`` (``[z, c]`` rows)
        or from ``n`` fresh noise vectors with ``labels`` (default: uniform; ``n`` defaults to
        one image a label); ``z`` with ``n`` or ``labels`` is refused (``z`` carries its
        labels)."""
        if z is not None and labels is not None:
            raise ValueError("give labels with n (fresh noise of those labels), not with z, whose "
                             "rows carry their labels already ([z, one_hot(c)]: "
                             "conditional.labelled_noise(z, labels))")
        if z is None:
            if n is None and labels is not None:    # one image a label
                n = np.shape(labels)[0] if np.ndim(labels) else None
            z = self.sample_noise(n, labels=labels)
            n = None
        return super().sample(n, z=z)


def generate(generator, labels, noise_dim, prior="gaussian", rng=None, dtype=None,
             batch_size=gan.GENERATE_BATCH):
    """Images of the given ``labels`` from a conditional generator, on the host, in batches.

    ``generator`` is a :class:`minigan.nn.layers.ConditionalGenerator` (its images are
    drawn in evaluation mode; the mode is restored after); a plain or self-conditioned one
    is refused with a ``TypeError`` naming :func:`minigan.nn.layers.generated_images`. No
    labels, or a ``batch_size`` below 1, is a ``ValueError``.
    """
    if not hasattr(generator, "images") or isinstance(generator, layers.SelfConditionedGenerator):
        raise TypeError(f"generate draws digits of given labels from a "
                        f"layers.ConditionalGenerator, got a {type(generator).__name__}: a "
                        "generator without labels, or one that draws its group from its noise "
                        "(--clusters), draws layers.generated_images(G, z) of noise "
                        "z = gan.sample_noise(n, noise_dim, prior, rng)")
    batch_size = whole_number("batch_size", batch_size, 1)
    if len(labels) == 0:
        raise ValueError("labels is empty: give the class of each image to draw (numpy.arange(10) "
                         "for one of each digit)")
    out = []
    with generator.evaluating():
        for i in range(0, len(labels), batch_size):
            part = labels[i:i + batch_size]
            z = gan.sample_noise(len(part), noise_dim, prior, rng, dtype)
            out.append(backend.to_host(generator.images(labelled_noise(z, part, generator.classes))))
    return np.concatenate(out)
