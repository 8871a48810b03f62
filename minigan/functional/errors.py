"""The error the functional ops raise for arrays that do not fit together, and the checks of
a number, a whole number and an amount every floor above uses."""

from __future__ import annotations

import math
from collections.abc import Mapping

__all__ = ["ShapeError", "amount", "check_dout", "number", "positive_number", "real_number", "state_mapping",
           "whole_number"]


class ShapeError(ValueError):
    """A ValueError about the shapes of an op's arrays, checked in the op alone.

    ``str(error)`` is ``"{op}: {message}"``. A layer that calls the op re-raises it
    under its own name with :meth:`under`, which uses ``layer_message``: the same
    fact said from the layer's side (``"expected input (N, 3, H, W), got ..."``,
    where the op speaks of the weight the layer holds).
    """

    def __init__(self, op, message, layer_message=None):
        super().__init__(f"{op}: {message}")
        self.op, self.message = op, message
        self.layer_message = message if layer_message is None else layer_message

    def under(self, layer):
        """The same error as a ValueError that names ``layer`` (its ``repr``) instead of the op."""
        return ValueError(f"{layer!r}: {self.layer_message}")


def check_dout(op, dout, expected):
    """Raise :class:`ShapeError` unless the upstream gradient ``dout`` has the shape
    ``expected``, the shape of the forward pass's output: a backward pass would
    otherwise broadcast a wrong ``dout`` into a wrong gradient without a word."""
    shape = getattr(dout, "shape", None)
    if shape is None or tuple(shape) != tuple(expected):
        got = (f"of shape {tuple(shape)}" if shape is not None
               else f"a {type(dout).__name__}, not an array")       # a loss's gradient as a number
        raise ShapeError(op, f"dout {got}, expected {tuple(expected)} "
                             f"(the shape of the forward pass's output)")


def whole_number(what, value, least=0):
    """``value`` as an int, or a ValueError naming ``what`` unless it is a whole number >=
    ``least``: ``int()`` would make 2.5 a 2 and ``True`` a 1 without a word."""
    try:
        whole = not isinstance(value, bool) and int(value) == value
    except (TypeError, ValueError, OverflowError):     # OverflowError: int(inf)
        whole = False
    if not whole or int(value) < least:
        raise ValueError(f"{what} must be >= {least}, a whole number, got {value!r}")
    return int(value)


def real_number(value):
    """``value`` as a float if it is one real number, else None: the one test of "a number"
    behind :func:`amount`, :func:`number` and the optimizers' hyperparameters. ``True`` is
    no number (``float(True)`` is 1.0: ``instance_noise=True`` would be a noise of 1.0), nor
    is NumPy's ``True`` (a 0-d array of bools too), a string (``float("0.5")`` reads one),
    None, or an array of more than one value. NaN and infinity are numbers here: the
    callers bound them."""
    boolean = getattr(getattr(value, "dtype", None), "kind", None) == "b"     # np.True_
    if isinstance(value, (bool, str, bytes)) or boolean or not hasattr(value, "__float__"):
        return None
    try:
        return float(value)
    except (TypeError, ValueError):       # an array of several values, a complex number
        return None


def amount(what, value, below=math.inf):
    """``value`` as a float, or a ValueError naming ``what`` unless it is a number in
    ``[0, below)`` (:func:`real_number`): not True, a string, None, NaN or (unless
    ``below`` is) infinity."""
    v = real_number(value)
    if v is None or not 0 <= v < below:
        span = "a finite number >= 0" if below == math.inf else f"a number in [0, {below:g})"
        raise ValueError(f"{what} must be {span}, got {value!r}")
    return v


def positive_number(what, value, why=""):
    """``value`` as a float, or a ValueError naming ``what`` unless it is a finite number
    above 0 (:func:`real_number`); ``why`` ends the message of a 0 (what 0 would do)."""
    v = real_number(value)
    if v is None or not (math.isfinite(v) and v > 0):
        raise ValueError(f"{what} must be a finite number > 0, got {value!r}"
                         f"{why if v == 0 else ''}")
    return v


def number(what, value, low=None, high=None):
    """``value`` as a float, or a ValueError naming ``what`` unless it is a finite number
    (:func:`real_number`) from ``low`` to ``high`` (each None: unbounded): a NaN or
    out-of-range constant would turn every output or running statistic into NaN or
    nonsense."""
    v = real_number(value)
    if v is None or not (math.isfinite(v) and (low is None or v >= low)
                         and (high is None or v <= high)):
        bounds = (f" in [{low:g}, {high:g}]" if low is not None and high is not None
                  else f" >= {low:g}" if low is not None
                  else f" <= {high:g}" if high is not None else "")
        raise ValueError(f"{what} must be a finite number{bounds}, got {value!r}")
    return v


def state_mapping(owner, state):
    """``state``, or a TypeError naming ``owner`` unless it is a mapping of names to arrays, as
    a ``state_dict()`` gives (``numpy.load`` of an ``.npz`` file is one): a path, a list of
    pairs or None would fail with "unexpected keys ['.', 'n', 'p', 'x', 'z']" (a path's letters),
    "'list' object has no attribute 'items'" or "'NoneType' object is not iterable"."""
    if not isinstance(state, Mapping):
        raise TypeError(
            f"{owner}: load_state_dict takes a mapping of names to arrays, as state_dict() gives "
            f"(for a file saved by numpy.savez(path, **state_dict()): numpy.load(path)), got "
            f"{type(state).__name__}")
    return state
