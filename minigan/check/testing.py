r"""Property testing for hand-written gradients: hypothesis strategies and float64 checks.

The tools minigan's own test suite uses, for anyone who writes a layer or a
forward/backward pair and wants to know that its backward pass is exact:

- strategies that draw only valid configurations: :func:`conv2d_configs`,
  :func:`conv_transpose2d_configs`, :func:`dense_configs`,
  :func:`batchnorm_configs`, :func:`shapes`, :func:`seeds`;
- :func:`assert_pair_gradients` and :func:`assert_layer_gradients`, which run
  the float64 numeric vector-Jacobian product of :mod:`minigan.check.gradcheck` and
  fail naming the worst input when its relative error exceeds :data:`GRAD_TOL` (and
  saying when a NaN or a kink of the function is why); the layer's check also
  requires its parameter gradients to accumulate over backward passes;
- :func:`assert_step_gradients`, the same rule for a whole training step (a GAN's D or G
  step, a game or a step of your own): the gradient it leaves against differences of the
  loss it returns, every random draw replayed;
- :func:`assert_close_on_scale`, which compares two devices' (or two bodies') results
  within a relative tolerance of the larger array's scale;
- helpers for inputs near a kink (:func:`away_from_kinks`,
  :func:`min_kink_distance`), for losses (:func:`loss_pair`) and the suite's
  hypothesis profiles (:func:`register_profiles`).

The rule: every gradient, computed in float64 with a random upstream
gradient, is within :data:`GRAD_TOL` of a centered finite difference,

.. math:: \frac{\max_i |a_i - b_i|}{\max\left(\max_i |a_i| + \max_i |b_i|,\ 10^{-8}\right)} \le 10^{-7}

at the step ``h`` (``1e-5``); or, where that difference is off by its own error, within it
of Richardson's extrapolation of the steps ``h`` and ``h / 10`` (which cancels their
truncation, ``h**2``: a function that curves fast at the scale of ``h``), or of the
difference at ``10 h`` when the error falls there as their rounding does (an output that
hardly moves with the input). A wrong backward pass misses all three.
Hypothesis draws shapes and hyperparameters, never the tolerance. It is a
test dependency, not a runtime one: ``pip install "minigan[test]"``.

Examples
--------
>>> import numpy as np
>>> from hypothesis import given
>>> from minigan.check import testing
>>> from minigan.nn import layers
>>> @given(testing.dense_configs())
... def test_dense(cfg):
...     rng = cfg.rng()
...     layer = layers.Dense(**cfg.layer_kwargs, rng=rng, dtype="float64")
...     testing.assert_layer_gradients(layer, cfg.input(rng), rng=rng)
>>> test_dense()
"""

from __future__ import annotations

import copy
import dataclasses
import os

import numpy as np

try:
    from hypothesis import HealthCheck, assume, settings
    from hypothesis import strategies as st
except ImportError as exc:  # pragma: no cover - exercised in a subprocess by the tests
    raise ImportError(
        'minigan.check.testing needs hypothesis, a test dependency: pip install "minigan[test]"'
    ) from exc

from minigan import backend
from minigan import functional as F
from minigan.nn import layers

from .gradcheck import (
    ROUNDING_FALL,
    _above_zero,
    _float64_input,
    _on_layer_device,
    _step_what,
    check_accumulation,
    check_frozen,
    check_layer,
    check_pair,
    check_step,
    replay,
)

__all__ = [
    "GRAD_TOL", "ERROR_FLOOR", "KINK_MARGIN",
    "assert_pair_gradients", "assert_layer_gradients", "assert_step_gradients",
    "seeds", "shapes", "dense_configs", "conv2d_configs", "conv_transpose2d_configs",
    "batchnorm_configs", "DenseConfig", "ConvConfig", "BatchNormConfig",
    "away_from_kinks", "min_kink_distance", "power_step_conditioned", "loss_pair", "PROFILES",
    "register_profiles", "assert_close_on_scale",
]

GRAD_TOL = 1e-7
"""Largest relative error a float64 gradient may have against the numeric VJP."""

ERROR_FLOOR = 1e-8
"""Floor on the scale in :func:`minigan.check.gradcheck.rel_error`: gradients near zero are
judged against it, not against themselves."""

KINK_MARGIN = 1e-3
"""How far inputs stay from a kink (ReLU's 0): a hundred finite-difference steps."""


# -- the checks --------------------------------------------------------------------------------
def assert_close_on_scale(actual, expected, rtol, err_msg=""):
    """``actual`` equals ``expected`` within ``rtol`` of the largest ``|expected|``.

    Both may be NumPy or CuPy arrays (they are moved to the host). The tolerance is
    relative to the array's scale (``atol = rtol * max|expected|``), so an entry that a
    sum cancels to near zero is judged on the array's scale, not on its own: the
    comparison for a GPU result against the CPU's, or a tuned body against its formula.
    Shapes and dtypes must match.
    """
    actual, expected = backend.to_host(actual), backend.to_host(expected)
    assert actual.shape == expected.shape and actual.dtype == expected.dtype, (
        err_msg, actual.shape, actual.dtype, expected.shape, expected.dtype)
    scale = float(np.abs(expected).max()) if expected.size else 0.0
    np.testing.assert_allclose(actual, expected, rtol=rtol, atol=rtol * scale, err_msg=err_msg)


def _tolerance(tol):
    """``tol`` as a float, or a ValueError unless it is a finite number above 0
    (:func:`~minigan.check.gradcheck._above_zero`): 0 or a negative one would fail every
    check, NaN pass every one, each naming the worst gradient."""
    return _above_zero("tol, the largest relative error that passes,", tol,
                       f"testing.GRAD_TOL, {GRAD_TOL:g}, unless you have a reason")


def _judge(errors, tol, what, more=None, entry=True, kink_near=None):
    """``errors`` when every one is within ``tol``; else an AssertionError naming the worst,
    and saying so when it is a NaN or an infinity, or kinks of the function explain it
    (``kink_near()``, where given, names the layer whose input lies near one); ``more()``
    says what else may explain a failure that nothing here does.

    An error over ``tol`` is measured again before it fails: against Richardson's
    extrapolation of the differences at the step and a tenth of it, whose ``h**2`` terms
    cancel (:func:`~minigan.check.gradcheck.extrapolated_vjp`; the differences'
    truncation, where a function curves fast), then at a step ten times larger, where
    their rounding falls (:func:`~minigan.check.gradcheck.is_rounding`). Within ``tol``
    there, it passes: ``errors`` holds that error, and ``errors.measured`` says how it
    was measured."""
    if not errors:
        return errors
    if hasattr(errors, "remeasured"):
        for name, error in errors.items():
            if tol < error < float("inf"):
                errors[name], how = errors.remeasured(name, tol)
                if how is not None:
                    errors.measured[name] = how
    worst = max(errors, key=errors.get)
    if errors[worst] <= tol:
        return errors
    measured = getattr(errors, "measured", {})
    table = ", ".join(f"{k}={v:.2e}" + (f" ({measured[k]})" if k in measured else "")
                      for k, v in errors.items())
    message = (f"{what}: the gradient of '{worst}' is off, relative error {errors[worst]:.2e} "
               f"> {tol:g} (all: {table})")
    if errors[worst] == float("inf"):
        message += ("; NaN or infinite entries in the backward pass's gradient or in the "
                    "forward pass's output")
    elif hasattr(errors, "kinks"):
        if entry:
            message += _worst_entry(errors, worst)
        why = _why(errors, worst, tol, kink_near)
        if more is not None and (not why or why.startswith(_ONE_ENTRY)):
            why += more()
        message += why
    raise AssertionError(message)


def _worst_entry(errors, name):
    """For a failed check: the entry of ``name`` whose gradient misses most, and both values
    there (the backward pass's and the differences'), where a bug is to be looked for."""
    analytic, numeric = (np.asarray(backend.to_host(g), dtype=np.float64)
                         for g in errors._problems[name][3:5])
    if not analytic.size or not (np.isfinite(analytic).all() and np.isfinite(numeric).all()):
        return ""
    i = np.unravel_index(int(np.argmax(np.abs(analytic - numeric))), analytic.shape)
    where = f"{name}[{', '.join(str(int(j)) for j in i)}]" if analytic.ndim else name
    return (f"; its worst entry is {where}: {analytic[i]:.6g} from the backward pass, "
            f"{numeric[i]:.6g} from the differences")


#: How closely a gradient must match a multiple of its differences (relative error) for a
#: failed check to call it off by that factor.
_FACTOR_FIT = 1e-6

#: How many times at least an error must fall for a step ten times smaller for the message
#: to call it the differences' truncation (``h**2``: 100 times).
_TRUNCATION_FALL = 50

#: How many times float64's rounding of the differences a miss that falls for a larger step
#: must be for the message to call it the forward pass's lost precision (float32's epsilon
#: is about 5e8 times float64's).
_PRECISION_GAP = 1e4


#: How :func:`_why` begins the ratio of a one-entry gradient, which names no cause (the
#: other hints follow it).
_ONE_ENTRY = "; its one nonzero entry is the differences' times "


def _why(errors, worst, tol, kink_near=None):
    """What explains a failed check besides a wrong backward pass, if anything: gradients at
    the rounding noise, kinks (and, by ``kink_near()``, the layer whose input lies near
    one), or a step too large or too small (:class:`GradientErrors`)."""
    analytic, numeric, noise = errors.rounding(worst)
    if analytic < noise and numeric < 100 * noise:      # zero, and the noise of the differences
        return (f"; both gradients of '{worst}' are at the differences' rounding noise "
                f"(largest entries {analytic:.1e} and {numeric:.1e}, noise about {noise:.0e}): "
                f"the output hardly depends on '{worst}' (a bias before a normalization?), and "
                "no relative error can be measured there: check the layer without that "
                "parameter (bias=False before a batch norm, whose mean subtraction cancels it), "
                "or with inputs it reaches (more features, another layer after it)")
    kinks = errors.kinks(worst, tol)
    if kinks:
        shown = "; ".join(f"{worst}{list(i)}: {lo:.3g} from the left, {hi:.3g} from the right"
                          for i, lo, hi in kinks[:3])
        more = f" and {len(kinks) - 3} more" if len(kinks) > 3 else ""
        near = kink_near() if kink_near is not None else ""
        undeclared = "" if near or kink_near is None else (
            "; a kink no layer names: where it is one of the layer's own function of x, name "
            "those inputs in its class, kinks = (...), which min_kink_distance reads, and "
            "pass them to away_from_kinks(x, kinks=...), whose default is ReLU's 0 alone; a "
            "kink no such tuple names (a tie between entries, as minibatch discrimination's "
            "|M_i - M_j|, or one on a value inside a layer of one's own) is kept off by "
            "drawing inputs apart")
        return ("; the entries it misses lie on or near a kink" + (f" ({near})" if near else "")
                + ", where the one-sided differences agree with the backward pass and the centred "
                f"one averages two slopes (one-sided differences: {shown}{more}). Draw inputs "
                f"away from kinks (testing.away_from_kinks, min_kink_distance){undeclared}")
    h, error = errors.step, errors[worst]
    smaller, larger = errors.at_step(worst, h / 10), errors.at_step(worst, h * 10)
    if _TRUNCATION_FALL * smaller <= error:
        return (f"; with a step ten times smaller it is {smaller:.1e}, falling as the "
                f"differences' truncation does (a function curved at the scale of h = {h:g}): "
                f"pass a smaller h; an error that stays near {smaller:.1e} at smaller steps is "
                "the backward pass's")
    if ROUNDING_FALL * larger <= error and error * (analytic + numeric) > _PRECISION_GAP * noise:
        return (f"; with a step ten times larger it is {larger:.1e}, falling as rounding does, "
                f"but its miss, {error * (analytic + numeric):.1e}, is far above float64's "
                f"rounding of the differences (about {noise:.0e}): the forward pass loses "
                "precision inside (a float32 array or cast, such as one made in "
                "minigan.backend.default_dtype(), or a difference of large, nearly equal "
                "numbers), which no step measures past: compute it in float64")
    if ROUNDING_FALL * larger <= error:
        return (f"; with a step ten times larger it is {larger:.1e}, falling as the "
                f"differences' rounding does: pass a larger h than {h:g}; an error that stays "
                f"near {larger:.1e} at larger steps is the backward pass's")
    factor, residual, entries = errors.factor(worst)
    # A factor that two or more entries agree on is told to 1e-3; one entry's ratio tells no
    # factor (any wrong value is a multiple of the right one), only 0 and -1, within tol.
    near = 1e-3 if entries > 1 else min(tol, 1e-3)
    if residual < _FACTOR_FIT and abs(factor - 1) > near:   # every entry off by one factor
        if abs(factor) <= near:
            return (f"; the gradient of '{worst}' is about 0 in every entry, its differences "
                    "are not: nothing reached the gradient (a parameter's gradient never "
                    "given to _accumulate, a backward pass not run or run on caches of "
                    "another forward pass, or terms that cancel)")
        if abs(factor + 1) <= near:
            return (f"; the gradient of '{worst}' is the differences' times -1 in every "
                    "entry: right in size, of the wrong sign (a term's sign, or a loss "
                    "returned that its gradient does not descend)")
        if entries == 1:
            return (f"{_ONE_ENTRY}{factor:.4g}. On one "
                    "entry any wrong value is a multiple of the right one, so this names no "
                    "cause; a round factor is worth a look (2: a gradient added twice; the "
                    "batch's size or its inverse: a mean over another count), and where the "
                    "array can have more entries (a larger batch, more features), a check on "
                    "them tells a factor every entry shares from a wrong formula")
        twice = ("a gradient added twice (_accumulate called twice for it, or a term counted "
                 "twice), " if abs(factor - 2) <= 1e-3 else "")
        return (f"; the gradient of '{worst}' is the differences' times {factor:.4g} in every "
                f"entry: right in direction, off by a factor ({twice}a mean over another count, "
                "or a weight or sign given to the loss returned and not to its gradient, or the "
                "reverse)")
    return ""


def assert_pair_gradients(forward, backward, arrays, rng=None, tol=GRAD_TOL, h=1e-5, **hyper):
    """Assert that a forward/backward pair's gradients match numeric VJPs in float64.

    Parameters
    ----------
    forward : callable
        ``forward(*arrays.values(), **hyper) -> (out, cache)``.
    backward : callable
        ``backward(dout, cache) -> grad`` or a tuple of grads in the order of ``arrays``
        (extra trailing entries, such as a ``None`` bias gradient, are ignored).
    arrays : dict name -> float64 ndarray
        The differentiable inputs, in the positional order ``forward`` takes them.
    rng : numpy.random.Generator, optional
        Draws the random upstream gradient ``dout``; pass the generator that drew the
        inputs (a fresh one with the same seed would draw ``dout`` equal to them).
        ``numpy.random.default_rng(0)`` when None.
    tol : float
        :data:`GRAD_TOL` unless you have a reason.
    h : float
        The step of the centred differences. An error over ``tol`` is measured again:
        against Richardson's extrapolation of the steps ``h`` and ``h / 10``, which
        cancels their truncation (``h**2``), then at ``10 h`` where it falls as their
        rounding (``1 / h``) does. Within ``tol`` there, it passes, and that error is
        returned (``errors.measured`` says how it was measured).
    **hyper
        Non-differentiable keyword arguments of ``forward`` (stride, slope, ``b=None``, ...).
        ``rng``, ``tol`` and ``h`` are the check's own: a ``forward`` with a keyword of one
        of these names takes it bound, ``functools.partial(forward, h=...)``.

    Returns
    -------
    dict name -> relative error (all within ``tol``)

    Raises
    ------
    AssertionError
        Naming the input with the largest error, that error and all the others, and its
        worst entry with the backward pass's value and the differences' there; and,
        when that is what happened, that the gradient holds a NaN or an infinity, that
        both gradients are at the rounding noise of the differences (the output hardly
        depends on that input), that the entries it misses sit on kinks of the function
        (ReLU's 0), or that a step ``h`` ten times smaller or larger brings the error
        down (the differences' truncation or rounding, not the backward pass; or, a miss
        far above float64's rounding, a forward pass that loses precision inside).
    ValueError
        When an input is not float64, or ``backward`` gives fewer gradients than there
        are inputs, or one of another shape than its input.

    Examples
    --------
    >>> import numpy as np
    >>> from minigan import functional as F
    >>> from minigan.check import testing
    >>> x = np.random.default_rng(0).standard_normal((3, 4)) + 0.5
    >>> errors = testing.assert_pair_gradients(F.tanh_forward, F.tanh_backward, {"x": x})
    >>> errors["x"] < testing.GRAD_TOL
    True
    """
    tol = _tolerance(tol)
    errors = check_pair(forward, backward, arrays, rng=rng, h=h, **hyper)
    return _judge(errors, tol, getattr(backward, "__name__", repr(backward)))


def assert_layer_gradients(layer, x, rng=None, tol=GRAD_TOL, h=1e-5):
    """Assert that a layer's ``dx`` and every parameter gradient match numeric VJPs in float64,
    and that its parameter gradients accumulate over backward passes.

    The layer needs ``forward(x)``, ``backward(dout)``, ``params`` and ``grads`` (dicts
    with the same keys) and ``zero_grad()``, as :class:`minigan.nn.layers.Layer` has, and
    float64 parameters. It is checked as it trains: every numeric evaluation replays the
    state of the forward pass (buffers, the random streams a Dropout draws from:
    :func:`minigan.check.gradcheck.replay`). Then two forward/backward passes must leave
    twice one pass's gradients (:func:`minigan.check.gradcheck.check_accumulation`), and a
    pass of the layer frozen none (:func:`minigan.check.gradcheck.check_frozen`; a layer
    without ``freezing()``, not built on :class:`~minigan.nn.layers.Layer`, is not). The
    layer ends as the one checked forward and backward pass left it: its state, ``grads``
    and caches.

    Parameters
    ----------
    layer : minigan.nn.layers.Layer or alike
    x : float64 ndarray
        The input.
    rng : numpy.random.Generator, optional
        Draws the random upstream gradient.
    tol : float
    h : float
        The step of the centred differences. Their error is about ``h**2`` times the third
        derivative, and their rounding about float64's epsilon times the output over ``h``:
        an error over ``tol`` is measured again, as :func:`assert_pair_gradients` says
        (:func:`~minigan.check.gradcheck.extrapolated_vjp`,
        :func:`~minigan.check.gradcheck.is_rounding`), and passes within ``tol`` there.

    Returns
    -------
    dict: ``"x"`` and each parameter name -> relative error (all within ``tol``)

    Raises
    ------
    AssertionError
        Naming the worst of ``x`` and the parameters, its error and all the others (with
        a NaN, an infinity, kinks, rounding or the step said as :func:`assert_pair_gradients`
        says them, and an input of the layer, or of a layer inside a
        :class:`~minigan.nn.layers.Sequential` (named by its index there), within the step
        of one of its ``kinks``: :func:`min_kink_distance`); or
        naming a parameter whose gradient a second backward pass does not add to, or
        that a frozen pass writes.
    ValueError
        When ``x`` or a parameter is not float64, the layer is frozen, a gradient's
        shape is not its array's, a parameter or buffer of a layer inside it is not in its
        own ``params`` or ``buffers`` (or a parameter not in its ``parameters()``: no
        optimizer would train it), the forward pass reads an array held as a plain
        attribute (neither a parameter nor a buffer) or writes into ``x``, the backward pass
        changes a buffer, or the forward pass, run again from the same state, gives
        another output (it draws from ``np.random``'s functions, a ``RandomState`` or a
        generator in a container: state :func:`~minigan.check.gradcheck.replay` does not
        put back).

    Examples
    --------
    >>> import numpy as np
    >>> from minigan.check import testing
    >>> from minigan.nn import layers
    >>> rng = np.random.default_rng(0)
    >>> layer = layers.Conv2d(2, 3, 3, stride=2, padding=1, rng=rng, dtype="float64")
    >>> sorted(testing.assert_layer_gradients(layer, rng.standard_normal((2, 2, 5, 5))))
    ['W', 'b', 'x']
    """
    tol = _tolerance(tol)
    start = copy.deepcopy(rng)
    checked = check_layer(layer, x, rng=rng, h=h)
    errors = _judge(checked, tol, repr(layer),
                    more=lambda: _kink_inside(layer, x, h) or _moved_buffers(checked),
                    kink_near=lambda: _kink_near(layer, x, h))
    for k, error in check_accumulation(layer, x, rng=start).items():
        if not error <= tol:
            raise AssertionError(
                f"{layer!r}: the gradient of '{k}' does not accumulate: two backward passes "
                f"did not leave twice one pass's gradient (relative error {error:.2e}); add "
                f"to grads (Layer._accumulate) instead of assigning them, and leave zeroing "
                f"them to the training step (zero_grad() before the passes, not in backward())")
    written = check_frozen(layer, x, rng=copy.deepcopy(start))
    if written:
        raise AssertionError(
            f"{layer!r}: frozen, it still wrote the gradient of {', '.join(map(repr, written))}: "
            "add parameter gradients through Layer._accumulate, which skips a frozen layer "
            "(the G step runs D frozen, its grads untouched), or skip them when self.frozen")
    errors.end_as_checked()        # the caches of the checked pass, not the last pass's
    return errors


def assert_step_gradients(step, net, replayed=(), tol=GRAD_TOL, h=1e-5):
    """Assert that the gradient a whole training step leaves in ``net.grads`` matches the
    centred differences of the loss it returns, in float64.

    The check of a composition: a game of your own, a step of your own, or a D with a
    layer of your own, as Algorithm 1's steps run it (:func:`minigan.check.gradcheck.check_step`
    runs the step again from the same state for every difference: the noise, the masks,
    the penalty's draws are the checked run's). All of ``net``'s parameters are judged as
    one vector (a gradient that is zero by construction is judged on the scale of the
    whole), and an error over ``tol`` is measured again as :func:`assert_pair_gradients`
    says.

    Parameters
    ----------
    step : callable
        ``step() -> loss``: the step's forward and backward passes, leaving the gradient in
        ``net.grads`` and the weights where they are; for :class:`minigan.gan.GAN`,
        ``lambda: model.d_step(x, update=False)["d_loss"]`` or
        ``lambda: model.g_step(m, update=False)["g_loss"]``. With R1 (``r1 > 0``), a D step
        that takes it (``model.d_opt.t % model.r1_every == 0``) adds its gradient
        ``r1_every`` times over, which ``d_loss`` leaves out: there the step's loss is
        ``stats["d_loss"] + model.r1_every * stats["r1"]``.
    net : minigan.nn.layers.Layer
        The network whose gradient is checked (``model.D`` or ``model.G``), float64.
    replayed : sequence of layers and numpy.random.Generator, or one of them
        The other state the step reads and changes: for a GAN, the other network and the
        generator the model draws its noise from (``(model.G, model.rng)`` for the D step).
    tol, h : float
        As in :func:`assert_pair_gradients`.

    Returns
    -------
    dict: ``{"parameters": relative error}`` (within ``tol``)

    Raises
    ------
    AssertionError
        Naming the error, and where it is so, that the parameters it misses sit on kinks
        (the inputs of a ReLU, or the hinge's margin, within ``h`` of them: draw other
        inputs), that the gradient is at the differences' rounding noise, or that it is
        one multiple of the differences in every entry (-1: a sign; 0: nothing reached it);
        then each parameter array's largest miss on the whole gradient's scale, the worst
        first (which layer's gradient to read).
    ValueError
        When a parameter is not float64, ``net`` has none or a frozen layer (whose
        gradient stays 0) or a layer inside whose parameters it does not hold, the step
        moves them (an optimizer step: ``update=False``), or it
        adds its gradient to the one already in ``grads`` (no ``net.zero_grad()`` first);
        when its runs for the differences draw other random numbers than the checked run
        (state that is not replayed: a G step on the D step's kept batch, ``reuse_fake``),
        or when a second run returns another loss (a generator it draws from, such as
        ``model.rng``, left out of ``replayed``).

    Notes
    -----
    A spectral norm in training mode moves its ``u`` at each forward pass, and the next
    pass of the same step starts from it; each pass's gradient holds its own ``u`` fixed
    (:class:`minigan.nn.layers.SpectralNorm`), so the step's gradient is not the
    derivative of the loss through that chain. Check such a step with the layer in
    evaluation mode, and the layer itself, as it trains, with :func:`assert_layer_gradients`.

    Examples
    --------
    >>> import numpy as np
    >>> from minigan import gan
    >>> from minigan.check import testing
    >>> from minigan.nn import layers, optim
    >>> rng = np.random.default_rng(0)
    >>> G = layers.Sequential(layers.Dense(2, 8, rng=rng, dtype="float64"), layers.Tanh(),
    ...                       layers.Dense(8, 3, rng=rng, dtype="float64"))
    >>> D = layers.Sequential(layers.Dense(3, 8, rng=rng, dtype="float64"), layers.Tanh(),
    ...                       layers.Dense(8, 1, rng=rng, dtype="float64"))
    >>> model = gan.GAN(G, D, optim.Adam(G), optim.Adam(D), noise_dim=2, rng=rng, loss="hinge")
    >>> x = rng.standard_normal((5, 3))
    >>> errors = testing.assert_step_gradients(
    ...     lambda: model.d_step(x, update=False)["d_loss"], model.D, replayed=(model.G, model.rng))
    >>> errors = testing.assert_step_gradients(
    ...     lambda: model.g_step(5, update=False)["g_loss"], model.G, replayed=(model.D, model.rng))
    >>> errors["parameters"] < testing.GRAD_TOL
    True
    """
    tol = _tolerance(tol)
    errors = check_step(step, net, replayed, h=h)
    try:
        return _judge(errors, tol, _step_what(net), more=lambda: _carried_between_passes(net),
                      entry=False)
    except AssertionError as failure:
        raise AssertionError(f"{failure}{_by_array(errors, net)}") from None


#: How many parameter arrays a failed step check names, the worst first.
_ARRAYS_SHOWN = 6


def _by_array(errors, net):
    """For a failed step check: each parameter array's worst miss on the whole gradient's
    scale (the rule's own denominator, so that the worst array's is the error), the worst
    first: which layer's gradient to read. Nothing where the gradient is not finite."""
    analytic, numeric = (np.asarray(a) for a in errors._problems["parameters"][3:5])
    if not (np.isfinite(analytic).all() and np.isfinite(numeric).all()):
        return ""
    scale = max(np.abs(analytic).max(initial=0) + np.abs(numeric).max(initial=0), ERROR_FLOOR)
    misses, offset = {}, 0
    for k, p in net.params.items():
        piece = slice(offset, offset + p.size)
        misses[k] = np.abs(analytic[piece] - numeric[piece]).max(initial=0) / scale
        offset += p.size
    worst = sorted(misses, key=misses.get, reverse=True)
    shown = ", ".join(f"{k}={misses[k]:.2e}" for k in worst[:_ARRAYS_SHOWN])
    more = f" and {len(worst) - _ARRAYS_SHOWN} more" if len(worst) > _ARRAYS_SHOWN else ""
    return (f"; by parameter array, worst first (each array's largest miss on the whole "
            f"gradient's scale): {shown}{more}")


def _carried_between_passes(net):
    """For a failed step check: a SpectralNorm in training mode in ``net``, whose ``u`` one
    forward pass hands to the next within the step (each pass's gradient holds its own ``u``
    fixed; the differences see the chain), said; else nothing. One in a replayed network
    is not said: its ``u`` is a function of its own weight alone, which the differences do
    not move (and a GAN's G step runs D frozen, ``u`` left alone)."""
    for inner in net.walk() if hasattr(net, "walk") else (net,):
        if isinstance(inner, layers.SpectralNorm) and inner.training and not inner.frozen:
            return (f"; {inner!r} is in training mode: if the step runs it more than once, "
                    "each forward pass moves its u, which the next pass starts from, and each "
                    "pass's gradient holds its own u fixed, so the differences see a chain the "
                    "gradient does not take: check the step with it in evaluation mode (.eval())")
    return ""


def _kink_near(layer, x, h):
    """For a failed check: the layer whose input lies within the step of one of its ``kinks``
    (the layer itself, or one inside a Sequential, named by its index there as the
    Sequential's repr names it, ``(1) ReLU()``; ``(0.1)`` inside a chain inside it), as
    "an input of ... lies ... from its kink at ..."; else nothing."""
    try:                                # x as check_layer took it, on the layer's device
        near, index, where, kink = _nearest_kink(
            layer, _on_layer_device(layer, _float64_input("", "x", x))[1])
    except Exception:                   # a hint only: never in the way of the failure
        return ""
    if not near < 2 * h:
        return ""
    named = f"({'.'.join(map(str, index))}) {where!r}" if index else repr(where)
    return (f"an input of {named} lies {near:.1e} from its kink at {kink:g}, "
            f"within the step h = {h:g}")


def _kink_inside(layer, x, h):
    """For a failed check that nothing else explained: an input of a layer within the step
    of one of its ``kinks`` (:func:`_kink_near`; several under one entry leave no one-sided
    difference to match), said as a possibility; else nothing."""
    near = _kink_near(layer, x, h)
    return (f"; {near}: if the backward pass is right, draw inputs away from kinks "
            "(assume(min_kink_distance(net, x) > KINK_MARGIN))" if near else "")


def _moved_buffers(errors):
    """For a failed check that nothing else explained: the buffers the forward pass moved
    that the backward pass reads (:func:`~minigan.check.gradcheck.check_layer`'s
    ``moved_buffers_read``), said as a place to look; else nothing."""
    try:
        read = errors.moved_buffers_read()
    except Exception:                   # a hint only: never in the way of the failure
        return ""
    if not read:
        return ""
    return (f"; its backward pass reads the buffers {', '.join(map(repr, read))}, which its "
            "forward pass moved (with their values before the move it gives other gradients): "
            "if the forward pass computed with the values before the move, the backward pass "
            "reads those from its cache (self._cache), not from self.buffers")


# -- configurations ---------------------------------------------------------------------------
class _Config:
    """Fields read as attributes or by name, ``cfg.seed`` or ``cfg["seed"]``."""

    def __getitem__(self, name):
        if name not in {f.name for f in dataclasses.fields(self)}:
            raise KeyError(name)
        return getattr(self, name)

    def rng(self):
        """A fresh ``numpy.random.Generator`` seeded with ``seed``."""
        return np.random.default_rng(self.seed)


@dataclasses.dataclass(frozen=True)
class DenseConfig(_Config):
    """A dense problem ``x @ W + b``: ``x`` of shape ``(batch, in_features)``."""

    batch: int
    in_features: int
    out_features: int
    bias: bool
    seed: int

    @property
    def layer_kwargs(self):
        """``in_features``, ``out_features`` and ``bias``, as :class:`minigan.nn.layers.Dense`
        takes them."""
        return {"in_features": self.in_features, "out_features": self.out_features,
                "bias": self.bias}

    @property
    def pair_kwargs(self):
        """Keyword arguments for :func:`assert_pair_gradients` beside :meth:`arrays`:
        ``b=None`` when there is no bias."""
        return {} if self.bias else {"b": None}

    def input(self, rng):
        """A float64 input ``x`` drawn from ``rng``, on the active device."""
        return backend.asarray(rng.standard_normal((self.batch, self.in_features)))

    def arrays(self, rng):
        """``{"x", "W"[, "b"]}`` in float64 on the active device, for
        :func:`assert_pair_gradients`."""
        out = {"x": self.input(rng), "W": rng.standard_normal((self.in_features,
                                                               self.out_features))}
        if self.bias:
            out["b"] = rng.standard_normal(self.out_features)
        return {k: backend.asarray(v) for k, v in out.items()}


@dataclasses.dataclass(frozen=True)
class ConvConfig(_Config):
    """A valid Conv2d (``transpose=False``) or ConvTranspose2d problem, PyTorch's layouts.

    ``x_shape`` is ``(N, C, H, W)``; ``W_shape`` is ``(O, C, kh, kw)`` for a convolution
    and ``(C, O, kh, kw)`` for a transposed one. ``stride``, ``padding`` and
    ``output_padding`` are pairs (``output_padding`` is ``(0, 0)`` for a convolution).
    """

    x_shape: tuple
    W_shape: tuple
    stride: tuple
    padding: tuple
    output_padding: tuple
    bias: bool
    seed: int
    transpose: bool = False

    @property
    def in_channels(self):
        return self.x_shape[1]

    @property
    def out_channels(self):
        return self.W_shape[1 if self.transpose else 0]

    @property
    def kernel_size(self):
        return tuple(self.W_shape[2:])

    @property
    def out_shape(self):
        """``(N, O, oh, ow)``: :math:`\\lfloor (\\text{size} + 2p - k)/s \\rfloor + 1` along each
        axis for a convolution, :math:`(\\text{size} - 1)s - 2p + k + \\text{output_padding}` for a
        transposed one."""
        size = []
        for a in (0, 1):
            h, k = self.x_shape[2 + a], self.W_shape[2 + a]
            s, p, op = self.stride[a], self.padding[a], self.output_padding[a]
            size.append((h - 1) * s - 2 * p + k + op if self.transpose
                        else (h + 2 * p - k) // s + 1)
        return (self.x_shape[0], self.out_channels, *size)

    @property
    def layer_kwargs(self):
        """Constructor arguments of :class:`minigan.nn.layers.Conv2d` (or ``ConvTranspose2d``):
        channels, ``kernel_size``, ``stride``, ``padding`` (, ``output_padding``), ``bias``."""
        out = {"in_channels": self.in_channels, "out_channels": self.out_channels,
               "kernel_size": self.kernel_size, "stride": self.stride, "padding": self.padding}
        if self.transpose:
            out["output_padding"] = self.output_padding
        return {**out, "bias": self.bias}

    @property
    def pair_kwargs(self):
        """Keyword arguments of ``conv2d_forward`` / ``conv_transpose2d_forward`` beside
        :meth:`arrays`: ``stride``, ``padding`` (, ``output_padding``), and ``b=None``
        when there is no bias."""
        out = {"stride": self.stride, "padding": self.padding}
        if self.transpose:
            out["output_padding"] = self.output_padding
        return out if self.bias else {"b": None, **out}

    def input(self, rng):
        """A float64 input ``x`` drawn from ``rng``, on the active device."""
        return backend.asarray(rng.standard_normal(self.x_shape))

    def arrays(self, rng):
        """``{"x", "W"[, "b"]}`` in float64 on the active device, for
        :func:`assert_pair_gradients`."""
        out = {"x": self.input(rng), "W": rng.standard_normal(self.W_shape)}
        if self.bias:
            out["b"] = rng.standard_normal(self.out_channels)
        return {k: backend.asarray(v) for k, v in out.items()}


@dataclasses.dataclass(frozen=True)
class BatchNormConfig(_Config):
    """A batch-norm problem: ``shape`` is ``(N, C)`` or ``(N, C, H, W)``, ``eps`` its epsilon."""

    shape: tuple
    eps: float
    seed: int

    @property
    def num_features(self):
        return self.shape[1]

    @property
    def layer_kwargs(self):
        """``num_features`` and ``eps``, as :class:`minigan.nn.layers.BatchNorm` takes them."""
        return {"num_features": self.num_features, "eps": self.eps}

    def input(self, rng):
        """A float64 input ``x`` drawn from ``rng``, on the active device."""
        return backend.asarray(rng.standard_normal(self.shape))


# -- strategies --------------------------------------------------------------------------------
def seeds():
    """Seeds for ``numpy.random.default_rng``: hypothesis draws the seed, NumPy the arrays."""
    return st.integers(0, 2**32 - 1)


def _bounds(strategy, least=1, **values):
    """``values`` as Python ints, each at least ``least`` (``0`` for a padding) and each
    ``min_x`` at most its ``max_x``: else an error now, naming the argument (a TypeError
    for a value that is not an integer, a ValueError for one out of range), not
    hypothesis's when drawing."""
    ints = {}
    for name, value in values.items():
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
            raise TypeError(f"{strategy}: {name} must be an integer, got {value!r}")
        ints[name] = int(value)        # hypothesis takes Python ints only
        floor = 0 if name.endswith("padding") else least
        if ints[name] < floor:
            raise ValueError(f"{strategy}: {name} must be at least {floor}, got {value}")
    for name, value in ints.items():
        top = "max_" + name[len("min_"):]
        if name.startswith("min_") and top in ints and value > ints[top]:
            raise ValueError(f"{strategy}: {name}={value} is above {top}={ints[top]}")
    return ints


def shapes(max_dims=4, max_side=5, min_dims=1, min_side=1):
    """Array shapes (tuples) of ``min_dims`` to ``max_dims`` axes, each of size ``min_side``
    to ``max_side``."""
    dims = _bounds("shapes", least=0, max_dims=max_dims, min_dims=min_dims)
    sides = _bounds("shapes", max_side=max_side, min_side=min_side)
    return st.lists(st.integers(sides["min_side"], sides["max_side"]),
                    min_size=dims["min_dims"], max_size=dims["max_dims"]).map(tuple)


def dense_configs(max_batch=6, max_features=8, min_batch=1, min_features=1):
    """:class:`DenseConfig`: batch ``min_batch`` to ``max_batch``, features ``min_features``
    to ``max_features`` (a layer that normalizes over its features may need a few)."""
    b = _bounds("dense_configs", max_batch=max_batch, max_features=max_features,
                min_batch=min_batch, min_features=min_features)
    return _dense_configs(b["min_batch"], b["max_batch"], b["min_features"], b["max_features"])


@st.composite
def _dense_configs(draw, min_batch, max_batch, min_features, max_features):
    return DenseConfig(
        batch=draw(st.integers(min_batch, max_batch)),
        in_features=draw(st.integers(min_features, max_features)),
        out_features=draw(st.integers(min_features, max_features)),
        bias=draw(st.booleans()), seed=draw(seeds()),
    )


def conv2d_configs(max_size=7, max_batch=4, max_channels=4, max_kernel=5, max_stride=3,
                   max_padding=2):
    """:class:`ConvConfig` for Conv2d: the kernel fits the padded input, so the output is
    at least 1 x 1; spatial sizes 1 to ``max_size``, stride 1 to ``max_stride``, padding
    0 to ``max_padding``, a bias or not, and a seed."""
    return _conv2d_configs(**_bounds(
        "conv2d_configs", max_size=max_size, max_batch=max_batch, max_channels=max_channels,
        max_kernel=max_kernel, max_stride=max_stride, max_padding=max_padding))


@st.composite
def _conv2d_configs(draw, max_size, max_batch, max_channels, max_kernel, max_stride,
                    max_padding):
    N = draw(st.integers(1, max_batch))
    C = draw(st.integers(1, max_channels))
    O = draw(st.integers(1, max_channels))
    H = draw(st.integers(1, max_size))
    W = draw(st.integers(1, max_size))
    ph = draw(st.integers(0, max_padding))
    pw = draw(st.integers(0, max_padding))
    kh = draw(st.integers(1, min(max_kernel, H + 2 * ph)))  # the kernel fits the padded input
    kw = draw(st.integers(1, min(max_kernel, W + 2 * pw)))
    sh = draw(st.integers(1, max_stride))
    sw = draw(st.integers(1, max_stride))
    return ConvConfig(x_shape=(N, C, H, W), W_shape=(O, C, kh, kw), stride=(sh, sw),
                      padding=(ph, pw), output_padding=(0, 0), bias=draw(st.booleans()),
                      seed=draw(seeds()))


def conv_transpose2d_configs(max_size=5, max_batch=4, max_channels=4, max_kernel=5,
                             max_stride=3, max_padding=2):
    """:class:`ConvConfig` for ConvTranspose2d: ``output_padding < stride`` and an output
    of at least 1 x 1 (draws where the padding eats the whole output are rejected)."""
    return _conv_transpose2d_configs(**_bounds(
        "conv_transpose2d_configs", max_size=max_size, max_batch=max_batch,
        max_channels=max_channels, max_kernel=max_kernel, max_stride=max_stride,
        max_padding=max_padding))


@st.composite
def _conv_transpose2d_configs(draw, max_size, max_batch, max_channels, max_kernel,
                              max_stride, max_padding):
    N = draw(st.integers(1, max_batch))
    C = draw(st.integers(1, max_channels))
    O = draw(st.integers(1, max_channels))
    H = draw(st.integers(1, max_size))
    W = draw(st.integers(1, max_size))
    kh = draw(st.integers(1, max_kernel))
    kw = draw(st.integers(1, max_kernel))
    sh = draw(st.integers(1, max_stride))
    sw = draw(st.integers(1, max_stride))
    ph = draw(st.integers(0, max_padding))
    pw = draw(st.integers(0, max_padding))
    oph = draw(st.integers(0, sh - 1))
    opw = draw(st.integers(0, sw - 1))
    assume((H - 1) * sh - 2 * ph + kh + oph >= 1)
    assume((W - 1) * sw - 2 * pw + kw + opw >= 1)
    return ConvConfig(x_shape=(N, C, H, W), W_shape=(C, O, kh, kw), stride=(sh, sw),
                      padding=(ph, pw), output_padding=(oph, opw), bias=draw(st.booleans()),
                      seed=draw(seeds()), transpose=True)


def batchnorm_configs(max_channels=4):
    """:class:`BatchNormConfig`: 2-D ``(N, C)`` or 4-D ``(N, C, H, W)`` input with at least
    two values per channel, ``eps`` in {1e-5, 0.5}, and a seed.

    With two values per channel the normalized output is +-1 whatever ``x`` (up to
    ``eps``), so ``dx`` is of the order of ``eps`` and a finite difference cannot
    resolve it at a relative scale. With three, ``dx`` lies along one direction (the
    normalization takes away the mean's and the scale's), and a random upstream gradient
    nearly orthogonal to it leaves ``dx`` small against the differences' truncation error,
    which grows as the values' spread shrinks (with three values of spread 0.3, about 1
    draw in 300 failed :data:`GRAD_TOL`; with four, none in 1,500). For two or three values
    a large ``eps`` is drawn, so that the gradient is not degenerate.
    """
    return _batchnorm_configs(**_bounds("batchnorm_configs", max_channels=max_channels))


@st.composite
def _batchnorm_configs(draw, max_channels):
    C = draw(st.integers(1, max_channels))
    if draw(st.booleans()):
        shape = (draw(st.integers(2, 8)), C)
    else:
        shape = (draw(st.integers(1, 4)), C, draw(st.integers(1, 4)), draw(st.integers(1, 4)))
    m = int(np.prod(shape)) // C
    assume(m >= 2)
    eps = draw(st.sampled_from([1e-5, 0.5]))
    assume(m >= 4 or eps >= 0.5)
    return BatchNormConfig(shape=shape, eps=eps, seed=draw(seeds()))


# -- inputs near kinks, losses, profiles ------------------------------------------------------
def away_from_kinks(x, kinks=(0.0,), margin=KINK_MARGIN):
    """Move entries of ``x`` closer than ``margin`` to a kink out to ``margin``, on their side.

    At a kink (ReLU's 0) a function has no derivative, and a finite difference whose
    step straddles it measures neither side. Kinks should lie more than ``2 * margin``
    apart. Returns a new float64 array on the device of ``x`` (a configuration's
    ``cfg.input(rng)`` is on the active one).

    >>> import numpy as np
    >>> from minigan.check import testing
    >>> testing.away_from_kinks(np.array([-2.0, -1e-4, 0.0, 5e-4, 1.0])).tolist()
    [-2.0, -0.001, 0.001, 0.001, 1.0]
    """
    xp = backend.get_array_module(x)
    x = xp.array(x, dtype=xp.float64)
    for k in kinks:
        near = xp.abs(x - k) < margin
        x[near] = xp.where(x[near] >= k, float(_beyond(k, margin, 1.0)),
                           float(_beyond(k, margin, -1.0)))
    return x


def _beyond(k, margin, side):
    """``k + side * margin``, rounded outwards so that it lies at least ``margin`` from ``k``
    (``1.0 + 0.001`` is 0.000999... away from 1.0 in float64)."""
    t = k + side * margin
    while abs(t - k) < margin:
        t = np.nextafter(t, side * np.inf)
    return t


def min_kink_distance(net, x):
    """Smallest distance from an input of a layer to one of that layer's ``kinks`` (ReLU's and
    LeakyReLU's 0: :attr:`minigan.nn.layers.Layer.kinks`), over the layers of the
    :class:`~minigan.nn.layers.Sequential` ``net`` for input ``x`` (and of the chains inside
    it), or of the one layer ``net`` (``inf`` when none has a kink).

    Use it to reject draws on a kink: ``assume(min_kink_distance(net, x) > KINK_MARGIN)``.
    The forward pass it runs leaves ``net`` as it found it (buffers and random streams:
    :func:`minigan.check.gradcheck.replay`). A layer of your own with a kink names it in
    ``kinks`` to be seen here. ``x`` may be on the host or on ``net``'s device (it is moved
    there, as the checks move it).
    """
    return _nearest_kink(net, _on_layer_device(net, x)[1])[0]


def _nearest_kink(net, x):
    """``(distance, index, layer, kink)``: the smallest distance from an input of a layer of
    ``net`` (or of ``net`` itself) to one of its kinks, where the layer is in ``net`` (its
    indices, chain by chain: ``(1,)`` for ``net.layers[1]``, ``()`` for ``net``), the layer
    and the kink (``inf, (), None, None`` when no layer has one). A chain inside the chain
    is looked into the same way (a D built as ``Sequential(features, head)``): its own
    ``kinks`` are none."""
    if not hasattr(net, "passes"):
        return _kink_distance(net, x)
    nearest = (np.inf, (), None, None)
    restore = replay(net)
    try:
        for i, (layer, layer_input, _) in enumerate(net.passes(x)):
            distance, index, inner, kink = _nearest_kink(layer, layer_input)
            nearest = min(nearest, (distance, (i, *index), inner, kink), key=lambda t: t[0])
    finally:
        restore()
    return nearest


def _kink_distance(layer, x):
    """``(distance, (), layer, kink)``: the smallest ``|x - k|`` over the kinks ``k`` of
    ``layer`` (:func:`_nearest_kink`'s answer for a layer that is no chain)."""
    kinks = getattr(layer, "kinks", ()) or ()
    if not kinks or np.size(x) == 0:
        return np.inf, (), None, None
    x = backend.to_host(x)
    return min(((float(np.abs(x - k).min()), (), layer, k) for k in kinks), key=lambda t: t[0])


def power_step_conditioned(W, u, ratio=0.2, min_scale=0.1):
    """Whether spectral norm's power step from ``u`` is away from where it bends sharply.

    With ``M`` the weight as a matrix, ``a = M^T u`` and ``v = a / |a|``: both ``|a|`` and
    ``sigma = |M v|`` above ``ratio * |M|_F``. Near ``a = 0`` or ``M v = 0`` the step's
    third derivative is large, and centred differences miss the exact gradient by up to
    1e-5, an error falling as ``h**2`` (the truncation, not the gradient). And ``|M|_F``
    at least ``min_scale``: ``W / sigma(W)`` does not change when ``W`` is scaled, so its
    k-th derivatives grow as ``|W|**-k`` and a step ``h`` misses by about ``(h / |W|)**2``
    (``W = [[-0.0037, -0.0151]]`` missed by 1.9e-7 at ``h = 1e-5``). Use it to reject such
    draws: ``assume(power_step_conditioned(W, u))``.
    """
    M, _, _, _, _, sigma, norm_a, _ = F.spectral_norm_forward(W, u)[1]
    scale = float(np.linalg.norm(backend.to_host(M)))
    return bool(scale >= min_scale and norm_a > ratio * scale and sigma > ratio * scale)


def loss_pair(loss_fn):
    """Turn ``loss, dlogits = loss_fn(logits)`` into a forward/backward pair.

    The losses of :mod:`minigan.functional.losses` return the value and its gradient together;
    this wraps them for :func:`assert_pair_gradients` (the upstream gradient of a scalar
    loss is a scalar). A loss of several arrays (D's outputs on the real and on the fake
    batch, for a game whose terms mix them) returns a gradient for each, in their order:
    ``loss, da, db = loss_fn(a, b)``.

    >>> import numpy as np
    >>> from minigan.check import testing
    >>> from minigan.functional import losses
    >>> forward, backward = testing.loss_pair(lambda a: losses.generator_loss(a))
    >>> logits = np.random.default_rng(0).standard_normal((5, 1))
    >>> testing.assert_pair_gradients(forward, backward, {"logits": logits})["logits"] < 1e-7
    True
    >>> def gap(real, fake):      # mean(real) - mean(fake)
    ...     dreal, dfake = np.full_like(real, 1 / real.size), np.full_like(fake, -1 / fake.size)
    ...     return real.mean() - fake.mean(), dreal, dfake
    >>> errors = testing.assert_pair_gradients(*testing.loss_pair(gap),
    ...                                        {"real": logits, "fake": logits[:3] + 1})
    >>> sorted(errors), max(errors.values()) < 1e-7
    (['fake', 'real'], True)
    """

    def forward(*arrays):
        loss, *grads = loss_fn(*arrays)
        return np.array(loss), grads

    def backward(dout, grads):
        return tuple(dout * g for g in grads) if len(grads) > 1 else dout * grads[0]

    backward.__name__ = f"{getattr(loss_fn, '__name__', 'loss')} gradient"
    return forward, backward


PROFILES = {
    "ci": {"max_examples": 15, "derandomize": True},
    "dev": {"max_examples": 30},
    "deep": {"max_examples": 500},
    "fuzz": {"max_examples": 200, "derandomize": True},
}
"""The hypothesis profiles of :func:`register_profiles` (each also without a deadline)."""


def register_profiles(load=True):
    """Register minigan's hypothesis profiles and, with ``load``, load the one the
    environment names.

    - ``ci`` (the default when ``CI`` is set): 15 examples, derandomized (the same
      examples on every run, so a CI result is reproducible);
    - ``dev`` (the default otherwise): 30 examples;
    - ``deep``: 500 examples, for a thorough run before a release;
    - ``fuzz``: 200 examples, derandomized, for the file fuzzers
      (``tests/app/test_fuzz_files.py``), which CI runs with it.

    None has a deadline (a gradient check of a conv layer takes a while) and none fails
    on slow data generation. ``HYPOTHESIS_PROFILE=name`` picks one.

    Returns
    -------
    str : the name of the loaded profile (or of the default, when ``load`` is False)
    """
    for name, options in PROFILES.items():
        settings.register_profile(name, deadline=None,
                                  suppress_health_check=[HealthCheck.too_slow], **options)
    name = os.environ.get("HYPOTHESIS_PROFILE", "ci" if os.environ.get("CI") else "dev")
    if load:
        settings.load_profile(name)
    return name
