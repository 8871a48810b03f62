"""The MNIST GANs: minigan's default MLP GAN, the vanilla GAN of the TensorFlow listing and a
DCGAN.

>>> import numpy as np
>>> from minigan.gan import models
>>> G, D = models.vanilla(np.random.default_rng(0))
>>> spec = models.MODELS["vanilla"]
>>> spec.noise_dim, spec.batch_size, spec.lr, spec.scale, spec.pixel_range
(100, 128, 0.001, 'sigmoid', (0.0, 1.0))

Each builder returns ``(generator, discriminator)``, two
:class:`~minigan.nn.layers.Sequential`. The discriminator ends in a LOGIT (no
sigmoid): the losses take logits. :data:`MODELS` holds each model's builder
and its training defaults.

=========  =====================================  ======================================
model      generator                              discriminator
=========  =====================================  ======================================
mlp        z(100) -> Dense 256 -> LReLU(0.2)      x(784) -> Dense 512 -> LReLU(0.2)
           -> Dense 512 -> LReLU(0.2)             -> Dense 256 -> LReLU(0.2)
           -> Dense 784 -> Tanh                   -> minibatch stddev -> Dense 1
mlp-large  mlp's G with a third hidden layer,     mlp's D
           -> Dense 1024 -> LReLU(0.2), before
           its Dense 784
vanilla    z(100) -> Dense 128 -> ReLU            x(784) -> Dense 128 -> ReLU
           -> Dense 784 -> Sigmoid (or Tanh)      -> Dense 1
dcgan      z(100) -> Dense 6272 -> BN -> ReLU     x(1, 28, 28) -> Conv 64 /2 -> LReLU(0.2)
           -> (128, 7, 7) -> ConvT 64 /2 -> BN    -> Conv 128 /2 -> BN -> LReLU(0.2)
           -> ReLU -> ConvT 1 /2 -> Tanh          -> Flatten -> Dense 1
=========  =====================================  ======================================

The run's mlp adds pixel norm after each of G's hidden activations and is self-conditioned
on 30 groups of the training images (:func:`build`'s ``clusters``): G takes ``[z, c]`` with
the one-hot group ``c`` joined again to the input of its later Dense layers
(``g_label="every"``, :class:`~minigan.nn.layers.LabelledSequential`), and D takes ``[x, c]``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

from minigan.functional.errors import whole_number
from minigan.nn import layers as L

__all__ = ["mlp", "mlp_large", "vanilla", "dcgan", "ModelSpec", "MODELS", "DEFAULT_MODEL",
           "PIXEL_RANGES", "build", "remedies", "minibatch_layers", "MINIBATCH", "G_LABELS",
           "G_LABEL_MODELS"]

NOISE_DIM = 100
#: Where a conditional G of the MLP models takes its label (``g_label``): with the noise only,
#: or at every Dense layer; the models whose builders take the choice.
G_LABELS, G_LABEL_MODELS = ("input", "every"), ("mlp", "mlp-large")

#: Data scaling (``minigan.data.load_mnist(scale=...)``) -> pixel range of the data and of
#: the generator's output: the one place that knows it.
PIXEL_RANGES = {"sigmoid": (0.0, 1.0), "tanh": (-1.0, 1.0)}


def mlp(rng, dtype=None, classes=0, pack=1, minibatch=None, g_widths=(256, 512),
        d_widths=(512, 256), g_pixelnorm=True, g_batchnorm=False, g_label="input"):
    """minigan's default GAN: two hidden layers in each player, LeakyReLU in both, pixel norm
    after each of G's.

    Trained (:data:`MODELS`) with the hinge game, minibatch standard deviation before D's
    last layer, batches of 128, Adam at 1.4e-3, G's step on the D step's fake batch, a
    moving average of G's weights, and self-conditioned on 30 groups of the training images
    (``clusters=30`` in :func:`build`: G draws a group from its noise, D judges the image
    with its group): the choices, each measured, are on the site's results page "How the
    default was chosen".

    Parameters
    ----------
    rng : numpy.random.Generator
        Host generator for the Xavier (Glorot normal) initialization.
    dtype : float32 or float64, optional
    classes, pack, minibatch
        The remedies against mode collapse (:func:`remedies`); the run's default adds the
        minibatch standard deviation (``minibatch="stddev"``).
    g_widths, d_widths : tuple of int
        The hidden layers' widths of G and of D.
    g_pixelnorm : bool
        G's hidden layers ``Dense -> LeakyReLU(0.2) -> PixelNorm`` (Karras et al.'s
        pixelwise feature normalization, :class:`~minigan.nn.layers.PixelNorm`), or
        ``Dense -> LeakyReLU(0.2)`` without it: ``mlp-large``'s G (with its third hidden
        layer, pixel norm did not train at this step size) and the default's earlier one.
    g_batchnorm : bool
        G's hidden layers as DCGAN has them, ``Dense -> BatchNorm -> ReLU`` (no pixel
        norm): the G of minigan 0.2's ``mlp`` and of the earlier ``mlp-large``, kept so that
        their checkpoints' weights load into a model built here.
    g_label : {"input", "every"}
        With ``classes``: G takes its label with its noise only (``"input"``), or at every
        Dense layer (``"every"``: :class:`~minigan.nn.layers.LabelledSequential`, the run's
        default).

    Returns
    -------
    generator : Sequential, ``(N, 100) -> (N, 784)`` in [-1, 1]
    discriminator : Sequential, ``(N, 784) -> (N, 1)`` logits (or scores of the game)
    """
    if g_label not in G_LABELS:
        raise ValueError(f"mlp: g_label must be one of {G_LABELS}, got {g_label!r}")
    g_widths, d_widths = _widths("g_widths", g_widths), _widths("d_widths", d_widths)
    init = "xavier_normal"
    joined = classes if g_label == "every" else 0     # the label's inputs of later layers
    hidden, prev = [], NOISE_DIM + classes
    for width in g_widths:
        hidden.append(L.Dense(prev, width, weight_init=init, rng=rng, dtype=dtype))
        if g_batchnorm:
            hidden += [L.BatchNorm(width, dtype=dtype), L.ReLU()]
        else:
            hidden += [L.LeakyReLU(0.2)] + ([L.PixelNorm()] if g_pixelnorm else [])
        prev = width + joined
    layers = [*hidden, L.Dense(prev, 784, weight_init=init, rng=rng, dtype=dtype), L.Tanh()]
    G = L.LabelledSequential(*layers, classes=classes) if joined else L.Sequential(*layers)
    body, prev = [], pack * (784 + classes)
    for width in d_widths:
        body += [L.Dense(prev, width, weight_init=init, rng=rng, dtype=dtype), L.LeakyReLU(0.2)]
        prev = width
    head, width = minibatch_layers(minibatch, prev, rng, dtype)
    D = L.Sequential(
        *([L.Pack(pack)] if pack > 1 else []),
        *body,
        *head,
        L.Dense(width, 1, weight_init=init, rng=rng, dtype=dtype),
    )
    return (L.ConditionalGenerator(G, classes) if classes else G), D


def _widths(what, widths):
    """``widths`` as a tuple, or a TypeError unless it is a sequence of hidden layers'
    widths (one number is not: ``(256,)`` is one layer); each width is the Dense layer's to
    check."""
    if isinstance(widths, (str, bytes)) or not hasattr(widths, "__iter__"):
        raise TypeError(f"mlp: {what} must be a sequence of widths, one per hidden layer "
                        f"((256,) for one layer of 256), got {widths!r}")
    return tuple(widths)


def mlp_large(rng, dtype=None, classes=0, pack=1, minibatch=None, g_label="input"):
    """:func:`mlp` with a third hidden layer of 1,024 in G (``g_widths=(256, 512, 1024)``) and
    no pixel norm: the best digits of the site's study ("How the default was chosen") in 15
    minutes of two CPU cores before the default gained its groups and R1, which now score
    higher (the default with batches of 256 higher still in that time)."""
    return mlp(rng, dtype, classes, pack, minibatch, g_widths=(256, 512, 1024),
               g_pixelnorm=False, g_label=g_label)


def vanilla(rng, dtype=None, output="sigmoid", classes=0, pack=1, minibatch=None):
    """The vanilla GAN: one hidden layer of 128 ReLU units in each player.

    Parameters
    ----------
    rng : numpy.random.Generator
        Host generator for the Xavier (Glorot normal) initialization.
    dtype : float32 or float64, optional
    output : {"sigmoid", "tanh"}
        The generator's last activation: pixels in [0, 1] (data scaled with
        ``scale="sigmoid"``) or in [-1, 1] (``scale="tanh"``).
    classes, pack, minibatch
        The remedies against mode collapse (:func:`remedies`); the defaults
        build the plain model.

    Returns
    -------
    generator : Sequential, ``(N, 100) -> (N, 784)``
    discriminator : Sequential, ``(N, 784) -> (N, 1)`` logits
    """
    if output not in ("sigmoid", "tanh"):
        raise ValueError(f"vanilla: output must be 'sigmoid' or 'tanh', got {output!r}")
    init = "xavier_normal"
    G = L.Sequential(
        L.Dense(NOISE_DIM + classes, 128, weight_init=init, rng=rng, dtype=dtype),
        L.ReLU(),
        L.Dense(128, 784, weight_init=init, rng=rng, dtype=dtype),
        L.Sigmoid() if output == "sigmoid" else L.Tanh(),
    )
    head, width = minibatch_layers(minibatch, 128, rng, dtype)
    D = L.Sequential(
        *([L.Pack(pack)] if pack > 1 else []),
        L.Dense(pack * (784 + classes), 128, weight_init=init, rng=rng, dtype=dtype),
        L.ReLU(),
        *head,
        L.Dense(width, 1, weight_init=init, rng=rng, dtype=dtype),
    )
    return (L.ConditionalGenerator(G, classes) if classes else G), D


def dcgan(rng, dtype=None, classes=0, pack=1, minibatch=None):
    """The DCGAN of Radford et al. (2015), sized for 28 x 28 MNIST digits.

    Every weight is drawn from N(0, 0.02^2). Spatial sizes: the generator
    goes 7 -> 14 -> 28 with stride-2 transposed convolutions (kernel 4,
    padding 1); the discriminator goes 28 -> 14 -> 7 with stride-2
    convolutions.

    Parameters
    ----------
    rng : numpy.random.Generator
    dtype : float32 or float64, optional
    classes, pack, minibatch
        The remedies against mode collapse (:func:`remedies`). A conditional
        DCGAN's label joins G's noise (concatenated to z) and D's input as
        ``classes`` constant channel maps (concatenated to the image's channel).

    Returns
    -------
    generator : Sequential, ``(N, 100) -> (N, 1, 28, 28)`` in [-1, 1]
    discriminator : Sequential, ``(N, 1, 28, 28) -> (N, 1)`` logits
    """
    init = "dcgan_normal"
    G = L.Sequential(
        L.Dense(NOISE_DIM + classes, 128 * 7 * 7, weight_init=init, rng=rng, dtype=dtype),
        L.BatchNorm(128 * 7 * 7, dtype=dtype),
        L.ReLU(),
        L.Reshape((128, 7, 7)),
        L.ConvTranspose2d(128, 64, 4, stride=2, padding=1, weight_init=init, rng=rng, dtype=dtype),
        L.BatchNorm(64, dtype=dtype),
        L.ReLU(),
        L.ConvTranspose2d(64, 1, 4, stride=2, padding=1, weight_init=init, rng=rng, dtype=dtype),
        L.Tanh(),
    )
    if minibatch == "stddev":      # one more channel of 7 x 7, then flattened
        head, width = [L.MinibatchStdDev(), L.Flatten()], 129 * 7 * 7
    else:
        head, width = minibatch_layers(minibatch, 128 * 7 * 7, rng, dtype)
        head = [L.Flatten(), *head]
    D = L.Sequential(
        *([L.Pack(pack)] if pack > 1 else []),
        L.Conv2d(pack * (1 + classes), 64, 4, stride=2, padding=1, weight_init=init, rng=rng,
                 dtype=dtype),
        L.LeakyReLU(0.2),
        L.Conv2d(64, 128, 4, stride=2, padding=1, weight_init=init, rng=rng, dtype=dtype),
        L.BatchNorm(128, dtype=dtype),
        L.LeakyReLU(0.2),
        *head,
        L.Dense(width, 1, weight_init=init, rng=rng, dtype=dtype),
    )
    return (L.ConditionalGenerator(G, classes) if classes else G), D


#: Minibatch discrimination's size (Salimans et al.'s: 100 kernels of dimension 5).
MINIBATCH_KERNELS, MINIBATCH_KERNEL_DIM = 100, 5
#: The two minibatch layers a discriminator can get before its last Dense (``--minibatch``).
MINIBATCH = ("discrimination", "stddev")


def minibatch_layers(minibatch, width, rng, dtype=None, kernels=MINIBATCH_KERNELS,
                     kernel_dim=MINIBATCH_KERNEL_DIM):
    """The minibatch layer of D on ``(N, width)`` features, and the width after it.

    ``None``: no layer; ``"discrimination"``: :class:`~minigan.nn.layers.MinibatchDiscrimination`
    (``width + kernels``); ``"stddev"``: :class:`~minigan.nn.layers.MinibatchStdDev`
    (``width + 1``).
    """
    if minibatch is None:
        return [], width
    if minibatch == "discrimination":
        return [L.MinibatchDiscrimination(width, kernels, kernel_dim, rng=rng, dtype=dtype)], \
            width + kernels
    if minibatch == "stddev":
        return [L.MinibatchStdDev()], width + 1
    raise ValueError(f"unknown minibatch layer {minibatch!r}; use one of {MINIBATCH}")


def remedies(config):
    """The builder options of a run's settings: ``classes``, ``clusters``, ``pack``,
    ``minibatch``, and ``g_label`` where it is not ``"input"``.

    ``--conditional`` gives ``classes=10`` (G takes the noise and a one-hot label, D
    judges the image with its label: :class:`~minigan.nn.layers.ConditionalGenerator`);
    ``--clusters K`` gives ``clusters=K`` (the same pair of players, G drawing its label, one
    of ``K`` groups of the images, from its own noise: :mod:`minigan.gan.clusters`);
    ``--g-label every`` joins that label to the input of each of G's Dense layers
    (:func:`mlp`'s ``g_label``); ``--pack m`` puts :class:`~minigan.nn.layers.Pack` first in
    D, which then takes ``m`` samples at once; ``--minibatch`` adds a minibatch layer before
    D's last Dense. Settings of older runs, without these keys, give the plain model (and G's
    label at its input only).
    """
    pack = int(config.get("pack") or 1)
    if pack < 1:
        raise ValueError(f"pack must be a positive integer, got {pack}")
    clusters = int(config.get("clusters") or 0)
    options = {"classes": 10 if config.get("conditional") else 0, "clusters": clusters,
               "pack": pack, "minibatch": config.get("minibatch")}
    g_label = config.get("g_label") or "input"
    if g_label != "input":
        options["g_label"] = g_label
    return options


@dataclass(frozen=True)
class ModelSpec:
    """A model's builder and the settings it trains with by default.

    Attributes
    ----------
    build : callable ``(rng, dtype=None) -> (generator, discriminator)``
    noise_dim : int
        Length of one noise vector z.
    image_shape : tuple of int
        Shape of one sample as the discriminator takes it: ``(784,)`` or
        ``(1, 28, 28)``. Flat MNIST rows are reshaped to it.
    scale : {"sigmoid", "tanh"}
        How the data is scaled: pixels in [0, 1] or [-1, 1], the range of the
        generator's output too (:attr:`pixel_range`).
    batch_size, lr, betas
        Minibatch size and the Adam settings of both optimizers.
    iterations : int
        The length of a run that does not say, in iterations, so that a run on the
        60,000 training digits takes about as long as one on the 10,000 test digits
        (:meth:`epochs_for`).
    defaults : dict
        Other settings this model trains with unless told (the game, the moving average,
        the minibatch layer); the run's settings table has the rest.
    batch_norm : bool
        Whether the model has batch norm, which needs batches of two samples or more.
    """

    build: Callable
    noise_dim: int
    image_shape: tuple
    scale: str
    batch_size: int
    lr: float
    betas: tuple
    iterations: int
    defaults: dict = field(default_factory=dict)
    batch_norm: bool = False

    @property
    def reuse_fake(self):
        """Whether G's step learns from the D step's fake batch unless told otherwise
        (``defaults["g_batch"]`` "reuse"), as :class:`minigan.gan.GAN`'s ``reuse_fake``."""
        return self.defaults.get("g_batch") == "reuse"

    @property
    def pixel_range(self):
        """``(low, high)`` of the data and of the generator's output: (0, 1) or (-1, 1)."""
        return PIXEL_RANGES[self.scale]

    def epochs_for(self, iterations_per_epoch):
        """The epochs of a default run: ``iterations`` rounded to whole epochs (at least
        one) of ``iterations_per_epoch``."""
        return max(1, round(self.iterations / max(1, iterations_per_epoch)))


#: The model ``minigan train`` trains when no ``--model`` is given.
DEFAULT_MODEL = "mlp"

#: The game and minibatch layer both MLP models train with unless told. Their moving
#: averages differ, each measured (the site's "How the default was chosen"): the default's
#: decays at 0.9998, which lets the warm-up lengthen the average through its run (0.999
#: stops it at iteration 8,990) and scored the lower FID at 16,000 to 28,000 iterations of
#: batch 64; mlp-large's at 0.999, which scored the lower FID with its G. The default's
#: batch of 128 at 1.4e-3 scored, in the same time as batch 64 at 1e-3, a higher inception
#: score and a FID lower on average by less than its seeds' spread (eight seeds); G's step
#: on the D step's batch (one forward pass of G fewer) scored as fresh noise, 6 to 10%
#: faster. Its 30 groups (self-conditioning, :mod:`minigan.gan.clusters`) scored the lower
#: FID on each of six seeds of the study (mean 1.95 against 2.38) and an inception score of
#: 9.16 against 8.76; mlp-large did worse with them. The group joined to each of G's Dense
#: layers (``g_label="every"``) scored the lower FID on seven of eleven seeds (mean 1.83
#: against 1.91). R1 at 0.1 on the real batch, every 4th D step
#: (:mod:`minigan.gan.penalty`), scored the lower FID on each of four seeds of the study
#: (mean 1.67 against 1.89).
_MLP_GAME = {"loss": "hinge", "minibatch": "stddev"}

#: Model name -> :class:`ModelSpec`. The lengths: 14,040 iterations of the default (180
#: epochs of the test split at batch 128, 30 of the training split; 3 min 39 s on two cores
#: on a fast hour, about nine on the slowest seen), where its study's four seeds scored FID
#: 1.77 on average at 14,000 against 1.71 at 16,000 (1.95 at 12,000), and the trainer's
#: seed 0 1.70 at 14,040 against 1.69 at 15,990;
#: 32,000 of mlp-large (about a quarter of an hour), the vanilla GAN's 100 epochs and the
#: DCGAN's 5 epochs of the test split.
MODELS = {
    "mlp": ModelSpec(mlp, NOISE_DIM, (784,), "tanh", 128, 1.4e-3, (0.5, 0.999), 14040,
                     dict(_MLP_GAME, ema=0.9998, g_batch="reuse", clusters=30,
                          g_label="every", r1=0.1)),
    "mlp-large": ModelSpec(mlp_large, NOISE_DIM, (784,), "tanh", 64, 1e-3, (0.5, 0.999), 32000,
                           dict(_MLP_GAME, ema=0.999)),
    "vanilla": ModelSpec(vanilla, NOISE_DIM, (784,), "sigmoid", 128, 1e-3, (0.9, 0.999),
                         7800),
    "dcgan": ModelSpec(dcgan, NOISE_DIM, (1, 28, 28), "tanh", 64, 2e-4, (0.5, 0.999), 780,
                       batch_norm=True),
}


def build(name, rng, dtype=None, clusters=0, **options):
    """``MODELS[name].build(rng, dtype, **options)``, with an error listing the known names.

    ``options`` are the builder's remedies (``classes``, ``pack``, ``minibatch``; see
    :func:`remedies`). ``clusters=K`` builds the conditional pair of ``K`` classes with G
    drawing its own label (:class:`~minigan.nn.layers.SelfConditionedGenerator`, its cuts
    at equal shares until :func:`minigan.gan.clusters.self_condition` sets them).
    """
    if name not in MODELS:
        raise ValueError(f"unknown model {name!r}; choose one of {sorted(MODELS)}")
    clusters = whole_number("clusters", clusters, 0)
    if not clusters:
        return MODELS[name].build(rng, dtype=dtype, **options)
    if options.get("classes"):
        raise ValueError(f"classes={options['classes']} and clusters={clusters}: a conditional GAN "
                         "takes the labels given (classes) or the groups it finds (clusters); "
                         "give one of them")
    G, D = MODELS[name].build(rng, dtype=dtype, **{**options, "classes": clusters})
    return L.SelfConditionedGenerator(G.net, clusters, dtype=dtype), D
