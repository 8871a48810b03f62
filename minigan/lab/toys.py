r"""``minigan toy NAME``: GAN experiments in one and two dimensions, small enough to watch and to measure.

Each toy trains (or plays) for a fixed number of iterations, writes PNG
snapshots over training, an animated GIF of them, ``metrics.json``, and prints a
summary::

    minigan toy gaussian1d              # D(x) against D*(x) = p_data / (p_data + p_g)
    minigan toy gaussian2d              # G maps 4 random numbers to a 2-D Gaussian
    minigan toy ring8 --seeds 5         # mode coverage beside PacGAN's Table 1
    minigan toy grid25 --seeds 5
    minigan toy xy                      # gradient play on V(x, y) = xy

The GANs are :class:`minigan.gan.GAN` (Algorithm 1) on small MLPs, and take
``train``'s options: ``--k``, ``--g-loss``, ``--label-smoothing``, ``--prior``,
and the remedies against mode collapse ``--pack M`` (as in PacGAN's code, D
then sees 100 packs of M samples per step: M times as many real and generated
samples), ``--minibatch {discrimination,stddev}`` (before D's last layer;
``TOY_KERNELS``: 10 kernels of dimension 3) and ``--ema DECAY`` (the metrics and pictures then come
from the moving average of G's weights).

ring8 and grid25 follow the mixtures and the evaluation of VEEGAN
(Srivastava et al. 2017) and PacGAN (Lin et al. 2018; its code's ring is ring8 at
half the scale, radius 1 and standard deviation 0.01): 2,500 samples, a
sample is high quality within 3 standard deviations of its nearest mode, a
mode is covered when a high-quality sample is nearest to it. The networks
follow PacGAN's synthetic-data setup (its repository's configuration: 2-D
Gaussian noise, fully connected ReLU generator, fully connected
discriminator, Adam, batch 100), scaled down to train in under a minute on
2 CPU cores: two hidden layers in each network (PacGAN: G 4 x 400 with batch
norm, D 3 x 200 maxout with 5 pieces), LeakyReLU(0.2) in D instead of
maxout, Adam 1e-3 with beta1 0.5 (PacGAN: 1e-4, beta1 0.8, 400 epochs of
100,000 points). ring8: 64 units a layer, 10,000 iterations, the step size
decayed linearly to a tenth; grid25: 128 units a layer, 8,000 iterations at
a constant step. Their figures come from far longer training; ours are what
a minute buys.

Each snapshot of a GAN toy shows what the generator is told (:mod:`minigan.lab.field`):
D's output over the plane behind the samples and, at the first batch of G's samples,
arrows along :math:`-\partial L_G/\partial x`, the gradient G's loss sends each back
through D (gaussian1d: the arrows on its axis); ``field.npz`` holds the arrays of the
last (:func:`save_pictures`). ``step_by_step`` adds frames after each D and each G step
of the first iterations, ``noise_grid`` G's image of a regular noise grid. None of it
draws a random number or changes a player.

The networks are tiny, so one BLAS thread is fastest (``OPENBLAS_NUM_THREADS=1``);
several threads on a busy machine can be ten times slower.
"""

from __future__ import annotations

import functools
import math
import time
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

from minigan import backend, gan
from minigan.functional import losses
from minigan.functional.errors import real_number, whole_number
from minigan.gan import games, loop, models
from minigan.gan.ema import EMA
from minigan.gan.games import optimal_discriminator
from minigan.nn import layers as L
from minigan.nn import optim

from . import field as fields
from . import metrics

__all__ = ["TOYS", "toy_spec", "check_spec", "PUBLISHED", "XY_LR", "XY_STEPS", "ring8_modes", "grid25_modes",
           "mixture_sampler", "run_gan_toy", "check_pictures", "run_xy", "xy_play",
           "optimal_discriminator", "snapshot", "draw_frame", "save_pictures", "colour_spread",
           "draw_xy"]

#: The step size and the number of steps of xy's gradient play unless told (``minigan toy
#: xy --lr --iterations``).
XY_LR, XY_STEPS = 0.1, 200

#: PacGAN (Lin et al. 2018), Table 1, the plain GAN: modes, high-quality share and reverse KL,
#: each a mean and its standard error over 10 trials (the table's caption: not a standard
#: deviation).
PUBLISHED = {"ring8": {"modes": (6.3, 0.5), "high_quality": (0.982, 0.002),
                       "reverse_kl": (0.45, 0.09)},
             "grid25": {"modes": (17.3, 0.8), "high_quality": (0.948, 0.007),
                        "reverse_kl": (0.70, 0.07)}}


def ring8_modes(radius=2.0):
    """The 8 means on a circle of radius 2."""
    a = 2 * np.pi * np.arange(8) / 8
    return radius * np.stack([np.cos(a), np.sin(a)], axis=1)


def grid25_modes():
    """The 25 means on the grid {-4, -2, 0, 2, 4}^2."""
    g = np.arange(-4.0, 5.0, 2.0)
    return np.stack(np.meshgrid(g, g), axis=-1).reshape(-1, 2)


def _finite_number(value):
    """Whether ``value`` is a finite real number (:func:`~minigan.functional.errors.real_number`:
    not a bool, a string or None)."""
    v = real_number(value)
    return v is not None and math.isfinite(v)


def mixture_sampler(modes, std):
    """``sample(rng, n)``: an equal-weight mixture of isotropic Gaussians.

    ``modes``: their means, ``(K, dim)`` (an array or nested lists); ``std``: their standard
    deviation, a number above 0."""
    modes = np.asarray(modes, dtype=np.float64)
    if modes.ndim != 2 or len(modes) == 0 or not np.isfinite(modes).all():
        raise ValueError(f"mixture_sampler: modes must be the means, one row each, a (K, dim) "
                         f"array of finite numbers, got shape {modes.shape}")
    if not (_finite_number(std) and std > 0):
        raise ValueError(f"mixture_sampler: std must be a number above 0, got {std!r}")

    def sample(rng, n):
        return modes[rng.integers(0, len(modes), n)] + std * rng.standard_normal((n, modes.shape[1]))
    return sample


# -- the toys -------------------------------------------------------------------------


@dataclass
class ToySpec:
    """A toy GAN: data, networks, schedule, and how to picture and measure it.

    A toy of your own is one of ``TOYS`` changed with ``dataclasses.replace``
    (``replace(TOYS["ring8"], lr=5e-4, iterations=2000)``), or a new one, given to
    :func:`run_gan_toy` as its ``name``.

    Parameters
    ----------
    name : str
        The toy's name (the pictures' titles, the GIF's file name; 1-D data is drawn on one axis).
    sample : callable
        ``sample(rng, n)``: ``n`` real samples, a ``(n, dim)`` host array
        (:func:`mixture_sampler` for a mixture of Gaussians).
    noise_dim : int
        G's noise, one vector per sample.
    g_sizes, d_sizes : tuple
        The widths of G's and D's layers, input first (``d_sizes`` ends in 1).
    iterations : int
        Iterations of Algorithm 1 by default.
    batch : int
        Samples per batch.
    lr : float
        Adam's step size for both players.
    betas : tuple
        Adam's betas (a game's own ``defaults`` replace them).
    modes : numpy.ndarray or None
        The mixture's means, for the modes covered and the high-quality share. Without
        them a toy of your own is measured by the errors of its samples' mean and
        covariance against those of its real samples (1-D: their mean and std).
    std : float or None
        The mixture's standard deviation (a sample within 3 of them of a mode is high
        quality).
    extent : float
        Half the width of the pictures' plane.
    decay : bool
        The step size decays linearly to a tenth over the run.
    extra : dict
        Not read by the toys: room for what a toy of your own keeps.
    center : tuple or None
        The centre of the pictures' plane, ``(x1, x2)``: the default None centres it at the
        origin (gaussian2d: at its mean). Data of your own away from the origin, such as two
        moons over [-1, 2] x [-0.5, 1], is pictured whole with its centre here.
    """

    name: str
    sample: callable                      # (rng, n) -> (n, dim) host array
    noise_dim: int
    g_sizes: tuple
    d_sizes: tuple
    iterations: int
    batch: int = 100
    lr: float = 1e-3
    betas: tuple = (0.5, 0.999)
    modes: np.ndarray | None = None
    std: float | None = None
    extent: float = 3.0
    decay: bool = False
    extra: dict = field(default_factory=dict)
    center: tuple | None = None


GAUSS1D = (4.0, 1.25)                                          # N(4, 1.25^2)
GAUSS2D_MEAN = np.array([1.0, -1.0])
GAUSS2D_COV = np.array([[1.0, 0.6], [0.6, 0.5]])
_G2D_CHOL = np.linalg.cholesky(GAUSS2D_COV)

TOYS = {
    "gaussian1d": ToySpec("gaussian1d", lambda r, n: r.normal(*GAUSS1D, (n, 1)), 1,
                          (1, 32, 32, 1), (1, 32, 32, 1), 4000, batch=128, lr=1e-3, decay=True),
    "gaussian2d": ToySpec("gaussian2d",
                          lambda r, n: GAUSS2D_MEAN + r.standard_normal((n, 2)) @ _G2D_CHOL.T,
                          4, (4, 32, 32, 2), (2, 32, 32, 1), 5000, batch=128, extent=4.0,
                          decay=True),
    "ring8": ToySpec("ring8", mixture_sampler(ring8_modes(), 0.02), 2, (2, 64, 64, 2),
                     (2, 64, 64, 1), 10000, modes=ring8_modes(), std=0.02, extent=3.0,
                     decay=True),
    "grid25": ToySpec("grid25", mixture_sampler(grid25_modes(), 0.05), 2, (2, 128, 128, 2),
                      (2, 128, 128, 1), 8000, modes=grid25_modes(), std=0.05, extent=5.5),
}


def toy_spec(name):
    """The :class:`ToySpec` of ``name`` (a key of ``TOYS``); a ``ToySpec`` is returned as
    it is. An unknown name is a ValueError listing the toys; anything else (an array of
    data, a sampler) a TypeError saying how to make a ToySpec of it."""
    if isinstance(name, ToySpec):
        return name
    if not isinstance(name, str):     # data, or its sampler, where a toy is asked for
        raise TypeError(f"a toy is a name in TOYS ({', '.join(TOYS)}) or a ToySpec, got "
                        f"{_described(name)}; for data of your own, a ToySpec whose sample(rng, n) "
                        "draws n rows of it: ToySpec(\"mine\", lambda rng, n: data[rng.integers("
                        "0, len(data), n)], noise_dim=2, g_sizes=(2, 64, 64, 2), "
                        "d_sizes=(2, 64, 64, 1), iterations=2000)")
    if name not in TOYS:
        xy = "; the xy game is no GAN: run_xy() or xy_play()" if name == "xy" else ""
        raise ValueError(f"no toy named {name!r}; the toys are {', '.join(TOYS)}, or a ToySpec "
                         f"of your own (dataclasses.replace(TOYS[\"ring8\"], ...)){xy}")
    return TOYS[name]


def _described(value):
    shape = getattr(value, "shape", None)
    if shape is not None:
        return f"{type(value).__name__} of shape {tuple(shape)}"
    return f"{type(value).__name__} {value!r}"[:120]


def _mlp(sizes, hidden, rng):
    layers = []
    for i, (a, b) in enumerate(zip(sizes[:-1], sizes[1:], strict=False)):
        layers.append(L.Dense(a, b, rng=rng))
        if i < len(sizes) - 2:
            layers.append(hidden())
    return L.Sequential(*layers)


def _normal_pdf(x, mu, sigma):
    return np.exp(-0.5 * ((x - mu) / sigma) ** 2) / (sigma * math.sqrt(2 * math.pi))


def _kde(samples, grid):
    """Gaussian kernel density of 1-D ``samples`` on ``grid`` (Scott's bandwidth)."""
    s = samples.ravel()
    h = max(1.06 * s.std() * len(s) ** -0.2, 1e-3)
    return _normal_pdf(grid[:, None], s[None, :], h).mean(axis=1)


#: Minibatch discrimination in the toys: 10 kernels of dimension 3 (its cost grows as
#: N^2 x kernels x dimension; the MNIST models use Salimans et al.'s 100 x 5).
TOY_KERNELS = (10, 3)


#: What a toy's ``opts`` may hold (the command line's toy options).
_OPTIONS = ("k", "g_loss", "label_smoothing", "prior", "pack", "minibatch", "ema",
           "spectral_norm", "label_flip", "instance_noise", "loss", "gp_weight")


def _build(spec, opts, rng):
    unknown = [k for k in opts if k not in _OPTIONS]
    if unknown:     # else dropped without a word: opts={"r1": 1.0} would train without R1
        raise ValueError(f"unknown toy option{'s' if len(unknown) > 1 else ''} "
                         f"{', '.join(map(repr, unknown))}; the toys take {', '.join(_OPTIONS)} "
                         "(gan.GAN's other arguments are not theirs)")
    G = _mlp(spec.g_sizes, L.ReLU, rng)
    pack, minibatch = int(opts.get("pack") or 1), opts.get("minibatch")
    if pack > 1 or minibatch:   # D takes packs of m samples; a minibatch layer before its last
        head, width = models.minibatch_layers(minibatch, spec.d_sizes[-2], rng,
                                              kernels=TOY_KERNELS[0], kernel_dim=TOY_KERNELS[1])
        d = _mlp((pack * spec.d_sizes[0],) + spec.d_sizes[1:-1], lambda: L.LeakyReLU(0.2), rng)
        D = L.Sequential(*([L.Pack(pack)] if pack > 1 else []), *d.layers, L.LeakyReLU(0.2),
                         *head, L.Dense(width, spec.d_sizes[-1], rng=rng))
    else:
        D = _mlp(spec.d_sizes, lambda: L.LeakyReLU(0.2), rng)
    if opts.get("spectral_norm"):
        L.spectral_norm(D, rng)
    loss = opts.get("loss", "gan")             # a name, or a game of one's own
    defaults = games.get(loss).defaults        # WGAN-GP's betas and critic steps (not its lr:
    betas = defaults.get("betas", spec.betas)  # each toy keeps its own step size)
    k = opts.get("k") or defaults.get("k", 1)
    model = gan.GAN(G, D, optim.Adam(G, spec.lr, betas), optim.Adam(D, spec.lr, betas),
                    spec.noise_dim, k=k, g_loss=opts.get("g_loss", "non_saturating"),
                    label_smoothing=opts.get("label_smoothing", 0.0),
                    prior=opts.get("prior", "gaussian"), rng=rng,
                    label_flip=opts.get("label_flip", 0.0),
                    instance_noise=opts.get("instance_noise", 0.0), loss=loss,
                    gp_weight=opts.get("gp_weight", 10.0))
    return model


def _grad_norm(layer):
    return float(math.sqrt(sum(float((g * g).sum()) for g in layer.grads.values())))


def _measure(spec, samples, curves=None, real=None):
    """The toy's metrics on host samples: a mixture's modes covered, high-quality share and
    reverse KL (:func:`minigan.lab.metrics.mode_coverage`); gaussian2d's errors of the mean
    and covariance (Euclidean and Frobenius norms); gaussian1d's mean and std, and
    :func:`_curves_1d`'s D against D*. A toy of one's own without ``modes``: in 2-D and
    more, the same errors against the mean and covariance of ``real``, the run's real
    samples; in 1-D, the mean and std."""
    if spec.modes is not None:
        out = metrics.mode_coverage(samples, spec.modes, spec.std)
        out.pop("counts")
        return out
    if samples.shape[1] > 1:
        mean, cov = ((GAUSS2D_MEAN, GAUSS2D_COV) if spec.name == "gaussian2d"
                     else (real.mean(0), np.cov(real, rowvar=False)))
        return {"mean_error": float(np.linalg.norm(samples.mean(0) - mean)),
                "cov_error": float(np.linalg.norm(np.cov(samples, rowvar=False) - cov))}
    out = {"mean": float(samples.mean()), "std": float(samples.std())}
    if curves is not None and curves["d_star"] is not None:
        d, d_star, on = curves["d"], curves["d_star"], curves["support"]
        out.update(d_vs_dstar_mean_abs=float(np.abs(d - d_star)[on].mean()),
                   d_vs_dstar_max_abs=float(np.abs(d - d_star)[on].max()))
    return out


#: gaussian1d's D* is drawn, and compared with D, where p_data + p_g is above this share of its
#: largest value on the grid: where both densities vanish D* is a ratio of two numbers near 0,
#: which says nothing of the game.
D_STAR_SUPPORT = 1e-3


def _grid_1d():
    """gaussian1d's picture: 400 points over the data's mean plus or minus 4 standard deviations."""
    mu, sigma = GAUSS1D
    return np.linspace(mu - 4 * sigma, mu + 4 * sigma, 400)


def _data_1d(spec, real):
    """A 1-D toy's picture: its grid (:func:`_grid_1d`) and p_data on it. gaussian1d's data
    (its ``sample``, whatever the spec's name) has its exact density; other 1-D data a
    Gaussian KDE of ``real``, the run's real samples, on 400 points over their mean plus or
    minus 4 standard deviations."""
    if spec.sample is TOYS["gaussian1d"].sample:
        grid = _grid_1d()
        return grid, _normal_pdf(grid, *GAUSS1D)
    mu, sigma = float(real.mean()), max(float(real.std()), 1e-3)
    grid = np.linspace(mu - 4 * sigma, mu + 4 * sigma, 400)
    return grid, _kde(real, grid)


def _curves_1d(samples, model, data=None):
    r"""A 1-D toy on a grid: p_data, p_g (a KDE of G's samples), D(x) and the D* of the game.

    ``data``: the grid and p_data on it (:func:`_data_1d`; default gaussian1d's).

    D(x) as the game reads it (:meth:`minigan.gan.games.Game.read`: the sigmoid of D's
    logit for ``gan``, D's output itself for the others), beside the game's
    :meth:`~minigan.gan.games.Game.optimal_output`: for ``gan`` and ``lsgan``
    :func:`optimal_discriminator` with the expected targets (label smoothing ``s`` and
    flips ``p``: :math:`t_r = (1 - p)(1 - s)`, :math:`t_f = p\,(1 - s)`); for ``hinge``
    :math:`\operatorname{sign}(p_{data} - p_g)`; ``wgan-gp``'s critic has no pointwise
    optimum (it is bound only by its gradient), so ``d_star`` is None and ``d`` is the
    critic rescaled to [0, 1] on the grid, to show where it rises and falls (as is a game
    of one's own without labels that names no optimum). ``limits``: the axis of D and D*,
    [-1.1, 1.1] where D* goes below 0, else [-0.02, 1.02].
    """
    grid, p_data = _data_1d(TOYS["gaussian1d"], None) if data is None else data
    p_g = _kde(samples, grid)
    game = model.game
    d = fields.read_at(model.D, game, grid[:, None])   # frozen: a spectral norm's u stays
    keep = 1.0 - model.label_smoothing
    real_t, fake_t = (1.0 - model.label_flip) * keep, model.label_flip * keep
    d_star = game.optimal_output(p_data, p_g, real_t, fake_t)
    if game.labels:
        d_label = "D(x)" if game.probabilities else game.output_label
        d_star_label = ("D*(x) = p_data / (p_data + p_g)" if (real_t, fake_t) == (1.0, 0.0)
                        else f"D*(x) = ({real_t:g} p_data + {fake_t:g} p_g) / (p_data + p_g)")
    elif d_star is not None:
        d_label, d_star_label = game.output_label, game.optimal_label
    else:                          # a critic: its shape, rescaled to [0, 1] on the grid
        span = d.max() - d.min()
        d = (d - d.min()) / span if span > 0 else np.full_like(d, 0.5)
        d_label, d_star_label = "critic f(x), rescaled to [0, 1]", None
    # the axis holds D* where only the data or only G is (the targets; hinge's +1 and -1)
    ends = game.optimal_output(np.array([1.0, 0.0]), np.array([0.0, 1.0]), real_t, fake_t)
    limits = (-1.1, 1.1) if ends is not None and ends.min() < 0 else (-0.02, 1.02)
    mass = p_data + p_g
    return {"grid": grid, "p_data": p_data, "p_g": p_g, "d": d, "d_star": d_star,
            "support": mass > D_STAR_SUPPORT * mass.max(),
            "d_label": d_label, "d_star_label": d_star_label, "loss": model.loss,
            "limits": limits}


def check_pictures(name, opts=None, iterations=None, step_by_step=0, noise_grid=False):
    """Raise ``ValueError`` when the pictures asked of a toy run cannot be drawn.

    ``step_by_step`` iterations must be among the run's; they draw D's surface, which needs
    a D that judges one point at a time (not with ``pack`` or ``minibatch``:
    :func:`minigan.lab.field.mixing_layer`); the noise grid, drawn with that surface, needs
    such a D too, and two noise coordinates.
    gaussian1d (any 1-D toy) refuses ``pack`` and ``minibatch`` outright: it compares D(x),
    one point at a time, with D*(x). The toy's data and networks must fit (:func:`check_spec`); data of
    more than 2 coordinates is trained and measured, not pictured. Returns whether the
    snapshots can draw D's surface and G's gradients.
    """
    spec = toy_spec(name)
    opts = dict(opts or {})
    dim = check_spec(spec)
    if dim > 2 and (step_by_step or noise_grid):
        raise ValueError(f"--step-by-step and --noise-grid draw D's output over a line or a plane; "
                         f"{spec.name}'s samples have {dim} coordinates: leave them out")
    if dim == 1 and (int(opts.get("pack") or 1) > 1 or opts.get("minibatch")):
        raise ValueError(f"{spec.name} compares D(x), one point at a time, with D*(x): --pack and "
                         "--minibatch make D judge several samples at once; use them with "
                         "2-D data (gaussian2d, ring8 or grid25)")
    iterations = whole_number("iterations", spec.iterations if iterations is None else iterations,
                              1)
    mixing = fields.mixing_layer(_build(spec, opts, np.random.default_rng(0)).D)
    if step_by_step and step_by_step > iterations:
        raise ValueError(f"--step-by-step {step_by_step}: the run has only {iterations} "
                         f"iteration{'s' if iterations != 1 else ''}; ask for at most that many")
    if step_by_step and mixing is not None:
        raise ValueError("--step-by-step draws D's output at each point of the plane; with "
                         "--pack or --minibatch D judges several samples at once "
                         f"({mixing!r}): leave one or the other out")
    if noise_grid and spec.noise_dim < 2:
        raise ValueError(f"--noise-grid draws G's image of a 2-D grid of noise vectors; "
                         f"{spec.name}'s noise has {spec.noise_dim} coordinate: use it with "
                         "gaussian2d, ring8 or grid25")
    if noise_grid and mixing is not None:     # the grid is drawn with D's surface, which goes
        raise ValueError("--noise-grid is drawn with D's output over the plane, which --pack "
                         "and --minibatch leave out (D judges several samples at once, "
                         f"{mixing!r}): leave one or the other out")
    return mixing is None and dim <= 2


def check_spec(spec):
    """Raise ``ValueError`` when a :class:`ToySpec`'s data and networks do not fit together,
    saying which of its fields to change; else return the data's dimension.

    ``spec.sample(rng, 2)`` (a generator of its own, not the run's) must give an array of
    shape ``(2, dim)``; ``g_sizes`` must run from ``noise_dim`` to ``dim``, ``d_sizes`` from
    ``dim`` to 1, each at least two whole numbers; ``iterations`` and ``batch`` must be
    whole numbers >= 1 and ``extent`` a number above 0; ``modes``, when given, must be
    ``(K, dim)`` with a ``std`` above 0; ``center``, when given, must be two finite numbers."""
    x = spec.sample(np.random.default_rng(0), 2)
    shape = getattr(x, "shape", None)
    if shape is None or len(shape) != 2 or shape[0] != 2:
        raise ValueError(f"toy {spec.name!r}: sample(rng, n) must give one row per sample, an array "
                         f"of shape (n, dim), but sample(rng, 2) gave "
                         f"{'shape ' + str(tuple(shape)) if shape is not None else type(x).__name__}"
                         " (1-D data: x[:, None], or rng.normal(..., (n, 1)))")
    dim = int(shape[1])
    for what, sizes in (("g_sizes", spec.g_sizes), ("d_sizes", spec.d_sizes)):
        if len(sizes) < 2 or not all(_finite_number(n) and n >= 1 and n == int(n) for n in sizes):
            raise ValueError(f"toy {spec.name!r}: {what} must be the widths of the network's "
                             f"layers, from its input to its output, at least two whole numbers "
                             f">= 1, got {tuple(sizes)!r}")
    for what, value in (("iterations", spec.iterations), ("batch", spec.batch)):
        whole_number(f"toy {spec.name!r}: {what}", value, 1)
    if not (_finite_number(spec.extent) and spec.extent > 0):
        raise ValueError(f"toy {spec.name!r}: extent must be a number above 0, half the width of "
                         f"the pictures' plane, got {spec.extent!r}")
    for what, got, want, why in (
            ("g_sizes[0], G's input,", spec.g_sizes[0], spec.noise_dim, "the noise_dim"),
            ("g_sizes[-1], G's output,", spec.g_sizes[-1], dim, "the samples' dimension"),
            ("d_sizes[0], D's input,", spec.d_sizes[0], dim, "the samples' dimension"),
            ("d_sizes[-1], D's output,", spec.d_sizes[-1], 1, "one output a sample")):
        if got != want:
            raise ValueError(f"toy {spec.name!r}: {what} is {got}; it must be {want}, {why} "
                             f"(g_sizes {tuple(spec.g_sizes)}, d_sizes {tuple(spec.d_sizes)}, "
                             f"noise_dim {spec.noise_dim}, samples of shape (n, {dim}))")
    if spec.modes is not None:      # the metrics' protocol, before the run rather than at its end
        modes = np.asarray(spec.modes)
        if modes.ndim != 2 or modes.shape[1] != dim:
            raise ValueError(f"toy {spec.name!r}: modes must be the mixture's means, one row of "
                             f"{dim} coordinates each (K, {dim}), got shape {modes.shape}")
        if not (_finite_number(spec.std) and spec.std > 0):
            raise ValueError(f"toy {spec.name!r}: with modes, std must be the mixture's standard "
                             f"deviation, a number above 0 (a sample within 3 std of a mode is "
                             f"high quality), got {spec.std!r}")
    _center(spec)                   # two finite numbers, before the run rather than at its first frame
    return dim


def _real_batch(spec, model, rng):
    """A batch of the toy's data in the players' dtype (float32, or float64 when they were
    built so), on the active device."""
    return backend.asarray(spec.sample(rng, spec.batch), model.dtype)


def run_gan_toy(name, iterations=None, seed=0, snapshots=8, n_eval=2500, opts=None,
                record_frames=True, field=True, noise_grid=False, step_by_step=0):
    """Train one toy GAN; return its final metrics, per-snapshot frames and history.

    The pictures (frames, their fields, the step-by-step frames; :mod:`minigan.lab.field`)
    draw no random number and change no player: a seed gives the same training numbers with
    or without them.

    Parameters
    ----------
    name : one of ``gaussian1d``, ``gaussian2d``, ``ring8``, ``grid25``, or a :class:`ToySpec`
        (e.g. ``dataclasses.replace(TOYS["ring8"], g_sizes=(2, 32, 32, 2))``)
    iterations : int, optional (the toy's default)
    seed : int, seeds initialization, noise and data
    snapshots : int, evenly spaced frames over training (the last is the end)
    n_eval : int, samples drawn for the metrics (2,500 as in VEEGAN/PacGAN)
    opts : dict, GAN options ``k``, ``g_loss``, ``label_smoothing``, ``label_flip``,
        ``instance_noise``, ``prior``, ``loss`` (a name or a game of your own),
        ``gp_weight`` (:class:`minigan.gan.GAN`'s), ``spectral_norm`` (True: on D's layers),
        and ``pack``, ``minibatch``, ``ema`` (see the module docstring); another key is a
        ValueError
    record_frames : bool, keep every snapshot (else the last alone, without its field)
    field : bool, each recorded frame gets its field (:func:`_frame_field`: D's surface and
        G's gradients at its first batch of samples) when D judges one point at a time
        (not with ``pack`` or ``minibatch``) and the samples have 1 or 2 coordinates
    noise_grid : bool, the field also holds G's image of a regular noise grid (2-D toys)
    step_by_step : int, for the first that many iterations a frame before training, after
        each D step and after each G step (``result["steps"]``; G's own weights, not their
        moving average: the step moves G)

    Returns
    -------
    dict with ``metrics`` (final), ``frames`` (list of dicts: iteration, samples,
    metrics, for 1-D data the curves, and the field), ``steps`` (the step-by-step
    frames: iteration, step, samples, field), ``real``, ``history``, ``seconds``,
    ``iterations``, ``model`` (the trained :class:`minigan.gan.GAN`)
    """
    spec = toy_spec(name)
    name, opts = spec.name, dict(opts or {})
    field = check_pictures(spec, opts, iterations, step_by_step, noise_grid) and field
    iterations = spec.iterations if iterations is None else int(iterations)   # checked there
    snapshots = whole_number("snapshots", snapshots, 0)
    if int(opts.get("pack") or 1) > 1:   # PacGAN: as many packs as the plain GAN has samples
        spec = replace(spec, batch=spec.batch * int(opts["pack"]))
    rng = np.random.default_rng(seed)
    data_rng, eval_rng = np.random.default_rng([seed, 1]), np.random.default_rng([seed, 2])
    model = _build(spec, opts, rng)
    ema = EMA(model.G, opts["ema"]) if opts.get("ema") is not None else None
    z_eval = backend.randn((n_eval, spec.noise_dim), eval_rng) if model.prior == "gaussian" \
        else backend.uniform(-1, 1, (n_eval, spec.noise_dim), eval_rng)
    real_eval = spec.sample(eval_rng, n_eval)
    data_1d = _data_1d(spec, real_eval) if real_eval.shape[1] == 1 else None
    marks = set(np.linspace(0, iterations, snapshots + 1).astype(int)[1:]) if snapshots else set()
    frames, history, steps = [], [], []

    def batch():
        return _real_batch(spec, model, data_rng)

    every = max(iterations // 200, 1)

    def frame_of(generator, it, draw_field):
        """G's samples from the fixed noise, the 1-D curves and the field."""
        if generator is model.G:
            drawn = model.sample(z=z_eval)
        else:
            drawn = generator.forward(z_eval)
        samples = backend.to_host(drawn).astype(np.float64)
        frame = {"iteration": it, "samples": samples}
        if data_1d is not None:
            frame["curves"] = _curves_1d(samples, model, data_1d)
        if draw_field:
            frame["field"] = _frame_field(spec, model, generator, drawn, real_eval, noise_grid,
                                          None if data_1d is None else data_1d[0])
        return frame

    def after(it, stats):
        if it % every == 0:
            history.append({"iteration": it, **stats})
        if it in marks or it == iterations:
            frame = frame_of(model.G if ema is None else ema.generator, it,
                             field and record_frames)
            frame["metrics"] = _measure(spec, frame["samples"], frame.get("curves"), real_eval)
            if record_frames or it == iterations:
                frames.append(frame)

    def on_step(it, step):
        if it <= step_by_step:
            steps.append({**frame_of(model.G, it, True), "step": step})

    # the step size decayed linearly to a tenth (spec.decay): calmer oscillations at the end
    lr = (lambda i: spec.lr * (1 - 0.9 * i / iterations)) if spec.decay else None
    start = time.perf_counter()
    if step_by_step:
        steps.append({**frame_of(model.G, 0, True), "step": None})
    loop.train(model, batch, iterations, ema=ema, lr=lr, on_iteration=after,
               on_step=on_step if step_by_step else None)
    return {"metrics": frames[-1]["metrics"], "frames": frames, "steps": steps,
            "real": real_eval, "history": history, "seconds": time.perf_counter() - start,
            "iterations": iterations, "model": model}


def snapshot(spec, model, real, iteration, z, generator=None, field=True, noise_grid=False):
    r"""One frame of a GAN trained by a loop of your own, as :func:`run_gan_toy` records them.

    For :func:`draw_frame` (and, in a ``{"frames": [...], "real": real}`` dict,
    :func:`save_pictures`)::

        spec = toys.ToySpec("spiral", spiral, 2, (2, 64, 64, 2), (2, 64, 64, 1), 2000)
        z, real = model.sample_noise(2500), spiral(np.random.default_rng(1), 2500)
        frames = []

        def on_iteration(it, stats):
            if it % 500 == 0:
                frames.append(toys.snapshot(spec, model, real, it, z))

        loop.train(model, batch, 2000, on_iteration=on_iteration)
        toys.draw_frame(ax, spec, frames[-1], real)

    Parameters
    ----------
    spec : ToySpec or a name in ``TOYS``
        Says what the pictures and the metrics read: the data's ``sample`` (1-D: its
        density), ``modes`` and ``std``, ``extent`` and ``center``, and ``batch``, how many
        samples get an arrow; its networks are not built.
    model : minigan.gan.GAN
        The players (:func:`minigan.lab.field.mixing_layer` must be None for the field).
    real : array ``(n, dim)``
        Real samples, for the metrics (and a 1-D toy's density) and the pictures.
    iteration : int
        The frame's title.
    z : array ``(m, noise_dim)``
        G's noise: the same array at every frame, so that the frames show the same points.
    generator : minigan.nn.layers.Layer, optional
        G, or the moving average of its weights (``ema.generator``); default ``model.G``.
    field, noise_grid : bool
        As :func:`run_gan_toy`'s: the frame's field (D's surface and the arrows along
        :math:`-\partial L_G/\partial x` at its first ``spec.batch`` samples) where D
        judges one point at a time and the samples have 1 or 2 coordinates, and G's image
        of a noise grid.

    Returns
    -------
    dict with ``iteration``, ``samples`` (host float64, ``(m, dim)``), ``metrics``
    (:func:`run_gan_toy`'s for such a toy), for 1-D data ``curves``, and ``field``. Like
    the toys' pictures, it draws no random number and changes no player.
    """
    spec = toy_spec(spec)
    real = np.asarray(backend.to_host(real), dtype=np.float64)
    if real.ndim != 2:
        raise ValueError(f"snapshot: real must be the real samples, one row each (n, dim), got "
                         f"shape {real.shape}")
    if generator is None or generator is model.G:
        generator, drawn = model.G, model.sample(z=backend.asarray(z, model.dtype))
    else:
        with generator.evaluating():
            drawn = generator.forward(backend.asarray(z, model.dtype))
    samples = backend.to_host(drawn).astype(np.float64)
    if samples.shape[1] != real.shape[1]:
        raise ValueError(f"snapshot: G's samples have {samples.shape[1]} coordinates, the real "
                         f"samples {real.shape[1]}")
    frame = {"iteration": int(iteration), "samples": samples}
    data_1d = _data_1d(spec, real) if samples.shape[1] == 1 else None
    if data_1d is not None:
        frame["curves"] = _curves_1d(samples, model, data_1d)
    if field and samples.shape[1] <= 2 and fields.mixing_layer(model.D) is None:
        frame["field"] = _frame_field(spec, model, generator, drawn, real, noise_grid,
                                      None if data_1d is None else data_1d[0])
    frame["metrics"] = _measure(spec, samples, frame.get("curves"), real)
    return frame


def _frame_field(spec, model, generator, drawn, real, noise_grid=False, grid_1d=None):
    r"""What the generator is told at one frame (:mod:`minigan.lab.field`).

    - ``xs`` (and ``ys`` for 2-D toys), ``d``: D read on a grid over the picture
      (:func:`minigan.lab.field.surface`, shape ``(len(ys), len(xs))``; for 1-D data
      ``(len(xs),)`` on the curves' grid);
    - ``points``: the frame's first ``spec.batch`` samples (the first rows of the fixed
      noise: the same noise vectors in every frame), one batch of G's;
    - ``grad``: :math:`\partial L_G/\partial x` at each of them, the vector a G step on
      that batch hands to G's backward pass (:func:`minigan.lab.field.gradients`);
    - ``level``: where the picture centres its colours: the game's
      :attr:`~minigan.gan.games.Game.boundary`, or, for the Wasserstein critic (whose
      level is arbitrary), midway between its means on the real and the generated samples;
    - with ``noise_grid``: ``noise`` and ``noise_image`` (:func:`minigan.lab.field.noise_grid`);
    - ``loss``: the game's name, and ``game``: the game, which the pictures ask how D's
      output reads (``field.npz`` keeps the name).
    """
    game, D, dtype = model.game, model.D, drawn.dtype
    if drawn.shape[1] == 1:
        axes = (_grid_1d() if grid_1d is None else grid_1d,)
    else:
        axes = fields.plane(_center(spec), spec.extent)
    points = drawn[:spec.batch]
    _, grad = fields.gradients(D, game, points)
    out = {"xs": axes[0], "d": fields.surface(D, game, axes, dtype),
           "points": backend.to_host(points).astype(np.float64), "grad": grad,
           "loss": model.loss, "game": game}
    if len(axes) == 2:
        out["ys"] = axes[1]
    level = game.boundary
    if level is None:
        level = 0.5 * (fields.read_at(D, game, real, dtype).mean()
                       + fields.read_at(D, game, drawn, dtype).mean())
    out["level"] = float(level)
    if noise_grid:
        out["noise"], out["noise_image"] = fields.noise_grid(generator, spec.noise_dim,
                                                             model.prior, dtype)
    return out


def _center(spec):
    if spec.center is not None:
        center = np.asarray(spec.center, dtype=np.float64)
        if center.shape != (2,) or not np.isfinite(center).all():
            raise ValueError(f"toy {spec.name!r}: center must be two finite numbers (x1, x2), "
                             f"the middle of the pictures' plane, got {spec.center!r}")
        return center
    return GAUSS2D_MEAN if spec.name == "gaussian2d" else np.zeros(2)


def generator_gradient_norms(iterations=200, seed=0, opts=None, d_warmup=300):
    """gaussian1d: the generator's gradient norm over the first iterations, per G loss.

    Both runs start from the same weights and data and only the generator's
    loss differs. D first takes ``d_warmup`` steps alone, as it does early in
    training when G is poor: it then rejects the fakes,
    :math:`D(G(z)) \\approx 0`, where the minimax loss
    :math:`\\log(1 - D(G(z)))` is flat (gradient factor :math:`D(G(z))`) and the
    non-saturating :math:`-\\log D(G(z))` is steep (factor :math:`1 - D(G(z))`).

    Returns
    -------
    dict G loss -> list of gradient norms (one per iteration), and the mean D(G(z))
    """
    out = {}
    spec = TOYS["gaussian1d"]
    for form in losses.G_LOSSES:
        rng = np.random.default_rng(seed)
        data_rng = np.random.default_rng([seed, 1])
        model = _build(spec, {**(opts or {}), "g_loss": form}, rng)

        def batch(r=data_rng, model=model):
            return _real_batch(spec, model, r)

        for _ in range(d_warmup):
            model.d_step(batch())
        norms, d_gen = [], []
        for _ in range(iterations):
            stats = model.train_iteration(batch)
            norms.append(_grad_norm(model.G))
            d_gen.append(stats["d_gen"])
        out[form] = {"grad_norm": norms, "d_gen": d_gen}
    return out


# -- the xy game --------------------------------------------------------------------


def xy_play(steps=XY_STEPS, lr=XY_LR, start=(2.0, 2.0), alternating=False):
    r"""Gradient play on :math:`V(x, y) = xy`: x ascends V, y descends it.

    :math:`\partial V/\partial x = y`, :math:`\partial V/\partial y = x`.
    Simultaneous steps: :math:`x' = x + \eta y,\ y' = y - \eta x`, a rotation
    scaled by :math:`\sqrt{1 + \eta^2}`: the distance from the equilibrium
    (0, 0) grows at every step. Alternating steps (y sees the new x):
    :math:`y' = y - \eta x'`, a map of determinant 1 that circles the
    equilibrium without reaching it.

    ``steps`` is a whole number >= 0, ``lr`` a finite number, ``start`` two numbers: else a
    ValueError saying which.

    Returns
    -------
    ndarray (steps + 1, 2): the trajectory, start included
    """
    steps = whole_number("xy_play: steps", steps, 0)
    if not _finite_number(lr):
        raise ValueError(f"xy_play: lr, the step size, must be a finite number, got {lr!r}")
    point = np.asarray(start, dtype=object).ravel() if np.ndim(start) else None
    if point is None or len(point) != 2 or not all(_finite_number(v) for v in point):
        raise ValueError(f"xy_play: start must be two finite numbers (x, y), got {start!r}")
    x, y = (float(v) for v in point)
    path = [(x, y)]
    for _ in range(steps):
        x_new = x + lr * y
        y = y - lr * (x_new if alternating else x)
        x = x_new
        path.append((x, y))
    return np.array(path)


def run_xy(steps=XY_STEPS, lr=XY_LR, start=(2.0, 2.0)):
    """Both forms of play (:func:`xy_play`) from ``start``; distances from (0, 0) at the
    start and after ``steps``."""
    sim, alt = xy_play(steps, lr, start), xy_play(steps, lr, start, alternating=True)
    dist = lambda p: float(np.hypot(*p))  # noqa: E731
    return {"simultaneous": sim, "alternating": alt,
            "metrics": {"steps": steps, "lr": lr, "start_distance": dist(sim[0]),
                        "simultaneous_distance": dist(sim[-1]),
                        "alternating_distance": dist(alt[-1]),
                        "alternating_max_distance": float(np.hypot(alt[:, 0], alt[:, 1]).max())}}


# -- pictures -------------------------------------------------------------------------


def _pyplot():
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    return plt


#: The arrows: the longest is this fraction of the picture's width.
ARROW = 0.12


def _step_text(frame):
    """What a step-by-step frame shows, or None for a snapshot."""
    if "step" not in frame:
        return None
    step = frame["step"]
    if step is None:
        return "before training"
    if step == "g":
        return "after the G step: G moved"
    return f"after D step {step[1:]}: D moved"


def _title(label, frame, text):
    step = _step_text(frame)
    return f"{label}, iteration {frame['iteration']}\n{step if step is not None else text}"


#: How far under the axes the legend starts: past the tick labels and the x label, in
#: points, so the same whatever the size of the axes (a picture, a panel of a figure).
LEGEND_DROP = 34


def _arrows_entry(longest, color):
    """The legend's entry for the arrows along -dL_G/dx: their longest length, which the
    others are drawn in proportion to."""
    from matplotlib.lines import Line2D
    return Line2D([], [], color=color, marker=r"$\rightarrow$", linestyle="none", markersize=11,
                  label=f"-dL_G/dx, longest {longest:.2g}")


def _legend_below(ax, extra=(), **options):
    """The legend under the axes, below their x label, off the samples (``extra``: entries
    of no plotted artist, such as the arrows')."""
    from matplotlib.collections import PathCollection
    from matplotlib.legend_handler import HandlerPathCollection
    from matplotlib.transforms import offset_copy
    handles, _ = ax.get_legend_handles_labels()
    ax.legend(handles=[*handles, *extra], loc="upper center", bbox_to_anchor=(0.5, 0.0),
              bbox_transform=offset_copy(ax.transAxes, fig=ax.figure, y=-LEGEND_DROP,
                                         units="points"), fontsize=7, ncol=2,
              handler_map={PathCollection: HandlerPathCollection(sizes=[24])},   # a sample's
              **options)                                                          # dot, larger


def _surface_label(f):
    game = f["game"]
    if game.probabilities:
        return "D(x) = sigmoid(logit): the probability that x is real"
    if game.boundary is None:
        return f"critic f(x); white: {f['level']:.3g}, midway between its means on real and fake"
    return f"{game.output_label}; white: {f['level']:g}, where D cannot tell"


#: D's surface: green where D says fake, purple where it says real, white where undecided;
#: hues that neither sample colour shares (blue: real, orange: generated), so the samples
#: stay visible over it (an orange "fake" hid G's orange samples where D rejected them).
SURFACE = "PRGn_r"
#: Its opacity over the white axes (the colour bar's too), so the samples show through.
SURFACE_ALPHA = 0.75
#: The samples' colours: real, generated.
REAL, GENERATED = "C0", "C1"
#: Their opacities in a 2-D snapshot, and the real samples' size (G's are 2): the real
#: samples drawn larger, under G's.
REAL_ALPHA, GENERATED_ALPHA, REAL_SIZE = 0.5, 0.5, 12


def colour_spread(frames):
    """The half-width of the colour scale that ``frames`` (with fields) share: the largest
    distance of D's output from its level over all of them, or None for a probability
    (always [0, 1]) or without a field. One scale for the frames of one GIF, so that a
    colour means the same output in each."""
    fs = [f["field"] for f in frames if "ys" in f.get("field", {})]
    if not fs or fs[0]["game"].probabilities:
        return None
    return max(float(np.abs(f["d"] - f["level"]).max()) for f in fs)


def _limits(f, spread=None):
    """The colours' range: [0, 1] for a probability, else symmetric about the level, over
    ``spread`` either side (default: the frame's own largest distance from the level)."""
    if f["game"].probabilities:
        return 0.0, 1.0
    half = float(np.abs(f["d"] - f["level"]).max()) if spread is None else float(spread)
    half = max(half, 1e-12)
    return f["level"] - half, f["level"] + half


def _colour_bar(cax, f, spread=None):
    """The colour bar of D's surface, drawn as one image (a figure colour bar costs more to
    draw than the rest of a frame)."""
    low, high = _limits(f, spread)
    cax.clear()
    cax.imshow(np.linspace(0.0, 1.0, 256)[:, None], origin="lower", aspect="auto", cmap=SURFACE,
               alpha=SURFACE_ALPHA, extent=(0.0, 1.0, low, high))
    cax.set_xticks([])
    cax.yaxis.tick_right()
    cax.yaxis.set_label_position("right")
    cax.tick_params(labelsize=8)        # the GIF draws it at 3/4: 6 points
    cax.set_ylabel(_surface_label(f), fontsize=8)


def _draw_field_2d(ax, f, spread=None):
    """D's surface behind, its undecided line, the noise grid's image; returns the image."""
    level, d = f["level"], f["d"]
    xs, ys = f["xs"], f["ys"]
    low, high = _limits(f, spread)
    image = ax.imshow(d, origin="lower", extent=(xs[0], xs[-1], ys[0], ys[-1]), cmap=SURFACE,
                      vmin=low, vmax=high, alpha=SURFACE_ALPHA,
                      interpolation="bilinear", aspect="equal")
    if d.min() < level < d.max():
        ax.contour(xs, ys, d, levels=[level], colors="k", linewidths=0.7, linestyles="dashed")
        game = f["game"]             # a critic is not undecided there: it is at its level
        ax.plot([], [], "k--", lw=0.7, label="D undecided" if game.probabilities
                or game.boundary is not None else "critic midway")
    if "noise_image" in f:
        from matplotlib.collections import LineCollection

        full = f["noise_image"]                   # a line through every 4th row and column
        every = max(1, (len(full) - 1) // 10)
        lines = [full[j] for j in range(0, len(full), every)]
        lines += [full[:, i] for i in range(0, full.shape[1], every)]
        ax.add_collection(LineCollection(lines, colors="0.15", linewidths=0.5, alpha=0.8,
                                         label="G of a regular noise grid"))
    return image


#: The box under a note written over the curves of a 1-D frame (:func:`draw_frame`): the
#: curves pass behind it, not through its letters (D* of the hinge game ran through them).
NOTE_BOX = {"facecolor": "white", "edgecolor": "none", "alpha": 0.85, "pad": 1.5}


def draw_frame(ax, spec, frame, real, label=None, cax=None, spread=None):
    r"""Draw one snapshot of a toy run on the matplotlib axes ``ax``, with its numbers.

    ``spec`` is a :class:`ToySpec` or a name in ``TOYS``; ``frame`` one of
    :func:`run_gan_toy`'s ``result["frames"]`` (or ``result["steps"]``), or of a loop of
    your own (:func:`snapshot`), ``real`` the real samples (``result["real"]``); ``label``
    heads the title (default: the toy's name). 1-D: the densities, D and D* (a density above
    the axis is marked with its peak, and G's samples outside the x axis's range are
    counted); 2-D: real samples (blue, larger) under G's (orange), with the modes covered
    and the high-quality share, or the mean and covariance errors. The legend sits under the
    axes, below the x label, off the samples.

    With the frame's field (:func:`run_gan_toy`'s ``field``): 2-D, D's output over the
    plane behind the samples (purple where D says real, green where it says fake, white
    and dashed where it cannot tell) and, at the first batch of G's samples, arrows along
    :math:`-\partial L_G/\partial x`, the gradient G's loss sends back through D to each
    (the longest a fixed share of the picture, the legend giving its length), and the image of
    the noise grid when drawn; 1-D, the same arrows on the axis. ``cax``: an axes for the
    colour bar of D's surface (cleared first). ``spread``: for a game whose output is not a
    probability, the colours span the level plus or minus ``spread`` (:func:`colour_spread`
    of the frames to be compared; default: this frame's own range).

    Returns
    -------
    the image of D's surface (for a colour bar), or None
    """
    spec = toy_spec(spec)
    label = spec.name if label is None else label
    if frame["samples"].shape[1] > 2:
        raise ValueError(f"draw_frame draws samples of 1 or 2 coordinates; {spec.name}'s have "
                         f"{frame['samples'].shape[1]}: its numbers are the frame's \"metrics\", "
                         "its samples its \"samples\" (a projection of your choice, drawn "
                         "with matplotlib)")
    ax.clear()
    f = frame.get("field")
    if frame["samples"].shape[1] == 1:
        c = frame["curves"]
        ax.plot(c["grid"], c["p_data"], label="p_data", color=REAL)
        ax.plot(c["grid"], c["p_g"], label="p_g (KDE of G's samples)", color=GENERATED)
        ax.plot(c["grid"], c["d"], label=c["d_label"], color="C2")
        if c["d_star"] is not None:    # where p_data or p_g has mass (D_STAR_SUPPORT)
            ax.plot(c["grid"], np.where(c["support"], c["d_star"], np.nan), "--",
                    label=c["d_star_label"], color="C3")
            text = (f"mean |D - D*| {frame['metrics']['d_vs_dstar_mean_abs']:.3f}"
                    if "metrics" in frame else "")
        else:
            text = "the Wasserstein critic has no pointwise D*"
        low, high = c["limits"]
        ax.set_ylim(low, high)
        ax.set_xlim(c["grid"][0], c["grid"][-1])
        for key, color in (("p_data", REAL), ("p_g", GENERATED)):    # a peak above the axis
            i = int(np.argmax(c[key]))
            if c[key][i] > high:
                ax.annotate(f"{key} peaks at {c[key][i]:.2g}, above the axes", (c["grid"][i], high),
                            xytext=(4, -10), textcoords="offset points", color=color,
                            fontsize=7, bbox=NOTE_BOX)
        x, (left, right) = frame["samples"][:, 0], (c["grid"][0], c["grid"][-1])
        outside = int(((x < left) | (x > right)).sum())     # G's samples off the picture
        if outside:
            ax.text(0.99, 0.97, f"{outside:,} of G's {len(x):,} samples outside "
                    f"[{left:g}, {right:g}]", transform=ax.transAxes, ha="right", va="top",
                    color=GENERATED, fontsize=7, bbox=NOTE_BOX)
        arrows = (_draw_arrows_1d(ax, f, low + 0.07 * (high - low), c["grid"])
                  if f is not None else ())
        ax.set_xlabel("x")
        ax.set_ylabel("density (p_data, p_g) and D's output", fontsize=8)
        _legend_below(ax, arrows)
        ax.set_title(_title(label, frame, text), fontsize=9)
        return None
    image = _draw_field_2d(ax, f, spread) if f is not None else None
    # G's samples over the real ones, smaller: a mode G covers shows a blue rim round its
    # orange, a mode G misses shows blue alone
    ax.scatter(real[:, 0], real[:, 1], s=REAL_SIZE, alpha=REAL_ALPHA, label="real", color=REAL,
               linewidths=0)
    s = frame["samples"]
    ax.scatter(s[:, 0], s[:, 1], s=2, alpha=GENERATED_ALPHA, label="generated", color=GENERATED)
    e, center = spec.extent, _center(spec)
    arrows = ()
    if f is not None:
        g = -f["grad"]
        longest = float(np.hypot(g[:, 0], g[:, 1]).max())
        if longest > 0:
            p = f["points"]
            ax.quiver(p[:, 0], p[:, 1], g[:, 0], g[:, 1], angles="xy", scale_units="xy",
                      scale=longest / (ARROW * 2 * e), width=0.004, color="k",
                      headwidth=4, headlength=4, headaxislength=3.5)
            arrows = (_arrows_entry(longest, "k"),)
    ax.set_xlim(center[0] - e, center[0] + e)
    ax.set_ylim(center[1] - e, center[1] + e)
    ax.set_aspect("equal")
    ax.set_xlabel("x1")
    ax.set_ylabel("x2")
    m = frame.get("metrics")
    if m is None:
        text = ""
    elif spec.modes is not None:
        text = (f"{m['modes_covered']}/{len(spec.modes)} modes, "
                f"{100 * m['high_quality']:.1f}% high quality")
    else:
        text = f"mean error {m['mean_error']:.3f}, cov error {m['cov_error']:.3f}"
    ax.set_title(_title(label, frame, text), fontsize=9)
    _legend_below(ax, arrows, columnspacing=0.8, handlelength=1.5)
    if image is not None and cax is not None:
        _colour_bar(cax, f, spread)
    return image


def _draw_arrows_1d(ax, f, y, grid):
    """gaussian1d: the arrows along -dL_G/dx at G's samples, on a line at height ``y``;
    returns their legend entry (none when every arrow is 0)."""
    g = -f["grad"][:, 0]
    longest = float(np.abs(g).max())
    if longest == 0:
        return ()
    x = f["points"][:, 0]
    span = grid[-1] - grid[0]
    ax.quiver(x, np.full_like(x, y), g, np.zeros_like(g), angles="xy", scale_units="xy",
              scale=longest / (ARROW * span), width=0.003, color="k", zorder=3,
              headwidth=4, headlength=4, headaxislength=3.5)   # black, as in 2-D: over the ticks
    ax.plot(x, np.full_like(x, y), "|", color=GENERATED, ms=5, alpha=0.6, label="G's samples")
    return (_arrows_entry(longest, "k"),)


def _colormap(name):
    from matplotlib import colormaps
    return colormaps[name]


def _over_white(colour, alpha):
    from matplotlib import colors
    return tuple(round(255 * (alpha * c + 1 - alpha)) for c in colors.to_rgb(colour))


@functools.cache
def gif_keep():
    """Colours every GIF frame's palette holds, whatever else fills the frame: the samples'
    own (the real blue, the generated orange, each as drawn over white and full) and black.
    An adaptive palette alone spent its 256 entries on D's surface and drew the few real
    samples, and the legend's "real", in grey. Made at the first GIF (it needs matplotlib,
    which a toy's numbers and every other command do without)."""
    return (_over_white(REAL, 1.0), _over_white(REAL, REAL_ALPHA), _over_white(GENERATED, 1.0),
            _over_white(GENERATED, GENERATED_ALPHA), (0, 0, 0))


@functools.cache
def surface_keep():
    """17 shades along D's colour bar (its ends and every sixteenth between), which every
    GIF frame's palette holds too: a frame where D says "fake" everywhere holds no purple
    but its colour bar's, which an adaptive palette, spent on the plane's greens, drew
    grey."""
    return tuple(_over_white(_colormap(SURFACE)(t), SURFACE_ALPHA)
                 for t in np.linspace(0.0, 1.0, 17))


def gif_frame(image):
    """An RGB PIL image in 256 colours for a GIF: an adaptive palette of the others and
    :func:`gif_keep` and :func:`surface_keep`, each pixel its nearest colour there (no
    dithering)."""
    from PIL import Image

    keep = gif_keep() + surface_keep()
    n = 256 - len(keep)
    adaptive = image.convert("P", palette=Image.Palette.ADAPTIVE, colors=n).getpalette()[:3 * n]
    palette = np.array(adaptive + [0] * (3 * n - len(adaptive)) +
                       [c for rgb in keep for c in rgb]).reshape(-1, 3)
    rgb = np.asarray(image.convert("RGB")).reshape(-1, 3).astype(np.int64)
    # each distinct colour once (a frame holds about 10,000 of its 100,000 pixels), as one
    # integer 0xRRGGBB: a sort of numbers, not of rows
    packed, where = np.unique((rgb[:, 0] << 16) | (rgb[:, 1] << 8) | rgb[:, 2],
                              return_inverse=True)
    colours = np.stack([packed >> 16, (packed >> 8) & 255, packed & 255], axis=1)
    # the nearest palette colour: argmin over p of |c - p|^2 = |c|^2 - 2 c.p + |p|^2, less
    # |c|^2 (the same for every p), as a matrix product; exact in float64 (integers below
    # 2^20), so ties go to the first entry as with integers
    palette_f, colours_f = palette.astype(np.float64), colours.astype(np.float64)
    nearest = np.argmin((palette_f ** 2).sum(axis=1) - 2.0 * colours_f @ palette_f.T, axis=1)
    frame = Image.fromarray(nearest[where.reshape(-1)].astype(np.uint8).reshape(
        image.height, image.width), mode="P")
    frame.putpalette(palette.astype(np.uint8).reshape(-1).tolist())
    return frame


def save_pictures(name, result, out, gif=True, label=None):
    """PNG snapshots ``snapshot_XXXXX.png`` and ``NAME.gif`` (the same frames, 3/4 of the
    size, two a second, through Pillow);
    with the run's step-by-step frames, ``step_XXXXX_S.png`` (``S``: ``d1`` ... after each
    D step, ``g`` after the G step; ``step_00000.png`` before training) and
    ``NAME_steps.gif``; with the last snapshot's field, ``field.npz``: its arrays
    (:func:`_frame_field`: ``xs``, ``ys``, ``d``, ``points``, ``grad``, ``level``,
    ``noise`` and ``noise_image`` when drawn), the ``iteration`` and the ``loss``. They go
    into the folder ``out``, made if it is not there (its parents too); returns their
    paths. ``name`` is a name in ``TOYS`` or the run's :class:`ToySpec` (a toy of your own,
    a changed one: its extent and name; the files are named by its ``name``). ``label``
    heads each frame's title (default: the toy's name; ``minigan toy`` adds the options
    the run was given, such as ``ring8 --pack 2``)."""
    plt = _pyplot()
    from PIL import Image

    spec = toy_spec(name)
    name = spec.name
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    one_d = result["real"].shape[1] == 1
    with_field = any("field" in f for f in result["frames"] + result.get("steps", []))
    # room under the axes for the legend (draw_frame puts it there)
    if one_d:
        fig = plt.figure(figsize=(6, 4.8), dpi=80)
        ax, cax = fig.add_axes((0.13, 0.3, 0.83, 0.6)), None   # room for "-0.75"
    elif with_field:
        fig = plt.figure(figsize=(5.9, 5.2), dpi=80)
        ax = fig.add_axes((0.1, 0.19, 0.66, 0.71))
        cax = fig.add_axes((0.8, 0.19, 0.025, 0.71))
    else:
        fig = plt.figure(figsize=(5, 4.9), dpi=80)
        ax, cax = fig.add_axes((0.12, 0.17, 0.8, 0.73)), None
    paths = []

    def frames_to(frames, stem, gif_name):
        images = []
        spread = colour_spread(frames)     # one colour scale for the frames of one GIF
        for frame in frames:
            draw_frame(ax, spec, frame, result["real"], label=label, cax=cax, spread=spread)
            path = out / stem(frame)
            fig.savefig(path)
            paths.append(path)
            if gif:    # the frame just drawn, at 3/4 of its size: drawn once for both files
                image = Image.fromarray(np.asarray(fig.canvas.buffer_rgba())).convert("RGB")
                image = image.resize((image.width * 3 // 4, image.height * 3 // 4),
                                     Image.Resampling.LANCZOS)
                images.append(gif_frame(image))
        if images:   # 2 frames a second, looping
            images[0].save(out / gif_name, save_all=True, append_images=images[1:],
                           duration=500, loop=0)
            paths.append(out / gif_name)

    frames_to(result["frames"], lambda f: f"snapshot_{f['iteration']:05d}.png", f"{name}.gif")
    frames_to(result.get("steps", []),
              lambda f: f"step_{f['iteration']:05d}" + (f"_{f['step']}" if f["step"] else "")
              + ".png", f"{name}_steps.gif")
    plt.close(fig)
    last = result["frames"][-1] if result["frames"] else {}
    if "field" in last:
        arrays = {k: v for k, v in last["field"].items() if k != "game"}   # its name stays
        fields.save(out / "field.npz", {**arrays, "iteration": last["iteration"]})
        paths.append(out / "field.npz")
    return paths


#: The legend's name of each G loss in :func:`save_gradient_plot`: the loss itself.
G_LOSS_LABELS = {"non_saturating": "non-saturating: -log D(G(z))",
                 "minimax": "minimax: log(1 - D(G(z)))"}


def save_gradient_plot(norms, path, d_warmup=300):
    """gaussian1d: G's gradient norm per iteration under each G loss (log scale), from
    :func:`generator_gradient_norms` (``d_warmup``: its D steps alone, which the x axis
    names)."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(6, 3.5), dpi=80)
    for form, rec in norms.items():
        ax.plot(rec["grad_norm"], label=G_LOSS_LABELS.get(form, form))
    ax.set_yscale("log")
    ax.set_xlabel(f"iteration (both from the same weights, after {d_warmup} D steps alone)",
                  fontsize=9)
    ax.set_ylabel("|dL_G / dtheta_G|, G's gradient norm", fontsize=9)
    ax.set_title("generator gradient: minimax saturates while D rejects the fakes", fontsize=9)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def draw_xy(ax, result, upto=None):
    """Draw the first ``upto`` points (default all) of :func:`run_xy`'s two trajectories on
    ``ax``: each path, a dot where its players are now with an arrow of the last step (the
    alternating path closes on itself, so its line alone does not say where it is), the
    start and the equilibrium."""
    upto = len(result["simultaneous"]) if upto is None else upto
    ax.clear()
    for key, color in (("simultaneous", "C3"), ("alternating", "C0")):
        p = result[key][:upto]
        ax.plot(p[:, 0], p[:, 1], color=color, lw=1,
                label=f"{key}: |(x, y)| = {np.hypot(*p[-1]):.2f}")
        ax.plot(*p[-1], "o", color=color, ms=6, mec="k", mew=0.5)
        if len(p) >= 2:
            ax.annotate("", p[-1], p[-2], arrowprops={"arrowstyle": "-|>", "color": color})
    start = result["simultaneous"][0]
    ax.plot(*start, "ko", ms=4, label=f"start ({start[0]:g}, {start[1]:g})")
    ax.plot([0], [0], "k*", ms=10, label="equilibrium (0, 0)")
    lim = 1.1 * np.abs(result["simultaneous"]).max()
    ax.set_xlim(-lim, lim)
    ax.set_ylim(-lim, lim)
    ax.set_aspect("equal")
    ax.set_xlabel("x (maximizes xy)")
    ax.set_ylabel("y (minimizes xy)")
    ax.set_title(f"gradient play on V = xy, step {upto - 1}", fontsize=9)
    ax.legend(fontsize=7, loc="lower left")


def save_xy_plot(result, path, frames_path=None):
    """Trajectories of simultaneous and alternating play on V = xy (:func:`draw_xy`), and a
    GIF of them."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(5, 5), dpi=80)
    n = len(result["simultaneous"])
    draw_xy(ax, result)
    fig.savefig(path)
    if frames_path is not None:
        from matplotlib.animation import PillowWriter
        writer = PillowWriter(fps=4)
        with writer.saving(fig, str(frames_path), dpi=60):
            for upto in np.linspace(2, n, 12).astype(int):
                draw_xy(ax, result, upto)
                writer.grab_frame()
    plt.close(fig)
