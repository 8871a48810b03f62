"""Checked command-line values: argparse ``type=`` functions that say what was expected.

Each is built by :func:`checked` from a conversion, a test and the words of its
two messages, so ``--batch-size 0`` says ``must be a positive integer, got 0``
and ``--lr x`` says ``expected a positive number, got 'x'``.
"""

from __future__ import annotations

import argparse
import math

__all__ = ["checked", "positive_int", "non_negative_int", "positive_float",
           "non_negative_float", "fraction", "flip_probability", "decay"]


def checked(convert, valid, expected, must, echo_text=False):
    """An argparse ``type=``: ``convert(text)``, refused unless ``valid(value)``.

    A text that does not convert says ``expected {expected}, got 'text'``; a value
    that fails ``valid`` says ``must be {must}, got value`` (the text as typed with
    ``echo_text``, e.g. ``Infinity`` rather than ``inf``).
    """
    def parse(text):
        try:
            value = convert(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected {expected}, got {text!r}") from None
        if not valid(value):
            raise argparse.ArgumentTypeError(
                f"must be {must}, got {text if echo_text else value}")
        return value

    return parse


positive_int = checked(int, lambda v: v >= 1, "a positive integer", "a positive integer")
non_negative_int = checked(int, lambda v: v >= 0, "a non-negative integer",
                           "a non-negative integer")
positive_float = checked(float, lambda v: v > 0 and math.isfinite(v), "a positive number",
                         "a finite positive number", echo_text=True)
non_negative_float = checked(float, lambda v: v >= 0 and math.isfinite(v), "a number >= 0",
                             "a finite number >= 0", echo_text=True)
fraction = checked(float, lambda v: 0.0 <= v < 1.0, "a number in [0, 1)", "in [0, 1)")
flip_probability = checked(float, lambda v: 0.0 <= v < 0.5, "a number in [0, 0.5)",
                           "in [0, 0.5)")
decay = checked(float, lambda v: 0.0 <= v < 1.0, "a decay in [0, 1)",
                "in [0, 1) (e.g. 0.999)")
