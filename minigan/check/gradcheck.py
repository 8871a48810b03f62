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

    from minigan import functional as F
    from minigan.check import gradcheck
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

import contextlib
import copy
import functools
import math

import numpy as np

from minigan import backend
from minigan.functional.errors import real_number
from minigan.nn import layers

__all__ = ["rel_error", "numeric_vjp", "extrapolated_vjp", "remeasured", "vjp_error", "check_pair",
           "check_layer", "check_step", "replay", "GradientErrors", "check_accumulation", "check_frozen",
           "is_rounding",
           "ROUNDING_FALL"]

#: How many times at least a miss must fall for a step ten times larger to be the centred
#: differences' rounding: about float64's epsilon times the output over h, so 10 times.
ROUNDING_FALL = 5


def is_rounding(error, coarser, tol):
    """Whether ``error``, the relative error of a gradient at step h, is the centred
    differences' rounding within ``tol``: ``coarser``, the error at step 10 h, is within
    ``tol`` and at least :data:`ROUNDING_FALL` times smaller. An output that hardly moves
    with the input (batch norm's gain near 0) leaves its differences at rounding noise that
    a larger step divides. The gradient then passes a check at step 10 h, no more."""
    return bool(coarser <= tol and ROUNDING_FALL * coarser <= error)


def rel_error(a, b, floor=1e-8):
    r"""Relative error of ``a`` against ``b``, with a floor on the scale.

    .. math:: \frac{\max_i |a_i - b_i|}{\max\left(\max_i |a_i| + \max_i |b_i|,\ \text{floor}\right)}

    The worst entry's error measured against the size of the gradient, so an
    entry that should be zero is judged at the gradient's scale, and two
    all-zero gradients compare as equal. A NaN or an infinity on either side
    gives ``inf``: no such gradient passes a check (and ``max`` of several
    errors stays ``inf``, where a NaN could hide behind a finite one).
    """
    a = np.asarray(backend.to_host(a), dtype=np.float64)
    b = np.asarray(backend.to_host(b), dtype=np.float64)
    if a.shape != b.shape:
        raise ValueError(f"rel_error: shapes differ, {a.shape} and {b.shape}")
    if a.size == 0:
        return 0.0
    if not (np.isfinite(a).all() and np.isfinite(b).all()):
        return float("inf")
    scale = max(float(np.max(np.abs(a)) + np.max(np.abs(b))), floor)
    return float(np.max(np.abs(a - b))) / scale


def numeric_vjp(f, x, dout, h=1e-5, side=0):
    r"""Centered finite-difference VJP of ``f`` at ``x`` (one-sided with ``side``).

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
    side : 0, 1 or -1
        0: the centred difference above. 1: :math:`\langle f(x + h e_i) - f(x), \text{dout}\rangle / h`,
        -1: :math:`\langle f(x) - f(x - h e_i), \text{dout}\rangle / h`; their error is
        :math:`O(h)`, but at a kink each sees one side of it (:meth:`GradientErrors.kinks`).

    Returns
    -------
    numpy.ndarray like ``x``
    """
    if side not in (0, 1, -1):
        raise ValueError(f"numeric_vjp: side must be 0, 1 or -1, got {side!r}")
    if not x.flags.c_contiguous:
        raise ValueError("numeric_vjp: x must be C-contiguous so it can be perturbed in place "
                         "(pass a contiguous copy: numpy.ascontiguousarray(x))")
    grad = np.zeros(x.shape, dtype=np.float64)
    flat = x.reshape(-1)  # a view: writing flat[i] perturbs x
    g = grad.reshape(-1)
    steps = {0: (h, -h), 1: (h, 0.0), -1: (0.0, -h)}[side]
    for i in range(flat.size):
        old = flat[i].item()
        flat[i] = old + steps[0]
        plus = f().copy()
        flat[i] = old + steps[1]
        minus = f()  # may be a view of x (a reshape): used before x is restored
        g[i] = float(((plus - minus) * dout).sum()) / (steps[0] - steps[1])
        flat[i] = old
    return grad


def _generator(rng):
    """The generator of the random upstream gradient: ``rng``, seeded 0 when None; a TypeError
    for a seed given in its place (it would fail with "'int' object has no attribute
    'standard_normal'")."""
    return np.random.default_rng(0) if rng is None else backend.rng(rng)


def _above_zero(what, value, advice):
    """``value`` as a float, or a ValueError naming ``what`` unless it is a finite number above
    0 (:func:`~minigan.functional.errors.real_number`: a NumPy scalar or a 0-d array too, not
    True or a string); ``advice`` says what to give."""
    v = real_number(value)
    if v is None or not 0 < v < math.inf:
        raise ValueError(f"{what} must be a finite number above 0 ({advice}), got {value!r}")
    return v


def _step_size(h):
    """``h`` as a float, or a ValueError unless it is a finite number above 0 (:func:`_above_zero`):
    0 divided by zero, and NaN would make every difference NaN, blamed on the backward pass."""
    return _above_zero("h, the step of the centred differences,", h, "1e-5 unless you have a reason")


def _random_like(shape, rng, xp):
    return xp.asarray(rng.standard_normal(shape))


def _float64_input(what, name, value):
    """``value`` as a C-contiguous float64 array of its own device: a list becomes a NumPy
    array, a strided view a contiguous copy (the check perturbs it in place); any other
    dtype is an error, since float32's rounding would pass for a wrong gradient."""
    if not hasattr(value, "dtype"):
        value = np.asarray(value, dtype=np.float64)
    if np.dtype(value.dtype) != np.float64:
        raise ValueError(f"{what}: '{name}' is {value.dtype}; gradient checks need float64")
    if value.flags.c_contiguous:          # a 0-d array too, which ascontiguousarray makes (1,)
        return value
    return backend.get_array_module(value).ascontiguousarray(value)


class GradientErrors(dict):
    """name -> relative error (:func:`rel_error`), as :func:`check_pair` and
    :func:`check_layer` return it, and what :meth:`kinks` needs to explain a large one."""

    def __init__(self, errors, problems, h, finish=None):
        super().__init__(errors)
        self._problems, self._h, self._finish = problems, h, finish
        #: :func:`check_layer`'s: the buffers the forward pass moved that the backward pass
        #: reads (a list, computed when called); none for a pair
        self.moved_buffers_read = list
        self._at = {}                 # (name, step) -> its centred differences, taken once
        #: name -> how an error that replaced the one at ``step`` was measured
        #: ("extrapolated": :func:`extrapolated_vjp`; "h = ...": a larger step).
        self.measured = {}

    @property
    def step(self):
        """The step ``h`` of the centred differences the errors were measured with."""
        return self._h

    def end_as_checked(self):
        """Put the layer (or the step's networks) back as the one checked forward pass (or
        step) left them, after other passes: its state and caches."""
        if self._finish is not None:
            self._finish()

    @contextlib.contextmanager
    def _evaluating(self):
        """Evaluate a problem's function again, then put a layer back in the state its one
        checked forward pass left (:func:`check_layer`'s ``finish``)."""
        try:
            yield
        finally:
            if self._finish is not None:
                self._finish()

    def kinks(self, name, tol):
        """The entries of ``name`` that explain its error as kinks, or None.

        An entry whose centred difference misses the analytic gradient (by more than
        ``tol`` on the gradient's scale) sits on or within ``h`` of a kink such as
        ReLU's 0 when its one-sided differences from the left and from the right differ
        by at least that miss (at a kink the centred one averages them: the miss is
        about half their gap; on a smooth function they differ by about ``h`` times its
        curvature, and the centred difference misses by ``h**2``) and one of them agrees
        with the analytic gradient to a hundredth of the miss. Each entry is judged against
        its own miss, so a kink where the upstream gradient is small counts as one.
        Returns ``[(index, left, right), ...]``, the one-sided differences of each such
        entry, when every entry that misses is explained so; else None (the backward
        pass is off, or the function is curved at the scale of ``h``).
        """
        f, x, dout, analytic, numeric = self._problems[name]
        with self._evaluating():
            left = backend.to_host(numeric_vjp(f, x, dout, self._h, side=-1))
            right = backend.to_host(numeric_vjp(f, x, dout, self._h, side=1))
        a = np.asarray(backend.to_host(analytic), dtype=np.float64)
        central = backend.to_host(numeric)          # the check's own centred differences
        if not (np.isfinite(a).all() and np.isfinite(central).all()):
            return None
        scale = max(float(np.abs(a).max() + np.abs(central).max()), 1e-8) if a.size else 1e-8
        miss = np.abs(a - central)
        off = miss > tol * scale
        two_slopes = np.abs(left - right) >= miss
        one_side_agrees = (np.minimum(np.abs(a - left), np.abs(a - right))
                           <= 0.01 * miss + tol * scale)
        kink = two_slopes & one_side_agrees
        if not off.any() or not kink[off].all():
            return None
        return [(tuple(int(i) for i in index), float(left[index]), float(right[index]))
                for index in zip(*np.nonzero(off), strict=True)]

    def _numeric_at(self, name, h):
        """``name``'s centred differences of step ``h`` (each step computed once)."""
        if (name, h) not in self._at:
            f, x, dout, _, numeric = self._problems[name]
            if h == self._h:
                self._at[name, h] = numeric
            else:
                with self._evaluating():
                    self._at[name, h] = numeric_vjp(f, x, dout, h)
        return self._at[name, h]

    def at_step(self, name, h):
        """The relative error of ``name``'s gradient against centred differences of step
        ``h``: one that falls 100 times for a step 10 times smaller is the differences'
        truncation (a curved function), one that falls for a larger step their rounding."""
        return rel_error(self._problems[name][3], self._numeric_at(name, h))

    def remeasured(self, name, tol):
        """``(error, how)`` of ``name``'s gradient by :func:`remeasured`, with the
        differences this check took (each step's taken once)."""
        return remeasured(self._problems[name][3], lambda h: self._numeric_at(name, h),
                          self._h, tol)

    def factor(self, name):
        """``(c, residual, entries)``: the number ``c`` that brings ``name``'s centred
        differences closest to the analytic gradient, :func:`rel_error` of the gradient
        against ``c`` times them, and ``entries``, how many nonzero differences ``c`` rests
        on. A residual at the differences' precision with ``c`` other than 1 is a gradient
        right in direction and off by a factor (-1: of the wrong sign), when two or more
        entries agree on it. On one entry any wrong value is some multiple of the right
        one: ``c`` is that entry's ratio, and the residual says only whether the entries
        whose differences are 0 are 0 in the gradient too. With no nonzero difference (or
        differences or a gradient not finite) the residual is infinite."""
        _, _, _, analytic, numeric = self._problems[name]
        a = np.asarray(backend.to_host(analytic), dtype=np.float64).ravel()
        n = np.asarray(backend.to_host(numeric), dtype=np.float64).ravel()
        norm, entries = float(n @ n), int(np.count_nonzero(n))
        if not (0 < norm < math.inf and np.isfinite(a).all()):   # 0: no nonzero difference
            return 1.0, float("inf"), entries
        c = float(a @ n) / norm
        return c, rel_error(a, c * n), entries

    def rounding(self, name):
        r"""``(largest |analytic|, largest |numeric|, noise)`` for ``name``, ``noise`` the
        rounding error of its differences: float64's epsilon times the size of
        :math:`\sum |f(x)\,\text{dout}|` over the step. Gradients at that level cannot be
        told from zero, whatever the backward pass."""
        f, x, dout, analytic, numeric = self._problems[name]
        with self._evaluating():
            size = float(np.abs(backend.to_host(f() * dout)).sum())
        largest = [float(np.abs(backend.to_host(g)).max()) if g.size else 0.0
                   for g in (analytic, numeric)]
        return largest[0], largest[1], np.finfo(np.float64).eps * size / self._h


def _as_gradient(analytic):
    """A backward pass's gradient as an array (a list or a number becomes one; None stays)."""
    if analytic is not None and not hasattr(analytic, "shape"):
        return np.asarray(analytic, dtype=np.float64)
    return analytic


def _compare(what, name, analytic, numeric):
    """:func:`rel_error` of the analytic gradient of ``name`` against the numeric one, with
    an error that names both when the analytic one is missing or of another shape."""
    analytic = _as_gradient(analytic)
    if analytic is None:
        raise ValueError(f"{what}: the backward pass gave None for '{name}'; it must return a "
                         f"gradient of shape {tuple(numeric.shape)}, the shape of '{name}'")
    if tuple(analytic.shape) != tuple(numeric.shape):
        raise ValueError(f"{what}: the backward pass's gradient of '{name}' has shape "
                         f"{tuple(analytic.shape)}; '{name}' has shape {tuple(numeric.shape)}")
    return rel_error(analytic, numeric)


def _richardson(coarse, fine):
    """``(100 fine - coarse) / 99``: differences of steps h and h / 10, their h**2 cancelled."""
    return (100.0 * fine - coarse) / 99.0


def extrapolated_vjp(f, x, dout, h=1e-5):
    r"""Richardson's extrapolation of two centred differences, steps ``h`` and ``h / 10``:

    .. math::
        \bar x \approx \frac{100\, D(h/10) - D(h)}{99}

    Each :math:`D(h)` (:func:`numeric_vjp`) misses by :math:`c\,h^2` plus higher orders;
    the combination cancels the :math:`h^2` terms, leaving :math:`O(h^4)` and about the
    rounding of :math:`D(h/10)`. Where a function curves fast at the scale of ``h``
    (spectral norm's :math:`W/\sigma(W)` for a small W, a penalty that is a derivative
    already) it meets the gradient where :math:`D(h)` misses it; a wrong backward pass
    misses it as much as :math:`D(h)` does."""
    return _richardson(numeric_vjp(f, x, dout, h), numeric_vjp(f, x, dout, h / 10))


def remeasured(analytic, differences, h, tol):
    """``(error, how)``: the relative error of ``analytic`` against ``differences(h)``, the
    centred differences of step ``h``, measured again when it is over ``tol`` (and finite):
    against their Richardson extrapolation with ``differences(h / 10)`` (the truncation
    cancelled: :func:`extrapolated_vjp`), then against ``differences(10 * h)`` where the
    error falls there as rounding does (:func:`is_rounding`). ``how`` is ``"extrapolated"``
    or ``"h = ..."`` when the error is one of those, within ``tol``; else None. The rule of
    :mod:`minigan.check.testing`'s checks."""
    coarse = differences(h)
    error = rel_error(analytic, coarse)
    if not tol < error < np.inf:
        return error, None
    extrapolated = rel_error(analytic, _richardson(coarse, differences(h / 10)))
    if extrapolated <= tol:
        return extrapolated, "extrapolated"
    coarser = rel_error(analytic, differences(10 * h))
    if is_rounding(error, coarser, tol):
        return coarser, f"h = {10 * h:g}"
    return error, None


def vjp_error(f, x, dout, analytic, tol, h=1e-5):
    """The relative error of ``analytic`` against the centred differences of ``f`` in ``x``
    (step ``h``), measured again as :mod:`minigan.check.testing`'s checks do when it is
    over ``tol`` (:func:`remeasured`). For a function that is not a layer or a pair: a
    penalty, G's loss through D."""
    return remeasured(analytic, lambda step: numeric_vjp(f, x, dout, step), h, tol)[0]


def check_pair(forward, backward, arrays, rng=None, h=1e-5, **hyper):
    """Compare a forward/backward pair with the numeric VJP, for each input array.

    Parameters
    ----------
    forward : callable
        ``forward(*arrays.values(), **hyper) -> (out, cache)``.
    backward : callable
        ``backward(dout, cache) -> grad`` or a tuple of grads in the order of ``arrays``.
    arrays : dict name -> float64 ndarray
        The differentiable inputs, in the positional order ``forward`` takes them (a
        list of numbers is taken as float64; a strided view is copied).
    rng : numpy.random.Generator, optional
        Draws the random upstream gradient.
    h : float
        The step of the centred differences.
    **hyper
        Non-differentiable keyword arguments (stride, slope, ...).

    Returns
    -------
    :class:`GradientErrors`: a dict name -> relative error (see :func:`rel_error`)
    """
    rng, h = _generator(rng), _step_size(h)
    names = list(arrays)
    values = [_float64_input("check_pair", k, arrays[k]) for k in names]
    xp = backend.get_array_module(*values)
    out, cache = forward(*values, **hyper)
    dout = _random_like(np.shape(out), rng, xp)
    analytic = backward(dout.copy(), cache)       # a copy: a backward may write into it
    several = isinstance(analytic, tuple) or isinstance(analytic, list) and any(
        a is None or hasattr(a, "shape") for a in analytic)    # else one gradient as a list
    analytic = tuple(analytic) if several else (analytic,)
    what = getattr(backward, "__name__", "check_pair")
    if len(analytic) < len(names):
        raise ValueError(f"{what}: the backward pass gave {len(analytic)} gradient(s) for "
                         f"{len(names)} inputs ({', '.join(names)}); it must give one for each, "
                         f"in the order of `arrays`")
    def f():
        return xp.asarray(forward(*values, **hyper)[0])   # a Python number too

    errors, problems = {}, {}
    for k, v, a in zip(names, values, analytic, strict=False):   # extra trailing ones: ignored
        numeric, a = numeric_vjp(f, v, dout, h), _as_gradient(a)
        errors[k] = _compare(what, k, a, numeric)
        problems[k] = (f, v, dout, a, numeric)
    return GradientErrors(errors, problems, h)


def replay(layer):
    """A function that puts ``layer``'s forward-pass state back to what it is now.

    The state is what a forward pass reads besides its input and the parameters,
    and may change: every buffer of ``layer`` and of the layers inside it (copied
    here, written back in place), the NumPy generators they hold (any attribute that is
    a ``numpy.random.Generator``) and the library's default generator
    (:func:`minigan.backend.rng`). NumPy's global ``np.random`` functions are not
    replayed: a layer of your own draws from a generator it holds. A buffer that is not
    an array (a Python or NumPy number), or that a forward pass made one, is a ValueError.
    Call the function before each forward pass that must see the state of the first one.
    """
    held = getattr(layer, "buffers", {})        # a layer alike may have none
    for k, v in held.items():
        _writable_buffer(layer, k, v)
    buffers = {k: v.copy() for k, v in held.items()}
    states = [(g, g.bit_generator.state) for g in _generators((layer,))]

    def restore():
        live = getattr(layer, "buffers", {})
        for k, v in buffers.items():
            _writable_buffer(layer, k, live[k], " after a forward pass")
            live[k][...] = v
        for g, state in states:
            g.bit_generator.state = state

    return restore


def _writable_buffer(layer, k, v, when=""):
    """A ValueError naming buffer ``k`` of ``layer`` unless ``v`` is an array that can be
    written in place (a NumPy or CuPy array, 0-d too; not a Python or NumPy number)."""
    if not (hasattr(v, "shape") and hasattr(v, "copy") and hasattr(v, "__setitem__")):
        raise ValueError(f"{layer!r}: buffer '{k}' is of type {type(v).__name__}{when}, not an "
                         "array; replay puts buffers back in place, so a buffer is an array the "
                         "forward pass writes into (a count: np.zeros(()), then "
                         f"buffers['{k}'] += 1, not buffers['{k}'] = buffers['{k}'] + 1)")


def _generators(held):
    """The library's default generator (:func:`minigan.backend.rng`) and every
    ``numpy.random.Generator`` in ``held``: given there, or an attribute of a layer in it or
    inside one; each once, in that order."""
    generators = [backend.rng()]
    for item in held:
        if isinstance(item, np.random.Generator):
            found = (item,)
        else:
            inner = item.walk() if hasattr(item, "walk") else (item,)
            found = (g for i in inner for g in vars(i).values()
                     if isinstance(g, np.random.Generator))
        generators += [g for g in found if all(g is not o for o in generators)]
    return generators


def _refuse_frozen(what, layer):
    """A ValueError naming ``layer``, or the first layer inside it, that is frozen: it
    leaves its ``grads`` alone, so a check of them would call a right gradient off."""
    frozen = [inner for inner in (layer.walk() if hasattr(layer, "walk") else (layer,))
              if inner.params and getattr(inner, "frozen", False)]
    if frozen:
        which = "it is" if frozen[0] is layer else f"{frozen[0]!r} inside it is"
        raise ValueError(f"{what}: {which} frozen and accumulates no parameter gradients to "
                         "check; unfreeze it first (freeze(False))")


def _float64_params(layer, what=None, fix="build the layer with dtype='float64'"):
    """A ValueError naming the first parameter of ``layer`` that is not float64; ``what``
    heads it (default: the layer's repr) and ``fix`` says what to do; a TypeError for what is
    no layer (a function: "'function' object has no attribute 'params'")."""
    if not all(callable(getattr(type(layer), a, None)) for a in ("forward", "backward")):
        raise TypeError(f"the gradient checks take a layer, with forward(x), backward(dout), "
                        f"params, grads and zero_grad() (a minigan.nn.layers.Layer), got a "
                        f"{type(layer).__name__}; check a forward/backward pair of functions "
                        "with check_pair (testing.assert_pair_gradients)")
    for k, p in layer.params.items():
        if np.dtype(p.dtype) != np.float64:
            raise ValueError(f"{repr(layer) if what is None else what}: parameter '{k}' is "
                             f"{p.dtype}; gradient checks need float64 ({fix})")


def _on_layer_device(layer, x):
    """The array module ``layer`` lives on, and ``x`` moved there."""
    own = [*layer.params.values(), *getattr(layer, "buffers", {}).values()]
    xp = backend.get_array_module(*own) if own else backend.get_array_module(x)
    return xp, backend.as_array_of(xp, x)


def check_layer(layer, x, rng=None, h=1e-5):
    """Compare a layer's ``backward`` (its ``dx`` and every ``grads`` entry) with numeric VJPs.

    The layer is checked in the mode it is in, as it trains: the forward pass whose
    cache ``backward`` uses may update buffers (running statistics, SpectralNorm's
    ``u``) and draw random numbers (Dropout's mask), and each numeric evaluation
    replays it from the same state (:func:`replay`). The layer ends in the state of
    that one forward pass, its cache included (the pass runs once more after the
    differences, from the same state). Parameters and ``x`` must be float64 (a list is taken as
    float64); ``x`` is moved to the layer's device. A frozen layer is refused: it leaves
    its ``grads`` alone; so is a layer made of others that does not hold their parameters
    or buffers in its own dicts (no optimizer built from it would train them), a layer
    whose forward pass reads an array held as a plain attribute (neither a parameter nor a
    buffer) or writes into its input, or whose backward pass changes a buffer or writes
    into ``dout``, or one whose forward pass, run again from the same state, gives another output (it draws
    from a generator :func:`replay` does not reach).

    Returns
    -------
    :class:`GradientErrors`: a dict ``"x"`` and each parameter name -> relative error
    """
    rng, h = _generator(rng), _step_size(h)
    x = _float64_input(repr(layer), "x", x)
    _float64_params(layer)
    _refuse_frozen(repr(layer), layer)
    layers.refuse_unheld(repr(layer), layer)
    xp, x = _on_layer_device(layer, x)
    layer.zero_grad()
    before = replay(layer)
    kept_x = x.copy()
    unmoved = {k: v.copy() for k, v in getattr(layer, "buffers", {}).items()}
    out = layer.forward(x)                       # as in training: the state moves on
    if not np.array_equal(backend.to_host(x), backend.to_host(kept_x), equal_nan=True):
        x[...] = kept_x
        raise ValueError(f"{layer!r}: its forward pass wrote into its input x; a layer's input "
                         "is the output of the layer before it, often that layer's cache, so "
                         "the forward pass computes a new array (np.tanh(x), not "
                         "np.tanh(x, out=x) or x *= ...)")
    _float64_params(layer)                       # also those a forward pass made
    dout = _random_like(out.shape, rng, xp)
    kept_out = np.array(backend.to_host(out), dtype=np.float64)
    moved = {k: backend.to_host(v).copy() for k, v in getattr(layer, "buffers", {}).items()}
    given = dout.copy()
    dx = layer.backward(given)
    if not np.array_equal(backend.to_host(x), backend.to_host(kept_x), equal_nan=True):
        x[...] = kept_x
        before()
        raise ValueError(f"{layer!r}: its backward pass wrote into its input x, which its "
                         "forward pass kept in its cache; the cache belongs to the forward "
                         "pass (and x to the layer before it), so the backward pass computes "
                         "new arrays from it (x * x, not np.multiply(x, x, out=x) or x *= ...)")
    if not np.array_equal(backend.to_host(given), backend.to_host(dout)):
        before()
        raise ValueError(f"{layer!r}: its backward pass wrote into dout, the gradient it was "
                         "given; a layer that hands the same dout to two paths (a residual "
                         "block: dout + inner.backward(dout)) would then add a changed one, so "
                         "the backward pass computes new arrays (dout * s, not dout *= s)")
    _refuse_moved_in_backward(layer, moved, before)
    _refuse_other_dtype(layer, dx, x)
    analytic = {"x": dx, **{k: g.copy() for k, g in layer.grads.items()}}

    def f():
        before()
        return layer.forward(x)

    what = repr(layer)
    _refuse_unreplayed(what, kept_out, np.asarray(backend.to_host(f()), dtype=np.float64))
    _refuse_unregistered(what, layer, x, kept_out, f)
    errors, problems = {}, {}
    for k, array in {"x": x, **layer.params}.items():
        if k not in analytic:          # as parameters() says it (its KeyError comes first)
            raise KeyError(layer.unregistered(k))
        numeric = numeric_vjp(f, array, dout, h)
        errors[k] = _compare(what, k, analytic[k], numeric)
        problems[k] = (f, array, dout, analytic[k], numeric)
    f()                                          # the checked pass again: its state and cache
    checked = GradientErrors(errors, problems, h, finish=f)
    checked.moved_buffers_read = functools.partial(_moved_buffers_read, layer, unmoved, dout,
                                                   analytic)
    return checked


def _moved_buffers_read(layer, unmoved, dout, analytic):
    """The buffers of ``layer`` that its forward pass moved and its backward pass reads: each
    put back to its value before the move (``unmoved``) in a copy of the layer as the checked
    pass left it, whose backward pass of ``dout`` then gives other gradients than
    ``analytic``. A hint for a failed check (a backward pass that reads ``self.buffers``
    where the values the forward pass used belong); the layer itself is not touched."""
    read = []
    for k, value in unmoved.items():
        now = layer.buffers.get(k)
        if now is None or np.array_equal(backend.to_host(now), backend.to_host(value),
                                         equal_nan=True):
            continue
        twin = copy.deepcopy(layer)
        twin.buffers[k][...] = value
        twin.zero_grad()
        dx = twin.backward(dout.copy())
        again = {"x": dx, **twin.grads}
        if any(g is not None and analytic.get(name) is not None and not np.array_equal(
                backend.to_host(g), backend.to_host(analytic[name]), equal_nan=True)
               for name, g in again.items()):
            read.append(k)
    return read


def _refuse_unregistered(what, layer, x, out, f):
    """A ValueError naming a float array held as an attribute of ``layer`` (or of a layer
    inside it) that its forward pass ``f()`` reads, neither a parameter nor a buffer (nor a
    view of one, nor ``x``): its gradient is not checked, no optimizer trains it and
    ``state_dict()`` does not save it. Each such array is moved once, ``f()`` run and the
    array put back; an output other than ``out`` tells that the forward pass reads it."""
    inner = [layer, *(i for i, _ in layers.inner_layers(layer))]
    held = [a for i in inner for kind in ("params", "grads", "buffers")
            for a in getattr(i, kind, {}).values()]
    for owner in inner:
        for name, a in list(getattr(owner, "__dict__", {}).items()):
            if (name == "_cache"          # NumPy's or CuPy's arrays: not np.float64, a class
                    or not (isinstance(a, np.ndarray) or backend.on_gpu(a))
                    or np.dtype(a.dtype).kind != "f" or not a.size
                    or not getattr(getattr(a, "flags", None), "writeable", True)):
                continue
            xp = backend.get_array_module(a)
            if any(backend.get_array_module(b) is xp and xp.may_share_memory(a, b)
                   for b in (x, *held)):
                continue
            kept = a.copy()
            a += 1e-3 * (1 + abs(a))
            try:
                again = np.asarray(backend.to_host(f()), dtype=np.float64)
            finally:
                a[...] = kept
            if not _rerun_error(out, again) <= _UNREPLAYED_TOL:
                where = "" if owner is layer else f" of {owner!r} inside it"
                raise ValueError(
                    f"{what}: its forward pass reads '{name}'{where}, an array of shape "
                    f"{tuple(a.shape)} held as an attribute, neither a parameter nor a buffer: "
                    "its gradient is not checked, no optimizer trains it (they take "
                    "parameters(), which lists params) and state_dict() does not save it. A "
                    f"learned array is a parameter, self._add_param('{name}', value), its "
                    f"gradient added with self._accumulate({name}=...); a constant is kept in "
                    f"self.buffers['{name}']")


def _refuse_other_dtype(layer, dx, x):
    """A ValueError when the backward pass returned ``dx`` of another float dtype than ``x``
    (float64 here): a float32 cast loses digits the check's tolerance may not see (a relative
    error near 1e-8), where the layer below would be handed a gradient of another dtype than
    its own (:meth:`~minigan.nn.layers.Layer._accumulate` refuses a parameter's)."""
    dtype = getattr(dx, "dtype", None)
    if dtype is not None and np.dtype(dtype).kind == "f" and np.dtype(dtype) != np.dtype(x.dtype):
        raise ValueError(f"{layer!r}: its backward pass returned dx in {np.dtype(dtype).name} "
                         f"for an input x in {np.dtype(x.dtype).name}; compute dx in x's dtype "
                         "(no cast, no array made in another dtype, such as one of "
                         "minigan.backend.default_dtype())")


def _refuse_moved_in_backward(layer, moved, before):
    """A ValueError naming the first buffer of ``layer`` that its backward pass changed from
    ``moved``, what the forward pass left (the layer put back by ``before`` first)."""
    for k, v in getattr(layer, "buffers", {}).items():
        if k in moved and not np.array_equal(backend.to_host(v), moved[k], equal_nan=True):
            before()
            raise ValueError(
                f"{layer!r}: its backward pass changed buffer '{k}'; a buffer is state the "
                "forward pass moves (running statistics) and the checks replay: a forward pass "
                "with no backward pass after it would leave it where it was, and each backward "
                "pass of the same forward pass would move it again. Move its update into "
                "forward(), kept from what the forward pass sees (the batch's mean), and let "
                "backward() only read the cache")


#: How far (relative error) a layer's forward pass, run again from the state :func:`replay`
#: puts back, may move its output: the rounding of a sum whose order varies (a GPU's atomic
#: adds), never a random draw.
_UNREPLAYED_TOL = 1e-12


def _rerun_error(out, again):
    """How far ``again``, a run repeated from the same state, is from the first run's
    ``out``: 0 when equal (NaN where it was NaN), inf when a NaN or an infinity moved or
    changed, else the relative error of the finite entries (with :func:`rel_error`'s floor
    for values near 0). Within :data:`_UNREPLAYED_TOL`, the same run: a forward pass's
    output (:func:`check_layer`) or a step's loss (:func:`check_step`)."""
    out, again = np.asarray(out), np.asarray(again)
    if np.array_equal(again, out, equal_nan=True):
        return 0.0
    finite = np.isfinite(out)                            # a NaN is judged by the checks
    if not (np.array_equal(finite, np.isfinite(again))
            and np.array_equal(out[~finite], again[~finite], equal_nan=True)):
        return float("inf")
    return rel_error(again[finite], out[finite])


def _refuse_unreplayed(what, out, again):
    """A ValueError when ``again``, the forward pass run once more on the same input from
    the replayed state, is not ``out``: the forward pass reads state that :func:`replay`
    does not put back, so its differences measure two functions, not one."""
    error = _rerun_error(out, again)
    if not error <= _UNREPLAYED_TOL:
        raise ValueError(
            f"{what}: its forward pass, run again on the same input from the same state, gave "
            f"another output (relative error {error:.1e}), so no difference of it measures the "
            "gradient: it reads state that replay() does not put back. Draw random numbers from "
            "a numpy.random.Generator held as an attribute of the layer or of a layer inside it "
            "that its sublayers() returns (not np.random's functions, a RandomState, or a "
            "generator inside a list or a dict), and keep other state that the forward pass "
            "changes in the layer's buffers (a layer made of others holds theirs in its own, "
            "as Sequential's buffers does)")


def check_accumulation(layer, x, rng=None):
    """Do a layer's parameter gradients add up over backward passes, as the layer rules say?

    Two forward/backward passes of the same input and upstream gradient, from the same
    state (:func:`replay`), after ``zero_grad()``: each ``grads`` entry must then be twice
    what one pass left. A layer that assigns its gradients (``self.grads[k] = g``) instead
    of adding to them (``_accumulate``) leaves once the first pass's, and a discriminator
    that sees a real and a fake batch before its step would learn from the fake one only.
    The layer's state and ``grads`` are put back as they were.

    Returns
    -------
    dict: each parameter name -> :func:`rel_error` of the two passes' gradient against
    twice the first's (rounding only, when the layer accumulates)
    """
    if not layer.params:
        return {}
    with _passes_put_back(layer, x, rng) as (xp, x, rng, kept_state):
        layer.zero_grad()
        out = layer.forward(x)
        dout = _random_like(out.shape, rng, xp)
        layer.backward(dout.copy())
        once = {k: g.copy() for k, g in layer.grads.items()}
        kept_state()
        layer.forward(x)
        layer.backward(dout.copy())
        return {k: rel_error(layer.grads[k], 2 * once[k]) for k in layer.params}


@contextlib.contextmanager
def _passes_put_back(layer, x, rng):
    """For a check that runs passes of its own through ``layer`` (:func:`check_accumulation`,
    :func:`check_frozen`): ``(xp, x, rng, kept_state)``, with ``x`` in float64 on the layer's
    device, ``rng`` seeded 0 unless given and ``kept_state`` :func:`replay`'s restore of the
    layer's state now; after the block, the layer's state and ``grads`` as they were."""
    rng = _generator(rng)
    xp, x = _on_layer_device(layer, _float64_input(repr(layer), "x", x))
    kept_grads = {k: g.copy() for k, g in layer.grads.items()}
    kept_state = replay(layer)
    try:
        yield xp, x, rng, kept_state
    finally:
        kept_state()
        for k, g in kept_grads.items():
            layer.grads[k][...] = g


def check_frozen(layer, x, rng=None):
    """Does a frozen layer leave its ``grads`` alone?

    ``freeze()`` keeps a layer's weights where they are, and the G step runs D frozen
    (:meth:`~minigan.nn.layers.Layer.freezing`), D's ``grads`` untouched. A backward pass
    that adds to ``grads`` itself, not through ``Layer._accumulate`` (which skips a frozen
    layer), writes into them anyway. One forward/backward pass of the layer frozen, after
    ``zero_grad()``; the layer's state, frozen flags and ``grads`` are put back as they were.
    A layer without ``freezing()`` (not a :class:`~minigan.nn.layers.Layer`) is not checked.

    Returns
    -------
    list: the names of the parameters whose gradients the frozen pass made other than 0
    """
    if not layer.params or not hasattr(layer, "freezing"):
        return []
    with _passes_put_back(layer, x, rng) as (xp, x, rng, _):
        layer.zero_grad()
        with layer.freezing():
            out = layer.forward(x)
            layer.backward(_random_like(out.shape, rng, xp))
        return [k for k in layer.params if bool(xp.any(layer.grads[k] != 0))]


def check_step(step, net, replayed=(), h=1e-5):
    """Compare the gradient a whole training step leaves in ``net.grads`` with centred
    differences of the loss the step returns, all of ``net``'s parameters as one vector.

    A step is more than its layers and its loss: a GAN's D step runs D on a real and a
    fake batch, back-propagates each term right after its own forward pass, and may add a
    penalty at inputs it draws; its G step runs G, then D, then both backward. Each layer
    and each loss can be exact and the step still wrong (a term's sign, a target, a
    gradient assigned where it should accumulate). Here the step runs once for its
    gradient, then again for every difference, each time from the state it started from:
    the buffers and generators of ``net`` and of every layer in ``replayed``
    (:func:`replay`), and every ``numpy.random.Generator`` in ``replayed`` (the noise a
    GAN draws, ``model.rng``), so that each run draws the same noise and the same masks.

    One vector, not one error per array: a gradient that is zero by construction (the
    last bias of a critic, which cancels between the real and the fake term) has
    differences of rounding noise, about float64's epsilon times the loss over ``h``,
    which only the scale of the whole gradient judges fairly.

    Parameters
    ----------
    step : callable
        ``step() -> loss``, a number or 0-d array: runs the step's forward and backward
        passes, leaving its gradient in ``net.grads``, and does not move the parameters
        (a ValueError if it does: an optimizer step in every run would go unseen, its
        state moved on once per difference; a GAN:
        ``lambda: model.d_step(x, update=False)["d_loss"]``), and starts from a zero
        gradient (a ValueError if a second run from the same state leaves twice the first
        run's gradient: a step without ``net.zero_grad()``). It reads ``net``'s
        parameters in place; it must not hold state that :func:`replay` does not put back
        (a GAN's G step on the D step's kept batch, ``reuse_fake``, runs G once per pair of
        steps: check the pair as one step, ``lambda: (model.d_step(x, update=False),
        model.g_step(m, update=False))[1]["g_loss"]``, whose G loss depends on G's weights
        through the D step's batch, or with ``reuse_fake`` off; a ValueError when the runs
        for the differences draw other random numbers than the checked run, or when a
        second run returns another loss: a generator it draws from is not in ``replayed``).
    net : minigan.nn.layers.Layer or alike
        The network whose gradient is checked (``params``, ``grads``), float64. A ValueError
        when a layer in it is frozen, when a layer inside it holds a parameter or buffer
        that ``net``'s own ``params`` or ``buffers`` do not (or ``net.parameters()`` leaves a
        parameter out: no optimizer built from it would train it), or when it has none.
    replayed : sequence of layers and ``numpy.random.Generator``, or one of them
        The other state the step reads and changes, put back before each run.
    h : float
        The step of the centred differences.

    Returns
    -------
    :class:`GradientErrors`: ``{"parameters": relative error}``, the parameters in the
    order of ``net.params``; ``net`` ends with the parameters, state and ``grads`` of the
    one checked run, and the layers in ``replayed`` with its state and ``grads`` (the step
    runs once more after the differences, from the same state: the caches of the layers and
    what the step keeps, such as a GAN's ``last_r1``, are the checked run's too).
    """
    what, h = _step_what(net), _step_size(h)
    if isinstance(replayed, np.random.Generator) or hasattr(replayed, "params"):
        replayed = (replayed,)             # one layer or generator: "not iterable" otherwise
    _float64_params(net, what, fix="build the players with dtype='float64', or call "
                    "minigan.backend.set_default_dtype('float64') before building them")
    names = list(net.params)
    if not names:
        raise ValueError(f"{what}: the network has no parameters to check")
    _refuse_frozen(what, net)
    layers.refuse_unheld(what, net)
    restore = _replay_all(net, replayed)
    flat = _flat(net.params, names)

    def loss():
        restore()
        _write_flat(net.params, names, flat)
        value = step()
        try:
            return np.asarray(backend.to_host(value), dtype=np.float64).reshape(())
        except (TypeError, ValueError):
            shape = getattr(value, "shape", None)
            raise TypeError(f"{what}: the step must return its loss, one number, got "
                            + (f"an array of shape {tuple(shape)}" if shape is not None
                               else f"a {type(value).__name__}")
                            + " (a GAN's D step: lambda: model.d_step(x, update=False)"
                            "['d_loss'])") from None

    net.zero_grad()
    checked = loss()                              # the checked run
    if not np.array_equal(_flat(net.params, names), flat, equal_nan=True):
        raise ValueError(f"{what}: the step moved the parameters; a checked step leaves them "
                         "where they are, its gradient in grads (a GAN's: d_step(x, "
                         "update=False), g_step(m, update=False)), else every difference "
                         "takes an optimizer step too")
    after = _replay_all(net, replayed)
    drawn = _generator_states(net, replayed)
    others = [(layer, {k: g.copy() for k, g in layer.grads.items()}) for layer in replayed
              if getattr(layer, "grads", None) and layer is not net]
    analytic = _flat(net.grads, names)
    if analytic.size != flat.size:
        raise ValueError(f"{what}: its grads do not match its params in shape")
    repeated = loss()                             # again, onto the checked run's gradient
    again = _flat(net.grads, names)
    if rel_error(again, 2 * analytic) < 1e-6 < rel_error(again, analytic):
        raise ValueError(f"{what}: a second run of the step, from the same state, left twice "
                         "the first run's gradient in grads: the step adds to the gradient "
                         "already there instead of starting from zero, so in training each "
                         "step would add the last one's too; begin it with net.zero_grad() "
                         "(a GAN's d_step: self.D.zero_grad(), g_step: self.G.zero_grad())")

    def finish():                                 # back to the checked run's end: run it
        loss()                                    # again (its caches and what the step sets,
        after()                                   # last_r1), then its buffers and generators
        _write_flat(net.grads, names, analytic)   # (the same, unless the step is not replayed)
        for layer, grads in others:               # a step may add to the others' too
            for k, g in grads.items():
                layer.grads[k][...] = g

    dout = np.array(1.0)
    numeric = numeric_vjp(loss, flat, dout, h)
    redrawn = _generator_states(net, replayed)
    finish()
    if not _same_state(redrawn, drawn):
        raise ValueError(f"{what}: the runs for the differences drew other random numbers than "
                         "the checked run, from the same state: the step holds state that "
                         "replay does not put back (a GAN's G step on the D step's kept batch, "
                         "reuse_fake: check the D and the G step as one, lambda: "
                         "(model.d_step(x, update=False), model.g_step(m, update=False))[1]"
                         "[\"g_loss\"], or with reuse_fake off)")
    if not _rerun_error(checked, repeated) <= _UNREPLAYED_TOL:
        raise ValueError(f"{what}: the step, run again from the same state, returned another "
                         f"loss ({float(checked)!r}, then {float(repeated)!r}), so no difference "
                         "of it measures the gradient: it draws from a generator that is not "
                         "replayed. Name it in replayed (a GAN's noise: model.rng, as in "
                         "replayed=(model.G, model.rng) for the D step and (model.D, model.rng) "
                         "for the G step); a layer draws from a numpy.random.Generator held as "
                         "one of its attributes, not from np.random's functions")
    problems = {"parameters": (loss, flat, dout, analytic, numeric)}
    return GradientErrors({"parameters": rel_error(analytic, numeric)}, problems, h,
                          finish=finish)


def _flat(arrays, names):
    """``arrays[k]`` for each ``k`` in ``names``, on the host, one after the other in one
    flat vector (:func:`check_step`'s view of a network's parameters or gradients)."""
    return np.concatenate([backend.to_host(arrays[k]).ravel() for k in names])


def _write_flat(arrays, names, flat):
    """The inverse of :func:`_flat`: ``flat``'s pieces written into ``arrays[k]`` in place,
    each on its array's device."""
    offset = 0
    for k in names:
        a = arrays[k]
        a[...] = backend.as_array_of(backend.get_array_module(a),
                                     flat[offset:offset + a.size].reshape(a.shape))
        offset += a.size


def _step_what(net):
    """A step check's subject in one line (a Sequential's repr takes one per layer)."""
    return f"the step's gradient of the {type(net).__name__} of {len(net.params)} parameter arrays"


def _generator_states(net, replayed):
    """The state of every generator that :func:`_replay_all` puts back, in one order."""
    return [g.bit_generator.state for g in _generators((net, *replayed))]


def _same_state(a, b):
    """Whether two generator states (dicts of numbers, strings and arrays) are equal."""
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_same_state(a[k], b[k]) for k in a)
    if isinstance(a, list | tuple) and isinstance(b, list | tuple):
        return len(a) == len(b) and all(_same_state(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
        return np.array_equal(a, b)
    return a == b


def _replay_all(net, replayed):
    """:func:`replay` of ``net`` and of each layer in ``replayed``, and the state of each
    generator in it: one function that puts all of them back to what they are now."""
    restorers = [replay(net)]
    for other in replayed:
        if isinstance(other, np.random.Generator):
            restorers.append(functools.partial(setattr, other.bit_generator, "state",
                                               other.bit_generator.state))
        else:
            restorers.append(replay(other))

    def restore():
        for put_back in restorers:
            put_back()

    return restore
