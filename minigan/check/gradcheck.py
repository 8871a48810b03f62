r"""Numeric gradient checking: is a hand-written backward pass exact?

A backward pass computes a vector-Jacobian product: given the upstream
gradient :math:`\bar y = \partial L/\partial y` it returns
:math:`\bar x = J^\top \bar y`, the gradient of the scalar
:math:`s(x) = \langle f(x), \bar y\rangle`. So the check differentiates that
scalar numerically, one input entry at a time, with a centered difference:

.. math::
    \bar x_i \approx \frac{s(x + h e_i) - s(x - h e_i)}{2h}

whose error is :math:`O(h^2)`. Everything runs in float64, and ``dout`` is
random so that no entry of the Jacobian hides behind a zero.

Use it to study any forward/backward pair::

    from minigan import functional as F, gradcheck
    errors = gradcheck.check_pair(F.dense_forward, F.dense_backward,
                                  {"x": x, "W": W, "b": b})
    # {'x': 3e-11, 'W': 2e-11, 'b': 1e-11}

or a layer (its input and every parameter)::

    errors = gradcheck.check_layer(layers.Dense(4, 3, dtype="float64"), x)

A layer is checked as it trains: the forward pass that the backward pass
differentiates may change the layer's state (BatchNorm's running statistics,
SpectralNorm's ``u``, the random stream Dropout draws its mask from), and every
numeric evaluation starts from the state that pass started from
(:func:`replay`). A backward pass that reads state the forward pass changed
after caching it fails the check.
"""

from __future__ import annotations

import numpy as np

from minigan import backend

__all__ = ["rel_error", "numeric_vjp", "check_pair", "check_layer", "replay"]


def rel_error(a, b, floor=1e-8):
    r"""Relative error of ``a`` against ``b``, with a floor on the scale.

    .. math:: \frac{\max_i |a_i - b_i|}{\max\left(\max_i |a_i| + \max_i |b_i|,\ \text{floor}\right)}

    The worst entry's error measured against the size of the gradient, so an
    entry that should be zero is judged at the gradient's scale, and two
    all-zero gradients compare as equal.
    """
    a = np.asarray(backend.to_host(a), dtype=np.float64)
    b = np.asarray(backend.to_host(b), dtype=np.float64)
    if a.shape != b.shape:
        raise ValueError(f"rel_error: shapes differ, {a.shape} and {b.shape}")
    if a.size == 0:
        return 0.0
    scale = max(float(np.max(np.abs(a)) + np.max(np.abs(b))), floor)
    return float(np.max(np.abs(a - b))) / scale


def numeric_vjp(f, x, dout, h=1e-5):
    r"""Centered finite-difference VJP of ``f`` at ``x``.

    Approximates :math:`\partial\langle f(x), \text{dout}\rangle/\partial x`:

    For each entry :math:`x_i`, :math:`\langle f(x + h e_i) - f(x - h e_i), \text{dout}\rangle / 2h`.
    The two outputs are subtracted entry by entry before the dot product, so
    outputs that do not depend on :math:`x_i` cancel exactly and add no
    rounding noise. ``h = 1e-5`` balances the :math:`O(h^2)` truncation error
    (zero where ``f`` is linear in :math:`x_i`, as for weights and biases)
    against rounding, :math:`O(\epsilon\,|f| / h)`.

    Parameters
    ----------
    f : callable
        ``f()`` -> output array; reads ``x``, which is perturbed in place.
    x : ndarray (float64, C-contiguous)
        The array to differentiate with respect to (restored on return).
    dout : ndarray like ``f()``
    h : float

    Returns
    -------
    numpy.ndarray like ``x``
    """
    if not x.flags.c_contiguous:
        raise ValueError("numeric_vjp: x must be C-contiguous so it can be perturbed in place")
    grad = np.zeros(x.shape, dtype=np.float64)
    flat = x.reshape(-1)  # a view: writing flat[i] perturbs x
    g = grad.reshape(-1)
    for i in range(flat.size):
        old = flat[i].item()
        flat[i] = old + h
        plus = f().copy()
        flat[i] = old - h
        minus = f()  # may be a view of x (a reshape): used before x is restored
        g[i] = float(((plus - minus) * dout).sum()) / (2 * h)
        flat[i] = old
    return grad


def _random_like(shape, rng, xp):
    return xp.asarray(rng.standard_normal(shape))


def check_pair(forward, backward, arrays, rng=None, h=1e-5, **hyper):
    """Compare a forward/backward pair with the numeric VJP, for each input array.

    Parameters
    ----------
    forward : callable
        ``forward(*arrays.values(), **hyper) -> (out, cache)``.
    backward : callable
        ``backward(dout, cache) -> grad`` or a tuple of grads in the order of ``arrays``.
    arrays : dict name -> float64 ndarray
        The differentiable inputs, in the positional order ``forward`` takes them.
    rng : numpy.random.Generator, optional
        Draws the random upstream gradient.
    **hyper
        Non-differentiable keyword arguments (stride, slope, ...).

    Returns
    -------
    dict name -> relative error (see :func:`rel_error`)
    """
    rng = np.random.default_rng(0) if rng is None else rng
    names = list(arrays)
    values = [arrays[k] for k in names]
    for k, v in arrays.items():
        if np.dtype(v.dtype) != np.float64:
            raise ValueError(f"check_pair: '{k}' is {v.dtype}; gradient checks need float64")
    xp = backend.get_array_module(*values)
    out, cache = forward(*values, **hyper)
    dout = _random_like(out.shape, rng, xp)
    analytic = backward(dout, cache)
    if not isinstance(analytic, tuple):
        analytic = (analytic,)
    errors = {}
    for k, v, a in zip(names, values, analytic, strict=False):
        num = numeric_vjp(lambda: forward(*values, **hyper)[0], v, dout, h)
        errors[k] = rel_error(a, num)
    return errors


def replay(layer):
    """A function that puts ``layer``'s forward-pass state back to what it is now.

    The state is what a forward pass reads besides its input and the parameters,
    and may change: every buffer of ``layer`` and of the layers inside it (copied
    here, written back in place), the ``rng`` generators they draw from and the
    library's default generator (:func:`minigan.backend.rng`). Call the function
    before each forward pass that must see the state of the first one.
    """
    buffers = {k: v.copy() for k, v in layer.buffers.items()}
    generators = [backend.rng()]
    for inner in layer.walk() if hasattr(layer, "walk") else (layer,):
        g = getattr(inner, "rng", None)
        if isinstance(g, np.random.Generator) and all(g is not o for o in generators):
            generators.append(g)
    states = [(g, g.bit_generator.state) for g in generators]

    def restore():
        live = layer.buffers
        for k, v in buffers.items():
            live[k][...] = v
        for g, state in states:
            g.bit_generator.state = state

    return restore


def check_layer(layer, x, rng=None, h=1e-5):
    """Compare a layer's ``backward`` (its ``dx`` and every ``grads`` entry) with numeric VJPs.

    The layer is checked in the mode it is in, as it trains: the forward pass whose
    cache ``backward`` uses may update buffers (running statistics, SpectralNorm's
    ``u``) and draw random numbers (Dropout's mask), and each numeric evaluation
    replays it from the same state (:func:`replay`). The layer ends in the state of
    that one forward pass. Parameters and ``x`` must be float64; ``x`` is moved to the
    layer's device.

    Returns
    -------
    dict: ``"x"`` and each parameter name -> relative error
    """
    rng = np.random.default_rng(0) if rng is None else rng
    if np.dtype(x.dtype) != np.float64:
        raise ValueError(f"check_layer: input is {x.dtype}; gradient checks need float64")
    own = [*layer.params.values(), *layer.buffers.values()]
    xp = backend.get_array_module(*own) if own else backend.get_array_module(x)
    x = backend.as_array_of(xp, x)               # where the layer lives
    layer.zero_grad()
    before = replay(layer)
    out = layer.forward(x)                       # as in training: the state moves on
    after = replay(layer)
    dout = _random_like(out.shape, rng, xp)
    dx = layer.backward(dout)
    analytic = {"x": dx, **{k: g.copy() for k, g in layer.grads.items()}}

    def f():
        before()
        return layer.forward(x)

    errors = {"x": rel_error(analytic["x"], numeric_vjp(f, x, dout, h))}
    for k, p in layer.params.items():
        errors[k] = rel_error(analytic[k], numeric_vjp(f, p, dout, h))
    after()
    return errors
