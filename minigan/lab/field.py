r"""What the generator is told: D's decision surface, the gradient each generated sample
receives, and the warped noise.

The one thing Algorithm 1 passes from D to G is the gradient of G's loss with respect
to G's samples,

.. math::
    \frac{\partial L_G}{\partial x^{(i)}}
        = \frac1m\, \ell_G'\big(D(x^{(i)})\big)\, \frac{\partial D(x^{(i)})}{\partial x^{(i)}},
    \qquad x^{(i)} = G(z^{(i)}),

which the G step hands to G's backward pass (:func:`minigan.gan.generator_gradient`, the
same function). G's parameters then move so that each sample moves, to first order,
along :math:`-\partial L_G/\partial x^{(i)}` (through G's Jacobian). This module
computes what the toys' pictures and ``minigan sample --gradients`` draw::

    from minigan.lab import field
    xs, ys = field.plane((0.0, 0.0), 3.0)
    d = field.surface(model.D, model.game, (xs, ys), dtype)          # (len(ys), len(xs))
    d_at, grad = field.gradients(model.D, model.game, points)       # dL_G/dx at each point
    z, image = field.noise_grid(model.G, 2, "gaussian", dtype)      # G of a noise grid

Nothing here draws a random number or changes a player: D is run frozen (its
gradients and a spectral norm's ``u`` are left alone), G in evaluation mode, so a
training run draws the same numbers with or without its pictures.
"""

from __future__ import annotations

import numpy as np

from minigan import backend
from minigan.gan import games, generator_gradient
from minigan.nn import layers as L

__all__ = ["GRID", "NOISE_GRID", "NOISE_SPAN", "mixing_layer", "plane", "surface", "read_at",
           "gradients", "noise_grid", "digit_gradients", "save"]

#: Points along each side of the grid D's surface is evaluated on.
GRID = 121
#: Points along each side of the regular noise grid whose image :func:`noise_grid` draws.
NOISE_GRID = 41
#: The noise grid spans [-s, s] in each varied coordinate: 2.5 standard deviations of the
#: Gaussian prior (98.8% of its mass in each), the whole cube of the uniform one.
NOISE_SPAN = {"gaussian": 2.5, "uniform": 1.0}


def mixing_layer(discriminator):
    """The first layer of ``discriminator`` that mixes the samples of a batch (a pack,
    a minibatch layer, batch norm in training mode), or None when D judges each sample on
    its own: then D has a value at each point of the plane, and a sample's gradient does
    not depend on the others in its batch."""
    for layer in discriminator.walk():
        if isinstance(layer, (L.Pack, L.MinibatchDiscrimination, L.MinibatchStdDev)):
            return layer
        if isinstance(layer, L.BatchNorm) and layer.training:
            return layer
    return None


def plane(center, extent, n=GRID):
    """The coordinates of a square grid: ``n`` values over ``[c - extent, c + extent]`` for
    each coordinate ``c`` of ``center`` (one array per axis, host float64)."""
    return tuple(np.linspace(c - extent, c + extent, n) for c in np.atleast_1d(center))


def surface(discriminator, game, axes, dtype=None):
    r"""D's output at every point of a grid, as the game reads it.

    Parameters
    ----------
    discriminator : minigan.nn.layers.Layer
        A D that judges one sample at a time (:func:`mixing_layer` is None).
    game : minigan.gan.games.Game or str
        The game, or its name; its :meth:`~minigan.gan.games.Game.read` turns D's raw output
        into what is drawn: :math:`\sigma(a)`, a probability, for the cross-entropy game; the
        raw output for the others.
    axes : tuple of 1-D arrays
        ``(xs,)`` for 1-D samples, ``(xs, ys)`` for 2-D samples.
    dtype : optional
        The dtype D computes in (default :func:`minigan.backend.default_dtype`).

    Returns
    -------
    ndarray (host, float64) of shape ``(len(xs),)`` or ``(len(ys), len(xs))``:
    ``d[j, i]`` is D read at ``(xs[i], ys[j])``.
    """
    axes = _axes(axes)
    _check_pointwise(discriminator)
    game = games.get(game)     # before D's pass: an unknown name is no fault of the axes,
    dtype = _dtype(dtype)      # nor a dtype D cannot compute in
    grid = np.stack(np.meshgrid(*axes), axis=-1)          # (len(ys), len(xs), 2) or (len(xs), 1)
    try:
        d = read_at(discriminator, game, grid.reshape(-1, len(axes)), dtype)
    except ValueError as error:           # a D of 2-D samples given (xs,), say: D's own words
        made = "one axis makes 1-D points" if len(axes) == 1 else "two axes make 2-D points"
        raise ValueError(f"field.surface: {made}, which D does not take ({error}); give one "
                         "axis per coordinate of D's samples") from error
    return d.reshape(grid.shape[:-1])


def _axes(axes):
    """``axes`` as a tuple of one or two 1-D host float64 arrays, or a ValueError saying
    what :func:`surface` takes (a bare array of xs was meshed as one axis per value)."""
    if isinstance(axes, (tuple, list)) and 1 <= len(axes) <= 2:
        try:
            arrays = tuple(np.asarray(backend.to_host(a), dtype=np.float64) for a in axes)
        except (TypeError, ValueError):       # strings, ragged lists
            arrays = ()
        if arrays and all(a.ndim == 1 and len(a) > 0 and np.isfinite(a).all() for a in arrays):
            return arrays
    shapes = (f"an array of shape {np.shape(axes)}" if hasattr(axes, "shape")
              else f"{type(axes).__name__} of shapes {[np.shape(a) for a in axes]}"
              if isinstance(axes, (tuple, list)) else repr(axes))
    hint = "; for 1-D samples wrap xs: (xs,)" if getattr(axes, "ndim", None) == 1 else ""
    raise ValueError(f"field.surface: axes must be (xs,) for 1-D samples or (xs, ys) for "
                     f"2-D samples, each a non-empty 1-D array of finite numbers (field.plane "
                     f"makes them), got {shapes}{hint}")


def read_at(discriminator, game, points, dtype=None):
    """D read at each of ``points`` (an ``(m, dim)`` array, host or device), one point at a
    time: a host float64 array of shape ``(m,)``. D runs frozen (a spectral norm's ``u``
    stays as it is)."""
    _check_pointwise(discriminator)
    game = games.get(game)
    x = backend.asarray(points, dtype=_dtype(dtype))
    with discriminator.freezing():
        raw = discriminator.forward(x)
    return _host(game.read(raw)).reshape(-1)


def gradients(discriminator, game, points):
    r""":math:`\partial L_G/\partial x` at each of ``points``, taken as one batch of G's
    samples: exactly what the G step hands to G's backward pass for that batch
    (:func:`minigan.gan.generator_gradient`; without instance noise).

    Parameters
    ----------
    discriminator : minigan.nn.layers.Layer
    game : minigan.gan.games.Game or str
        The game, or its name (:func:`minigan.gan.games.get`).
    points : array of shape ``(m, ...)`` (host or device; its dtype is kept)

    Returns
    -------
    d : ndarray (host, float64) of shape ``(m,)``
        D read at each point (:meth:`~minigan.gan.games.Game.read`), when D has one output
        per sample; else (a packed D) one per pack.
    grad : ndarray (host, float64) like ``points``
        :math:`\partial L_G / \partial x^{(i)}` with :math:`L_G` the mean over the ``m``
        points.
    """
    game = games.get(game)
    _, outputs, dx = generator_gradient(discriminator, game, backend.asarray(points))
    return _host(game.read(outputs)).reshape(-1), _host(dx)


def noise_grid(generator, noise_dim, prior="gaussian", dtype=None, n=NOISE_GRID):
    """G's image of a regular grid of noise vectors: the warped noise manifold.

    The first two coordinates of z run over ``[-s, s]`` (:data:`NOISE_SPAN`), the others
    stay 0: for a 2-D noise, the whole grid; for more, the slice through 0 it spans.

    Returns
    -------
    z : ndarray (host, float64) of shape ``(n, n, noise_dim)``
        ``z[j, i, :2] = (u[i], u[j])``.
    image : ndarray (host, float64) of shape ``(n, n, out)``
        ``G(z[j, i])``, G in evaluation mode.
    """
    if noise_dim < 2:
        raise ValueError(f"noise_grid: a grid of noise vectors needs 2 or more noise "
                         f"coordinates, got noise_dim {noise_dim}")
    if prior not in NOISE_SPAN:
        raise ValueError(f"noise_grid: prior must be one of {', '.join(map(repr, NOISE_SPAN))} "
                         f"(the GAN's prior, model.prior), got {prior!r}")
    u = np.linspace(-NOISE_SPAN[prior], NOISE_SPAN[prior], n)
    z = np.zeros((n, n, noise_dim))
    z[..., 0], z[..., 1] = np.meshgrid(u, u)
    with generator.evaluating():
        out = generator.forward(backend.asarray(z.reshape(n * n, noise_dim),
                                                dtype=_dtype(dtype)))
    return z, _host(out).reshape(n, n, -1)


def digit_gradients(generator, discriminator, game, noise):
    r"""Images of G and the gradient G's loss sends back to each through D.

    The images ``x = G(noise)`` (G in its mode; :func:`minigan.app.runs.load_generator`
    gives it in evaluation mode) are one batch of D's, run as the G step runs it
    (:func:`minigan.gan.generator_gradient`: D frozen and in its mode, so a D with batch
    norm in training mode normalizes with this batch's statistics).

    A :class:`~minigan.nn.layers.ConditionalGenerator` (a conditional or self-conditioned
    run's) appends the one-hot label to each image and D judges the pair; the images and
    their gradients are returned without the label.

    Parameters
    ----------
    generator, discriminator : minigan.nn.layers.Layer
    game : minigan.gan.games.Game or str
        The game, or its name (:func:`minigan.gan.games.get`).
    noise : array of shape ``(n, ...)``
        G's input (``[z, one_hot(c)]`` rows for a conditional generator).

    Returns
    -------
    images, grads : ndarray (host, float64), of G's output shape without the label
        ``grads[i]`` is :math:`\partial L_G/\partial x^{(i)}`.
    d : ndarray (host, float64)
        D read at each image (one per pack for a packed D).
    """
    x = generator.forward(noise)
    d, dx = gradients(discriminator, game, x)
    classes = generator.classes if isinstance(generator, L.ConditionalGenerator) else 0
    width = x.shape[1] - classes                     # features, or channel maps, of the image
    return _host(x)[:, :width], dx[:, :width], d


def save(path, field):
    """Write the arrays of a field (a dict of arrays and numbers, None left out) to an
    ``.npz`` file (no pickle: every entry is a number or a text array)."""
    np.savez(path, **{k: np.asarray(v) for k, v in field.items() if v is not None})


def _dtype(dtype):
    """The dtype D (or G, for the noise grid) computes in: the default, or float32 or float64
    (an integer dtype would round every point of the grid to a whole number)."""
    return backend.float_dtype(dtype, "field: dtype")


def _host(a):
    return np.asarray(backend.to_host(a), dtype=np.float64)


def _check_pointwise(discriminator):
    layer = mixing_layer(discriminator)
    if layer is not None:
        raise ValueError(f"D's surface needs a discriminator that judges one point at a time; "
                         f"its layer {layer!r} mixes the samples of a batch")
