"""The ``check`` floor, beside ``nn``: is a hand-written gradient exact?

- :mod:`minigan.check.gradcheck`: the float64 numeric vector-Jacobian product of a
  forward/backward pair, a layer (checked as it trains) or a whole training step, the
  relative error, whether a layer's gradients accumulate and stay 0 while it is frozen,
  and where a kink explains a large error.
- :mod:`minigan.check.testing`: hypothesis strategies and assertions for property
  tests of your own layers (needs the test extra: ``pip install "minigan[test]"``).

Imports :mod:`minigan.nn`, :mod:`minigan.functional` and :mod:`minigan.backend`.
"""

from . import gradcheck
from .gradcheck import (
    GradientErrors,
    check_accumulation,
    check_frozen,
    check_layer,
    check_pair,
    check_step,
    numeric_vjp,
    rel_error,
    replay,
)

__all__ = ["gradcheck", "check_layer", "check_pair", "check_step", "check_accumulation",
           "check_frozen", "numeric_vjp", "rel_error", "replay", "GradientErrors"]
