"""The error the functional ops raise for arrays that do not fit together, and the checks of
a whole number and of an amount every floor above uses."""

from __future__ import annotations

import math
from collections.abc import Mapping

__all__ = ["ShapeError", "amount", "check_dout", "state_mapping", "whole_number"]


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


def amount(what, value, below=math.inf):
    """``value`` as a float, or a ValueError naming ``what`` unless it is a number in
    ``[0, below)``: ``True`` is no amount (``instance_noise=True`` would be a noise of 1.0),
    nor is NumPy's ``True`` (a 0-d array of bools too), a string, None, NaN or (unless
    ``below`` is) infinity."""
    boolean = getattr(getattr(value, "dtype", None), "kind", None) == "b"     # np.True_
    number = (not isinstance(value, (bool, str, bytes)) and not boolean
              and hasattr(value, "__float__"))
    if not (number and 0 <= float(value) < below):
        span = "a finite number >= 0" if below == math.inf else f"a number in [0, {below:g})"
        raise ValueError(f"{what} must be {span}, got {value!r}")
    return float(value)


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
